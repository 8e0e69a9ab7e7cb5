// The program's metrics in Prometheus' text format: per-route request counts and latency,
// requests in flight, cache hits and misses, database statement latency, and the process's
// memory, CPU and uptime. Built on prometheus-cpp; every method is safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace emporium::ops {

// The method's label: the standard HTTP methods as they are, anything else "other".
std::string_view MethodLabel(std::string_view method);

class Metrics {
public:
    Metrics();
    ~Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    // One finished HTTP request. Every label is bounded whatever clients send: the listener and
    // route are the program's own names (a route's pattern, "static", "unmatched"), the status
    // its own answer, and a method outside the standard ones is counted as "other".
    void ObserveRequest(std::string_view listener, std::string_view route, std::string_view method, int status,
                        double seconds);
    // One database statement.
    void ObserveQuery(double seconds);
    // A figure read at each scrape, such as a cache's hit count. type is "counter" or "gauge";
    // labels is Prometheus label text without braces (`cache="catalog"`), or empty. A read that
    // throws leaves that figure out of the scrape; the rest still render.
    void AddCallback(std::string name, std::string type, std::string help, std::string labels,
                     std::function<double()> read);
    // A figure that costs a database read (an outbox backlog, the shop's sales totals): read by
    // SampleFigures, off the scrape, and rendered from its last reading, so a scrape answers at
    // once however busy the database is. Until its first reading, and while its last one threw,
    // it is left out of the scrape.
    void AddSampledCallback(std::string name, std::string type, std::string help, std::string labels,
                            std::function<double()> read);
    // Reads every sampled figure now (each one's read may block on the database), one after the other.
    void SampleFigures();
    // Calls SampleFigures at once and then every `every` on a thread of its own, until
    // StopSampling or destruction. Once only.
    void StartSampling(std::chrono::milliseconds every);
    // Ends the sampling thread, waiting for a reading under way: call it before anything a sampled
    // figure reads is destroyed. Idempotent.
    void StopSampling();
    // Everything above plus process figures, as Prometheus text exposition.
    std::string Render() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace emporium::ops
