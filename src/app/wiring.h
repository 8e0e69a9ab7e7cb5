// What every command shares: opening the data directory's database with every module's schema,
// the key ring, the services built on them, and the side-effect settings of serve and worker.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "accounts/accounts.h"
#include "accounts/password_hasher.h"
#include "accounts/pii_vault.h"
#include "analytics/analytics.h"
#include "app/commands.h"
#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/read_cache.h"
#include "db/database.h"
#include "db/migrations.h"
#include "delivery/delivery.h"
#include "events/queue_watch.h"
#include "http/auth.h"
#include "http/router.h"
#include "notify/notify.h"
#include "notify/sms_gateway.h"
#include "ops/alerts.h"
#include "ops/metrics.h"
#include "orders/orders.h"
#include "orders/payment.h"
#include "recommend/recommend.h"
#include "tracing/tracer.h"

namespace emporium::app {

// The URL of the database a command opens: settings.url, or sqlite: and the data directory's file.
std::string DatabaseUrl(const std::string& data_dir, const DatabaseSettings& settings);

// What db::Open takes for these settings; default_pool when settings.pool is 0. Throws
// std::runtime_error naming the setting when a duration is malformed.
db::DatabaseOptions DatabaseOptionsFrom(const std::string& data_dir, const DatabaseSettings& settings,
                                        int default_pool);

// Every module's migrations, in dependency order.
std::vector<db::Migration> AllMigrations(db::Dialect dialect);

// Creates data_dir when missing, opens the database the settings name and applies every module's
// migrations. Throws std::runtime_error for a malformed setting, db::DbError when the database
// cannot be opened (its message names the URL through db::Redacted only).
std::unique_ptr<db::Database> OpenDatabase(const std::string& data_dir, const DatabaseSettings& settings,
                                           int default_pool, db::QueryObserver observer);

// The PII key ring: EMPORIUM_PII_KEY (and EMPORIUM_PII_PREVIOUS_KEYS) when set, else the key file
// in the data directory, created on first use.
std::unique_ptr<accounts::PiiVault> OpenVault(const std::string& data_dir);

// The services every process of the shop builds the same way, in dependency order (members are
// destroyed in reverse).
struct CoreServices {
    std::unique_ptr<db::Database> database;
    std::unique_ptr<accounts::PiiVault> vault;
    std::unique_ptr<accounts::PasswordHasher> hasher;
    std::unique_ptr<accounts::AccountService> accounts;
    std::unique_ptr<catalog::CatalogService> catalog;
    std::unique_ptr<orders::TestPaymentProvider> payments;
    std::unique_ptr<orders::OrderService> orders;
};

CoreServices OpenCoreServices(const std::string& data_dir, const DatabaseSettings& database, int default_pool,
                              db::QueryObserver observer, const Clock& clock);

// The SMS gateway: Twilio when EMPORIUM_TWILIO_ACCOUNT_SID, EMPORIUM_TWILIO_AUTH_TOKEN (or a
// file named by EMPORIUM_TWILIO_AUTH_TOKEN_FILE) and EMPORIUM_TWILIO_FROM (or
// EMPORIUM_TWILIO_MESSAGING_SERVICE_SID) are set; else the local outbox. Sends time out with the
// courier's webhook_timeout. Logs which gateway, never the token.
std::unique_ptr<notify::SmsGateway> OpenSmsGateway(const NotifySettings& settings,
                                                   const notify::CourierOptions& courier, const Logger& logger);

// Courier options from the settings; nullopt (and a log line) when a duration is malformed or
// the lease is not longer than a send may take.
std::optional<notify::CourierOptions> CourierOptionsFrom(const NotifySettings& settings, const Logger& logger);

// The courier's figures: messages by outcome, and the queue's depth and age.
void AddNotifyMetrics(ops::Metrics& metrics, notify::NotifyService& notifier, const Clock& clock);

// The shop's business output for operators, by currency: orders, units, gross, discounts,
// refunds (counters) and net sales (a gauge). No label but the currency, from the given list.
void AddAnalyticsMetrics(ops::Metrics& metrics, analytics::AnalyticsService& analytics,
                         const std::vector<std::string>& currencies);
// The broker's queue depths as gauges (emporium_broker_queue_ready and _consumers per standard
// queue, emporium_broker_up), read from watch's last reading: what worker autoscaling watches.
void AddBrokerMetrics(ops::Metrics& metrics, const events::QueueWatch& watch);

// The delivery module's incident log as an alert observer: a firing alert opens an incident, its
// resolution closes it. Nothing is written while read_only (a standby's database is replaced by
// each backup it loads).
ops::Alerter::Sink IncidentLog(delivery::DeliveryService& delivery, const std::atomic<bool>& read_only);

// An exclusive lock on a data directory (flock on DATA_DIR/serve.lock), held by serve for its
// lifetime so that a restore cannot pull the database from under a running shop.
class DataDirLock {
public:
    // nullopt when another process holds it.
    static std::unique_ptr<DataDirLock> Acquire(const std::string& data_dir);
    // The lock a predecessor passed on (its descriptor, already locked by the same open file);
    // nullopt when fd holds no lock that this process can take.
    static std::unique_ptr<DataDirLock> Adopt(int fd);
    int fd() const { return fd_; }
    ~DataDirLock();
    DataDirLock(const DataDirLock&) = delete;
    DataDirLock& operator=(const DataDirLock&) = delete;

private:
    explicit DataDirLock(int fd) : fd_(fd) {}
    int fd_;
};

// Recommendations in the serving process: the model versions, the model in use and the
// retraining thread, built and stopped together (recs_command.cpp).
class RecsServing {
public:
    // nullptr (and a log line) when a setting is malformed. Loads the newest good version.
    static std::unique_ptr<RecsServing> Open(db::Database& database, const std::string& data_dir,
                                             const RecsSettings& settings, const Clock& clock, const Logger& logger);
    // The public and admin routes; cache is the catalog's read-through cache.
    void AddRoutes(http::Router& router, ReadCache& cache, const http::Authenticator& authenticate);
    void Start() { schedule_.Start(); }  // a primary only: a standby neither trains nor counts
    void Stop() { schedule_.Stop(); }
    // Scheduled training on this node or not (the "recs" lease).
    void Lead(bool leading) { schedule_.Lead(leading); }

private:
    RecsServing(db::Database& database, const std::string& data_dir, const Clock& clock, const Logger& logger,
                std::chrono::seconds interval, std::chrono::seconds poll, std::string interval_text);
    db::Database& database_;
    recommend::ModelStore store_;
    recommend::Recommender recommender_;
    recommend::RetrainSchedule schedule_;
    std::string interval_text_;
};

// The process's tracer (service_name: "emporium" or "emporium-worker"), or null with --tracing false.
std::unique_ptr<tracing::Tracer> MakeTracer(const TraceSettings& settings, std::string service_name);
// emporium_trace_spans_exported_total, _dropped_total and emporium_trace_export_failures_total.
void AddTraceMetrics(ops::Metrics& metrics, const tracing::Tracer& tracer);

// EMPORIUM_AMQP_URL (it holds a password, so it is never a flag), or the local broker's default.
std::string AmqpUrl();

}  // namespace emporium::app
