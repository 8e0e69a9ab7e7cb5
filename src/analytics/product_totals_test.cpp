// Products' figures over a range are read as months, weeks and days, or as each product's
// lifetime less what lies outside the range: both must give exactly the facts of the range's
// days, whatever the range. The expected figures here are added up from the facts themselves.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "analytics/analytics.h"
#include "analytics/rollup.h"
#include "catalog/catalog.h"
#include "db/testing.h"

namespace emporium::analytics {
namespace {

std::vector<db::Migration> CatalogAndAnalytics() {
    const db::Dialect d = db::TestDialect();
    std::vector<db::Migration> all = catalog::Migrations(d);
    for (auto& m : Migrations(d)) all.push_back(m);
    return all;
}

std::int64_t ParsedDay(const char* text) {
    return *ParseDay(text);
}

struct Fact {
    std::int64_t day;
    std::int64_t product_id;
    std::int64_t quantity;
    std::int64_t refund_cents;  // a refund of that much instead of a sale
};

class ProductTotalsTest : public ::testing::Test {
protected:
    void SetUp() override {
        catalog_ = std::make_unique<catalog::CatalogService>(*database_, clock_);
        analytics_ = std::make_unique<AnalyticsService>(*database_, *catalog_, clock_);
        // Six products selling on some days over five months (Jan 2 to Jun 3 2026), in the shop's
        // time zone (UTC), with refunds now and then.
        std::mt19937 random(12);
        const std::int64_t first = ParsedDay("2026-01-02"), last = ParsedDay("2026-06-03");
        std::int64_t order_id = 0;
        for (std::int64_t day = first; day <= last; ++day) {
            for (std::int64_t product = 1; product <= 6; ++product) {
                if (random() % (product + 1) != 0) continue;
                const bool refund = random() % 9 == 0;
                facts_.push_back({day, product, static_cast<std::int64_t>(random() % 4 + 1),
                                  refund ? static_cast<std::int64_t>(random() % 500 + 1) : 0});
            }
        }
        const internal::Target shop{kShop, *Zone::Find("UTC")};
        database_->Write([&](db::Connection& c) {
            internal::TableSink sink(c);
            for (const Fact& f : facts_) {
                const std::int64_t at = f.day * 86400 + 3600;
                if (f.refund_cents > 0) {
                    orders::RefundFact r;
                    r.refund_id = ++order_id;
                    r.at = at;
                    r.currency = "USD";
                    r.product_id = f.product_id;
                    r.seller_id = 5;
                    r.category_id = 1;
                    r.quantity = 1;
                    r.amount_cents = f.refund_cents;
                    internal::AddRefund(sink, r, {shop});
                } else {
                    orders::SaleFact l;
                    l.order_id = ++order_id;
                    l.user_id = 100 + order_id % 7;
                    l.at = at;
                    l.currency = "USD";
                    l.product_id = f.product_id;
                    l.seller_id = 5;
                    l.category_id = 1;
                    l.quantity = f.quantity;
                    l.gross_cents = f.quantity * 1000 * f.product_id;
                    internal::AddOrder(sink, {l}, {shop});
                }
            }
        });
    }

    // Each product's net and units over [from, to], from the facts.
    std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> Expected(std::int64_t from, std::int64_t to) const {
        std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> out;
        for (const Fact& f : facts_) {
            if (f.day < from || f.day > to) continue;
            auto& [net, units] = out[f.product_id];
            net += f.refund_cents > 0 ? -f.refund_cents : f.quantity * 1000 * f.product_id;
            units += f.refund_cents > 0 ? -1 : f.quantity;
        }
        std::erase_if(out, [](const auto& e) { return e.second == std::pair<std::int64_t, std::int64_t>{0, 0}; });
        return out;
    }

    std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> Read(std::int64_t from, std::int64_t to) {
        std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> out;
        for (const ProductFigures& p : analytics_->Products({kShop, "USD"}, {from, to}, 100, ProductOrder::kNet)) {
            out[p.product_id] = {p.figures.net_cents(), p.figures.units()};
        }
        return out;
    }

    ManualClock clock_{std::chrono::system_clock::from_time_t(1'780'000'000)};
    db::TempDatabase database_{CatalogAndAnalytics()};
    std::unique_ptr<catalog::CatalogService> catalog_;
    std::unique_ptr<AnalyticsService> analytics_;
    std::vector<Fact> facts_;
};

TEST_F(ProductTotalsTest, EveryRangeGivesExactlyTheFactsOfItsDays) {
    ASSERT_GT(facts_.size(), 200U);
    // Edges of months and ISO weeks, the data's first and last days, and beyond them.
    std::vector<std::int64_t> days;
    for (const char* d : {"2025-12-20", "2026-01-01", "2026-01-02", "2026-01-04", "2026-01-05", "2026-01-31",
                          "2026-02-01", "2026-02-28", "2026-03-01", "2026-03-15", "2026-03-31", "2026-04-06",
                          "2026-04-12", "2026-05-31", "2026-06-01", "2026-06-03", "2026-06-04", "2026-07-30"}) {
        days.push_back(ParsedDay(d));
    }
    std::mt19937 random(7);
    for (int i = 0; i < 12; ++i) days.push_back(ParsedDay("2025-12-25") + static_cast<std::int64_t>(random() % 190));
    int ranges = 0;
    for (std::int64_t from : days) {
        for (std::int64_t to : days) {
            if (from > to) continue;
            ASSERT_EQ(Read(from, to), Expected(from, to)) << FormatDay(from) << " to " << FormatDay(to);
            ++ranges;
        }
    }
    EXPECT_GT(ranges, 400);
    // Nothing at all outside the data.
    EXPECT_TRUE(Read(ParsedDay("2026-07-01"), ParsedDay("2026-12-31")).empty());
    EXPECT_TRUE(Read(ParsedDay("2025-01-01"), ParsedDay("2026-01-01")).empty());
}

// A shop upgraded from the first analytics schema gets its weekly and lifetime rows from the
// daily rows it already had.
TEST(ProductTotalsMigrationTest, TheNewTablesAreFilledFromTheDailyRows) {
    const std::vector<db::Migration> all = Migrations(db::TestDialect());
    ASSERT_GE(all.size(), 2U);
    db::TempDatabase database{std::vector<db::Migration>{all.front()}};
    database->Write([](db::Connection& c) {
        // Sunday Mar 8 and Monday Mar 9 2026 are in two ISO weeks; Mar 10 in the second.
        for (const char* day : {"2026-03-08", "2026-03-09", "2026-03-10"}) {
            c.Execute("INSERT INTO analytics_products VALUES (0, 'USD', ?, 4, 2, 1, 0, 100, 5, 0, 1, 0, 0)",
                      {ParsedDay(day)});
        }
        c.Execute("INSERT INTO analytics_products VALUES (3, 'EUR', ?, 9, 1, 2, 1, 700, 0, 50, 3, 1, 1)",
                  {ParsedDay("2026-03-10")});
    });
    db::ApplyMigrations(*database, all);
    std::vector<std::string> weeks, totals;
    database->Read([&](db::Connection& c) {
        c.Query(
            "SELECT seller_id, currency, week, product_id, gross_cents, units_sold FROM analytics_product_weeks"
            " ORDER BY 1, 2, 3",
            {}, [&](const db::Row& r) {
                weeks.push_back(std::to_string(r.Int(0)) + " " + std::string(r.Text(1)) + " " + FormatDay(r.Int(2)) +
                                " " + std::to_string(r.Int(3)) + " " + std::to_string(r.Int(4)) + " " +
                                std::to_string(r.Int(5)));
            });
        c.Query(
            "SELECT seller_id, currency, product_id, category_id, orders, gross_cents, refunds FROM"
            " analytics_product_totals ORDER BY 1, 2",
            {}, [&](const db::Row& r) {
                std::string line;
                for (int i = 0; i < 7; ++i) line += (i ? " " : "") + std::string(r.Text(i));
                totals.push_back(line);
            });
    });
    EXPECT_EQ(weeks, (std::vector<std::string>{"0 USD 2026-03-02 4 100 1", "0 USD 2026-03-09 4 200 2",
                                               "3 EUR 2026-03-09 9 700 3"}));
    EXPECT_EQ(totals, (std::vector<std::string>{"0 USD 4 2 3 300 0", "3 EUR 9 1 2 700 1"}));
}

}  // namespace
}  // namespace emporium::analytics
