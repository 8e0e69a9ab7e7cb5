// A bounded read-through cache of prepared answers (serialised responses, with their compressed
// encodings made once: core/prepared_text.h) with a TTL and LRU eviction. A hit shares the value:
// nothing is copied.
// Bounded by bytes (what a cache costs in memory) and by entries, whichever is reached first.
// Invalidation is race-free: a value computed from data read before an invalidation is refused
// by Put, so a change is visible to the next read right after the write commits.
//
// With several nodes, this in-process cache is the first level in front of a SharedCacheLevel
// (Redis, src/redis/shared_cache.h) that every node reads and that tells every node's first level
// when to drop its entries.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/prepared_text.h"

namespace emporium {

struct ReadCacheLimits {
    // Keys, values and the bookkeeping of each entry (kEntryOverhead). 0 turns the cache off.
    std::size_t max_bytes = std::size_t{64} * 1024 * 1024;
    std::size_t max_entries = 20000;  // 0 turns the cache off
};

class ReadCache {
public:
    // What one entry costs beyond its key and value: the hash node, the LRU node and the key's
    // second copy's header, rounded up.
    static constexpr std::size_t kEntryOverhead = 160;

    // A lookup's outcome: the value on a hit; on a miss, the ticket to pass to Put.
    struct Lookup {
        std::shared_ptr<const PreparedText> value;  // null on a miss
        std::uint64_t ticket = 0;
    };

    ReadCache(const Clock& clock, std::chrono::seconds ttl, ReadCacheLimits limits);

    // The live value for key, or a miss with a ticket. Expired entries count as misses; a probe
    // that will be followed by a counted Get (a fast path, say) passes count_miss = false. A hit
    // makes the entry the most recently used.
    Lookup Get(std::string_view key, bool count_miss = true);

    // Stores value under key unless an invalidation happened since the Get that gave ticket,
    // evicting the least recently used entries until both bounds hold. A value that alone costs
    // more than max_bytes is not stored (and drops what key held).
    void Put(std::string key, std::shared_ptr<const PreparedText> value, std::uint64_t ticket);
    // The same for plain text (made into a PreparedText that may be sent compressed).
    void Put(std::string key, std::string value, std::uint64_t ticket);

    // Drops every entry and refuses values computed before this call.
    void InvalidateAll();

    // Does what InvalidateAll does and, from now on, keeps new entries at most cap (nullopt: the
    // full TTL again). For a node that may miss other nodes' invalidations for a while.
    void LimitTtl(std::optional<std::chrono::seconds> cap);

    // What one entry of key and value costs against max_bytes: values count with room for their
    // compressed encodings (PreparedText::MemoryCost), made or not.
    static std::size_t Cost(std::string_view key, const PreparedText& value);

    std::uint64_t hits() const;
    std::uint64_t misses() const;
    std::uint64_t evictions() const;  // entries dropped to make room (not expiries or invalidations)
    std::size_t size() const;         // entries
    std::size_t bytes() const;        // the sum of the entries' Cost

private:
    struct Entry {
        std::shared_ptr<const PreparedText> value;
        std::chrono::system_clock::time_point expires;
        std::list<std::string>::iterator lru;
    };
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    using Map = std::unordered_map<std::string, Entry, Hash, std::equal_to<>>;
    void Erase(Map::iterator it);  // needs mutex_
    void Clear();                  // drops everything, refuses older tickets; needs mutex_

    const Clock& clock_;
    const std::chrono::seconds ttl_;
    const ReadCacheLimits limits_;
    mutable std::mutex mutex_;  // guards everything below
    std::optional<std::chrono::seconds> ttl_cap_;
    Map entries_;
    std::list<std::string> lru_;  // most recently used first
    std::size_t bytes_ = 0;
    std::uint64_t generation_ = 1;
    std::uint64_t hits_ = 0;
    std::uint64_t misses_ = 0;
    std::uint64_t evictions_ = 0;
};

// A cache level shared by every node of the shop, behind each node's ReadCache. Its calls may wait
// for a network round trip: worker threads only, never a network thread. When it cannot be reached
// it fails open: lookups miss and stores are skipped, so answers come from the database.
class SharedCacheLevel {
public:
    virtual ~SharedCacheLevel() = default;

    struct Lookup {
        std::optional<std::string> value;
        // What Put needs to know that nothing changed in between; empty: do not store.
        std::string stamp;
    };
    virtual Lookup Get(std::string_view key) = 0;
    // Stores value unless an invalidation happened since the Get that gave stamp.
    virtual void Put(std::string_view key, std::string_view value, const std::string& stamp) = 0;
    // Drops every entry, for every node; every node's first level hears of it. Call it after the
    // change has committed and before this node's first level is invalidated.
    virtual void InvalidateAll() = 0;
};

}  // namespace emporium
