// For unit tests only: a fresh SQLite database in its own temporary directory, removed afterwards.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "db/database.h"
#include "db/migrations.h"

namespace emporium::db {

class TempDatabase {
public:
    // A directory named after the running test; migrations are applied when given.
    explicit TempDatabase(std::span<const Migration> migrations = {}) {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = std::filesystem::temp_directory_path() /
               ("emporium-" + std::string(info->test_suite_name()) + "-" + std::string(info->name()));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
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
