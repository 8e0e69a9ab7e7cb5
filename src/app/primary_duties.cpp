#include "app/primary_duties.h"

namespace emporium::app {
namespace {

// Each lane's backlog and the age of its oldest waiting event, read at scrape time.
void AddEventMetrics(ops::Metrics& metrics, events::Dispatcher& dispatcher, const Clock& clock) {
    for (const events::LaneProgress& lane : dispatcher.Progress()) {
        const std::string labels = "subscriber=\"" + lane.name + "\"";
        auto find = [&dispatcher, name = lane.name]() { return dispatcher.Progress(name); };
        metrics.AddCallback("emporium_events_backlog", "gauge", "Outbox events a subscriber has not handled yet",
                            labels, [find] { return static_cast<double>(find().backlog); });
        metrics.AddCallback("emporium_events_oldest_pending_seconds", "gauge",
                            "Age of the oldest outbox event a subscriber has not handled yet", labels, [find, &clock] {
                                events::LaneProgress p = find();
                                if (!p.oldest_pending) return 0.0;
                                return static_cast<double>(UnixSeconds(clock.Now()) - *p.oldest_pending);
                            });
    }
}

}  // namespace

PrimaryDuties::PrimaryDuties(Deps deps) : deps_(std::move(deps)) {}

void PrimaryDuties::Start() {
    std::lock_guard guard(mutex_);
    if (dispatcher_) return;
    std::unique_ptr<events::Dispatcher> d = MakeDispatcher();
    events::Dispatcher* raw = d.get();
    deps_.orders.OnEventsCommitted([raw] { raw->Wake(); });
    deps_.catalog.OnProductChanged([raw](std::int64_t) { raw->Wake(); });
    AddEventMetrics(deps_.metrics, *raw, deps_.clock);
    dispatcher_ = std::move(d);
    dispatcher_->Start();
    if (deps_.in_process) deps_.notifier.Start();
    // Authorizations a crash left without an order are voided; captures it interrupted, done.
    deps_.orders.StartReconciler(std::chrono::seconds(60), std::chrono::minutes(10),
                                 [logger = deps_.logger](const orders::ReconcileReport& r) {
                                     if (r.voided + r.captured + r.failed == 0) return;
                                     LogInfo(logger, LogFields("payments reconciled")
                                                         .Add("voided", static_cast<long long>(r.voided))
                                                         .Add("captured", static_cast<long long>(r.captured))
                                                         .Add("failed", static_cast<long long>(r.failed)));
                                 });
    deps_.backups.Start();
    deps_.read_only = false;
}

std::vector<events::LaneProgress> PrimaryDuties::Progress() const {
    std::lock_guard guard(mutex_);
    return dispatcher_ ? dispatcher_->Progress() : std::vector<events::LaneProgress>{};
}

std::optional<double> PrimaryDuties::OldestPendingAge() const {
    // One look under the lock: whether the duties run and their progress belong together (the
    // alert thread asks while a promotion may be starting them).
    std::vector<events::LaneProgress> lanes;
    {
        std::lock_guard guard(mutex_);
        if (!dispatcher_) return std::nullopt;
        lanes = dispatcher_->Progress();
    }
    double oldest = 0;
    for (const events::LaneProgress& p : lanes) {
        if (p.oldest_pending)
            oldest = std::max(oldest, static_cast<double>(UnixSeconds(deps_.clock.Now()) - *p.oldest_pending));
    }
    return oldest;
}

void PrimaryDuties::Stop() {
    std::lock_guard guard(mutex_);
    if (dispatcher_) dispatcher_->Stop();
}

std::unique_ptr<events::Dispatcher> PrimaryDuties::MakeDispatcher() {
    auto d =
        std::make_unique<events::Dispatcher>(deps_.database, deps_.clock, deps_.logger, events::DispatcherOptions{});
    catalog::CatalogService& catalog = deps_.catalog;
    d->Add({"cache", {"product.changed", "order.placed", "order.cancelled"}, [&catalog](const events::Event&) {
                catalog.NotifyChanged(0);
                return events::Outcome::Done();
            }});
    notify::NotifyService& notifier = deps_.notifier;
    if (deps_.in_process) {
        d->Add({"notify", {"order.*"}, [&notifier](const events::Event& e) { return notifier.OnOrderEvent(e); }});
        d->Add({"webhooks", {}, [&notifier](const events::Event& e) { return notifier.OnWebhookEvent(e); }});
    } else {
        publisher_ = std::make_unique<events::AmqpPublisher>(events::AmqpSettings{deps_.amqp_url}, deps_.logger);
        events::AmqpPublisher& publisher = *publisher_;
        d->Add({"rabbitmq", {}, [&publisher](const events::Event& e) { return publisher.Publish(e); }});
    }
    return d;
}

}  // namespace emporium::app
