#include "tracing/span.h"

#include <chrono>

namespace emporium::tracing {
namespace {

thread_local SpanCollector* current_collector = nullptr;

}  // namespace

namespace {

// Room for a span's usual attributes (a request's root span has four) in one allocation.
constexpr std::size_t kUsualAttributes = 4;

}  // namespace

void SpanRecord::Set(AttributeKey key, std::string_view value) {
    if (attributes.size() >= kMaxAttributes) return;
    if (attributes.empty()) attributes.reserve(kUsualAttributes);
    attributes.push_back({key, std::string(value.substr(0, kMaxAttributeLength)), 0, false});
}

void SpanRecord::Set(AttributeKey key, std::int64_t value) {
    if (attributes.size() >= kMaxAttributes) return;
    if (attributes.empty()) attributes.reserve(kUsualAttributes);
    attributes.push_back({key, {}, value, true});
}

void SpanCollector::Add(SpanRecord span) {
    std::lock_guard lock(spans_mutex_);
    if (spans_.size() >= kMaxSpansPerTrace) {
        ++dropped_;
        return;
    }
    spans_.push_back(std::move(span));
}

std::vector<SpanRecord> SpanCollector::Take() {
    std::lock_guard lock(spans_mutex_);
    return std::move(spans_);
}

std::size_t SpanCollector::dropped() const {
    std::lock_guard lock(spans_mutex_);
    return dropped_;
}

CollectorScope::CollectorScope(SpanCollector* collector, const TraceContext& trace)
    : previous_(current_collector), trace_(trace) {
    current_collector = collector;
}

CollectorScope::CollectorScope(SpanCollector* collector, const TraceContext* trace)
    : previous_(current_collector), trace_(trace) {
    current_collector = collector;
}

CollectorScope::~CollectorScope() {
    current_collector = previous_;
}

SpanCollector* CurrentCollector() {
    return current_collector;
}

std::int64_t UnixNanos() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

Span::Span(std::string_view name, SpanKind kind) : collector_(current_collector) {
    const TraceContext* parent = CurrentTrace();
    if (!collector_ || !parent) {
        collector_ = nullptr;
        return;
    }
    TraceContext self = StartSpan(*parent);
    record_.name = std::string(name);
    record_.kind = kind;
    record_.trace_id = self.trace_id;
    record_.span_id = self.span_id;
    record_.parent_span_id = parent->span_id;
    record_.start_unix_ns = UnixNanos();
    scope_.emplace(self);
}

Span::~Span() {
    if (!collector_) return;
    scope_.reset();
    record_.end_unix_ns = UnixNanos();
    collector_->Add(std::move(record_));
}

void Span::Set(AttributeKey key, std::string_view value) {
    if (collector_) record_.Set(key, value);
}

void Span::Set(AttributeKey key, std::int64_t value) {
    if (collector_) record_.Set(key, value);
}

void Span::SetError() {
    record_.error = true;
}

}  // namespace emporium::tracing
