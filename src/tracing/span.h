// Spans: timed, named pieces of one trace's work in this process. A span started while a span
// collector is current on the thread (a traced request's handler, a consumed message's handler)
// becomes a child of the thread's current span and the current span itself until it ends; with
// no collector current (tracing off, work outside any traced request) a Span does nothing beyond
// one thread-local read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/trace.h"

namespace emporium::tracing {

// OTLP's span kinds (the numbers are OTLP's).
enum class SpanKind { kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };

// Bounds on what a span carries: attributes past the count are dropped, texts are cut.
inline constexpr std::size_t kMaxAttributes = 16;
inline constexpr std::size_t kMaxAttributeLength = 128;
// Spans one piece of work records at most; more are counted and dropped.
inline constexpr std::size_t kMaxSpansPerTrace = 256;

// An attribute's key: only a string literal converts to one, so a key is always the program's
// own word (never client input) and a span holds it without copying it.
class AttributeKey {
public:
    template <std::size_t N>
    consteval AttributeKey(const char (&literal)[N])  // NOLINT(google-explicit-constructor): written as a literal
        : text_(literal, N - 1) {}
    std::string_view view() const { return text_; }
    friend bool operator==(AttributeKey a, std::string_view b) { return a.text_ == b; }

private:
    std::string_view text_;
};

// An attribute: a key of the program's own and a text or a whole number.
struct Attribute {
    AttributeKey key;
    std::string text;
    std::int64_t number = 0;
    bool is_number = false;
};

struct SpanRecord {
    std::string name;  // the program's own words: a route's pattern, "db.write", "cache.lookup"
    SpanKind kind = SpanKind::kInternal;
    TraceId trace_id;
    SpanId span_id;
    SpanId parent_span_id;  // empty for a trace's first span
    std::int64_t start_unix_ns = 0;
    std::int64_t end_unix_ns = 0;
    bool error = false;
    std::vector<Attribute> attributes;

    // Adds key=value within the bounds above (a text longer than kMaxAttributeLength is cut).
    void Set(AttributeKey key, std::string_view value);
    void Set(AttributeKey key, std::int64_t value);
};

// The spans of one piece of work in this process (its root span's descendants). Thread-safe.
class SpanCollector {
public:
    // Keeps span unless kMaxSpansPerTrace are kept already (then counts it as dropped).
    void Add(SpanRecord span);
    // The spans kept so far (moved out) and how many were dropped.
    std::vector<SpanRecord> Take();
    std::size_t dropped() const;

private:
    mutable std::mutex spans_mutex_;
    std::vector<SpanRecord> spans_;
    std::size_t dropped_ = 0;
};

// Makes collector (may be null: only the trace is made current) and trace current on this thread
// until the scope ends; then the ones before come back.
class CollectorScope {
public:
    CollectorScope(SpanCollector* collector, const TraceContext& trace);
    // Exactly these (trace may be null: none), whatever was current before: for work run on
    // behalf of another thread (a group commit's leader runs the other writers' writes).
    CollectorScope(SpanCollector* collector, const TraceContext* trace);
    ~CollectorScope();
    CollectorScope(const CollectorScope&) = delete;
    CollectorScope& operator=(const CollectorScope&) = delete;

private:
    SpanCollector* previous_;
    TraceScope trace_;
};

// The collector current on this thread, or nullptr.
SpanCollector* CurrentCollector();

// The current time as OTLP wants it: nanoseconds since the Unix epoch.
std::int64_t UnixNanos();

// A span of the current work: see the top of this file. Ends (and is recorded) when destroyed.
class Span {
public:
    explicit Span(std::string_view name, SpanKind kind = SpanKind::kInternal);
    ~Span();
    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;

    // False when nothing is recorded: callers skip work that only feeds attributes.
    bool recording() const { return collector_ != nullptr; }
    void Set(AttributeKey key, std::string_view value);
    void Set(AttributeKey key, std::int64_t value);
    void SetError();

private:
    SpanCollector* collector_;
    SpanRecord record_;
    std::optional<TraceScope> scope_;
};

}  // namespace emporium::tracing
