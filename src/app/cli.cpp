#include "app/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

#include "db/database.h"

namespace emporium::app {
namespace {

void AddDataDir(CLI::App& cmd, std::string& data_dir) {
    cmd.add_option("--data-dir", data_dir, "Directory for the database, keys and backups")
        ->envname("EMPORIUM_DATA_DIR")
        ->capture_default_str();
}

// Where the shop's data lives: the data directory (keys, backups, models) and the database.
void AddStorage(CLI::App& cmd, std::string& data_dir, DatabaseSettings& db) {
    AddDataDir(cmd, data_dir);
    cmd.add_option("--database", db.url,
                   "sqlite:PATH or postgresql://[user@]host[:port]/dbname[?param=value] (default: sqlite: in the data "
                   "directory). Keep a password out of this flag: EMPORIUM_DATABASE_URL, PGPASSWORD or PGPASSFILE")
        ->envname("EMPORIUM_DATABASE_URL")
        ->type_name("URL");
    cmd.add_option("--db-pool", db.pool,
                   "Database connections at most (SQLite: readers besides the writer); 0 picks one for the command")
        ->envname("EMPORIUM_DB_POOL")
        ->check(CLI::Range(0, 1000));
    cmd.add_option("--db-pool-wait", db.pool_wait,
                   "PostgreSQL: how long a request waits for a free connection before it gets 503 (e.g. 5s, 500ms)")
        ->envname("EMPORIUM_DB_POOL_WAIT")
        ->capture_default_str();
    cmd.add_option("--db-statement-timeout", db.statement_timeout,
                   "PostgreSQL: a statement running longer is cancelled and its request gets 503 (e.g. 10s; 0: none)")
        ->envname("EMPORIUM_DB_STATEMENT_TIMEOUT")
        ->capture_default_str();
}

// Side-effect settings, the same for serve and worker. Twilio's credentials are not options: they
// come from the environment only (EMPORIUM_TWILIO_ACCOUNT_SID, _AUTH_TOKEN, _FROM).
void AddNotifyOptions(CLI::App& cmd, NotifySettings& n) {
    cmd.add_option("--twilio-base-url", n.twilio_base_url, "Twilio API base URL (tests, proxies)")
        ->envname("EMPORIUM_TWILIO_BASE_URL")
        ->capture_default_str();
    cmd.add_option("--notify-senders", n.senders, "Texts and webhook posts in flight at once")
        ->envname("EMPORIUM_NOTIFY_SENDERS")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    cmd.add_option("--notify-lease", n.lease,
                   "After this, a message still marked sending is checked with Twilio and settled (e.g. 60s)")
        ->envname("EMPORIUM_NOTIFY_LEASE")
        ->capture_default_str();
    cmd.add_option("--notify-backoff", n.backoff, "First retry delay of a failed send, doubled each time")
        ->envname("EMPORIUM_NOTIFY_BACKOFF")
        ->capture_default_str();
    cmd.add_option("--notify-attempts", n.max_attempts, "Send attempts before a message is dead")
        ->envname("EMPORIUM_NOTIFY_ATTEMPTS")
        ->check(CLI::Range(1, 100))
        ->capture_default_str();
    cmd.add_flag("--webhook-private-targets", n.webhook_private_targets,
                 "Let webhooks post to loopback and private addresses (receivers on the shop's own network)")
        ->envname("EMPORIUM_WEBHOOK_PRIVATE_TARGETS");
}

// Spans and their export, the same for serve and worker.
void AddTraceOptions(CLI::App& cmd, TraceSettings& t) {
    cmd.add_option("--tracing", t.enabled, "Record spans (false: none, and no Slow requests page)")
        ->envname("EMPORIUM_TRACING")
        ->capture_default_str();
    cmd.add_option("--otlp-endpoint", t.otlp_endpoint,
                   "Export spans over OTLP/HTTP (JSON) to this receiver, e.g. http://collector:4318 (/v1/traces is "
                   "added); empty: no export")
        ->envname("EMPORIUM_OTLP_ENDPOINT")
        ->type_name("URL");
    cmd.add_option("--trace-sample", t.sample,
                   "Share of new traces exported (0 to 1); failed and slow ones always are, a caller's sampled "
                   "flag is followed")
        ->envname("EMPORIUM_TRACE_SAMPLE")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd.add_option("--trace-slow-ms", t.slow_ms, "A request at least this slow is always exported and listed")
        ->envname("EMPORIUM_TRACE_SLOW_MS")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{3'600'000}))
        ->capture_default_str();
}

// Where the shop listens, what it serves from disk, and how it logs.
void AddListenerOptions(CLI::App& cmd, ServeOptions& o) {
    cmd.add_option("--port", o.port, "Public port (0 picks a free one)")
        ->envname("EMPORIUM_PORT")
        ->capture_default_str();
    cmd.add_option("--bind", o.bind, "Public listen address")->envname("EMPORIUM_BIND")->capture_default_str();
    cmd.add_option("--internal-port", o.internal_port, "Internal port for health and metrics (0 picks one)")
        ->envname("EMPORIUM_INTERNAL_PORT")
        ->capture_default_str();
    cmd.add_option("--internal-bind", o.internal_bind, "Internal listen address (keep it private)")
        ->envname("EMPORIUM_INTERNAL_BIND")
        ->capture_default_str();
    cmd.add_option("--web-dir", o.web_dir, "Built web page to serve (default: web/dist of this checkout)")
        ->envname("EMPORIUM_WEB_DIR");
    cmd.add_option("--tls-port", o.tls_port, "Also serve HTTPS on this port (0 picks one)")
        ->envname("EMPORIUM_TLS_PORT")
        ->check(CLI::Range(0, 65535));
    cmd.add_option("--tls-cert", o.tls_cert, "PEM certificate chain for the TLS listener")
        ->envname("EMPORIUM_TLS_CERT")
        ->check(CLI::ExistingFile);
    cmd.add_option("--tls-key", o.tls_key, "PEM private key for the TLS listener")
        ->envname("EMPORIUM_TLS_KEY")
        ->check(CLI::ExistingFile);
    cmd.add_option("--log-level", o.log_level, "debug, info, warn or error")
        ->envname("EMPORIUM_LOG_LEVEL")
        ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
        ->capture_default_str();
}

// Sizes of the caches, pools and queues, and the caps past which requests are refused.
void AddCapacityOptions(CLI::App& cmd, ServeOptions& o) {
    cmd.add_option("--cache-ttl", o.cache_ttl, "Catalog read-through cache lifetime (e.g. 300s, 5m)")
        ->envname("EMPORIUM_CACHE_TTL")
        ->capture_default_str();
    cmd.add_option("--stock-refresh", o.stock_refresh,
                   "How old catalog answers' stock may be after orders (0: refreshed after every order)")
        ->envname("EMPORIUM_STOCK_REFRESH")
        ->capture_default_str();
    cmd.add_option("--cache-bytes", o.cache_bytes,
                   "Catalog cache memory bound: keys, values and bookkeeping (e.g. 64MiB; 0 turns it off)")
        ->envname("EMPORIUM_CACHE_BYTES")
        ->transform(CLI::AsSizeValue(/*kb_is_1000=*/true))
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 40))
        ->capture_default_str();
    cmd.add_option("--cache-entries", o.cache_entries, "Catalog cache entries at most (besides --cache-bytes)")
        ->envname("EMPORIUM_CACHE_ENTRIES")
        ->check(CLI::Range(0, 10'000'000))
        ->capture_default_str();
    cmd.add_option("--body-limit", o.body_limit, "Largest request body in bytes")
        ->envname("EMPORIUM_BODY_LIMIT")
        ->check(CLI::Range(1024, 64 * 1024 * 1024))
        ->capture_default_str();
    cmd.add_option("--max-connections", o.max_connections,
                   "Open public connections before new ones get 503 (the internal listener's are not counted)")
        ->envname("EMPORIUM_MAX_CONNECTIONS")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    cmd.add_option("--max-connections-per-address", o.max_connections_per_address,
                   "Open connections from one client address (IPv6: one /64) before its new ones get 503")
        ->envname("EMPORIUM_MAX_CONNECTIONS_PER_ADDRESS")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    cmd.add_option("--idle-timeout", o.idle_timeout,
                   "Keep-alive wait for a next request; keep it above the proxy's upstream keepalive_timeout")
        ->envname("EMPORIUM_IDLE_TIMEOUT")
        ->capture_default_str();
    cmd.add_option("--io-threads", o.io_threads, "Network threads (0: one per core)")
        ->envname("EMPORIUM_IO_THREADS")
        ->check(CLI::Range(0, 256));
    cmd.add_option("--workers", o.workers, "Worker threads for blocking work (0: four per core)")
        ->envname("EMPORIUM_WORKERS")
        ->check(CLI::Range(0, 1024));
    cmd.add_option("--max-queue-wait-ms", o.max_queue_wait_ms,
                   "Requests needing a worker get 503 while the oldest waiting one has waited this long")
        ->envname("EMPORIUM_MAX_QUEUE_WAIT_MS")
        ->check(CLI::Range(0, 600'000))
        ->capture_default_str();
    cmd.add_option("--max-in-flight", o.max_in_flight, "Requests in flight before new ones get 503 (a hard cap)")
        ->envname("EMPORIUM_MAX_IN_FLIGHT")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    cmd.add_option("--hash-threads", o.hash_threads,
                   "Threads for password hashing, below normal priority (0: one per core)")
        ->envname("EMPORIUM_HASH_THREADS")
        ->check(CLI::Range(0, 64));
    cmd.add_option("--max-hash-wait-ms", o.max_hash_wait_ms,
                   "Sign-ups and sign-ins get 503 while the oldest one waiting for hashing has waited this long")
        ->envname("EMPORIUM_MAX_HASH_WAIT_MS")
        ->check(CLI::Range(0, 600'000))
        ->capture_default_str();
}

// Per-client limits (shared across nodes through Redis, with --redis) and the proxies whose forwarded
// headers are believed.
void AddProtectionOptions(CLI::App& cmd, ServeOptions& o) {
    cmd.add_option("--rate-limit", o.rate_limit, "Requests a second per client address (0: off)")
        ->envname("EMPORIUM_RATE_LIMIT")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    cmd.add_option("--rate-burst", o.rate_burst, "Requests a client address may make at once")
        ->envname("EMPORIUM_RATE_BURST")
        ->check(CLI::Range(1.0, 1e9))
        ->capture_default_str();
    cmd.add_option("--signin-per-minute", o.signin_per_minute, "Sign-in attempts per address a minute")
        ->envname("EMPORIUM_SIGNIN_PER_MINUTE")
        ->check(CLI::Range(0.01, 1e6))
        ->capture_default_str();
    cmd.add_option("--signin-burst", o.signin_burst,
                   "Sign-in attempts an address may make at once (0: --signin-per-minute)")
        ->envname("EMPORIUM_SIGNIN_BURST")
        ->check(CLI::Range(0.0, 1e6))
        ->capture_default_str();
    cmd.add_option("--signin-per-account-minute", o.signin_per_account_minute, "Sign-in attempts per account a minute")
        ->envname("EMPORIUM_SIGNIN_PER_ACCOUNT_MINUTE")
        ->check(CLI::Range(0.01, 1e6))
        ->capture_default_str();
    cmd.add_option("--signin-per-account-burst", o.signin_per_account_burst,
                   "Sign-in attempts an account may get at once (0: --signin-per-account-minute)")
        ->envname("EMPORIUM_SIGNIN_PER_ACCOUNT_BURST")
        ->check(CLI::Range(0.0, 1e6))
        ->capture_default_str();
    cmd.add_option("--redis", o.redis_url,
                   "redis://[[user]:password@]host[:port][/db]: cache and rate limits shared by every node (default: "
                   "none). Keep a password out of this flag: EMPORIUM_REDIS_URL")
        ->envname("EMPORIUM_REDIS_URL")
        ->type_name("URL");
    cmd.add_option("--redis-timeout-ms", o.redis_timeout_ms,
                   "How long a request waits for Redis before it is answered without it (Redis is then taken for "
                   "down until it reconnects)")
        ->envname("EMPORIUM_REDIS_TIMEOUT_MS")
        ->check(CLI::Range(1, 60000))
        ->capture_default_str();
    cmd.add_option("--trusted-proxies", o.trusted_proxies,
                   "Comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For is believed")
        ->envname("EMPORIUM_TRUSTED_PROXIES");
}

// Event delivery, backups and drills.
void AddBackgroundOptions(CLI::App& cmd, ServeOptions& o) {
    cmd.add_option("--events", o.events,
                   "inprocess: this process sends texts and webhooks; rabbitmq: publish events for workers "
                   "(broker from EMPORIUM_AMQP_URL)")
        ->envname("EMPORIUM_EVENTS")
        ->check(CLI::IsMember({"inprocess", "rabbitmq"}))
        ->capture_default_str();
    cmd.add_option("--analytics", o.analytics,
                   "inprocess: this process keeps the sales reports up to date; off: it does not (a worker "
                   "with --only analytics does, or nobody)")
        ->envname("EMPORIUM_ANALYTICS")
        ->check(CLI::IsMember({"inprocess", "off"}))
        ->capture_default_str();
    AddNotifyOptions(cmd, o.notify);
    cmd.add_option("--backup-interval", o.backup_interval, "Time between automatic backups (e.g. 12h, 30m)")
        ->envname("EMPORIUM_BACKUP_INTERVAL")
        ->capture_default_str();
    cmd.add_option("--backup-dir", o.backup_dir, "Where backups go (default: DATA_DIR/backups)")
        ->envname("EMPORIUM_BACKUP_DIR");
    cmd.add_option("--peer", o.peers,
                   "Other nodes' internal listeners (comma-separated URLs), e.g. the standby's: a primary "
                   "that finds one of them promoted past it takes no more writes (fencing)")
        ->envname("EMPORIUM_PEERS");
    cmd.add_option("--lease-ttl", o.lease_ttl,
                   "How long a dead node keeps the jobs that run on one node (events, backups, alerts, "
                   "reconciler, retention, recs) before another node takes them over (at least 3s)")
        ->envname("EMPORIUM_LEASE_TTL")
        ->capture_default_str();
    cmd.add_option("--backup-retention", o.backup_retention, "Backups kept")
        ->envname("EMPORIUM_BACKUP_RETENTION")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
    cmd.add_flag("--faults", o.faults, "Drills only: enable the fault switch on the internal listener")
        ->envname("EMPORIUM_FAULTS");
    cmd.add_option("--recs-retrain-interval", o.recs.retrain_interval,
                   "Time between scheduled trainings of the recommendation model (0: on demand only)")
        ->envname("EMPORIUM_RECS_RETRAIN_INTERVAL")
        ->capture_default_str();
    cmd.add_option("--recs-poll", o.recs.poll,
                   "How often to look for model versions trained or rolled back by another process")
        ->envname("EMPORIUM_RECS_POLL")
        ->capture_default_str();
}

// The shop's own alert rules: thresholds, holds, and where notices go.
void AddAlertOptions(CLI::App& cmd, AlertSettings& a) {
    cmd.add_option("--alert-interval", a.interval, "How often alert rules are read")
        ->envname("EMPORIUM_ALERT_INTERVAL")
        ->capture_default_str();
    cmd.add_option("--alert-repeat", a.repeat, "A firing alert is sent again this often")
        ->envname("EMPORIUM_ALERT_REPEAT")
        ->capture_default_str();
    cmd.add_option("--alert-window", a.window, "Requests counted by the error and latency rules")
        ->envname("EMPORIUM_ALERT_WINDOW")
        ->capture_default_str();
    cmd.add_option("--alert-error-ratio", a.error_ratio, "5xx share of public requests that alerts")
        ->envname("EMPORIUM_ALERT_ERROR_RATIO")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd.add_option("--alert-error-hold", a.error_hold, "How long the error ratio must stay high")
        ->envname("EMPORIUM_ALERT_ERROR_HOLD")
        ->capture_default_str();
    cmd.add_option("--alert-min-requests", a.min_requests, "Fewer requests in the window: no verdict")
        ->envname("EMPORIUM_ALERT_MIN_REQUESTS")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    cmd.add_option("--alert-latency-p99-ms", a.latency_p99_ms, "p99 latency of a route group that alerts")
        ->envname("EMPORIUM_ALERT_LATENCY_P99_MS")
        ->check(CLI::Range(1, 600'000))
        ->capture_default_str();
    cmd.add_option("--alert-latency-hold", a.latency_hold, "How long the p99 must stay high")
        ->envname("EMPORIUM_ALERT_LATENCY_HOLD")
        ->capture_default_str();
    cmd.add_option("--alert-not-ready-hold", a.not_ready_hold, "How long the shop may be not ready")
        ->envname("EMPORIUM_ALERT_NOT_READY_HOLD")
        ->capture_default_str();
    cmd.add_option("--alert-backlog-age", a.backlog_age, "Oldest undelivered event or unsent text that alerts")
        ->envname("EMPORIUM_ALERT_BACKLOG_AGE")
        ->capture_default_str();
    cmd.add_option("--alert-disk-free", a.disk_free, "Free share of the data directory's disk that alerts")
        ->envname("EMPORIUM_ALERT_DISK_FREE")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd.add_option("--alert-db-pool", a.db_pool,
                   "Share of the database pool busy (connections in use plus transactions waiting for one, over "
                   "the pool's size) that alerts")
        ->envname("EMPORIUM_ALERT_DB_POOL")
        ->check(CLI::Range(0.0, 10.0))
        ->capture_default_str();
    cmd.add_option("--alert-db-pool-hold", a.db_pool_hold, "How long the database pool may stay that busy")
        ->envname("EMPORIUM_ALERT_DB_POOL_HOLD")
        ->capture_default_str();
    cmd.add_option("--alert-sms-to", a.sms_to, "On-call numbers for alert texts, comma-separated")
        ->envname("EMPORIUM_ALERT_SMS_TO");
    cmd.add_option("--alert-webhook", a.webhook, "URLs that get alert notices as JSON, comma-separated")
        ->envname("EMPORIUM_ALERT_WEBHOOK_URL");
}

// The options of a running shop, shared by `serve` and `standby`.
void AddServeOptions(CLI::App& cmd, ServeOptions& o) {
    AddStorage(cmd, o.data_dir, o.database);
    // Read by WithConfigFile below; registered here so that it shows in --help and parses.
    cmd.add_option("--config", "Read options from an INI or TOML file (flags beat it, it beats the environment)")
        ->type_name("FILE");
    AddListenerOptions(cmd, o);
    AddCapacityOptions(cmd, o);
    AddProtectionOptions(cmd, o);
    AddBackgroundOptions(cmd, o);
    AddAlertOptions(cmd, o.alerts);
    AddTraceOptions(cmd, o.tracing);
}

void AddStandbyOptions(CLI::App& cmd, ServeOptions& o) {
    AddServeOptions(cmd, o);
    cmd.add_option("--primary", o.standby_primary,
                   "The primary's internal listener, e.g. http://10.0.0.5:9090 (token: EMPORIUM_REPLICATION_TOKEN)")
        ->required();
    cmd.add_option("--sync-interval", o.standby_interval, "How often to look for a newer backup")
        ->envname("EMPORIUM_STANDBY_INTERVAL")
        ->capture_default_str();
    cmd.add_option("--promote-after", o.promote_after,
                   "Promote this standby by itself once the primary has failed every health check for this "
                   "long (e.g. 30s); 0: only `emporium promote` does")
        ->envname("EMPORIUM_PROMOTE_AFTER")
        ->capture_default_str();
}

void AddPromoteOptions(CLI::App& cmd, PromoteOptions& o) {
    cmd.add_option("--internal-port", o.port, "The standby's internal port")
        ->envname("EMPORIUM_INTERNAL_PORT")
        ->capture_default_str();
    cmd.add_option("--internal-host", o.host, "The standby's internal address")->capture_default_str();
}

void AddBackupOptions(CLI::App& cmd, BackupCommandOptions& o) {
    AddStorage(cmd, o.data_dir, o.database);
    cmd.add_option("--out", o.out, "Directory for the backup (default: DATA_DIR/backups)");
    cmd.add_option("--retention", o.retention, "Backups kept in that directory")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
}

void AddWorkerOptions(CLI::App& cmd, WorkerOptions& o) {
    AddStorage(cmd, o.data_dir, o.database);
    cmd.add_option("--only", o.only, "Comma-separated subscribers to run: notify, webhooks, analytics")
        ->envname("EMPORIUM_WORKER_ONLY")
        ->capture_default_str();
    cmd.add_option("--internal-port", o.internal_port, "Port for health and metrics (0 picks one)")
        ->envname("EMPORIUM_WORKER_INTERNAL_PORT")
        ->capture_default_str();
    cmd.add_option("--internal-bind", o.internal_bind, "Address for health and metrics")
        ->envname("EMPORIUM_INTERNAL_BIND")
        ->capture_default_str();
    cmd.add_option("--log-level", o.log_level, "debug, info, warn or error")
        ->envname("EMPORIUM_LOG_LEVEL")
        ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
        ->capture_default_str();
    AddNotifyOptions(cmd, o.notify);
    AddTraceOptions(cmd, o.tracing);
}

void AddSeedOptions(CLI::App& cmd, SeedCommandOptions& o) {
    AddStorage(cmd, o.data_dir, o.database);
    cmd.add_option("--preset", o.preset, "games (Git Goods) or grocery (GoMart)")
        ->envname("EMPORIUM_PRESET")
        ->check(CLI::IsMember({"games", "grocery"}))
        ->capture_default_str();
    cmd.add_option("--products", o.products, "Products to generate")
        ->check(CLI::Range(0, 10'000'000))
        ->capture_default_str();
    cmd.add_option("--customers", o.customers, "Customer accounts to generate")
        ->check(CLI::Range(0, 10'000'000))
        ->capture_default_str();
    cmd.add_option("--orders", o.orders, "Orders to generate")
        ->check(CLI::Range(0, 100'000'000))
        ->capture_default_str();
    cmd.add_option("--seed", o.seed, "Random seed: the same seed gives the same shop")->capture_default_str();
    cmd.add_option("--sellers", o.sellers, "Seller accounts to generate")
        ->check(CLI::Range(1, 10'000))
        ->capture_default_str();
    cmd.add_option("--photos", o.photos, "Popular products given a photo drawn at seed time (make run: 6)")
        ->check(CLI::Range(0, 1000))
        ->capture_default_str();
    cmd.add_option("--history-end", o.history_end,
                   "Last day of the generated order history, YYYY-MM-DD (default: today)");
}

void AddUserCreateOptions(CLI::App& cmd, UserCreateOptions& o) {
    AddStorage(cmd, o.data_dir, o.database);
    cmd.add_option("--email", o.email, "Email address")->required();
    CLI::Option* file = cmd.add_option("--password-file", o.password_file,
                                       "A file holding the password (its first line; at least 10 characters)");
    cmd.add_option("--password", o.password,
                   "The password itself: shows in the process list and shell history, so prefer --password-file, "
                   "EMPORIUM_USER_PASSWORD or the prompt")
        ->excludes(file);
    cmd.add_option("--role", o.role, "customer, seller or admin")
        ->check(CLI::IsMember({"customer", "seller", "admin"}))
        ->capture_default_str();
    cmd.add_option("--name", o.name, "Display name (default: the email's local part)");
}

// Recommendations: export the training data, train a model version, go back one version.
template <typename Add>
void AddRecsCommands(CLI::App& app, CommandLine& line, Add& add) {
    CLI::App& recs = add(app, "recs", "The recommendation model: export, train, rollback", Command::kNone);
    recs.require_subcommand(1);
    CLI::App& export_cmd =
        add(recs, "export", "Write the training data as CSV (items.csv, baskets.csv; no personal data)",
            Command::kRecsExport);
    AddStorage(export_cmd, line.recs_export.data_dir, line.recs_export.database);
    export_cmd.add_option("--out", line.recs_export.out, "Directory for the CSV files")->required();
    CLI::App& train =
        add(recs, "train",
            "Train, evaluate and save a new model version; print its manifest as JSON (a running shop swaps it in)",
            Command::kRecsTrain);
    AddStorage(train, line.recs_train.data_dir, line.recs_train.database);
    train.add_option("--from", line.recs_train.from, "Train from an export's CSV files instead of the database")
        ->check(CLI::ExistingDirectory);
    AddStorage(add(recs, "rollback", "Withdraw the model version being served: go back to the one before",
                   Command::kRecsRollback),
               line.recs_rollback.data_dir, line.recs_rollback.database);
}

// Every command and its options; `commands` gets the CLI11 node of each, to see which was chosen.
void AddCommands(CLI::App& app, CommandLine& line, std::vector<std::pair<CLI::App*, Command>>& commands) {
    auto add = [&commands](CLI::App& parent, const char* name, const char* help, Command command) -> CLI::App& {
        CLI::App* cmd = parent.add_subcommand(name, help);
        if (command != Command::kNone) commands.emplace_back(cmd, command);
        return *cmd;
    };
    AddServeOptions(
        add(app, "serve", "Run the shop: web page, API, internal listener, background jobs", Command::kServe),
        line.serve);
    AddStandbyOptions(
        add(app, "standby",
            "Run a warm standby: keep loading the primary's newest backup and serve the catalog read-only",
            Command::kStandby),
        line.standby);
    AddPromoteOptions(add(app, "promote", "Make the standby on this machine the primary", Command::kPromote),
                      line.promote);
    CLI::App& backup = add(app, "backup", "Take an online backup now (safe while the shop runs)", Command::kBackup);
    AddBackupOptions(backup, line.backup);
    CLI::App& verify =
        add(backup, "verify", "Check a backup: checksum, then integrity of a restored copy", Command::kBackupVerify);
    AddStorage(verify, line.verify.data_dir, line.verify.database);
    verify.add_option("file", line.verify.file, "A backup's manifest, .db.gz or .pgdump (default: the newest)");
    CLI::App& restore =
        add(app, "restore", "Replace the database with a verified backup (stop the shop first)", Command::kRestore);
    AddStorage(restore, line.restore.data_dir, line.restore.database);
    restore.add_option("--from", line.restore.from, "A backup's manifest, .db.gz or .pgdump")->required();
    AddWorkerOptions(add(app, "worker", "Consume events from RabbitMQ (EMPORIUM_AMQP_URL) and send texts and webhooks",
                         Command::kWorker),
                     line.worker);
    AddStorage(add(app, "migrate", "Bring the database schema up to date", Command::kMigrate), line.migrate.data_dir,
               line.migrate.database);
    AddSeedOptions(add(app, "seed", "Fill the database with a generated demo shop", Command::kSeed), line.seed);
    CLI::App& user = add(app, "user", "Manage accounts", Command::kNone);
    user.require_subcommand(1);
    AddUserCreateOptions(add(user, "create", "Make an account (customer, seller or admin)", Command::kUserCreate),
                         line.user);
    CLI::App& keys = add(app, "keys", "Manage the keys that encrypt personal data", Command::kNone);
    keys.require_subcommand(1);
    AddStorage(add(keys, "rotate", "Make a new PII key and re-encrypt every account with it; safe while the shop runs",
                   Command::kKeysRotate),
               line.rotate.data_dir, line.rotate.database);
    CLI::App& analytics = add(app, "analytics", "Seller analytics", Command::kNone);
    analytics.require_subcommand(1);
    CLI::App& rebuild =
        add(analytics, "rebuild", "Recompute the sales rollups from the orders (safe while the shop runs)",
            Command::kAnalyticsRebuild);
    AddStorage(rebuild, line.analytics_rebuild.data_dir, line.analytics_rebuild.database);
    rebuild.add_option("--seller", line.analytics_rebuild.seller_id, "Only this seller's rows (default: everything)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 62));
    AddRecsCommands(app, line, add);
    line.ci_report = std::make_unique<CiReportCommand>(app);
}

bool OnCommandLine(const std::vector<std::string>& args, const std::string& option) {
    return std::any_of(args.begin(), args.end(),
                       [&](const std::string& a) { return a == option || a.starts_with(option + "="); });
}

// `serve --config FILE` and `standby --config FILE`: CLI11 2.1 reads only the top-level app's
// config file, so the file's settings (top level or a [serve]/[standby] section) become arguments
// here, each unless the command line gives that option itself: a flag beats the file, and the
// file beats the environment (which fills only options still unset). Throws CLI::FileError or
// CLI::ConfigError for a file that cannot be read.
std::vector<std::string> WithConfigFile(std::vector<std::string> args) {
    const auto command =
        std::find_if(args.begin(), args.end(), [](const std::string& a) { return !a.starts_with("-"); });
    if (command == args.end() || (*command != "serve" && *command != "standby")) return args;
    std::string path;
    for (auto it = command; it != args.end(); ++it) {
        if (*it == "--config" && it + 1 != args.end()) path = *(it + 1);
        if (it->starts_with("--config=")) path = it->substr(std::string("--config=").size());
    }
    if (path.empty()) return args;
    std::vector<std::string> settings;
    for (const CLI::ConfigItem& item : CLI::ConfigINI().from_file(path)) {
        const bool ours = item.parents.empty() || (item.parents.size() == 1 && item.parents[0] == *command);
        if (!ours || item.name == "++" || item.name == "--" || OnCommandLine(args, "--" + item.name)) continue;
        for (const std::string& input : item.inputs) settings.push_back("--" + item.name + "=" + input);
    }
    args.insert(command + 1, settings.begin(), settings.end());
    return args;
}

// A password in `--database URL` on the command line shows in the process list and the shell's
// history: warn, as `user create --password` does.
void WarnOfAPasswordInTheDatabaseFlag(int argc, const char* const* argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string_view url;
        if (arg == "--database" && i + 1 < argc) url = argv[i + 1];
        if (arg.starts_with("--database=")) url = arg.substr(std::string_view("--database=").size());
        if (!url.empty() && db::Redacted(url) != url) {
            std::cerr << "emporium: warning: the password in --database shows in the process list; give it in "
                         "EMPORIUM_DATABASE_URL, PGPASSWORD or PGPASSFILE instead\n";
            return;
        }
    }
}

}  // namespace

std::optional<int> ParseCommandLine(int argc, const char* const* argv, CommandLine& line) {
    line.serve.program_path = argc > 0 ? argv[0] : "";
    line.standby.program_path = line.serve.program_path;
    CLI::App app{"Emporium: an online shop platform. Run `emporium COMMAND --help` for a command's options.",
                 argc > 0 ? argv[0] : "emporium"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "emporium 0.1.0");
    std::vector<std::pair<CLI::App*, Command>> commands;
    AddCommands(app, line, commands);
    try {
        std::vector<std::string> args = WithConfigFile({argv + std::min(argc, 1), argv + argc});
        std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
        app.parse(args);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    // The deepest chosen command wins: `backup verify` over `backup`.
    for (const auto& [cmd, command] : commands) {
        if (cmd->parsed()) line.command = command;
    }
    if (line.ci_report->parsed()) line.command = Command::kCiReport;
    WarnOfAPasswordInTheDatabaseFlag(argc, argv);
    return std::nullopt;
}

int RunCommand(const CommandLine& line) {
    try {
        switch (line.command) {
            case Command::kServe:
                return Serve(line.serve);
            case Command::kStandby:
                return Serve(line.standby);
            case Command::kPromote:
                return Promote(line.promote.host, line.promote.port);
            case Command::kBackup:
                return Backup(line.backup);
            case Command::kBackupVerify:
                return BackupVerify(line.verify);
            case Command::kRestore:
                return Restore(line.restore);
            case Command::kWorker:
                return Worker(line.worker);
            case Command::kMigrate:
                return Migrate(line.migrate);
            case Command::kSeed:
                return Seed(line.seed);
            case Command::kUserCreate:
                return UserCreate(line.user);
            case Command::kKeysRotate:
                return RotateKeys(line.rotate);
            case Command::kAnalyticsRebuild:
                return AnalyticsRebuild(line.analytics_rebuild);
            case Command::kRecsExport:
                return RecsExport(line.recs_export);
            case Command::kRecsTrain:
                return RecsTrain(line.recs_train);
            case Command::kRecsRollback:
                return RecsRollback(line.recs_rollback);
            case Command::kCiReport:
                return line.ci_report->Run();
            case Command::kNone:
                break;
        }
    } catch (const std::exception& e) {
        std::cerr << "emporium: " << e.what() << "\n";
        return 1;
    }
    return 2;
}

}  // namespace emporium::app
