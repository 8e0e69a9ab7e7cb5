// W3C trace context (https://www.w3.org/TR/trace-context/): a request that arrives with a
// `traceparent` header is handled under its trace id, one without gets a new trace; the trace
// follows the work onto other threads and processes (the outbox and the broker's messages, the
// texts and webhook posts queued for it) and out in outgoing calls' `traceparent` headers. Log
// lines written while a trace is current carry its `trace_id`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace emporium {

struct TraceContext {
    std::string trace_id;  // 32 lowercase hex digits, never all zeros
    std::string span_id;   // 16 lowercase hex digits: the span of this piece of work
    bool sampled = false;  // the caller's sampled flag, passed on as given

    // The header value: "00-TRACE_ID-SPAN_ID-01" (or -00 when not sampled).
    std::string Traceparent() const;
};

// The context a `traceparent` header names; nullopt when it is malformed (a wrong length, upper
// case or non-hex digits, an all-zero id, version ff), which the caller treats as absent. A later
// version's header is read by its first four fields, as the specification asks.
std::optional<TraceContext> ParseTraceparent(std::string_view header);

// A new span: in parent's trace when there is one, else in a new trace.
TraceContext StartSpan(const std::optional<TraceContext>& parent);

// A new span in the trace a stored traceparent names (work queued by a traced request, taken up
// on another thread or process); nullopt when it names none.
std::optional<TraceContext> ContinueTrace(std::string_view traceparent);

// The trace the calling thread works for, or nullptr.
const TraceContext* CurrentTrace();

// Makes `trace` the calling thread's current trace until the scope ends (then the one before it
// comes back). An empty or malformed traceparent makes no trace current.
class TraceScope {
public:
    explicit TraceScope(std::optional<TraceContext> trace);
    explicit TraceScope(std::string_view traceparent) : TraceScope(ParseTraceparent(traceparent)) {}
    // Makes exactly *trace current, or none when trace is null: for work run on behalf of another
    // thread, which must not carry the running thread's own trace.
    explicit TraceScope(const TraceContext* trace);
    ~TraceScope();
    TraceScope(const TraceScope&) = delete;
    TraceScope& operator=(const TraceScope&) = delete;

private:
    std::optional<TraceContext> trace_;
    const TraceContext* previous_;
};

// The current trace's traceparent, or "" when none: what a queued piece of work stores to carry
// the trace on.
std::string CurrentTraceparent();

}  // namespace emporium
