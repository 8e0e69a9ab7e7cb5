// For unit tests only: a fresh database for one test, removed afterwards.
//
// SQLite by default, a file in the test's own temporary directory. When EMPORIUM_TEST_DATABASE_URL
// names a PostgreSQL server (`scripts/services/postgres.sh run CMD` starts a throwaway one and sets
// it), every TempDatabase is instead a new schema of its own in a database made for the test
// program on that server (see testing.cpp), so the same tests run on both.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "db/database.h"
#include "db/migrations.h"

namespace emporium::db {

// kConfigured follows EMPORIUM_TEST_DATABASE_URL; kSqlite is for tests of SQLite itself (backups
// of the file, its pragmas).
enum class TestBackend { kConfigured, kSqlite };

// The dialect a kConfigured TempDatabase has in this run, for building its migrations.
Dialect TestDialect();

class TempDatabase {
public:
    // A directory named after the running test (always made: tests keep other files there too);
    // migrations are applied when given.
    explicit TempDatabase(std::span<const Migration> migrations = {}, TestBackend backend = TestBackend::kConfigured);
    ~TempDatabase();
    TempDatabase(const TempDatabase&) = delete;
    TempDatabase& operator=(const TempDatabase&) = delete;

    Database& operator*() { return *database_; }
    Database* operator->() { return database_.get(); }
    const std::filesystem::path& dir() const { return dir_; }
    // What db::Open takes to reach this same database (a second handle, other pool settings).
    const std::string& url() const { return url_; }

private:
    std::filesystem::path dir_;
    std::string url_;
    std::string postgres_schema_;  // the schema made on the server, dropped afterwards
    std::unique_ptr<Database> database_;
};

}  // namespace emporium::db
