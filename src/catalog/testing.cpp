#include "catalog/testing.h"

#include "catalog/catalog.h"
#include "db/testing.h"
#include "events/outbox.h"

namespace emporium::catalog {

std::vector<db::Migration> TestMigrations() {
    std::vector<db::Migration> all = Migrations(db::TestDialect());
    for (auto& m : events::Migrations(db::TestDialect())) all.push_back(m);
    return all;
}

}  // namespace emporium::catalog
