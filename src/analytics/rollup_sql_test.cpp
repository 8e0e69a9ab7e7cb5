#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tuple>

#include "analytics/analytics.h"
#include "analytics/reports_sql.h"
#include "db/testing.h"

namespace emporium::analytics {
namespace {

using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::Contains;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The plans SQLite and PostgreSQL pick for every report statement: each walks one rollup table
// by a range of its primary key and touches no order table, so a report over a year costs the
// rows of that year, whatever the number of order lines behind them.
class RollupSqlTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (postgres()) {
            // PostgreSQL's planner weighs table sizes (it reads a small table whole): a few hundred
            // thousand rows, as a shop's year has, and the statistics autovacuum would gather.
            database_->Write([](db::Connection& c) {
                const std::string figures =
                    ", 1, 0, 100, 0, 0, 1, 0, 0 FROM generate_series(0, 49) AS s,"
                    " generate_series(20000, 20399) AS d";
                c.ExecuteScript("INSERT INTO analytics_days SELECT s, 'USD', d" + figures +
                                ";"
                                "INSERT INTO analytics_hours SELECT s, 'USD', d * 86400" +
                                figures +
                                ";"
                                "INSERT INTO analytics_products SELECT s, 'USD', d, p, 3" +
                                figures +
                                ", generate_series(0, 9) AS p;"
                                "INSERT INTO analytics_product_weeks SELECT s, 'USD', d, p, 3" +
                                figures +
                                ", generate_series(0, 9) AS p WHERE (d + 3) % 7 = 0;"
                                "INSERT INTO analytics_product_months SELECT s, 'USD', d, p, 3" +
                                figures +
                                ", generate_series(0, 9) AS p WHERE d % 30 = 0;"
                                "INSERT INTO analytics_product_totals SELECT s, 'USD', p, 3, 1, 0, 100, 0, 0, 1, 0, 0"
                                " FROM generate_series(0, 49) AS s, generate_series(0, 999) AS p;"
                                "INSERT INTO analytics_funnel SELECT s, d, p, 5, 1 FROM generate_series(0, 49) AS s,"
                                " generate_series(20000, 20399) AS d, generate_series(0, 9) AS p;"
                                "ANALYZE");
            });
            return;
        }
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

    bool postgres() { return database_->dialect() == db::Dialect::kPostgres; }

    // One line per plan step: SQLite's ("SEARCH analytics_days USING PRIMARY KEY ...") or
    // PostgreSQL's EXPLAIN lines ("Index Scan using analytics_days_pkey on analytics_days", ...).
    std::vector<std::string> Plan(const char* sql, const db::Params& params) {
        std::vector<std::string> steps;
        database_->Read([&](db::Connection& c) {
            if (postgres()) {
                c.Query(std::string("EXPLAIN ") + sql, params,
                        [&](const db::Row& r) { steps.emplace_back(r.Text(0)); });
                return;
            }
            c.Query(std::string("EXPLAIN QUERY PLAN ") + sql, params,
                    [&](const db::Row& r) { steps.emplace_back(r.Text(3)); });
        });
        return steps;
    }

    db::TempDatabase database_{Migrations(db::TestDialect())};
};

// PostgreSQL: every statement reaches its table through the table's primary key (an index scan,
// or a bitmap of it), never a sequential scan, and reads no other table.
TEST_F(RollupSqlTest, OnPostgresqlEveryReportReadsOneRollupTableByItsPrimaryKey) {
    if (!postgres()) {
        // The SQLite run pins SQLite's plans below; this one's subject is PostgreSQL's planner.
        EXPECT_EQ(database_->dialect(), db::Dialect::kSqlite);
        return;
    }
    const db::Params seller_currency_range{std::int64_t{3}, std::string("USD"), std::int64_t{20010},
                                           std::int64_t{20050}};
    const db::Params seller_currency{std::int64_t{3}, std::string("USD")};
    const db::Params seller_range{std::int64_t{3}, std::int64_t{20010}, std::int64_t{20050}};
    const std::tuple<const char*, const char*, db::Params> statements[] = {
        {sql::kSummary, "analytics_days", seller_currency_range},
        {sql::kDays, "analytics_days", seller_currency_range},
        {sql::kHours, "analytics_hours",
         db::Params{std::int64_t{3}, std::string("USD"), std::int64_t{20010} * 86400, std::int64_t{20050} * 86400}},
        {sql::kProductDays, "analytics_products", seller_currency_range},
        {sql::kProductWeeks, "analytics_product_weeks", seller_currency_range},
        {sql::kProductMonths, "analytics_product_months", seller_currency_range},
        {sql::kProductLifetimes, "analytics_product_totals", seller_currency},
        {sql::kDataDays, "analytics_days", seller_currency},
        {sql::kFunnel, "analytics_funnel", seller_range},
        {sql::kOrdersAnyCurrency, "analytics_days", seller_range},
        {sql::kCurrencies, "analytics_days", seller_range},
    };
    for (const auto& [statement, table, params] : statements) {
        const std::vector<std::string> plan = Plan(statement, params);
        ASSERT_FALSE(plan.empty()) << statement;
        const std::string pkey = std::string(table) + "_pkey";
        EXPECT_THAT(plan, Contains(AnyOf(HasSubstr("Index Scan using " + pkey + " on " + table),
                                         HasSubstr("Index Only Scan using " + pkey + " on " + table),
                                         HasSubstr("Bitmap Index Scan on " + pkey))))
            << statement;
        EXPECT_THAT(plan, Each(Not(HasSubstr("Seq Scan")))) << statement;
        for (const std::string& step : plan) {
            // Every table the plan names is this one (or its key).
            for (const char* other : {" on order", " on analytics_customers", " on analytics_applied"}) {
                EXPECT_THAT(step, Not(HasSubstr(other))) << statement;
            }
        }
    }
}

TEST_F(RollupSqlTest, EveryReportWalksOneRollupTableByItsPrimaryKey) {
    if (postgres()) {
        // SQLite's plans; PostgreSQL's are pinned above.
        EXPECT_EQ(database_->dialect(), db::Dialect::kPostgres);
        return;
    }
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
