#include "core/read_cache.h"

#include <algorithm>

#include "tracing/span.h"

namespace emporium {

ReadCache::ReadCache(const Clock& clock, std::chrono::seconds ttl, ReadCacheLimits limits)
    : clock_(clock), ttl_(ttl), limits_(limits) {}

std::size_t ReadCache::Cost(std::string_view key, const PreparedText& value) {
    return kEntryOverhead + 2 * key.size() + value.MemoryCost();  // the key sits in the map and the LRU list
}

ReadCache::Lookup ReadCache::Get(std::string_view key, bool count_miss) {
    tracing::Span span("cache.lookup");
    span.Set("cache.level", "memory");
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
        if (clock_.Now() < it->second.expires) {
            lru_.splice(lru_.begin(), lru_, it->second.lru);
            ++hits_;
            span.Set("cache.result", "hit");
            return Lookup{it->second.value, generation_};
        }
        Erase(it);
    }
    if (count_miss) ++misses_;
    span.Set("cache.result", "miss");
    return Lookup{nullptr, generation_};
}

void ReadCache::Put(std::string key, std::string value, std::uint64_t ticket) {
    Put(std::move(key), PreparedText::Make(std::move(value)), ticket);
}

void ReadCache::Put(std::string key, std::shared_ptr<const PreparedText> value, std::uint64_t ticket) {
    if (limits_.max_entries == 0 || limits_.max_bytes == 0 || ttl_.count() <= 0 || !value) return;
    const std::size_t cost = Cost(key, *value);
    std::lock_guard lock(mutex_);
    if (ticket != generation_) return;  // computed from data older than an invalidation
    if (auto it = entries_.find(key); it != entries_.end()) Erase(it);
    if (cost > limits_.max_bytes) return;
    while (!lru_.empty() && (entries_.size() >= limits_.max_entries || bytes_ + cost > limits_.max_bytes)) {
        Erase(entries_.find(lru_.back()));
        ++evictions_;
    }
    lru_.push_front(key);
    bytes_ += cost;
    const std::chrono::seconds ttl = ttl_cap_ ? std::min(ttl_, *ttl_cap_) : ttl_;
    entries_.emplace(std::move(key), Entry{std::move(value), clock_.Now() + ttl, lru_.begin()});
}

void ReadCache::Erase(Map::iterator it) {
    bytes_ -= Cost(it->first, *it->second.value);
    lru_.erase(it->second.lru);
    entries_.erase(it);
}

void ReadCache::InvalidateAll() {
    std::lock_guard lock(mutex_);
    Clear();
}

void ReadCache::Clear() {
    entries_.clear();
    lru_.clear();
    bytes_ = 0;
    ++generation_;
}

void ReadCache::LimitTtl(std::optional<std::chrono::seconds> cap) {
    std::lock_guard lock(mutex_);
    Clear();
    ttl_cap_ = cap;
}

std::uint64_t ReadCache::hits() const {
    std::lock_guard lock(mutex_);
    return hits_;
}

std::uint64_t ReadCache::misses() const {
    std::lock_guard lock(mutex_);
    return misses_;
}

std::uint64_t ReadCache::evictions() const {
    std::lock_guard lock(mutex_);
    return evictions_;
}

std::size_t ReadCache::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

std::size_t ReadCache::bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

}  // namespace emporium
