#include "accounts/password_hasher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

namespace emporium::accounts {
namespace {

using std::chrono::milliseconds;

// A steady clock that moves only when told.
struct FakeClock {
    std::atomic<std::int64_t> ms{0};
    HashingQueue::Now now() {
        return [this] { return std::chrono::steady_clock::time_point(milliseconds(ms.load())); };
    }
};

// Holds the queue's only thread inside a job until released, so that everything submitted
// meanwhile waits.
struct Hold {
    std::promise<void> started;
    std::promise<void> release;
    void Occupy(HashingQueue& queue) {
        std::shared_future<void> go = release.get_future().share();
        ASSERT_TRUE(queue.Submit([this, go] {
            started.set_value();
            go.wait();
        }));
        started.get_future().wait();
    }
};

TEST(HashingQueue, ShedsByTheAgeOfTheOldestWaitingJobNotByCount) {
    FakeClock clock;
    HashingQueue queue({1, milliseconds(500)}, clock.now());
    Hold hold;
    hold.Occupy(queue);

    std::atomic<int> ran{0};
    // How many wait does not matter: a hundred arriving at once are all taken.
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(queue.Submit([&] { ++ran; }));
    clock.ms = 500;  // the oldest has waited exactly the limit: still taken
    std::promise<void> last_ran;
    ASSERT_TRUE(queue.Submit([&] {
        ++ran;
        last_ran.set_value();
    }));
    EXPECT_EQ(queue.oldest_wait(), milliseconds(500));
    EXPECT_EQ(queue.waiting(), 101u);

    clock.ms = 501;  // past it: refused at once, and never run
    std::atomic<bool> refused_ran{false};
    EXPECT_FALSE(queue.Submit([&] { refused_ran = true; }));
    EXPECT_EQ(queue.shed(), 1u);
    EXPECT_EQ(queue.waiting(), 101u);

    hold.release.set_value();
    last_ran.get_future().wait();  // one thread, first come first served: everything before it ran
    EXPECT_EQ(ran.load(), 101);
    EXPECT_FALSE(refused_ran.load());
    EXPECT_EQ(queue.waiting(), 0u);
    EXPECT_EQ(queue.oldest_wait(), milliseconds(0));

    // Nothing waits now, so however late it is, new work is taken.
    clock.ms = 60'000;
    std::promise<void> later_ran;
    EXPECT_TRUE(queue.Submit([&] { later_ran.set_value(); }));
    later_ran.get_future().wait();
    EXPECT_EQ(queue.shed(), 1u);
}

TEST(HashingQueue, ShedsWhatTheThreadsCannotStartInTime) {
    FakeClock clock;
    HashingQueue queue({1, milliseconds(500)}, clock.now());
    // One job that takes 100 ms: the pace the queue then expects of the next ones.
    std::promise<void> measured;
    ASSERT_TRUE(queue.Submit([&] {
        clock.ms += 100;
        measured.set_value();
    }));
    measured.get_future().wait();
    // Wait for the worker to record the pace: it does so right after the job returns.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (queue.pace() != milliseconds(100)) ASSERT_LT(std::chrono::steady_clock::now(), deadline);

    Hold hold;
    hold.Occupy(queue);
    // Nobody has waited at all, but at 100 ms each the thread starts a seventh only after 600 ms.
    std::atomic<int> ran{0};
    std::promise<void> sixth_ran;
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(queue.Submit([&] { ++ran; })) << i;
    ASSERT_TRUE(queue.Submit([&] {
        ++ran;
        sixth_ran.set_value();
    }));
    std::atomic<bool> refused_ran{false};
    EXPECT_FALSE(queue.Submit([&] { refused_ran = true; }));
    EXPECT_EQ(queue.oldest_wait(), milliseconds(0));
    EXPECT_EQ(queue.shed(), 1u);

    hold.release.set_value();
    sixth_ran.get_future().wait();
    EXPECT_EQ(ran.load(), 6);
    EXPECT_FALSE(refused_ran.load());
}

TEST(HashingQueue, StopRunsEveryAdmittedJobAndRefusesNewOnes) {
    FakeClock clock;
    HashingQueue queue({1, milliseconds(500)}, clock.now());
    Hold hold;
    hold.Occupy(queue);
    std::atomic<int> ran{0};
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(queue.Submit([&] { ++ran; }));

    std::thread stopper([&] { queue.Stop(); });
    // Stop() waits for the held job; until it has begun, work is still taken (and will run).
    int admitted_meanwhile = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (queue.Submit([&] { ++ran; })) {
        ++admitted_meanwhile;
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "Stop() never began";
    }
    hold.release.set_value();
    stopper.join();
    EXPECT_EQ(ran.load(), 3 + admitted_meanwhile);
    EXPECT_FALSE(queue.Submit([&] { ++ran; }));
}

}  // namespace
}  // namespace emporium::accounts
