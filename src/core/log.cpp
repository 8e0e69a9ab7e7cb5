#include "core/log.h"

#include <spdlog/async.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>

#include "core/text.h"
#include "core/trace.h"

namespace emporium {
namespace {

// Writes the log's lines to standard error, one write for every line already queued behind the
// one in hand: under load the access log costs a write per batch, not per request, while the lines
// of an idle shop still go out at once. Runs on the logger's own thread.
//
// Under load it also lingers: after writing a batch of more than one line (lines arrive faster than
// they are written one by one) the thread sleeps kLinger before it takes the next. A logger thread
// that waits on its queue is woken by every line queued, a futex call and a context switch per
// request on the request threads (6% of the server's CPU at 1,000 connections, measured); a sleeping
// one is woken by nobody, and collects the next batch meanwhile. An idle shop's lines come one at
// a time, so they still go out at once.
class BatchingStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit BatchingStderrSink(spdlog::details::thread_pool* pool) : pool_(pool) {}
    // The last batch: when logging ends, the pool's stop message is queued behind the last lines,
    // so they are held for a next line that never comes. The sink goes after the pool's thread
    // has ended (log.h LogThreadJoin), so nothing else writes now.
    ~BatchingStderrSink() override { WriteOut(); }
    BatchingStderrSink(const BatchingStderrSink&) = delete;
    BatchingStderrSink& operator=(const BatchingStderrSink&) = delete;

protected:
    void sink_it_(const spdlog::details::log_msg& message) override {
        formatter_->format(message, lines_);
        ++batch_lines_;
        if (lines_.size() < kBatchBytes && pool_->queue_size() > 0) return;
        const bool busy = batch_lines_ > 1;
        WriteOut();
        if (busy) std::this_thread::sleep_for(kLinger);
    }
    void flush_() override { WriteOut(); }

private:
    static constexpr std::size_t kBatchBytes = std::size_t{64} * 1024;
    static constexpr std::chrono::milliseconds kLinger{2};

    void WriteOut() {
        batch_lines_ = 0;
        const char* next = lines_.data();
        std::size_t left = lines_.size();
        while (left > 0) {
            const ssize_t n = ::write(STDERR_FILENO, next, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;  // nowhere to write the log to: the lines are dropped, the shop goes on
            next += n;
            left -= static_cast<std::size_t>(n);
        }
        lines_.clear();
    }

    // Not owned, and never a shared_ptr, not even for a moment: the sink runs only on the pool's own
    // thread, which the pool joins before it goes, so the pool outlives every call here. Holding a
    // reference on that thread could make it the last one, and the pool would join itself.
    spdlog::details::thread_pool* pool_;
    spdlog::memory_buf_t lines_;
    std::size_t batch_lines_ = 0;  // lines in lines_
};

constexpr std::size_t kUsualLineBytes = 384;

}  // namespace

Logger MakeLogger(std::string_view level) {
    // The async thread pool is owned by spdlog's registry; one per process is what it supports.
    if (!spdlog::thread_pool()) spdlog::init_thread_pool(32768, 1);
    auto sink = std::make_shared<BatchingStderrSink>(spdlog::thread_pool().get());
    auto logger = std::make_shared<spdlog::async_logger>("emporium", sink, spdlog::thread_pool(),
                                                         spdlog::async_overflow_policy::block);
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
    logger->set_level(spdlog::level::from_str(std::string(level)));
    logger->flush_on(spdlog::level::warn);
    return logger;
}

LogThreadJoin::~LogThreadJoin() {
    // Drops the registry's thread pool, whose destructor queues a stop behind every pending line
    // and joins its thread; a later MakeLogger starts a new one.
    spdlog::shutdown();
}

LogFields::LogFields(std::string_view msg) {
    // Room for a request's access line (about 300 bytes) in one allocation, not five as it grows.
    text_.reserve(kUsualLineBytes);
    text_ = "\"msg\":\"";
    AppendJsonEscaped(text_, msg);
    text_ += '"';
    // Work done for a traced request or message says which trace it belongs to (core/trace.h).
    if (const TraceContext* trace = CurrentTrace()) Add("trace_id", trace->trace_id);
}

LogFields& LogFields::Add(std::string_view key, std::string_view value) {
    text_ += ",\"";
    text_ += key;
    text_ += "\":\"";
    AppendJsonEscaped(text_, value);
    text_ += '"';
    return *this;
}

LogFields& LogFields::Add(std::string_view key, long long value) {
    text_ += ",\"";
    text_ += key;
    text_ += "\":";
    text_ += std::to_string(value);
    return *this;
}

LogFields& LogFields::Add(std::string_view key, double value) {
    // As printf's "%.3f", at a tenth of its cost (it was 1.3% of a cached answer's CPU).
    char buffer[64];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, 3);
    text_ += ",\"";
    text_ += key;
    text_ += "\":";
    if (std::isfinite(value) && ec == std::errc()) {
        text_.append(buffer, end);
    } else {
        text_ += "null";  // JSON has no NaN or infinity; nor does any figure beyond 64 digits fit a line
    }
    return *this;
}

void LogInfo(const Logger& logger, const LogFields& fields) {
    logger->info(fields.str());
}
void LogWarn(const Logger& logger, const LogFields& fields) {
    logger->warn(fields.str());
}
void LogError(const Logger& logger, const LogFields& fields) {
    logger->error(fields.str());
}

}  // namespace emporium
