#include "ops/failover.h"

#include <gtest/gtest.h>

#include <atomic>

namespace emporium::ops {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(PromotionRule, FiresOnceAfterTheWholeFailingStretchAndAPassStartsAgain) {
    PromotionRule rule(seconds(10));
    const auto t0 = std::chrono::steady_clock::time_point{} + seconds(1000);
    EXPECT_FALSE(rule.Observe(true, t0));
    EXPECT_FALSE(rule.Observe(false, t0 + seconds(1)));
    EXPECT_FALSE(rule.Observe(false, t0 + milliseconds(9999)));  // 9.999 s since the last pass
    EXPECT_TRUE(rule.Observe(false, t0 + seconds(10)));
    EXPECT_FALSE(rule.Observe(false, t0 + seconds(30)));  // once
    // A pass in between starts the count again: a blip never adds up across passes.
    EXPECT_FALSE(rule.Observe(true, t0 + seconds(31)));
    EXPECT_FALSE(rule.Observe(false, t0 + seconds(35)));
    EXPECT_FALSE(rule.Observe(true, t0 + seconds(40)));
    EXPECT_FALSE(rule.Observe(false, t0 + seconds(49)));
    EXPECT_TRUE(rule.Observe(false, t0 + seconds(50)));
}

TEST(PromotionRule, APrimaryNeverSeenCountsFromTheFirstCheck) {
    PromotionRule rule(seconds(5));
    const auto t0 = std::chrono::steady_clock::time_point{} + seconds(1000);
    EXPECT_FALSE(rule.Observe(false, t0));
    EXPECT_FALSE(rule.Observe(false, t0 + seconds(4)));
    EXPECT_TRUE(rule.Observe(false, t0 + seconds(5)));
}

TEST(PeerRole, ParsesRoleAnswersAndRefusesOthers) {
    std::optional<PeerRole> role = ParsePeerRole(R"({"role":"primary","term":3,"applied_backup":""})");
    ASSERT_TRUE(role);
    EXPECT_EQ(role->role, "primary");
    EXPECT_EQ(role->term, 3);
    EXPECT_FALSE(ParsePeerRole("<html>"));
    EXPECT_FALSE(ParsePeerRole(R"({"role":"primary"})"));
    EXPECT_FALSE(ParsePeerRole(R"({"role":1,"term":2})"));
    EXPECT_FALSE(ParsePeerRole(R"([1,2])"));
}

TEST(PeerRole, OnlyAPrimaryInALaterTermSupersedes) {
    EXPECT_TRUE(Superseded(1, {"primary", 2}));
    EXPECT_FALSE(Superseded(2, {"primary", 2}));  // itself, or a twin: never fence on a tie
    EXPECT_FALSE(Superseded(1, {"standby", 5}));
    EXPECT_FALSE(Superseded(1, {"fenced", 5}));
}

TEST(Watch, ChecksUntilStopped) {
    std::atomic<int> forever{0};
    Watch watch(milliseconds(1), [&forever] {
        ++forever;
        return true;
    });
    watch.Start();
    while (forever.load() < 5) std::this_thread::yield();
    watch.Stop();
    const int stopped_at = forever.load();
    EXPECT_GE(stopped_at, 5);
    EXPECT_EQ(forever.load(), stopped_at);  // nothing runs after Stop returned
}

}  // namespace
}  // namespace emporium::ops
