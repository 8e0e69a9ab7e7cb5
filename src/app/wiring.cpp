#include "app/wiring.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "accounts/accounts.h"
#include "app/commands.h"
#include "catalog/catalog.h"
#include "core/text.h"
#include "db/migrations.h"
#include "delivery/delivery.h"
#include "events/outbox.h"
#include "notify/notify.h"
#include "orders/orders.h"
#include "recommend/recommend.h"

namespace emporium::app {

std::string DatabasePath(const std::string& data_dir) {
    return (std::filesystem::path(data_dir) / "emporium.db").string();
}

std::unique_ptr<db::Database> OpenDatabase(const std::string& data_dir, int readers, db::QueryObserver observer) {
    std::filesystem::create_directories(data_dir);
    db::SqliteOptions options;
    options.path = DatabasePath(data_dir);
    options.readers = readers;
    options.observer = std::move(observer);
    std::unique_ptr<db::Database> database = db::OpenSqlite(options);
    // Modules in dependency order; each owns its migrations.
    std::vector<db::Migration> migrations = catalog::Migrations(database->dialect());
    for (auto& m : accounts::Migrations(database->dialect())) migrations.push_back(std::move(m));
    for (auto& m : events::Migrations(database->dialect())) migrations.push_back(std::move(m));
    for (auto& m : orders::Migrations(database->dialect())) migrations.push_back(std::move(m));
    for (auto& m : notify::Migrations(database->dialect())) migrations.push_back(std::move(m));
    for (auto& m : recommend::Migrations(database->dialect())) migrations.push_back(std::move(m));
    for (auto& m : delivery::Migrations(database->dialect())) migrations.push_back(std::move(m));
    db::ApplyMigrations(*database, migrations);
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

CoreServices OpenCoreServices(const std::string& data_dir, int readers, db::QueryObserver observer,
                              const Clock& clock) {
    CoreServices s;
    s.database = OpenDatabase(data_dir, readers, std::move(observer));
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

void AddNotifyMetrics(ops::Metrics& metrics, notify::NotifyService& notifier, const Clock& clock) {
    const notify::NotifyService::Counters& c = notifier.counters();
    const std::pair<const char*, const std::atomic<std::int64_t>*> outcomes[] = {
        {"sent", &c.sent}, {"local", &c.kept}, {"retried", &c.retried}, {"failed", &c.failed}, {"dead", &c.dead}};
    for (const auto& [name, counter] : outcomes) {
        metrics.AddCallback("emporium_messages_total", "counter", "Texts and webhook posts by outcome, since start",
                            std::string("outcome=\"") + name + "\"",
                            [counter] { return static_cast<double>(counter->load()); });
    }
    metrics.AddCallback("emporium_messages_waiting", "gauge", "Texts and webhook posts queued or being sent", "",
                        [&notifier] { return static_cast<double>(notifier.QueueDepth().waiting); });
    metrics.AddCallback(
        "emporium_messages_oldest_waiting_seconds", "gauge", "Age of the oldest queued message", "",
        [&notifier, &clock] {
            auto q = notifier.QueueDepth();
            return q.oldest_created_at ? static_cast<double>(UnixSeconds(clock.Now()) - *q.oldest_created_at) : 0.0;
        });
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

DataDirLock::~DataDirLock() {
    ::close(fd_);
}

std::string AmqpUrl() {
    std::string url = Env("EMPORIUM_AMQP_URL");
    return url.empty() ? "amqp://guest:guest@127.0.0.1:5672" : url;
}

}  // namespace emporium::app
