#include "core/rate_limiter.h"

#include <gtest/gtest.h>

#include <string>

namespace emporium {
namespace {

TEST(RateLimiter, RefillsAtTheRateUpToTheBurst) {
    ManualClock clock;
    RateLimiter limiter(clock, /*rate=*/1.0, /*burst=*/3);
    EXPECT_EQ(limiter.Take("a"), 0);
    EXPECT_EQ(limiter.Take("a"), 0);
    EXPECT_EQ(limiter.Take("a"), 0);
    EXPECT_EQ(limiter.Take("a"), 1);  // empty: wait a second
    EXPECT_EQ(limiter.Take("b"), 0);  // other keys have their own bucket
    clock.Advance(std::chrono::seconds(1));
    EXPECT_EQ(limiter.Take("a"), 0);
    EXPECT_EQ(limiter.Take("a"), 1);
    clock.Advance(std::chrono::hours(1));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("a"), 0);  // never more than the burst
    EXPECT_GT(limiter.Take("a"), 0);
}

TEST(RateLimiter, SlowRatesGiveLongerWaits) {
    ManualClock clock;
    RateLimiter limiter(clock, 5.0 / 60, 5);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Take("x"), 0);
    EXPECT_EQ(limiter.Take("x"), 12);
}

TEST(RateLimiter, ZeroRateIsOff) {
    ManualClock clock;
    RateLimiter limiter(clock, 0, 1);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(limiter.Take("x"), 0);
}

TEST(RateLimiter, StaysBoundedUnderManyKeys) {
    ManualClock clock;
    RateLimiter limiter(clock, /*rate=*/1, /*burst=*/2, /*max_keys=*/100);
    // A hot client is being limited while a flood of new keys (one each) passes through.
    EXPECT_EQ(limiter.Take("hot"), 0);
    EXPECT_EQ(limiter.Take("hot"), 0);
    EXPECT_GT(limiter.Take("hot"), 0);
    for (int i = 0; i < 10000; ++i) {
        limiter.Take("cold" + std::to_string(i));
        ASSERT_LE(limiter.size(), 100u);
        if (i % 50 == 0) EXPECT_GT(limiter.Take("hot"), 0) << "after " << i << " cold keys";
    }
    EXPECT_EQ(limiter.size(), 100u);
    EXPECT_GT(limiter.Take("hot"), 0);  // its bucket survived every eviction: still empty
    // The cold keys that were dropped are the oldest: the newest ones are still held.
    EXPECT_EQ(limiter.Take("cold9999"), 0);  // its second token of two
    EXPECT_GT(limiter.Take("cold9999"), 0);
}

TEST(RateLimiter, DropsBucketsThatHaveRefilled) {
    ManualClock clock;
    RateLimiter limiter(clock, /*rate=*/1, /*burst=*/5);
    for (int i = 0; i < 10; ++i) limiter.Take("k" + std::to_string(i));
    EXPECT_EQ(limiter.size(), 10u);
    clock.Advance(std::chrono::seconds(6));  // every bucket is full again
    for (int i = 0; i < 10; ++i) limiter.Take("n" + std::to_string(i));
    EXPECT_EQ(limiter.size(), 10u);  // the refilled ones made way
}

TEST(RateLimiter, KeysIpv6ClientsByTheirSlash64) {
    ManualClock clock;
    RateLimiter limiter(clock, /*rate=*/1, /*burst=*/2, 100000, RateLimiter::Keys::kClientAddress);
    EXPECT_EQ(limiter.Take("2001:db8:1:2::1"), 0);
    EXPECT_EQ(limiter.Take("2001:db8:1:2:ffff:ffff:ffff:fffe"), 0);  // same /64: same bucket
    EXPECT_GT(limiter.Take("2001:db8:1:2:aaaa::7"), 0);
    EXPECT_EQ(limiter.Take("2001:db8:1:3::1"), 0);  // the next /64 is someone else
    EXPECT_EQ(limiter.Take("192.0.2.1"), 0);
    EXPECT_EQ(limiter.Take("::ffff:192.0.2.1"), 0);  // the same IPv4 client
    EXPECT_GT(limiter.Take("192.0.2.1"), 0);
    EXPECT_EQ(limiter.Take("192.0.2.2"), 0);
}

TEST(RateLimiter, AddressKey) {
    EXPECT_EQ(AddressKey("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    EXPECT_EQ(AddressKey("2001:DB8:1:2::9"), "2001:db8:1:2::/64");
    EXPECT_EQ(AddressKey("::1"), "::/64");
    EXPECT_EQ(AddressKey("::ffff:10.1.2.3"), "10.1.2.3");
    EXPECT_EQ(AddressKey("203.0.113.9"), "203.0.113.9");
    EXPECT_EQ(AddressKey("not an address"), "not an address");
    EXPECT_EQ(AddressKey("fe80::1%eth0"), "fe80::1%eth0");  // scoped: not parsed, kept whole
}

}  // namespace
}  // namespace emporium
