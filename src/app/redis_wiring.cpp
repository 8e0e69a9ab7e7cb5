#include "app/redis_wiring.h"

#include <cstdlib>

namespace emporium::app {

bool CheckRedisSetting(const std::string& url, const Logger& logger) {
    if (url.empty()) return true;
    std::string error;
    std::optional<redis::Url> parsed = redis::ParseUrl(url, &error);
    if (!parsed) {
        LogError(logger, LogFields("bad setting").Add("setting", "redis").Add("value", "the URL " + error));
        return false;
    }
    const char* env = std::getenv("EMPORIUM_REDIS_URL");
    if (!parsed->password.empty() && (env == nullptr || url != env)) {
        LogWarn(logger, LogFields("password on the command line")
                            .Add("setting", "redis")
                            .Add("advice", "other users can read it in the process list: use EMPORIUM_REDIS_URL"));
    }
    return true;
}

std::unique_ptr<redis::Client> MakeRedisClient(const std::string& url, std::size_t pool_size,
                                               std::chrono::milliseconds timeout, Logger logger) {
    if (url.empty()) return nullptr;
    std::optional<redis::Url> parsed = redis::ParseUrl(url, nullptr);
    if (!parsed) throw std::invalid_argument("unchecked --redis");
    redis::ClientOptions options;
    options.pool_size = pool_size;
    options.command_timeout = timeout;
    options.connect_timeout = 2 * timeout;
    return std::make_unique<redis::Client>(std::move(*parsed), options, std::move(logger));
}

NodeLimiters::NodeLimiters(const Clock& clock, redis::Client* client) : clock_(clock), client_(client) {}

Limiter& NodeLimiters::Add(const std::string& name, double rate, double burst, RateLimiter::Keys keys) {
    std::unique_ptr<Limiter> limiter;
    if (client_) {
        limiter = std::make_unique<redis::SharedRateLimiter>(
            *client_, clock_, redis::SharedRateLimiter::Settings{name, rate, burst, keys, kMaxKeys});
    } else {
        limiter = std::make_unique<RateLimiter>(clock_, rate, burst, kMaxKeys, keys);
    }
    return *limiters_.emplace_back(name, std::move(limiter)).second;
}

void NodeLimiters::Stop() {
    for (auto& [name, limiter] : limiters_) {
        if (auto* shared = dynamic_cast<redis::SharedRateLimiter*>(limiter.get())) shared->Stop();
    }
}

void NodeLimiters::AddMetrics(ops::Metrics& metrics) const {
    for (const auto& [name, limiter] : limiters_) {
        const auto* shared = dynamic_cast<const redis::SharedRateLimiter*>(limiter.get());
        if (!shared) continue;
        const std::string labels = "limiter=\"" + name + "\"";
        metrics.AddCallback("emporium_rate_limit_local_only_total", "counter",
                            "Requests admitted by this node's own bucket alone because Redis was out of reach", labels,
                            [shared] { return static_cast<double>(shared->local_only()); });
        metrics.AddCallback("emporium_rate_limit_reported_total", "counter",
                            "Requests admitted by this node and counted in the client's budget in Redis", labels,
                            [shared] { return static_cast<double>(shared->reported()); });
        metrics.AddCallback("emporium_rate_limit_shared_refusals_total", "counter",
                            "Requests refused because the client's budget across every node was spent", labels,
                            [shared] { return static_cast<double>(shared->refused_shared()); });
    }
}

void AddRedisMetrics(ops::Metrics& metrics, const redis::Client& client, const redis::SharedCache* cache) {
    metrics.AddCallback("emporium_redis_up", "gauge",
                        "1 when Redis answers commands and the cache invalidation subscription holds", "",
                        [&client] { return client.Figures().up ? 1.0 : 0.0; });
    const std::pair<const char*, std::uint64_t redis::ClientFigures::*> kinds[] = {
        {"timeout", &redis::ClientFigures::timeouts},
        {"io", &redis::ClientFigures::io_errors},
        {"reply", &redis::ClientFigures::reply_errors},
        {"busy", &redis::ClientFigures::busy},
    };
    for (const auto& [kind, field] : kinds) {
        metrics.AddCallback("emporium_redis_errors_total", "counter",
                            "Redis commands and connections that failed, by kind (timeout, io, reply, busy)",
                            std::string("kind=\"") + kind + "\"",
                            [&client, member = field] { return static_cast<double>(client.Figures().*member); });
    }
    metrics.AddCallback("emporium_redis_reconnects_total", "counter", "Times Redis came back after being out of reach",
                        "", [&client] { return static_cast<double>(client.Figures().reconnects); });
    if (!cache) return;
    metrics.AddCallback("emporium_cache_hits_total", "counter", "Read-through cache hits", "cache=\"shared\"",
                        [cache] { return static_cast<double>(cache->hits()); });
    metrics.AddCallback("emporium_cache_misses_total", "counter", "Read-through cache misses", "cache=\"shared\"",
                        [cache] { return static_cast<double>(cache->misses()); });
    metrics.AddCallback("emporium_cache_invalidations_heard_total", "counter",
                        "Catalog changes announced through Redis (by any node) that emptied this node's cache", "",
                        [cache] { return static_cast<double>(cache->heard()); });
}

ops::AlertRule RedisDownRule(const redis::Client& client, std::chrono::seconds hold) {
    return {"redis_down",
            "Redis reachability (1 up, 0 down)",
            [&client]() -> std::optional<double> { return client.Figures().up ? 1 : 0; },
            0.5,
            true,
            hold,
            ""};
}

}  // namespace emporium::app
