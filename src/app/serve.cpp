#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <mutex>
#include <thread>
#include <tuple>

#include "accounts/accounts.h"
#include "accounts/accounts_routes.h"
#include "accounts/password_hasher.h"
#include "analytics/analytics.h"
#include "analytics/analytics_routes.h"
#include "apidoc/apidoc.h"
#include "app/commands.h"
#include "app/failover.h"
#include "app/primary_duties.h"
#include "app/redis_wiring.h"
#include "app/reload.h"
#include "app/wiring.h"
#include "catalog/catalog.h"
#include "catalog/catalog_routes.h"
#include "core/clock.h"
#include "core/coalescer.h"
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
#include "handoff/handoff.h"
#include "http/client.h"
#include "http/server.h"
#include "http/static_files.h"
#include "lease/lease.h"
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
#include "tracing/tracing_routes.h"

namespace emporium::app {
namespace {

// The names of the listening sockets handed to a successor (and given by systemd's .socket units:
// FileDescriptorName=).
constexpr const char* kPublicSocket = "public";
constexpr const char* kTlsSocket = "public-tls";
constexpr const char* kInternalSocket = "internal";

std::filesystem::path DefaultWebDir(const std::string& program_path) {
    // build/emporium -> web/dist of the same checkout; falls back to ./web/dist.
    std::error_code ec;
    std::filesystem::path program = std::filesystem::canonical("/proc/self/exe", ec);
    if (ec) program = std::filesystem::absolute(program_path);
    std::filesystem::path beside = program.parent_path().parent_path() / "web" / "dist";
    if (std::filesystem::is_directory(beside, ec)) return beside;
    return std::filesystem::path("web") / "dist";
}

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

// Every duration setting of serve, parsed and checked before anything opens.
struct ServeDurations {
    std::chrono::seconds cache_ttl, stock_refresh, backup_interval, standby_interval, idle_timeout;
    std::chrono::seconds alert_interval, alert_repeat, alert_window;
    std::chrono::seconds error_hold, latency_hold, not_ready_hold, backlog_age, db_pool_hold;
    std::chrono::seconds lease_ttl, promote_after;
};

std::optional<ServeDurations> ParseDurations(const ServeOptions& options, const Logger& logger) {
    const AlertSettings& a = options.alerts;
    ServeDurations d{};
    const std::tuple<const std::string&, const char*, std::chrono::seconds*> settings[] = {
        {options.cache_ttl, "cache-ttl", &d.cache_ttl},
        {options.stock_refresh, "stock-refresh", &d.stock_refresh},
        {options.backup_interval, "backup-interval", &d.backup_interval},
        {options.standby_interval, "standby-interval", &d.standby_interval},
        {options.idle_timeout, "idle-timeout", &d.idle_timeout},
        {a.interval, "alert-interval", &d.alert_interval},
        {a.repeat, "alert-repeat", &d.alert_repeat},
        {a.window, "alert-window", &d.alert_window},
        {a.error_hold, "alert-error-hold", &d.error_hold},
        {a.latency_hold, "alert-latency-hold", &d.latency_hold},
        {a.not_ready_hold, "alert-not-ready-hold", &d.not_ready_hold},
        {a.backlog_age, "alert-backlog-age", &d.backlog_age},
        {a.db_pool_hold, "alert-db-pool-hold", &d.db_pool_hold},
        {options.lease_ttl, "lease-ttl", &d.lease_ttl},
        {options.promote_after, "promote-after", &d.promote_after},
    };
    bool all_parsed = true;
    for (const auto& [value, setting, target] : settings) {
        std::optional<std::chrono::seconds> parsed = Duration(value, setting, logger);
        if (parsed) *target = *parsed;
        all_parsed = all_parsed && parsed;
    }
    if (!all_parsed) return std::nullopt;
    if (d.backup_interval < std::chrono::seconds(1) || d.alert_interval < std::chrono::seconds(1) ||
        d.idle_timeout < std::chrono::seconds(1)) {
        LogError(logger, LogFields("bad setting")
                             .Add("setting", "backup-interval, alert-interval, idle-timeout")
                             .Add("value", "at least 1s"));
        return std::nullopt;
    }
    if (d.lease_ttl < std::chrono::seconds(3)) {
        LogError(logger, LogFields("bad setting").Add("setting", "lease-ttl").Add("value", "at least 3s"));
        return std::nullopt;
    }
    return d;
}

// The token buckets in front of the public routes (with --redis, one budget per client across
// nodes). Sign-up and sign-in share one budget per address (docs/SECURITY.md): both cost a
// password hash, and an attacker must not get twice the guesses by alternating them.
struct Limiters {
    // A sign-in budget's burst: as set, or a minute's worth of attempts; never below one attempt.
    static double Burst(double burst, double per_minute) { return std::max(1.0, burst > 0 ? burst : per_minute); }

    Limiters(NodeLimiters& node, const ServeOptions& o)
        : per_address(node.Add("requests", o.rate_limit, o.rate_burst, RateLimiter::Keys::kClientAddress)),
          signin_per_address(node.Add("signin_address", o.signin_per_minute / 60.0,
                                      Burst(o.signin_burst, o.signin_per_minute), RateLimiter::Keys::kClientAddress)),
          signin_per_account(node.Add("signin_account", o.signin_per_account_minute / 60.0,
                                      Burst(o.signin_per_account_burst, o.signin_per_account_minute),
                                      RateLimiter::Keys::kText)) {}
    Limiter& per_address;
    Limiter& signin_per_address;  // sign-ins and sign-ups
    Limiter& signin_per_account;
};

int Cores() {
    return static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

// How often the figures read from the database (backlogs, queued texts, sales totals, readiness)
// are read for /metrics: a scrape (Prometheus' default is every 15 s) sees them at most this old.
constexpr std::chrono::seconds kFigureSampleEvery{2};

int WorkerThreads(const ServeOptions& options) {
    return options.workers > 0 ? options.workers : 4 * Cores();
}

notify::CourierOptions WithTracer(notify::CourierOptions courier, tracing::Tracer* tracer) {
    courier.tracer = tracer;
    return courier;
}

// Sign-ups and sign-ins wait for a hashing thread while the queue's wait stays within
// --max-hash-wait-ms (password_hasher.h); past it they are told to retry.
accounts::HashingQueue::Options HashingOptions(const ServeOptions& options) {
    return {options.hash_threads > 0 ? options.hash_threads : Cores(),
            std::chrono::milliseconds(options.max_hash_wait_ms)};
}

http::ServerOptions MakeServerOptions(const ServeOptions& options, const ServeDurations& durations,
                                      Limiter& per_address, ops::FaultSwitch& faults,
                                      const std::atomic<bool>& read_only, accounts::HashingQueue& hashing,
                                      std::function<void()> on_hangup, tracing::Tracer* tracer) {
    const int cores = Cores();
    http::ServerOptions o;
    o.io_threads = options.io_threads > 0 ? options.io_threads : cores;
    o.worker_threads = WorkerThreads(options);
    o.run_heavy = [&hashing](std::function<void()> job) { return hashing.Submit(std::move(job)); };
    o.body_limit = static_cast<std::size_t>(options.body_limit);
    o.max_connections = static_cast<std::size_t>(options.max_connections);
    o.max_connections_per_address = static_cast<std::size_t>(options.max_connections_per_address);
    o.idle_timeout = durations.idle_timeout;
    o.max_in_flight = static_cast<std::size_t>(options.max_in_flight);
    o.max_queue_wait = std::chrono::milliseconds(options.max_queue_wait_ms);
    o.rate_limiter = &per_address;
    o.trusted_proxies = SplitList(options.trusted_proxies);
    if (options.faults) o.fault = [&faults] { return faults.Next(); };
    o.read_only = [&read_only] { return read_only.load(); };
    o.on_hangup = std::move(on_hangup);
    o.tracer = tracer;
    return o;
}

// Database connections a serving process may need at once: one per worker and hashing thread, and
// the background threads (event lanes, the courier's senders, backups, alerts, leases).
int DefaultPool(const http::ServerOptions& o, const accounts::HashingQueue::Options& hashing) {
    return o.worker_threads + hashing.threads + 8;
}

// The database pool's figures, read at scrape time (db::PoolStats).
void AddPoolMetrics(ops::Metrics& metrics, const db::Database& database) {
    const db::Database* d = &database;
    const auto gauge = [&metrics, d](const char* name, const char* help, std::int64_t db::PoolStats::*field) {
        metrics.AddCallback(name, "gauge", help, "", [d, field] { return static_cast<double>(d->Pool().*field); });
    };
    const auto counter = [&metrics, d](const char* name, const char* help, std::int64_t db::PoolStats::*field) {
        metrics.AddCallback(name, "counter", help, "", [d, field] { return static_cast<double>(d->Pool().*field); });
    };
    gauge("emporium_db_pool_size", "Most connections the database pool keeps (--db-pool; readers, on SQLite)",
          &db::PoolStats::size);
    gauge("emporium_db_pool_in_use", "Database connections running a transaction now", &db::PoolStats::in_use);
    gauge("emporium_db_pool_idle", "Open database connections waiting in the pool", &db::PoolStats::idle);
    gauge("emporium_db_pool_waiting", "Transactions waiting for a free database connection now",
          &db::PoolStats::waiting);
    counter("emporium_db_pool_waits_total", "Transactions that had to wait for a free database connection",
            &db::PoolStats::waits);
    counter("emporium_db_pool_wait_timeouts_total",
            "Transactions that gave up waiting for a database connection (--db-pool-wait; answered 503)",
            &db::PoolStats::wait_timeouts);
    counter("emporium_db_connection_errors_total", "Failed connects and connections lost (PostgreSQL)",
            &db::PoolStats::connection_errors);
    metrics.AddCallback("emporium_db_pool_wait_seconds_total", "counter",
                        "Time transactions spent waiting for a database connection", "",
                        [d] { return d->Pool().wait_seconds; });
    counter("emporium_db_checkpoints_total",
            "Write-ahead-log checkpoints run by the database's own thread, off the write path (SQLite)",
            &db::PoolStats::checkpoints);
    metrics.AddCallback("emporium_db_checkpoint_seconds_total", "counter",
                        "Time the write-ahead-log checkpoints took (SQLite; no commit waits for them)", "",
                        [d] { return d->Pool().checkpoint_seconds; });
}

// Busy share of the pool: connections in use plus transactions waiting for one, over its size.
std::optional<double> PoolBusyShare(const db::Database& database) {
    const db::PoolStats p = database.Pool();
    if (p.size <= 0) return std::nullopt;
    return static_cast<double>(p.in_use + p.waiting) / static_cast<double>(p.size);
}

void AddCacheMetrics(ops::Metrics& metrics, const ReadCache& cache) {
    metrics.AddCallback("emporium_cache_hits_total", "counter", "Read-through cache hits", "cache=\"catalog\"",
                        [&cache] { return static_cast<double>(cache.hits()); });
    metrics.AddCallback("emporium_cache_misses_total", "counter", "Read-through cache misses", "cache=\"catalog\"",
                        [&cache] { return static_cast<double>(cache.misses()); });
    metrics.AddCallback("emporium_cache_entries", "gauge", "Entries held by a read-through cache", "cache=\"catalog\"",
                        [&cache] { return static_cast<double>(cache.size()); });
    metrics.AddCallback("emporium_cache_bytes", "gauge",
                        "Bytes held by a read-through cache (keys, values, bookkeeping); bounded by --cache-bytes",
                        "cache=\"catalog\"", [&cache] { return static_cast<double>(cache.bytes()); });
    metrics.AddCallback("emporium_cache_evictions_total", "counter",
                        "Entries a read-through cache dropped to stay within its bounds", "cache=\"catalog\"",
                        [&cache] { return static_cast<double>(cache.evictions()); });
}

std::unique_ptr<ops::Standby> MakeStandby(const ServeOptions& options, std::chrono::seconds interval,
                                          db::Database& database, catalog::CatalogService& catalog, const Clock& clock,
                                          const Logger& logger) {
    if (options.standby_primary.empty()) return nullptr;
    const char* token = std::getenv("EMPORIUM_REPLICATION_TOKEN");
    return std::make_unique<ops::Standby>(
        database,
        ops::StandbyOptions{options.standby_primary, token ? token : "", interval,
                            (std::filesystem::path(options.data_dir) / "standby").string()},
        clock, logger, [&catalog](const ops::BackupManifest&) { catalog.NotifyChanged(0); });
}

std::string BackupDir(const ServeOptions& options) {
    return options.backup_dir.empty() ? (std::filesystem::path(options.data_dir) / "backups").string()
                                      : options.backup_dir;
}

// One running shop (`serve`, or `standby` until promoted): its parts as members in dependency
// order, so that they are destroyed in reverse; each step of the start-up and the shutdown is a
// method.
class ServeProcess {
public:
    // inheritance: the sockets and lock handed over by a predecessor or systemd; lock_fd: the data
    // directory's lock, passed on to a successor.
    ServeProcess(const ServeOptions& options, const ServeDurations& durations, Logger logger,
                 const notify::CourierOptions& courier, handoff::Inheritance& inheritance, int lock_fd);
    ServeProcess(const ServeProcess&) = delete;
    ServeProcess& operator=(const ServeProcess&) = delete;

    // Listens, starts the primary's duties (or the standby's copying), serves until SIGINT or
    // SIGTERM (or until a successor started on SIGHUP took over), then shuts down. Returns the
    // exit code.
    int Run();

private:
    struct Ports {
        std::uint16_t port = 0;
        long long tls_port = -1;
        std::uint16_t internal_port = 0;
    };

    bool Ready();
    void AddMetrics();
    void AddSalesMetrics();
    std::optional<std::int64_t> AnalyticsOldestPending();
    std::vector<ops::AlertRule> AlertRules();
    std::vector<ops::AlertRule> TrafficRules();
    void AddPublicRoutes();
    void AddInternalRoutes();
    http::Response Role();
    http::Response Promote();
    void Fence();
    std::optional<Ports> Listen();
    void LogListening(const Ports& ports);
    void AddLeasedJobs();
    http::Response Leases();
    void StartPrimary();
    void Shutdown();

    const ServeOptions& options_;
    const ServeDurations durations_;
    Logger logger_;
    handoff::Inheritance& inheritance_;
    const int lock_fd_;
    const bool standby_mode_;
    const bool in_process_;
    SystemClock clock_;
    // Redis (--redis): null without it. Started by Run, stopped by Shutdown.
    std::unique_ptr<redis::Client> redis_;
    NodeLimiters node_limiters_;
    Limiters limiters_;
    ops::FaultSwitch faults_;
    std::atomic<bool> read_only_;
    // Spans (src/tracing): null with --tracing false. Before everything that records spans.
    std::unique_ptr<tracing::Tracer> tracer_;
    const accounts::HashingQueue::Options hashing_options_;
    accounts::HashingQueue hashing_;  // password hashing for the heavy routes; stopped in Shutdown
    http::ServerOptions server_options_;
    ops::Metrics metrics_;
    CoreServices core_;
    http::Authenticator authenticate_;
    ReadCache catalog_cache_;
    // The catalog cache's second level, in Redis; null without --redis (or with --cache-ttl 0).
    std::unique_ptr<redis::SharedCache> shared_cache_;
    // Recommendations (src/recommend): the model in use, its versions and retraining; null when a
    // setting is malformed (Run then refuses to start).
    std::unique_ptr<RecsServing> recs_;
    delivery::DeliveryService delivery_;  // CI/CD metrics; alerts open incidents
    // What worker autoscaling reads (deploy/k8s): the broker's queue depths, polled off the scrape
    // path; with --events rabbitmq only.
    std::unique_ptr<events::QueueWatch> queue_watch_;
    // Side effects. Declared before the dispatcher (in primary_), so the dispatcher (which calls
    // into them) stops first.
    std::unique_ptr<notify::SmsGateway> sms_;
    notify::NotifyService notifier_;
    events::DeadLetters dead_letters_;
    // Seller analytics: rollups fed by the order events (in primary_), funnel counts.
    analytics::AnalyticsService analytics_;
    ops::BackupStore backups_;
    ops::BackupSchedule backup_schedule_;
    PrimaryDuties primary_;
    std::unique_ptr<ops::Standby> standby_;
    ops::RequestWindow window_;  // what the alert rules read
    http::Server server_;
    // SIGHUP's successor; made once the listeners are open, and destroyed (after a successor still
    // starting) before the server.
    std::unique_ptr<Reloader> reloader_;
    ops::Alerter alerter_;
    // The jobs that run on one node of all those sharing the database (PrimaryDuties::Jobs, alerts,
    // retention, scheduled retraining). Declared after what they drive, so that it stops first.
    lease::LeaseKeeper keeper_;
    // The primary's term (lease::PrimaryTerm): read at start, the next one at promotion.
    std::atomic<std::int64_t> term_{1};
    std::atomic<bool> promoted_{false};  // a standby promoted (once)
    std::atomic<bool> fenced_{false};    // a primary replaced by a peer: no writes, no jobs, not ready
    // Automatic promotion (a standby) and fencing (a primary); stopped first in Shutdown.
    FailoverDuties failover_;
    http::Router public_router_;
    std::filesystem::path web_dir_;
    std::unique_ptr<http::StaticFiles> web_;
    http::Router internal_router_;
    std::once_flag recs_started_;
    // Stock changed by orders reaches the catalog cache (this node's and the shared one) once per
    // --stock-refresh, not once per order. Last: destroyed first, after a last refresh of what is
    // pending, while everything it calls into still stands.
    Coalescer stock_refresh_;
};

ServeProcess::ServeProcess(const ServeOptions& options, const ServeDurations& durations, Logger logger,
                           const notify::CourierOptions& courier, handoff::Inheritance& inheritance, int lock_fd)
    : options_(options),
      durations_(durations),
      logger_(std::move(logger)),
      inheritance_(inheritance),
      lock_fd_(lock_fd),
      standby_mode_(!options.standby_primary.empty()),
      in_process_(options.events == "inprocess"),
      // A standby's copy lags the primary: its answers must not reach the primary's shared cache.
      redis_(standby_mode_ ? nullptr
                           : MakeRedisClient(options.redis_url, static_cast<std::size_t>(WorkerThreads(options)) + 4,
                                             std::chrono::milliseconds(options.redis_timeout_ms), logger_)),
      node_limiters_(clock_, redis_.get()),
      limiters_(node_limiters_, options),
      read_only_(standby_mode_),
      tracer_(MakeTracer(options.tracing, "emporium")),
      hashing_options_(HashingOptions(options)),
      hashing_(hashing_options_),
      server_options_(MakeServerOptions(
          options, durations, limiters_.per_address, faults_, read_only_, hashing_, [this] { reloader_->Begin(); },
          tracer_.get())),
      core_(OpenCoreServices(
          options.data_dir, options.database, DefaultPool(server_options_, hashing_options_),
          [this](double seconds) { metrics_.ObserveQuery(seconds); }, clock_)),
      authenticate_(accounts::MakeAuthenticator(*core_.accounts)),
      catalog_cache_(clock_, durations.cache_ttl,
                     {static_cast<std::size_t>(options.cache_bytes), static_cast<std::size_t>(options.cache_entries)}),
      shared_cache_(redis_ && durations.cache_ttl.count() > 0
                        ? std::make_unique<redis::SharedCache>(*redis_, catalog_cache_, durations.cache_ttl)
                        : nullptr),
      recs_(RecsServing::Open(*core_.database, options.data_dir, options.recs, clock_, logger_)),
      delivery_(*core_.database, clock_),
      sms_(OpenSmsGateway(options.notify, courier, logger_)),
      notifier_(*core_.database, *core_.vault, *core_.accounts, *core_.orders, *core_.catalog, *sms_, clock_, logger_,
                WithTracer(courier, tracer_.get())),
      dead_letters_(*core_.database, clock_),
      analytics_(*core_.database, *core_.catalog, clock_),
      backups_(*core_.database, BackupDir(options), options.backup_retention, clock_, logger_,
               DatabaseUrl(options.data_dir, options.database)),
      backup_schedule_(backups_, durations.backup_interval, clock_),
      primary_({*core_.database, clock_, logger_, *core_.catalog, *core_.orders, notifier_, metrics_, backup_schedule_,
                read_only_, in_process_, in_process_ ? "" : AmqpUrl(), analytics_,
                in_process_ && options.analytics == "inprocess", tracer_.get(), [this] { stock_refresh_.Touch(); }}),
      standby_(MakeStandby(options, durations.standby_interval, *core_.database, *core_.catalog, clock_, logger_)),
      window_(clock_),
      server_(server_options_, logger_,
              [this](const http::RequestRecord& r) {
                  metrics_.ObserveRequest(r.listener, r.route, r.method, r.status, r.seconds);
                  if (r.listener == "public") window_.Record(r.route, r.status, r.seconds);
              }),
      alerter_(AlertRules(),
               AlertSink(*sms_, SplitList(options.alerts.sms_to), SplitList(options.alerts.webhook),
                         core_.catalog->Store().name, logger_),
               clock_, logger_, ops::AlerterOptions{durations.alert_interval, durations.alert_repeat}),
      keeper_(*core_.database, lease::LeaseKeeper::MakeOwner(), clock_, logger_,
              lease::KeeperOptions{std::chrono::duration_cast<std::chrono::milliseconds>(durations.lease_ttl)}),
      failover_({options.standby_primary, durations.promote_after, SplitList(options.peers)},
                {[this] { Promote(); }, [this] { return term_.load(); },
                 [this](const std::string&, std::int64_t) { Fence(); }},
                logger_),
      stock_refresh_(durations.stock_refresh, [this] { core_.catalog->NotifyChanged(0); }) {
    // Orders' stock changes, here and (through the "cache" subscriber) elsewhere, reach the catalog
    // cache within --stock-refresh; catalog edits empty it at once.
    core_.orders->OnStockChanged([this](std::int64_t) { stock_refresh_.Touch(); });
    if (!standby_mode_) core_.orders->PurgeIdempotencyKeys();
    core_.orders->OnCartAdded([this](std::int64_t product_id) { analytics_.CountCart(product_id); });
    core_.catalog->KeepSearchIndex();  // SQLite's searches from memory (search_index.h)
    alerter_.Observe(IncidentLog(delivery_, read_only_));
    if (recs_) recs_->Lead(false);  // until this node holds the "recs" lease
    AddLeasedJobs();
    AddMetrics();
    AddPublicRoutes();
    AddInternalRoutes();
}

bool ServeProcess::Ready() {
    if (server_.draining() || fenced_) return false;
    try {
        return core_.database->Read([](db::Connection& c) { return c.QueryInt("SELECT 1") == 1; });
    } catch (const std::exception&) {
        return false;
    }
}

void ServeProcess::AddMetrics() {
    AddCacheMetrics(metrics_, catalog_cache_);
    if (redis_) AddRedisMetrics(metrics_, *redis_, shared_cache_.get());
    node_limiters_.AddMetrics(metrics_);
    AddPoolMetrics(metrics_, *core_.database);
    if (tracer_) AddTraceMetrics(metrics_, *tracer_);
    AddNotifyMetrics(metrics_, notifier_, clock_);
    // Figures read from the database are sampled off the scrape (ops::Metrics::AddSampledCallback).
    metrics_.AddSampledCallback("emporium_backup_last_success_timestamp_seconds", "gauge",
                                "When the newest complete backup was taken", "",
                                [this] { return static_cast<double>(backups_.LastSuccessAt().value_or(0)); });
    metrics_.AddCallback("emporium_http_requests_in_flight", "gauge", "Requests being handled", "",
                         [this] { return static_cast<double>(server_.in_flight()); });
    metrics_.AddCallback("emporium_http_connections_open", "gauge", "Connections open, across listeners", "",
                         [this] { return static_cast<double>(server_.open_connections()); });
    metrics_.AddCallback("emporium_http_worker_queue_wait_seconds", "gauge",
                         "How long the oldest request waiting for a worker has waited; past --max-queue-wait-ms "
                         "new ones are shed",
                         "", [this] { return std::chrono::duration<double>(server_.worker_queue_wait()).count(); });
    metrics_.AddCallback("emporium_hash_queue_wait_seconds", "gauge",
                         "How long the oldest sign-up or sign-in waiting for a hashing thread has waited; past "
                         "--max-hash-wait-ms new ones are shed",
                         "", [this] { return std::chrono::duration<double>(hashing_.oldest_wait()).count(); });
    metrics_.AddCallback("emporium_hash_queue_waiting", "gauge", "Sign-ups and sign-ins waiting for a hashing thread",
                         "", [this] { return static_cast<double>(hashing_.waiting()); });
    metrics_.AddCallback("emporium_hash_shed_total", "counter",
                         "Sign-ups and sign-ins answered 503 because the hashing queue was too far behind", "",
                         [this] { return static_cast<double>(hashing_.shed()); });
    metrics_.AddSampledCallback("emporium_ready", "gauge", "1 when the shop can serve", "",
                                [this] { return Ready() ? 1.0 : 0.0; });
    metrics_.AddCallback("emporium_data_dir_free_ratio", "gauge", "Share of the data directory's disk that is free", "",
                         [this] { return FreeDiskShare(options_.data_dir).value_or(0); });
    AddSalesMetrics();
    if (!in_process_) {
        queue_watch_ =
            std::make_unique<events::QueueWatch>(events::AmqpSettings{AmqpUrl()}, std::chrono::seconds(5), logger_);
        AddBrokerMetrics(metrics_, *queue_watch_);
        queue_watch_->Start();
    }
}

// Business output by currency (the shop's own and, up to 20, those it has sold in) and the
// analytics lag.
void ServeProcess::AddSalesMetrics() {
    std::vector<std::string> currencies{core_.catalog->Store().currency};
    for (const analytics::CurrencyTotals& t : analytics_.ShopTotals()) {
        if (currencies.size() < 20 && t.currency != currencies.front()) currencies.push_back(t.currency);
    }
    AddAnalyticsMetrics(metrics_, analytics_, currencies);
    metrics_.AddSampledCallback(
        "emporium_analytics_lag_seconds", "gauge", "Age of the oldest order event the sales reports do not show yet",
        "", [this] {
            std::optional<std::int64_t> oldest = AnalyticsOldestPending();
            return oldest ? std::max(0.0, static_cast<double>(UnixSeconds(clock_.Now()) - *oldest)) : 0.0;
        });
}

// Where the analytics lag is known: this process's dispatcher when it runs the subscriber; else
// the database, where another process (`emporium worker --only analytics` behind RabbitMQ)
// records what it applied, or nobody does (`--analytics off`) and the lag grows.
std::optional<std::int64_t> ServeProcess::AnalyticsOldestPending() {
    if (in_process_ && options_.analytics == "inprocess") return primary_.OldestPending("analytics");
    return analytics_.OldestUnapplied();
}

// The error ratio and each route group's p99 over the alert window.
std::vector<ops::AlertRule> ServeProcess::TrafficRules() {
    const AlertSettings& a = options_.alerts;
    std::vector<ops::AlertRule> rules;
    rules.push_back({"high_error_ratio", "the 5xx share of requests over " + a.window,
                     [this, w = durations_.alert_window, min = a.min_requests]() -> std::optional<double> {
                         ops::RequestWindow::Figures f = window_.Totals(w);
                         if (f.requests < min) return std::nullopt;
                         return f.ErrorRatio();
                     },
                     a.error_ratio, false, durations_.error_hold, "%"});
    for (const std::string& group : ops::RequestWindow::Groups()) {
        if (group == "other") continue;
        rules.push_back(
            {"slow_" + group, "the p99 latency of " + group + " requests over " + a.window,
             [this, group, w = durations_.alert_window, min = a.min_requests] { return window_.P99(group, w, min); },
             static_cast<double>(a.latency_p99_ms) / 1000.0, false, durations_.latency_hold, "s"});
    }
    return rules;
}

// The shop's own alerts: the same rules as deploy/prometheus/emporium-rules.yml.
std::vector<ops::AlertRule> ServeProcess::AlertRules() {
    const AlertSettings& a = options_.alerts;
    const auto backlog_age = static_cast<double>(durations_.backlog_age.count());
    std::vector<ops::AlertRule> rules = TrafficRules();
    rules.push_back({"not_ready", "readiness (1 ready, 0 not)",
                     [this]() -> std::optional<double> { return Ready() ? 1 : 0; }, 0.5, true,
                     durations_.not_ready_hold, ""});
    rules.push_back({"event_backlog", "the age of the oldest undelivered event",
                     [this] { return primary_.OldestPendingAge(); }, backlog_age, false, std::chrono::seconds(0), "s"});
    rules.push_back({"message_backlog", "the age of the oldest unsent text or webhook post",
                     [this]() -> std::optional<double> {
                         if (!in_process_ || read_only_) return std::nullopt;
                         auto q = notifier_.QueueDepth();
                         return q.oldest_created_at
                                    ? static_cast<double>(UnixSeconds(clock_.Now()) - *q.oldest_created_at)
                                    : 0.0;
                     },
                     backlog_age, false, std::chrono::seconds(0), "s"});
    rules.push_back({"backup_stale", "the age of the newest good backup",
                     [this]() -> std::optional<double> {
                         if (read_only_) return std::nullopt;
                         std::optional<std::int64_t> last = backups_.LastSuccessAt();
                         if (!last) return std::nullopt;  // the first one is being taken
                         return static_cast<double>(UnixSeconds(clock_.Now()) - *last);
                     },
                     static_cast<double>(durations_.backup_interval.count()) * 1.5 + 300, false,
                     std::chrono::seconds(0), "s"});
    rules.push_back({"db_pool_saturated", "the busy share of the database pool (in use and waiting, over its size)",
                     [this] { return PoolBusyShare(*core_.database); }, a.db_pool, false, durations_.db_pool_hold,
                     "%"});
    rules.push_back({"disk_low", "the free share of the data directory's disk",
                     [this] { return FreeDiskShare(options_.data_dir); }, a.disk_free, true, std::chrono::seconds(60),
                     "%"});
    if (redis_) rules.push_back(RedisDownRule(*redis_, std::chrono::seconds(30)));
    return rules;
}

void ServeProcess::AddPublicRoutes() {
    catalog::AddRoutes(public_router_, *core_.catalog, catalog_cache_, authenticate_, shared_cache_.get());
    accounts::AddRoutes(public_router_, *core_.accounts, authenticate_,
                        {&limiters_.signin_per_address, &limiters_.signin_per_account, &limiters_.signin_per_address});
    orders::AddRoutes(public_router_, *core_.orders, authenticate_, *core_.vault);
    notify::AdminRoutesDeps admin_deps{&notifier_, &dead_letters_, [this] { return primary_.Progress(); }, {}};
    if (!in_process_) {
        admin_deps.broker_queues = [] { return events::ReadQueueStats(events::AmqpSettings{AmqpUrl()}); };
    }
    notify::AddAdminRoutes(public_router_, std::move(admin_deps), authenticate_);
    ops::AddAdminOpsRoutes(public_router_, backups_, &alerter_, authenticate_);
    tracing::AddSlowRequestRoutes(public_router_, tracer_.get(), authenticate_);
    if (recs_) recs_->AddRoutes(public_router_, catalog_cache_, authenticate_);
    delivery::AddRoutes(public_router_, delivery_, authenticate_, clock_);
    analytics::AddRoutes(public_router_,
                         {&analytics_, core_.catalog.get(), &clock_,
                          [this](std::int64_t id) {
                              Result<accounts::User> user = core_.accounts->Profile(id);
                              return user.ok() && user->role == Role::kSeller;
                          },
                          [this] { return AnalyticsOldestPending(); }},
                         authenticate_);
    web_dir_ =
        options_.web_dir.empty() ? DefaultWebDir(options_.program_path) : std::filesystem::path(options_.web_dir);
    web_ = http::StaticFiles::Load(web_dir_);
    apidoc::AddRoutes(public_router_, *web_);
    public_router_.SetFallback(
        {"GET", "static", [this](const http::Request& r) { return web_->Serve(r); }, {}, /*inline_only=*/true});
}

void ServeProcess::AddInternalRoutes() {
    ops::AddOpsRoutes(
        internal_router_, metrics_, [this] { return Ready(); }, BinaryDigest());
    // The public routes, for the test that checks every one against every scope and role.
    internal_router_.Get("/internal/routes", [this](const http::Request&) {
        boost::json::array items;
        for (const auto& [method, pattern] : public_router_.List()) {
            items.push_back(boost::json::object{{"method", method}, {"pattern", pattern}});
        }
        return http::Response::Json(200, boost::json::serialize(boost::json::object{{"items", std::move(items)}}));
    });
    const char* replication_token = std::getenv("EMPORIUM_REPLICATION_TOKEN");
    ops::AddReplicationRoutes(internal_router_, backups_, replication_token ? replication_token : "");
    if (options_.faults) ops::AddFaultRoutes(internal_router_, faults_);
    internal_router_.Get("/internal/role", [this](const http::Request&) { return Role(); });
    internal_router_.Get("/internal/leases", [this](const http::Request&) { return Leases(); });
    internal_router_.Post("/internal/promote", [this](const http::Request&) { return Promote(); });
}

// Jobs that must run once across the nodes sharing the database. Alerts: one node notifies (the
// rules read that node's own traffic window and readiness; the database-wide ones, backups and
// backlogs, are the same everywhere); a standby (its own database, one node) evaluates them
// itself from the start, as before. Retention: the hourly purge of expired sessions and
// idempotency keys (also done once at every start).
void ServeProcess::AddLeasedJobs() {
    for (lease::Job& job : primary_.Jobs()) keeper_.Add(std::move(job));
    if (!standby_mode_) {
        keeper_.Add(
            {"alerts", [this](const lease::Holding&) { alerter_.Start(); }, [this] { alerter_.Stop(); }, {}, {}});
    }
    keeper_.Add({"retention", {}, {}, std::chrono::hours(1), [this] {
                     const std::int64_t sessions = core_.accounts->PurgeExpired();
                     const std::int64_t keys = core_.orders->PurgeIdempotencyKeys();
                     LogInfo(logger_, LogFields("retention purge")
                                          .Add("sessions", static_cast<long long>(sessions))
                                          .Add("idempotency_keys", static_cast<long long>(keys)));
                 }});
    if (recs_) {
        keeper_.Add(
            {"recs", [this](const lease::Holding&) { recs_->Lead(true); }, [this] { recs_->Lead(false); }, {}, {}});
    }
}

// Which leased jobs run here, and every lease on the database (for operators and the test that
// kills a node).
http::Response ServeProcess::Leases() {
    const std::int64_t now = lease::UnixMillis(clock_.Now());
    boost::json::array items;
    for (const lease::Holding& h : lease::List(*core_.database)) {
        items.push_back(boost::json::object{{"name", h.name},
                                            {"owner", h.owner},
                                            {"generation", h.generation},
                                            {"expires_at", h.expires_at},
                                            {"live", h.expires_at > now},
                                            {"held_here", keeper_.Holds(h.name)}});
    }
    return http::Response::Json(
        200, boost::json::serialize(boost::json::object{{"owner", keeper_.owner()}, {"leases", std::move(items)}}));
}

http::Response ServeProcess::Role() {
    const std::string role = fenced_ ? "fenced" : read_only_ ? "standby" : "primary";
    // A standby's term is its copy's: the primary's it copies from.
    const std::int64_t term = role == "standby" ? lease::PrimaryTerm(*core_.database) : term_.load();
    std::string applied = standby_ && standby_->applied() ? standby_->applied()->name : "";
    std::string body = "{\"role\":\"" + role + "\",\"term\":" + std::to_string(term) + ",\"applied_backup\":";
    body += JsonString(applied);
    return http::Response::Json(200, body + "}");
}

// Replaced while it was away: this node takes no more writes and gives up its jobs (events,
// texts, backups), so that only the new primary acts; readiness says so to the load balancer.
void ServeProcess::Fence() {
    if (fenced_.exchange(true)) return;
    read_only_ = true;
    keeper_.Stop();
}

http::Response ServeProcess::Promote() {
    if (!standby_ || promoted_.exchange(true)) {
        return http::Response::Json(
            409, R"({"error":{"code":"not_a_standby","message":"This shop is already the primary.","details":{}}})");
    }
    const auto started = std::chrono::steady_clock::now();
    standby_->Promote();
    // The next term, written before the first write is taken: the old primary, if it comes back,
    // finds this node in a later term and fences itself.
    term_ = lease::BeginNextTerm(*core_.database, lease::UnixMillis(clock_.Now()));
    StartPrimary();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::string applied = standby_->applied() ? standby_->applied()->name : "";
    LogInfo(logger_, LogFields("promoted")
                         .Add("applied_backup", applied)
                         .Add("term", static_cast<long long>(term_.load()))
                         .Add("seconds", seconds));
    std::string body = "{\"role\":\"primary\",\"applied_backup\":";
    body += JsonString(applied);
    return http::Response::Json(200, body + ",\"seconds\":" + std::to_string(seconds) + "}");
}

std::optional<ServeProcess::Ports> ServeProcess::Listen() {
    Ports ports;
    std::vector<handoff::InheritedSocket>& inherited = inheritance_.sockets;
    ports.port = server_.Listen({"public", options_.bind, options_.port, &public_router_, true, "", "",
                                 handoff::TakeSocket(inherited, kPublicSocket)});
    if (options_.tls_port >= 0) {
        if (options_.tls_cert.empty() || options_.tls_key.empty()) {
            LogError(
                logger_,
                LogFields("bad setting").Add("setting", "tls-port").Add("value", "needs --tls-cert and --tls-key"));
            return std::nullopt;
        }
        ports.tls_port =
            server_.Listen({"public", options_.bind, static_cast<std::uint16_t>(options_.tls_port), &public_router_,
                            true, options_.tls_cert, options_.tls_key, handoff::TakeSocket(inherited, kTlsSocket)});
    }
    ports.internal_port = server_.Listen({"internal", options_.internal_bind, options_.internal_port, &internal_router_,
                                          false, "", "", handoff::TakeSocket(inherited, kInternalSocket)});
    // Sockets this process has no listener for (a setting changed between the two): closed.
    for (const handoff::InheritedSocket& unused : inherited) {
        LogWarn(logger_, LogFields("inherited socket unused").Add("name", unused.name));
        ::close(unused.fd);
    }
    inherited.clear();
    return ports;
}

void ServeProcess::LogListening(const Ports& ports) {
    LogInfo(logger_, LogFields("listening")
                         .Add("port", static_cast<long long>(ports.port))
                         .Add("internal_port", static_cast<long long>(ports.internal_port))
                         .Add("tls_port", ports.tls_port)
                         .Add("data_dir", options_.data_dir)
                         .Add("database", db::Redacted(DatabaseUrl(options_.data_dir, options_.database)))
                         .Add("db_pool", static_cast<long long>(core_.database->Pool().size))
                         .Add("web_dir", web_dir_.string())
                         .Add("web_files", static_cast<long long>(web_->size()))
                         .Add("io_threads", static_cast<long long>(server_options_.io_threads))
                         .Add("workers", static_cast<long long>(server_options_.worker_threads))
                         .Add("events", options_.events)
                         .Add("redis", redis_ ? redis_->url().Redacted() : "none")
                         .Add("sms", sms_->name())
                         .Add("role", standby_mode_ ? "standby" : "primary")
                         .Add("pii_key", core_.vault->ActiveKeyId()));
}

int ServeProcess::Run() {
    if (!recs_) return 2;
    std::optional<Ports> ports = Listen();
    if (!ports) return 2;
    if (!standby_mode_) core_.accounts->PurgeExpired();
    LogListening(*ports);
    if (standby_) {
        standby_->Start();
        alerter_.Start();
    } else {
        term_ = lease::PrimaryTerm(*core_.database);
        // Asked before the first write: a primary that was replaced while it was down never takes one.
        if (!failover_.CheckPeers()) StartPrimary();
    }
    failover_.Start(standby_mode_);
    if (redis_) redis_->Start();
    metrics_.StartSampling(kFigureSampleEvery);
    std::vector<std::string> names{kPublicSocket};
    if (ports->tls_port >= 0) names.emplace_back(kTlsSocket);
    names.emplace_back(kInternalSocket);
    reloader_ = std::make_unique<Reloader>(server_, std::move(names), lock_fd_, logger_);
    handoff::NotifyReady(inheritance_);
    server_.Run();
    Shutdown();
    return 0;
}

// The primary's duties, and the recommendation model's retraining (a standby neither trains nor
// counts). Later calls do nothing.
void ServeProcess::StartPrimary() {
    primary_.Start();
    std::call_once(recs_started_, [this] { recs_->Start(); });
    if (core_.database->dialect() == db::Dialect::kSqlite && !inheritance_.predecessor) {
        // A SQLite database has one process (the data directory's lock): the leases in it are a
        // killed predecessor's, or the old primary's copied by a standby. Its jobs start at once
        // instead of waiting for those to expire. A predecessor that handed over still runs its
        // jobs until it drains, and releases their leases then.
        core_.database->Write([](db::Connection& c) { c.Execute("DELETE FROM leases"); });
    }
    keeper_.Start();
}

// The server has drained. Sign-ins still queued for hashing finish first (while the server that
// answers them exists). The leased jobs stop next and their leases are released, so that another
// node takes them over at once (alerts, whose rules read everything below, among them); then the
// standby's copying, the courier and, last (event delivery invalidates the shared cache), Redis.
void ServeProcess::Shutdown() {
    reloader_.reset();        // a successor still starting: it is ready or gone by now
    failover_.Stop();         // it may promote or fence: before what those start or stop
    metrics_.StopSampling();  // its readings call into everything below
    hashing_.Stop();
    keeper_.Stop();
    recs_->Stop();
    if (standby_) standby_->Promote();  // stops copying
    alerter_.Stop();                    // a standby's (the keeper stopped a primary's)
    notifier_.Stop();
    node_limiters_.Stop();
    stock_refresh_.Flush();  // while Redis still takes the announcement to the other nodes
    if (redis_) redis_->Stop();
}

}  // namespace

int Serve(const ServeOptions& options) {
    // Before any thread starts: it edits the environment.
    handoff::Inheritance inheritance = handoff::TakeInheritance();
    Logger logger = MakeLogger(options.log_level);
    LogThreadJoin log_thread_join;
    std::optional<ServeDurations> durations = ParseDurations(options, logger);
    if (!durations || !CheckRedisSetting(options.redis_url, logger)) return 2;
    if (!options.standby_primary.empty() && !options.redis_url.empty()) {
        LogWarn(logger, LogFields("redis ignored").Add("reason", "a standby's copy lags the primary"));
    }
    std::unique_ptr<DataDirLock> lock =
        inheritance.lock_fd >= 0 ? DataDirLock::Adopt(inheritance.lock_fd) : DataDirLock::Acquire(options.data_dir);
    if (!lock) {
        LogError(logger, LogFields("data directory in use").Add("data_dir", options.data_dir));
        return 2;
    }
    std::optional<notify::CourierOptions> courier = CourierOptionsFrom(options.notify, logger);
    if (!courier) return 2;
    ServeProcess shop(options, *durations, logger, *courier, inheritance, lock->fd());
    return shop.Run();
}

}  // namespace emporium::app
