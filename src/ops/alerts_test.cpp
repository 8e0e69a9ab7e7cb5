#include "ops/alerts.h"

#include <gtest/gtest.h>

namespace emporium::ops {
namespace {

using std::chrono::seconds;

TEST(RouteGroupTest, NamesTheGroupOfEachRoute) {
    EXPECT_EQ(RouteGroup("/api/products/{id}"), "catalog");
    EXPECT_EQ(RouteGroup("/api/checkout"), "orders");
    EXPECT_EQ(RouteGroup("/api/seller/orders/{id}/ship"), "orders");
    EXPECT_EQ(RouteGroup("/api/auth/login"), "accounts");
    EXPECT_EQ(RouteGroup("/api/admin/users"), "admin");
    EXPECT_EQ(RouteGroup("static"), "web");
    EXPECT_EQ(RouteGroup(""), "other");
}

TEST(RequestWindowTest, CountsErrorsAndP99OverTheWindowOnly) {
    ManualClock clock{std::chrono::system_clock::from_time_t(1'800'000'000)};
    RequestWindow window(clock);
    for (int i = 0; i < 90; ++i) window.Record("/api/products", 200, 0.002);
    for (int i = 0; i < 10; ++i) window.Record("/api/products", 500, 0.9);
    RequestWindow::Figures f = window.Totals(seconds(60));
    EXPECT_EQ(f.requests, 100);
    EXPECT_EQ(f.errors, 10);
    EXPECT_DOUBLE_EQ(f.ErrorRatio(), 0.1);
    std::optional<double> p99 = window.P99("catalog", seconds(60), 20);
    ASSERT_TRUE(p99.has_value());
    EXPECT_GE(*p99, 0.9);
    EXPECT_LT(*p99, 2.0);
    EXPECT_FALSE(window.P99("orders", seconds(60), 20).has_value()) << "no orders requests";
    EXPECT_FALSE(window.P99("catalog", seconds(60), 1000).has_value()) << "too few to say";

    clock.Advance(seconds(61));
    EXPECT_EQ(window.Totals(seconds(60)).requests, 0) << "the old second left the window";
    window.Record("/api/products", 200, 0.001);
    EXPECT_EQ(window.Totals(seconds(60)).requests, 1);
    EXPECT_EQ(window.Totals(seconds(120)).requests, 101);
}

class AlerterTest : public ::testing::Test {
protected:
    Alerter Make(seconds hold, seconds repeat = seconds(600)) {
        AlertRule rule{"high_error_ratio", "the 5xx share", [this] { return value_; }, 0.05, false, hold, "%"};
        return Alerter(
            {rule}, [this](const AlertNotice& n) { notices_.push_back(n); }, clock_, MakeLogger("off"),
            AlerterOptions{seconds(5), repeat});
    }
    ManualClock clock_{std::chrono::system_clock::from_time_t(1'800'000'000)};
    std::optional<double> value_ = 0.0;
    std::vector<AlertNotice> notices_;
};

TEST_F(AlerterTest, FiresAfterTheHoldOnceThenRepeatsAndResolves) {
    Alerter alerter = Make(seconds(30));
    alerter.Evaluate();
    EXPECT_TRUE(notices_.empty());
    value_ = 0.2;
    alerter.Evaluate();
    EXPECT_EQ(alerter.Status()[0].state, AlertState::kPending);
    clock_.Advance(seconds(29));
    alerter.Evaluate();
    EXPECT_TRUE(notices_.empty()) << "still within the hold";
    clock_.Advance(seconds(1));
    alerter.Evaluate();
    ASSERT_EQ(notices_.size(), 1U);
    EXPECT_EQ(notices_[0].kind, AlertNotice::Kind::kFiring);
    EXPECT_EQ(notices_[0].since, 1'800'000'000);
    EXPECT_NE(notices_[0].Text("Git Goods").find("FIRING high_error_ratio: the 5xx share is 20.0% (threshold 5.0%)"),
              std::string::npos)
        << notices_[0].Text("Git Goods");
    clock_.Advance(seconds(5));
    alerter.Evaluate();
    EXPECT_EQ(notices_.size(), 1U) << "fires once, not at every check";
    clock_.Advance(seconds(600));
    alerter.Evaluate();
    ASSERT_EQ(notices_.size(), 2U);
    EXPECT_EQ(notices_[1].kind, AlertNotice::Kind::kRepeat);
    value_ = 0.01;
    alerter.Evaluate();
    ASSERT_EQ(notices_.size(), 3U);
    EXPECT_EQ(notices_[2].kind, AlertNotice::Kind::kResolved);
    EXPECT_EQ(alerter.Status()[0].state, AlertState::kOk);
}

TEST_F(AlerterTest, ABlipShorterThanTheHoldSaysNothingAndNoDataKeepsTheState) {
    Alerter alerter = Make(seconds(30));
    value_ = 0.5;
    alerter.Evaluate();
    clock_.Advance(seconds(10));
    value_ = 0.0;
    alerter.Evaluate();
    clock_.Advance(seconds(60));
    alerter.Evaluate();
    EXPECT_TRUE(notices_.empty());
    value_ = std::nullopt;
    alerter.Evaluate();
    EXPECT_EQ(alerter.Status()[0].state, AlertState::kOk);
    EXPECT_FALSE(alerter.Status()[0].value.has_value());
}

TEST_F(AlerterTest, ZeroHoldFiresAtTheFirstBreach) {
    Alerter alerter = Make(seconds(0));
    value_ = 1.0;
    alerter.Evaluate();
    ASSERT_EQ(notices_.size(), 1U);
    EXPECT_EQ(notices_[0].kind, AlertNotice::Kind::kFiring);
}

TEST_F(AlerterTest, ObserversHearEveryNoticeAfterTheSinkEvenWhenOneThrows) {
    Alerter alerter = Make(seconds(0));
    std::vector<std::string> heard;
    alerter.Observe([](const AlertNotice&) { throw std::runtime_error("the incident log is down"); });
    alerter.Observe([&](const AlertNotice& n) {
        heard.push_back(std::to_string(notices_.size()) +
                        (n.kind == AlertNotice::Kind::kResolved ? " resolved" : " firing") + " since " +
                        std::to_string(n.since));
    });
    value_ = 1.0;
    alerter.Evaluate();
    clock_.Advance(seconds(5));
    value_ = 0.0;
    alerter.Evaluate();
    // The sink had already taken each notice when the observer heard it; both carry the breach's start.
    EXPECT_EQ(heard, (std::vector<std::string>{"1 firing since 1800000000", "2 resolved since 1800000000"}));
}

}  // namespace
}  // namespace emporium::ops
