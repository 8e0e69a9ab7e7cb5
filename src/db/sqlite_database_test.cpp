// What only the SQLite backend promises; what every backend promises is in database_test.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

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

// SQLite's own checkpoint would run inside a commit, and only once the log holds 1,000 pages: with a
// threshold of 8, only the database's own thread can have copied these rows into the file.
TEST(SqliteTest, TheDatabasesOwnThreadCopiesTheLogIntoTheFile) {
    TempDatabase scratch({}, TestBackend::kSqlite);
    const std::filesystem::path path = scratch.dir() / "checkpointed.db";
    std::unique_ptr<Database> database = OpenSqlite({.path = path.string(), .checkpoint_pages = 8});
    database->Write([](Connection& c) { c.ExecuteScript("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)"); });
    const auto before = std::filesystem::file_size(path);
    constexpr int kRows = 40;
    for (int i = 0; i < kRows; ++i) {
        database->Write([&](Connection& c) { c.Execute("INSERT INTO blobs (data) VALUES (zeroblob(8192))", {}); });
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (database->Pool().checkpoints == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // waiting for the checkpoint thread
    }
    EXPECT_GE(database->Pool().checkpoints, 1);
    EXPECT_GE(database->Pool().checkpoint_seconds, 0.0);
    EXPECT_GT(std::filesystem::file_size(path), before + 8192);
    EXPECT_EQ(database->Read([](Connection& c) { return c.QueryInt("SELECT count(*) FROM blobs"); }), kRows);
}

}  // namespace
}  // namespace emporium::db
