// Demo orders for a seeded shop: a year of history over the seeded customers and products, in
// every status, deterministic for a seed value. They are history: they do not change stock and
// write no events.
//
// The baskets come from shopper profiles (described in seed.cpp), so that the history has the
// structure real shops have and a recommendation model can be measured on it: households buy
// their staples again and add items that go with them; gamers buy games and accessories for the
// one console they own.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "accounts/pii_vault.h"
#include "db/database.h"

namespace emporium::orders {

struct SeedOrdersOptions {
    std::int64_t count = 200;
    std::uint64_t seed = 42;
    std::vector<std::int64_t> customer_ids;
    std::int64_t now = 1767225600;  // history ends here (2026-01-01 by default, for determinism)
    std::string preset = "games";   // whose profiles: "games" (gamers) or "grocery" (households)
};

// Replaces every order, cart and remembered checkout with count generated orders; progress(done,
// total) now and then. Returns how many.
std::int64_t SeedOrders(db::Database& database, accounts::PiiVault& vault, const SeedOrdersOptions& options,
                        const std::function<void(std::int64_t, std::int64_t)>& progress);

}  // namespace emporium::orders
