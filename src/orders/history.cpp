#include "orders/history.h"

namespace emporium::orders {

void ForEachPurchase(db::Connection& c, const std::function<void(const PurchaseLine&)>& fn) {
    c.Query(
        "SELECT o.id, o.user_id, l.product_id, l.quantity, o.created_at FROM orders o"
        " JOIN order_lines l ON l.order_id = o.id WHERE o.status <> 'cancelled'"
        " ORDER BY o.created_at, o.id, l.product_id",
        {}, [&](const db::Row& r) {
            fn({r.Int(0), r.Int(1), r.Int(2), r.Int(3), r.Int(4)});
        });
}

std::vector<std::int64_t> PurchasedProducts(db::Connection& c, std::int64_t user_id, std::int64_t max_orders) {
    std::vector<std::int64_t> out;
    c.Query(
        "SELECT l.product_id FROM order_lines l JOIN"
        " (SELECT id, created_at FROM orders WHERE user_id = ? AND status <> 'cancelled'"
        " ORDER BY created_at DESC, id DESC LIMIT ?) o ON o.id = l.order_id"
        " ORDER BY o.created_at, o.id, l.product_id",
        {user_id, max_orders}, [&](const db::Row& r) { out.push_back(r.Int(0)); });
    return out;
}

std::vector<std::int64_t> CartProducts(db::Connection& c, std::int64_t user_id) {
    std::vector<std::int64_t> out;
    c.Query("SELECT product_id FROM cart_items WHERE user_id = ? ORDER BY added_at, product_id", {user_id},
            [&](const db::Row& r) { out.push_back(r.Int(0)); });
    return out;
}

}  // namespace emporium::orders
