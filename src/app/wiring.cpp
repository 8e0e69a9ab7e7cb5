#include "app/wiring.h"

#include <filesystem>

#include "app/commands.h"
#include "catalog/catalog.h"
#include "db/migrations.h"

namespace emporium::app {

std::string DatabasePath(const std::string& data_dir) {
    return (std::filesystem::path(data_dir) / "emporium.db").string();
}

std::unique_ptr<db::Database> OpenDatabase(const std::string& data_dir, int readers, db::QueryObserver observer) {
    std::filesystem::create_directories(data_dir);
    db::SqliteOptions options;
    options.path = DatabasePath(data_dir);
    options.readers = readers;
    options.observer = std::move(observer);
    std::unique_ptr<db::Database> database = db::OpenSqlite(options);
    // Modules in dependency order; each owns its migrations.
    std::vector<db::Migration> migrations = catalog::Migrations(database->dialect());
    db::ApplyMigrations(*database, migrations);
    return database;
}

}  // namespace emporium::app
