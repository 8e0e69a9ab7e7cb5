#include "tracing/tracer.h"

#include <curl/curl.h>

#include <algorithm>
#include <boost/json.hpp>

namespace emporium::tracing {
namespace json = boost::json;
namespace {

json::array AttributesJson(const std::vector<Attribute>& attributes) {
    json::array out;
    for (const Attribute& a : attributes) {
        json::object value;
        if (a.is_number) {
            value["intValue"] = std::to_string(a.number);  // OTLP JSON writes 64-bit integers as strings
        } else {
            value["stringValue"] = a.text;
        }
        out.push_back(json::object{{"key", a.key.view()}, {"value", std::move(value)}});
    }
    return out;
}

json::object SpanJson(const SpanRecord& s) {
    json::object out{{"traceId", s.trace_id.view()},
                     {"spanId", s.span_id.view()},
                     {"name", s.name},
                     {"kind", static_cast<int>(s.kind)},
                     {"startTimeUnixNano", std::to_string(s.start_unix_ns)},
                     {"endTimeUnixNano", std::to_string(s.end_unix_ns)},
                     {"attributes", AttributesJson(s.attributes)},
                     {"status", json::object{{"code", s.error ? 2 : 1}}}};
    if (!s.parent_span_id.empty()) out["parentSpanId"] = s.parent_span_id.view();
    return out;
}

std::size_t Discard(char*, std::size_t size, std::size_t count, void*) {
    return size * count;
}

}  // namespace

RootSpan::RootSpan(std::string_view name, SpanKind kind, TraceContext trace, SpanId parent_span_id)
    : trace_(trace), started_(std::chrono::steady_clock::now()) {
    record_.name = std::string(name);
    record_.kind = kind;
    record_.trace_id = trace_.trace_id;
    record_.span_id = trace_.span_id;
    record_.parent_span_id = parent_span_id;
    record_.start_unix_ns = UnixNanos();
}

Tracer::Tracer(TracerOptions options) : options_(std::move(options)), random_(std::random_device{}()) {
    if (!options_.otlp_endpoint.empty()) exporter_ = std::thread([this] { ExportLoop(); });
}

Tracer::~Tracer() {
    {
        std::lock_guard lock(queue_mutex_);
        stopping_ = true;
    }
    queue_changed_.notify_all();
    if (exporter_.joinable()) exporter_.join();
}

bool Tracer::SampleNew() {
    if (options_.sample_ratio >= 1) return true;
    if (options_.sample_ratio <= 0) return false;
    std::lock_guard lock(sample_mutex_);
    return std::uniform_real_distribution<double>(0, 1)(random_) < options_.sample_ratio;
}

std::unique_ptr<RootSpan> Tracer::Begin(std::string_view name, SpanKind kind, TraceContext trace,
                                        SpanId parent_span_id) const {
    return std::make_unique<RootSpan>(name, kind, trace, parent_span_id);
}

void Tracer::End(std::unique_ptr<RootSpan> root) {
    SpanRecord& record = root->record_;
    record.end_unix_ns = UnixNanos();
    const auto took = std::chrono::steady_clock::now() - root->started_;
    const bool slow = took >= options_.slow;
    const std::size_t dropped = root->collector_.dropped();
    std::vector<SpanRecord> children = root->collector_.Take();
    std::vector<SpanRecord> spans;
    spans.reserve(1 + children.size());
    spans.push_back(std::move(record));
    for (SpanRecord& s : children) spans.push_back(std::move(s));
    if (dropped > 0) {
        std::lock_guard lock(queue_mutex_);
        stats_.dropped += static_cast<std::int64_t>(dropped);
    }
    const bool failed = spans.front().error;
    if (spans.front().kind == SpanKind::kServer) {
        Keep(std::chrono::duration<double, std::milli>(took).count(), failed, spans);
    }
    if (!options_.otlp_endpoint.empty() && (root->trace_.sampled || failed || slow)) Enqueue(std::move(spans));
}

void Tracer::Keep(double ms, bool failed, const std::vector<SpanRecord>& spans) {
    // Copies the spans only when the request makes the list: most requests are neither failed nor
    // among the slowest.
    const auto now = std::chrono::system_clock::now();
    const auto horizon = now - options_.slow_window;
    std::lock_guard lock(kept_mutex_);
    std::erase_if(slowest_, [&](const KeptTrace& k) { return k.at < horizon; });
    while (!failed_.empty() && failed_.front().at < horizon) failed_.pop_front();
    if (options_.slow_keep == 0) return;
    if (failed) {
        failed_.push_back(KeptTrace{now, ms, failed, spans});
        if (failed_.size() > options_.slow_keep) failed_.pop_front();
    }
    if (slowest_.size() < options_.slow_keep) {
        slowest_.push_back(KeptTrace{now, ms, failed, spans});
        return;
    }
    auto fastest =
        std::min_element(slowest_.begin(), slowest_.end(), [](const auto& a, const auto& b) { return a.ms < b.ms; });
    if (fastest->ms < ms) *fastest = KeptTrace{now, ms, failed, spans};
}

std::vector<KeptTrace> Tracer::SlowRequests() const {
    const auto horizon = std::chrono::system_clock::now() - options_.slow_window;
    std::vector<KeptTrace> out;
    std::lock_guard lock(kept_mutex_);
    for (const KeptTrace& k : slowest_) {
        if (k.at >= horizon) out.push_back(k);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ms > b.ms; });
    for (auto it = failed_.rbegin(); it != failed_.rend(); ++it) {
        if (it->at < horizon) continue;
        const bool listed = std::any_of(out.begin(), out.end(), [&](const KeptTrace& k) {
            return k.spans.front().span_id == it->spans.front().span_id;
        });
        if (!listed) out.push_back(*it);
    }
    return out;
}

ExportStats Tracer::stats() const {
    std::lock_guard lock(queue_mutex_);
    return stats_;
}

void Tracer::Enqueue(std::vector<SpanRecord> spans) {
    {
        std::lock_guard lock(queue_mutex_);
        for (SpanRecord& s : spans) {
            if (queue_.size() >= options_.queue_spans) {
                ++stats_.dropped;
                continue;
            }
            queue_.push_back(std::move(s));
        }
    }
    queue_changed_.notify_one();
}

void Tracer::ExportLoop() {
    std::unique_lock lock(queue_mutex_);
    while (true) {
        queue_changed_.wait_for(lock, options_.flush_interval,
                                [this] { return stopping_ || queue_.size() >= options_.batch_spans; });
        if (queue_.empty()) {
            if (stopping_) return;
            continue;
        }
        const std::size_t n = std::min(queue_.size(), options_.batch_spans);
        std::vector<SpanRecord> batch(std::make_move_iterator(queue_.begin()),
                                      std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
        lock.unlock();
        const bool sent = Post(batch);
        lock.lock();
        if (sent) {
            stats_.exported += static_cast<std::int64_t>(batch.size());
        } else {
            ++stats_.failed_posts;
            stats_.dropped += static_cast<std::int64_t>(batch.size());
            // Shutting down with the receiver failing: one try only, so that stopping waits for one
            // timeout at most, not one per batch still queued.
            if (stopping_) {
                stats_.dropped += static_cast<std::int64_t>(queue_.size());
                queue_.clear();
            }
        }
    }
}

bool Tracer::Post(const std::vector<SpanRecord>& batch) {
    const std::string body = OtlpJson(options_.service_name, batch);
    std::string url = options_.otlp_endpoint;
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (!url.ends_with("/v1/traces")) url += "/v1/traces";
    CURL* curl = curl_easy_init();
    if (!curl) return false;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
    long status = 0;
    const CURLcode result = curl_easy_perform(curl);
    if (result == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return result == CURLE_OK && status >= 200 && status < 300;
}

WorkScope::WorkScope(Tracer* tracer, std::string_view name, SpanKind kind, std::string_view traceparent)
    : tracer_(tracer) {
    const std::optional<TraceContext> stored = ParseTraceparent(traceparent);
    if (!stored) return;
    TraceContext trace = StartSpan(stored);
    if (tracer_) root_ = tracer_->Begin(name, kind, trace, stored->span_id);
    scope_.emplace(root_ ? root_->collector() : nullptr, trace);
}

WorkScope::~WorkScope() {
    scope_.reset();
    if (root_) tracer_->End(std::move(root_));
}

void WorkScope::Set(AttributeKey key, std::string_view value) {
    if (root_) root_->record().Set(key, value);
}

void WorkScope::SetError() {
    if (root_) root_->record().error = true;
}

std::string OtlpJson(const std::string& service_name, const std::vector<SpanRecord>& spans) {
    json::array span_array;
    for (const SpanRecord& s : spans) span_array.push_back(SpanJson(s));
    json::object resource{
        {"attributes",
         json::array{json::object{{"key", "service.name"}, {"value", json::object{{"stringValue", service_name}}}}}}};
    json::object scope_spans{{"scope", json::object{{"name", "emporium"}}}, {"spans", std::move(span_array)}};
    json::object resource_spans{{"resource", std::move(resource)}, {"scopeSpans", json::array{std::move(scope_spans)}}};
    return json::serialize(json::object{{"resourceSpans", json::array{std::move(resource_spans)}}});
}

}  // namespace emporium::tracing
