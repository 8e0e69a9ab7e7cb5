// The tracer of one process: starts the root span of each piece of work (a request, a consumed
// message), decides at its end whether the trace is kept (sampled, failed or slow), hands kept
// spans to the OTLP exporter's bounded queue and keeps the slowest and the failed requests of the
// last hour in memory for the admin "Slow requests" page.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tracing/span.h"

namespace emporium::tracing {

struct TracerOptions {
    std::string service_name = "emporium";           // OTLP's service.name: "emporium" or "emporium-worker"
    double sample_ratio = 0.1;                       // share of new traces kept (0..1)
    std::chrono::milliseconds slow{500};             // traces at least this slow are always kept
    std::string otlp_endpoint;                       // "http://collector:4318" (/v1/traces is added); empty: no export
    std::size_t queue_spans = 4096;                  // spans waiting for export at most; more are dropped
    std::size_t batch_spans = 512;                   // spans per OTLP request at most
    std::chrono::milliseconds flush_interval{1000};  // a partial batch waits at most this long
    std::size_t slow_keep = 50;                      // slowest requests kept, and failed ones kept, each
    std::chrono::seconds slow_window{3600};          // how long a kept request stays listed
};

// A root span: its own record plus the collector its descendants go to.
class RootSpan {
public:
    RootSpan(std::string_view name, SpanKind kind, TraceContext trace, SpanId parent_span_id);
    const TraceContext& trace() const { return trace_; }
    SpanCollector* collector() { return &collector_; }
    SpanRecord& record() { return record_; }

private:
    friend class Tracer;
    TraceContext trace_;
    SpanRecord record_;
    SpanCollector collector_;
    std::chrono::steady_clock::time_point started_;
};

// A request kept for the Slow requests page: its root span first, then its descendants.
struct KeptTrace {
    std::chrono::system_clock::time_point at;  // when it ended
    double ms = 0;
    bool failed = false;
    std::vector<SpanRecord> spans;
};

// What the exporter did since start, for metrics.
struct ExportStats {
    std::int64_t exported = 0;      // spans an OTLP receiver accepted
    std::int64_t dropped = 0;       // spans dropped: the queue was full or a trace had too many
    std::int64_t failed_posts = 0;  // OTLP requests that failed (their spans are dropped)
};

class Tracer {
public:
    explicit Tracer(TracerOptions options);
    // Sends what is queued and stops the export thread; when the receiver fails meanwhile, what is
    // left is dropped (a stop waits for one export timeout, 5 s, at most beyond the sends).
    ~Tracer();
    Tracer(const Tracer&) = delete;
    Tracer& operator=(const Tracer&) = delete;

    // The head decision for a trace this process starts: true for about sample_ratio of them.
    bool SampleNew();

    // A root span in trace (trace.span_id is the root's own id) under a remote parent span
    // (empty when the trace starts here).
    std::unique_ptr<RootSpan> Begin(std::string_view name, SpanKind kind, TraceContext trace,
                                    SpanId parent_span_id) const;

    // Ends root: the trace is exported when it was sampled, failed or was slow; a server span (a
    // request) is also offered to the Slow requests list. Never blocks on the exporter.
    void End(std::unique_ptr<RootSpan> root);

    // The kept requests of the last slow_window, the slowest first, then the failed (newest
    // first) that are not among them.
    std::vector<KeptTrace> SlowRequests() const;

    ExportStats stats() const;
    const TracerOptions& options() const { return options_; }

private:
    void Enqueue(std::vector<SpanRecord> spans);
    void Keep(double ms, bool failed, const std::vector<SpanRecord>& spans);
    void ExportLoop();
    bool Post(const std::vector<SpanRecord>& batch);

    const TracerOptions options_;
    std::mutex sample_mutex_;
    std::mt19937_64 random_;

    mutable std::mutex kept_mutex_;
    std::vector<KeptTrace> slowest_;  // at most slow_keep
    std::deque<KeptTrace> failed_;    // at most slow_keep, oldest first

    mutable std::mutex queue_mutex_;
    std::condition_variable queue_changed_;
    std::deque<SpanRecord> queue_;
    bool stopping_ = false;
    ExportStats stats_;
    std::thread exporter_;
};

// Work taken up from a queue (an outbox event, a broker message) under the trace its stored
// traceparent names: a root span (named name, a child of the stored span) is current while the
// scope lives and ends with it. A null tracer or an empty traceparent: as TraceScope (the trace
// alone current, or none).
class WorkScope {
public:
    WorkScope(Tracer* tracer, std::string_view name, SpanKind kind, std::string_view traceparent);
    ~WorkScope();
    WorkScope(const WorkScope&) = delete;
    WorkScope& operator=(const WorkScope&) = delete;

    void Set(AttributeKey key, std::string_view value);
    void SetError();

private:
    Tracer* tracer_;
    std::unique_ptr<RootSpan> root_;
    std::optional<CollectorScope> scope_;
};

// The OTLP/HTTP JSON body (ExportTraceServiceRequest) of spans from service_name.
std::string OtlpJson(const std::string& service_name, const std::vector<SpanRecord>& spans);

}  // namespace emporium::tracing
