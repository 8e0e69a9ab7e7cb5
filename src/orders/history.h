// What people bought and have in their carts, read in bulk for the recommendation model (its
// training data and a shopper's context), on the caller's connection. Cancelled orders count as
// never bought.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "db/database.h"

namespace emporium::orders {

struct PurchaseLine {
    std::int64_t order_id = 0;
    std::int64_t user_id = 0;
    std::int64_t product_id = 0;
    std::int64_t quantity = 0;
    std::int64_t created_at = 0;  // the order's time, Unix seconds
};

// Every line of every order that was not cancelled, oldest order first.
void ForEachPurchase(db::Connection& c, const std::function<void(const PurchaseLine&)>& fn);

// The product ids of a user's newest max_orders orders that were not cancelled, one per line,
// oldest first.
std::vector<std::int64_t> PurchasedProducts(db::Connection& c, std::int64_t user_id, std::int64_t max_orders);

// The product ids in a user's cart, in the order they were added.
std::vector<std::int64_t> CartProducts(db::Connection& c, std::int64_t user_id);

}  // namespace emporium::orders
