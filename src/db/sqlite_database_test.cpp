// What only the SQLite backend promises; what every backend promises is in database_test.cpp.
#include <gtest/gtest.h>

#include "db/database.h"
#include "db/testing.h"

namespace emporium::db {
namespace {

TEST(SqliteTest, UsesWriteAheadLog) {
    TempDatabase database({}, TestBackend::kSqlite);
    std::string mode;
    database->Write(
        [&](Connection& c) { c.Query("PRAGMA journal_mode", {}, [&](const Row& r) { mode = r.Text(0); }); });
    EXPECT_EQ(mode, "wal");
}

TEST(SqliteTest, ReadersMapTheFileAndKeepABiggerCache) {
    TempDatabase database({}, TestBackend::kSqlite);
    const SqliteOptions defaults;
    EXPECT_EQ(database->Read([](Connection& c) { return c.QueryInt("PRAGMA mmap_size"); }), defaults.mmap_bytes);
    EXPECT_EQ(database->Read([](Connection& c) { return c.QueryInt("PRAGMA cache_size"); }), -defaults.cache_kib);
}

TEST(SqliteTest, OpenTakesSqliteUrlsAndPlainPaths) {
    TempDatabase database({}, TestBackend::kSqlite);
    for (const std::string& url :
         {"sqlite:" + (database.dir() / "a.db").string(), "sqlite://" + (database.dir() / "b.db").string(),
          (database.dir() / "c.db").string()}) {
        std::unique_ptr<Database> opened = Open({.url = url, .pool_size = 3});
        EXPECT_EQ(opened->dialect(), Dialect::kSqlite);
        EXPECT_EQ(opened->Pool().size, 3);
        EXPECT_EQ(opened->Pool().idle, 3);
    }
    EXPECT_TRUE(std::filesystem::exists(database.dir() / "a.db"));
    EXPECT_TRUE(std::filesystem::exists(database.dir() / "b.db"));
    EXPECT_TRUE(std::filesystem::exists(database.dir() / "c.db"));
}

}  // namespace
}  // namespace emporium::db
