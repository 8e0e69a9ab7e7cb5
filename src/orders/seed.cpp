#include "orders/seed.h"

#include <ctime>
#include <random>
#include <string>

#include "catalog/catalog.h"
#include "http/json_body.h"
#include "orders/orders.h"

namespace emporium::orders {

namespace {

// A moment of the year before now, drawn more often in November and December and at weekends,
// as a shop's sales are.
template <typename Between>
std::int64_t SeasonalTime(std::int64_t now, Between& between) {
    for (;;) {
        const std::int64_t at = now - between(0, 365 * 86400);
        const std::int64_t day = at / 86400;
        const int weekday = static_cast<int>(((day % 7) + 7 + 3) % 7);  // Monday = 0
        const std::time_t t = static_cast<std::time_t>(at);
        std::tm tm{};
        gmtime_r(&t, &tm);
        int weight = tm.tm_mon == 11 ? 20 : tm.tm_mon == 10 ? 16 : tm.tm_mon == 0 ? 8 : 10;
        if (weekday >= 5) weight = weight * 13 / 10;
        if (between(1, 26) <= weight) return at;
    }
}

// The money a cancelled or refunded order paid back, on its own later date, and now and then a
// partial refund of one unit of a delivered order.
template <typename Between>
void SeedRefunds(db::Connection& c, std::int64_t order_id, const std::string& status, std::int64_t created,
                 std::int64_t now, const std::vector<std::pair<const catalog::StockLine*, std::int64_t>>& picked,
                 const std::vector<std::int64_t>& discounts, Between& between) {
    const bool partial = status == "delivered" && between(1, 25) == 1;
    if (status != "cancelled" && status != "refunded" && !partial) return;
    const std::int64_t at =
        std::min(now, created + (status == "cancelled" ? between(600, 2 * 86400) : between(5, 30) * 86400));
    for (std::size_t k = 0; k < picked.size(); ++k) {
        const auto& [p, qty] = picked[k];
        const std::int64_t net = qty * p->price_cents - discounts[k];
        std::int64_t units = qty, amount = net;
        if (partial) {
            if (k > 0) break;
            units = 1;
            amount = qty == 1 ? net : net / qty;
        }
        c.Execute(
            "INSERT INTO order_refunds (order_id, product_id, seller_id, quantity, amount_cents, kind, by_user,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            {order_id, p->product_id, p->seller_id, units, amount,
             std::string(partial                 ? "partial"
                         : status == "cancelled" ? "cancel"
                                                 : "refund"),
             at});
    }
}

}  // namespace

std::int64_t SeedOrders(db::Database& database, accounts::PiiVault& vault, const SeedOrdersOptions& options,
                        const std::function<void(std::int64_t, std::int64_t)>& progress) {
    // A seed replaces the shop's history: no order, cart or remembered checkout survives it.
    database.Write([](db::Connection& c) {
        c.Execute("DELETE FROM order_refunds");
        c.Execute("DELETE FROM coupons");
        c.Execute("DELETE FROM order_lines");
        c.Execute("DELETE FROM orders");
        c.Execute("DELETE FROM cart_items");
        c.Execute("DELETE FROM idempotency_keys");
    });
    if (options.count <= 0 || options.customer_ids.empty()) return 0;
    std::mt19937_64 dice(options.seed ^ 0x5bd1e995ULL);
    auto between = [&](std::int64_t lo, std::int64_t hi) {
        return lo + static_cast<std::int64_t>(dice() % static_cast<std::uint64_t>(hi - lo + 1));
    };
    // Statuses in the proportions of a shop a year old: most orders delivered, a few cancelled.
    static constexpr std::pair<const char*, int> kStatuses[] = {{"delivered", 55}, {"shipped", 12},  {"paid", 8},
                                                                {"placed", 12},    {"cancelled", 9}, {"refunded", 4}};
    static constexpr const char* kCities[] = {"Singapore", "Kuala Lumpur", "Jakarta", "Bangkok", "Manila", "Sydney"};
    // One sealed address and phone per customer: the history is large, the people few.
    std::vector<std::pair<std::string, std::string>> sealed;
    for (std::size_t i = 0; i < options.customer_ids.size(); ++i) {
        std::string city = kCities[i % std::size(kCities)];
        std::string address =
            http::EncodeAddress({"Customer " + std::to_string(i + 1), std::to_string(10 + i) + " Market Street", "",
                                 city, std::to_string(100000 + i), "SG"});
        sealed.emplace_back(vault.Encrypt("shipping_address", address),
                            vault.Encrypt("phone", "+659" + std::to_string(1000000 + (i * 7919) % 9000000)));
    }
    std::int64_t written = 0;
    database.Write([&](db::Connection& c) {
        c.Execute(
            "INSERT INTO coupons (code, seller_id, percent_off, active, created_at) VALUES ('WELCOME10', 0, 10, 1, ?)",
            {options.now});
        std::vector<catalog::StockLine> products = catalog::SampleProducts(c, 5000);
        if (products.empty()) return;
        for (std::int64_t n = 0; n < options.count; ++n) {
            std::size_t who =
                static_cast<std::size_t>(between(0, static_cast<std::int64_t>(options.customer_ids.size()) - 1));
            int roll = static_cast<int>(between(1, 100));
            const char* status = "delivered";
            for (const auto& [name, weight] : kStatuses) {
                if (roll <= weight) {
                    status = name;
                    break;
                }
                roll -= weight;
            }
            const std::int64_t created = SeasonalTime(options.now, between);
            std::int64_t lines = between(1, 4);
            std::vector<std::pair<const catalog::StockLine*, std::int64_t>> picked;
            std::int64_t total = 0;
            for (std::int64_t k = 0; k < lines; ++k) {
                const catalog::StockLine* p =
                    &products[static_cast<std::size_t>(between(0, static_cast<std::int64_t>(products.size()) - 1))];
                bool again = false;
                for (auto& [q, qty] : picked) again = again || q == p;
                // An order holds one currency, like the cart it comes from.
                if (again || (!picked.empty() && p->currency != picked.front().first->currency)) continue;
                std::int64_t qty = between(1, 3);
                picked.emplace_back(p, qty);
                total += qty * p->price_cents;
            }
            // One order in eight used the shop's 10% code; discounts are per line, as at checkout.
            const bool coupon = between(1, 8) == 1;
            std::vector<std::int64_t> discounts;
            for (auto& [p, qty] : picked) discounts.push_back(coupon ? LineDiscount(qty * p->price_cents, 10) : 0);
            for (std::int64_t d : discounts) total -= d;
            std::int64_t order_id = c.QueryInt(
                "INSERT INTO orders (user_id, status, total_cents, currency, shipping_address, phone, card_brand,"
                " card_last4, payment_ref, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'visa', '4242', "
                "'seed',"
                " ?, ?) RETURNING id",
                {options.customer_ids[who], std::string(status), total, picked.front().first->currency,
                 sealed[who].first, sealed[who].second, created, created});
            if (coupon) c.Execute("UPDATE orders SET coupon_code = 'WELCOME10' WHERE id = ?", {order_id});
            for (std::size_t k = 0; k < picked.size(); ++k) {
                const auto& [p, qty] = picked[k];
                c.Execute(
                    "INSERT INTO order_lines (order_id, product_id, seller_id, name, quantity, price_cents,"
                    " discount_cents, category_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    {order_id, p->product_id, p->seller_id, p->name, qty, p->price_cents, discounts[k],
                     p->category_id});
            }
            SeedRefunds(c, order_id, status, created, options.now, picked, discounts, between);
            ++written;
            if (progress && written % 1000 == 0) progress(written, options.count);
        }
    });
    if (progress) progress(written, options.count);
    return written;
}

}  // namespace emporium::orders
