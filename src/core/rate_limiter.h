// Token buckets keyed by a string (a client address, an account): `rate` tokens a second up to
// `burst`. Idle buckets are dropped so the table stays bounded by active clients.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace emporium {

class RateLimiter {
public:
    // rate <= 0 turns the limiter off: every Take succeeds.
    RateLimiter(const Clock& clock, double rate, double burst, std::size_t max_keys = 100000);

    // Takes one token for key. 0 when allowed; otherwise the whole seconds to wait before a
    // token is available (at least 1), for Retry-After.
    int Take(std::string_view key);

    bool enabled() const { return rate_ > 0; }

private:
    struct Bucket {
        double tokens;
        std::chrono::system_clock::time_point updated;
    };
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    void Sweep(std::chrono::system_clock::time_point now);

    const Clock& clock_;
    const double rate_;
    const double burst_;
    const std::size_t max_keys_;
    std::mutex mutex_;  // guards buckets_
    std::unordered_map<std::string, Bucket, Hash, std::equal_to<>> buckets_;
};

}  // namespace emporium
