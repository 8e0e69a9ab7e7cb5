#include "tracing/tracer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <string>
#include <thread>
#include <type_traits>

#include "db/testing.h"

namespace emporium::tracing {
namespace {
namespace json = boost::json;

TracerOptions NoExport() {
    TracerOptions o;
    o.sample_ratio = 0;
    return o;
}

// Options whose exporter never sends during a test: the batch is never full, the interval an hour.
TracerOptions HeldExport(std::size_t queue_spans) {
    TracerOptions o;
    o.sample_ratio = 0;
    o.otlp_endpoint = "http://127.0.0.1:9";  // never reached: the exporter waits for a full batch
    o.queue_spans = queue_spans;
    o.batch_spans = 100000;
    o.flush_interval = std::chrono::hours(1);
    return o;
}

TEST(SpanTest, RecordsNothingWithoutACollector) {
    TraceScope trace(StartSpan(std::nullopt));
    Span span("db.read");
    EXPECT_FALSE(span.recording());
}

TEST(SpanTest, NestedSpansAreChildrenOfTheCurrentSpan) {
    Tracer tracer(NoExport());
    auto root = tracer.Begin("GET /x", SpanKind::kServer, StartSpan(std::nullopt), SpanId());
    const SpanId root_id = root->trace().span_id;
    {
        CollectorScope scope(root->collector(), root->trace());
        Span outer("db.write", SpanKind::kClient);
        ASSERT_TRUE(outer.recording());
        const SpanId outer_id = CurrentTrace()->span_id;
        EXPECT_NE(outer_id, root_id);
        {
            Span inner("cache.lookup");
            inner.Set("cache.result", "hit");
            EXPECT_NE(CurrentTrace()->span_id, outer_id);
        }
        EXPECT_EQ(CurrentTrace()->span_id, outer_id);  // the outer span is current again
    }
    EXPECT_EQ(CurrentCollector(), nullptr);
    std::vector<SpanRecord> spans = root->collector()->Take();
    ASSERT_EQ(spans.size(), 2u);
    const SpanRecord& inner = spans[0];  // ended first
    const SpanRecord& outer = spans[1];
    EXPECT_EQ(inner.name, "cache.lookup");
    EXPECT_EQ(outer.parent_span_id, root_id);
    EXPECT_EQ(inner.parent_span_id, outer.span_id);
    EXPECT_EQ(inner.trace_id, root->trace().trace_id);
    EXPECT_LE(outer.start_unix_ns, inner.start_unix_ns);
    EXPECT_GE(outer.end_unix_ns, inner.end_unix_ns);
    ASSERT_EQ(inner.attributes.size(), 1u);
    EXPECT_EQ(inner.attributes[0].text, "hit");
}

// Only a literal names an attribute: a text made at run time (a client's path, a header) cannot.
static_assert(std::is_constructible_v<AttributeKey, const char (&)[5]>);
static_assert(!std::is_constructible_v<AttributeKey, std::string_view>);
static_assert(!std::is_constructible_v<AttributeKey, std::string>);
static_assert(!std::is_constructible_v<AttributeKey, const char*>);

TEST(SpanTest, AttributesAreBoundedInCountAndLength) {
    SpanRecord r;
    r.Set("long", std::string(1000, 'x'));
    for (int i = 0; i < 40; ++i) r.Set("n", std::int64_t{i});
    EXPECT_EQ(r.attributes.size(), kMaxAttributes);
    EXPECT_EQ(r.attributes[0].text.size(), kMaxAttributeLength);
}

TEST(SpanTest, ATraceKeepsABoundedNumberOfSpans) {
    SpanCollector collector;
    for (std::size_t i = 0; i < kMaxSpansPerTrace + 5; ++i) collector.Add(SpanRecord{});
    EXPECT_EQ(collector.dropped(), 5u);
    EXPECT_EQ(collector.Take().size(), kMaxSpansPerTrace);
}

TEST(TracerTest, SamplesNewTracesAtTheRatio) {
    TracerOptions o;
    o.sample_ratio = 0;
    Tracer never(o);
    o.sample_ratio = 1;
    Tracer always(o);
    o.sample_ratio = 0.25;
    Tracer quarter(o);
    int kept = 0;
    for (int i = 0; i < 4000; ++i) {
        EXPECT_FALSE(never.SampleNew());
        EXPECT_TRUE(always.SampleNew());
        kept += quarter.SampleNew() ? 1 : 0;
    }
    // 4000 draws at 0.25: mean 1000, standard deviation about 27; 800..1200 is over 7 of them.
    EXPECT_GT(kept, 800);
    EXPECT_LT(kept, 1200);
}

// A trace of n spans (the root and n - 1 children), ended with the given sampled flag and error.
void EndTrace(Tracer& tracer, bool sampled, bool error, int n, SpanKind kind = SpanKind::kServer) {
    TraceContext trace = StartSpan(std::nullopt);
    trace.sampled = sampled;
    auto root = tracer.Begin("GET /x", kind, trace, SpanId());
    {
        CollectorScope scope(root->collector(), root->trace());
        for (int i = 1; i < n; ++i) Span child("db.read");
    }
    root->record().error = error;
    tracer.End(std::move(root));
}

TEST(TracerTest, ExportsSampledAndFailedTracesOnly) {
    // A queue of no room: every span offered for export is counted as dropped.
    Tracer tracer(HeldExport(0));
    EndTrace(tracer, /*sampled=*/false, /*error=*/false, 3);
    EXPECT_EQ(tracer.stats().dropped, 0);  // not offered: unsampled, fast, ok
    EndTrace(tracer, /*sampled=*/true, /*error=*/false, 3);
    EXPECT_EQ(tracer.stats().dropped, 3);
    EndTrace(tracer, /*sampled=*/false, /*error=*/true, 2);
    EXPECT_EQ(tracer.stats().dropped, 5);
}

TEST(TracerTest, ExportsSlowTracesAlways) {
    TracerOptions o = HeldExport(0);
    o.slow = std::chrono::milliseconds(0);  // every trace is "slow"
    Tracer tracer(o);
    EndTrace(tracer, /*sampled=*/false, /*error=*/false, 2);
    EXPECT_EQ(tracer.stats().dropped, 2);
}

TEST(TracerTest, AFullQueueDropsAndCountsRatherThanWaits) {
    Tracer tracer(HeldExport(4));
    EndTrace(tracer, /*sampled=*/true, /*error=*/false, 3);
    EXPECT_EQ(tracer.stats().dropped, 0);
    EndTrace(tracer, /*sampled=*/true, /*error=*/false, 3);  // one fits, two do not
    EXPECT_EQ(tracer.stats().dropped, 2);
}

// A loopback port nobody listens on: bound, then closed.
int ClosedPort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    socklen_t length = sizeof(address);
    EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
    close(fd);
    return ntohs(address.sin_port);
}

TEST(TracerTest, AFailingReceiverCostsDroppedSpansNotWaits) {
    TracerOptions o;
    o.sample_ratio = 1;
    o.otlp_endpoint = "http://127.0.0.1:" + std::to_string(ClosedPort());
    o.batch_spans = 2;
    Tracer tracer(o);
    for (int i = 0; i < 3; ++i) EndTrace(tracer, /*sampled=*/true, /*error=*/false, 2);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (tracer.stats().dropped < 6 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(tracer.stats().dropped, 6);
    EXPECT_EQ(tracer.stats().exported, 0);
    EXPECT_GE(tracer.stats().failed_posts, 1);
}

TEST(TracerTest, ListsRequestsWithTheirSpansBounded) {
    TracerOptions o = NoExport();
    o.slow_keep = 2;
    Tracer tracer(o);
    for (int i = 0; i < 3; ++i) EndTrace(tracer, false, /*error=*/true, 2);
    for (int i = 0; i < 3; ++i) EndTrace(tracer, false, /*error=*/false, 2);
    EndTrace(tracer, false, /*error=*/true, 2, SpanKind::kConsumer);  // not a request: not listed
    std::vector<KeptTrace> listed = tracer.SlowRequests();
    ASSERT_GE(listed.size(), 2u);
    EXPECT_LE(listed.size(), 4u);  // two slowest and two failed at most
    int failed = 0;
    for (std::size_t i = 0; i < listed.size(); ++i) {
        ASSERT_EQ(listed[i].spans.size(), 2u);
        EXPECT_EQ(listed[i].spans[0].kind, SpanKind::kServer);
        EXPECT_EQ(listed[i].spans[1].parent_span_id, listed[i].spans[0].span_id);
        failed += listed[i].failed ? 1 : 0;
    }
    EXPECT_GE(failed, 2);
    for (std::size_t i = 1; i < listed.size(); ++i) {
        if (!listed[i].failed) {
            EXPECT_GE(listed[i - 1].ms, listed[i].ms);  // the slowest first
        }
    }
}

TEST(TracerTest, OtlpJsonCarriesServiceSpansAndParents) {
    SpanRecord root{"GET /api/products",
                    SpanKind::kServer,
                    TraceId(std::string(32, 'a')),
                    SpanId(std::string(16, 'b')),
                    SpanId(),
                    10,
                    20,
                    true,
                    {}};
    root.Set("http.response.status_code", std::int64_t{503});
    SpanRecord child{
        "db.read", SpanKind::kClient, root.trace_id, SpanId(std::string(16, 'c')), root.span_id, 12, 18, false, {}};
    const json::value doc = json::parse(OtlpJson("emporium", {root, child}));
    const json::value& rs = doc.at("resourceSpans").at(0);
    EXPECT_EQ(rs.at("resource").at("attributes").at(0).at("value").at("stringValue"), "emporium");
    const json::array& spans = rs.at("scopeSpans").at(0).at("spans").as_array();
    ASSERT_EQ(spans.size(), 2u);
    EXPECT_EQ(spans[0].at("traceId").as_string(), root.trace_id.view());
    EXPECT_FALSE(spans[0].as_object().contains("parentSpanId"));
    EXPECT_EQ(spans[0].at("kind"), 2);
    EXPECT_EQ(spans[0].at("status").at("code"), 2);
    EXPECT_EQ(spans[0].at("startTimeUnixNano"), "10");
    EXPECT_EQ(spans[0].at("attributes").at(0).at("value").at("intValue"), "503");
    EXPECT_EQ(spans[1].at("parentSpanId").as_string(), root.span_id.view());
    EXPECT_EQ(spans[1].at("status").at("code"), 1);
}

TEST(TracerTest, WorkScopeContinuesAStoredTrace) {
    Tracer tracer(NoExport());
    const TraceContext stored = StartSpan(std::nullopt);
    {
        WorkScope work(&tracer, "event.consume", SpanKind::kConsumer, stored.Traceparent());
        ASSERT_NE(CurrentTrace(), nullptr);
        EXPECT_EQ(CurrentTrace()->trace_id, stored.trace_id);
        EXPECT_NE(CurrentCollector(), nullptr);
    }
    EXPECT_EQ(CurrentCollector(), nullptr);
    WorkScope none(&tracer, "event.consume", SpanKind::kConsumer, "");
    EXPECT_EQ(CurrentTrace(), nullptr);
    EXPECT_EQ(CurrentCollector(), nullptr);
}

TEST(TracerTest, ADatabaseTransactionIsASpanWithStatementsAndRows) {
    db::TempDatabase database;
    database->Write([](db::Connection& c) { c.ExecuteScript("CREATE TABLE t (x INTEGER)"); });
    Tracer tracer(NoExport());
    auto root = tracer.Begin("GET /x", SpanKind::kServer, StartSpan(std::nullopt), SpanId());
    {
        CollectorScope scope(root->collector(), root->trace());
        database->Write([](db::Connection& c) {
            c.Execute("INSERT INTO t (x) VALUES (1), (2), (3)");
            c.Execute("UPDATE t SET x = x + 1 WHERE x > 1");
        });
        database->Read([](db::Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM t"); });
    }
    std::vector<SpanRecord> spans = root->collector()->Take();
    ASSERT_EQ(spans.size(), 2u);
    auto number = [](const SpanRecord& s, std::string_view key) {
        for (const Attribute& a : s.attributes) {
            if (a.key == key) return a.number;
        }
        return std::int64_t{-1};
    };
    EXPECT_EQ(spans[0].name, "db.write");
    EXPECT_EQ(number(spans[0], "db.statements"), 2);
    EXPECT_EQ(number(spans[0], "db.rows"), 5);  // 3 inserted, 2 updated
    EXPECT_EQ(spans[1].name, "db.read");
    EXPECT_EQ(number(spans[1], "db.statements"), 1);
    EXPECT_EQ(number(spans[1], "db.rows"), 1);
    EXPECT_EQ(spans[1].parent_span_id, root->trace().span_id);
}

}  // namespace
}  // namespace emporium::tracing
