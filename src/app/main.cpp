// emporium: the command line. Every option can also come from EMPORIUM_<NAME>; secrets (the
// admin token, later the PII key and Twilio token) come only from the environment.
#include <CLI/CLI.hpp>
#include <iostream>

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
    };

    ServeOptions serve;
    serve.program_path = argv[0];
    CLI::App* serve_cmd =
        app.add_subcommand("serve", "Run the shop: web page, API, internal listener, background jobs");
    add_data_dir(serve_cmd);
    serve_cmd->set_config("--config", "", "Read options from an INI or TOML file");
    serve_cmd->add_option("--port", serve.port, "Public port (0 picks a free one)")
        ->envname("EMPORIUM_PORT")
        ->capture_default_str();
    serve_cmd->add_option("--bind", serve.bind, "Public listen address")
        ->envname("EMPORIUM_BIND")
        ->capture_default_str();
    serve_cmd->add_option("--internal-port", serve.internal_port, "Internal port for health and metrics (0 picks one)")
        ->envname("EMPORIUM_INTERNAL_PORT")
        ->capture_default_str();
    serve_cmd->add_option("--internal-bind", serve.internal_bind, "Internal listen address (keep it private)")
        ->envname("EMPORIUM_INTERNAL_BIND")
        ->capture_default_str();
    serve_cmd->add_option("--web-dir", serve.web_dir, "Built web page to serve (default: web/dist of this checkout)")
        ->envname("EMPORIUM_WEB_DIR");
    serve_cmd->add_option("--cache-ttl", serve.cache_ttl, "Catalog read-through cache lifetime (e.g. 300s, 5m)")
        ->envname("EMPORIUM_CACHE_TTL")
        ->capture_default_str();
    serve_cmd->add_option("--cache-entries", serve.cache_entries, "Catalog cache size in entries")
        ->envname("EMPORIUM_CACHE_ENTRIES")
        ->check(CLI::Range(0, 10'000'000))
        ->capture_default_str();
    serve_cmd->add_option("--body-limit", serve.body_limit, "Largest request body in bytes")
        ->envname("EMPORIUM_BODY_LIMIT")
        ->check(CLI::Range(1024, 64 * 1024 * 1024))
        ->capture_default_str();
    serve_cmd->add_option("--max-connections", serve.max_connections, "Open connections before new ones get 503")
        ->envname("EMPORIUM_MAX_CONNECTIONS")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    serve_cmd->add_option("--io-threads", serve.io_threads, "Network threads (0: one per core)")
        ->envname("EMPORIUM_IO_THREADS")
        ->check(CLI::Range(0, 256));
    serve_cmd->add_option("--workers", serve.workers, "Worker threads for blocking work (0: four per core)")
        ->envname("EMPORIUM_WORKERS")
        ->check(CLI::Range(0, 1024));
    serve_cmd->add_option("--rate-limit", serve.rate_limit, "Requests a second per client address (0: off)")
        ->envname("EMPORIUM_RATE_LIMIT")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    serve_cmd->add_option("--rate-burst", serve.rate_burst, "Requests a client address may make at once")
        ->envname("EMPORIUM_RATE_BURST")
        ->check(CLI::Range(1.0, 1e9))
        ->capture_default_str();
    serve_cmd->add_option("--signin-per-minute", serve.signin_per_minute, "Sign-in attempts per address a minute")
        ->envname("EMPORIUM_SIGNIN_PER_MINUTE")
        ->check(CLI::Range(1.0, 1e6))
        ->capture_default_str();
    serve_cmd
        ->add_option("--signin-per-account-minute", serve.signin_per_account_minute,
                     "Sign-in attempts per account a minute")
        ->envname("EMPORIUM_SIGNIN_PER_ACCOUNT_MINUTE")
        ->check(CLI::Range(1.0, 1e6))
        ->capture_default_str();
    serve_cmd
        ->add_option("--trusted-proxies", serve.trusted_proxies,
                     "Comma-separated proxy addresses or CIDR ranges whose X-Forwarded-For is believed")
        ->envname("EMPORIUM_TRUSTED_PROXIES");
    serve_cmd->add_option("--max-in-flight", serve.max_in_flight, "Requests in flight before new ones get 503")
        ->envname("EMPORIUM_MAX_IN_FLIGHT")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
    serve_cmd
        ->add_option("--hash-threads", serve.hash_threads,
                     "Threads for password hashing, below normal priority (0: one per core)")
        ->envname("EMPORIUM_HASH_THREADS")
        ->check(CLI::Range(0, 64));
    serve_cmd
        ->add_option("--hash-queue", serve.hash_queue,
                     "Sign-ins waiting for hashing before new ones get 503 (0: four per hashing thread)")
        ->envname("EMPORIUM_HASH_QUEUE")
        ->check(CLI::Range(0, 100000));
    serve_cmd->add_option("--tls-port", serve.tls_port, "Also serve HTTPS on this port (0 picks one)")
        ->envname("EMPORIUM_TLS_PORT")
        ->check(CLI::Range(0, 65535));
    serve_cmd->add_option("--tls-cert", serve.tls_cert, "PEM certificate chain for the TLS listener")
        ->envname("EMPORIUM_TLS_CERT")
        ->check(CLI::ExistingFile);
    serve_cmd->add_option("--tls-key", serve.tls_key, "PEM private key for the TLS listener")
        ->envname("EMPORIUM_TLS_KEY")
        ->check(CLI::ExistingFile);
    serve_cmd->add_option("--log-level", serve.log_level, "debug, info, warn or error")
        ->envname("EMPORIUM_LOG_LEVEL")
        ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
        ->capture_default_str();

    serve_cmd
        ->add_option("--events", serve.events,
                     "inprocess: this process sends texts and webhooks; rabbitmq: publish events for workers "
                     "(broker from EMPORIUM_AMQP_URL)")
        ->envname("EMPORIUM_EVENTS")
        ->check(CLI::IsMember({"inprocess", "rabbitmq"}))
        ->capture_default_str();
    add_notify(serve_cmd, serve.notify);

    emporium::app::WorkerOptions worker;
    CLI::App* worker_cmd =
        app.add_subcommand("worker", "Consume events from RabbitMQ (EMPORIUM_AMQP_URL) and send texts and webhooks");
    add_data_dir(worker_cmd);
    worker_cmd->add_option("--only", worker.only, "Comma-separated subscribers to run: notify, webhooks")
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

    CLI11_PARSE(app, argc, argv);

    try {
        if (serve_cmd->parsed()) {
            serve.data_dir = data_dir;
            return emporium::app::Serve(serve);
        }
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
