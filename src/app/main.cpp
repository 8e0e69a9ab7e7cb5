// emporium: the command line. Every option can also come from EMPORIUM_<NAME>; secrets (the
// admin token, later the PII key and Twilio token) come only from the environment.
#include <CLI/CLI.hpp>
#include <iostream>

#include "app/ci_report_command.h"
#include "app/commands.h"

int main(int argc, char** argv) {
    using emporium::app::SeedCommandOptions;
    using emporium::app::ServeOptions;

    CLI::App app{"Emporium: an online shop platform. Run `emporium COMMAND --help` for a command's options."};
    app.require_subcommand(1);
    app.set_version_flag("--version", "emporium 0.1.0");

    std::string data_dir = "./data";
    auto add_data_dir = [&data_dir](CLI::App* command) {
        command->add_option("--data-dir", data_dir, "Directory for the database, keys and backups")
            ->envname("EMPORIUM_DATA_DIR")
            ->capture_default_str();
    };

    // Side-effect settings, the same for serve and worker. Twilio's credentials are not options:
    // they come from the environment only (EMPORIUM_TWILIO_ACCOUNT_SID, _AUTH_TOKEN, _FROM).
    auto add_notify = [](CLI::App* command, emporium::app::NotifySettings& n) {
        command->add_option("--twilio-base-url", n.twilio_base_url, "Twilio API base URL (tests, proxies)")
            ->envname("EMPORIUM_TWILIO_BASE_URL")
            ->capture_default_str();
        command->add_option("--notify-senders", n.senders, "Texts and webhook posts in flight at once")
            ->envname("EMPORIUM_NOTIFY_SENDERS")
            ->check(CLI::Range(1, 64))
            ->capture_default_str();
        command
            ->add_option("--notify-lease", n.lease,
                         "After this, a message still marked sending is checked with Twilio and settled (e.g. 60s)")
            ->envname("EMPORIUM_NOTIFY_LEASE")
            ->capture_default_str();
        command->add_option("--notify-backoff", n.backoff, "First retry delay of a failed send, doubled each time")
            ->envname("EMPORIUM_NOTIFY_BACKOFF")
            ->capture_default_str();
        command->add_option("--notify-attempts", n.max_attempts, "Send attempts before a message is dead")
            ->envname("EMPORIUM_NOTIFY_ATTEMPTS")
            ->check(CLI::Range(1, 100))
            ->capture_default_str();
        command
            ->add_flag("--webhook-private-targets", n.webhook_private_targets,
                       "Let webhooks post to loopback and private addresses (receivers on the shop's own network)")
            ->envname("EMPORIUM_WEBHOOK_PRIVATE_TARGETS");
    };

    ServeOptions serve;
    serve.program_path = argv[0];
    // The options of a running shop, shared by `serve` and `standby`.
    auto add_serve_options = [&add_data_dir, &add_notify](CLI::App* cmd, ServeOptions& o) {
        add_data_dir(cmd);
        cmd->set_config("--config", "", "Read options from an INI or TOML file");
        cmd->add_option("--port", o.port, "Public port (0 picks a free one)")
            ->envname("EMPORIUM_PORT")
            ->capture_default_str();
        cmd->add_option("--bind", o.bind, "Public listen address")->envname("EMPORIUM_BIND")->capture_default_str();
        cmd->add_option("--internal-port", o.internal_port, "Internal port for health and metrics (0 picks one)")
            ->envname("EMPORIUM_INTERNAL_PORT")
            ->capture_default_str();
        cmd->add_option("--internal-bind", o.internal_bind, "Internal listen address (keep it private)")
            ->envname("EMPORIUM_INTERNAL_BIND")
            ->capture_default_str();
        cmd->add_option("--web-dir", o.web_dir, "Built web page to serve (default: web/dist of this checkout)")
            ->envname("EMPORIUM_WEB_DIR");
        cmd->add_option("--cache-ttl", o.cache_ttl, "Catalog read-through cache lifetime (e.g. 300s, 5m)")
            ->envname("EMPORIUM_CACHE_TTL")
            ->capture_default_str();
        cmd->add_option("--cache-entries", o.cache_entries, "Catalog cache size in entries")
            ->envname("EMPORIUM_CACHE_ENTRIES")
            ->check(CLI::Range(0, 10'000'000))
            ->capture_default_str();
        cmd->add_option("--body-limit", o.body_limit, "Largest request body in bytes")
            ->envname("EMPORIUM_BODY_LIMIT")
            ->check(CLI::Range(1024, 64 * 1024 * 1024))
            ->capture_default_str();
        cmd->add_option("--max-connections", o.max_connections, "Open connections before new ones get 503")
            ->envname("EMPORIUM_MAX_CONNECTIONS")
            ->check(CLI::Range(1, 1'000'000))
            ->capture_default_str();
        cmd->add_option("--io-threads", o.io_threads, "Network threads (0: one per core)")
            ->envname("EMPORIUM_IO_THREADS")
            ->check(CLI::Range(0, 256));
        cmd->add_option("--workers", o.workers, "Worker threads for blocking work (0: four per core)")
            ->envname("EMPORIUM_WORKERS")
            ->check(CLI::Range(0, 1024));
        cmd->add_option("--rate-limit", o.rate_limit, "Requests a second per client address (0: off)")
            ->envname("EMPORIUM_RATE_LIMIT")
            ->check(CLI::Range(0.0, 1e9))
            ->capture_default_str();
        cmd->add_option("--rate-burst", o.rate_burst, "Requests a client address may make at once")
            ->envname("EMPORIUM_RATE_BURST")
            ->check(CLI::Range(1.0, 1e9))
            ->capture_default_str();
        cmd->add_option("--signin-per-minute", o.signin_per_minute, "Sign-in attempts per address a minute")
            ->envname("EMPORIUM_SIGNIN_PER_MINUTE")
            ->check(CLI::Range(1.0, 1e6))
            ->capture_default_str();
        cmd->add_option("--signin-per-account-minute", o.signin_per_account_minute,
                        "Sign-in attempts per account a minute")
            ->envname("EMPORIUM_SIGNIN_PER_ACCOUNT_MINUTE")
            ->check(CLI::Range(1.0, 1e6))
            ->capture_default_str();
        cmd->add_option("--trusted-proxies", o.trusted_proxies,
                        "Comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For is believed")
            ->envname("EMPORIUM_TRUSTED_PROXIES");
        cmd->add_option("--max-queue-wait-ms", o.max_queue_wait_ms,
                        "Requests needing a worker get 503 while the oldest waiting one has waited this long")
            ->envname("EMPORIUM_MAX_QUEUE_WAIT_MS")
            ->check(CLI::Range(0, 600'000))
            ->capture_default_str();
        cmd->add_option("--max-in-flight", o.max_in_flight, "Requests in flight before new ones get 503 (a hard cap)")
            ->envname("EMPORIUM_MAX_IN_FLIGHT")
            ->check(CLI::Range(1, 1'000'000))
            ->capture_default_str();
        cmd->add_option("--hash-threads", o.hash_threads,
                        "Threads for password hashing, below normal priority (0: one per core)")
            ->envname("EMPORIUM_HASH_THREADS")
            ->check(CLI::Range(0, 64));
        cmd->add_option("--hash-queue", o.hash_queue,
                        "Sign-ins waiting for hashing before new ones get 503 (0: four per hashing thread)")
            ->envname("EMPORIUM_HASH_QUEUE")
            ->check(CLI::Range(0, 100000));
        cmd->add_option("--tls-port", o.tls_port, "Also serve HTTPS on this port (0 picks one)")
            ->envname("EMPORIUM_TLS_PORT")
            ->check(CLI::Range(0, 65535));
        cmd->add_option("--tls-cert", o.tls_cert, "PEM certificate chain for the TLS listener")
            ->envname("EMPORIUM_TLS_CERT")
            ->check(CLI::ExistingFile);
        cmd->add_option("--tls-key", o.tls_key, "PEM private key for the TLS listener")
            ->envname("EMPORIUM_TLS_KEY")
            ->check(CLI::ExistingFile);
        cmd->add_option("--log-level", o.log_level, "debug, info, warn or error")
            ->envname("EMPORIUM_LOG_LEVEL")
            ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
            ->capture_default_str();

        cmd->add_option("--events", o.events,
                        "inprocess: this process sends texts and webhooks; rabbitmq: publish events for workers "
                        "(broker from EMPORIUM_AMQP_URL)")
            ->envname("EMPORIUM_EVENTS")
            ->check(CLI::IsMember({"inprocess", "rabbitmq"}))
            ->capture_default_str();
        cmd->add_option("--analytics", o.analytics,
                        "inprocess: this process keeps the sales reports up to date; off: it does not (a worker "
                        "with --only analytics does, or nobody)")
            ->envname("EMPORIUM_ANALYTICS")
            ->check(CLI::IsMember({"inprocess", "off"}))
            ->capture_default_str();
        add_notify(cmd, o.notify);
        cmd->add_option("--backup-interval", o.backup_interval, "Time between automatic backups (e.g. 12h, 30m)")
            ->envname("EMPORIUM_BACKUP_INTERVAL")
            ->capture_default_str();
        cmd->add_option("--backup-dir", o.backup_dir, "Where backups go (default: DATA_DIR/backups)")
            ->envname("EMPORIUM_BACKUP_DIR");
        cmd->add_option("--backup-retention", o.backup_retention, "Backups kept")
            ->envname("EMPORIUM_BACKUP_RETENTION")
            ->check(CLI::Range(1, 10000))
            ->capture_default_str();
        cmd->add_flag("--faults", o.faults, "Drills only: enable the fault switch on the internal listener")
            ->envname("EMPORIUM_FAULTS");
        emporium::app::AlertSettings& a = o.alerts;
        cmd->add_option("--alert-interval", a.interval, "How often alert rules are read")
            ->envname("EMPORIUM_ALERT_INTERVAL")
            ->capture_default_str();
        cmd->add_option("--alert-repeat", a.repeat, "A firing alert is sent again this often")
            ->envname("EMPORIUM_ALERT_REPEAT")
            ->capture_default_str();
        cmd->add_option("--alert-window", a.window, "Requests counted by the error and latency rules")
            ->envname("EMPORIUM_ALERT_WINDOW")
            ->capture_default_str();
        cmd->add_option("--alert-error-ratio", a.error_ratio, "5xx share of public requests that alerts")
            ->envname("EMPORIUM_ALERT_ERROR_RATIO")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        cmd->add_option("--alert-error-hold", a.error_hold, "How long the error ratio must stay high")
            ->envname("EMPORIUM_ALERT_ERROR_HOLD")
            ->capture_default_str();
        cmd->add_option("--alert-min-requests", a.min_requests, "Fewer requests in the window: no verdict")
            ->envname("EMPORIUM_ALERT_MIN_REQUESTS")
            ->check(CLI::Range(1, 1'000'000))
            ->capture_default_str();
        cmd->add_option("--alert-latency-p99-ms", a.latency_p99_ms, "p99 latency of a route group that alerts")
            ->envname("EMPORIUM_ALERT_LATENCY_P99_MS")
            ->check(CLI::Range(1, 600'000))
            ->capture_default_str();
        cmd->add_option("--alert-latency-hold", a.latency_hold, "How long the p99 must stay high")
            ->envname("EMPORIUM_ALERT_LATENCY_HOLD")
            ->capture_default_str();
        cmd->add_option("--alert-not-ready-hold", a.not_ready_hold, "How long the shop may be not ready")
            ->envname("EMPORIUM_ALERT_NOT_READY_HOLD")
            ->capture_default_str();
        cmd->add_option("--alert-backlog-age", a.backlog_age, "Oldest undelivered event or unsent text that alerts")
            ->envname("EMPORIUM_ALERT_BACKLOG_AGE")
            ->capture_default_str();
        cmd->add_option("--alert-disk-free", a.disk_free, "Free share of the data directory's disk that alerts")
            ->envname("EMPORIUM_ALERT_DISK_FREE")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        cmd->add_option("--alert-sms-to", a.sms_to, "On-call numbers for alert texts, comma-separated")
            ->envname("EMPORIUM_ALERT_SMS_TO");
        cmd->add_option("--alert-webhook", a.webhook, "URLs that get alert notices as JSON, comma-separated")
            ->envname("EMPORIUM_ALERT_WEBHOOK_URL");
        cmd->add_option("--recs-retrain-interval", o.recs.retrain_interval,
                        "Time between scheduled trainings of the recommendation model (0: on demand only)")
            ->envname("EMPORIUM_RECS_RETRAIN_INTERVAL")
            ->capture_default_str();
        cmd->add_option("--recs-poll", o.recs.poll,
                        "How often to look for model versions trained or rolled back by another process")
            ->envname("EMPORIUM_RECS_POLL")
            ->capture_default_str();
    };
    CLI::App* serve_cmd =
        app.add_subcommand("serve", "Run the shop: web page, API, internal listener, background jobs");
    add_serve_options(serve_cmd, serve);

    ServeOptions standby;
    standby.program_path = argv[0];
    CLI::App* standby_cmd = app.add_subcommand(
        "standby", "Run a warm standby: keep loading the primary's newest backup and serve the catalog read-only");
    add_serve_options(standby_cmd, standby);
    standby_cmd
        ->add_option("--primary", standby.standby_primary,
                     "The primary's internal listener, e.g. http://10.0.0.5:9090 (token: EMPORIUM_REPLICATION_TOKEN)")
        ->required();
    standby_cmd->add_option("--sync-interval", standby.standby_interval, "How often to look for a newer backup")
        ->envname("EMPORIUM_STANDBY_INTERVAL")
        ->capture_default_str();

    std::string promote_host = "127.0.0.1";
    std::uint16_t promote_port = 9090;
    CLI::App* promote_cmd = app.add_subcommand("promote", "Make the standby on this machine the primary");
    promote_cmd->add_option("--internal-port", promote_port, "The standby's internal port")
        ->envname("EMPORIUM_INTERNAL_PORT")
        ->capture_default_str();
    promote_cmd->add_option("--internal-host", promote_host, "The standby's internal address")->capture_default_str();

    emporium::app::BackupCommandOptions backup;
    CLI::App* backup_cmd = app.add_subcommand("backup", "Take an online backup now (safe while the shop runs)");
    add_data_dir(backup_cmd);
    backup_cmd->add_option("--out", backup.out, "Directory for the backup (default: DATA_DIR/backups)");
    backup_cmd->add_option("--retention", backup.retention, "Backups kept in that directory")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
    std::string verify_file;
    CLI::App* verify_cmd =
        backup_cmd->add_subcommand("verify", "Check a backup: checksum, then integrity of a restored copy");
    add_data_dir(verify_cmd);
    verify_cmd->add_option("file", verify_file, "A backup's manifest or .db.gz (default: the newest)");

    std::string restore_from;
    CLI::App* restore_cmd =
        app.add_subcommand("restore", "Replace the database with a verified backup (stop the shop first)");
    add_data_dir(restore_cmd);
    restore_cmd->add_option("--from", restore_from, "A backup's manifest or .db.gz")->required();

    emporium::app::WorkerOptions worker;
    CLI::App* worker_cmd =
        app.add_subcommand("worker", "Consume events from RabbitMQ (EMPORIUM_AMQP_URL) and send texts and webhooks");
    add_data_dir(worker_cmd);
    worker_cmd->add_option("--only", worker.only, "Comma-separated subscribers to run: notify, webhooks, analytics")
        ->envname("EMPORIUM_WORKER_ONLY")
        ->capture_default_str();
    worker_cmd->add_option("--internal-port", worker.internal_port, "Port for health and metrics (0 picks one)")
        ->envname("EMPORIUM_WORKER_INTERNAL_PORT")
        ->capture_default_str();
    worker_cmd->add_option("--internal-bind", worker.internal_bind, "Address for health and metrics")
        ->envname("EMPORIUM_INTERNAL_BIND")
        ->capture_default_str();
    worker_cmd->add_option("--log-level", worker.log_level, "debug, info, warn or error")
        ->envname("EMPORIUM_LOG_LEVEL")
        ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
        ->capture_default_str();
    add_notify(worker_cmd, worker.notify);

    CLI::App* migrate_cmd = app.add_subcommand("migrate", "Bring the database schema up to date");
    add_data_dir(migrate_cmd);

    SeedCommandOptions seed;
    CLI::App* seed_cmd = app.add_subcommand("seed", "Fill the database with a generated demo shop");
    add_data_dir(seed_cmd);
    seed_cmd->add_option("--preset", seed.preset, "games (Git Goods) or grocery (GoMart)")
        ->envname("EMPORIUM_PRESET")
        ->check(CLI::IsMember({"games", "grocery"}))
        ->capture_default_str();
    seed_cmd->add_option("--products", seed.products, "Products to generate")
        ->check(CLI::Range(0, 10'000'000))
        ->capture_default_str();
    seed_cmd->add_option("--customers", seed.customers, "Customer accounts to generate")
        ->check(CLI::Range(0, 10'000'000))
        ->capture_default_str();
    seed_cmd->add_option("--orders", seed.orders, "Orders to generate")
        ->check(CLI::Range(0, 100'000'000))
        ->capture_default_str();
    seed_cmd->add_option("--seed", seed.seed, "Random seed: the same seed gives the same shop")->capture_default_str();
    seed_cmd->add_option("--sellers", seed.sellers, "Seller accounts to generate")
        ->check(CLI::Range(1, 10'000))
        ->capture_default_str();
    seed_cmd->add_option("--history-end", seed.history_end,
                         "Last day of the generated order history, YYYY-MM-DD (default: today)");

    emporium::app::UserCreateOptions user;
    CLI::App* user_cmd = app.add_subcommand("user", "Manage accounts");
    user_cmd->require_subcommand(1);
    CLI::App* user_create_cmd = user_cmd->add_subcommand("create", "Make an account (customer, seller or admin)");
    add_data_dir(user_create_cmd);
    user_create_cmd->add_option("--email", user.email, "Email address")->required();
    user_create_cmd->add_option("--password", user.password, "Password, at least 10 characters")->required();
    user_create_cmd->add_option("--role", user.role, "customer, seller or admin")
        ->check(CLI::IsMember({"customer", "seller", "admin"}))
        ->capture_default_str();
    user_create_cmd->add_option("--name", user.name, "Display name (default: the email's local part)");

    CLI::App* keys_cmd = app.add_subcommand("keys", "Manage the keys that encrypt personal data");
    keys_cmd->require_subcommand(1);
    CLI::App* rotate_cmd = keys_cmd->add_subcommand(
        "rotate", "Make a new PII key and re-encrypt every account with it; safe while the shop runs");
    add_data_dir(rotate_cmd);

    std::int64_t rebuild_seller = 0;
    CLI::App* analytics_cmd = app.add_subcommand("analytics", "Seller analytics");
    analytics_cmd->require_subcommand(1);
    CLI::App* rebuild_cmd = analytics_cmd->add_subcommand(
        "rebuild", "Recompute the sales rollups from the orders (safe while the shop runs)");
    add_data_dir(rebuild_cmd);
    rebuild_cmd->add_option("--seller", rebuild_seller, "Only this seller's rows (default: everything)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 62));
    // Recommendations: export the training data, train a model version, go back one version.
    std::string recs_out, recs_from;
    CLI::App* recs_cmd = app.add_subcommand("recs", "The recommendation model: export, train, rollback");
    recs_cmd->require_subcommand(1);
    CLI::App* recs_export_cmd =
        recs_cmd->add_subcommand("export", "Write the training data as CSV (items.csv, baskets.csv; no personal data)");
    add_data_dir(recs_export_cmd);
    recs_export_cmd->add_option("--out", recs_out, "Directory for the CSV files")->required();
    CLI::App* recs_train_cmd = recs_cmd->add_subcommand(
        "train",
        "Train, evaluate and save a new model version; print its manifest as JSON (a running shop swaps it in)");
    add_data_dir(recs_train_cmd);
    recs_train_cmd->add_option("--from", recs_from, "Train from an export's CSV files instead of the database")
        ->check(CLI::ExistingDirectory);
    CLI::App* recs_rollback_cmd =
        recs_cmd->add_subcommand("rollback", "Withdraw the model version being served: go back to the one before");
    add_data_dir(recs_rollback_cmd);
    emporium::app::CiReportCommand ci_report(app);  // the delivery page's CI tool (issue 17)

    CLI11_PARSE(app, argc, argv);

    try {
        if (serve_cmd->parsed()) {
            serve.data_dir = data_dir;
            return emporium::app::Serve(serve);
        }
        if (standby_cmd->parsed()) {
            standby.data_dir = data_dir;
            return emporium::app::Serve(standby);
        }
        if (promote_cmd->parsed()) return emporium::app::Promote(promote_host, promote_port);
        if (verify_cmd->parsed()) return emporium::app::BackupVerify(data_dir, verify_file);
        if (backup_cmd->parsed()) {
            backup.data_dir = data_dir;
            return emporium::app::Backup(backup);
        }
        if (restore_cmd->parsed()) return emporium::app::Restore(data_dir, restore_from);
        if (worker_cmd->parsed()) {
            worker.data_dir = data_dir;
            return emporium::app::Worker(worker);
        }
        if (migrate_cmd->parsed()) return emporium::app::Migrate(data_dir);
        if (user_create_cmd->parsed()) {
            user.data_dir = data_dir;
            return emporium::app::UserCreate(user);
        }
        if (rotate_cmd->parsed()) return emporium::app::RotateKeys(data_dir);
        if (rebuild_cmd->parsed()) return emporium::app::AnalyticsRebuild(data_dir, rebuild_seller);
        if (recs_export_cmd->parsed()) return emporium::app::RecsExport(data_dir, recs_out);
        if (recs_train_cmd->parsed()) return emporium::app::RecsTrain(data_dir, recs_from);
        if (recs_rollback_cmd->parsed()) return emporium::app::RecsRollback(data_dir);
        if (ci_report.parsed()) return ci_report.Run();
        if (seed_cmd->parsed()) {
            seed.data_dir = data_dir;
            return emporium::app::Seed(seed);
        }
    } catch (const std::exception& e) {
        std::cerr << "emporium: " << e.what() << "\n";
        return 1;
    }
    return 2;
}
