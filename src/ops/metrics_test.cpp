#include "ops/metrics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <string>

#include "db/database.h"

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

// Series of emporium_http_requests_total in the rendered text.
int RequestSeries(const std::string& text) {
    int series = 0;
    for (std::size_t at = text.find("\nemporium_http_requests_total{"); at != std::string::npos;
         at = text.find("\nemporium_http_requests_total{", at + 1)) {
        ++series;
    }
    return series;
}

TEST(Metrics, AFigureThatCannotBeReadIsLeftOutAndTheRestRender) {
    Metrics metrics;
    metrics.AddCallback("emporium_events_backlog", "gauge", "backlog", "", []() -> double {
        throw db::DbError(db::DbError::Kind::kBusy, "all 2 database connections stayed busy for 1000 ms");
    });
    metrics.AddCallback("emporium_db_pool_waiting", "gauge", "waiting", "", [] { return 3.0; });
    std::string text;
    ASSERT_NO_THROW(text = metrics.Render());
    EXPECT_NE(text.find("emporium_db_pool_waiting 3\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("emporium_events_backlog"), std::string::npos) << text;
}

// Figures read from the database are read by SampleFigures, never by a scrape.
TEST(Metrics, SampledFiguresAreReadOffTheScrape) {
    Metrics metrics;
    std::atomic<int> reads{0};
    std::atomic<bool> fail{false};
    metrics.AddSampledCallback("emporium_events_backlog", "gauge", "backlog", "subscriber=\"notify\"", [&] {
        ++reads;
        if (fail) throw db::DbError(db::DbError::Kind::kBusy, "all database connections stayed busy");
        return 7.0;
    });
    EXPECT_EQ(metrics.Render().find("emporium_events_backlog"), std::string::npos);  // not read yet
    metrics.SampleFigures();
    for (int i = 0; i < 3; ++i) {
        EXPECT_NE(metrics.Render().find("emporium_events_backlog{subscriber=\"notify\"} 7\n"), std::string::npos);
    }
    EXPECT_EQ(reads.load(), 1);
    fail = true;
    metrics.SampleFigures();  // a failed reading is not shown as if current
    EXPECT_EQ(metrics.Render().find("emporium_events_backlog"), std::string::npos);
}

// A reading stuck on a busy database holds up no scrape.
TEST(Metrics, AScrapeAnswersWhileASamplingReadIsStuck) {
    Metrics metrics;
    std::promise<void> reading, release;
    std::shared_future<void> released = release.get_future().share();
    metrics.AddSampledCallback("emporium_messages_waiting", "gauge", "waiting", "", [&reading, released] {
        reading.set_value();
        released.wait();
        return 1.0;
    });
    metrics.AddCallback("emporium_db_pool_waiting", "gauge", "waiting", "", [] { return 3.0; });
    metrics.StartSampling(std::chrono::hours(1));
    reading.get_future().wait();
    const std::string text = metrics.Render();
    EXPECT_NE(text.find("emporium_db_pool_waiting 3\n"), std::string::npos) << text;
    release.set_value();
    metrics.StopSampling();
    EXPECT_NE(metrics.Render().find("emporium_messages_waiting 1\n"), std::string::npos);
}

TEST(Metrics, UnknownMethodsShareOneSeries) {
    Metrics metrics;
    std::mt19937 random(7);
    for (int i = 0; i < 2000; ++i) {
        std::string method(1 + random() % 40, 'A');
        for (char& c : method) c = static_cast<char>('A' + random() % 26);
        metrics.ObserveRequest("public", "unmatched", method, 405, 0.001);
    }
    metrics.ObserveRequest("public", "unmatched", "GET", 404, 0.001);
    metrics.ObserveRequest("public", "unmatched", "get", 405, 0.001);  // methods are case-sensitive
    const std::string text = metrics.Render();
    EXPECT_EQ(RequestSeries(text), 2) << text;
    EXPECT_NE(text.find("emporium_http_requests_total{listener=\"public\",method=\"other\",route=\"unmatched\","
                        "status=\"405\"} 2001"),
              std::string::npos)
        << text;
    EXPECT_EQ(MethodLabel("PATCH"), "PATCH");
    EXPECT_EQ(MethodLabel("OPTIONS"), "OPTIONS");
    EXPECT_EQ(MethodLabel(std::string(8000, 'X')), "other");
}

}  // namespace
}  // namespace emporium::ops
