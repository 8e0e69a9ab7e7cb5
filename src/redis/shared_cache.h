// The catalog's second cache level, shared by every node through Redis. Values are the serialised
// answers, stored under the current generation's keys with the cache TTL. A change anywhere bumps
// the generation (INCR) and announces it (PUBLISH) in one script; every node's first level
// (ReadCache) drops its entries when it hears the announcement, so a change is seen on every node
// within the time a pub/sub message takes (milliseconds), and entries of old generations simply
// expire.
//
// Every lookup reads the generation and the value in one script, and a store is refused when the
// generation moved since its lookup: a value computed from data read before a change is never
// stored under the new generation.
//
// What a node may miss, and what it does about it:
// - Not subscribed (Redis unreachable, a reconnect in progress): announcements may pass it by, so
//   it does not read the shared level, its first level keeps entries for at most kUnsubscribedTtl,
//   and it drops them all when it is subscribed again.
// - A change it could not announce (Redis unreachable): it is announced when Redis answers again,
//   and until then this node does not read the shared level (which may hold entries older than the
//   change).
// - A Redis restart (a new run_id): a server restored from a snapshot may hold entries older than
//   changes made since, so the first node to notice bumps the generation.
// Redis unreachable: lookups miss and stores are skipped: answers come from the database.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/read_cache.h"
#include "redis/client.h"

namespace emporium::redis {

class SharedCache final : public SharedCacheLevel {
public:
    // How long first-level entries live while this node may miss announcements: the bound on how
    // stale a page can be on a node that lost its subscription.
    static constexpr std::chrono::seconds kUnsubscribedTtl{1};
    // Larger answers are not stored in Redis (catalog pages are far smaller).
    static constexpr std::size_t kMaxValueBytes = std::size_t{4} * 1024 * 1024;

    // Subscribes to the announcements through client: construct it before client.Start(). Until
    // the subscription is established, first_level keeps entries for kUnsubscribedTtl only.
    // client and first_level must outlive this object, client must be stopped before it goes (the
    // client's thread calls into it), and ttl must be positive.
    SharedCache(Client& client, ReadCache& first_level, std::chrono::seconds ttl);

    Lookup Get(std::string_view key) override;
    void Put(std::string_view key, std::string_view value, const std::string& stamp) override;
    void InvalidateAll() override;

    std::uint64_t hits() const { return hits_.load(); }
    std::uint64_t misses() const { return misses_.load(); }  // lookups that reached Redis and missed
    // Announcements of changes (by any node, this one included) this node has heard.
    std::uint64_t heard() const { return heard_.load(); }
    // Changes made on this node that are not announced yet (Redis was unreachable).
    std::uint64_t unannounced() const { return unannounced_.load(); }
    // Whether announcements reach this node (and so the shared level is read).
    bool subscribed() const { return subscribed_.load(); }

private:
    // Bumps the generation and announces it; true when it did, which pays what was owed when it
    // started. Callers count the change they announce in unannounced_ first.
    bool Announce();
    void OnSubscribed(bool subscribed, std::string_view run_id);  // on the client's thread

    Client& client_;
    ReadCache& first_level_;
    const std::string ttl_ms_;
    std::atomic<bool> subscribed_{false};
    std::atomic<std::uint64_t> unannounced_{0};
    std::atomic<std::uint64_t> hits_{0};
    std::atomic<std::uint64_t> misses_{0};
    std::atomic<std::uint64_t> heard_{0};
    std::string run_id_;  // the server's, as of the last subscription; the client's thread only
};

}  // namespace emporium::redis
