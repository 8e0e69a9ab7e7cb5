#include "handoff/handoff.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace emporium::handoff {
namespace {

constexpr const char* kReadyVariable = "EMPORIUM_READY_FD";
constexpr const char* kLockVariable = "EMPORIUM_LOCK_FD";

// The descriptor a variable names, made close-on-exec, and the variable removed; -1 when unset
// or not an open descriptor.
int TakeDescriptor(const char* variable) {
    const char* text = std::getenv(variable);
    int fd = -1;
    if (text != nullptr) {
        const char* end = text + std::strlen(text);
        auto [ptr, ec] = std::from_chars(text, end, fd);
        if (ec != std::errc() || ptr != end || fd < 0 || ::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) fd = -1;
    }
    ::unsetenv(variable);
    return fd;
}

bool StartsWith(const char* text, std::string_view prefix) {
    return std::strncmp(text, prefix.data(), prefix.size()) == 0;
}

// Writes value's decimal digits over the placeholder at the end of `slot` (async-signal-safe:
// runs between fork and exec).
void WriteNumber(char* slot, std::size_t width, long value) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value > 0 && n < 24);
    std::size_t i = 0;
    while (n > 0 && i < width) slot[i++] = digits[--n];
    slot[i] = '\0';
}

// Everything the child needs, made before fork: after fork only async-signal-safe calls are
// allowed (other threads may hold the allocator's locks).
struct Launch {
    std::vector<std::string> strings;  // owns argv's and envp's text
    std::vector<char*> argv;
    std::vector<char*> envp;
    std::string listen_pid = "LISTEN_PID=" + std::string(20, '0');
    std::vector<int> sources;  // fd sources[i] becomes fd 3 + i in the child
};

Launch Prepare(const Successor& successor, int ready_write) {
    Launch launch;
    launch.strings.push_back(successor.binary);
    for (const std::string& a : successor.args) launch.strings.push_back(a);
    const std::size_t argc = launch.strings.size();
    std::string names;
    for (const InheritedSocket& s : successor.sockets) {
        launch.sources.push_back(s.fd);
        names += (names.empty() ? "" : ":") + s.name;
    }
    const int ready_target = 3 + static_cast<int>(launch.sources.size());
    launch.sources.push_back(ready_write);
    if (successor.lock_fd >= 0) launch.sources.push_back(successor.lock_fd);
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        if (StartsWith(*e, "LISTEN_") || StartsWith(*e, kReadyVariable) || StartsWith(*e, kLockVariable)) continue;
        launch.strings.emplace_back(*e);
    }
    launch.strings.push_back("LISTEN_FDS=" + std::to_string(successor.sockets.size()));
    launch.strings.push_back("LISTEN_FDNAMES=" + names);
    launch.strings.push_back(std::string(kReadyVariable) + "=" + std::to_string(ready_target));
    if (successor.lock_fd >= 0) {
        launch.strings.push_back(std::string(kLockVariable) + "=" + std::to_string(ready_target + 1));
    }
    for (std::size_t i = 0; i < launch.strings.size(); ++i) {
        (i < argc ? launch.argv : launch.envp).push_back(launch.strings[i].data());
    }
    launch.argv.push_back(nullptr);
    launch.envp.push_back(launch.listen_pid.data());
    launch.envp.push_back(nullptr);
    return launch;
}

// The child's side, between fork and exec: only async-signal-safe calls. Moves every source out
// of the way first (a source may sit where another one goes), then into 3, 4, ...
[[noreturn]] void Exec(Launch& launch) {
    sigset_t none;
    sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);  // the I/O threads block signals; the child must not
    const int high = 3 + static_cast<int>(launch.sources.size()) + 16;
    std::vector<int>& sources = launch.sources;
    for (int& fd : sources) {
        fd = ::fcntl(fd, F_DUPFD_CLOEXEC, high);
        if (fd < 0) ::_exit(126);
    }
    for (std::size_t i = 0; i < sources.size(); ++i) {
        if (::dup2(sources[i], 3 + static_cast<int>(i)) < 0) ::_exit(126);
    }
    // Nothing else goes to the successor: Asio makes sockets without close-on-exec, and a client
    // connection of this process's held open there would outlive its close here.
    ::close_range(3 + static_cast<unsigned>(sources.size()), ~0U, 0);
    constexpr std::size_t kPrefix = sizeof("LISTEN_PID=") - 1;
    WriteNumber(launch.listen_pid.data() + kPrefix, 20, static_cast<long>(::getpid()));
    ::execve(launch.argv[0], launch.argv.data(), launch.envp.data());
    ::_exit(127);
}

Error Failed(std::string message) {
    return Error{ErrorKind::kInternal, "handoff_failed", std::move(message), {}};
}

// Waits for the child's one byte on `ready_read`: Ok, or why not (it exited, or the time ran out).
Result<int> AwaitReady(int pid, int ready_read, std::chrono::milliseconds timeout) {
    pollfd p{ready_read, POLLIN, 0};
    int polled = 0;
    do {
        polled = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (polled < 0 && errno == EINTR);
    char byte = 0;
    const ssize_t got = polled > 0 ? ::read(ready_read, &byte, 1) : 0;
    ::close(ready_read);
    if (got == 1) return pid;
    if (polled == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return Failed("the new process was not ready in " + std::to_string(timeout.count()) + " ms");
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return Failed("the new process exited before it was ready (" +
                  (WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                     : "signal " + std::to_string(WTERMSIG(status))) +
                  ")");
}

}  // namespace

Inheritance TakeInheritance() {
    Inheritance inheritance;
    char** names = nullptr;
    const int n = sd_listen_fds_with_names(1, &names);  // also sets close-on-exec on each
    for (int i = 0; i < n; ++i) {
        inheritance.sockets.push_back(
            {names != nullptr && names[i] != nullptr ? names[i] : "", SD_LISTEN_FDS_START + i});
    }
    if (names != nullptr) {
        for (char** name = names; *name != nullptr; ++name) std::free(*name);
        std::free(static_cast<void*>(names));
    }
    inheritance.lock_fd = TakeDescriptor(kLockVariable);
    inheritance.ready_fd = TakeDescriptor(kReadyVariable);
    inheritance.predecessor = inheritance.ready_fd >= 0;
    return inheritance;
}

int TakeSocket(std::vector<InheritedSocket>& sockets, const std::string& name) {
    for (auto it = sockets.begin(); it != sockets.end(); ++it) {
        if (it->name != name || sd_is_socket(it->fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) continue;
        const int fd = it->fd;
        sockets.erase(it);
        return fd;
    }
    return -1;
}

Result<int> StartSuccessor(const Successor& successor) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return Failed(std::string("pipe: ") + std::strerror(errno));
    Launch launch = Prepare(successor, ready[1]);
    const pid_t pid = ::fork();
    if (pid == 0) Exec(launch);
    ::close(ready[1]);
    if (pid < 0) {
        ::close(ready[0]);
        return Failed(std::string("fork: ") + std::strerror(errno));
    }
    return AwaitReady(pid, ready[0], successor.ready_timeout);
}

void NotifyReady(Inheritance& inheritance) {
    if (inheritance.ready_fd >= 0) {
        const char byte = 'R';
        [[maybe_unused]] const ssize_t ignored = ::write(inheritance.ready_fd, &byte, 1);
        ::close(inheritance.ready_fd);
        inheritance.ready_fd = -1;
    }
    sd_notifyf(0, "READY=1\nMAINPID=%ld", static_cast<long>(::getpid()));
}

}  // namespace emporium::handoff
