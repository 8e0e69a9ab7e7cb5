// `emporium worker`: consumes events from RabbitMQ and performs the side effects (texts and
// webhooks) apart from the web nodes, which stay stateless. Health and metrics are served on an
// internal listener; SIGINT or SIGTERM stops it after the message in hand.
#include <atomic>
#include <thread>

#include "analytics/analytics.h"
#include "app/commands.h"
#include "app/reload.h"
#include "app/wiring.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/text.h"
#include "events/dispatcher.h"
#include "events/rabbitmq.h"
#include "http/server.h"
#include "notify/notify.h"
#include "ops/metrics.h"
#include "ops/ops_routes.h"

namespace emporium::app {
namespace {

// The subscribers named by --only; nullopt (and a log line) when it names none or an unknown one.
std::optional<std::vector<std::string>> Subscribers(const std::string& only, const Logger& logger) {
    std::vector<std::string> names = SplitList(only);
    for (const std::string& name : names) {
        if (name != "notify" && name != "webhooks" && name != "analytics") {
            LogError(logger, LogFields("bad setting").Add("setting", "only").Add("value", name));
            return std::nullopt;
        }
    }
    if (names.empty()) {
        LogError(logger, LogFields("bad setting").Add("setting", "only").Add("value", "names no subscriber"));
        return std::nullopt;
    }
    return names;
}

std::vector<events::Subscriber> MakeSubscribers(const std::vector<std::string>& names, notify::NotifyService& notifier,
                                                analytics::AnalyticsService& analytics, const Logger& logger) {
    std::vector<events::Subscriber> subscribers;
    for (const std::string& name : names) {
        if (name == "analytics") {
            if (analytics.BuildIfNeeded()) LogInfo(logger, LogFields("analytics built from the orders"));
            subscribers.push_back(
                {"analytics", {"order.*"}, [&analytics](const events::Event& e) { return analytics.OnEvent(e); }});
        } else if (name == "notify") {
            subscribers.push_back(
                {"notify", {"order.*"}, [&notifier](const events::Event& e) { return notifier.OnOrderEvent(e); }});
        } else {
            subscribers.push_back(
                {"webhooks", {}, [&notifier](const events::Event& e) { return notifier.OnWebhookEvent(e); }});
        }
    }
    return subscribers;
}

}  // namespace

int Worker(const WorkerOptions& options) {
    Logger logger = MakeLogger(options.log_level);
    LogThreadJoin log_thread_join;
    SystemClock clock;
    std::optional<std::vector<std::string>> only = Subscribers(options.only, logger);
    if (!only) return 2;
    std::optional<notify::CourierOptions> courier = CourierOptionsFrom(options.notify, logger);
    if (!courier) return 2;

    ops::Metrics metrics;
    std::unique_ptr<tracing::Tracer> tracer = MakeTracer(options.tracing, "emporium-worker");
    if (tracer) AddTraceMetrics(metrics, *tracer);
    courier->tracer = tracer.get();
    // Connections: the consumers' threads, the courier's senders and its lease recovery.
    CoreServices core = OpenCoreServices(
        options.data_dir, options.database, 4 + options.notify.senders,
        [&metrics](double s) { metrics.ObserveQuery(s); }, clock);
    std::unique_ptr<notify::SmsGateway> sms = OpenSmsGateway(options.notify, *courier, logger);
    notify::NotifyService notifier(*core.database, *core.vault, *core.accounts, *core.orders, *core.catalog, *sms,
                                   clock, logger, *courier);
    events::DeadLetters dead_letters(*core.database, clock);
    AddNotifyMetrics(metrics, notifier, clock);
    analytics::AnalyticsService analytics_service(*core.database, *core.catalog, clock);
    std::vector<events::Subscriber> subscribers = MakeSubscribers(*only, notifier, analytics_service, logger);

    http::ServerOptions server_options;
    server_options.io_threads = 1;
    server_options.worker_threads = 2;
    http::Server server(server_options, logger, [&metrics](const http::RequestRecord& r) {
        metrics.ObserveRequest(r.listener, r.route, r.method, r.status, r.seconds);
    });
    http::Router internal_router;
    ops::AddOpsRoutes(
        internal_router, metrics, [&] { return !server.draining(); }, BinaryDigest());
    std::uint16_t internal_port =
        server.Listen({"internal", options.internal_bind, options.internal_port, &internal_router, false, "", ""});

    std::atomic<bool> stop{false};
    events::AmqpSettings amqp{AmqpUrl()};
    notifier.Start();
    events::ConsumerOptions consumer_options;
    consumer_options.tracer = tracer.get();
    std::vector<std::thread> threads;
    threads.reserve(subscribers.size());
    for (const events::Subscriber& s : subscribers) {
        threads.emplace_back([&, s] { events::Consume(amqp, s, consumer_options, dead_letters, stop, logger); });
    }
    LogInfo(logger, LogFields("worker running")
                        .Add("only", options.only)
                        .Add("internal_port", static_cast<long long>(internal_port))
                        .Add("sms", sms->name())
                        .Add("data_dir", options.data_dir)
                        .Add("database", db::Redacted(DatabaseUrl(options.data_dir, options.database))));
    server.Run();  // until SIGINT or SIGTERM
    stop = true;
    for (std::thread& t : threads) t.join();
    notifier.Stop();
    LogInfo(logger, LogFields("worker stopped"));
    return 0;
}

}  // namespace emporium::app
