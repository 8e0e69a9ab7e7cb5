#include "core/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace emporium {

RateLimiter::RateLimiter(const Clock& clock, double rate, double burst, std::size_t max_keys)
    : clock_(clock), rate_(rate), burst_(std::max(1.0, burst)), max_keys_(max_keys) {}

int RateLimiter::Take(std::string_view key) {
    if (rate_ <= 0) return 0;
    const auto now = clock_.Now();
    std::lock_guard lock(mutex_);
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_keys_) Sweep(now);
        it = buckets_.emplace(std::string(key), Bucket{burst_, now}).first;
    }
    Bucket& b = it->second;
    double elapsed = std::chrono::duration<double>(now - b.updated).count();
    if (elapsed > 0) {
        b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
        b.updated = now;
    }
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return 0;
    }
    return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate_)));
}

void RateLimiter::Sweep(std::chrono::system_clock::time_point now) {
    // A bucket that would be full again carries no memory worth keeping.
    const double refill_seconds = burst_ / rate_;
    std::erase_if(buckets_, [&](const auto& entry) {
        return std::chrono::duration<double>(now - entry.second.updated).count() >= refill_seconds;
    });
    if (buckets_.size() >= max_keys_) buckets_.clear();  // under a flood of new keys: start over
}

}  // namespace emporium
