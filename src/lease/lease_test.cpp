#include "lease/lease.h"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>

#include "db/testing.h"

namespace emporium::lease {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kT0 = 1'800'000'000'000;  // Unix milliseconds
constexpr milliseconds kTtl{15000};

// Waits for a condition with a deadline, never for a fixed time.
bool Eventually(const std::function<bool()>& condition, milliseconds deadline = milliseconds(15000)) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        if (condition()) return true;
        std::this_thread::sleep_for(milliseconds(5));  // polling a condition, not synchronising
    }
    return condition();
}

class LeaseTest : public ::testing::Test {
protected:
    LeaseTest() : database_(Migrations(db::TestDialect())) {}
    db::TempDatabase database_;
    Logger logger_ = MakeLogger("off");
};

TEST_F(LeaseTest, OneOwnerAtATimeWhileItRenews) {
    std::optional<Holding> a = TryAcquire(*database_, "events", "a", kTtl, kT0);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->owner, "a");
    EXPECT_EQ(a->generation, 1);
    EXPECT_EQ(a->expires_at, kT0 + kTtl.count());
    EXPECT_FALSE(TryAcquire(*database_, "events", "b", kTtl, kT0 + 1000));
    // Renewed before it expires: b still cannot take it, even after the first expiry time.
    std::optional<Holding> renewed = Renew(*database_, *a, kTtl, kT0 + 10000);
    ASSERT_TRUE(renewed);
    EXPECT_EQ(renewed->generation, 1);
    EXPECT_EQ(renewed->expires_at, kT0 + 10000 + kTtl.count());
    EXPECT_FALSE(TryAcquire(*database_, "events", "b", kTtl, kT0 + 16000));
    // Taking it again as its owner is a renewal, not a new generation.
    std::optional<Holding> again = TryAcquire(*database_, "events", "a", kTtl, kT0 + 17000);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->generation, 1);
    EXPECT_EQ(again->acquired_at, kT0);
    // Another lease name is another lease.
    EXPECT_TRUE(TryAcquire(*database_, "backups", "b", kTtl, kT0 + 17000));
}

TEST_F(LeaseTest, AnExpiredLeaseIsTakenOverWithTheNextGenerationAndFencesTheOldOwner) {
    std::optional<Holding> a = TryAcquire(*database_, "events", "a", kTtl, kT0);
    ASSERT_TRUE(a);
    const std::int64_t expired = kT0 + kTtl.count();
    std::optional<Holding> b = TryAcquire(*database_, "events", "b", kTtl, expired);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->owner, "b");
    EXPECT_EQ(b->generation, 2);
    EXPECT_EQ(b->acquired_at, expired);
    // The old owner can neither renew nor pass the fence; the new one passes it.
    EXPECT_FALSE(Renew(*database_, *a, kTtl, expired + 1));
    EXPECT_FALSE(database_->Write([&](db::Connection& c) { return Fence(c, *a, expired + 1); }));
    EXPECT_TRUE(database_->Write([&](db::Connection& c) { return Fence(c, *b, expired + 1); }));
    // A holder past its own expiry fails the fence too, until it renews.
    EXPECT_FALSE(database_->Write([&](db::Connection& c) { return Fence(c, *b, expired + kTtl.count()); }));
    ASSERT_TRUE(Renew(*database_, *b, kTtl, expired + kTtl.count()));
    EXPECT_TRUE(database_->Write([&](db::Connection& c) { return Fence(c, *b, expired + kTtl.count() + 1); }));
    const std::vector<Holding> all = List(*database_);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].owner, "b");
    EXPECT_EQ(all[0].generation, 2);
}

TEST_F(LeaseTest, TheFirstPrimaryIsInTermOneAndEachPromotionBeginsTheNext) {
    EXPECT_EQ(PrimaryTerm(*database_), 1);
    EXPECT_EQ(BeginNextTerm(*database_, kT0), 2);
    EXPECT_EQ(PrimaryTerm(*database_), 2);
    EXPECT_EQ(BeginNextTerm(*database_, kT0 + 1), 3);
    EXPECT_EQ(PrimaryTerm(*database_), 3);
}

TEST_F(LeaseTest, AReleasedLeaseIsFreeAtOnce) {
    std::optional<Holding> a = TryAcquire(*database_, "backups", "a", kTtl, kT0);
    ASSERT_TRUE(a);
    Release(*database_, *a);
    std::optional<Holding> b = TryAcquire(*database_, "backups", "b", kTtl, kT0 + 1);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->generation, 2);
    Release(*database_, *a);  // a stale release changes nothing
    EXPECT_FALSE(TryAcquire(*database_, "backups", "c", kTtl, kT0 + 2));
}

TEST_F(LeaseTest, OwnersContendingAtOnceGetOneHolder) {
    constexpr int kOwners = 8;
    db::DatabaseOptions options{.url = database_.url(), .pool_size = kOwners};
    std::unique_ptr<db::Database> pool = db::Open(options);
    for (int round = 0; round < 5; ++round) {
        const std::string name = "contended-" + std::to_string(round);
        std::atomic<int> winners{0};
        std::barrier start(kOwners);
        std::vector<std::thread> threads;
        threads.reserve(kOwners);
        for (int i = 0; i < kOwners; ++i) {
            threads.emplace_back([&, i] {
                start.arrive_and_wait();
                if (TryAcquire(*pool, name, "owner-" + std::to_string(i), kTtl, kT0)) ++winners;
            });
        }
        for (std::thread& t : threads) t.join();
        EXPECT_EQ(winners.load(), 1) << name;
    }
}

// Two keepers with one job each on the same lease: exactly one runs it; when the holder stops
// (and releases), the other takes over; when a holder dies without a word, the other takes over
// once the lease expires.
TEST_F(LeaseTest, KeepersRunAJobOnOneNodeAndTakeOverFromAStoppedOrDeadHolder) {
    SystemClock clock;
    // Long enough that a busy machine (a CI run starves threads for hundreds of milliseconds)
    // cannot make a's renewal late and hand b the lease; short enough to keep the test at seconds.
    const KeeperOptions fast{milliseconds(1500)};
    const std::int64_t beat = fast.ttl.count() / 3;
    std::atomic<int> running_a{0}, running_b{0}, runs_b{0};
    auto job = [](std::atomic<int>& running, std::atomic<int>* runs) {
        Job j{"dispatcher", [&running](const Holding&) { ++running; }, [&running] { --running; }, {}, {}};
        if (runs) {
            j.every = milliseconds(10);
            j.run = [runs] { ++*runs; };
        }
        return j;
    };
    auto a = std::make_unique<LeaseKeeper>(*database_, "a", clock, logger_, fast);
    LeaseKeeper b(*database_, "b", clock, logger_, fast);
    a->Add(job(running_a, nullptr));
    b.Add(job(running_b, &runs_b));
    a->Start();
    ASSERT_TRUE(Eventually([&] { return a->Holds("dispatcher"); }));
    b.Start();
    EXPECT_EQ(running_a.load(), 1);
    // b tries every ttl / 3 and is refused while a renews: after b's presence lease (renewed on
    // the same beat as its tries) has been renewed several times, a still runs the job alone.
    auto b_renewals = [&] {
        for (const Holding& h : LiveNodes(*database_, UnixMillis(clock.Now()))) {
            if (h.owner == "b") return (h.renewed_at - h.acquired_at) / beat;
        }
        return std::int64_t{0};
    };
    ASSERT_TRUE(Eventually([&] { return b_renewals() >= 2; }));
    EXPECT_EQ(running_b.load(), 0);
    EXPECT_FALSE(b.Holds("dispatcher"));
    EXPECT_EQ(runs_b.load(), 0);
    EXPECT_EQ(running_a.load(), 1);

    a->Stop();  // released: b takes over at its next try
    EXPECT_EQ(running_a.load(), 0);
    ASSERT_TRUE(Eventually([&] { return running_b.load() == 1 && b.Holds("dispatcher"); }));
    EXPECT_EQ(b.Held("dispatcher")->generation, 2);
    ASSERT_TRUE(Eventually([&] { return runs_b.load() >= 2; }));  // its periodic work runs while held
    EXPECT_TRUE(database_->Write([&](db::Connection& c) { return b.Fence(c, "dispatcher"); }));
    EXPECT_FALSE(database_->Write([&](db::Connection& c) { return a->Fence(c, "dispatcher"); }));

    // A holder that dies renews nothing and releases nothing: "c" takes the lease and vanishes.
    b.Stop();
    std::optional<Holding> dead = TryAcquire(*database_, "dispatcher", "c", milliseconds(300), UnixMillis(clock.Now()));
    ASSERT_TRUE(dead);
    EXPECT_EQ(dead->generation, 3);
    LeaseKeeper d(*database_, "d", clock, logger_, fast);
    std::atomic<int> running_d{0};
    d.Add(job(running_d, nullptr));
    d.Start();
    ASSERT_TRUE(Eventually([&] { return running_d.load() == 1; }));
    const std::int64_t taken = UnixMillis(clock.Now());
    EXPECT_GE(taken, dead->expires_at);  // not before the dead holder's lease ran out
    EXPECT_EQ(d.Held("dispatcher")->generation, 4);
    d.Stop();
    EXPECT_EQ(running_d.load(), 0);
    EXPECT_TRUE(LiveNodes(*database_, UnixMillis(clock.Now())).empty());  // presence released on stop
}

}  // namespace
}  // namespace emporium::lease
