#include "core/read_cache.h"

namespace emporium {

ReadCache::ReadCache(const Clock& clock, std::chrono::seconds ttl, std::size_t max_entries)
    : clock_(clock), ttl_(ttl), max_entries_(max_entries) {}

ReadCache::Lookup ReadCache::Get(std::string_view key, bool count_miss) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
        if (clock_.Now() < it->second.expires) {
            lru_.splice(lru_.begin(), lru_, it->second.lru);
            ++hits_;
            return Lookup{it->second.value, generation_};
        }
        lru_.erase(it->second.lru);
        entries_.erase(it);
    }
    if (count_miss) ++misses_;
    return Lookup{std::nullopt, generation_};
}

void ReadCache::Put(std::string key, std::string value, std::uint64_t ticket) {
    if (max_entries_ == 0 || ttl_.count() <= 0) return;
    std::lock_guard lock(mutex_);
    if (ticket != generation_) return;  // computed from data older than an invalidation
    auto expires = clock_.Now() + ttl_;
    auto it = entries_.find(key);
    if (it != entries_.end()) {
        it->second.value = std::move(value);
        it->second.expires = expires;
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        return;
    }
    while (entries_.size() >= max_entries_ && !lru_.empty()) {
        entries_.erase(lru_.back());
        lru_.pop_back();
    }
    lru_.push_front(key);
    entries_.emplace(std::move(key), Entry{std::move(value), expires, lru_.begin()});
}

void ReadCache::InvalidateAll() {
    std::lock_guard lock(mutex_);
    entries_.clear();
    lru_.clear();
    ++generation_;
}

std::uint64_t ReadCache::hits() const {
    std::lock_guard lock(mutex_);
    return hits_;
}

std::uint64_t ReadCache::misses() const {
    std::lock_guard lock(mutex_);
    return misses_;
}

std::size_t ReadCache::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace emporium
