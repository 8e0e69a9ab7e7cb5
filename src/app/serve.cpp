#include <spdlog/spdlog.h>

#include <filesystem>
#include <sstream>
#include <thread>

#include "accounts/accounts.h"
#include "accounts/accounts_routes.h"
#include "app/commands.h"
#include "app/wiring.h"
#include "catalog/catalog.h"
#include "catalog/catalog_routes.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/rate_limiter.h"
#include "core/read_cache.h"
#include "core/text.h"
#include "events/dispatcher.h"
#include "events/rabbitmq.h"
#include "http/server.h"
#include "http/static_files.h"
#include "notify/notify.h"
#include "notify/notify_routes.h"
#include "ops/metrics.h"
#include "ops/ops_routes.h"
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

std::vector<std::string> SplitList(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

// Each lane's backlog and the age of its oldest waiting event, read at scrape time.
void AddEventMetrics(ops::Metrics& metrics, events::Dispatcher& dispatcher, const Clock& clock) {
    for (const events::LaneProgress& lane : dispatcher.Progress()) {
        const std::string labels = "subscriber=\"" + lane.name + "\"";
        auto find = [&dispatcher, name = lane.name]() {
            for (events::LaneProgress& p : dispatcher.Progress()) {
                if (p.name == name) return p;
            }
            return events::LaneProgress{};
        };
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

int Serve(const ServeOptions& options) {
    Logger logger = MakeLogger(options.log_level);
    const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    std::optional<std::chrono::seconds> ttl = ParseDuration(options.cache_ttl);
    if (!ttl) {
        LogError(logger, LogFields("bad setting").Add("setting", "cache-ttl").Add("value", options.cache_ttl));
        return 2;
    }
    SystemClock clock;
    RateLimiter per_address(clock, options.rate_limit, options.rate_burst);
    RateLimiter signin_per_address(clock, options.signin_per_minute / 60.0, options.signin_per_minute);
    RateLimiter signin_per_account(clock, options.signin_per_account_minute / 60.0, options.signin_per_account_minute);
    RateLimiter signup_per_address(clock, options.signin_per_minute / 60.0, options.signin_per_minute);

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
    server_options.rate_limiter = &per_address;
    server_options.trusted_proxies = SplitList(options.trusted_proxies);

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
    orders_service.PurgeIdempotencyKeys();

    // Side effects. Declared before the dispatcher, so the dispatcher (which calls into them)
    // stops first.
    std::optional<notify::CourierOptions> courier = CourierOptionsFrom(options.notify, logger);
    if (!courier) return 2;
    std::unique_ptr<notify::SmsGateway> sms = OpenSmsGateway(options.notify, *courier, logger);
    notify::NotifyService notifier(database, vault, accounts_service, orders_service, catalog, *sms, clock, logger,
                                   *courier);
    std::unique_ptr<events::AmqpPublisher> publisher;
    events::Dispatcher dispatcher(database, clock, logger, events::DispatcherOptions{});
    dispatcher.Add({"cache", {"product.changed", "order.placed", "order.cancelled"}, [&catalog](const events::Event&) {
                        catalog.NotifyChanged(0);
                        return events::Outcome::Done();
                    }});
    const bool in_process = options.events == "inprocess";
    if (in_process) {
        dispatcher.Add({"notify", {"order.*"}, [&](const events::Event& e) { return notifier.OnOrderEvent(e); }});
        dispatcher.Add({"webhooks", {}, [&](const events::Event& e) { return notifier.OnWebhookEvent(e); }});
    } else {
        publisher = std::make_unique<events::AmqpPublisher>(events::AmqpSettings{AmqpUrl()}, logger);
        dispatcher.Add({"rabbitmq", {}, [&](const events::Event& e) { return publisher->Publish(e); }});
    }
    orders_service.OnEventsCommitted([&dispatcher] { dispatcher.Wake(); });
    catalog.OnProductChanged([&dispatcher](std::int64_t) { dispatcher.Wake(); });
    AddEventMetrics(metrics, dispatcher, clock);
    AddNotifyMetrics(metrics, notifier, clock);

    http::Server server(server_options, logger, [&metrics](const http::RequestRecord& r) {
        metrics.ObserveRequest(r.listener, r.route, r.method, r.status, r.seconds);
    });
    metrics.AddCallback("emporium_http_requests_in_flight", "gauge", "Requests being handled", "",
                        [&] { return static_cast<double>(server.in_flight()); });

    http::Router public_router;
    catalog::AddRoutes(public_router, catalog, catalog_cache, authenticate);
    accounts::AddRoutes(public_router, accounts_service, authenticate,
                        {&signin_per_address, &signin_per_account, &signup_per_address});
    orders::AddRoutes(public_router, orders_service, authenticate, vault);
    notify::AddAdminRoutes(
        public_router, {&notifier, &dispatcher.dead_letters(), [&] { return dispatcher.Progress(); }}, authenticate);
    std::filesystem::path web_dir =
        options.web_dir.empty() ? DefaultWebDir(options.program_path) : std::filesystem::path(options.web_dir);
    std::unique_ptr<http::StaticFiles> web = http::StaticFiles::Load(web_dir);
    public_router.SetFallback(
        {"GET", "static", [&web](const http::Request& r) { return web->Serve(r); }, {}, /*inline_only=*/true});

    http::Router internal_router;
    ops::AddOpsRoutes(internal_router, metrics, [&]() {
        if (server.draining()) return false;
        try {
            return database.Read([](db::Connection& c) { return c.QueryInt("SELECT 1") == 1; });
        } catch (const std::exception&) {
            return false;
        }
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
    accounts_service.PurgeExpired();
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
                        .Add("pii_key", vault.ActiveKeyId()));
    dispatcher.Start();
    if (in_process) notifier.Start();
    server.Run();
    dispatcher.Stop();
    notifier.Stop();
    return 0;
}

}  // namespace emporium::app
