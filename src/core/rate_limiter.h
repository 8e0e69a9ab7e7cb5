// Token buckets keyed by a string (a client address, an account): `rate` tokens a second up to
// `burst`. The table is bounded: past max_keys the least recently used buckets are dropped (a
// bucket idle that long has mostly refilled anyway), never the busy ones, so a flood of new keys
// cannot reset the budget of a client that is being limited.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace emporium {

// The key a client address is limited by: an IPv6 address by its /64 (one subscriber's network,
// which holds 2^64 addresses to rotate through), an IPv4-mapped IPv6 address as the IPv4 address,
// anything else (an IPv4 address, unparseable text) as it is.
std::string AddressKey(std::string_view address);

class RateLimiter {
public:
    enum class Keys {
        kText,           // keys are used as given (an email, say)
        kClientAddress,  // keys are client addresses, limited by AddressKey
    };

    // rate <= 0 turns the limiter off: every Take succeeds.
    RateLimiter(const Clock& clock, double rate, double burst, std::size_t max_keys = 100000, Keys keys = Keys::kText);

    // Takes one token for key. 0 when allowed; otherwise the whole seconds to wait before a
    // token is available (at least 1), for Retry-After.
    int Take(std::string_view key);

    bool enabled() const { return rate_ > 0; }

    // Buckets held now; never more than max_keys.
    std::size_t size() const;

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct Bucket {
        double tokens;
        std::chrono::system_clock::time_point updated;
        std::list<std::string>::iterator recency;
    };
    using Map = std::unordered_map<std::string, Bucket, Hash, std::equal_to<>>;
    // Finds or makes key's bucket and marks it the most recently used. Needs mutex_.
    Bucket& Touch(std::string_view key, std::chrono::system_clock::time_point now);
    void DropOldest();  // needs mutex_

    const Clock& clock_;
    const double rate_;
    const double burst_;
    const std::size_t max_keys_;
    const Keys keys_;
    mutable std::mutex mutex_;  // guards buckets_ and recency_
    Map buckets_;
    std::list<std::string> recency_;  // keys, most recently used first
};

}  // namespace emporium
