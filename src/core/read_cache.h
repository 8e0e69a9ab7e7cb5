// A bounded read-through cache of strings (serialised responses) with a TTL and LRU eviction.
// Invalidation is race-free: a value computed from data read before an invalidation is refused
// by Put, so a change is visible to the next read right after the write commits.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace emporium {

class ReadCache {
public:
    // A lookup's outcome: the value on a hit; on a miss, the ticket to pass to Put.
    struct Lookup {
        std::optional<std::string> value;
        std::uint64_t ticket = 0;
    };

    ReadCache(const Clock& clock, std::chrono::seconds ttl, std::size_t max_entries);

    // The live value for key, or a miss with a ticket. Expired entries count as misses; a probe
    // that will be followed by a counted Get (a fast path, say) passes count_miss = false.
    Lookup Get(std::string_view key, bool count_miss = true);

    // Stores value under key unless an invalidation happened since the Get that gave ticket.
    void Put(std::string key, std::string value, std::uint64_t ticket);

    // Drops every entry and refuses values computed before this call.
    void InvalidateAll();

    std::uint64_t hits() const;
    std::uint64_t misses() const;
    std::size_t size() const;

private:
    struct Entry {
        std::string value;
        std::chrono::system_clock::time_point expires;
        std::list<std::string>::iterator lru;
    };
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    const Clock& clock_;
    const std::chrono::seconds ttl_;
    const std::size_t max_entries_;
    mutable std::mutex mutex_;  // guards everything below
    std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
    std::list<std::string> lru_;  // most recently used first
    std::uint64_t generation_ = 1;
    std::uint64_t hits_ = 0;
    std::uint64_t misses_ = 0;
};

}  // namespace emporium
