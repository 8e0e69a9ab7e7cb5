#include "orders/seed.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
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

}  // namespace
}  // namespace emporium::orders
