#include "app/primary_duties.h"

namespace emporium::app {
namespace {

// Each lane's backlog and the age of its oldest waiting event, sampled off the scrape (database reads).
void AddEventMetrics(ops::Metrics& metrics, events::Dispatcher& dispatcher, const Clock& clock) {
    for (const events::LaneProgress& lane : dispatcher.Progress()) {
        const std::string labels = "subscriber=\"" + lane.name + "\"";
        auto find = [&dispatcher, name = lane.name]() { return dispatcher.Progress(name); };
        metrics.AddSampledCallback("emporium_events_backlog", "gauge", "Outbox events a subscriber has not handled yet",
                                   labels, [find] { return static_cast<double>(find().backlog); });
        metrics.AddSampledCallback("emporium_events_oldest_pending_seconds", "gauge",
                                   "Age of the oldest outbox event a subscriber has not handled yet", labels,
                                   [find, &clock] {
                                       events::LaneProgress p = find();
                                       if (!p.oldest_pending) return 0.0;
                                       return static_cast<double>(UnixSeconds(clock.Now()) - *p.oldest_pending);
                                   });
    }
}

}  // namespace

PrimaryDuties::PrimaryDuties(Deps deps) : deps_(std::move(deps)) {}

void PrimaryDuties::Start() {
    events::Dispatcher* raw = nullptr;
    {
        std::lock_guard guard(mutex_);
        if (dispatcher_) return;
        std::unique_ptr<events::Dispatcher> d = MakeDispatcher();
        raw = d.get();
        deps_.orders.OnEventsCommitted([raw] { raw->Wake(); });
        deps_.catalog.OnProductChanged([raw](std::int64_t) { raw->Wake(); });
        dispatcher_ = std::move(d);
    }
    // Outside mutex_: a scrape holds the metrics' lock while its callbacks (OldestPending, the
    // analytics lag) take mutex_, so taking the metrics' lock under mutex_ could deadlock. The
    // dispatcher lives as long as this object.
    AddEventMetrics(deps_.metrics, *raw, deps_.clock);
    // Product views are counted on every node and flushed by each.
    deps_.analytics.StartFlusher(std::chrono::seconds(2));
    if (deps_.in_process) deps_.notifier.Start();
    deps_.read_only = false;
}

std::vector<lease::Job> PrimaryDuties::Jobs() {
    std::vector<lease::Job> jobs;
    jobs.push_back({"events", [this](const lease::Holding&) { StartEvents(); }, [this] { StopEvents(); }, {}, {}});
    // Authorizations a crash left without an order are voided; captures it interrupted, done.
    jobs.push_back({"reconciler",
                    [this](const lease::Holding&) {
                        deps_.orders.StartReconciler(
                            std::chrono::seconds(60), std::chrono::minutes(10),
                            [logger = deps_.logger](const orders::ReconcileReport& r) {
                                if (r.voided + r.captured + r.failed == 0) return;
                                LogInfo(logger, LogFields("payments reconciled")
                                                    .Add("voided", static_cast<long long>(r.voided))
                                                    .Add("captured", static_cast<long long>(r.captured))
                                                    .Add("failed", static_cast<long long>(r.failed)));
                            });
                    },
                    [this] { deps_.orders.StopReconciler(); },
                    {},
                    {}});
    jobs.push_back({"backups",
                    [this](const lease::Holding&) { deps_.backups.Start(); },
                    [this] { deps_.backups.Stop(); },
                    {},
                    {}});
    return jobs;
}

void PrimaryDuties::StartEvents() {
    std::lock_guard guard(mutex_);
    if (!dispatcher_) return;
    // After the analytics lane exists and before it runs, so that no event falls between the
    // build and the lane: the build counts what was committed before it, the lane the rest.
    if (deps_.analytics_in_process && deps_.analytics.BuildIfNeeded()) {
        LogInfo(deps_.logger, LogFields("analytics built from the orders"));
    }
    dispatcher_->Start();
}

void PrimaryDuties::StopEvents() {
    std::lock_guard guard(mutex_);
    if (dispatcher_) dispatcher_->Stop();
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

std::optional<std::int64_t> PrimaryDuties::OldestPending(const std::string& lane) const {
    std::lock_guard guard(mutex_);
    if (!dispatcher_) return std::nullopt;
    return dispatcher_->Progress(lane).oldest_pending;
}

void PrimaryDuties::Stop() {
    StopEvents();
    deps_.analytics.StopFlusher();
}

std::unique_ptr<events::Dispatcher> PrimaryDuties::MakeDispatcher() {
    events::DispatcherOptions options;
    options.tracer = deps_.tracer;
    auto d = std::make_unique<events::Dispatcher>(deps_.database, deps_.clock, deps_.logger, options);
    catalog::CatalogService& catalog = deps_.catalog;
    d->Add({"cache",
            {"product.changed", "order.placed", "order.cancelled"},
            [&catalog, &stock_changed = deps_.stock_changed](const events::Event& e) {
                if (e.type != "product.changed" && stock_changed) {
                    stock_changed();
                } else {
                    catalog.NotifyChanged(0);
                }
                return events::Outcome::Done();
            }});
    notify::NotifyService& notifier = deps_.notifier;
    if (deps_.in_process) {
        if (deps_.analytics_in_process) {
            analytics::AnalyticsService& analytics = deps_.analytics;
            d->Add({"analytics", {"order.*"}, [&analytics](const events::Event& e) { return analytics.OnEvent(e); }});
        }
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
