#include "core/coalescer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace emporium {
namespace {

using std::chrono::milliseconds;

// Counts the action's runs and lets a test wait for the n-th one (with a deadline).
class Runs {
public:
    void Add() {
        {
            std::lock_guard lock(mutex_);
            ++count_;
        }
        changed_.notify_all();
    }
    bool WaitFor(int n, std::chrono::seconds deadline = std::chrono::seconds(10)) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, deadline, [&] { return count_ >= n; });
    }
    int count() {
        std::lock_guard lock(mutex_);
        return count_;
    }

private:
    std::mutex mutex_;  // guards count_
    std::condition_variable changed_;
    int count_ = 0;
};

TEST(CoalescerTest, ManyTouchesInOneWindowRunTheActionOnce) {
    Runs runs;
    // A window far longer than the touches take: they all land inside it.
    Coalescer coalescer(milliseconds(300), [&] { runs.Add(); });
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 1000; ++i) coalescer.Touch();
    ASSERT_TRUE(runs.WaitFor(1));
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_GE(took, milliseconds(300)) << "the action waited for the window";
    EXPECT_EQ(coalescer.touches(), 1000u);
    EXPECT_EQ(coalescer.runs(), 1u);
    EXPECT_EQ(runs.count(), 1);
}

TEST(CoalescerTest, ATouchAfterARunSchedulesAnother) {
    Runs runs;
    Coalescer coalescer(milliseconds(20), [&] { runs.Add(); });
    coalescer.Touch();
    ASSERT_TRUE(runs.WaitFor(1));
    coalescer.Touch();
    ASSERT_TRUE(runs.WaitFor(2));
    EXPECT_EQ(coalescer.runs(), 2u);
}

TEST(CoalescerTest, FlushRunsWhatIsPendingAtOnceAndNothingOtherwise) {
    Runs runs;
    Coalescer coalescer(std::chrono::hours(1), [&] { runs.Add(); });
    coalescer.Flush();
    EXPECT_EQ(runs.count(), 0) << "nothing was pending";
    coalescer.Touch();
    coalescer.Touch();
    coalescer.Flush();
    EXPECT_EQ(runs.count(), 1);
    coalescer.Flush();
    EXPECT_EQ(runs.count(), 1);
}

TEST(CoalescerTest, DestroyingRunsWhatIsPending) {
    Runs runs;
    {
        Coalescer coalescer(std::chrono::hours(1), [&] { runs.Add(); });
        coalescer.Touch();
    }
    EXPECT_EQ(runs.count(), 1);
}

TEST(CoalescerTest, AZeroWindowRunsOnTheTouchingThread) {
    std::vector<std::thread::id> ran_on;
    Coalescer coalescer(milliseconds(0), [&] { ran_on.push_back(std::this_thread::get_id()); });
    coalescer.Touch();
    coalescer.Touch();
    EXPECT_EQ(ran_on, (std::vector<std::thread::id>{std::this_thread::get_id(), std::this_thread::get_id()}));
    EXPECT_EQ(coalescer.runs(), 2u);
}

TEST(CoalescerTest, TouchesFromManyThreadsAreEachCoveredByARun) {
    // Every touch is followed by a run that started after it: the value the action reads is never
    // older than the last touch once the coalescer is flushed.
    std::atomic<int> written{0};
    std::atomic<int> seen{0};
    Coalescer coalescer(milliseconds(5), [&] { seen.store(written.load()); });
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i) {
                written.fetch_add(1);
                coalescer.Touch();
            }
        });
    }
    for (auto& t : threads) t.join();
    coalescer.Flush();
    // Flush covers the touches made before it: a run still in flight finished, or Flush ran one.
    EXPECT_EQ(seen.load(), 800);
    EXPECT_LT(coalescer.runs(), 800u);
}

}  // namespace
}  // namespace emporium
