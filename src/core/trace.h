// W3C trace context (https://www.w3.org/TR/trace-context/): a request that arrives with a
// `traceparent` header is handled under its trace id, one without gets a new trace; the trace
// follows the work onto other threads and processes (the outbox and the broker's messages, the
// texts and webhook posts queued for it) and out in outgoing calls' `traceparent` headers. Log
// lines written while a trace is current carry its `trace_id`.
#pragma once

#include <array>
#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace emporium {

// An id of exactly N lowercase hex digits held inline, or empty. Every request's spans copy their
// trace's ids several times; inline ids make those copies free of allocation.
template <std::size_t N>
class HexId {
public:
    HexId() = default;
    // The id of exactly these N characters; empty when text is not N characters long. The caller
    // checks the digits (ParseTraceparent does).
    explicit HexId(std::string_view text) {
        if (text.size() != N) return;
        text.copy(digits_.data(), N);
        set_ = true;
    }

    bool empty() const { return !set_; }
    std::string_view view() const { return set_ ? std::string_view(digits_.data(), N) : std::string_view(); }
    operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor): ids read as text
    std::string str() const { return std::string(view()); }

    friend bool operator==(const HexId& a, const HexId& b) { return a.view() == b.view(); }
    friend bool operator==(const HexId& a, std::string_view b) { return a.view() == b; }

private:
    std::array<char, N> digits_{};
    bool set_ = false;
};

using TraceId = HexId<32>;
using SpanId = HexId<16>;

// For test failures' messages.
std::ostream& operator<<(std::ostream& out, const TraceId& id);
std::ostream& operator<<(std::ostream& out, const SpanId& id);

struct TraceContext {
    TraceId trace_id;      // 32 lowercase hex digits, never all zeros
    SpanId span_id;        // 16 lowercase hex digits: the span of this piece of work
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
// A new span in parent's trace.
TraceContext StartSpan(const TraceContext& parent);

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
