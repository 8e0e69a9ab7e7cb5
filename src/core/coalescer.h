// Runs an action at most once per window however often it is asked for: the first Touch after the
// action last started schedules it one window later, and every Touch until then rides along with
// it. For work whose result may be up to one window old: the catalog cache after orders change
// stock, emptied once a second rather than once per order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace emporium {

class Coalescer {
public:
    // A window of 0 runs the action at once on the thread that touches (no thread of its own).
    // Otherwise the action runs on this object's thread; it must not call Touch or Flush.
    Coalescer(std::chrono::milliseconds window, std::function<void()> action);
    ~Coalescer();  // runs what is pending, then stops
    Coalescer(const Coalescer&) = delete;
    Coalescer& operator=(const Coalescer&) = delete;

    // Asks for the action: it starts within one window from now.
    void Touch();
    // Runs a pending action now, on the caller's thread. On return, every Touch made before the
    // call is covered by an action that has finished.
    void Flush();

    std::chrono::milliseconds window() const { return window_; }
    std::uint64_t touches() const;
    std::uint64_t runs() const;  // actions started

private:
    void Loop();
    // Runs the action if one is pending; needs run_mutex_.
    void RunPending();

    const std::chrono::milliseconds window_;
    const std::function<void()> action_;
    std::mutex run_mutex_;      // held while the action runs: one run at a time
    mutable std::mutex mutex_;  // guards the fields below
    std::condition_variable wake_;
    bool pending_ = false;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point due_;
    std::uint64_t touches_ = 0;
    std::uint64_t runs_ = 0;
    std::thread thread_;  // last: it starts once the fields above are ready
};

}  // namespace emporium
