// The program's metrics in Prometheus' text format: per-route request counts and latency,
// requests in flight, cache hits and misses, database statement latency, and the process's
// memory, CPU and uptime. Built on prometheus-cpp; every method is safe from any thread.
#pragma once

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
    // labels is Prometheus label text without braces (`cache="catalog"`), or empty.
    void AddCallback(std::string name, std::string type, std::string help, std::string labels,
                     std::function<double()> read);
    // Everything above plus process figures, as Prometheus text exposition.
    std::string Render() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace emporium::ops
