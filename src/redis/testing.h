// For unit tests only: a real redis-server of the test's own (scripts/services/redis.sh), on a free
// port below 32768, that a test can kill, restart, pause and resume.
#pragma once

#include <chrono>
#include <string>
#include <thread>

#include "redis/client.h"

namespace emporium::redis {

class TestServer {
public:
    // Starts a server; with a password, the server requires it and url() holds it. Throws when
    // the server cannot start.
    explicit TestServer(const std::string& password = "");
    ~TestServer();  // stops it and removes its directory
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    const std::string& url() const { return url_; }
    Url parsed() const;

    void Kill();     // kill -9: gone at once, nothing saved
    void Restart();  // the same port, after Kill; returns once it answers
    void Pause();    // SIGSTOP: connections stay open, nothing answers
    void Resume();   // SIGCONT

private:
    void Run(const std::string& command);
    std::string dir_;
    std::string url_;
};

// Client timeouts generous enough for a sanitizer build on a busy machine, short enough for a test.
ClientOptions TestOptions();

// Polls cond until it holds or the deadline passes: waiting for a condition, never a fixed sleep.
template <typename F>
bool WaitFor(F&& cond, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return cond();
}

}  // namespace emporium::redis
