#include "core/rate_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

namespace emporium {

std::string AddressKey(std::string_view address) {
    std::string text(address);
    std::array<unsigned char, 16> bytes{};
    if (text.find(':') == std::string::npos || inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1) return text;
    constexpr std::array<unsigned char, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char out[INET6_ADDRSTRLEN] = {};
    if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes.begin())) {
        inet_ntop(AF_INET, bytes.data() + 12, out, sizeof out);
        return out;
    }
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    inet_ntop(AF_INET6, bytes.data(), out, sizeof out);
    return std::string(out) + "/64";
}

RateLimiter::RateLimiter(const Clock& clock, double rate, double burst, std::size_t max_keys, Keys keys)
    : clock_(clock),
      rate_(rate),
      burst_(std::max(1.0, burst)),
      max_keys_(std::max<std::size_t>(1, max_keys)),
      keys_(keys) {}

int RateLimiter::Take(std::string_view key) {
    if (rate_ <= 0) return 0;
    const std::string address_key = keys_ == Keys::kClientAddress ? AddressKey(key) : std::string();
    if (keys_ == Keys::kClientAddress) key = address_key;
    const auto now = clock_.Now();
    std::lock_guard lock(mutex_);
    Bucket& b = Touch(key, now);
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

RateLimiter::Bucket& RateLimiter::Touch(std::string_view key, std::chrono::system_clock::time_point now) {
    if (auto it = buckets_.find(key); it != buckets_.end()) {
        recency_.splice(recency_.begin(), recency_, it->second.recency);
        return it->second;
    }
    // A bucket idle long enough to be full again carries nothing worth keeping: drop a couple of
    // those from the old end on each new key, so that the table follows the active clients.
    const double refill_seconds = burst_ / rate_;
    for (int i = 0; i < 2 && !recency_.empty(); ++i) {
        const Bucket& oldest = buckets_.find(recency_.back())->second;
        if (std::chrono::duration<double>(now - oldest.updated).count() < refill_seconds) break;
        DropOldest();
    }
    while (buckets_.size() >= max_keys_) DropOldest();
    recency_.emplace_front(key);
    return buckets_.emplace(recency_.front(), Bucket{burst_, now, recency_.begin()}).first->second;
}

void RateLimiter::DropOldest() {
    buckets_.erase(buckets_.find(recency_.back()));
    recency_.pop_back();
}

std::size_t RateLimiter::size() const {
    std::lock_guard lock(mutex_);
    return buckets_.size();
}

}  // namespace emporium
