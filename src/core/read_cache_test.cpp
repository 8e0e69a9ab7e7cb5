#include "core/read_cache.h"

#include <gtest/gtest.h>

namespace emporium {
namespace {

using std::chrono::seconds;

TEST(ReadCache, MissThenHit) {
    ManualClock clock;
    ReadCache cache(clock, seconds(300), 10);
    auto miss = cache.Get("k");
    EXPECT_FALSE(miss.value);
    cache.Put("k", "v", miss.ticket);
    auto hit = cache.Get("k");
    ASSERT_TRUE(hit.value);
    EXPECT_EQ(*hit.value, "v");
    EXPECT_EQ(cache.hits(), 1u);
    EXPECT_EQ(cache.misses(), 1u);
}

TEST(ReadCache, ExpiresAfterTtl) {
    ManualClock clock;
    ReadCache cache(clock, seconds(300), 10);
    cache.Put("k", "v", cache.Get("k").ticket);
    clock.Advance(seconds(299));
    EXPECT_TRUE(cache.Get("k").value);
    clock.Advance(seconds(1));
    EXPECT_FALSE(cache.Get("k").value);
}

TEST(ReadCache, EvictsLeastRecentlyUsed) {
    ManualClock clock;
    ReadCache cache(clock, seconds(300), 2);
    cache.Put("a", "1", cache.Get("a").ticket);
    cache.Put("b", "2", cache.Get("b").ticket);
    EXPECT_TRUE(cache.Get("a").value);  // a is now the most recent
    cache.Put("c", "3", cache.Get("c").ticket);
    EXPECT_TRUE(cache.Get("a").value);
    EXPECT_FALSE(cache.Get("b").value);
    EXPECT_TRUE(cache.Get("c").value);
    EXPECT_EQ(cache.size(), 2u);
}

TEST(ReadCache, RefusesValuesComputedBeforeAnInvalidation) {
    ManualClock clock;
    ReadCache cache(clock, seconds(300), 10);
    auto miss = cache.Get("k");            // a reader starts computing from old data...
    cache.InvalidateAll();                 // ...a writer commits a change...
    cache.Put("k", "stale", miss.ticket);  // ...the reader's stale answer must not be kept.
    EXPECT_FALSE(cache.Get("k").value);
    auto fresh = cache.Get("k");
    cache.Put("k", "fresh", fresh.ticket);
    EXPECT_EQ(*cache.Get("k").value, "fresh");
}

TEST(ReadCache, ProbeDoesNotCountMisses) {
    ManualClock clock;
    ReadCache cache(clock, seconds(300), 10);
    cache.Get("k", /*count_miss=*/false);
    EXPECT_EQ(cache.misses(), 0u);
}

TEST(ReadCache, ZeroTtlDisablesCaching) {
    ManualClock clock;
    ReadCache cache(clock, seconds(0), 10);
    cache.Put("k", "v", cache.Get("k").ticket);
    EXPECT_FALSE(cache.Get("k").value);
}

}  // namespace
}  // namespace emporium
