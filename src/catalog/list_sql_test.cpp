#include "catalog/list_sql.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/seed.h"
#include "core/clock.h"
#include "db/testing.h"
#include "events/outbox.h"

namespace emporium::catalog {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::vector<db::Migration> AllMigrations() {
    std::vector<db::Migration> all = Migrations(db::TestDialect());
    for (auto& m : events::Migrations(db::TestDialect())) all.push_back(m);
    return all;
}

// The plans SQLite picks for the statements List runs, checked on a seeded catalog: which index
// is walked first decides whether a search takes a millisecond or a minute at 100,000 products.
// PostgreSQL's planner weighs table sizes (it reads a 300-product table whole), so there the
// catalog gets 20,000 more (cheap) products first, and the statistics autovacuum would gather.
class ListSqlTest : public ::testing::Test {
protected:
    void SetUp() override {
        CatalogService service(*database_, clock_);
        ASSERT_TRUE(SeedCatalog(*database_, service, {"games", 300, 7, {1, 2}}, nullptr).ok());
        if (postgres()) {
            database_->Write([](db::Connection& c) {
                c.ExecuteScript(
                    "INSERT INTO products (sku, name, description, category_id, tags, price_cents, stock, seller_id,"
                    " created_at, updated_at) SELECT 'FILL-' || g, 'Filler item ' || g, 'Plain filler',"
                    " (SELECT MIN(id) FROM categories), '[\"filler\"]', 1, 1, 1, 1700000000, 1700000000"
                    " FROM generate_series(1, 20000) AS g;"
                    "ANALYZE");
            });
        }
    }

    bool postgres() { return database_->dialect() == db::Dialect::kPostgres; }
    ListSql Build(const ProductQuery& query) { return *BuildListSql(query, database_->dialect()); }

    // One line per plan step: SQLite's ("SCAN f VIRTUAL TABLE INDEX 0:M3", ...) or PostgreSQL's
    // EXPLAIN lines ("->  Bitmap Index Scan on products_search", ...).
    std::vector<std::string> Plan(const std::string& sql, db::Params params) {
        std::vector<std::string> steps;
        database_->Read([&](db::Connection& c) {
            if (postgres()) {
                c.Query("EXPLAIN " + sql, params, [&](const db::Row& r) { steps.emplace_back(r.Text(0)); });
                return;
            }
            c.Query("EXPLAIN QUERY PLAN " + sql, params, [&](const db::Row& r) { steps.emplace_back(r.Text(3)); });
        });
        return steps;
    }
    std::vector<std::string> PagePlan(const ListSql& sql) {
        db::Params params = sql.params;
        params.emplace_back(std::int64_t{24});
        params.emplace_back(std::int64_t{0});
        return Plan(sql.page, params);
    }

    ManualClock clock_{std::chrono::system_clock::from_time_t(1'790'000'000)};
    db::TempDatabase database_{AllMigrations()};
};

TEST_F(ListSqlTest, SearchWalksTheFullTextIndexOnceAndLooksProductsUpById) {
    for (Sort sort : {Sort::kRelevance, Sort::kPriceAsc, Sort::kNewest}) {
        for (std::string category : {"", "pc-games"}) {
            // PostgreSQL rightly reads the table for a word in nearly every product ("a"): the
            // index is for the selective words.
            const ListSql sql = Build({.q = postgres() ? "zqx" : "a", .category = category, .sort = sort});
            for (const auto& plan : {Plan(sql.count, sql.params), PagePlan(sql)}) {
                ASSERT_FALSE(plan.empty());
                if (postgres()) {
                    // Within a category (known only at run time) it may as well walk that category.
                    EXPECT_THAT(plan, Contains(HasSubstr(category.empty() ? "Bitmap Index Scan on products_search"
                                                                          : "Bitmap Index Scan on products_")))
                        << sql.page;
                    EXPECT_THAT(plan, Not(Contains(HasSubstr("Seq Scan on products")))) << sql.page;
                    continue;
                }
                EXPECT_THAT(plan.front(), StartsWith("SCAN f VIRTUAL TABLE")) << sql.page;
                EXPECT_THAT(plan, Contains("SEARCH p USING INTEGER PRIMARY KEY (rowid=?)"));
                // The full-text index is never probed once per product.
                EXPECT_THAT(plan, Not(Contains(AllOf(HasSubstr("VIRTUAL TABLE"), HasSubstr("=M")))));
            }
        }
    }
}

TEST_F(ListSqlTest, PagesWalkProductsInTheOrderShownAndLookCategoriesUp) {
    for (Sort sort : {Sort::kPopular, Sort::kPriceAsc, Sort::kNewest}) {
        const std::vector<std::string> plan = PagePlan(Build({.sort = sort}));
        ASSERT_FALSE(plan.empty());
        if (postgres()) {
            // The index gives the order; ties are sorted as they come (Incremental Sort), and each
            // product's category is found by its key.
            const char* index = sort == Sort::kPopular    ? "using products_popular"
                                : sort == Sort::kPriceAsc ? "using products_price"
                                                          : "using products_newest";
            EXPECT_THAT(plan, Contains(HasSubstr(index))) << static_cast<int>(sort);
            EXPECT_THAT(plan, Contains(HasSubstr("using categories_pkey")));
            EXPECT_THAT(plan, Not(Contains(HasSubstr("->  Sort"))));
            continue;
        }
        EXPECT_THAT(plan.front(), StartsWith("SEARCH p USING INDEX products_")) << static_cast<int>(sort);
        EXPECT_THAT(plan, Contains("SEARCH c USING INTEGER PRIMARY KEY (rowid=?)"));
        // The index gives the order, so LIMIT stops the walk early; only ties in popularity are
        // sorted as they come ("RIGHT PART"), never the whole catalog.
        EXPECT_THAT(plan, Not(Contains("USE TEMP B-TREE FOR ORDER BY")));
    }
}

TEST_F(ListSqlTest, CountsReadOnlyAnIndex) {
    if (postgres()) {
        // The filters' index; whether PostgreSQL then skips the rows too depends on its visibility
        // map (kept by autovacuum), not on the statement.
        const ListSql category = Build({.category = "pc-games", .min_price = 1000});
        EXPECT_THAT(Plan(category.count, category.params),
                    Contains(HasSubstr("Index Cond: ((category_id = $0) AND (archived = 0) AND (price_cents >=")));
        const ListSql priced = Build({.min_price = 1000, .max_price = 5000});
        EXPECT_THAT(Plan(priced.count, priced.params), Contains(HasSubstr("products_price")));
        return;
    }
    const ListSql all = Build({});
    EXPECT_THAT(Plan(all.count, all.params), ElementsAre(HasSubstr("USING COVERING INDEX")));

    const ListSql category = Build({.category = "pc-games", .min_price = 1000});
    EXPECT_THAT(Plan(category.count, category.params),
                Contains(HasSubstr("SEARCH p USING COVERING INDEX products_category_price (category_id=? AND "
                                   "archived=? AND price_cents>?)")));

    const ListSql priced = Build({.min_price = 1000, .max_price = 5000});
    EXPECT_THAT(Plan(priced.count, priced.params),
                ElementsAre(HasSubstr("USING COVERING INDEX products_price (archived=? AND price_cents>? AND "
                                      "price_cents<?)")));
}

TEST_F(ListSqlTest, AnUnknownCategoryMatchesNothing) {
    const ListSql sql = Build({.category = "no-such-shelf"});
    const std::int64_t total = database_->Read([&](db::Connection& c) { return c.QueryInt(sql.count, sql.params); });
    EXPECT_EQ(total, 0);
}

TEST(BuildListSql, SearchTextWithoutLettersOrDigitsMatchesNothing) {
    EXPECT_FALSE(BuildListSql({.q = "\"*-:^"}).has_value());
    EXPECT_TRUE(BuildListSql({.q = "a"}).has_value());
}

TEST(TsQuery, RequiresEveryWordAsAQuotedPrefix) {
    EXPECT_EQ(TsQuery("Zel BRE"), "'zel':* & 'bre':*");
    EXPECT_EQ(TsQuery("a | b & !c <-> d:*"), "'a':* & 'b':* & 'c':* & 'd':*");
    EXPECT_EQ(TsQuery("Pokémon"), "'pokémon':*");
    EXPECT_EQ(TsQuery("\"*-:^"), "");
}

TEST(FtsQuery, QuotesEveryWordAsAPrefix) {
    EXPECT_EQ(FtsQuery("Zel BRE"), "\"zel\"* \"bre\"*");
    EXPECT_EQ(FtsQuery("a OR b NEAR(c)"), "\"a\"* \"or\"* \"b\"* \"near\"* \"c\"*");
    EXPECT_EQ(FtsQuery("\"*-:^"), "");
}

}  // namespace
}  // namespace emporium::catalog
