#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "analytics/analytics.h"
#include "analytics/reports_sql.h"
#include "db/testing.h"

namespace emporium::analytics {
namespace {

using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The plans SQLite picks for every report statement: each walks one rollup table by a range of
// its primary key and touches no order table, so a report over a year costs the rows of that
// year, whatever the number of order lines behind them.
class RollupSqlTest : public ::testing::Test {
protected:
    void SetUp() override {
        // Enough rows that the planner's choice is the one a real shop gets.
        database_->Write([](db::Connection& c) {
            for (std::int64_t seller = 0; seller < 20; ++seller) {
                for (std::int64_t day = 20000; day < 20100; ++day) {
                    c.Execute("INSERT INTO analytics_days VALUES (?, 'USD', ?, 1, 0, 100, 0, 0, 1, 0, 0)",
                              {seller, day});
                    c.Execute("INSERT INTO analytics_hours VALUES (?, 'USD', ?, 1, 0, 100, 0, 0, 1, 0, 0)",
                              {seller, day * 86400});
                    c.Execute("INSERT INTO analytics_products VALUES (?, 'USD', ?, ?, 3, 1, 0, 100, 0, 0, 1, 0, 0)",
                              {seller, day, day % 7});
                    c.Execute("INSERT INTO analytics_funnel VALUES (?, ?, ?, 5, 1)", {seller, day, day % 7});
                }
                for (std::int64_t week = 20000; week < 20100; week += 7) {
                    for (std::int64_t product = 0; product < 7; ++product) {
                        c.Execute(
                            "INSERT INTO analytics_product_weeks VALUES (?, 'USD', ?, ?, 3, 1, 0, 100, 0, 0, 1, 0, 0)",
                            {seller, week, product});
                    }
                }
                for (std::int64_t product = 0; product < 7; ++product) {
                    c.Execute("INSERT INTO analytics_product_totals VALUES (?, 'USD', ?, 3, 1, 0, 100, 0, 0, 1, 0, 0)",
                              {seller, product});
                }
                c.Execute(
                    "INSERT INTO analytics_product_months VALUES (?, 'USD', 24300, 1, 3, 1, 0, 100, 0, 0, 1, 0, 0)",
                    {seller});
            }
            c.Execute("ANALYZE");
        });
    }

    std::vector<std::string> Plan(const char* sql, const db::Params& params) {
        std::vector<std::string> steps;
        database_->Read([&](db::Connection& c) {
            c.Query(std::string("EXPLAIN QUERY PLAN ") + sql, params,
                    [&](const db::Row& r) { steps.emplace_back(r.Text(3)); });
        });
        return steps;
    }

    // SQLite's planner: these plans are its own (PostgreSQL runs the same statements in the other tests).
    db::TempDatabase database_{Migrations(db::Dialect::kSqlite), db::TestBackend::kSqlite};
};

TEST_F(RollupSqlTest, EveryReportWalksOneRollupTableByItsPrimaryKey) {
    const db::Params seller_currency_range{std::int64_t{3}, std::string("USD"), std::int64_t{20010},
                                           std::int64_t{20050}};
    const std::pair<const char*, const char*> keyed[] = {
        {sql::kSummary, "SEARCH analytics_days USING PRIMARY KEY (seller_id=? AND currency=? AND day>? AND day<?)"},
        {sql::kDays, "SEARCH analytics_days USING PRIMARY KEY (seller_id=? AND currency=? AND day>? AND day<?)"},
        {sql::kHours,
         "SEARCH analytics_hours USING PRIMARY KEY (seller_id=? AND currency=? AND hour_start>? AND hour_start<?)"},
        {sql::kProductDays,
         "SEARCH analytics_products USING PRIMARY KEY (seller_id=? AND currency=? AND day>? AND day<?)"},
        {sql::kProductWeeks,
         "SEARCH analytics_product_weeks USING PRIMARY KEY (seller_id=? AND currency=? AND week>? AND week<?)"},
        {sql::kProductMonths,
         "SEARCH analytics_product_months USING PRIMARY KEY (seller_id=? AND currency=? AND month>? AND month<?)"},
    };
    for (const auto& [statement, walk] : keyed) {
        std::vector<std::string> plan = Plan(statement, seller_currency_range);
        ASSERT_FALSE(plan.empty()) << statement;
        EXPECT_EQ(plan.front(), walk) << statement;
        // Nothing else is read: no order table, no second walk; at most a sort of the rows found.
        for (std::size_t i = 1; i < plan.size(); ++i) EXPECT_THAT(plan[i], StartsWith("USE TEMP B-TREE")) << statement;
        EXPECT_THAT(std::string(statement), AllOf(Not(HasSubstr("order_lines")), Not(HasSubstr("orders "))));
    }
    // Days and hours come in key order, and products' rows are added up by the caller (a whole
    // shop's year is too many rows to sort for each report): no sort at all.
    for (const char* statement :
         {sql::kDays, sql::kHours, sql::kProductDays, sql::kProductWeeks, sql::kProductMonths}) {
        EXPECT_EQ(Plan(statement, seller_currency_range).size(), 1U) << statement;
    }
    // A scope's lifetime rows of its products, and the first and last days it has figures on.
    const db::Params seller_currency{std::int64_t{3}, std::string("USD")};
    EXPECT_EQ(
        Plan(sql::kProductLifetimes, seller_currency),
        std::vector<std::string>{"SEARCH analytics_product_totals USING PRIMARY KEY (seller_id=? AND currency=?)"});
    EXPECT_EQ(Plan(sql::kDataDays, seller_currency),
              std::vector<std::string>{"SEARCH analytics_days USING PRIMARY KEY (seller_id=? AND currency=?)"});

    const db::Params seller_range{std::int64_t{3}, std::int64_t{20010}, std::int64_t{20050}};
    EXPECT_EQ(Plan(sql::kFunnel, seller_range),
              std::vector<std::string>{"SEARCH analytics_funnel USING PRIMARY KEY (seller_id=? AND day>? AND day<?)"});
    for (const char* statement : {sql::kOrdersAnyCurrency, sql::kCurrencies}) {
        std::vector<std::string> plan = Plan(statement, seller_range);
        ASSERT_FALSE(plan.empty());
        EXPECT_THAT(plan.front(), StartsWith("SEARCH analytics_days USING PRIMARY KEY (seller_id=?")) << statement;
        EXPECT_THAT(plan, Each(Not(HasSubstr("SCAN")))) << statement;
    }
}

}  // namespace
}  // namespace emporium::analytics
