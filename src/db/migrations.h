// Versioned schema changes, owned by each module. A module lists its migrations in order;
// ApplyMigrations records what ran in `schema_migrations` so each runs exactly once.
#pragma once

#include <span>
#include <string>

#include "db/database.h"

namespace emporium::db {

struct Migration {
    std::string module;  // owner, e.g. "catalog"
    int version;         // 1, 2, 3... per module, never reused
    std::string sql;     // one or more statements
};

// The column definition of a generated integer primary key named id, in the dialect's words.
std::string IdColumn(Dialect dialect);

// Applies every migration not yet recorded, in the given order, each in its own transaction.
// Returns how many ran. Throws DbError when one fails (that one is rolled back).
int ApplyMigrations(Database& database, std::span<const Migration> migrations);

}  // namespace emporium::db
