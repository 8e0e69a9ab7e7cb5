#include "ops/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

namespace emporium::ops {
namespace {

// Latency buckets from 100 µs to 10 s: our targets are milliseconds, alerts care about seconds.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
    static const prometheus::Histogram::BucketBoundaries kBuckets = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    return kBuckets;
}

struct ProcessFigures {
    double resident_bytes = 0;
    double virtual_bytes = 0;
    double cpu_seconds = 0;
    double open_fds = 0;
};

ProcessFigures ReadProcess() {
    ProcessFigures f;
    std::ifstream statm("/proc/self/statm");
    long pages_virtual = 0, pages_resident = 0;
    if (statm >> pages_virtual >> pages_resident) {
        long page = sysconf(_SC_PAGESIZE);
        f.virtual_bytes = static_cast<double>(pages_virtual) * static_cast<double>(page);
        f.resident_bytes = static_cast<double>(pages_resident) * static_cast<double>(page);
    }
    std::ifstream stat("/proc/self/stat");
    std::string line;
    if (std::getline(stat, line)) {
        // Fields after the command name, which is in parentheses and may hold spaces.
        std::istringstream rest(line.substr(line.rfind(')') + 2));
        std::string field;
        double utime = 0, stime = 0;
        for (int i = 3; i <= 15 && rest >> field; ++i) {
            if (i == 14) utime = std::stod(field);
            if (i == 15) stime = std::stod(field);
        }
        f.cpu_seconds = (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    return f;
}

}  // namespace

std::string_view MethodLabel(std::string_view method) {
    static constexpr std::string_view kKnown[] = {"GET",    "HEAD",    "POST",  "PUT",    "PATCH",
                                                  "DELETE", "OPTIONS", "TRACE", "CONNECT"};
    for (std::string_view known : kKnown) {
        if (method == known) return known;
    }
    return "other";
}

struct Metrics::Impl {
    std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
    prometheus::Family<prometheus::Counter>& requests = prometheus::BuildCounter()
                                                            .Name("emporium_http_requests_total")
                                                            .Help("HTTP requests answered")
                                                            .Register(*registry);
    prometheus::Family<prometheus::Histogram>& latency = prometheus::BuildHistogram()
                                                             .Name("emporium_http_request_duration_seconds")
                                                             .Help("Time from a complete request to the sent answer")
                                                             .Register(*registry);
    prometheus::Family<prometheus::Histogram>& query_family = prometheus::BuildHistogram()
                                                                  .Name("emporium_db_query_duration_seconds")
                                                                  .Help("Database statement latency")
                                                                  .Register(*registry);
    prometheus::Histogram& queries = query_family.Add({}, LatencyBuckets());
    // The request series already made, by "listener\x1froute\x1fmethod\x1fstatus" (ObserveRequest).
    struct RequestSeries {
        prometheus::Counter* count;
        prometheus::Histogram* latency;
    };
    std::shared_mutex series_mutex;  // guards series
    std::unordered_map<std::string, RequestSeries> series;
    struct Callback {
        std::string name, type, help, labels;
        std::function<double()> read;
        bool sampled = false;          // read by SampleFigures, rendered from `sample`
        std::optional<double> sample;  // guarded by samples_mutex
    };
    std::mutex callbacks_mutex;  // guards callbacks (a deque: a callback stays where it is as more are added)
    std::deque<Callback> callbacks;
    mutable std::mutex samples_mutex;  // guards each Callback's sample

    std::mutex sampler_mutex;  // guards stopping
    std::condition_variable sampler_wake;
    bool stopping = false;
    std::thread sampler;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::chrono::system_clock::time_point started_wall = std::chrono::system_clock::now();
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}

Metrics::~Metrics() {
    StopSampling();
}

void Metrics::StopSampling() {
    {
        std::lock_guard lock(impl_->sampler_mutex);
        impl_->stopping = true;
    }
    impl_->sampler_wake.notify_all();
    if (impl_->sampler.joinable()) impl_->sampler.join();
}

void Metrics::ObserveRequest(std::string_view listener, std::string_view route, std::string_view method, int status,
                             double seconds) {
    // Every label is bounded (listener and route names are ours, the method is one of a few words
    // or "other", the status is what our handlers chose), so the series found once are kept by
    // their labels and later requests skip the families' label maps and locks.
    const std::string_view method_label = MethodLabel(method);
    std::string key;
    key.reserve(listener.size() + route.size() + method_label.size() + 8);
    key.append(listener).append(1, '\x1f').append(route).append(1, '\x1f').append(method_label).append(1, '\x1f');
    key += std::to_string(status);
    {
        std::shared_lock lock(impl_->series_mutex);
        if (auto it = impl_->series.find(key); it != impl_->series.end()) {
            it->second.count->Increment();
            it->second.latency->Observe(seconds);
            return;
        }
    }
    Impl::RequestSeries found{
        &impl_->requests.Add({{"listener", std::string(listener)},
                              {"route", std::string(route)},
                              {"method", std::string(method_label)},
                              {"status", std::to_string(status)}}),
        &impl_->latency.Add({{"listener", std::string(listener)}, {"route", std::string(route)}}, LatencyBuckets())};
    found.count->Increment();
    found.latency->Observe(seconds);
    std::unique_lock lock(impl_->series_mutex);
    impl_->series.emplace(std::move(key), found);
}

void Metrics::ObserveQuery(double seconds) {
    impl_->queries.Observe(seconds);
}

void Metrics::AddCallback(std::string name, std::string type, std::string help, std::string labels,
                          std::function<double()> read) {
    std::lock_guard lock(impl_->callbacks_mutex);
    impl_->callbacks.push_back({std::move(name), std::move(type), std::move(help), std::move(labels), std::move(read)});
}

void Metrics::AddSampledCallback(std::string name, std::string type, std::string help, std::string labels,
                                 std::function<double()> read) {
    std::lock_guard lock(impl_->callbacks_mutex);
    impl_->callbacks.push_back(
        {std::move(name), std::move(type), std::move(help), std::move(labels), std::move(read), true, std::nullopt});
}

void Metrics::SampleFigures() {
    std::vector<Impl::Callback*> sampled;
    {
        std::lock_guard lock(impl_->callbacks_mutex);
        for (Impl::Callback& c : impl_->callbacks) {
            if (c.sampled) sampled.push_back(&c);
        }
    }
    // Read without any lock a scrape takes: a read may wait on the database for a while.
    for (Impl::Callback* c : sampled) {
        std::optional<double> value;
        try {
            value = c->read();
        } catch (const std::exception&) {
            // Left out of the scrapes until a reading succeeds: a stale figure would look current.
        }
        std::lock_guard lock(impl_->samples_mutex);
        c->sample = value;
    }
}

void Metrics::StartSampling(std::chrono::milliseconds every) {
    impl_->sampler = std::thread([this, every] {
        std::unique_lock lock(impl_->sampler_mutex);
        while (!impl_->stopping) {
            lock.unlock();
            SampleFigures();
            lock.lock();
            impl_->sampler_wake.wait_for(lock, every, [this] { return impl_->stopping; });
        }
    });
}

std::string Metrics::Render() const {
    std::string out = prometheus::TextSerializer().Serialize(impl_->registry->Collect());
    ProcessFigures p = ReadProcess();
    double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - impl_->started).count();
    double start_time = std::chrono::duration<double>(impl_->started_wall.time_since_epoch()).count();
    auto gauge = [&](const char* name, const char* type, const char* help, double value) {
        char line[256];
        std::snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %.6f\n", name, help, name, type, name, value);
        out += line;
    };
    gauge("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", p.resident_bytes);
    gauge("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", p.virtual_bytes);
    gauge("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", p.cpu_seconds);
    gauge("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", start_time);
    gauge("emporium_uptime_seconds", "gauge", "Seconds since the program started.", uptime);
    std::lock_guard lock(impl_->callbacks_mutex);
    // Samples of one metric must sit together under one HELP and TYPE, whatever order they were added in.
    std::vector<const Impl::Callback*> ordered;
    for (const auto& c : impl_->callbacks) ordered.push_back(&c);
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const Impl::Callback* a, const Impl::Callback* b) { return a->name < b->name; });
    std::string last_name;
    for (const Impl::Callback* cp : ordered) {
        const Impl::Callback& c = *cp;
        double read = 0;
        if (c.sampled) {
            std::lock_guard samples_lock(impl_->samples_mutex);
            if (!c.sample) continue;
            read = *c.sample;
        } else {
            try {
                read = c.read();
            } catch (const std::exception&) {
                // A figure that cannot be read now is left out of this scrape; the others still answer.
                continue;
            }
        }
        if (c.name != last_name) out += "# HELP " + c.name + " " + c.help + "\n# TYPE " + c.name + " " + c.type + "\n";
        last_name = c.name;
        char value[64];
        std::snprintf(value, sizeof value, " %.17g\n", read);
        out += c.name + (c.labels.empty() ? "" : "{" + c.labels + "}") + value;
    }
    return out;
}

}  // namespace emporium::ops
