#include "ops/backup.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "db/testing.h"

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
    auto manifest = [](std::string name, std::string file) {
        return R"({"name":")" + name + R"(","file":")" + file + R"(","sha256":"00"})";
    };
    EXPECT_TRUE(BackupManifest::FromJson(manifest("emporium-20270115T080000Z", "emporium-20270115T080000Z.db.gz")));
    EXPECT_FALSE(BackupManifest::FromJson(manifest("../../x", "emporium-20270115T080000Z.db.gz")));
    EXPECT_FALSE(BackupManifest::FromJson(manifest("emporium-20270115T080000Z", "../../etc/cron.d/x")));
    EXPECT_FALSE(BackupManifest::FromJson(manifest("emporium-20270115T080000Z", "emporium-20270115T080000Z.db")));
    EXPECT_FALSE(BackupManifest::FromJson(manifest("emporium-20270115T080000Z\u0000", "x.db.gz")));
}

}  // namespace
}  // namespace emporium::ops
