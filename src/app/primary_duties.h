// Everything a primary runs and a standby does not: event delivery (in this process, or published
// to RabbitMQ for workers), texts, the sales rollups, the payment reconciler and backups. A standby starts them when it
// is promoted, after the last backup it loaded, so that the dispatcher reads the primary's progress from that backup.
// Event delivery, the reconciler and backups must run on one node of many: each is a job of the
// process's LeaseKeeper (Jobs), started and stopped as its lease is taken and lost.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "analytics/analytics.h"
#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/log.h"
#include "db/database.h"
#include "events/dispatcher.h"
#include "events/rabbitmq.h"
#include "lease/lease.h"
#include "notify/notify.h"
#include "ops/backup.h"
#include "ops/metrics.h"
#include "orders/orders.h"

namespace emporium::tracing {
class Tracer;
}

namespace emporium::app {

class PrimaryDuties {
public:
    struct Deps {
        db::Database& database;
        const Clock& clock;
        Logger logger;
        catalog::CatalogService& catalog;
        orders::OrderService& orders;
        notify::NotifyService& notifier;
        ops::Metrics& metrics;
        ops::BackupSchedule& backups;
        std::atomic<bool>& read_only;  // cleared once the duties run
        bool in_process;               // --events inprocess: this process sends texts and webhooks
        std::string amqp_url;          // --events rabbitmq: the broker events are published to
        analytics::AnalyticsService& analytics;
        bool analytics_in_process;  // --events inprocess and --analytics inprocess: this process applies order events
        tracing::Tracer* tracer;    // event dispatch spans; null: none
        // Orders changed stock (placed, cancelled: possibly on another node): the catalog cache
        // is to be refreshed, within the shop's --stock-refresh. Empty: the cache is emptied at once.
        std::function<void()> stock_changed = {};
    };
    explicit PrimaryDuties(Deps deps);
    PrimaryDuties(const PrimaryDuties&) = delete;
    PrimaryDuties& operator=(const PrimaryDuties&) = delete;

    // Prepares event delivery and starts what runs on every node (the texts' senders, which share
    // work through their own per-message leases); later calls do nothing. Safe from any thread:
    // promotion calls it from a request while the alert rules read the figures below.
    void Start();

    // The leased jobs: "events" (the outbox's delivery lanes), "reconciler" (payments) and
    // "backups". Add them to the keeper before either Start; the keeper starts them after Start.
    std::vector<lease::Job> Jobs();

    // Each lane's progress; empty before Start.
    std::vector<events::LaneProgress> Progress() const;

    // Seconds since the oldest event no lane has handled was written (0 when none waits);
    // nullopt before Start, when no events are delivered here.
    std::optional<double> OldestPendingAge() const;

    // When the oldest event `lane` has not handled was written (Unix seconds); nullopt when none
    // waits, before Start, or when no such lane runs here.
    std::optional<std::int64_t> OldestPending(const std::string& lane) const;

    // Stops event delivery after the event in hand, then the funnel counts' flusher. Call once the
    // server has drained.
    void Stop();

private:
    std::unique_ptr<events::Dispatcher> MakeDispatcher();
    void StartEvents();
    void StopEvents();

    Deps deps_;
    // Guards publisher_ and dispatcher_: every read of them, not only their creation, since the
    // alert thread reads while a promotion (on a request thread) may be creating them.
    mutable std::mutex mutex_;
    std::unique_ptr<events::AmqpPublisher> publisher_;
    std::unique_ptr<events::Dispatcher> dispatcher_;
};

}  // namespace emporium::app
