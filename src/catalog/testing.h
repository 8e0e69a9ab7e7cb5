// For unit tests only: what a catalog test's database needs.
#pragma once

#include <vector>

#include "db/migrations.h"

namespace emporium::catalog {

// The catalog's migrations and the outbox's (catalog writes announce changes through it), for the
// dialect the unit tests run on (db::TestDialect).
std::vector<db::Migration> TestMigrations();

}  // namespace emporium::catalog
