// What every command shares: opening the data directory's database with every module's schema.
#pragma once

#include <memory>
#include <string>

#include "db/database.h"

namespace emporium::app {

// Creates data_dir when missing, opens its database and applies every module's migrations.
std::unique_ptr<db::Database> OpenDatabase(const std::string& data_dir, int readers, db::QueryObserver observer);

}  // namespace emporium::app
