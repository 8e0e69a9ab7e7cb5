// Demo people for a seeded shop: an admin, sellers and customers with believable names, emails
// and phones, deterministic for a seed value. Every demo account shares one password, hashed
// once, so that thousands of customers seed in seconds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "accounts/accounts.h"

namespace emporium::accounts {

struct SeedPeopleOptions {
    std::string shop_domain = "gitgoods.example";  // emails are name@<shop_domain> for staff
    std::int64_t sellers = 5;
    std::int64_t customers = 50;
    std::uint64_t seed = 42;
    std::string password = "demo password 123";
};

struct SeededPeople {
    std::int64_t admin_id = 0;
    std::string admin_email;
    std::vector<std::int64_t> seller_ids;
    std::vector<std::int64_t> customer_ids;
};

// Replaces every account with generated ones (sessions go too).
SeededPeople SeedPeople(db::Database& database, PiiVault& vault, const PasswordHasher& hasher, const Clock& clock,
                        const SeedPeopleOptions& options);

}  // namespace emporium::accounts
