#include "app/wiring.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "accounts/accounts.h"
#include "analytics/analytics.h"
#include "app/commands.h"
#include "catalog/catalog.h"
#include "core/text.h"
#include "db/migrations.h"
#include "delivery/delivery.h"
#include "events/outbox.h"
#include "lease/lease.h"
#include "notify/notify.h"
#include "orders/orders.h"
#include "recommend/recommend.h"

namespace emporium::app {

std::string DatabasePath(const std::string& data_dir) {
    return (std::filesystem::path(data_dir) / "emporium.db").string();
}

std::string DatabaseUrl(const std::string& data_dir, const DatabaseSettings& settings) {
    return settings.url.empty() ? "sqlite:" + DatabasePath(data_dir) : settings.url;
}

namespace {

// "250ms", or a duration ParseDuration takes ("10s", "1m"); nullopt otherwise.
std::optional<std::chrono::milliseconds> ParseMillis(const std::string& text) {
    if (text.ends_with("ms")) {
        std::int64_t n = -1;
        const char* end = text.data() + text.size() - 2;
        auto [at, ec] = std::from_chars(text.data(), end, n);
        if (ec != std::errc() || at != end || n < 0) return std::nullopt;
        return std::chrono::milliseconds(n);
    }
    std::optional<std::chrono::seconds> d = ParseDuration(text);
    if (!d || d->count() > std::int64_t{86400} * 365) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

}  // namespace

db::DatabaseOptions DatabaseOptionsFrom(const std::string& data_dir, const DatabaseSettings& settings,
                                        int default_pool) {
    db::DatabaseOptions options;
    options.url = DatabaseUrl(data_dir, settings);
    options.pool_size = settings.pool > 0 ? settings.pool : std::max(1, default_pool);
    options.pool_min = std::min(2, options.pool_size);
    std::optional<std::chrono::milliseconds> wait = ParseMillis(settings.pool_wait);
    if (!wait) throw std::runtime_error("--db-pool-wait: not a duration: " + settings.pool_wait);
    std::optional<std::chrono::milliseconds> timeout = ParseMillis(settings.statement_timeout);
    if (!timeout) throw std::runtime_error("--db-statement-timeout: not a duration: " + settings.statement_timeout);
    options.pool_wait = *wait;
    options.statement_timeout = *timeout;
    return options;
}

std::vector<db::Migration> AllMigrations(db::Dialect dialect) {
    // Modules in dependency order; each owns its migrations.
    std::vector<db::Migration> migrations = catalog::Migrations(dialect);
    for (auto* more : {&accounts::Migrations, &events::Migrations, &orders::Migrations, &notify::Migrations,
                       &analytics::Migrations, &recommend::Migrations, &delivery::Migrations, &lease::Migrations}) {
        for (auto& m : (*more)(dialect)) migrations.push_back(std::move(m));
    }
    return migrations;
}

std::unique_ptr<db::Database> OpenDatabase(const std::string& data_dir, const DatabaseSettings& settings,
                                           int default_pool, db::QueryObserver observer) {
    std::filesystem::create_directories(data_dir);
    db::DatabaseOptions options = DatabaseOptionsFrom(data_dir, settings, default_pool);
    options.observer = std::move(observer);
    std::unique_ptr<db::Database> database = db::Open(options);
    db::ApplyMigrations(*database, AllMigrations(database->dialect()));
    return database;
}

std::unique_ptr<accounts::PiiVault> OpenVault(const std::string& data_dir) {
    std::filesystem::create_directories(data_dir);
    auto env = [](const char* name) {
        const char* value = std::getenv(name);
        return std::string(value ? value : "");
    };
    return accounts::PiiVault::Open({env("EMPORIUM_PII_KEY"), env("EMPORIUM_PII_PREVIOUS_KEYS"),
                                     (std::filesystem::path(data_dir) / "pii.keys").string()});
}

CoreServices OpenCoreServices(const std::string& data_dir, const DatabaseSettings& database, int default_pool,
                              db::QueryObserver observer, const Clock& clock) {
    CoreServices s;
    s.database = OpenDatabase(data_dir, database, default_pool, std::move(observer));
    s.vault = OpenVault(data_dir);
    s.hasher = std::make_unique<accounts::PasswordHasher>(accounts::HashCost{});
    s.accounts = std::make_unique<accounts::AccountService>(*s.database, *s.vault, *s.hasher, clock);
    s.catalog = std::make_unique<catalog::CatalogService>(*s.database, clock);
    // A test hook, off unless set: how long the slow test card takes to authorize (docs/OPERATIONS.md).
    const char* slow_ms = std::getenv("EMPORIUM_TEST_PAYMENT_SLOW_MS");
    s.payments = std::make_unique<orders::TestPaymentProvider>(
        clock, std::chrono::milliseconds(slow_ms ? std::strtoll(slow_ms, nullptr, 10) : 0));
    s.orders = std::make_unique<orders::OrderService>(*s.database, *s.vault, *s.payments, clock);
    return s;
}

namespace {

std::string Env(const char* name) {
    const char* value = std::getenv(name);
    return value ? value : "";
}

// A secret from NAME, or from the file named by NAME_FILE (trailing newlines dropped).
std::string Secret(const std::string& name) {
    std::string value = Env(name.c_str());
    if (!value.empty()) return value;
    std::string file = Env((name + "_FILE").c_str());
    if (file.empty()) return "";
    std::ifstream in(file);
    if (!in) throw std::runtime_error(name + "_FILE names a file that cannot be read");
    std::getline(in, value, '\0');
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    return value;
}

}  // namespace

std::unique_ptr<notify::SmsGateway> OpenSmsGateway(const NotifySettings& settings,
                                                   const notify::CourierOptions& courier, const Logger& logger) {
    notify::TwilioConfig config;
    config.timeout = courier.webhook_timeout;
    config.base_url = settings.twilio_base_url;
    config.account_sid = Env("EMPORIUM_TWILIO_ACCOUNT_SID");
    config.auth_token = Secret("EMPORIUM_TWILIO_AUTH_TOKEN");
    config.from = Env("EMPORIUM_TWILIO_FROM");
    config.messaging_service_sid = Env("EMPORIUM_TWILIO_MESSAGING_SERVICE_SID");
    if (!config.complete()) {
        LogInfo(logger, LogFields("sms gateway")
                            .Add("gateway", "local")
                            .Add("why", "Twilio credentials are not set: texts are kept in the local outbox"));
        return notify::MakeLocalGateway();
    }
    LogInfo(logger, LogFields("sms gateway")
                        .Add("gateway", "twilio")
                        .Add("base_url", config.base_url)
                        .Add("account_sid", config.account_sid));
    return notify::MakeTwilioGateway(std::move(config));
}

std::optional<notify::CourierOptions> CourierOptionsFrom(const NotifySettings& settings, const Logger& logger) {
    notify::CourierOptions o;
    std::optional<std::chrono::seconds> lease = ParseDuration(settings.lease);
    std::optional<std::chrono::seconds> backoff = ParseDuration(settings.backoff);
    if (!lease || *lease < std::chrono::seconds(2)) {
        LogError(logger, LogFields("bad setting").Add("setting", "notify-lease").Add("value", settings.lease));
        return std::nullopt;
    }
    if (!backoff || *backoff < std::chrono::seconds(1)) {
        LogError(logger, LogFields("bad setting").Add("setting", "notify-backoff").Add("value", settings.backoff));
        return std::nullopt;
    }
    o.lease = *lease;
    o.first_backoff = *backoff;
    o.senders = settings.senders;
    o.max_attempts = settings.max_attempts;
    o.webhook_private_targets = settings.webhook_private_targets;
    // A send must end well inside its lease, or a live sender's message could be settled as in doubt.
    o.webhook_timeout = std::min<std::chrono::milliseconds>(std::chrono::seconds(10), *lease / 2);
    return o;
}

std::unique_ptr<tracing::Tracer> MakeTracer(const TraceSettings& settings, std::string service_name) {
    if (!settings.enabled) return nullptr;
    tracing::TracerOptions options;
    options.service_name = std::move(service_name);
    options.sample_ratio = settings.sample;
    options.slow = std::chrono::milliseconds(settings.slow_ms);
    options.otlp_endpoint = settings.otlp_endpoint;
    return std::make_unique<tracing::Tracer>(std::move(options));
}

void AddTraceMetrics(ops::Metrics& metrics, const tracing::Tracer& tracer) {
    metrics.AddCallback("emporium_trace_spans_exported_total", "counter", "Spans an OTLP receiver accepted", "",
                        [&tracer] { return static_cast<double>(tracer.stats().exported); });
    metrics.AddCallback("emporium_trace_spans_dropped_total", "counter",
                        "Spans dropped rather than slow a request: export queue full, export failed, or too many "
                        "in one trace",
                        "", [&tracer] { return static_cast<double>(tracer.stats().dropped); });
    metrics.AddCallback("emporium_trace_export_failures_total", "counter", "OTLP export requests that failed", "",
                        [&tracer] { return static_cast<double>(tracer.stats().failed_posts); });
}

void AddNotifyMetrics(ops::Metrics& metrics, notify::NotifyService& notifier, const Clock& clock) {
    const notify::NotifyService::Counters& c = notifier.counters();
    const std::pair<const char*, const std::atomic<std::int64_t>*> outcomes[] = {
        {"sent", &c.sent}, {"local", &c.kept}, {"retried", &c.retried}, {"failed", &c.failed}, {"dead", &c.dead}};
    // Not a structured binding: a lambda may capture one only from clang 16 on.
    for (const auto& outcome : outcomes) {
        const std::atomic<std::int64_t>* counter = outcome.second;
        metrics.AddCallback("emporium_messages_total", "counter", "Texts and webhook posts by outcome, since start",
                            std::string("outcome=\"") + outcome.first + "\"",
                            [counter] { return static_cast<double>(counter->load()); });
    }
    metrics.AddSampledCallback("emporium_messages_waiting", "gauge", "Texts and webhook posts queued or being sent", "",
                               [&notifier] { return static_cast<double>(notifier.QueueDepth().waiting); });
    metrics.AddSampledCallback(
        "emporium_messages_oldest_waiting_seconds", "gauge", "Age of the oldest queued message", "",
        [&notifier, &clock] {
            auto q = notifier.QueueDepth();
            return q.oldest_created_at ? static_cast<double>(UnixSeconds(clock.Now()) - *q.oldest_created_at) : 0.0;
        });
}

void AddAnalyticsMetrics(ops::Metrics& metrics, analytics::AnalyticsService& analytics,
                         const std::vector<std::string>& currencies) {
    // Currencies are labels only from the shop's own list (never from a request); each figure is
    // the shop's lifetime totals, sampled off the scrape, so it survives restarts. One sampling
    // round reads the totals once for all its figures (kept a second).
    struct Totals {
        std::mutex mutex;
        std::chrono::steady_clock::time_point read_at;  // guarded by mutex
        std::vector<analytics::CurrencyTotals> totals;  // guarded by mutex
    };
    auto shared = std::make_shared<Totals>();
    auto figure = [&analytics, shared](std::string currency, auto pick) {
        return [&analytics, shared, currency = std::move(currency), pick] {
            std::lock_guard lock(shared->mutex);
            const auto now = std::chrono::steady_clock::now();
            if (now - shared->read_at > std::chrono::seconds(1)) {
                shared->totals = analytics.ShopTotals();  // a throw leaves the figures out until a read succeeds
                shared->read_at = now;
            }
            for (const analytics::CurrencyTotals& t : shared->totals) {
                if (t.currency == currency) return static_cast<double>(pick(t.figures));
            }
            return 0.0;
        };
    };
    using F = analytics::Figures;
    for (const std::string& c : currencies) {
        const std::string label = "currency=\"" + c + "\"";
        metrics.AddSampledCallback("emporium_sales_orders_total", "counter", "Orders placed, whole shop", label,
                                   figure(c, [](const F& f) { return f.orders; }));
        metrics.AddSampledCallback("emporium_sales_units_total", "counter", "Units sold, whole shop", label,
                                   figure(c, [](const F& f) { return f.units_sold; }));
        metrics.AddSampledCallback("emporium_sales_gross_cents_total", "counter",
                                   "Gross sales in minor units (list price x quantity), whole shop", label,
                                   figure(c, [](const F& f) { return f.gross_cents; }));
        metrics.AddSampledCallback("emporium_sales_discounts_cents_total", "counter", "Discounts given in minor units",
                                   label, figure(c, [](const F& f) { return f.discounts_cents; }));
        metrics.AddSampledCallback("emporium_sales_refunds_cents_total", "counter", "Money paid back in minor units",
                                   label, figure(c, [](const F& f) { return f.refunds_cents; }));
        metrics.AddSampledCallback("emporium_sales_refunds_total", "counter", "Refund entries (lines paid back)", label,
                                   figure(c, [](const F& f) { return f.refunds; }));
        metrics.AddSampledCallback(
            "emporium_sales_net_cents", "gauge",
            "Net sales in minor units (gross - discounts - refunds), whole shop; falls with refunds", label,
            figure(c, [](const F& f) { return f.net_cents(); }));
    }
}

void AddBrokerMetrics(ops::Metrics& metrics, const events::QueueWatch& watch) {
    metrics.AddCallback("emporium_broker_up", "gauge", "1 when the last reading of the broker's queues succeeded", "",
                        [&watch] { return watch.Last().ok ? 1.0 : 0.0; });
    const auto& queues = events::StandardQueues();
    for (std::size_t i = 0; i < queues.size(); ++i) {
        const std::string labels = "queue=\"emporium." + queues[i].subscriber + "\"";
        auto read = [&watch, i](bool ready) {
            events::QueueWatch::Reading r = watch.Last();
            if (i >= r.queues.size()) return 0.0;
            return static_cast<double>(ready ? r.queues[i].ready : r.queues[i].consumers);
        };
        metrics.AddCallback("emporium_broker_queue_ready", "gauge", "Messages waiting in a broker queue for a worker",
                            labels, [read] { return read(true); });
        metrics.AddCallback("emporium_broker_queue_consumers", "gauge", "Workers consuming a broker queue", labels,
                            [read] { return read(false); });
    }
}

ops::Alerter::Sink IncidentLog(delivery::DeliveryService& delivery, const std::atomic<bool>& read_only) {
    return [&delivery, &read_only](const ops::AlertNotice& n) {
        if (n.kind == ops::AlertNotice::Kind::kRepeat || read_only) return;
        delivery.OnAlert({n.rule, n.summary, n.kind == ops::AlertNotice::Kind::kResolved, n.since, n.at});
    };
}

std::unique_ptr<DataDirLock> DataDirLock::Acquire(const std::string& data_dir) {
    std::filesystem::create_directories(data_dir);
    const std::string path = (std::filesystem::path(data_dir) / "serve.lock").string();
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return nullptr;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return nullptr;
    }
    return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
}

std::unique_ptr<DataDirLock> DataDirLock::Adopt(int fd) {
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return nullptr;
    }
    return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
}

DataDirLock::~DataDirLock() {
    ::close(fd_);
}

std::string AmqpUrl() {
    std::string url = Env("EMPORIUM_AMQP_URL");
    return url.empty() ? "amqp://guest:guest@127.0.0.1:5672" : url;
}

}  // namespace emporium::app
