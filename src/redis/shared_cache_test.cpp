#include "redis/shared_cache.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "redis/testing.h"

namespace emporium::redis {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// One node of the shop as far as caching goes: its first level in front of the shared one.
struct CacheNode {
    explicit CacheNode(const TestServer& server, const Clock& clock)
        : client(server.parsed(), TestOptions(),
                 std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>())),
          first(clock, seconds(300), {}),
          shared(client, first, seconds(300)) {
        client.Start();
        EXPECT_TRUE(WaitFor([this] { return shared.subscribed(); }));
    }
    // The client's thread calls into shared: it stops before shared goes.
    ~CacheNode() { client.Stop(); }
    CacheNode(const CacheNode&) = delete;
    CacheNode& operator=(const CacheNode&) = delete;

    // A read through both levels, as the catalog's routes do; compute stands for the database.
    std::string Read(const std::string& key, const std::string& computed) {
        ReadCache::Lookup local = first.Get(key);
        if (local.value) return local.value->text();
        SharedCacheLevel::Lookup remote = shared.Get(key);
        if (remote.value) {
            first.Put(key, *remote.value, local.ticket);
            return *remote.value;
        }
        shared.Put(key, computed, remote.stamp);
        first.Put(key, computed, local.ticket);
        return computed;
    }

    // A change committed on this node: the shared level first, then its own first level.
    void Change() {
        shared.InvalidateAll();
        first.InvalidateAll();
    }

    Client client;
    ReadCache first;
    SharedCache shared;
};

TEST(SharedCache, NodesShareEntriesAndAChangeThroughOneReachesTheOtherWithinASecond) {
    TestServer server;
    SystemClock clock;
    CacheNode a(server, clock), b(server, clock);
    EXPECT_EQ(b.Read("product\x1e"
                     "1",
                     "v1"),
              "v1");  // computed by b, stored in both levels
    EXPECT_EQ(a.Read("product\x1e"
                     "1",
                     "not computed"),
              "v1");  // a's first level is empty: Redis has it
    EXPECT_EQ(a.shared.hits(), 1u);
    EXPECT_EQ(b.shared.misses(), 1u);
    EXPECT_TRUE(b.first
                    .Get("product\x1e"
                         "1")
                    .value);

    a.Change();
    // Within one second, b drops its first-level entry (the announcement) and the shared level
    // answers nothing for the old generation.
    EXPECT_TRUE(WaitFor(
        [&] {
            return !b.first
                        .Get(
                            "product\x1e"
                            "1")
                        .value;
        },
        seconds(1)));
    EXPECT_EQ(b.shared.heard(), 1u);
    EXPECT_FALSE(b.shared
                     .Get("product\x1e"
                          "1")
                     .value);
    EXPECT_EQ(b.Read("product\x1e"
                     "1",
                     "v2"),
              "v2");
    EXPECT_EQ(a.Read("product\x1e"
                     "1",
                     "not computed"),
              "v2");
}

TEST(SharedCache, AValueComputedBeforeAChangeIsNotStored) {
    TestServer server;
    SystemClock clock;
    CacheNode a(server, clock), b(server, clock);
    SharedCacheLevel::Lookup before = b.shared.Get(
        "list\x1e"
        "page=1");  // b starts reading...
    ASSERT_FALSE(before.stamp.empty());
    a.Change();  // ...a change commits...
    b.shared.Put(
        "list\x1e"
        "page=1",
        "stale", before.stamp);  // ...b's answer is refused.
    EXPECT_FALSE(a.shared
                     .Get("list\x1e"
                          "page=1")
                     .value);
    EXPECT_FALSE(b.shared
                     .Get("list\x1e"
                          "page=1")
                     .value);
}

TEST(SharedCache, ANodeThatLostItsSubscriptionKeepsEntriesOneSecondAndDropsThemWhenBack) {
    TestServer server;
    ManualClock clock;
    CacheNode node(server, clock);
    EXPECT_EQ(node.Read("k", "v"), "v");
    server.Kill();
    ASSERT_TRUE(WaitFor([&] { return !node.shared.subscribed(); }));
    EXPECT_FALSE(node.first.Get("k").value);  // dropped: announcements may be missed from now on
    EXPECT_EQ(node.Read("k", "from the database"), "from the database");  // fails open
    EXPECT_TRUE(node.first.Get("k").value);
    clock.Advance(SharedCache::kUnsubscribedTtl);
    EXPECT_FALSE(node.first.Get("k").value);  // one second, not the cache TTL

    EXPECT_EQ(node.Read("k", "again from the database"), "again from the database");
    server.Restart();
    ASSERT_TRUE(WaitFor([&] { return node.shared.subscribed(); }));
    EXPECT_FALSE(node.first.Get("k").value);  // whatever was kept in between is dropped
    EXPECT_EQ(node.Read("k", "v3"), "v3");
    clock.Advance(seconds(299));
    ASSERT_TRUE(node.first.Get("k").value);
    EXPECT_EQ(node.first.Get("k").value->text(), "v3");  // the full TTL again
}

TEST(SharedCache, AChangeMadeWhileRedisWasDownIsAnnouncedWhenItIsBack) {
    TestServer server;
    SystemClock clock;
    CacheNode node(server, clock);
    server.Kill();
    node.Change();
    EXPECT_EQ(node.shared.unannounced(), 1u);
    server.Restart();
    ASSERT_TRUE(WaitFor([&] { return node.shared.unannounced() == 0; }));
    EXPECT_EQ(node.client.Command({"GET", "emporium:cache:generation"}).reply.text, "1");
}

TEST(SharedCache, EntriesOfARestoredSnapshotAreNotServed) {
    TestServer server;
    SystemClock clock;
    CacheNode a(server, clock), b(server, clock);
    EXPECT_EQ(b.Read("product\x1e"
                     "7",
                     "old"),
              "old");
    ASSERT_TRUE(b.client.Command({"SAVE"}).ok());  // a snapshot holding "old"...
    a.Change();                                    // ...then a change...
    server.Kill();
    ASSERT_TRUE(WaitFor([&] { return !b.shared.subscribed() && !a.shared.subscribed(); }));
    server.Restart();  // ...and the server comes back from that snapshot.
    ASSERT_TRUE(WaitFor([&] { return b.shared.subscribed() && a.shared.subscribed(); }));
    SharedCacheLevel::Lookup after = b.shared.Get(
        "product\x1e"
        "7");
    EXPECT_FALSE(after.stamp.empty());
    EXPECT_FALSE(after.value) << *after.value;
}

}  // namespace
}  // namespace emporium::redis
