#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <mutex>
#include <thread>

#include "accounts/accounts.h"
#include "accounts/accounts_routes.h"
#include "analytics/analytics.h"
#include "analytics/analytics_routes.h"
#include "app/commands.h"
#include "app/wiring.h"
#include "catalog/catalog.h"
#include "catalog/catalog_routes.h"
#include "core/clock.h"
#include "core/contact.h"
#include "core/log.h"
#include "core/rate_limiter.h"
#include "core/read_cache.h"
#include "core/text.h"
#include "delivery/delivery.h"
#include "delivery/delivery_routes.h"
#include "events/dispatcher.h"
#include "events/queue_watch.h"
#include "events/rabbitmq.h"
#include "http/client.h"
#include "http/server.h"
#include "http/static_files.h"
#include "notify/notify.h"
#include "notify/notify_routes.h"
#include "ops/alerts.h"
#include "ops/backup.h"
#include "ops/faults.h"
#include "ops/metrics.h"
#include "ops/ops_routes.h"
#include "ops/standby.h"
#include "orders/orders.h"
#include "orders/orders_routes.h"
#include "orders/payment.h"

namespace emporium::app {
namespace {

std::filesystem::path DefaultWebDir(const std::string& program_path) {
    // build/emporium -> web/dist of the same checkout; falls back to ./web/dist.
    std::error_code ec;
    std::filesystem::path program = std::filesystem::canonical("/proc/self/exe", ec);
    if (ec) program = std::filesystem::absolute(program_path);
    std::filesystem::path beside = program.parent_path().parent_path() / "web" / "dist";
    if (std::filesystem::is_directory(beside, ec)) return beside;
    return std::filesystem::path("web") / "dist";
}

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

namespace {

std::string JsonString(std::string_view text) {
    std::string out = "\"";
    AppendJsonEscaped(out, text);
    return out + "\"";
}

std::optional<std::chrono::seconds> Duration(const std::string& value, const char* setting, const Logger& logger) {
    std::optional<std::chrono::seconds> d = ParseDuration(value);
    if (!d) LogError(logger, LogFields("bad setting").Add("setting", setting).Add("value", value));
    return d;
}

// Free share of the disk holding path; nullopt when it cannot be read.
std::optional<double> FreeDiskShare(const std::string& path) {
    struct statvfs fs {};
    if (statvfs(path.c_str(), &fs) != 0 || fs.f_blocks == 0) return std::nullopt;
    return static_cast<double>(fs.f_bavail) / static_cast<double>(fs.f_blocks);
}

// Where alert notices go: texts to the on-call numbers (through the same gateway as customers'
// texts, so without Twilio credentials they land in the log) and JSON posts to alert webhooks.
ops::Alerter::Sink AlertSink(notify::SmsGateway& sms, std::vector<std::string> numbers,
                             std::vector<std::string> webhooks, std::string shop, Logger logger) {
    return [&sms, numbers = std::move(numbers), webhooks = std::move(webhooks), shop = std::move(shop),
            logger = std::move(logger)](const ops::AlertNotice& n) {
        const std::string text = n.Text(shop);
        for (const std::string& to : numbers) {
            notify::SendOutcome sent = sms.Send(to, text);
            if (sent.kind == notify::SendOutcome::Kind::kRetry) sent = sms.Send(to, text);  // one quick second try
            LogInfo(logger, LogFields("alert text")
                                .Add("rule", n.rule)
                                .Add("to", MaskPhone(to))
                                .Add("gateway", sms.name())
                                .Add("result", sent.kind == notify::SendOutcome::Kind::kSent   ? "sent"
                                               : sent.kind == notify::SendOutcome::Kind::kKept ? "kept locally"
                                                                                               : sent.error));
        }
        const char* state = n.kind == ops::AlertNotice::Kind::kResolved ? "resolved" : "firing";
        const std::string body = boost::json::serialize(boost::json::object{{"rule", n.rule},
                                                                            {"state", state},
                                                                            {"value", n.value},
                                                                            {"threshold", n.threshold},
                                                                            {"since", FormatRfc3339(n.since)},
                                                                            {"text", text}});
        for (const std::string& url : webhooks) {
            http::HttpCall call;
            call.url = url;
            call.body = body;
            call.headers = {"Content-Type: application/json"};
            call.timeout = std::chrono::seconds(5);
            http::HttpAnswer answer = http::Perform(call);
            LogInfo(
                logger,
                LogFields("alert webhook").Add("rule", n.rule).Add("status", static_cast<long long>(answer.status)));
        }
    };
}

}  // namespace

int Serve(const ServeOptions& options) {
    Logger logger = MakeLogger(options.log_level);
    const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    const bool standby_mode = !options.standby_primary.empty();
    auto ttl = Duration(options.cache_ttl, "cache-ttl", logger);
    auto backup_interval = Duration(options.backup_interval, "backup-interval", logger);
    auto standby_interval = Duration(options.standby_interval, "standby-interval", logger);
    const AlertSettings& a = options.alerts;
    auto alert_interval = Duration(a.interval, "alert-interval", logger);
    auto alert_repeat = Duration(a.repeat, "alert-repeat", logger);
    auto alert_window = Duration(a.window, "alert-window", logger);
    auto error_hold = Duration(a.error_hold, "alert-error-hold", logger);
    auto latency_hold = Duration(a.latency_hold, "alert-latency-hold", logger);
    auto not_ready_hold = Duration(a.not_ready_hold, "alert-not-ready-hold", logger);
    auto backlog_age = Duration(a.backlog_age, "alert-backlog-age", logger);
    if (!ttl || !backup_interval || !standby_interval || !alert_interval || !alert_repeat || !alert_window ||
        !error_hold || !latency_hold || !not_ready_hold || !backlog_age) {
        return 2;
    }
    if (*backup_interval < std::chrono::seconds(1) || *alert_interval < std::chrono::seconds(1)) {
        LogError(
            logger,
            LogFields("bad setting").Add("setting", "backup-interval, alert-interval").Add("value", "at least 1s"));
        return 2;
    }
    std::unique_ptr<DataDirLock> lock = DataDirLock::Acquire(options.data_dir);
    if (!lock) {
        LogError(logger, LogFields("data directory in use").Add("data_dir", options.data_dir));
        return 2;
    }
    SystemClock clock;
    RateLimiter per_address(clock, options.rate_limit, options.rate_burst);
    RateLimiter signin_per_address(clock, options.signin_per_minute / 60.0, options.signin_per_minute);
    RateLimiter signin_per_account(clock, options.signin_per_account_minute / 60.0, options.signin_per_account_minute);
    RateLimiter signup_per_address(clock, options.signin_per_minute / 60.0, options.signin_per_minute);

    ops::FaultSwitch faults;
    std::atomic<bool> read_only{standby_mode};
    http::ServerOptions server_options;
    server_options.io_threads = options.io_threads > 0 ? options.io_threads : cores;
    server_options.worker_threads = options.workers > 0 ? options.workers : 4 * cores;
    server_options.heavy_threads = options.hash_threads > 0 ? options.hash_threads : cores;
    // A short queue: an admitted sign-in waits a few hashes at most; the rest are told to retry.
    server_options.heavy_queue_limit = options.hash_queue > 0
                                           ? static_cast<std::size_t>(options.hash_queue)
                                           : static_cast<std::size_t>(4 * server_options.heavy_threads);
    server_options.body_limit = static_cast<std::size_t>(options.body_limit);
    server_options.max_connections = static_cast<std::size_t>(options.max_connections);
    server_options.max_in_flight = static_cast<std::size_t>(options.max_in_flight);
    server_options.max_queue_wait = std::chrono::milliseconds(options.max_queue_wait_ms);
    server_options.rate_limiter = &per_address;
    server_options.trusted_proxies = SplitList(options.trusted_proxies);
    if (options.faults) server_options.fault = [&faults] { return faults.Next(); };
    server_options.read_only = [&read_only] { return read_only.load(); };

    ops::Metrics metrics;
    CoreServices core = OpenCoreServices(
        options.data_dir, server_options.worker_threads + server_options.heavy_threads,
        [&metrics](double seconds) { metrics.ObserveQuery(seconds); }, clock);
    db::Database& database = *core.database;
    accounts::PiiVault& vault = *core.vault;
    accounts::AccountService& accounts_service = *core.accounts;
    catalog::CatalogService& catalog = *core.catalog;
    orders::OrderService& orders_service = *core.orders;
    http::Authenticator authenticate = accounts::MakeAuthenticator(accounts_service);

    ReadCache catalog_cache(clock, *ttl, static_cast<std::size_t>(options.cache_entries));
    metrics.AddCallback("emporium_cache_hits_total", "counter", "Read-through cache hits", "cache=\"catalog\"",
                        [&] { return static_cast<double>(catalog_cache.hits()); });
    metrics.AddCallback("emporium_cache_misses_total", "counter", "Read-through cache misses", "cache=\"catalog\"",
                        [&] { return static_cast<double>(catalog_cache.misses()); });
    metrics.AddCallback("emporium_cache_entries", "gauge", "Entries held by a read-through cache", "cache=\"catalog\"",
                        [&] { return static_cast<double>(catalog_cache.size()); });
    // Read-your-writes on this node; the "cache" subscriber below covers changes made elsewhere.
    orders_service.OnStockChanged([&catalog](std::int64_t product_id) { catalog.NotifyChanged(product_id); });
    if (!standby_mode) orders_service.PurgeIdempotencyKeys();
    // Recommendations (src/recommend): the model in use, its versions and retraining.
    std::unique_ptr<RecsServing> recs = RecsServing::Open(database, options.data_dir, options.recs, clock, logger);
    if (!recs) return 2;

    // Side effects. Declared before the dispatcher, so the dispatcher (which calls into them)
    // stops first.
    std::optional<notify::CourierOptions> courier = CourierOptionsFrom(options.notify, logger);
    if (!courier) return 2;
    std::unique_ptr<notify::SmsGateway> sms = OpenSmsGateway(options.notify, *courier, logger);
    notify::NotifyService notifier(database, vault, accounts_service, orders_service, catalog, *sms, clock, logger,
                                   *courier);
    AddNotifyMetrics(metrics, notifier, clock);
    events::DeadLetters dead_letters(database, clock);
    // Seller analytics: rollups fed by the order events, product views and add-to-carts counted here.
    analytics::AnalyticsService analytics_service(database, catalog, clock);
    orders_service.OnCartAdded(
        [&analytics_service](std::int64_t product_id) { analytics_service.CountCart(product_id); });

    const std::string backup_dir = options.backup_dir.empty()
                                       ? (std::filesystem::path(options.data_dir) / "backups").string()
                                       : options.backup_dir;
    ops::BackupStore backups(database, backup_dir, options.backup_retention, clock, logger);
    ops::BackupSchedule backup_schedule(backups, *backup_interval, clock);
    metrics.AddCallback("emporium_backup_last_success_timestamp_seconds", "gauge",
                        "When the newest complete backup was taken", "",
                        [&backups] { return static_cast<double>(backups.LastSuccessAt().value_or(0)); });

    // Everything a primary runs and a standby does not: event delivery, texts, backups. A standby
    // starts them when it is promoted, after the last backup it loaded, so that the dispatcher
    // reads the primary's progress from that backup.
    std::unique_ptr<events::AmqpPublisher> publisher;
    std::unique_ptr<events::Dispatcher> dispatcher;
    std::mutex primary_mutex;  // guards dispatcher's creation (promotion runs on a request thread)
    const bool in_process = options.events == "inprocess";
    auto start_primary = [&] {
        std::lock_guard guard(primary_mutex);
        if (dispatcher) return;
        auto d = std::make_unique<events::Dispatcher>(database, clock, logger, events::DispatcherOptions{});
        d->Add({"cache", {"product.changed", "order.placed", "order.cancelled"}, [&catalog](const events::Event&) {
                    catalog.NotifyChanged(0);
                    return events::Outcome::Done();
                }});
        if (in_process) {
            // Added before the first build, so that no event falls between the two.
            if (options.analytics == "inprocess") {
                d->Add(
                    {"analytics", {"order.*"}, [&](const events::Event& e) { return analytics_service.OnEvent(e); }});
            }
            d->Add({"notify", {"order.*"}, [&](const events::Event& e) { return notifier.OnOrderEvent(e); }});
            d->Add({"webhooks", {}, [&](const events::Event& e) { return notifier.OnWebhookEvent(e); }});
        } else {
            publisher = std::make_unique<events::AmqpPublisher>(events::AmqpSettings{AmqpUrl()}, logger);
            d->Add({"rabbitmq", {}, [&](const events::Event& e) { return publisher->Publish(e); }});
        }
        events::Dispatcher* raw = d.get();
        orders_service.OnEventsCommitted([raw] { raw->Wake(); });
        catalog.OnProductChanged([raw](std::int64_t) { raw->Wake(); });
        AddEventMetrics(metrics, *raw, clock);
        dispatcher = std::move(d);
        if (in_process && options.analytics == "inprocess" && analytics_service.BuildIfNeeded()) {
            LogInfo(logger, LogFields("analytics built from the orders"));
        }
        analytics_service.StartFlusher(std::chrono::seconds(2));
        dispatcher->Start();
        if (in_process) notifier.Start();
        // Authorizations a crash left without an order are voided; captures it interrupted, done.
        orders_service.StartReconciler(std::chrono::seconds(60), std::chrono::minutes(10),
                                       [&logger](const orders::ReconcileReport& r) {
                                           if (r.voided + r.captured + r.failed == 0) return;
                                           LogInfo(logger, LogFields("payments reconciled")
                                                               .Add("voided", static_cast<long long>(r.voided))
                                                               .Add("captured", static_cast<long long>(r.captured))
                                                               .Add("failed", static_cast<long long>(r.failed)));
                                       });
        backup_schedule.Start();
        recs->Start();
        read_only = false;
    };
    auto progress = [&]() -> std::vector<events::LaneProgress> {
        std::lock_guard guard(primary_mutex);
        return dispatcher ? dispatcher->Progress() : std::vector<events::LaneProgress>{};
    };

    std::unique_ptr<ops::Standby> standby;
    if (standby_mode) {
        const char* token = std::getenv("EMPORIUM_REPLICATION_TOKEN");
        standby = std::make_unique<ops::Standby>(
            database,
            ops::StandbyOptions{options.standby_primary, token ? token : "", *standby_interval,
                                (std::filesystem::path(options.data_dir) / "standby").string()},
            clock, logger, [&catalog](const ops::BackupManifest&) { catalog.NotifyChanged(0); });
    }

    ops::RequestWindow window(clock);  // what the alert rules read
    http::Server server(server_options, logger, [&metrics, &window](const http::RequestRecord& r) {
        metrics.ObserveRequest(r.listener, r.route, r.method, r.status, r.seconds);
        if (r.listener == "public") window.Record(r.route, r.status, r.seconds);
    });
    metrics.AddCallback("emporium_http_requests_in_flight", "gauge", "Requests being handled", "",
                        [&] { return static_cast<double>(server.in_flight()); });
    metrics.AddCallback("emporium_http_worker_queue_wait_seconds", "gauge",
                        "How long the oldest request waiting for a worker has waited; past --max-queue-wait-ms "
                        "new ones are shed",
                        "", [&] { return std::chrono::duration<double>(server.worker_queue_wait()).count(); });
    auto ready = [&]() {
        if (server.draining()) return false;
        try {
            return database.Read([](db::Connection& c) { return c.QueryInt("SELECT 1") == 1; });
        } catch (const std::exception&) {
            return false;
        }
    };
    metrics.AddCallback("emporium_ready", "gauge", "1 when the shop can serve", "",
                        [&] { return ready() ? 1.0 : 0.0; });
    metrics.AddCallback("emporium_data_dir_free_ratio", "gauge", "Share of the data directory's disk that is free", "",
                        [&] { return FreeDiskShare(options.data_dir).value_or(0); });

    // The shop's own alerts: the same rules as deploy/prometheus/emporium-rules.yml.
    std::vector<ops::AlertRule> rules;
    rules.push_back({"high_error_ratio", "the 5xx share of requests over " + a.window,
                     [&window, w = *alert_window, min = a.min_requests]() -> std::optional<double> {
                         ops::RequestWindow::Figures f = window.Totals(w);
                         if (f.requests < min) return std::nullopt;
                         return f.ErrorRatio();
                     },
                     a.error_ratio, false, *error_hold, "%"});
    for (const std::string& group : ops::RequestWindow::Groups()) {
        if (group == "other") continue;
        rules.push_back(
            {"slow_" + group, "the p99 latency of " + group + " requests over " + a.window,
             [&window, group, w = *alert_window, min = a.min_requests] { return window.P99(group, w, min); },
             static_cast<double>(a.latency_p99_ms) / 1000.0, false, *latency_hold, "s"});
    }
    rules.push_back({"not_ready", "readiness (1 ready, 0 not)",
                     [&]() -> std::optional<double> { return ready() ? 1 : 0; }, 0.5, true, *not_ready_hold, ""});
    rules.push_back({"event_backlog", "the age of the oldest undelivered event",
                     [&]() -> std::optional<double> {
                         std::optional<double> oldest;
                         for (const events::LaneProgress& p : progress()) {
                             if (!p.oldest_pending) continue;
                             double age = static_cast<double>(UnixSeconds(clock.Now()) - *p.oldest_pending);
                             oldest = std::max(oldest.value_or(0), age);
                         }
                         return dispatcher ? std::optional<double>(oldest.value_or(0)) : std::nullopt;
                     },
                     static_cast<double>(backlog_age->count()), false, std::chrono::seconds(0), "s"});
    rules.push_back({"message_backlog", "the age of the oldest unsent text or webhook post",
                     [&]() -> std::optional<double> {
                         if (!in_process || read_only) return std::nullopt;
                         auto q = notifier.QueueDepth();
                         return q.oldest_created_at
                                    ? static_cast<double>(UnixSeconds(clock.Now()) - *q.oldest_created_at)
                                    : 0.0;
                     },
                     static_cast<double>(backlog_age->count()), false, std::chrono::seconds(0), "s"});
    rules.push_back({"backup_stale", "the age of the newest good backup",
                     [&]() -> std::optional<double> {
                         if (read_only) return std::nullopt;
                         std::optional<std::int64_t> last = backups.LastSuccessAt();
                         if (!last) return std::nullopt;  // the first one is being taken
                         return static_cast<double>(UnixSeconds(clock.Now()) - *last);
                     },
                     static_cast<double>(backup_interval->count()) * 1.5 + 300, false, std::chrono::seconds(0), "s"});
    rules.push_back({"disk_low", "the free share of the data directory's disk",
                     [&] { return FreeDiskShare(options.data_dir); }, a.disk_free, true, std::chrono::seconds(60),
                     "%"});
    ops::Alerter alerter(std::move(rules),
                         AlertSink(*sms, SplitList(a.sms_to), SplitList(a.webhook), catalog.Store().name, logger),
                         clock, logger, ops::AlerterOptions{*alert_interval, *alert_repeat});
    delivery::DeliveryService delivery_service(database, clock);  // CI/CD metrics; alerts open incidents
    alerter.Observe(IncidentLog(delivery_service, read_only));

    http::Router public_router;
    catalog::AddRoutes(public_router, catalog, catalog_cache, authenticate);
    recs->AddRoutes(public_router, catalog_cache, authenticate);
    accounts::AddRoutes(public_router, accounts_service, authenticate,
                        {&signin_per_address, &signin_per_account, &signup_per_address});
    orders::AddRoutes(public_router, orders_service, authenticate, vault);
    notify::AdminRoutesDeps admin_deps{&notifier, &dead_letters, progress, {}};
    if (!in_process) admin_deps.broker_queues = [] { return events::ReadQueueStats(events::AmqpSettings{AmqpUrl()}); };
    notify::AddAdminRoutes(public_router, std::move(admin_deps), authenticate);
    ops::AddAdminOpsRoutes(public_router, backups, &alerter, authenticate);
    analytics::AddRoutes(public_router,
                         {&analytics_service, &catalog, &clock,
                          [&accounts_service](std::int64_t id) {
                              Result<accounts::User> user = accounts_service.Profile(id);
                              return user.ok() && user->role == Role::kSeller;
                          },
                          [&]() -> std::optional<std::int64_t> {
                              std::lock_guard guard(primary_mutex);
                              if (!dispatcher) return std::nullopt;
                              return dispatcher->Progress("analytics").oldest_pending;
                          }},
                         authenticate);
    {
        std::vector<std::string> currencies{catalog.Store().currency};
        for (const analytics::CurrencyTotals& t : analytics_service.ShopTotals()) {
            if (currencies.size() < 20 && t.currency != currencies.front()) currencies.push_back(t.currency);
        }
        AddAnalyticsMetrics(metrics, analytics_service, currencies);
        metrics.AddCallback("emporium_analytics_lag_seconds", "gauge",
                            "Age of the oldest order event the sales reports do not show yet", "", [&] {
                                std::lock_guard guard(primary_mutex);
                                if (!dispatcher) return 0.0;
                                auto oldest = dispatcher->Progress("analytics").oldest_pending;
                                return oldest ? static_cast<double>(UnixSeconds(clock.Now()) - *oldest) : 0.0;
                            });
    }
    delivery::AddRoutes(public_router, delivery_service, authenticate, clock);
    // What worker autoscaling reads (deploy/k8s): the broker's queue depths, polled off the scrape path.
    std::unique_ptr<events::QueueWatch> queue_watch;
    if (!in_process) {
        queue_watch =
            std::make_unique<events::QueueWatch>(events::AmqpSettings{AmqpUrl()}, std::chrono::seconds(5), logger);
        AddBrokerMetrics(metrics, *queue_watch);
        queue_watch->Start();
    }
    std::filesystem::path web_dir =
        options.web_dir.empty() ? DefaultWebDir(options.program_path) : std::filesystem::path(options.web_dir);
    std::unique_ptr<http::StaticFiles> web = http::StaticFiles::Load(web_dir);
    public_router.SetFallback(
        {"GET", "static", [&web](const http::Request& r) { return web->Serve(r); }, {}, /*inline_only=*/true});

    http::Router internal_router;
    ops::AddOpsRoutes(internal_router, metrics, ready);
    // The public routes, for the test that checks every one against every scope and role.
    internal_router.Get("/internal/routes", [&public_router](const http::Request&) {
        boost::json::array items;
        for (const auto& [method, pattern] : public_router.List()) {
            items.push_back(boost::json::object{{"method", method}, {"pattern", pattern}});
        }
        return http::Response::Json(200, boost::json::serialize(boost::json::object{{"items", std::move(items)}}));
    });
    const char* replication_token = std::getenv("EMPORIUM_REPLICATION_TOKEN");
    ops::AddReplicationRoutes(internal_router, backups, replication_token ? replication_token : "");
    if (options.faults) ops::AddFaultRoutes(internal_router, faults);
    internal_router.Get("/internal/role", [&](const http::Request&) {
        std::string role = read_only ? "standby" : "primary";
        std::string applied = standby && standby->applied() ? standby->applied()->name : "";
        std::string body = "{\"role\":\"" + role + "\",\"applied_backup\":";
        body += JsonString(applied);
        return http::Response::Json(200, body + "}");
    });
    internal_router.Post("/internal/promote", [&](const http::Request&) {
        if (!standby)
            return http::Response::Json(
                409,
                R"({"error":{"code":"not_a_standby","message":"This shop is already the primary.","details":{}}})");
        const auto started = std::chrono::steady_clock::now();
        standby->Promote();
        start_primary();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::string applied = standby->applied() ? standby->applied()->name : "";
        LogInfo(logger, LogFields("promoted").Add("applied_backup", applied).Add("seconds", seconds));
        std::string body = "{\"role\":\"primary\",\"applied_backup\":";
        body += JsonString(applied);
        return http::Response::Json(200, body + ",\"seconds\":" + std::to_string(seconds) + "}");
    });

    std::uint16_t port = server.Listen({"public", options.bind, options.port, &public_router, true, "", ""});
    long long tls_port = -1;
    if (options.tls_port >= 0) {
        if (options.tls_cert.empty() || options.tls_key.empty()) {
            LogError(
                logger,
                LogFields("bad setting").Add("setting", "tls-port").Add("value", "needs --tls-cert and --tls-key"));
            return 2;
        }
        tls_port = server.Listen({"public", options.bind, static_cast<std::uint16_t>(options.tls_port), &public_router,
                                  true, options.tls_cert, options.tls_key});
    }
    std::uint16_t internal_port =
        server.Listen({"internal", options.internal_bind, options.internal_port, &internal_router, false, "", ""});
    if (!standby_mode) accounts_service.PurgeExpired();
    LogInfo(logger, LogFields("listening")
                        .Add("port", static_cast<long long>(port))
                        .Add("internal_port", static_cast<long long>(internal_port))
                        .Add("tls_port", tls_port)
                        .Add("data_dir", options.data_dir)
                        .Add("web_dir", web_dir.string())
                        .Add("web_files", static_cast<long long>(web->size()))
                        .Add("io_threads", static_cast<long long>(server_options.io_threads))
                        .Add("workers", static_cast<long long>(server_options.worker_threads))
                        .Add("events", options.events)
                        .Add("sms", sms->name())
                        .Add("role", standby_mode ? "standby" : "primary")
                        .Add("pii_key", vault.ActiveKeyId()));
    if (standby) {
        standby->Start();
    } else {
        start_primary();
    }
    alerter.Start();
    server.Run();
    recs->Stop();
    alerter.Stop();
    if (standby) standby->Promote();  // stops copying
    if (dispatcher) dispatcher->Stop();
    analytics_service.StopFlusher();
    orders_service.StopReconciler();
    notifier.Stop();
    backup_schedule.Stop();
    return 0;
}

}  // namespace emporium::app
