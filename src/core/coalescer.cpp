#include "core/coalescer.h"

#include <utility>

namespace emporium {

Coalescer::Coalescer(std::chrono::milliseconds window, std::function<void()> action)
    : window_(window), action_(std::move(action)) {
    if (window_.count() > 0) thread_ = std::thread([this] { Loop(); });
}

Coalescer::~Coalescer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    Flush();
}

void Coalescer::Touch() {
    if (window_.count() <= 0) {
        std::lock_guard run(run_mutex_);
        {
            std::lock_guard lock(mutex_);
            ++touches_;
            ++runs_;
        }
        action_();
        return;
    }
    bool first = false;
    {
        std::lock_guard lock(mutex_);
        ++touches_;
        if (!pending_) {
            pending_ = true;
            due_ = std::chrono::steady_clock::now() + window_;
            first = true;
        }
    }
    if (first) wake_.notify_all();
}

void Coalescer::Flush() {
    std::lock_guard run(run_mutex_);
    RunPending();
}

void Coalescer::RunPending() {
    {
        std::lock_guard lock(mutex_);
        if (!pending_) return;
        pending_ = false;
        ++runs_;
    }
    action_();
}

void Coalescer::Loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (!pending_) {
            wake_.wait(lock, [this] { return stopping_ || pending_; });
            continue;
        }
        if (wake_.wait_until(lock, due_, [this] { return stopping_; })) break;
        lock.unlock();
        {
            std::lock_guard run(run_mutex_);
            RunPending();
        }
        lock.lock();
    }
}

std::uint64_t Coalescer::touches() const {
    std::lock_guard lock(mutex_);
    return touches_;
}

std::uint64_t Coalescer::runs() const {
    std::lock_guard lock(mutex_);
    return runs_;
}

}  // namespace emporium
