#include "events/dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

#include "db/testing.h"

namespace emporium::events {
namespace {

class DispatcherTest : public ::testing::Test {
protected:
    DispatcherTest() : database_(Migrations(db::TestDialect())) {}

    std::int64_t Emit(std::string_view type, std::string_view aggregate = "1") {
        return database_->Write([&](db::Connection& c) { return Append(c, type, aggregate, "{}", 1'800'000'000); });
    }
    DispatcherOptions Fast(int max_attempts = 3) {
        DispatcherOptions o;
        o.poll_interval = std::chrono::milliseconds(20);
        o.first_backoff = std::chrono::milliseconds(1);
        o.max_backoff = std::chrono::milliseconds(4);
        o.max_attempts = max_attempts;
        return o;
    }

    db::TempDatabase database_;
    ManualClock clock_{std::chrono::system_clock::from_time_t(1'800'000'000)};
    Logger logger_ = MakeLogger("off");
};

TEST(WantsTest, MatchesExactNamesAndPrefixPatterns) {
    EXPECT_TRUE(Wants({}, "anything"));
    EXPECT_TRUE(Wants({"order.placed"}, "order.placed"));
    EXPECT_FALSE(Wants({"order.placed"}, "order.shipped"));
    EXPECT_TRUE(Wants({"order.*"}, "order.shipped"));
    EXPECT_FALSE(Wants({"order.*"}, "orders.x"));
    EXPECT_FALSE(Wants({"order.*"}, "product.changed"));
}

TEST(BackoffTest, DoublesUpToTheCap) {
    DispatcherOptions o;
    o.first_backoff = std::chrono::milliseconds(100);
    o.max_backoff = std::chrono::milliseconds(500);
    EXPECT_EQ(Backoff(o, 1).count(), 100);
    EXPECT_EQ(Backoff(o, 2).count(), 200);
    EXPECT_EQ(Backoff(o, 3).count(), 400);
    EXPECT_EQ(Backoff(o, 4).count(), 500);
    EXPECT_EQ(Backoff(o, 40).count(), 500);
}

TEST_F(DispatcherTest, NewSubscriberStartsAfterExistingHistory) {
    Emit("order.placed");
    Dispatcher d(*database_, clock_, logger_, Fast());
    std::vector<std::int64_t> seen;
    d.Add({"notify", {}, [&](const Event& e) {
               seen.push_back(e.id);
               return Outcome::Done();
           }});
    std::int64_t later = Emit("order.placed");
    EXPECT_EQ(d.Pump(), 1);
    EXPECT_EQ(seen, std::vector<std::int64_t>{later});
}

TEST_F(DispatcherTest, DeliversWantedTypesInOrderAndKeepsProgressAcrossRestarts) {
    std::vector<std::string> seen;
    auto handler = [&](const Event& e) {
        seen.push_back(e.type);
        return Outcome::Done();
    };
    {
        Dispatcher d(*database_, clock_, logger_, Fast());
        d.Add({"notify", {"order.*"}, handler});
        Emit("order.placed");
        Emit("product.changed");
        Emit("order.shipped");
        EXPECT_EQ(d.Pump(), 2);
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"order.placed", "order.shipped"}));
    Emit("order.cancelled");
    Dispatcher again(*database_, clock_, logger_, Fast());
    again.Add({"notify", {"order.*"}, handler});
    EXPECT_EQ(again.Pump(), 1);
    EXPECT_EQ(seen.back(), "order.cancelled");
    EXPECT_EQ(seen.size(), 3U);
    std::vector<LaneProgress> progress = again.Progress();
    ASSERT_EQ(progress.size(), 1U);
    EXPECT_EQ(progress[0].backlog, 0);
}

TEST_F(DispatcherTest, RetriesThenDeadLettersAndMovesOn) {
    Dispatcher d(*database_, clock_, logger_, Fast(3));
    int calls_for_first = 0;
    std::vector<std::int64_t> done;
    std::int64_t first = 0;
    d.Add({"notify", {}, [&](const Event& e) {
               if (e.id == first) {
                   ++calls_for_first;
                   return Outcome::Retry("twilio said 503");
               }
               done.push_back(e.id);
               return Outcome::Done();
           }});
    first = Emit("order.placed");
    std::int64_t second = Emit("order.placed");
    d.Pump();  // attempt 1
    d.Pump();  // attempt 2
    EXPECT_TRUE(done.empty()) << "the lane keeps order: the second waits for the first";
    d.Pump();  // attempt 3: dead letter, then the second
    EXPECT_EQ(calls_for_first, 3);
    EXPECT_EQ(done, std::vector<std::int64_t>{second});
    DeadLetterPage letters = d.dead_letters().List(1, 10);
    ASSERT_EQ(letters.total, 1);
    EXPECT_EQ(letters.items[0].event_id, first);
    EXPECT_EQ(letters.items[0].attempts, 3);
    EXPECT_EQ(letters.items[0].last_error, "twilio said 503");
    EXPECT_EQ(letters.items[0].event_type, "order.placed");
    EXPECT_EQ(letters.items[0].status, "dead");
}

TEST_F(DispatcherTest, GiveUpDeadLettersAtOnceAndReplayDeliversAgain) {
    Dispatcher d(*database_, clock_, logger_, Fast(5));
    bool healthy = false;
    int calls = 0;
    d.Add({"webhooks", {}, [&](const Event&) {
               ++calls;
               return healthy ? Outcome::Done() : Outcome::GiveUp("bad payload");
           }});
    Emit("order.placed");
    d.Pump();
    EXPECT_EQ(calls, 1);
    DeadLetter letter = d.dead_letters().List(1, 10).items.at(0);
    EXPECT_EQ(letter.attempts, 1);

    healthy = true;
    Result<DeadLetter> replay = d.dead_letters().Replay(letter.id);
    ASSERT_TRUE(replay.ok());
    EXPECT_EQ(replay->status, "replaying");
    EXPECT_FALSE(d.dead_letters().Replay(letter.id).ok()) << "already replaying";
    EXPECT_EQ(d.dead_letters().Replay(9999).error().kind, ErrorKind::kNotFound);
    d.Pump();
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(d.dead_letters().List(1, 10).items.at(0).status, "replayed");
}

TEST_F(DispatcherTest, ExceptionsAreRetriedNotSkipped) {
    Dispatcher d(*database_, clock_, logger_, Fast(2));
    int calls = 0;
    d.Add({"cache", {}, [&](const Event&) -> Outcome {
               ++calls;
               throw std::runtime_error("boom");
           }});
    Emit("product.changed");
    d.Pump();
    d.Pump();
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(d.dead_letters().List(1, 10).items.at(0).last_error, "exception: boom");
}

TEST_F(DispatcherTest, PartitionsSplitEventsBetweenLanes) {
    Dispatcher d(*database_, clock_, logger_, Fast());
    std::map<std::int64_t, int> deliveries;
    d.Add({"notify",
           {},
           [&](const Event& e) {
               ++deliveries[e.id];
               return Outcome::Done();
           },
           3});
    for (int i = 0; i < 10; ++i) Emit("order.placed");
    EXPECT_EQ(d.Pump(), 10);
    EXPECT_EQ(deliveries.size(), 10U);
    for (auto& [id, n] : deliveries) EXPECT_EQ(n, 1) << id;
    EXPECT_EQ(d.Progress().size(), 3U);
}

TEST_F(DispatcherTest, PurgeDropsOldEventsEveryLanePassedButKeepsDeadLettersAndTheRest) {
    DispatcherOptions o = Fast(1);
    o.keep = std::chrono::hours(24);
    Dispatcher d(*database_, clock_, logger_, o);
    std::int64_t poison = 0;
    d.Add({"notify", {}, [&](const Event& e) { return e.id == poison ? Outcome::GiveUp("bad") : Outcome::Done(); }});
    d.Add({"slow", {"product.*"}, [](const Event&) { return Outcome::Done(); }});
    std::vector<std::int64_t> old;
    old.reserve(5);
    for (int i = 0; i < 5; ++i) old.push_back(Emit("order.placed"));
    poison = old[2];
    d.Pump();
    EXPECT_EQ(d.Purge(), 0) << "nothing is a day old yet";
    clock_.Advance(std::chrono::hours(25));
    std::int64_t fresh = database_->Write(
        [&](db::Connection& c) { return Append(c, "order.placed", "9", "{}", UnixSeconds(clock_.Now())); });
    d.Pump();
    EXPECT_EQ(d.Purge(), 4) << "five old events, one kept for its dead letter";
    auto left = database_->Read([](db::Connection& c) { return ReadAfter(c, 0, 100); });
    ASSERT_EQ(left.size(), 2U);
    EXPECT_EQ(left[0].id, poison);
    EXPECT_EQ(left[1].id, fresh);
}

TEST_F(DispatcherTest, ThreadsDeliverAfterWake) {
    Dispatcher d(*database_, clock_, logger_, Fast());
    std::mutex mutex;  // guards delivered
    std::condition_variable changed;
    std::vector<std::int64_t> delivered;
    d.Add({"notify", {}, [&](const Event& e) {
               std::lock_guard lock(mutex);
               delivered.push_back(e.id);
               changed.notify_all();
               return Outcome::Done();
           }});
    d.Start();
    std::vector<std::int64_t> emitted;
    emitted.reserve(50);
    for (int i = 0; i < 50; ++i) emitted.push_back(Emit("order.placed"));
    d.Wake();
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return delivered.size() >= 50; }));
    lock.unlock();
    d.Stop();
    EXPECT_EQ(delivered, emitted);
}

}  // namespace
}  // namespace emporium::events
