#include "ops/metrics.h"

#include <gtest/gtest.h>

namespace emporium::ops {
namespace {

TEST(Metrics, RendersRequestsQueriesCallbacksAndProcess) {
    Metrics metrics;
    metrics.ObserveRequest("public", "/api/products", "GET", 200, 0.002);
    metrics.ObserveRequest("public", "/api/products", "GET", 200, 0.004);
    metrics.ObserveRequest("public", "/api/products/{id}", "GET", 404, 0.001);
    metrics.ObserveQuery(0.0003);
    double hits = 41;
    metrics.AddCallback("emporium_cache_hits_total", "counter", "hits", "cache=\"catalog\"", [&] { return hits + 1; });
    std::string text = metrics.Render();
    EXPECT_NE(text.find("emporium_http_requests_total{listener=\"public\",method=\"GET\",route=\"/api/"
                        "products\",status=\"200\"} 2"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("emporium_http_request_duration_seconds_count{listener=\"public\",route=\"/api/products\"} 2"),
              std::string::npos);
    EXPECT_NE(text.find("emporium_db_query_duration_seconds_count 1"), std::string::npos);
    EXPECT_NE(text.find("emporium_cache_hits_total{cache=\"catalog\"} 42"), std::string::npos);
    EXPECT_NE(text.find("# TYPE emporium_cache_hits_total counter"), std::string::npos);
    EXPECT_NE(text.find("process_resident_memory_bytes"), std::string::npos);
    EXPECT_NE(text.find("process_cpu_seconds_total"), std::string::npos);
    EXPECT_NE(text.find("emporium_uptime_seconds"), std::string::npos);
}

}  // namespace
}  // namespace emporium::ops
