#include "catalog/list_sql.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "catalog/seed.h"
#include "catalog/testing.h"
#include "core/clock.h"
#include "db/testing.h"

namespace emporium::catalog {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

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
    db::TempDatabase database_{TestMigrations()};
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
                // The count's limit wraps its walk in a co-routine; the walk itself comes first inside.
                auto first = std::find_if(plan.begin(), plan.end(),
                                          [](const std::string& step) { return !step.starts_with("CO-ROUTINE"); });
                ASSERT_NE(first, plan.end());
                EXPECT_THAT(*first, StartsWith("SCAN f VIRTUAL TABLE")) << sql.page;
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

TEST(BuildListSql, SearchCountStopsPastItsLimit) {
    const ListSql sql = *BuildListSql({.q = "a"});
    EXPECT_EQ(sql.count_limit, kSearchCountLimit);
    EXPECT_THAT(sql.count, HasSubstr("LIMIT " + std::to_string(kSearchCountLimit + 1)));
    EXPECT_EQ(BuildListSql({})->count_limit, 0);
}

// The table behind IsFtsSeparator agrees with the tokenizer the index uses, code point by code
// point: every one of the Basic Multilingual Plane, and both sides of every range's ends above it.
TEST(FtsSeparators, AreTheTokenizers) {
    db::TempDatabase sqlite({}, db::TestBackend::kSqlite);  // SQLite's tokenizer, whatever the backend
    std::vector<char32_t> code_points;
    for (char32_t cp = 0x80; cp < 0x10000; ++cp) {
        if (cp < 0xD800 || cp > 0xDFFF) code_points.push_back(cp);
    }
    for (char32_t cp = 0x10000; cp <= 0x10FFFF; ++cp) {
        if (IsFtsSeparator(cp) != IsFtsSeparator(cp - 1) ||
            (cp < 0x10FFFF && IsFtsSeparator(cp) != IsFtsSeparator(cp + 1))) {
            code_points.push_back(cp);
        }
    }
    auto utf8 = [](char32_t cp) {
        std::string out;
        if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        }
        out += static_cast<char>(0x80 | (cp & 0x3F));
        return out;
    };
    std::vector<std::int64_t> tokens(code_points.size());
    sqlite->Write([&](db::Connection& c) {
        c.ExecuteScript(std::string("CREATE VIRTUAL TABLE temp.probe USING fts5(x, tokenize='") + kFtsTokenizer +
                        "'); CREATE VIRTUAL TABLE temp.probe_tokens USING fts5vocab(temp, probe, instance)");
        for (std::size_t i = 0; i < code_points.size(); ++i) {
            c.Execute("INSERT INTO temp.probe (rowid, x) VALUES (?, ?)",
                      {static_cast<std::int64_t>(i), "a" + utf8(code_points[i]) + "b"});
        }
        c.Query("SELECT doc, COUNT(*) FROM temp.probe_tokens GROUP BY doc", {},
                [&](const db::Row& r) { tokens[static_cast<std::size_t>(r.Int(0))] = r.Int(1); });
        c.ExecuteScript("DROP TABLE temp.probe_tokens; DROP TABLE temp.probe");
    });
    int wrong = 0;
    for (std::size_t i = 0; i < code_points.size() && wrong < 10; ++i) {
        const bool separates = tokens[i] != 1;  // "a", cp, "b": one token unless cp separates
        if (separates != IsFtsSeparator(code_points[i])) {
            ++wrong;
            ADD_FAILURE() << "U+" << std::hex << static_cast<std::uint32_t>(code_points[i])
                          << (separates ? " separates" : " is part of a word")
                          << " for the tokenizer: run scripts/gen_fts_separators.py";
        }
    }
}

TEST(BuildListSql, SearchTextWithoutLettersOrDigitsMatchesNothing) {
    EXPECT_FALSE(BuildListSql({.q = "\"*-:^"}).has_value());
    EXPECT_FALSE(BuildListSql({.q = "\xF0\x9F\x8E\xAE \u2014 \xFF"}).has_value());  // an emoji, a dash, a bad byte
    EXPECT_TRUE(BuildListSql({.q = "a"}).has_value());
}

TEST(TsQuery, RequiresEveryWordQuotedAndStarsOnlyPrefixes) {
    EXPECT_EQ(TsQuery("Zel BRE"), "'zel':* & 'bre':*");
    EXPECT_EQ(TsQuery("a | b & !c <-> d:*"), "'a' & 'b' & 'c' & 'd'");
    EXPECT_EQ(TsQuery("halo 3 halo"), "'halo':* & '3'");
    EXPECT_EQ(TsQuery("Pokémon"), "'pokémon':*");
    EXPECT_EQ(TsQuery("\"*-:^"), "");
}

TEST(FtsQuery, QuotesEveryWordAndStarsOnlyPrefixesOfTwoOrMore) {
    EXPECT_EQ(FtsQuery("Zel BRE"), "\"zel\"* \"bre\"*");
    EXPECT_EQ(FtsQuery("a OR b NEAR(c)"), "\"a\" \"or\"* \"b\" \"near\"* \"c\"");
    EXPECT_EQ(FtsQuery("halo 3"), "\"halo\"* \"3\"");
    EXPECT_EQ(FtsQuery("\"*-:^"), "");
}

TEST(SearchWords, DropsRepeatsAndKeepsTheFirstEight) {
    std::string hundred;
    for (int i = 0; i < 100; ++i) hundred += "a ";
    EXPECT_EQ(FtsQuery(hundred), "\"a\"");
    EXPECT_EQ(FtsQuery("Zel zel ZEL"), "\"zel\"*");
    const std::vector<SearchWord> words = SearchWords("one two three four five six seven eight nine ten");
    ASSERT_EQ(words.size(), kMaxSearchWords);
    EXPECT_EQ(words.front().text, "one");
    EXPECT_EQ(words.back().text, "eight");
}

TEST(SearchWords, SplitsWhereTheTokenizerDoes) {
    // A dash, a middle dot, an ideographic comma: each separates, so "a—a—a" is one word, not a
    // phrase of three.
    EXPECT_EQ(FtsQuery("a\u2014a\u2014a a\u00B7a a\u3001a"), "\"a\"");
    EXPECT_EQ(FtsQuery("Caf\u00E9 \u00E9t\u00E9"), "\"caf\u00E9\"* \"\u00E9t\u00E9\"*");
    EXPECT_EQ(FtsQuery("x\u00B2y"), "\"x\u00B2y\"*");  // a superscript digit belongs to the word
    // One letter and an accent the tokenizer drops is still one letter: a whole word, no prefix.
    EXPECT_EQ(FtsQuery("e\u0301"), "\"e\u0301\"");
    EXPECT_EQ(FtsQuery("\u00E9"), "\"\u00E9\"");
    // Bad UTF-8 separates, and never ends up inside a word.
    EXPECT_EQ(FtsQuery("ab\xFF"
                       "cd \xE2\x80"),
              "\"ab\"* \"cd\"*");
    EXPECT_EQ(FtsQuery("\xC0\xAF\xED\xA0\x80"), "");  // an overlong "/" and a surrogate
}

}  // namespace
}  // namespace emporium::catalog
