// Failover duties of a serving process on SQLite (docs/OPERATIONS.md, "Warm standby and
// promotion"): a standby that promotes itself once its primary has failed every health check for
// --promote-after, and a primary that fences itself (takes no more writes, gives up its jobs) when
// one of its --peer nodes is the primary of a later term: it has been replaced while it was away.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "ops/failover.h"

namespace emporium::app {

class FailoverDuties {
public:
    struct Settings {
        std::string primary_url;                     // a standby's primary (internal listener); empty on a primary
        std::chrono::milliseconds promote_after{0};  // 0: a standby waits for `emporium promote`
        std::vector<std::string> peers;              // other nodes' internal listeners, asked for their term
    };
    struct Hooks {
        std::function<void()> promote;       // turns this standby into the primary
        std::function<std::int64_t()> term;  // this node's term now
        std::function<void(const std::string& peer, std::int64_t peer_term)> fence;
    };

    FailoverDuties(Settings settings, Hooks hooks, Logger logger);
    ~FailoverDuties();
    FailoverDuties(const FailoverDuties&) = delete;
    FailoverDuties& operator=(const FailoverDuties&) = delete;

    // Asks every peer once, now; fences this node (through hooks.fence) and returns true when one
    // is the primary of a later term. A primary calls it before it takes writes.
    bool CheckPeers();
    // Starts watching: the primary on a standby (when promote_after is set), the peers on a primary.
    void Start(bool standby);
    void Stop();  // idempotent

private:
    bool CheckPrimary();  // one health check; false once promoted

    Settings settings_;
    Hooks hooks_;
    Logger logger_;
    ops::PromotionRule rule_;  // used by the watch's thread only
    std::unique_ptr<ops::Watch> watch_;
};

}  // namespace emporium::app
