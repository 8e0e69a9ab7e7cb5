#include "orders/seed.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <ctime>
#include <map>
#include <set>

#include "accounts/pii_vault.h"
#include "catalog/catalog.h"
#include "catalog/seed.h"
#include "core/clock.h"
#include "db/testing.h"
#include "events/outbox.h"
#include "orders/history.h"
#include "orders/orders.h"

namespace emporium::orders {
namespace {

// The seeded history carries the shopper profiles seed.cpp describes.
class SeedOrdersTest : public ::testing::Test {
protected:
    void Seed(const std::string& preset, std::int64_t products, std::int64_t orders) {
        std::vector<db::Migration> all = catalog::Migrations(db::TestDialect());
        for (auto& m : events::Migrations(db::TestDialect())) all.push_back(m);
        for (auto& m : Migrations(db::TestDialect())) all.push_back(m);
        db_ = std::make_unique<db::TempDatabase>(all);
        vault_ = accounts::PiiVault::Open({"", "", (db_->dir() / "pii.keys").string()});
        catalog::CatalogService catalog(**db_, clock_);
        ASSERT_TRUE(catalog::SeedCatalog(**db_, catalog, {preset, products, 42, {1}}, nullptr).ok());
        std::vector<std::int64_t> customers;
        for (std::int64_t i = 100; i < 160; ++i) customers.push_back(i);
        ASSERT_EQ(SeedOrders(**db_, *vault_, {orders, 42, customers, 1767225600, preset}, nullptr), orders);
        (*db_)->Read([&](db::Connection& c) {
            catalog::ForEachProduct(c, false, [&](const catalog::Product& p) { products_[p.id] = p; });
            ForEachPurchase(c, [&](const PurchaseLine& l) { lines_.push_back(l); });
        });
    }

    std::string Attribute(std::int64_t product, const char* key) {
        boost::json::value v = boost::json::parse(products_.at(product).attributes_json);
        const boost::json::value* found = v.as_object().if_contains(key);
        return found && found->is_string() ? std::string(found->as_string()) : "";
    }

    ManualClock clock_{std::chrono::system_clock::from_time_t(1'800'000'000)};
    std::unique_ptr<db::TempDatabase> db_;
    std::unique_ptr<accounts::PiiVault> vault_;
    std::map<std::int64_t, catalog::Product> products_;
    std::vector<PurchaseLine> lines_;
};

TEST_F(SeedOrdersTest, GamersBuyGamesAndAccessoriesForOneConsole) {
    Seed("games", 600, 600);
    std::map<std::int64_t, std::set<std::string>> platforms;  // customer -> platforms of what they bought
    std::map<std::int64_t, std::multiset<std::int64_t>> games;
    for (const PurchaseLine& l : lines_) {
        const catalog::Product& p = products_.at(l.product_id);
        if (p.category == "merchandise" || p.category == "collectibles") continue;
        platforms[l.user_id].insert(Attribute(l.product_id, "platform"));
        if (p.category != "consoles" && p.category != "controllers" && p.category != "headsets" &&
            p.category != "gift-cards") {
            games[l.user_id].insert(l.product_id);
        }
    }
    ASSERT_GT(platforms.size(), 40U);
    for (const auto& [customer, seen] : platforms) {
        std::string names;
        for (const auto& n : seen) names += n + "; ";
        EXPECT_EQ(seen.size(), 1U) << "customer " << customer << ": " << names;
    }
    // Nobody buys the same game twice.
    for (const auto& [customer, bought] : games) {
        std::set<std::int64_t> distinct(bought.begin(), bought.end());
        EXPECT_EQ(distinct.size(), bought.size()) << "customer " << customer;
    }
}

TEST_F(SeedOrdersTest, HouseholdsBuyTheirStaplesAgain) {
    Seed("grocery", 600, 600);
    std::map<std::int64_t, std::set<std::int64_t>> orders;
    std::map<std::int64_t, std::map<std::int64_t, int>> bought;
    for (const PurchaseLine& l : lines_) {
        orders[l.user_id].insert(l.order_id);
        ++bought[l.user_id][l.product_id];
    }
    int regulars = 0, rebuying = 0;
    for (const auto& [customer, their_orders] : orders) {
        if (their_orders.size() < 4) continue;
        ++regulars;
        int again = 0;
        for (const auto& [product, times] : bought[customer]) again += times >= 3 ? 1 : 0;
        rebuying += again >= 2 ? 1 : 0;  // at least two items bought in three orders or more
    }
    ASSERT_GT(regulars, 10);
    EXPECT_GE(rebuying, regulars * 9 / 10);
}

// The history behind the demo Sales page: more orders in the year's last months, a shop discount
// code on some orders, refunds (whole, partial, cancellations) on their own later dates, and every
// order whole: its lines add up to its total and keep their category.
TEST_F(SeedOrdersTest, TheHistoryHasSeasonsDiscountsAndRefunds) {
    Seed("games", 300, 3000);
    const std::int64_t now = 1767225600;  // the history's end, as Seed passes it
    std::map<int, int> by_month;          // 0 = January (UTC)
    std::int64_t coupon_orders = 0, incomplete = 0, uncategorised = 0;
    std::map<std::string, std::int64_t> refunds;  // kind -> count
    std::int64_t refunds_out_of_order = 0;
    (*db_)->Read([&](db::Connection& c) {
        c.Query("SELECT created_at, coupon_code FROM orders", {}, [&](const db::Row& r) {
            const auto t = static_cast<std::time_t>(r.Int(0));
            std::tm tm{};
            gmtime_r(&t, &tm);
            ++by_month[tm.tm_mon];
            if (r.Text(1) == "WELCOME10") ++coupon_orders;
        });
        incomplete = c.QueryInt(
            "SELECT COUNT(*) FROM orders o WHERE o.total_cents <> (SELECT COALESCE(SUM(l.quantity * l.price_cents -"
            " l.discount_cents), -1) FROM order_lines l WHERE l.order_id = o.id)");
        uncategorised = c.QueryInt("SELECT COUNT(*) FROM order_lines WHERE category_id IS NULL OR category_id = 0");
        c.Query("SELECT kind, COUNT(*) FROM order_refunds GROUP BY kind", {},
                [&](const db::Row& r) { refunds[std::string(r.Text(0))] = r.Int(1); });
        refunds_out_of_order = c.QueryInt(
            "SELECT COUNT(*) FROM order_refunds f JOIN orders o ON o.id = f.order_id"
            " WHERE f.created_at < o.created_at OR f.created_at > ?",
            {now});
    });
    double ordinary = 0;  // February to October, the months without a season
    for (int m = 1; m <= 9; ++m) ordinary += by_month[m] / 9.0;
    EXPECT_GT(by_month[11], 1.6 * ordinary) << "December";
    EXPECT_GT(by_month[10], 1.3 * ordinary) << "November";
    EXPECT_GT(coupon_orders, 3000 / 16);
    EXPECT_LT(coupon_orders, 3000 / 4);
    EXPECT_EQ(incomplete, 0);
    EXPECT_EQ(uncategorised, 0);
    EXPECT_GT(refunds["refund"], 0);
    EXPECT_GT(refunds["partial"], 0);
    EXPECT_GT(refunds["cancel"], 0);
    EXPECT_EQ(refunds_out_of_order, 0);
}

}  // namespace
}  // namespace emporium::orders
