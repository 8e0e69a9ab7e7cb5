// The program's commands. main.cpp parses the command line into these options; each command
// is a plain function returning the process exit code.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace emporium::app {

// Which database a command opens and how (--database, --db-pool, --db-pool-wait,
// --db-statement-timeout). The URL may hold a password: it is logged only through db::Redacted.
struct DatabaseSettings {
    std::string url;                        // empty: sqlite:DATA_DIR/emporium.db
    int pool = 0;                           // connections (SQLite: readers); 0: the command's own default
    std::string pool_wait = "5s";           // PostgreSQL: wait for a free connection before 503
    std::string statement_timeout = "10s";  // PostgreSQL: a statement running longer is cancelled (0: none)
};

// Settings of the side effects (texts and webhooks), for serve and worker alike. Credentials
// are not here: they come from the environment only (see wiring.h).
struct NotifySettings {
    std::string twilio_base_url = "https://api.twilio.com";
    int senders = 4;             // messages in flight at once
    std::string lease = "60s";   // after this a message still "sending" is looked up and settled
    std::string backoff = "2s";  // first retry delay, doubled each time
    int max_attempts = 12;
    bool webhook_private_targets = false;  // webhooks may post to loopback and private addresses
};

// The shop's own alert rules (see ops/alerts.h) and where their notices go.
struct AlertSettings {
    std::string interval = "5s";  // how often rules are read
    std::string repeat = "30m";   // a firing alert is sent again this often
    std::string window = "60s";   // requests counted by the error and latency rules
    double error_ratio = 0.05;    // 5xx share of public requests
    std::string error_hold = "30s";
    std::int64_t min_requests = 20;  // fewer requests in the window: no verdict on ratios and p99
    std::int64_t latency_p99_ms = 500;
    std::string latency_hold = "60s";
    std::string not_ready_hold = "30s";
    std::string backlog_age = "300s";  // oldest event or text waiting longer than this
    double disk_free = 0.05;           // share of the data directory's disk left
    double db_pool = 0.9;              // share of the database pool busy (waiters counted in)
    std::string db_pool_hold = "60s";
    std::string sms_to;   // EMPORIUM_ALERT_SMS_TO: on-call numbers, comma-separated
    std::string webhook;  // EMPORIUM_ALERT_WEBHOOK_URL: comma-separated
};

// Recommendations in the serving process (see recommend/recommend.h).
struct RecsSettings {
    std::string retrain_interval = "24h";  // scheduled retraining; "0" turns it off (on demand only)
    std::string poll = "5s";               // how often versions trained or rolled back elsewhere are looked for
};

// Spans and their export (src/tracing), the same for serve and worker.
struct TraceSettings {
    bool enabled = true;         // false: no spans at all (and no Slow requests list)
    std::string otlp_endpoint;   // OTLP/HTTP receiver, e.g. http://collector:4318; empty: no export
    double sample = 0.1;         // share of new traces exported; failed and slow ones always are
    std::int64_t slow_ms = 500;  // a request at least this slow is always exported
};

struct ServeOptions {
    std::string data_dir = "./data";
    DatabaseSettings database;
    std::string bind = "0.0.0.0";
    std::uint16_t port = 8080;
    std::string internal_bind = "127.0.0.1";
    std::uint16_t internal_port = 9090;
    std::string web_dir;  // empty: web/dist beside the program's build directory
    std::string cache_ttl = "300s";
    // How old the stock shown in catalog answers may be after orders change it: the catalog cache
    // is emptied once per this window however many orders come in ("0": after every order).
    std::string stock_refresh = "1s";
    std::int64_t cache_bytes = std::int64_t{64} * 1024 * 1024;  // the catalog cache's memory bound
    std::int64_t cache_entries = 20000;
    std::int64_t body_limit = std::int64_t{1024} * 1024;
    std::int64_t max_connections = 10000;
    std::int64_t max_connections_per_address = 256;  // per client address (IPv6: per /64)
    std::string idle_timeout = "75s";                // keep-alive; longer than the proxy's
    int io_threads = 0;                              // 0: one per core
    int workers = 0;                                 // 0: four per core
    std::string log_level = "info";
    std::string program_path;  // argv[0], to find the web page beside the build
    double rate_limit = 50;    // requests a second per client address; 0 turns it off
    double rate_burst = 300;
    double signin_per_minute = 10;         // per client address
    double signin_per_account_minute = 5;  // per email
    double signin_burst = 0;               // attempts at once per address; 0: a minute's worth
    double signin_per_account_burst = 0;   // attempts at once per email; 0: a minute's worth
    std::string trusted_proxies;           // comma-separated addresses or CIDR ranges
    std::int64_t max_in_flight = 4096;
    std::int64_t max_queue_wait_ms = 250;
    int hash_threads = 0;  // 0: one per core
    std::int64_t max_hash_wait_ms = 1000;
    int tls_port = -1;                 // -1: no TLS listener
    std::string tls_cert;              // PEM certificate chain
    std::string tls_key;               // PEM private key
    std::string events = "inprocess";  // or "rabbitmq": publish events for separate workers
    // redis://[[user]:password@]host[:port][/db]: the catalog cache's shared level and rate limits
    // across nodes. Empty: this node's own cache and limits only.
    std::string redis_url;
    // How long a request waits for Redis (each read or write) before it is answered without it.
    std::int64_t redis_timeout_ms = 100;
    std::string analytics = "inprocess";  // or "off": this process does not update the sales reports
    NotifySettings notify;
    AlertSettings alerts;
    std::string backup_interval = "12h";
    std::string backup_dir;  // empty: DATA_DIR/backups
    // A lease of a job that runs on one node (events, backups, alerts, ...) not renewed for this
    // long is taken by another node: how long a dead node's jobs stay undone.
    std::string lease_ttl = "15s";
    int backup_retention = 14;
    bool faults = false;          // drills: the fault switch on the internal listener
    std::string standby_primary;  // set by `emporium standby`: the primary's internal URL
    std::string standby_interval = "60s";
    std::string promote_after = "0s";  // a standby: promote by itself after this long without its primary
    std::string peers;                 // other nodes' internal URLs, comma-separated: fencing
    RecsSettings recs;
    TraceSettings tracing;
};

struct BackupCommandOptions {
    std::string data_dir = "./data";
    DatabaseSettings database;
    std::string out;  // empty: DATA_DIR/backups
    int retention = 14;
};

struct WorkerOptions {
    std::string data_dir = "./data";
    DatabaseSettings database;
    std::string only = "notify,webhooks,analytics";  // subscribers this worker runs
    std::string internal_bind = "127.0.0.1";
    std::uint16_t internal_port = 9091;  // health and metrics
    std::string log_level = "info";
    NotifySettings notify;
    TraceSettings tracing;
};

struct UserCreateOptions {
    std::string data_dir = "./data";
    DatabaseSettings database;
    std::string email;
    // The password comes from --password-file, else --password (with a warning: it shows in the
    // process list), else EMPORIUM_USER_PASSWORD, else a prompt without echo on a terminal (or
    // the first line of standard input when that is not a terminal).
    std::string password_file;
    std::string password;
    std::string role = "customer";
    std::string name;
};

struct SeedCommandOptions {
    std::string data_dir = "./data";
    DatabaseSettings database;
    std::string preset = "games";
    std::int64_t products = 1000;
    std::int64_t customers = 50;
    std::int64_t orders = 200;
    std::uint64_t seed = 42;
    std::string history_end;  // YYYY-MM-DD; empty: today (UTC)
    std::int64_t sellers = 5;
    std::int64_t photos = 0;  // products given a drawn photo (catalog::SeedPhotos)
};

// A command that needs only the shop's data: its directory and its database.
struct DataDirOptions {
    std::string data_dir = "./data";
    DatabaseSettings database;
};

struct BackupVerifyOptions {
    std::string data_dir = "./data";
    DatabaseSettings database;  // PostgreSQL: the server a pg_dump backup is also restored into, aside
    std::string file;           // empty: the newest backup
};

struct RestoreOptions {
    std::string data_dir = "./data";
    DatabaseSettings database;
    std::string from;
};

struct RecsCommandOptions {
    std::string data_dir = "./data";
    DatabaseSettings database;
    std::string out;   // export: the directory for the CSV files
    std::string from;  // train: an export's directory instead of the database
};

struct AnalyticsRebuildOptions {
    std::string data_dir = "./data";
    DatabaseSettings database;
    std::int64_t seller_id = 0;  // 0: every seller's rows
};

int Serve(const ServeOptions& options);
int Worker(const WorkerOptions& options);
int Backup(const BackupCommandOptions& options);
// Checks a backup (a manifest or its file; empty: the newest in DATA_DIR/backups).
int BackupVerify(const BackupVerifyOptions& options);
// Replaces the database with a verified backup. Refuses while a shop runs on it.
int Restore(const RestoreOptions& options);
// Asks the standby listening on host:port (its internal listener) to become the primary.
int Promote(const std::string& host, std::uint16_t port);
int UserCreate(const UserCreateOptions& options);
int RotateKeys(const DataDirOptions& options);
int Migrate(const DataDirOptions& options);
int Seed(const SeedCommandOptions& options);
// Recomputes the sales rollups from the orders (seller_id 0: everyone's) and prints what it read.
int AnalyticsRebuild(const AnalyticsRebuildOptions& options);

// `emporium recs ...`: the training data as CSV, training a new model version (its manifest
// printed as JSON), and going back to the version before the one being served.
int RecsExport(const RecsCommandOptions& options);
int RecsTrain(const RecsCommandOptions& options);
int RecsRollback(const DataDirOptions& options);

// Where the recommendation model's versions live: DATA_DIR/recs.
std::string RecsDir(const std::string& data_dir);

// The database file inside a data directory (created when missing).
std::string DatabasePath(const std::string& data_dir);

}  // namespace emporium::app
