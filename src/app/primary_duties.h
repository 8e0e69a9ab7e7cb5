// Everything a primary runs and a standby does not: event delivery (in this process, or published
// to RabbitMQ for workers), texts, the payment reconciler and backups. A standby starts them when it is promoted, after
// the last backup it loaded, so that the dispatcher reads the primary's progress from that backup.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/log.h"
#include "db/database.h"
#include "events/dispatcher.h"
#include "events/rabbitmq.h"
#include "notify/notify.h"
#include "ops/backup.h"
#include "ops/metrics.h"
#include "orders/orders.h"

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
    };
    explicit PrimaryDuties(Deps deps);
    PrimaryDuties(const PrimaryDuties&) = delete;
    PrimaryDuties& operator=(const PrimaryDuties&) = delete;

    // Starts the duties; later calls do nothing. Safe from any thread: promotion calls it from a
    // request while the alert rules read the figures below.
    void Start();

    // Each lane's progress; empty before Start.
    std::vector<events::LaneProgress> Progress() const;

    // Seconds since the oldest event no lane has handled was written (0 when none waits);
    // nullopt before Start, when no events are delivered here.
    std::optional<double> OldestPendingAge() const;

    // Stops event delivery after the event in hand. Call once the server has drained.
    void Stop();

private:
    std::unique_ptr<events::Dispatcher> MakeDispatcher();

    Deps deps_;
    // Guards publisher_ and dispatcher_: every read of them, not only their creation, since the
    // alert thread reads while a promotion (on a request thread) may be creating them.
    mutable std::mutex mutex_;
    std::unique_ptr<events::AmqpPublisher> publisher_;
    std::unique_ptr<events::Dispatcher> dispatcher_;
};

}  // namespace emporium::app
