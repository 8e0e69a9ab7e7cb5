#include "ops/pg_tools.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>

namespace emporium::ops::pg {
namespace {

struct Option {
    std::string keyword, envvar, value;
};

std::vector<Option> Parse(const std::string& url) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(url.c_str(), &error),
                                                                         &PQconninfoFree);
    if (!options) {
        if (error) PQfreemem(error);  // may quote the URL: not passed on
        throw std::runtime_error("the PostgreSQL URL cannot be parsed");
    }
    std::vector<Option> out;
    for (PQconninfoOption* o = options.get(); o->keyword; ++o) {
        if (o->val && *o->val) out.push_back({o->keyword, o->envvar ? o->envvar : "", o->val});
    }
    return out;
}

std::string PasswordOf(const std::string& url) {
    if (url.empty()) return {};
    for (const Option& o : Parse(url)) {
        if (o.keyword == "password") return o.value;
    }
    return {};
}

// The program's stderr for a log line or an error message: the password masked, control
// characters gone, one line, cut short.
std::string Summary(std::string text, const std::string& password) {
    if (!password.empty()) {
        for (std::size_t at; (at = text.find(password)) != std::string::npos;) text.replace(at, password.size(), "***");
    }
    std::string out;
    for (char c : text) {
        if (c == '\n') {
            if (!out.empty() && out.back() != ' ') out += " | ";
        } else if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) {
            out += c;
        }
    }
    while (out.ends_with(" | ") || out.ends_with(' ')) out.erase(out.size() - 1);
    constexpr std::size_t kMax = 400;
    if (out.size() > kMax) out = out.substr(0, kMax) + "...";
    return out;
}

// Reads both pipes until the program closes them or the deadline passes; false on the deadline.
bool Drain(int out_fd, int err_fd, std::chrono::steady_clock::time_point deadline,
           const std::function<void(std::string_view)>& on_line, std::string& err) {
    std::string pending;
    char buffer[65536];
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    int open = 2;
    while (open > 0) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        if (::poll(fds, 2, static_cast<int>(std::min<std::int64_t>(left.count(), 1000))) < 0 && errno != EINTR) {
            return false;
        }
        for (pollfd& p : fds) {
            if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
            const ssize_t n = ::read(p.fd, buffer, sizeof buffer);
            if (n <= 0) {
                p.fd = -1;
                --open;
            } else if (p.fd == err_fd) {
                if (err.size() < 65536) err.append(buffer, static_cast<std::size_t>(n));
            } else if (on_line) {
                pending.append(buffer, static_cast<std::size_t>(n));
                const std::string_view text = pending;
                std::size_t start = 0;
                for (std::size_t nl; (nl = text.find('\n', start)) != std::string_view::npos; start = nl + 1) {
                    on_line(text.substr(start, nl - start));
                }
                pending.erase(0, start);
            }
        }
    }
    if (on_line && !pending.empty()) on_line(pending);
    return true;
}

}  // namespace

std::vector<std::string> EnvironmentFor(const std::string& url) {
    std::vector<std::string> env;
    for (const Option& o : Parse(url)) {
        if (!o.envvar.empty()) env.push_back(o.envvar + "=" + o.value);
    }
    return env;
}

std::string DatabaseNameOf(const std::string& url) {
    for (const Option& o : Parse(url)) {
        if (o.keyword == "dbname") return o.value;
    }
    return {};
}

ToolRun RunTool(const std::string& program, const std::vector<std::string>& args, const std::string& url,
                std::chrono::seconds timeout, const std::function<void(std::string_view)>& on_line) {
    ToolRun run;
    std::vector<std::string> env = url.empty() ? std::vector<std::string>{} : EnvironmentFor(url);
    env.emplace_back("PATH=/usr/bin:/bin");
    env.emplace_back("LC_ALL=C");
    const std::string path = "/usr/bin/" + program;
    std::vector<char*> argv{const_cast<char*>(path.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(env.size() + 1);
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("cannot make a pipe for " + program);
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        throw std::runtime_error("cannot make a pipe for " + program);
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
        // Only async-signal-safe calls here: the shop has threads. SIGPIPE back to its default
        // (the shop ignores it, and an ignored signal survives exec).
        struct sigaction default_action {};
        default_action.sa_handler = SIG_DFL;
        ::sigaction(SIGPIPE, &default_action, nullptr);
        const int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(out_pipe[1], STDOUT_FILENO);
        ::dup2(err_pipe[1], STDERR_FILENO);
        // Nothing else of the shop's goes to the program: the listening sockets and connections
        // (Asio opens them without close-on-exec) would stay open in it after the shop died, and
        // a shop restarted while a backup runs could not take its ports back.
        ::close_range(3, ~0U, 0);
        ::execve(path.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (pid < 0) {
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        throw std::runtime_error("cannot start " + program);
    }
    std::string err;
    const bool in_time = Drain(out_pipe[0], err_pipe[0], std::chrono::steady_clock::now() + timeout, on_line, err);
    if (!in_time) ::kill(pid, SIGKILL);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const std::string said = Summary(err, PasswordOf(url));
    if (!in_time) {
        run.error = program + " ran longer than " + std::to_string(timeout.count()) + " s and was stopped";
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        run.ok = true;
    } else {
        run.error = program + (WIFEXITED(status) ? " exited with " + std::to_string(WEXITSTATUS(status))
                                                 : std::string(" was killed by a signal"));
        if (!said.empty()) run.error += ": " + said;
    }
    return run;
}

}  // namespace emporium::ops::pg
