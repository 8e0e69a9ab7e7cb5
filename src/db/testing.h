// For unit tests only: a fresh SQLite database in its own temporary directory, removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

#include "db/database.h"
#include "db/migrations.h"

namespace emporium::db {

class TempDatabase {
public:
    // A new directory named after the running test, unique even when the same test runs in
    // another checkout at the same time; migrations are applied when given. The database is
    // DIR/shop.db.
    explicit TempDatabase(std::span<const Migration> migrations = {}) {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        std::string name = info ? std::string(info->test_suite_name()) + "-" + info->name() : "db";
        std::replace(name.begin(), name.end(), '/', '_');  // parameterised tests: "Suite/0"
        std::string pattern = (std::filesystem::temp_directory_path() / ("emporium-" + name + "-XXXXXX")).string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot make a directory like " + pattern);
        dir_ = pattern;
        database_ = OpenSqlite({(dir_ / "shop.db").string(), 4, 5000, true, nullptr});
        if (!migrations.empty()) ApplyMigrations(*database_, migrations);
    }
    ~TempDatabase() {
        database_.reset();
        std::filesystem::remove_all(dir_);
    }
    TempDatabase(const TempDatabase&) = delete;
    TempDatabase& operator=(const TempDatabase&) = delete;

    Database& operator*() { return *database_; }
    Database* operator->() { return database_.get(); }
    const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path dir_;
    std::unique_ptr<Database> database_;
};

}  // namespace emporium::db
