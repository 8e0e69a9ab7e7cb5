#include "redis/shared_limiter.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "redis/testing.h"

namespace emporium::redis {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Logger Quiet() {
    return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

// A node's Redis client, up.
struct LimiterNode {
    explicit LimiterNode(const TestServer& server) : client(server.parsed(), TestOptions(), Quiet()) {
        client.Start();
        EXPECT_TRUE(WaitFor([this] { return client.commands_up(); }));
    }
    Client client;
};

TEST(RedisBuckets, RefillDebtFloorAndExpiryFollowTheTokenBucket) {
    TestServer server;
    LimiterNode node(server);
    const std::vector<std::string> key = {"bucket"};
    auto debit = [&](std::int64_t now_ms, int count) {
        std::optional<std::vector<double>> left = DebitBuckets(node.client, 2.0, 3.0, now_ms, key, {count});
        EXPECT_TRUE(left);
        return left ? left->at(0) : -99.0;
    };
    const std::int64_t t0 = 1'800'000'000'000;
    EXPECT_DOUBLE_EQ(debit(t0, 1), 2.0);  // a new bucket is full: 3 - 1
    EXPECT_DOUBLE_EQ(debit(t0, 1), 1.0);
    EXPECT_DOUBLE_EQ(debit(t0, 2), -1.0);            // into debt
    EXPECT_DOUBLE_EQ(debit(t0 + 1000, 1), 0.0);      // one second refills two tokens
    EXPECT_DOUBLE_EQ(debit(t0 + 1250, 0), 0.5);      // a quarter second, half a token
    EXPECT_DOUBLE_EQ(debit(t0 + 900, 0), 0.5);       // a clock behind the last update adds nothing
    EXPECT_DOUBLE_EQ(debit(t0 + 60'000, 0), 3.0);    // never above the burst
    EXPECT_DOUBLE_EQ(debit(t0 + 60'000, 50), -3.0);  // debt stops at minus one burst

    // The key lives until the bucket would be full again, plus a second: (3 - -3) / 2 s + 1 s.
    const long long ttl = node.client.Command({"PTTL", "bucket"}).reply.integer;
    EXPECT_GT(ttl, 3000);
    EXPECT_LE(ttl, 4000);
}

TEST(RedisBuckets, ManyBucketsInOneCall) {
    TestServer server;
    LimiterNode node(server);
    std::optional<std::vector<double>> left =
        DebitBuckets(node.client, 1.0, 10.0, 1'800'000'000'000, {"a", "b", "c"}, {1, 4, 10});
    ASSERT_TRUE(left);
    EXPECT_EQ(*left, (std::vector<double>{9.0, 6.0, 0.0}));
}

TEST(SharedRateLimiter, TwoNodesShareOneBudget) {
    TestServer server;
    ManualClock clock(std::chrono::system_clock::time_point(seconds(1'800'000'000)));
    LimiterNode a_node(server), b_node(server);
    const SharedRateLimiter::Settings settings{"requests", 1.0, 5.0, RateLimiter::Keys::kClientAddress};
    SharedRateLimiter a(a_node.client, clock, settings), b(b_node.client, clock, settings);
    int admitted = 0;
    for (int i = 0; i < 20; ++i) {
        SharedRateLimiter& node = i % 2 == 0 ? a : b;
        if (node.Take("203.0.113.9") == 0) ++admitted;
        node.Flush();  // the report is answered before the next request, as when requests take a while
    }
    // One budget, plus the one request the other node admits before its own report tells it; each
    // node alone would have admitted five (ten in all).
    EXPECT_GE(admitted, 5);
    EXPECT_LE(admitted, 6);
    EXPECT_GT(a.refused_shared() + b.refused_shared(), 0u);
    EXPECT_EQ(a.local_only() + b.local_only(), 0u);

    // Both nodes refuse until the shared bucket holds a token again, and say how long.
    EXPECT_GE(a.Take("203.0.113.9"), 1);
    EXPECT_GE(b.Take("203.0.113.9"), 1);
    clock.Advance(seconds(3));
    EXPECT_EQ(a.Take("203.0.113.9"), 0);
    EXPECT_EQ(b.Take("198.51.100.1"), 0);  // another client has its own budget
}

TEST(SharedRateLimiter, TakesFromManyThreadsAreAllReported) {
    TestServer server;
    ManualClock clock(std::chrono::system_clock::time_point(seconds(1'800'000'000)));
    LimiterNode node(server);
    SharedRateLimiter limiter(node.client, clock, {"signin_account", 0.001, 1000.0, RateLimiter::Keys::kText});
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Take("someone@example.com"), 0);
        });
    }
    for (auto& t : threads) t.join();
    limiter.Flush();
    const std::vector<std::string> key = {limiter.BucketKey("someone@example.com")};
    const auto now_ms = std::chrono::duration_cast<milliseconds>(clock.Now().time_since_epoch()).count();
    std::optional<std::vector<double>> left = DebitBuckets(node.client, 0.001, 1000.0, now_ms, key, {0});
    ASSERT_TRUE(left);
    EXPECT_DOUBLE_EQ(left->at(0), 600.0);  // 400 taken in batches, none lost
    EXPECT_EQ(limiter.reported(), 400u);
}

TEST(SharedRateLimiter, FallsBackToTheNodesOwnBucketWhileRedisIsDownAndRecovers) {
    TestServer server;
    ManualClock clock(std::chrono::system_clock::time_point(seconds(1'800'000'000)));
    LimiterNode node(server);
    SharedRateLimiter limiter(node.client, clock, {"requests", 0.001, 3.0, RateLimiter::Keys::kClientAddress});
    server.Kill();
    int admitted = 0;
    for (int i = 0; i < 10; ++i) {
        if (limiter.Take("192.0.2.7") == 0) ++admitted;
        limiter.Flush();
    }
    EXPECT_EQ(admitted, 3);  // the node's own budget: not closed, not unlimited
    EXPECT_EQ(limiter.local_only(), 3u);

    server.Restart();
    ASSERT_TRUE(WaitFor([&] { return node.client.commands_up(); }));
    EXPECT_EQ(limiter.Take("192.0.2.8"), 0);
    limiter.Flush();
    EXPECT_EQ(limiter.local_only(), 3u);  // reported again
    const std::string bucket = limiter.BucketKey("192.0.2.8");
    EXPECT_EQ(node.client.Command({"EXISTS", bucket}).reply.integer, 1);
    EXPECT_GT(node.client.Command({"PTTL", bucket}).reply.integer, 0);  // nothing kept for ever
}

TEST(SharedRateLimiter, KeysAreFixedLengthHashesThatHideTheClient) {
    TestServer server;
    ManualClock clock;
    LimiterNode node(server);
    SharedRateLimiter by_email(node.client, clock, {"signin_account", 1, 5, RateLimiter::Keys::kText});
    SharedRateLimiter by_address(node.client, clock, {"requests", 1, 5, RateLimiter::Keys::kClientAddress});
    const std::string key = by_email.BucketKey("alice@example.com");
    EXPECT_EQ(key.find("alice"), std::string::npos);
    EXPECT_EQ(key.size(), by_email.BucketKey(std::string(5000, 'x')).size());
    EXPECT_TRUE(key.starts_with("emporium:rl:signin_account:"));
    // One IPv6 subscriber network is one client, as for the node's own limiter.
    EXPECT_EQ(by_address.BucketKey("2001:db8:1:2:aaaa::1"), by_address.BucketKey("2001:db8:1:2:bbbb::2"));
    EXPECT_NE(by_address.BucketKey("2001:db8:1:2::1"), by_address.BucketKey("2001:db8:1:3::1"));
}

TEST(SharedRateLimiter, OffWhenTheRateIsZero) {
    TestServer server;
    ManualClock clock;
    LimiterNode node(server);
    SharedRateLimiter limiter(node.client, clock, {"requests", 0, 1, RateLimiter::Keys::kClientAddress});
    for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.Take("192.0.2.1"), 0);
    limiter.Flush();
    EXPECT_EQ(node.client.Command({"DBSIZE"}).reply.integer, 0);
}

}  // namespace
}  // namespace emporium::redis
