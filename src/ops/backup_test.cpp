#include "ops/backup.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "db/testing.h"
#include "ops/pg_tools.h"

namespace emporium::ops {
namespace {

class BackupTest : public ::testing::Test {
protected:
    BackupTest() {
        database_->Write([](db::Connection& c) {
            c.ExecuteScript(
                "CREATE TABLE schema_migrations (module TEXT, version INTEGER, applied_at BIGINT);"
                "INSERT INTO schema_migrations VALUES ('orders', 1, 0);"
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, total BIGINT);");
            for (int i = 1; i <= 500; ++i) c.Execute("INSERT INTO orders (total) VALUES (?)", {std::int64_t{i}});
        });
    }
    std::string Dir() const { return (database_.dir() / "backups").string(); }

    db::TempDatabase database_{{}, db::TestBackend::kSqlite};  // backups copy the SQLite file
    ManualClock clock_{std::chrono::system_clock::from_time_t(1'800'000'000)};
};

TEST_F(BackupTest, TakeWritesAVerifiableBackupWithItsManifest) {
    BackupStore store(*database_, Dir(), 3, clock_, MakeLogger("off"));
    Result<BackupManifest> m = store.Take();
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->name, "emporium-20270115T080000Z");
    EXPECT_EQ(m->orders, 500);
    EXPECT_EQ(m->schema, R"({"orders":1})");
    EXPECT_EQ(m->sha256, FileSha256(Dir() + "/" + m->file));
    std::optional<BackupManifest> latest = store.Latest();
    ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(latest->name, m->name);
    EXPECT_EQ(store.LastSuccessAt(), 1'800'000'000);

    VerifyReport report = VerifyBackup(Dir() + "/" + m->name + ".json", (database_.dir() / "scratch").string());
    EXPECT_TRUE(report.ok) << report.problem;
    EXPECT_EQ(report.integrity, "ok");
    EXPECT_EQ(report.orders, 500);
    EXPECT_EQ(store.PathOf(m->file), Dir() + "/" + m->file);
    EXPECT_FALSE(store.PathOf("../shop.db").has_value());
}

TEST_F(BackupTest, RetentionKeepsTheNewestAndAManifestlessFileIsIgnored) {
    BackupStore store(*database_, Dir(), 2, clock_, MakeLogger("off"));
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(store.Take().ok());
        clock_.Advance(std::chrono::hours(1));
    }
    std::vector<BackupManifest> kept = store.List();
    ASSERT_EQ(kept.size(), 2U);
    EXPECT_GT(kept[0].created_at, kept[1].created_at);
    std::ofstream(Dir() + "/emporium-29990101T000000Z.db.gz") << "half written";
    EXPECT_EQ(store.List().size(), 2U);
}

TEST_F(BackupTest, VerifyCatchesADamagedFile) {
    BackupStore store(*database_, Dir(), 2, clock_, MakeLogger("off"));
    BackupManifest m = store.Take().value();
    {
        std::fstream f(Dir() + "/" + m.file, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(40);
        f.put('\x7f');
    }
    VerifyReport report = VerifyBackup(Dir() + "/" + m.name + ".json", (database_.dir() / "scratch").string());
    EXPECT_FALSE(report.ok);
    EXPECT_NE(report.problem.find("SHA-256"), std::string::npos);
}

TEST_F(BackupTest, RestoreFromReplacesTheWholeLiveDatabase) {
    const std::string copy = (database_.dir() / "copy.db").string();
    database_->BackupTo(copy);
    database_->Write([](db::Connection& c) { c.Execute("DELETE FROM orders WHERE id > 10"); });
    EXPECT_EQ(database_->Read([](db::Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM orders"); }), 10);
    database_->RestoreFrom(copy);
    EXPECT_EQ(database_->Read([](db::Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM orders"); }), 500);
    database_->Write([](db::Connection& c) { c.Execute("INSERT INTO orders (total) VALUES (1)"); });
    EXPECT_EQ(database_->Read([](db::Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM orders"); }), 501);
}

// The same backups on the configured database: SQLite's file copy, or pg_dump when the unit tests
// run on PostgreSQL (ctest -L postgresql).
class ConfiguredBackupTest : public ::testing::Test {
protected:
    ConfiguredBackupTest() {
        database_->Write([](db::Connection& c) {
            c.ExecuteScript(
                "CREATE TABLE schema_migrations (module TEXT, version INTEGER, applied_at BIGINT);"
                "INSERT INTO schema_migrations VALUES ('orders', 1, 0), ('orders', 3, 0), ('catalog', 2, 0);"
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, total BIGINT);");
            for (int i = 1; i <= 300; ++i)
                c.Execute("INSERT INTO orders (id, total) VALUES (?, ?)", {std::int64_t{i}, std::int64_t{i}});
        });
    }
    std::string Dir() const { return (database_.dir() / "backups").string(); }
    std::string Scratch() const { return (database_.dir() / "scratch").string(); }
    std::int64_t Orders() {
        return database_->Read([](db::Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM orders"); });
    }
    bool OnPostgres() const { return db::TestDialect() == db::Dialect::kPostgres; }

    db::TempDatabase database_;
    ManualClock clock_{std::chrono::system_clock::from_time_t(1'800'000'000)};
};

TEST_F(ConfiguredBackupTest, TakeWritesAVerifiableBackupOfTheConfiguredDatabase) {
    BackupStore store(*database_, Dir(), 2, clock_, MakeLogger("off"), database_.url());
    Result<BackupManifest> m = store.Take();
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(m->format, OnPostgres() ? "pg_dump" : "sqlite");
    EXPECT_EQ(m->file, m->name + (OnPostgres() ? ".pgdump" : ".db.gz"));
    EXPECT_EQ(m->orders, 300);
    EXPECT_EQ(m->schema, R"({"catalog":2,"orders":3})");
    EXPECT_EQ(m->sha256, FileSha256(Dir() + "/" + m->file));
    EXPECT_GT(m->database_bytes, 0);
    ASSERT_TRUE(BackupManifest::FromJson(m->ToJson()).has_value());
    EXPECT_EQ(BackupManifest::FromJson(m->ToJson())->format, m->format);
    EXPECT_EQ(store.LastSuccessAt(), 1'800'000'000);

    VerifyReport report = VerifyBackup(Dir() + "/" + m->name + ".json", Scratch());
    EXPECT_TRUE(report.ok) << report.problem;
    EXPECT_EQ(report.integrity, "ok");
    EXPECT_EQ(report.orders, 300);
    EXPECT_EQ(report.schema, R"({"catalog":2,"orders":3})");
    EXPECT_FALSE(report.restored_copy);

    // With a server to restore into (PostgreSQL), the dump is also restored aside and compared.
    VerifyReport restored = VerifyBackup(Dir() + "/" + m->name + ".json", Scratch(), database_.url());
    EXPECT_TRUE(restored.ok) << restored.problem;
    EXPECT_EQ(restored.restored_copy, OnPostgres());
    EXPECT_EQ(restored.orders, 300);
}

TEST_F(ConfiguredBackupTest, VerifyCatchesADamagedFileEvenWithAMatchingChecksum) {
    BackupStore store(*database_, Dir(), 2, clock_, MakeLogger("off"), database_.url());
    BackupManifest m = store.Take().value();
    const std::string file = Dir() + "/" + m.file;
    const auto size = std::filesystem::file_size(file);
    std::filesystem::resize_file(file, size / 2);  // a copy cut short
    VerifyReport cut = VerifyBackup(Dir() + "/" + m.name + ".json", Scratch());
    EXPECT_FALSE(cut.ok);
    EXPECT_NE(cut.problem.find("SHA-256"), std::string::npos) << cut.problem;

    // The manifest rewritten to match the damage: the content check still fails it.
    m.sha256 = FileSha256(file);
    std::ofstream(Dir() + "/" + m.name + ".json", std::ios::trunc) << m.ToJson();
    VerifyReport forged = VerifyBackup(Dir() + "/" + m.name + ".json", Scratch());
    EXPECT_FALSE(forged.ok);
    EXPECT_FALSE(forged.problem.empty());
    EXPECT_EQ(forged.problem.find("SHA-256"), std::string::npos) << forged.problem;
}

TEST_F(ConfiguredBackupTest, RestorePgDumpPutsTheBackupBackAndRefusesASqliteBackup) {
    BackupStore store(*database_, Dir(), 2, clock_, MakeLogger("off"), database_.url());
    BackupManifest m = store.Take().value();
    const std::string manifest = Dir() + "/" + m.name + ".json";
    database_->Write([](db::Connection& c) {
        c.Execute("DELETE FROM orders WHERE id > 10");
        c.Execute("INSERT INTO orders (id, total) VALUES (1000, 1)");
    });
    Status restored = RestorePgDump(manifest, database_.url());
    if (!OnPostgres()) {
        ASSERT_FALSE(restored.ok());
        EXPECT_EQ(restored.error().code, "not_a_pg_dump");
        EXPECT_EQ(Orders(), 11);
        return;
    }
    ASSERT_TRUE(restored.ok()) << restored.error().message;
    EXPECT_EQ(Orders(), 300);
    EXPECT_EQ(
        database_->Read([](db::Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM orders WHERE id = 1000"); }),
        0);
}

TEST_F(ConfiguredBackupTest, OtherSessionsSeesASecondHandleOnPostgres) {
    const std::int64_t before = OtherSessions(*database_);
    db::DatabaseOptions options;
    options.url = database_.url();
    options.pool_size = 1;
    options.pool_min = 1;
    std::unique_ptr<db::Database> second = db::Open(options);
    second->Read([](db::Connection& c) { c.QueryInt("SELECT 1"); });
    EXPECT_EQ(OtherSessions(*database_), OnPostgres() ? before + 1 : 0);
}

TEST(PgTools, TheUrlGoesThroughTheEnvironmentAndStderrIsMasked) {
    std::vector<std::string> env =
        pg::EnvironmentFor("postgresql://shop:s3cret-pw@db.example:6543/emporium?sslmode=require");
    auto has = [&](const std::string& entry) { return std::find(env.begin(), env.end(), entry) != env.end(); };
    EXPECT_TRUE(has("PGPASSWORD=s3cret-pw"));
    EXPECT_TRUE(has("PGUSER=shop"));
    EXPECT_TRUE(has("PGHOST=db.example"));
    EXPECT_TRUE(has("PGPORT=6543"));
    EXPECT_TRUE(has("PGDATABASE=emporium"));
    EXPECT_TRUE(has("PGSSLMODE=require"));
    EXPECT_EQ(pg::DatabaseNameOf("postgresql://shop:s3cret-pw@db.example/emporium"), "emporium");
    EXPECT_THROW(pg::EnvironmentFor("postgresql://[::1"), std::runtime_error);

    // A program that fails and names the password on stderr: the error says it failed, masked.
    pg::ToolRun run =
        pg::RunTool("pg_dump", {"--format=custom", "--file=/dev/null"},
                    "postgresql://shop:s3cret-pw@127.0.0.1:1/emporium?connect_timeout=2", std::chrono::seconds(30));
    EXPECT_FALSE(run.ok);
    EXPECT_NE(run.error.find("pg_dump exited with"), std::string::npos) << run.error;
    EXPECT_EQ(run.error.find("s3cret-pw"), std::string::npos) << run.error;
}

TEST(BackupManifest, AnInfiniteDurationIsDroppedSoTheManifestStaysJson) {
    // Found by tests/fuzz (backup_manifest): 1e999 parsed as infinity, which ToJson wrote back as
    // `Infinity`, a manifest FromJson then refused.
    std::optional<BackupManifest> m =
        BackupManifest::FromJson(R"({"name":"emporium-20270115T080000Z","file":"emporium-20270115T080000Z.db.gz",)"
                                 R"("sha256":"00","seconds":1e999,"bytes":5})");
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->seconds, 0);
    std::optional<BackupManifest> again = BackupManifest::FromJson(m->ToJson());
    ASSERT_TRUE(again.has_value()) << m->ToJson();
    EXPECT_EQ(again->bytes, 5);
}

TEST(BackupName, OnlyPlainBackupNamesPass) {
    EXPECT_TRUE(IsBackupName("emporium-20270115T080000Z"));
    EXPECT_TRUE(IsBackupName("emporium-20270115T080000Z-2"));
    for (std::string_view hostile :
         {"", "emporium-", "../emporium-20270115T080000Z", "emporium-20270115T080000Z/../../etc/passwd",
          "emporium-20270115T080000Z/x", ".emporium-20270115T080000Z", "emporium-20270115T080000Z.json",
          "emporium-2027O115T080000Z", "emporium-20270115T080000Z-", "emporium-20270115T080000Z-1234567", "/etc/passwd",
          "..", "emporium-20270115T080000Z\\x", "other-20270115T080000Z"}) {
        EXPECT_FALSE(IsBackupName(hostile)) << hostile;
    }
    EXPECT_FALSE(IsBackupName(std::string_view("emporium-20270115T080000Z\0-2", 27)));
}

TEST(BackupName, ManifestsWithHostileNamesAreRefused) {
    auto manifest = [](const std::string& name, const std::string& file) {
        return R"({"name":")" + name + R"(","file":")" + file + R"(","sha256":"00"})";
    };
    EXPECT_TRUE(BackupManifest::FromJson(manifest("emporium-20270115T080000Z", "emporium-20270115T080000Z.db.gz")));
    EXPECT_FALSE(BackupManifest::FromJson(manifest("../../x", "emporium-20270115T080000Z.db.gz")));
    EXPECT_FALSE(BackupManifest::FromJson(manifest("emporium-20270115T080000Z", "../../etc/cron.d/x")));
    EXPECT_FALSE(BackupManifest::FromJson(manifest("emporium-20270115T080000Z", "emporium-20270115T080000Z.db")));
    EXPECT_FALSE(BackupManifest::FromJson(
        manifest("emporium-20270115T080000Z\\u0000", "emporium-20270115T080000Z\\u0000.db.gz")));
    // A pg_dump manifest names NAME.pgdump, and only it; an unknown format is refused.
    auto with_format = [](const std::string& format, const std::string& file) {
        return R"({"name":"emporium-20270115T080000Z","format":")" + format + R"(","file":")" + file +
               R"(","sha256":"00"})";
    };
    EXPECT_TRUE(BackupManifest::FromJson(with_format("pg_dump", "emporium-20270115T080000Z.pgdump")));
    EXPECT_FALSE(BackupManifest::FromJson(with_format("pg_dump", "emporium-20270115T080000Z.db.gz")));
    EXPECT_FALSE(BackupManifest::FromJson(with_format("sqlite", "emporium-20270115T080000Z.pgdump")));
    EXPECT_FALSE(BackupManifest::FromJson(with_format("../x", "emporium-20270115T080000Z.db.gz")));
}

}  // namespace
}  // namespace emporium::ops
