#include "core/log.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "core/text.h"
#include "core/trace.h"

namespace emporium {

Logger MakeLogger(std::string_view level) {
    // The async thread pool is owned by spdlog's registry; one per process is what it supports.
    if (!spdlog::thread_pool()) spdlog::init_thread_pool(32768, 1);
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
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
    char buffer[32];
    int n = std::snprintf(buffer, sizeof buffer, "%.3f", value);
    text_ += ",\"";
    text_ += key;
    text_ += "\":";
    text_.append(buffer, static_cast<size_t>(n));
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
