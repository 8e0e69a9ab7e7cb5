// Structured logging: every line is one JSON object, written through spdlog.
// Log calls pass already-escaped JSON members built with LogFields, so that a line is
// {"ts":"...","level":"info","msg":"...",<fields>}.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace emporium {

using Logger = std::shared_ptr<spdlog::logger>;

// Creates the program's logger: JSON lines to stderr, asynchronous so request threads never wait
// on the terminal or a slow disk, in UTC. level is "debug", "info", "warn" or "error".
Logger MakeLogger(std::string_view level);

// Owns the end of logging for a process: when it goes, every queued line is written and
// spdlog's background log thread is joined. Declare one right after the process's Logger, before
// anything that logs, so that it goes after them and before the Logger: the sink is then freed
// after the thread that wrote to it has ended (ThreadSanitizer sees the join; it cannot see the
// reference count released inside Debian's uninstrumented libspdlog).
class LogThreadJoin {
public:
    LogThreadJoin() = default;
    LogThreadJoin(const LogThreadJoin&) = delete;
    LogThreadJoin& operator=(const LogThreadJoin&) = delete;
    ~LogThreadJoin();
};

// Builds the members of one log line. Values are escaped; keys are trusted literals.
class LogFields {
public:
    explicit LogFields(std::string_view msg);
    LogFields& Add(std::string_view key, std::string_view value);
    LogFields& Add(std::string_view key, long long value);
    LogFields& Add(std::string_view key, double value);
    const std::string& str() const { return text_; }

private:
    std::string text_;
};

void LogInfo(const Logger& logger, const LogFields& fields);
void LogWarn(const Logger& logger, const LogFields& fields);
void LogError(const Logger& logger, const LogFields& fields);

}  // namespace emporium
