#include "app/wiring.h"

#include <filesystem>

#include "accounts/accounts.h"
#include "app/commands.h"
#include "catalog/catalog.h"
#include "db/migrations.h"
#include "events/outbox.h"
#include "orders/orders.h"

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
    for (auto& m : accounts::Migrations(database->dialect())) migrations.push_back(std::move(m));
    for (auto& m : events::Migrations(database->dialect())) migrations.push_back(std::move(m));
    for (auto& m : orders::Migrations(database->dialect())) migrations.push_back(std::move(m));
    db::ApplyMigrations(*database, migrations);
    return database;
}

std::unique_ptr<accounts::PiiVault> OpenVault(const std::string& data_dir) {
    std::filesystem::create_directories(data_dir);
    auto env = [](const char* name) {
        const char* value = std::getenv(name);
        return std::string(value ? value : "");
    };
    return accounts::PiiVault::Open({env("EMPORIUM_PII_KEY"), env("EMPORIUM_PII_PREVIOUS_KEYS"),
                                     (std::filesystem::path(data_dir) / "pii.keys").string()});
}

}  // namespace emporium::app
