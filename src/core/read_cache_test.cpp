#include "core/read_cache.h"

#include <gtest/gtest.h>

namespace emporium {
namespace {

using std::chrono::seconds;

TEST(ReadCache, MissThenHit) {
    ManualClock clock;
    ReadCache cache(clock, seconds(300), {.max_entries = 10});
    auto miss = cache.Get("k");
    EXPECT_FALSE(miss.value);
    cache.Put("k", "v", miss.ticket);
    auto hit = cache.Get("k");
    ASSERT_TRUE(hit.value);
    EXPECT_EQ(hit.value->text(), "v");
    EXPECT_EQ(cache.hits(), 1u);
    EXPECT_EQ(cache.misses(), 1u);
}

TEST(ReadCache, ExpiresAfterTtl) {
    ManualClock clock;
    ReadCache cache(clock, seconds(300), {.max_entries = 10});
    cache.Put("k", "v", cache.Get("k").ticket);
    clock.Advance(seconds(299));
    EXPECT_TRUE(cache.Get("k").value);
    clock.Advance(seconds(1));
    EXPECT_FALSE(cache.Get("k").value);
}

TEST(ReadCache, EvictsLeastRecentlyUsed) {
    ManualClock clock;
    ReadCache cache(clock, seconds(300), {.max_entries = 2});
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
    ReadCache cache(clock, seconds(300), {.max_entries = 10});
    auto miss = cache.Get("k");            // a reader starts computing from old data...
    cache.InvalidateAll();                 // ...a writer commits a change...
    cache.Put("k", "stale", miss.ticket);  // ...the reader's stale answer must not be kept.
    EXPECT_FALSE(cache.Get("k").value);
    auto fresh = cache.Get("k");
    cache.Put("k", "fresh", fresh.ticket);
    EXPECT_EQ(cache.Get("k").value->text(), "fresh");
}

TEST(ReadCache, ProbeDoesNotCountMisses) {
    ManualClock clock;
    ReadCache cache(clock, seconds(300), {.max_entries = 10});
    cache.Get("k", /*count_miss=*/false);
    EXPECT_EQ(cache.misses(), 0u);
}

TEST(ReadCache, ZeroTtlDisablesCaching) {
    ManualClock clock;
    ReadCache cache(clock, seconds(0), {.max_entries = 10});
    cache.Put("k", "v", cache.Get("k").ticket);
    EXPECT_FALSE(cache.Get("k").value);
}

TEST(ReadCache, StaysWithinItsByteBoundEvictingLeastRecentlyUsed) {
    ManualClock clock;
    const std::string value(1000, 'v');
    const std::size_t one = ReadCache::Cost("k00", *PreparedText::Make(value));
    ReadCache cache(clock, seconds(300), {.max_bytes = 5 * one, .max_entries = 1000});
    auto put = [&](const std::string& key) { cache.Put(key, value, cache.Get(key).ticket); };
    for (int i = 0; i < 5; ++i) put("k0" + std::to_string(i));
    EXPECT_EQ(cache.size(), 5u);
    EXPECT_EQ(cache.bytes(), 5 * one);
    EXPECT_TRUE(cache.Get("k00").value);  // k00 becomes the most recent; k01 is now the oldest
    put("k05");
    EXPECT_EQ(cache.bytes(), 5 * one);
    EXPECT_EQ(cache.evictions(), 1u);
    EXPECT_FALSE(cache.Get("k01").value);
    EXPECT_TRUE(cache.Get("k00").value);
    EXPECT_TRUE(cache.Get("k05").value);
    // A value costing more than one entry but less than two makes room for itself by dropping the
    // two least recently used.
    const std::string bigger(1500, 'w');
    ASSERT_GT(ReadCache::Cost("k06", *PreparedText::Make(bigger)), one);
    ASSERT_LT(ReadCache::Cost("k06", *PreparedText::Make(bigger)), 2 * one);
    cache.Put("k06", bigger, cache.Get("k06").ticket);
    EXPECT_LE(cache.bytes(), 5 * one);
    EXPECT_EQ(cache.evictions(), 3u);
    EXPECT_FALSE(cache.Get("k02").value);
    EXPECT_FALSE(cache.Get("k03").value);
    EXPECT_TRUE(cache.Get("k04").value);
    EXPECT_TRUE(cache.Get("k06").value);
}

TEST(ReadCache, NeverHoldsMoreBytesThanItsBoundUnderManyPuts) {
    ManualClock clock;
    const std::size_t bound = std::size_t{64} * 1024;
    ReadCache cache(clock, seconds(300), {.max_bytes = bound, .max_entries = 100000});
    for (int i = 0; i < 5000; ++i) {
        const std::string key = "page?" + std::to_string(i);
        cache.Put(key, std::string(static_cast<std::size_t>(i % 3000), 'x'), cache.Get(key).ticket);
        ASSERT_LE(cache.bytes(), bound);
    }
    EXPECT_GT(cache.bytes(), bound / 2);  // it does fill up
    EXPECT_GT(cache.evictions(), 0u);
}

TEST(ReadCache, ReplacingAValueKeepsTheByteCountExact) {
    ManualClock clock;
    ReadCache cache(clock, seconds(300), {});
    cache.Put("k", "short", cache.Get("k").ticket);
    cache.Put("k", std::string(500, 'x'), cache.Get("k").ticket);
    EXPECT_EQ(cache.size(), 1u);
    EXPECT_EQ(cache.bytes(), ReadCache::Cost("k", *PreparedText::Make(std::string(500, 'x'))));
    cache.InvalidateAll();
    EXPECT_EQ(cache.bytes(), 0u);
}

TEST(ReadCache, AValueLargerThanTheBoundIsNotKept) {
    ManualClock clock;
    ReadCache cache(clock, seconds(300), {.max_bytes = 1000, .max_entries = 10});
    cache.Put("small", "v", cache.Get("small").ticket);
    cache.Put("big", std::string(1000, 'x'), cache.Get("big").ticket);
    EXPECT_FALSE(cache.Get("big").value);
    EXPECT_TRUE(cache.Get("small").value);  // nothing was evicted for a value that cannot fit
    EXPECT_EQ(cache.evictions(), 0u);
}

TEST(ReadCache, LimitedTtlDropsEverythingAndKeepsNewEntriesBriefly) {
    ManualClock clock;
    ReadCache cache(clock, seconds(300), {.max_entries = 10});
    auto before = cache.Get("k");  // computed before the limit...
    cache.Put("old", "v", cache.Get("old").ticket);
    cache.LimitTtl(seconds(1));
    EXPECT_FALSE(cache.Get("old").value);  // ...what was there is gone...
    cache.Put("k", "stale", before.ticket);
    EXPECT_FALSE(cache.Get("k").value);  // ...and what was being computed is refused.
    cache.Put("k", "v", cache.Get("k").ticket);
    EXPECT_TRUE(cache.Get("k").value);
    clock.Advance(seconds(1));
    EXPECT_FALSE(cache.Get("k").value);  // one second, not five minutes

    cache.LimitTtl(std::nullopt);
    cache.Put("k", "v", cache.Get("k").ticket);
    clock.Advance(seconds(299));
    EXPECT_TRUE(cache.Get("k").value);  // the full TTL again
}

}  // namespace
}  // namespace emporium
