// The delivery figures on a small fixture whose expected values are worked out by hand in the
// comments beside each assertion; recording the same events again changes nothing.
#include "delivery/delivery.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "db/testing.h"
#include "delivery/event_json.h"
#include "delivery/junit.h"
#include "delivery/time_text.h"

namespace emporium::delivery {
namespace {

std::int64_t T(std::string_view rfc3339) {
    std::optional<std::int64_t> ms = ParseRfc3339Millis(rfc3339);
    if (!ms) throw std::invalid_argument(std::string(rfc3339));
    return *ms / 1000;
}

TEST(TimeTextTest, ReadsRfc3339WithFractionsAndOffsets) {
    // Reference values from Python's datetime.fromisoformat(...).timestamp().
    EXPECT_EQ(ParseRfc3339Millis("2026-11-01T00:00:00Z"), 1'793'491'200'000);
    EXPECT_EQ(ParseRfc3339Millis("2026-11-30T10:15:00.250Z"), 1'796'033'700'250);
    EXPECT_EQ(ParseRfc3339Millis("2026-11-30T11:15:00+01:00"), 1'796'033'700'000);
    EXPECT_EQ(ParseDate("2024-02-29"), 1'709'164'800);
    EXPECT_EQ(FormatDate(1'709'164'800 + 86399), "2024-02-29");
    for (const char* bad :
         {"2026-11-30", "2026-11-30T10:15:00", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-30T24:00:00Z",
          "2026-11-30T10:15:00.Z", "2026-11-30T10:15:00+1:00", "", "yesterday"}) {
        EXPECT_FALSE(ParseRfc3339Millis(bad).has_value()) << bad;
    }
    EXPECT_FALSE(ParseDate("2025-02-29").has_value());
    EXPECT_FALSE(ParseDate("2025-1-01").has_value());
}

TEST(PercentileTest, NearestRank) {
    EXPECT_FALSE(Percentile({}, 50).has_value());
    EXPECT_EQ(Percentile({7}, 50), 7);
    EXPECT_EQ(Percentile({40, 10, 30, 20}, 50), 20);  // ceil(0.5 * 4) = 2nd of 10 20 30 40
    EXPECT_EQ(Percentile({40, 10, 30, 20}, 95), 40);  // ceil(3.8) = 4th
    EXPECT_EQ(Percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90), 9);
    EXPECT_EQ(Percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 95), 10);
}

TEST(PeriodTest, DatesIncludeBothDaysAndDefaultToThirtyDays) {
    const std::int64_t now = T("2026-11-30T10:15:00Z");
    Result<Period> p = ParsePeriod("2026-11-01", "2026-11-10", now);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->from, T("2026-11-01T00:00:00Z"));
    EXPECT_EQ(p->to, T("2026-11-11T00:00:00Z"));
    EXPECT_EQ(p->Days(), 10);
    Result<Period> d = ParsePeriod(std::nullopt, std::nullopt, now);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->from, T("2026-11-01T00:00:00Z"));
    EXPECT_EQ(d->to, T("2026-12-01T00:00:00Z"));
    EXPECT_FALSE(ParsePeriod("2026-11-10", "2026-11-01", now).ok());
    EXPECT_FALSE(ParsePeriod("2025-01-01", "2026-11-01", now).ok());
    EXPECT_EQ(ParsePeriod("2026-11-1", std::nullopt, now).error().fields.at(0).field, "from");
}

TEST(CsvFieldTest, QuotesPerRfc4180AndDefusesFormulas) {
    EXPECT_EQ(CsvField("plain"), "plain");
    EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
    EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(CsvField("two\r\nlines"), "\"two\r\nlines\"");
    EXPECT_EQ(CsvField("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
    EXPECT_EQ(CsvField("+1"), "'+1");
    EXPECT_EQ(CsvField("-2"), "'-2");
    EXPECT_EQ(CsvField("@SUM(A1)"), "'@SUM(A1)");
    EXPECT_EQ(CsvField("\tx"), "'\tx");
    EXPECT_EQ(CsvField(""), "");
}

TEST(JunitTest, ReadsCtestPythonAndNodeReports) {
    // The shapes of `ctest --output-junit`, tests/api/run.py and node's junit reporter.
    const char* ctest = R"xml(<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="(empty)" tests="4" failures="1" disabled="1" skipped="0" hostname="" time="1" timestamp="">
  <testcase name="CatalogTest.Lists" classname="CatalogTest.Lists" time="0.0123" status="run"/>
  <testcase name="OrdersTest.Stock" classname="OrdersTest.Stock" time="1.5" status="fail">
    <failure message="Failed"/>
  </testcase>
  <testcase name="Slow.Thing" classname="Slow.Thing" time="0" status="disabled"><skipped message="Disabled"/></testcase>
  <testcase name="Alerts.Fire" classname="" time="1e300" status="run"/>
</testsuite>)xml";
    Result<std::vector<TestCase>> c = ParseJunit(ctest, "unit");
    ASSERT_TRUE(c.ok());
    ASSERT_EQ(c->size(), 4U);
    EXPECT_EQ((*c)[0].suite, "unit");
    EXPECT_EQ((*c)[0].name, "CatalogTest.Lists");
    EXPECT_EQ((*c)[0].result, "passed");
    EXPECT_EQ((*c)[0].duration_ms, 12);
    EXPECT_EQ((*c)[1].result, "failed");
    EXPECT_EQ((*c)[1].duration_ms, 1500);
    EXPECT_EQ((*c)[2].result, "skipped");
    EXPECT_EQ((*c)[3].name, "Alerts.Fire");
    EXPECT_EQ((*c)[3].duration_ms, 10'000'000'000);  // capped, not overflowed

    const char* python =
        R"xml(<testsuite name="api"><testcase classname="test_orders.OrdersTest" name="test_cancel" time="0.25"/>
      <testcase classname="test_orders.OrdersTest" name="test_ship"><skipped message="no broker"/></testcase></testsuite>)xml";
    Result<std::vector<TestCase>> p = ParseJunit(python, "API tests");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ((*p)[0].name, "test_orders.OrdersTest.test_cancel");
    EXPECT_EQ((*p)[1].result, "skipped");

    const char* node = R"xml(<testsuites><testsuite name="the admin delivery page">
      <testsuite name="exports"><testcase name="as CSV" time="2.5" classname="test"/></testsuite>
      <testcase name="relinks" time="0.1" classname="test"><failure type="testCodeFailure" message="boom"/></testcase>
    </testsuite><testcase name="top level" time="0.01" classname="test"/></testsuites>)xml";
    Result<std::vector<TestCase>> n = ParseJunit(node, "e2e");
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(n->size(), 3U);
    EXPECT_EQ((*n)[0].name, "the admin delivery page > exports > as CSV");
    EXPECT_EQ((*n)[1].name, "the admin delivery page > relinks");
    EXPECT_EQ((*n)[1].result, "failed");
    EXPECT_EQ((*n)[2].name, "top level");

    EXPECT_FALSE(ParseJunit("<testsuite><testcase name='x'>", "unit").ok());
}

TEST(EventJsonTest, NamesEveryBadFieldAndReadsBackWhatItWrites) {
    auto parse = [](std::string_view text) { return ParseEvents(boost::json::parse(text).as_object()); };
    Result<std::vector<Event>> bad = parse(
        R"({"events":[{"type":"stage","id":"r/b","run_id":"r","name":"build","started_at":"noon","result":"ok"},
                      {"type":"deployment","id":"d","deployed_at":"2026-11-02T12:00:00Z","commits":[{"sha":"xyz"}]},
                      {"type":"party"}]})");
    ASSERT_FALSE(bad.ok());
    std::vector<std::string> fields;
    for (const FieldError& f : bad.error().fields) fields.push_back(f.field);
    EXPECT_EQ(fields, (std::vector<std::string>{"events[0].started_at", "events[0].result", "events[1].commits[0].sha",
                                                "events[1].commits[0].committed_at", "events[2].type"}));
    EXPECT_FALSE(parse(R"({"events":[]})").ok());

    DeploymentEvent d;
    d.id = "deploy-1";
    d.deployed_at = T("2026-11-02T12:00:00Z");
    d.commits = {{"abcdef12", T("2026-11-02T10:00:00Z")}};
    StageEvent s;
    s.id = "run-1/build";
    s.run_id = "run-1";
    s.commit = "abcdef12";
    s.name = "build";
    s.started_at = T("2026-11-02T09:00:00Z");
    s.duration_ms = 61'250;
    s.result = "failed";
    s.exit_code = 2;
    boost::json::object batch{{"events", boost::json::array{EventJson(d), EventJson(s)}}};
    Result<std::vector<Event>> back = ParseEvents(batch);
    ASSERT_TRUE(back.ok());
    ASSERT_EQ(back->size(), 2U);
    const auto& d2 = std::get<DeploymentEvent>((*back)[0]);
    EXPECT_EQ(d2.commits.at(0).sha, "abcdef12");
    EXPECT_EQ(d2.commits.at(0).committed_at, d.commits[0].committed_at);
    const auto& s2 = std::get<StageEvent>((*back)[1]);
    EXPECT_EQ(s2.duration_ms, 61'250);
    EXPECT_EQ(s2.exit_code, 2);
    EXPECT_EQ(s2.started_at, s.started_at);
}

// ---- The fixture: ten days, 2026-11-01 to 2026-11-10 ----

class DeliveryFixture : public ::testing::Test {
protected:
    DeliveryFixture()
        : db_(Migrations(db::TestDialect())),
          clock_(std::chrono::system_clock::from_time_t(T("2026-11-20T00:00:00Z"))),
          service_(*db_, clock_) {}

    static DeploymentEvent Deploy(std::string id, std::string_view at, std::vector<CommitRef> commits,
                                  std::string result = "success", std::string environment = "production") {
        DeploymentEvent d;
        d.id = std::move(id);
        d.deployed_at = T(at);
        d.commits = std::move(commits);
        d.result = std::move(result);
        d.environment = std::move(environment);
        return d;
    }
    static IncidentEvent Trouble(std::string id, std::string_view opened, std::optional<std::string_view> resolved) {
        IncidentEvent i;
        i.id = std::move(id);
        i.title = "Trouble " + i.id;
        i.opened_at = T(opened);
        if (resolved) i.resolved_at = T(*resolved);
        return i;
    }
    static StageEvent Stage(std::string run, std::string_view at, std::string name, std::int64_t seconds,
                            std::string result = "success") {
        StageEvent s;
        s.id = run + "/" + name;
        s.run_id = std::move(run);
        s.commit = "aaaa1111";
        s.name = std::move(name);
        s.started_at = T(at);
        s.duration_ms = seconds * 1000;
        s.result = std::move(result);
        return s;
    }
    static TestsEvent Tests(std::string id, std::string commit, std::string_view at,
                            const std::vector<std::tuple<std::string, std::string, std::string>>& cases) {
        TestsEvent t;
        t.id = std::move(id);
        t.commit = std::move(commit);
        t.recorded_at = T(at);
        for (const auto& [suite, name, result] : cases) t.cases.push_back({suite, name, result, 5});
        return t;
    }

    std::vector<Event> FixtureEvents() {
        std::vector<Event> e;
        // Deployments: dep-0 before the period, dep-5 after it, one to staging.
        e.push_back(Deploy("dep-0", "2026-10-31T12:00:00Z", {{"a1a1", T("2026-10-31T10:00:00Z")}}));
        e.push_back(Deploy("dep-1", "2026-11-02T12:00:00Z",
                           {{"a1a1", T("2026-10-31T10:00:00Z")},     // shipped by dep-0 already
                            {"b1b1", T("2026-11-02T10:00:00Z")},     // 2 h
                            {"b2b2", T("2026-11-01T12:00:00Z")}}));  // 24 h
        e.push_back(Deploy("dep-2", "2026-11-04T12:00:00Z", {{"c1c1", T("2026-11-04T11:00:00Z")}},  // 1 h
                           "failed"));
        e.push_back(
            Deploy("dep-s", "2026-11-05T12:00:00Z", {{"d1d1", T("2026-11-05T12:00:00Z")}}, "success", "staging"));
        e.push_back(Deploy("dep-3", "2026-11-06T12:00:00Z",
                           {{"d1d1", T("2026-11-05T12:00:00Z")},     // 24 h (staging does not count)
                            {"d2d2", T("2026-11-06T11:30:00Z")},     // 30 min
                            {"d3d3", T("2026-11-03T12:00:00Z")}}));  // 3 days
        e.push_back(Deploy("dep-4", "2026-11-09T12:00:00Z", {{"e1e1", T("2026-11-09T11:50:00Z")}}));  // 10 min
        e.push_back(Deploy("dep-5", "2026-11-11T12:00:00Z", {{"f1f1", T("2026-11-11T11:00:00Z")}}));
        // Incidents, each linked to the last production deployment before it opened.
        e.push_back(Trouble("inc-1", "2026-11-04T14:00:00Z", "2026-11-04T15:30:00Z"));  // dep-2, 5400 s
        e.push_back(Trouble("inc-2", "2026-11-06T13:00:00Z", "2026-11-06T13:20:00Z"));  // dep-3, 1200 s
        e.push_back(Trouble("inc-3", "2026-11-07T09:00:00Z", "2026-11-07T12:00:00Z"));  // dep-3, 10800 s
        e.push_back(Trouble("inc-4", "2026-11-10T20:00:00Z", std::nullopt));            // dep-4, still open
        e.push_back(Trouble("inc-5", "2026-10-30T23:00:00Z", "2026-11-01T01:00:00Z"));  // none, 93600 s
        // Runs and stages; r5 falls in the previous ten days.
        e.push_back(Stage("r1", "2026-11-02T09:00:00Z", "build", 100));
        e.push_back(Stage("r1", "2026-11-02T09:02:00Z", "test", 50));
        e.push_back(Stage("r2", "2026-11-03T09:00:00Z", "build", 120));
        e.push_back(Stage("r2", "2026-11-03T09:03:00Z", "test", 70, "failed"));
        e.push_back(Stage("r3", "2026-11-03T10:00:00Z", "build", 80));
        e.push_back(Stage("r3", "2026-11-03T10:02:00Z", "test", 60));
        RunEvent r4;
        r4.id = "r4";
        r4.commit = "aaaa1111";
        r4.started_at = T("2026-11-05T09:00:00Z");
        r4.result = "cancelled";
        e.push_back(r4);
        e.push_back(Stage("r4", "2026-11-05T09:00:00Z", "build", 30));
        e.push_back(Stage("r5", "2026-10-29T09:00:00Z", "build", 200));
        e.push_back(Stage("r5", "2026-10-29T09:04:00Z", "test", 40));
        e.push_back(Stage("r6", "2026-11-08T09:00:00Z", "build", 140));
        e.push_back(Stage("r6", "2026-11-08T09:03:00Z", "test", 90));
        // Test results. The flaky window is 2026-10-28 to 2026-11-10.
        e.push_back(Tests("t1", "ca", "2026-11-02T09:05:00Z",
                          {{"api", "test_checkout", "passed"},
                           {"unit", "Orders.Stock", "failed"},
                           {"unit", "Cart.Skip", "skipped"}}));
        e.push_back(Tests(
            "t2", "ca", "2026-11-03T09:05:00Z",
            {{"api", "test_checkout", "failed"}, {"unit", "Orders.Stock", "failed"}, {"unit", "Cart.Skip", "passed"}}));
        e.push_back(Tests("t3", "cb", "2026-11-03T10:05:00Z",
                          {{"api", "test_checkout", "passed"}, {"unit", "Orders.Stock", "passed"}}));
        e.push_back(Tests("t4", "cb", "2026-11-04T10:05:00Z", {{"api", "test_checkout", "passed"}}));
        e.push_back(Tests("t5", "c0", "2026-10-20T10:00:00Z",  // outside the window
                          {{"e2e", "storefront", "passed"}, {"e2e", "storefront", "failed"}}));
        e.push_back(Tests("t6", "cd", "2026-11-09T10:00:00Z",
                          {{"e2e", "storefront", "passed"}, {"e2e", "storefront", "failed"}}));
        e.push_back(
            Tests("t7", "ce", "2026-11-10T10:00:00Z",
                  {{"e2e", "storefront", "passed"}, {"e2e", "storefront", "passed"}, {"e2e", "storefront", "failed"}}));
        return e;
    }

    Period TenDays() { return *ParsePeriod("2026-11-01", "2026-11-10", UnixSeconds(clock_.Now())); }

    std::int64_t Rows(const char* table) {
        return db_->Read([&](db::Connection& c) { return c.QueryInt(std::string("SELECT COUNT(*) FROM ") + table); });
    }

    db::TempDatabase db_;
    ManualClock clock_;
    DeliveryService service_;
};

TEST_F(DeliveryFixture, DeploymentFrequencyCountsProductionDeploymentsInThePeriod) {
    ASSERT_TRUE(service_.Record(FixtureEvents()).ok());
    Summary s = service_.Figures(TenDays(), "production");
    // dep-1, dep-2, dep-3 and dep-4 in ten days: 0.4 a day, 2.8 a week.
    EXPECT_EQ(s.frequency.deployments, 4);
    EXPECT_EQ(s.frequency.days, 10);
    EXPECT_DOUBLE_EQ(s.frequency.per_day, 0.4);
    EXPECT_DOUBLE_EQ(s.frequency.per_week, 2.8);
    ASSERT_EQ(s.frequency.daily.size(), 10U);
    std::vector<std::int64_t> daily;
    for (const DayCount& d : s.frequency.daily) daily.push_back(d.count);
    EXPECT_EQ(daily, (std::vector<std::int64_t>{0, 1, 0, 1, 0, 1, 0, 0, 1, 0}));
    EXPECT_EQ(service_.Figures(TenDays(), "staging").frequency.deployments, 1);
}

TEST_F(DeliveryFixture, LeadTimeCountsEachCommitAtItsFirstProductionDeployment) {
    ASSERT_TRUE(service_.Record(FixtureEvents()).ok());
    LeadTime l = service_.Figures(TenDays(), "production").lead_time;
    // b1 7200, b2 86400, c1 3600, d1 86400, d2 1800, d3 259200, e1 600 (a1 shipped before).
    // Sorted: 600 1800 3600 7200 86400 86400 259200; p50 = 4th, p95 = ceil(6.65) = 7th.
    EXPECT_EQ(l.commits, 7);
    EXPECT_EQ(l.deployments, 4);
    EXPECT_EQ(l.p50_seconds, 7200);
    EXPECT_EQ(l.p95_seconds, 259200);
}

TEST_F(DeliveryFixture, ChangeFailureRateCountsDeploymentsNotIncidents) {
    ASSERT_TRUE(service_.Record(FixtureEvents()).ok());
    ChangeFailure cf = service_.Figures(TenDays(), "production").change_failure;
    // dep-2 failed and has inc-1 (counted once); dep-3 has two incidents (counted once); dep-4 has
    // one; dep-1 none: 3 of 4.
    EXPECT_EQ(cf.deployments, 4);
    EXPECT_EQ(cf.failed, 3);
    EXPECT_EQ(cf.failed_by_result, 1);
    EXPECT_EQ(cf.with_incidents, 3);
    EXPECT_DOUBLE_EQ(cf.rate.value(), 0.75);
}

TEST_F(DeliveryFixture, TimeToRestoreOverIncidentsResolvedInThePeriod) {
    ASSERT_TRUE(service_.Record(FixtureEvents()).ok());
    TimeToRestore r = service_.Figures(TenDays(), "production").restore;
    // inc-1 5400, inc-2 1200, inc-3 10800, inc-5 93600: sorted 1200 5400 10800 93600;
    // p50 = 2nd, p95 = ceil(3.8) = 4th. inc-4 is still open.
    EXPECT_EQ(r.resolved, 4);
    EXPECT_EQ(r.open, 1);
    EXPECT_EQ(r.p50_seconds, 5400);
    EXPECT_EQ(r.p95_seconds, 93600);
}

TEST_F(DeliveryFixture, StageDurationsAndSuccessRate) {
    ASSERT_TRUE(service_.Record(FixtureEvents()).ok());
    Summary s = service_.Figures(TenDays(), "production");
    ASSERT_EQ(s.stages.size(), 2U);
    const StageFigure& build = s.stages[0];
    // build: 100 120 80 30 140 s -> sorted 30 80 100 120 140; p50 = 3rd, p95 = 5th; before: 200.
    EXPECT_EQ(build.name, "build");
    EXPECT_EQ(build.runs, 5);
    EXPECT_EQ(build.p50_ms, 100'000);
    EXPECT_EQ(build.p95_ms, 140'000);
    EXPECT_EQ(build.previous_p50_ms, 200'000);
    EXPECT_EQ(build.previous_runs, 1);
    // Daily p50: 11-02 100; 11-03 of 80 and 120 the 1st; 11-05 30; 11-08 140.
    ASSERT_EQ(build.trend.size(), 4U);
    EXPECT_EQ(build.trend[0].day, T("2026-11-02T00:00:00Z"));
    EXPECT_EQ(build.trend[1].value, 80'000);
    EXPECT_EQ(build.trend[3].value, 140'000);
    const StageFigure& test = s.stages[1];
    // test: 50 70 60 90 -> 50 60 70 90; p50 = 2nd, p95 = 4th; one failed.
    EXPECT_EQ(test.runs, 4);
    EXPECT_EQ(test.failed, 1);
    EXPECT_EQ(test.p50_ms, 60'000);
    EXPECT_EQ(test.p95_ms, 90'000);
    EXPECT_EQ(test.previous_p50_ms, 40'000);
    // Runs r1 r3 r6 succeeded, r2 failed (a failed stage), r4 was cancelled: 3 of 5.
    EXPECT_EQ(s.success.finished, 5);
    EXPECT_EQ(s.success.succeeded, 3);
    EXPECT_EQ(s.success.failed, 1);
    EXPECT_EQ(s.success.cancelled, 1);
    EXPECT_DOUBLE_EQ(s.success.rate.value(), 0.6);
}

TEST_F(DeliveryFixture, FlakyMeansPassedAndFailedOnTheSameCommitWithinFourteenDays) {
    ASSERT_TRUE(service_.Record(FixtureEvents()).ok());
    Flakiness f = service_.Figures(TenDays(), "production").flaky;
    EXPECT_EQ(f.window_from, T("2026-10-28T00:00:00Z"));
    // Orders.Stock failed twice on ca (broken, not flaky); Cart.Skip skipped and passed; the
    // storefront flip on c0 is older than the window. storefront flipped on cd and ce, test_checkout on ca.
    EXPECT_EQ(f.tests_seen, 4);
    EXPECT_EQ(f.total, 2);
    ASSERT_EQ(f.items.size(), 2U);
    EXPECT_EQ(f.items[0].name, "storefront");
    EXPECT_EQ(f.items[0].commits, 2);
    EXPECT_EQ(f.items[0].passed, 3);
    EXPECT_EQ(f.items[0].failed, 2);
    EXPECT_EQ(f.items[0].last_seen, T("2026-11-10T10:00:00Z"));
    EXPECT_EQ(f.items[1].suite, "api");
    EXPECT_EQ(f.items[1].name, "test_checkout");
    EXPECT_EQ(f.items[1].commits, 1);
    EXPECT_EQ(f.items[1].passed, 1);
    EXPECT_EQ(f.items[1].failed, 1);
}

TEST_F(DeliveryFixture, RecordingTheSameEventsAgainUpdatesAndNeverDuplicates) {
    Result<std::vector<Recorded>> first = service_.Record(FixtureEvents());
    ASSERT_TRUE(first.ok());
    for (const Recorded& r : *first) EXPECT_TRUE(r.created) << r.type << " " << r.id;
    const char* tables[] = {"delivery_runs",         "delivery_stages",      "delivery_test_batches",
                            "delivery_test_results", "delivery_deployments", "delivery_deployment_commits",
                            "delivery_incidents"};
    std::vector<std::int64_t> before;
    for (const char* t : tables) before.push_back(Rows(t));
    EXPECT_EQ(before, (std::vector<std::int64_t>{6, 11, 7, 16, 7, 11, 5}));

    Result<std::vector<Recorded>> again = service_.Record(FixtureEvents());
    ASSERT_TRUE(again.ok());
    for (const Recorded& r : *again) EXPECT_FALSE(r.created) << r.type << " " << r.id;
    std::vector<std::int64_t> after;
    for (const char* t : tables) after.push_back(Rows(t));
    EXPECT_EQ(after, before);

    // A changed event replaces what was recorded under its id.
    StageEvent slower = Stage("r6", "2026-11-08T09:00:00Z", "build", 400);
    DeploymentEvent fewer = Deploy("dep-3", "2026-11-06T12:00:00Z", {{"d2d2", T("2026-11-06T11:30:00Z")}});
    ASSERT_TRUE(service_.Record({slower, fewer}).ok());
    EXPECT_EQ(Rows("delivery_stages"), 11);
    EXPECT_EQ(Rows("delivery_deployment_commits"), 9);
    Summary s = service_.Figures(TenDays(), "production");
    EXPECT_EQ(s.stages[0].p95_ms, 400'000);
    EXPECT_EQ(s.lead_time.commits, 5);  // d1 and d3 are no longer shipped
}

TEST_F(DeliveryFixture, AnEventThatCannotBeRecordedRecordsNothing) {
    StageEvent orphan = Stage("unknown-run", "2026-11-02T09:00:00Z", "build", 10);
    orphan.commit.clear();
    IncidentEvent bad_link = Trouble("inc-x", "2026-11-02T09:00:00Z", std::nullopt);
    bad_link.deployment_id = "no-such-deployment";
    Result<std::vector<Recorded>> r = service_.Record({Deploy("dep-ok", "2026-11-01T12:00:00Z", {}), orphan});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().fields.at(0).field, "events[1].commit");
    EXPECT_FALSE(service_.Record({bad_link}).ok());
    EXPECT_EQ(Rows("delivery_deployments"), 0);
    EXPECT_EQ(Rows("delivery_incidents"), 0);
}

TEST_F(DeliveryFixture, IncidentsLinkToTheLastDeploymentAndCanBeCorrectedByHand) {
    ASSERT_TRUE(service_.Record(FixtureEvents()).ok());
    auto find = [&](std::string_view external) {
        for (const Incident& i : service_.Incidents(TenDays(), "production")) {
            if (i.external_id == external) return i;
        }
        throw std::runtime_error("no incident " + std::string(external));
    };
    auto deployment_id = [&](std::string_view external) {
        for (const Deployment& d : service_.Deployments(TenDays(), "production")) {
            if (d.external_id == external) return d.id;
        }
        throw std::runtime_error("no deployment " + std::string(external));
    };
    EXPECT_EQ(find("inc-1").deployment_external_id, "dep-2");
    EXPECT_EQ(find("inc-1").link, "auto");
    EXPECT_EQ(find("inc-5").deployment_id, std::nullopt);

    // Blame dep-1 instead: it now counts as failed too, 4 of 4.
    Result<Incident> moved = service_.LinkIncident(find("inc-1").id, deployment_id("dep-1"), false);
    ASSERT_TRUE(moved.ok());
    EXPECT_EQ(moved->deployment_external_id, "dep-1");
    EXPECT_EQ(moved->link, "manual");
    EXPECT_EQ(service_.Figures(TenDays(), "production").change_failure.failed, 4);
    // Sending the incident again (from a pager, without a deployment) keeps the correction.
    ASSERT_TRUE(service_.Record({Trouble("inc-1", "2026-11-04T14:00:00Z", "2026-11-04T15:30:00Z")}).ok());
    EXPECT_EQ(find("inc-1").deployment_external_id, "dep-1");
    // Back to the automatic link.
    ASSERT_TRUE(service_.LinkIncident(find("inc-1").id, std::nullopt, true).ok());
    EXPECT_EQ(find("inc-1").deployment_external_id, "dep-2");
    // Linked to none: dep-3's two incidents remain, dep-3 still failed once.
    ASSERT_TRUE(service_.LinkIncident(find("inc-2").id, std::nullopt, false).ok());
    EXPECT_EQ(find("inc-2").deployment_id, std::nullopt);
    EXPECT_EQ(service_.Figures(TenDays(), "production").change_failure.failed, 3);
    EXPECT_EQ(service_.LinkIncident(99999, std::nullopt, false).error().kind, ErrorKind::kNotFound);
    EXPECT_EQ(service_.LinkIncident(find("inc-3").id, 99999, false).error().kind, ErrorKind::kValidation);
}

TEST_F(DeliveryFixture, ADeploymentRecordedLateTakesOverTheIncidentsAfterIt) {
    ASSERT_TRUE(service_
                    .Record({Deploy("early", "2026-11-02T12:00:00Z", {}),
                             Trouble("late-inc", "2026-11-05T12:00:00Z", std::nullopt)})
                    .ok());
    ASSERT_TRUE(service_.Record({Deploy("late", "2026-11-04T12:00:00Z", {})}).ok());
    EXPECT_EQ(service_.Incidents(TenDays(), "").at(0).deployment_external_id, "late");
}

TEST_F(DeliveryFixture, AlertsOpenAndCloseIncidents) {
    ASSERT_TRUE(service_.Record({Deploy("dep-a", "2026-11-02T12:00:00Z", {})}).ok());
    const std::int64_t since = T("2026-11-03T08:00:00Z");
    service_.OnAlert({"high_error_ratio", "5xx share", false, since, since + 30});
    service_.OnAlert({"high_error_ratio", "5xx share", false, since, since + 1800});  // a repeat
    std::vector<Incident> open = service_.Incidents(TenDays(), "");
    ASSERT_EQ(open.size(), 1U);
    EXPECT_EQ(open[0].source, "alert");
    EXPECT_EQ(open[0].external_id, "alert:high_error_ratio:" + std::to_string(since));
    EXPECT_EQ(open[0].opened_at, since);
    EXPECT_FALSE(open[0].resolved_at.has_value());
    EXPECT_EQ(open[0].deployment_external_id, "dep-a");
    service_.OnAlert({"high_error_ratio", "5xx share", true, since, since + 2400});
    std::optional<Incident> closed = service_.IncidentById(open[0].id);
    ASSERT_TRUE(closed.has_value());
    EXPECT_EQ(closed->resolved_at, since + 2400);
    EXPECT_EQ(service_.Figures(TenDays(), "production").restore.p50_seconds, 2400);
}

TEST_F(DeliveryFixture, CsvExportsHoldTheRecordsBehindTheFigures) {
    ASSERT_TRUE(service_.Record(FixtureEvents()).ok());
    ASSERT_TRUE(service_.Record({Deploy("=cmd|' /C calc'!A0", "2026-11-07T12:00:00Z", {})}).ok());
    std::string csv = service_.ExportCsv("deployments", TenDays(), "production").value();
    EXPECT_EQ(csv.substr(0, csv.find("\r\n")),
              "id,deployment,environment,deployed_at,result,commits,lead_time_p50_seconds,incidents,change_failed");
    EXPECT_NE(csv.find(",dep-2,production,2026-11-04T12:00:00Z,failed,1,3600,1,yes\r\n"), std::string::npos);
    EXPECT_NE(csv.find(",'=cmd|' /C calc'!A0,production,"), std::string::npos);
    std::size_t lines = 0;
    for (std::size_t at = csv.find("\r\n"); at != std::string::npos; at = csv.find("\r\n", at + 2)) ++lines;
    EXPECT_EQ(lines, 6U);  // header and five deployments
    EXPECT_NE(service_.ExportCsv("incidents", TenDays(), "production")->find("inc-4"), std::string::npos);
    EXPECT_NE(service_.ExportCsv("stages", TenDays(), "production")->find("r2,ci,aaaa1111,test,"), std::string::npos);
    EXPECT_NE(service_.ExportCsv("flaky", TenDays(), "production")->find("e2e,storefront,2,3,2,"), std::string::npos);
    EXPECT_FALSE(service_.ExportCsv("passwords", TenDays(), "production").has_value());
}

}  // namespace
}  // namespace emporium::delivery
