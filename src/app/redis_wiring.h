// What a serving node builds from --redis: the client, the limiters (shared through Redis or the
// node's own), the metrics and the alert rule. Without --redis a node keeps its own cache and limits.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/log.h"
#include "core/rate_limiter.h"
#include "ops/alerts.h"
#include "ops/metrics.h"
#include "redis/client.h"
#include "redis/shared_cache.h"
#include "redis/shared_limiter.h"

namespace emporium::app {

// Checks --redis before anything opens: false (and an error in the log that never repeats a
// password) when the URL is malformed. Warns when a password came on the command line rather than
// from EMPORIUM_REDIS_URL (the process list shows flags).
bool CheckRedisSetting(const std::string& url, const Logger& logger);

// A client for url (already checked), not started; null when url is empty. pool_size: the threads
// that may send commands at once (the request workers and the limiters' reporting threads);
// timeout: for each read and write of a command.
std::unique_ptr<redis::Client> MakeRedisClient(const std::string& url, std::size_t pool_size,
                                               std::chrono::milliseconds timeout, Logger logger);

// A node's limiters: shared through Redis when client is set (one budget per client across nodes,
// each node's own bucket alone while Redis is out of reach), else the node's own.
class NodeLimiters {
public:
    NodeLimiters(const Clock& clock, redis::Client* client);
    // A limiter named name ("requests", "signin_address", "signin_account": part of its Redis keys
    // and its metric label). It lives as long as this object.
    Limiter& Add(const std::string& name, double rate, double burst, RateLimiter::Keys keys);
    // Stops the shared limiters' reporting threads (before the client stops).
    void Stop();
    // emporium_rate_limit_*_total per limiter, when shared.
    void AddMetrics(ops::Metrics& metrics) const;

private:
    static constexpr std::size_t kMaxKeys = 100000;
    const Clock& clock_;
    redis::Client* client_;
    std::vector<std::pair<std::string, std::unique_ptr<Limiter>>> limiters_;
};

// emporium_redis_up, emporium_redis_errors_total{kind}, emporium_redis_reconnects_total and the
// shared level's emporium_cache_{hits,misses}_total{cache="shared"} (cache may be null: none).
// Fixed label values only.
void AddRedisMetrics(ops::Metrics& metrics, const redis::Client& client, const redis::SharedCache* cache);

// redis_down: Redis has been out of reach (commands or the invalidation subscription) for hold.
ops::AlertRule RedisDownRule(const redis::Client& client, std::chrono::seconds hold);

}  // namespace emporium::app
