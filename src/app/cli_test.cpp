#include "app/cli.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "app/wiring.h"

namespace emporium::app {
namespace {

// Sets environment variables for one test and restores what was there.
class Environment {
public:
    void Set(const std::string& name, const std::string& value) {
        const char* old = std::getenv(name.c_str());
        saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
        setenv(name.c_str(), value.c_str(), 1);
    }
    ~Environment() {
        for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
            if (it->second) {
                setenv(it->first.c_str(), it->second->c_str(), 1);
            } else {
                unsetenv(it->first.c_str());
            }
        }
    }

private:
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

CommandLine Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "emporium");
    std::vector<const char*> argv;
    argv.reserve(args.size());
    for (const std::string& a : args) argv.push_back(a.c_str());
    CommandLine line;
    std::optional<int> exit = ParseCommandLine(static_cast<int>(argv.size()), argv.data(), line);
    EXPECT_FALSE(exit) << "parse ended with " << exit.value_or(0);
    return line;
}

struct DataDirCase {
    std::vector<std::string> args;  // the command and its required options
    Command command;
    std::function<std::string(const CommandLine&)> data_dir;
    std::function<DatabaseSettings(const CommandLine&)> database;
};

// Every command that opens the shop's data: each has its own data directory and database options.
const std::vector<DataDirCase>& EveryCommandWithADataDir() {
    static const std::vector<DataDirCase> kCases = {
        {{"serve"},
         Command::kServe,
         [](const CommandLine& l) { return l.serve.data_dir; },
         [](const CommandLine& l) { return l.serve.database; }},
        {{"standby", "--primary", "http://127.0.0.1:9"},
         Command::kStandby,
         [](const CommandLine& l) { return l.standby.data_dir; },
         [](const CommandLine& l) { return l.standby.database; }},
        {{"backup"},
         Command::kBackup,
         [](const CommandLine& l) { return l.backup.data_dir; },
         [](const CommandLine& l) { return l.backup.database; }},
        {{"backup", "verify"},
         Command::kBackupVerify,
         [](const CommandLine& l) { return l.verify.data_dir; },
         [](const CommandLine& l) { return l.verify.database; }},
        {{"restore", "--from", "b.db.gz"},
         Command::kRestore,
         [](const CommandLine& l) { return l.restore.data_dir; },
         [](const CommandLine& l) { return l.restore.database; }},
        {{"worker"},
         Command::kWorker,
         [](const CommandLine& l) { return l.worker.data_dir; },
         [](const CommandLine& l) { return l.worker.database; }},
        {{"migrate"},
         Command::kMigrate,
         [](const CommandLine& l) { return l.migrate.data_dir; },
         [](const CommandLine& l) { return l.migrate.database; }},
        {{"seed"},
         Command::kSeed,
         [](const CommandLine& l) { return l.seed.data_dir; },
         [](const CommandLine& l) { return l.seed.database; }},
        {{"user", "create", "--email", "a@b.co"},
         Command::kUserCreate,
         [](const CommandLine& l) { return l.user.data_dir; },
         [](const CommandLine& l) { return l.user.database; }},
        {{"keys", "rotate"},
         Command::kKeysRotate,
         [](const CommandLine& l) { return l.rotate.data_dir; },
         [](const CommandLine& l) { return l.rotate.database; }},
        {{"recs", "export", "--out", "/tmp/x"},
         Command::kRecsExport,
         [](const CommandLine& l) { return l.recs_export.data_dir; },
         [](const CommandLine& l) { return l.recs_export.database; }},
        {{"recs", "train"},
         Command::kRecsTrain,
         [](const CommandLine& l) { return l.recs_train.data_dir; },
         [](const CommandLine& l) { return l.recs_train.database; }},
        {{"recs", "rollback"},
         Command::kRecsRollback,
         [](const CommandLine& l) { return l.recs_rollback.data_dir; },
         [](const CommandLine& l) { return l.recs_rollback.database; }},
        {{"analytics", "rebuild"},
         Command::kAnalyticsRebuild,
         [](const CommandLine& l) { return l.analytics_rebuild.data_dir; },
         [](const CommandLine& l) { return l.analytics_rebuild.database; }},
    };
    return kCases;
}

TEST(CommandLine, AFlagBeatsTheEnvironmentForEveryCommandsDataDir) {
    Environment env;
    env.Set("EMPORIUM_DATA_DIR", "/from/the/environment");
    for (const DataDirCase& c : EveryCommandWithADataDir()) {
        std::vector<std::string> args = c.args;
        args.insert(args.end(), {"--data-dir", "/from/the/flag"});
        CommandLine line = Parse(args);
        EXPECT_EQ(line.command, c.command) << args[0];
        EXPECT_EQ(c.data_dir(line), "/from/the/flag") << args[0];
        // Without the flag the environment is the fallback.
        EXPECT_EQ(c.data_dir(Parse(c.args)), "/from/the/environment") << args[0];
    }
}

TEST(CommandLine, EveryCommandTakesTheDatabaseFromItsFlagsBeforeTheEnvironment) {
    for (const DataDirCase& c : EveryCommandWithADataDir()) {
        // Neither: SQLite in the data directory, the command's own pool size.
        DatabaseSettings none = c.database(Parse(c.args));
        EXPECT_EQ(none.url, "") << c.args[0];
        EXPECT_EQ(none.pool, 0) << c.args[0];
        EXPECT_EQ(none.statement_timeout, "10s") << c.args[0];
    }
    Environment env;
    env.Set("EMPORIUM_DATABASE_URL", "postgresql://env@10.0.0.1/shop");
    env.Set("EMPORIUM_DB_POOL", "3");
    env.Set("EMPORIUM_DB_POOL_WAIT", "2s");
    env.Set("EMPORIUM_DB_STATEMENT_TIMEOUT", "1s");
    for (const DataDirCase& c : EveryCommandWithADataDir()) {
        std::vector<std::string> args = c.args;
        args.insert(args.end(), {"--database", "postgresql://flag@10.0.0.2/shop", "--db-pool=7", "--db-pool-wait",
                                 "100ms", "--db-statement-timeout=250ms"});
        DatabaseSettings flags = c.database(Parse(args));
        EXPECT_EQ(flags.url, "postgresql://flag@10.0.0.2/shop") << c.args[0];
        EXPECT_EQ(flags.pool, 7) << c.args[0];
        EXPECT_EQ(flags.pool_wait, "100ms") << c.args[0];
        EXPECT_EQ(flags.statement_timeout, "250ms") << c.args[0];
        DatabaseSettings environment = c.database(Parse(c.args));
        EXPECT_EQ(environment.url, "postgresql://env@10.0.0.1/shop") << c.args[0];
        EXPECT_EQ(environment.pool, 3) << c.args[0];
        EXPECT_EQ(environment.pool_wait, "2s") << c.args[0];
        EXPECT_EQ(environment.statement_timeout, "1s") << c.args[0];
    }
}

TEST(CommandLine, DatabaseSettingsBecomeTheOptionsTheDatabaseIsOpenedWith) {
    DatabaseSettings settings;
    db::DatabaseOptions sqlite = DatabaseOptionsFrom("/srv/shop", settings, 12);
    EXPECT_EQ(sqlite.url, "sqlite:/srv/shop/emporium.db");
    EXPECT_EQ(sqlite.pool_size, 12);
    EXPECT_EQ(sqlite.statement_timeout, std::chrono::seconds(10));
    settings = {"postgresql://shop@127.0.0.1/shop", 5, "750ms", "2m"};
    db::DatabaseOptions pg = DatabaseOptionsFrom("/srv/shop", settings, 12);
    EXPECT_EQ(pg.url, "postgresql://shop@127.0.0.1/shop");
    EXPECT_EQ(pg.pool_size, 5);
    EXPECT_EQ(pg.pool_wait, std::chrono::milliseconds(750));
    EXPECT_EQ(pg.statement_timeout, std::chrono::minutes(2));
    settings.statement_timeout = "0";
    EXPECT_EQ(DatabaseOptionsFrom("/srv/shop", settings, 12).statement_timeout, std::chrono::milliseconds(0));
    for (const char* bad : {"soon", "10 s", "-1ms", "1.5s", "ms"}) {
        settings.statement_timeout = bad;
        EXPECT_THROW(DatabaseOptionsFrom("/srv/shop", settings, 12), std::runtime_error) << bad;
    }
}

TEST(CommandLine, AFlagBeatsTheEnvironmentForServesOptions) {
    Environment env;
    const std::vector<std::tuple<const char*, const char*, const char*>> settings = {
        {"EMPORIUM_PORT", "1111", "--port=2222"},
        {"EMPORIUM_INTERNAL_PORT", "3333", "--internal-port=4444"},
        {"EMPORIUM_BIND", "10.0.0.1", "--bind=127.0.0.2"},
        {"EMPORIUM_LOG_LEVEL", "error", "--log-level=debug"},
        {"EMPORIUM_CACHE_TTL", "1s", "--cache-ttl=9s"},
        {"EMPORIUM_CACHE_BYTES", "1KiB", "--cache-bytes=2KiB"},
        {"EMPORIUM_RATE_LIMIT", "1", "--rate-limit=7"},
        {"EMPORIUM_TRUSTED_PROXIES", "10.0.0.0/8", "--trusted-proxies=127.0.0.1/32"},
        {"EMPORIUM_EVENTS", "rabbitmq", "--events=inprocess"},
        {"EMPORIUM_ANALYTICS", "inprocess", "--analytics=off"},
        {"EMPORIUM_ALERT_WINDOW", "5m", "--alert-window=30s"},
        {"EMPORIUM_NOTIFY_SENDERS", "9", "--notify-senders=3"},
    };
    std::vector<std::string> args = {"serve"};
    for (const auto& [name, wrong, flag] : settings) {
        env.Set(name, wrong);
        args.emplace_back(flag);
    }
    for (const char* command : {"serve", "standby"}) {
        args[0] = command;
        std::vector<std::string> with_primary = args;
        if (std::string(command) == "standby") with_primary.insert(with_primary.end(), {"--primary", "http://p:9"});
        CommandLine line = Parse(with_primary);
        const ServeOptions& o = std::string(command) == "serve" ? line.serve : line.standby;
        EXPECT_EQ(o.port, 2222) << command;
        EXPECT_EQ(o.internal_port, 4444) << command;
        EXPECT_EQ(o.bind, "127.0.0.2") << command;
        EXPECT_EQ(o.log_level, "debug") << command;
        EXPECT_EQ(o.cache_ttl, "9s") << command;
        EXPECT_EQ(o.cache_bytes, 2048) << command;
        EXPECT_EQ(o.rate_limit, 7) << command;
        EXPECT_EQ(o.trusted_proxies, "127.0.0.1/32") << command;
        EXPECT_EQ(o.events, "inprocess") << command;
        EXPECT_EQ(o.analytics, "off") << command;
        EXPECT_EQ(o.alerts.window, "30s") << command;
        EXPECT_EQ(o.notify.senders, 3) << command;
    }
}

TEST(CommandLine, WorkerAndPromoteOptionsBeatTheEnvironment) {
    Environment env;
    env.Set("EMPORIUM_INTERNAL_PORT", "1111");
    env.Set("EMPORIUM_LOG_LEVEL", "error");
    env.Set("EMPORIUM_WORKER_ONLY", "notify");
    CommandLine promote = Parse({"promote", "--internal-port", "2222"});
    EXPECT_EQ(promote.promote.port, 2222);
    CommandLine worker = Parse({"worker", "--log-level", "debug", "--only", "webhooks,analytics"});
    EXPECT_EQ(worker.worker.log_level, "debug");
    EXPECT_EQ(worker.worker.only, "webhooks,analytics");
    CommandLine rebuild = Parse({"analytics", "rebuild", "--seller", "7"});
    EXPECT_EQ(rebuild.command, Command::kAnalyticsRebuild);
    EXPECT_EQ(rebuild.analytics_rebuild.seller_id, 7);
}

TEST(CommandLine, ServeReadsAConfigFileBetweenFlagsAndTheEnvironment) {
    const std::string path = ::testing::TempDir() + "emporium-cli-test.ini";
    {
        std::ofstream file(path);
        file << "port=2345\ncache-ttl=7s\nfaults=true\n[standby]\nsync-interval=9s\n";
    }
    Environment env;
    env.Set("EMPORIUM_CACHE_TTL", "1s");
    env.Set("EMPORIUM_PORT", "1111");
    env.Set("EMPORIUM_LOG_LEVEL", "warn");
    CommandLine line = Parse({"serve", "--config", path, "--port", "3456"});
    EXPECT_EQ(line.serve.port, 3456);         // the flag beats the file
    EXPECT_EQ(line.serve.cache_ttl, "7s");    // the file beats the environment
    EXPECT_TRUE(line.serve.faults);           // a flag set in the file
    EXPECT_EQ(line.serve.log_level, "warn");  // the environment fills what neither gives
    line = Parse({"standby", "--primary", "http://p:9", "--config=" + path});
    EXPECT_EQ(line.standby.port, 2345);
    EXPECT_EQ(line.standby.standby_interval, "9s");  // its own section
    std::remove(path.c_str());
    CommandLine missing;
    const char* argv[] = {"emporium", "serve", "--config", "/nonexistent/emporium.ini"};
    EXPECT_NE(ParseCommandLine(4, argv, missing), std::nullopt);  // refused, with CLI11's message
}

}  // namespace
}  // namespace emporium::app
