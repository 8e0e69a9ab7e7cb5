#include "redis/testing.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace emporium::redis {
namespace {

// EMPORIUM_SOURCE_DIR is defined for this file only (tests/unit/CMakeLists.txt).
std::string ServiceScript() {
    return std::string(EMPORIUM_SOURCE_DIR) + "/scripts/services/redis.sh";
}

}  // namespace

TestServer::TestServer(const std::string& password) {
    const std::string command =
        (password.empty() ? std::string() : "REDIS_PASSWORD='" + password + "' ") + ServiceScript() + " start";
    FILE* out = popen(command.c_str(), "r");
    if (!out) throw std::runtime_error("cannot run " + ServiceScript());
    std::string text;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, out)) text += buffer;
    const int status = pclose(out);
    const std::size_t newline = text.find('\n');
    if (status != 0 || newline == std::string::npos) throw std::runtime_error("redis.sh start failed: " + text);
    url_ = text.substr(0, newline);
    dir_ = text.substr(newline + 1);
    while (!dir_.empty() && (dir_.back() == '\n' || dir_.back() == '\r')) dir_.pop_back();
}

TestServer::~TestServer() {
    std::system((ServiceScript() + " stop " + dir_ + " >/dev/null 2>&1").c_str());
}

Url TestServer::parsed() const {
    std::string error;
    std::optional<Url> url = ParseUrl(url_, &error);
    if (!url) throw std::runtime_error("bad test URL: " + error);
    return *url;
}

void TestServer::Run(const std::string& command) {
    if (std::system((ServiceScript() + " " + command + " " + dir_).c_str()) != 0) {
        throw std::runtime_error("redis.sh " + command + " failed");
    }
}

void TestServer::Kill() {
    Run("kill");
}

void TestServer::Restart() {
    Run("restart");
}

void TestServer::Pause() {
    Run("pause");
}

void TestServer::Resume() {
    Run("resume");
}

ClientOptions TestOptions() {
    using std::chrono::milliseconds;
    ClientOptions o;
    o.connect_timeout = milliseconds(500);
    o.command_timeout = milliseconds(500);
    o.pool_size = 2;
    o.backoff_min = milliseconds(20);
    o.backoff_max = milliseconds(200);
    o.ping_interval = milliseconds(200);
    return o;
}

}  // namespace emporium::redis
