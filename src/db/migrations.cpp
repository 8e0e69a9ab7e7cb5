#include "db/migrations.h"

#include <ctime>

namespace emporium::db {

int ApplyMigrations(Database& database, std::span<const Migration> migrations) {
    database.Write([](Connection& c) {
        c.ExecuteScript(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " module TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL,"
            " PRIMARY KEY (module, version))");
    });
    int applied = 0;
    for (const Migration& m : migrations) {
        bool ran = database.Write([&](Connection& c) {
            if (c.QueryInt("SELECT COUNT(*) FROM schema_migrations WHERE module = ? AND version = ?",
                           {m.module, std::int64_t{m.version}}) > 0) {
                return false;
            }
            c.ExecuteScript(m.sql);
            c.Execute("INSERT INTO schema_migrations (module, version, applied_at) VALUES (?, ?, ?)",
                      {m.module, std::int64_t{m.version}, std::int64_t{time(nullptr)}});
            return true;
        });
        applied += ran ? 1 : 0;
    }
    return applied;
}

}  // namespace emporium::db
