#include "app/ci_report_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/clock.h"
#include "delivery/event_json.h"
#include "delivery/junit.h"
#include "delivery/time_text.h"
#include "http/client.h"

namespace emporium::app {
namespace {

namespace json = boost::json;

constexpr std::size_t kBatchBytes = std::size_t{512} * 1024;  // well under the shop's default body limit

std::string Env(const char* name) {
    const char* value = std::getenv(name);
    return value ? value : "";
}

void Warn(const std::string& message) {
    std::cerr << "emporium ci-report: " << message << "\n";
}

// The staff token: EMPORIUM_CI_TOKEN, or the file named by EMPORIUM_CI_TOKEN_FILE. Never a flag,
// never printed.
std::string Token() {
    std::string token = Env("EMPORIUM_CI_TOKEN");
    if (!token.empty()) return token;
    const std::string file = Env("EMPORIUM_CI_TOKEN_FILE");
    if (file.empty()) return "";
    std::ifstream in(file);
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.empty()) Warn("EMPORIUM_CI_TOKEN_FILE names a file without a token");
    return token;
}

// Runs argv (no shell) and returns its standard output; nullopt when it cannot start or fails.
std::optional<std::string> Capture(const std::vector<std::string>& argv) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return std::nullopt;
    const pid_t pid = fork();
    if (pid < 0) return std::nullopt;
    if (pid == 0) {
        dup2(pipe_fds[1], STDOUT_FILENO);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        std::vector<char*> args;
        args.reserve(argv.size() + 1);
        for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    close(pipe_fds[1]);
    std::string out;
    char buffer[4096];
    for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
        out.append(buffer, static_cast<std::size_t>(n));
    close(pipe_fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
    return out;
}

// Runs the stage's command with the terminal and environment it was given; its exit code, or
// 128 + the signal that ended it (as a shell reports it).
int RunCommand(const std::vector<std::string>& argv) {
    struct sigaction ignore {
    }, old_int{}, old_quit{};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ignore, &old_int);  // Ctrl-C reaches the command; we stay to record it
    sigaction(SIGQUIT, &ignore, &old_quit);
    const pid_t pid = fork();
    if (pid == 0) {
        sigaction(SIGINT, &old_int, nullptr);
        sigaction(SIGQUIT, &old_quit, nullptr);
        std::vector<char*> args;
        args.reserve(argv.size() + 1);
        for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        std::fprintf(stderr, "emporium ci-report: cannot run %s: %s\n", args[0], std::strerror(errno));
        _exit(127);
    }
    int status = 0;
    int code = 127;
    if (pid > 0) {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGQUIT, &old_quit, nullptr);
    return code;
}

// The spool file and its lock (SPOOL.lock), shared by stages running in parallel and flush.
class Spool {
public:
    explicit Spool(std::string path) : path_(std::move(path)) {
        std::error_code ec;
        std::filesystem::path dir = std::filesystem::path(path_).parent_path();
        if (!dir.empty()) std::filesystem::create_directories(dir, ec);
        lock_fd_ = ::open((path_ + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock_fd_ >= 0) flock(lock_fd_, LOCK_EX);
    }
    ~Spool() {
        if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
    }
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    bool Append(const std::vector<std::string>& lines, const std::string& file_suffix = "") {
        std::ofstream out(path_ + file_suffix, std::ios::app);
        for (const std::string& line : lines) out << line << '\n';
        out.flush();
        return static_cast<bool>(out);
    }

    std::vector<std::string> ReadAll() const {
        std::vector<std::string> lines;
        std::ifstream in(path_);
        for (std::string line; std::getline(in, line);) {
            if (!line.empty()) lines.push_back(std::move(line));
        }
        return lines;
    }

    // Replaces the file with lines (atomically: a crash leaves the old or the new one).
    bool Replace(const std::vector<std::string>& lines) {
        if (lines.empty()) {
            std::error_code ec;
            std::filesystem::remove(path_, ec);
            return !ec;
        }
        const std::string tmp = path_ + ".tmp";
        {
            std::ofstream out(tmp, std::ios::trunc);
            for (const std::string& line : lines) out << line << '\n';
            if (!out.flush()) return false;
        }
        std::error_code ec;
        std::filesystem::rename(tmp, path_, ec);
        return !ec;
    }

    const std::string& path() const { return path_; }

private:
    std::string path_;
    int lock_fd_ = -1;
};

enum class Sent { kOk, kRejected, kFailed };

struct Settings {
    std::string shop;
    std::string spool = "build/delivery-events.ndjson";
    std::string run_id;
    std::string pipeline = "ci";
    std::string commit;
    int timeout_seconds = 10;
};

// Posts lines (event JSON) as one batch.
Sent Post(const Settings& s, const std::string& token, const std::vector<std::string>& lines, std::string& why) {
    std::string body = "{\"events\":[";
    for (std::size_t i = 0; i < lines.size(); ++i) body += (i ? "," : "") + lines[i];
    body += "]}";
    http::HttpCall call;
    call.url = s.shop + (s.shop.ends_with('/') ? "" : "/") + "api/admin/delivery/events";
    call.body = std::move(body);
    call.headers = {"Content-Type: application/json", "Authorization: Bearer " + token};
    call.timeout = std::chrono::seconds(s.timeout_seconds);
    http::HttpAnswer answer = http::Perform(call);
    if (answer.status >= 200 && answer.status < 300) return Sent::kOk;
    if (answer.status == 0) {
        why = "the shop did not answer (" + answer.error + ")";
        return Sent::kFailed;
    }
    why = "the shop answered " + std::to_string(answer.status);
    boost::system::error_code ec;
    json::value error = json::parse(answer.body, ec);
    if (!ec && error.is_object() && error.as_object().contains("error")) {
        const json::value& e = error.at("error");
        if (e.is_object() && e.as_object().contains("code") && e.at("code").is_string()) {
            why += " " + std::string(e.at("code").as_string());
        }
    }
    return answer.status == 422 ? Sent::kRejected : Sent::kFailed;
}

// Sends events now when a shop is set and answers; else keeps them in the spool.
void Deliver(const Settings& s, const std::vector<delivery::Event>& events) {
    std::vector<std::string> lines;
    lines.reserve(events.size());
    for (const delivery::Event& e : events) lines.push_back(json::serialize(delivery::EventJson(e)));
    const std::string token = Token();
    std::string why = "no shop is set (--shop or EMPORIUM_CI_SHOP_URL)";
    if (!s.shop.empty() && token.empty()) why = "no token is set (EMPORIUM_CI_TOKEN or EMPORIUM_CI_TOKEN_FILE)";
    if (!s.shop.empty() && !token.empty()) {
        if (Post(s, token, lines, why) == Sent::kOk) return;
        Warn("not sent: " + why + "; kept in " + s.spool + " for `emporium ci-report flush`");
    }
    Spool spool(s.spool);
    if (!spool.Append(lines)) Warn("cannot write " + s.spool + ": the events are lost");
}

std::string NowRunId(const std::string& commit) {
    return "local-" + commit.substr(0, 12) + "-" + std::to_string(UnixSeconds(std::chrono::system_clock::now()));
}

}  // namespace

struct CiReportCommand::Impl {
    // Which subcommand the command line chose, noted while parsing: the CLI11 nodes belong to the
    // parser, which may be gone by the time the command runs.
    enum class Chosen { kNone, kStage, kDeploy, kFlush };
    Chosen chosen = Chosen::kNone;
    Settings settings;
    CLI::App* command = nullptr;
    CLI::App* stage = nullptr;
    CLI::App* deploy = nullptr;
    CLI::App* flush = nullptr;
    std::string stage_name;
    std::vector<std::string> stage_command;
    std::string junit;
    std::string suite;
    std::string commits;
    std::string environment = "production";
    std::string result = "success";
    std::string deploy_id;
    std::string deploy_at;

    // The commit: --commit, EMPORIUM_CI_COMMIT, or git's HEAD.
    std::string Commit() {
        if (!settings.commit.empty()) return settings.commit;
        std::optional<std::string> head = Capture({"git", "rev-parse", "HEAD"});
        std::string sha = head ? head->substr(0, head->find_first_of("\r\n")) : "";
        return sha;
    }

    int RunStage();
    int RunDeploy();
    int RunFlush();
};

CiReportCommand::CiReportCommand(CLI::App& app) : impl_(std::make_unique<Impl>()) {
    Impl& i = *impl_;
    Settings& s = i.settings;
    i.command = app.add_subcommand("ci-report", "Record CI stages and deployments for the admin Delivery page");
    i.command->require_subcommand(1);
    i.command->add_option("--shop", s.shop, "The shop's public URL (token: EMPORIUM_CI_TOKEN or _TOKEN_FILE)")
        ->envname("EMPORIUM_CI_SHOP_URL");
    i.command->add_option("--spool", s.spool, "Where events wait when the shop cannot take them (NDJSON)")
        ->envname("EMPORIUM_CI_SPOOL")
        ->capture_default_str();
    i.command->add_option("--run", s.run_id, "This CI run's id (default: made from the commit and the time)")
        ->envname("EMPORIUM_CI_RUN_ID");
    i.command->add_option("--pipeline", s.pipeline, "The pipeline's name")
        ->envname("EMPORIUM_CI_PIPELINE")
        ->capture_default_str();
    i.command->add_option("--commit", s.commit, "The commit under test (default: git rev-parse HEAD)")
        ->envname("EMPORIUM_CI_COMMIT");
    i.command->add_option("--timeout", s.timeout_seconds, "Seconds to wait for the shop")
        ->check(CLI::Range(1, 300))
        ->capture_default_str();

    i.stage = i.command->add_subcommand("stage", "Run COMMAND as the stage NAME and record how it went");
    i.stage->add_option("name", i.stage_name, "The stage's name, e.g. build")->required();
    i.stage->add_option("command", i.stage_command, "The command, after --")->required();
    i.stage->add_option("--junit", i.junit, "A JUnit XML file the command writes: its test results are recorded");
    i.stage->add_option("--suite", i.suite, "The suite name for test cases without one (default: NAME)");

    i.deploy = i.command->add_subcommand("deploy", "Record a deployment and the commits it ships");
    i.deploy->add_option("--commits", i.commits, "The range shipped, as git log takes it: A..B")->required();
    i.deploy->add_option("--environment", i.environment, "Where it went")->capture_default_str();
    i.deploy->add_option("--result", i.result, "success, or failed (the change failed in production)")
        ->check(CLI::IsMember({"success", "failed"}))
        ->capture_default_str();
    i.deploy->add_option("--id", i.deploy_id, "The deployment's id (default: ENVIRONMENT-SHA of B)");
    i.deploy->add_option("--at", i.deploy_at, "When it went out, RFC 3339 (default: now)");

    i.flush = i.command->add_subcommand("flush", "Send the events waiting in the spool file");
    // `ci-report flush --shop URL` reads as well as `ci-report --shop URL flush`.
    for (CLI::App* sub : {i.stage, i.deploy, i.flush}) sub->fallthrough();
    i.stage->parse_complete_callback([&i] { i.chosen = Impl::Chosen::kStage; });
    i.deploy->parse_complete_callback([&i] { i.chosen = Impl::Chosen::kDeploy; });
    i.flush->parse_complete_callback([&i] { i.chosen = Impl::Chosen::kFlush; });
}

CiReportCommand::~CiReportCommand() = default;

bool CiReportCommand::parsed() const {
    return impl_->chosen != Impl::Chosen::kNone;
}

int CiReportCommand::Run() {
    switch (impl_->chosen) {
        case Impl::Chosen::kStage:
            return impl_->RunStage();
        case Impl::Chosen::kDeploy:
            return impl_->RunDeploy();
        case Impl::Chosen::kFlush:
            return impl_->RunFlush();
        case Impl::Chosen::kNone:
            break;
    }
    return 2;
}

int CiReportCommand::Impl::RunStage() {
    const std::int64_t started_at = UnixSeconds(std::chrono::system_clock::now());
    const auto started = std::chrono::steady_clock::now();
    const int code = RunCommand(stage_command);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    // From here on nothing may change the exit code: a report that fails only warns.
    try {
        const std::string commit = Commit();
        if (settings.run_id.empty()) {
            settings.run_id = NowRunId(commit.empty() ? "nocommit" : commit);
            Warn("EMPORIUM_CI_RUN_ID is not set: this stage is run " + settings.run_id);
        }
        if (commit.empty()) Warn("no commit (--commit, EMPORIUM_CI_COMMIT or a git checkout): stage not recorded");
        if (commit.empty() || stage_name.empty() || stage_name.size() > 200) return code;
        std::vector<delivery::Event> events;
        delivery::StageEvent e;
        e.id = settings.run_id + "/" + stage_name;
        e.run_id = settings.run_id;
        e.pipeline = settings.pipeline;
        e.commit = commit;
        e.name = stage_name;
        e.started_at = started_at;
        e.duration_ms = ms.count();
        e.result = code == 0 ? "success" : "failed";
        e.exit_code = code;
        events.push_back(e);
        if (!junit.empty()) {
            std::ifstream in(junit);
            std::stringstream text;
            text << in.rdbuf();
            Result<std::vector<delivery::TestCase>> cases =
                in ? delivery::ParseJunit(text.str(), suite.empty() ? stage_name : suite)
                   : Result<std::vector<delivery::TestCase>>(Error::BadRequest("cannot be read"));
            if (cases.ok() && !cases->empty()) {
                delivery::TestsEvent t;
                t.id = settings.run_id + "/tests/" + stage_name;
                t.run_id = settings.run_id;
                t.commit = commit;
                t.recorded_at = started_at;
                t.cases = std::move(*cases);
                events.push_back(std::move(t));
            } else if (!cases.ok()) {
                Warn("JUnit file " + junit + ": " + cases.error().message + " (test results not recorded)");
            }
        }
        Deliver(settings, events);
    } catch (const std::exception& e) {
        Warn(std::string("the stage was not recorded: ") + e.what());
    }
    return code;
}

int CiReportCommand::Impl::RunDeploy() {
    if (commits.starts_with('-') || commits.find("..") == std::string::npos) {
        Warn("--commits must be a range such as v1.2.0..HEAD");
        return 2;
    }
    std::optional<std::int64_t> at = deploy_at.empty()
                                         ? std::optional<std::int64_t>(UnixSeconds(std::chrono::system_clock::now()))
                                         : delivery::ParseRfc3339Millis(deploy_at);
    if (!at) {
        Warn("--at must be an RFC 3339 time such as 2026-11-30T16:00:00Z");
        return 2;
    }
    if (!deploy_at.empty()) *at /= 1000;
    std::optional<std::string> log = Capture({"git", "log", "--format=%H %ct", "--end-of-options", commits});
    std::optional<std::string> tip = Capture(
        {"git", "rev-parse", "--verify", "--end-of-options", commits.substr(commits.rfind("..") + 2) + "^{commit}"});
    if (!log || !tip) {
        Warn("git cannot list the commits of " + commits);
        return 1;
    }
    delivery::DeploymentEvent e;
    e.environment = environment;
    e.deployed_at = *at;
    e.result = result;
    e.run_id = settings.run_id;
    e.id = deploy_id.empty() ? environment + "-" + tip->substr(0, 12) : deploy_id;
    std::istringstream lines(*log);
    for (std::string sha, time; lines >> sha >> time;) e.commits.push_back({sha, std::stoll(time)});
    Deliver(settings, {e});
    std::cout << "deployment " << e.id << " to " << environment << ": " << e.commits.size() << " commits\n";
    return 0;
}

int CiReportCommand::Impl::RunFlush() {
    Spool spool(settings.spool);
    std::vector<std::string> lines = spool.ReadAll();
    if (lines.empty()) {
        std::cout << "nothing to send: " << settings.spool << " is empty\n";
        return 0;
    }
    const std::string token = Token();
    if (settings.shop.empty() || token.empty()) {
        Warn("flush needs --shop (EMPORIUM_CI_SHOP_URL) and EMPORIUM_CI_TOKEN (or EMPORIUM_CI_TOKEN_FILE)");
        return 2;
    }
    std::vector<std::string> rejected;
    std::size_t sent = 0, next = 0;
    std::string why;
    bool stopped = false;
    while (next < lines.size() && !stopped) {
        std::vector<std::string> batch;
        std::size_t bytes = 0;
        while (next < lines.size() && batch.size() < delivery::kMaxEventsPerPost &&
               (batch.empty() || bytes + lines[next].size() < kBatchBytes)) {
            bytes += lines[next].size();
            batch.push_back(lines[next++]);
        }
        Sent result = Post(settings, token, batch, why);
        if (result == Sent::kRejected) {
            // Find the bad events one by one; the good ones still go.
            const std::size_t batch_start = next - batch.size();
            for (std::size_t k = 0; k < batch.size(); ++k) {
                Sent one = Post(settings, token, {batch[k]}, why);
                if (one == Sent::kOk) ++sent;
                if (one == Sent::kRejected) rejected.push_back(batch[k]);
                if (one == Sent::kFailed) {
                    next = batch_start + k;
                    stopped = true;
                    break;
                }
            }
        } else if (result == Sent::kFailed) {
            next -= batch.size();
            stopped = true;
        } else {
            sent += batch.size();
        }
    }
    if (!rejected.empty()) spool.Append(rejected, ".rejected");
    const std::vector<std::string> left(lines.begin() + static_cast<std::ptrdiff_t>(next), lines.end());
    if (!spool.Replace(left)) Warn("cannot rewrite " + settings.spool);
    std::cout << "sent " << sent << " events, " << left.size() << " still waiting, " << rejected.size()
              << " rejected\n";
    if (stopped) Warn("stopped: " + why);
    if (!rejected.empty()) Warn("rejected events are in " + settings.spool + ".rejected");
    return left.empty() && rejected.empty() ? 0 : 1;
}

}  // namespace emporium::app
