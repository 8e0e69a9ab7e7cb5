// What every command shares: opening the data directory's database with every module's schema.
#pragma once

#include <memory>
#include <string>

#include "accounts/pii_vault.h"
#include "db/database.h"

namespace emporium::app {

// Creates data_dir when missing, opens its database and applies every module's migrations.
std::unique_ptr<db::Database> OpenDatabase(const std::string& data_dir, int readers, db::QueryObserver observer);

// The PII key ring: EMPORIUM_PII_KEY (and EMPORIUM_PII_PREVIOUS_KEYS) when set, else the key file
// in the data directory, created on first use.
std::unique_ptr<accounts::PiiVault> OpenVault(const std::string& data_dir);

}  // namespace emporium::app
