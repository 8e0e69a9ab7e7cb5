#include "catalog/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "catalog/list_sql.h"
#include "catalog/seed.h"
#include "catalog/testing.h"
#include "db/testing.h"

namespace emporium::catalog {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

class CatalogTest : public ::testing::Test {
protected:
    void SetUp() override {
        service_ = std::make_unique<CatalogService>(*database_, clock_);
        ASSERT_TRUE(SeedCatalog(*database_, *service_, {"games", 200, 7, {1, 2, 3}}, nullptr).ok());
    }

    ProductDraft ValidDraft(std::string sku) {
        ProductDraft d;
        d.sku = std::move(sku);
        d.name = "Starfall Tactics Collector's Box";
        d.description = "A boxed edition.";
        d.category = "pc-games";
        d.tags = std::vector<std::string>{"strategy", "collector"};
        d.price_cents = 8999;
        d.stock = 12;
        return d;
    }

    // A page that must come back (no query here is near the budget).
    ProductPage List(const ProductQuery& query) {
        Result<ProductPage> page = service_->List(query);
        EXPECT_TRUE(page.ok()) << (page.ok() ? "" : page.error().message);
        return page.ok() ? page.value() : ProductPage{};
    }
    std::vector<std::int64_t> Ids(const ProductPage& page) {
        std::vector<std::int64_t> ids;
        for (const Product& p : page.items) ids.push_back(p.id);
        return ids;
    }
    // count products named "Widget N", one write: more than a search counts.
    void AddWidgets(int count) {
        database_->Write([&](db::Connection& c) {
            c.Execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
                " INSERT INTO products (sku, name, description, category_id, price_cents, stock, seller_id,"
                " created_at, updated_at)"
                " SELECT 'W-' || i, 'Widget ' || i, 'A plain widget.', (SELECT MIN(id) FROM categories), 100 + i, 5, 1,"
                " 0, 0 FROM n",
                {std::int64_t{count}});
        });
    }

    ManualClock clock_{std::chrono::system_clock::from_time_t(1'790'000'000)};
    db::TempDatabase database_{TestMigrations()};
    std::unique_ptr<CatalogService> service_;
};

TEST_F(CatalogTest, SeedGivesEveryCategoryProducts) {
    std::vector<Category> categories = service_->Categories().value();
    ASSERT_EQ(categories.size(), 10u);
    std::int64_t total = 0;
    for (const auto& c : categories) {
        EXPECT_GT(c.product_count, 0) << c.slug;
        total += c.product_count;
    }
    EXPECT_EQ(total, 200);
    EXPECT_EQ(service_->Store().name, "Git Goods");
}

TEST_F(CatalogTest, SeedIsDeterministic) {
    auto first = List(ProductQuery{.sort = Sort::kPriceAsc, .per_page = 100});
    ASSERT_TRUE(SeedCatalog(*database_, *service_, {"games", 200, 7, {1, 2, 3}}, nullptr).ok());
    auto second = List(ProductQuery{.sort = Sort::kPriceAsc, .per_page = 100});
    ASSERT_EQ(first.items.size(), 100u);
    ASSERT_EQ(first.items.size(), second.items.size());
    for (size_t i = 0; i < first.items.size(); ++i) {
        EXPECT_EQ(first.items[i].sku, second.items[i].sku);
        EXPECT_EQ(first.items[i].name, second.items[i].name);
        EXPECT_EQ(first.items[i].price_cents, second.items[i].price_cents);
    }
}

TEST_F(CatalogTest, GrocerySellsProduceByTheKilo) {
    ASSERT_TRUE(SeedCatalog(*database_, *service_, {"grocery", 300, 1, {1, 2}}, nullptr).ok());
    EXPECT_EQ(service_->Store().name, "GoMart");
    auto produce = List(ProductQuery{.category = "fruit-vegetables", .per_page = 100});
    ASSERT_FALSE(produce.items.empty());
    for (const auto& p : produce.items) EXPECT_NE(p.attributes_json.find("\"unit\":\"kg\""), std::string::npos);
}

TEST_F(CatalogTest, FiltersAndSorts) {
    ProductQuery q{
        .category = "consoles", .min_price = 20000, .max_price = 50000, .sort = Sort::kPriceDesc, .per_page = 100};
    ProductPage page = List(q);
    ASSERT_FALSE(page.items.empty());
    for (size_t i = 0; i < page.items.size(); ++i) {
        EXPECT_EQ(page.items[i].category, "consoles");
        EXPECT_GE(page.items[i].price_cents, 20000);
        EXPECT_LE(page.items[i].price_cents, 50000);
        if (i > 0) {
            EXPECT_GE(page.items[i - 1].price_cents, page.items[i].price_cents);
        }
    }
    EXPECT_EQ(page.total, static_cast<std::int64_t>(page.items.size()));
}

TEST_F(CatalogTest, PagingCoversEveryProductOnce) {
    std::set<std::int64_t> seen;
    for (std::int64_t p = 1; p <= 9; ++p) {
        auto page = List(ProductQuery{.sort = Sort::kNewest, .page = p, .per_page = 25});
        EXPECT_EQ(page.total, 200);
        for (const auto& item : page.items) EXPECT_TRUE(seen.insert(item.id).second);
    }
    EXPECT_EQ(seen.size(), 200u);
}

TEST_F(CatalogTest, SearchMatchesPrefixesOfEveryWordAndRanksNamesFirst) {
    ASSERT_TRUE(service_->Create(ValidDraft("BOX-1"), 1).ok());
    auto page = List(ProductQuery{.q = "starf tact collect", .sort = Sort::kRelevance});
    ASSERT_GE(page.total, 1);
    EXPECT_EQ(page.items[0].sku, "BOX-1");
    auto none = List(ProductQuery{.q = "zzzqqq", .sort = Sort::kRelevance});
    EXPECT_EQ(none.total, 0);
}

TEST_F(CatalogTest, SearchIgnoresAccentsAndCase) {
    ProductDraft d = ValidDraft("ACCENT-1");
    d.name = "Pokémon Crystal Édition";
    ASSERT_TRUE(service_->Create(d, 1).ok());
    for (const char* q : {"pokemon edition", "POKÉM", "pokem cryst", "édit pokémon"}) {
        ProductPage page = List(ProductQuery{.q = q, .sort = Sort::kRelevance});
        ASSERT_GE(page.total, 1) << q;
        EXPECT_EQ(page.items[0].sku, "ACCENT-1") << q;
    }
}

TEST_F(CatalogTest, SearchTreatsOperatorsAsText) {
    ProductDraft draft = ValidDraft("OPS-1");
    draft.name = "Near And Or Not Edition";
    draft.description = "Name foo.";
    Product ops = service_->Create(draft, 1).value();
    auto ids = [&](const char* q) { return Ids(List(ProductQuery{.q = q, .sort = Sort::kRelevance})); };
    // As FTS5 syntax each of these would exclude the product, search another column or fail.
    EXPECT_THAT(ids("NOT near"), ::testing::Contains(ops.id));
    EXPECT_THAT(ids("name:foo"), ::testing::Contains(ops.id));
    EXPECT_THAT(ids("NEAR(near edition)"), ::testing::Contains(ops.id));
    EXPECT_THAT(ids("\"near or\" AND (not)"), ::testing::Contains(ops.id));
    // "OR" is a word to find, not a way to widen the search.
    EXPECT_THAT(ids("near OR zzzqqq"), ::testing::IsEmpty());
    // Nothing but syntax: no word, so nothing matches (not everything, not an error).
    for (const char* q : {"\"", "*", "(", "^", "-"}) {
        ProductPage page = List(ProductQuery{.q = q, .sort = Sort::kRelevance});
        EXPECT_EQ(page.total, 0) << q;
        EXPECT_TRUE(page.items.empty()) << q;
    }
    List(ProductQuery{.q = "'; DROP TABLE products; --", .sort = Sort::kRelevance});
    EXPECT_EQ(List(ProductQuery{}).total, 201);
}

TEST_F(CatalogTest, RepeatedAndExtraWordsCostNothingMore) {
    ASSERT_TRUE(service_->Create(ValidDraft("BOX-1"), 1).ok());
    std::string hundred;
    for (int i = 0; i < 100; ++i) hundred += "starf ";
    EXPECT_EQ(Ids(List({.q = hundred, .sort = Sort::kRelevance})), Ids(List({.q = "starf", .sort = Sort::kRelevance})));
    // Only the first eight distinct words count: a ninth that matches nothing changes nothing.
    const std::string eight = "starf tact collect box a boxed edition strat";
    ProductPage page = List({.q = eight + " zzzqqq", .sort = Sort::kRelevance});
    EXPECT_EQ(Ids(page), Ids(List({.q = eight, .sort = Sort::kRelevance})));
    ASSERT_FALSE(page.items.empty());
    EXPECT_EQ(page.items[0].sku, "BOX-1");
}

// Every page, full, partial or past the end, tells the same total as a count of the matches.
TEST_F(CatalogTest, EveryPageTellsTheSameTotal) {
    AddWidgets(30);
    for (const ProductQuery& base : {ProductQuery{.q = "widget", .sort = Sort::kPriceAsc},
                                     ProductQuery{.category = "pc-games", .sort = Sort::kPriceAsc},
                                     ProductQuery{.q = "widget", .max_price = 110}, ProductQuery{.q = "zzzz"}}) {
        constexpr std::int64_t kPerPage = 12;
        std::int64_t counted = 0;
        std::int64_t total_first = 0;
        // Through one page past the last.
        for (std::int64_t n = 1; n == 1 || (n - 2) * kPerPage < total_first; ++n) {
            ProductQuery query = base;
            query.page = n;
            query.per_page = kPerPage;
            const ProductPage page = List(query);
            counted += static_cast<std::int64_t>(page.items.size());
            if (n == 1) total_first = page.total;
            EXPECT_EQ(page.total, total_first) << base.q << base.category << " page " << n;
            EXPECT_TRUE(page.total_exact);
        }
        EXPECT_EQ(total_first, counted) << base.q << base.category;
    }
}

TEST_F(CatalogTest, SearchCountsUpToItsLimitAndPagesGoOnPastIt) {
    AddWidgets(kSearchCountLimit + 50);
    ProductPage first = List({.q = "widget", .sort = Sort::kPriceAsc, .per_page = 100});
    EXPECT_EQ(first.total, kSearchCountLimit);
    EXPECT_FALSE(first.total_exact);
    ASSERT_EQ(first.items.size(), 100u);
    EXPECT_EQ(first.items[0].name, "Widget 1");
    // The page holding matches 1,001 to 1,050 still answers, in order.
    ProductPage last = List({.q = "widget", .sort = Sort::kPriceAsc, .page = 11, .per_page = 100});
    ASSERT_EQ(last.items.size(), 50u);
    EXPECT_EQ(last.items.back().name, "Widget " + std::to_string(kSearchCountLimit + 50));
    // The last page, not full, tells the same total as the first: counted up to the limit.
    EXPECT_EQ(last.total, kSearchCountLimit);
    EXPECT_FALSE(last.total_exact);
    // Below the limit, and without a search, the total is exact.
    ProductPage few = List({.q = "widget 7", .sort = Sort::kPriceAsc});
    EXPECT_TRUE(few.total_exact);
    EXPECT_EQ(few.total, 1);
    ProductPage all = List({});
    EXPECT_TRUE(all.total_exact);
    EXPECT_EQ(all.total, 200 + kSearchCountLimit + 50);
}

TEST_F(CatalogTest, AReadPastItsBudgetIsAnUnavailableError) {
    AddWidgets(2000);
    // A budget of nothing: the first check, a thousand steps in, finds it spent.
    CatalogService hurried(*database_, clock_, std::chrono::milliseconds(0));
    Result<ProductPage> page = hurried.List({.q = "widget", .sort = Sort::kRelevance});
    ASSERT_FALSE(page.ok());
    EXPECT_EQ(page.error().kind, ErrorKind::kUnavailable);
    EXPECT_EQ(page.error().code, "query_timeout");
    Result<std::vector<Category>> categories = hurried.Categories();
    ASSERT_FALSE(categories.ok());
    EXPECT_EQ(categories.error().code, "query_timeout");
    // The connections it used carry no deadline afterwards: every reader answers in full.
    for (int i = 0; i < 8; ++i) EXPECT_EQ(List({.q = "widget", .sort = Sort::kRelevance}).total, kSearchCountLimit);
}

TEST_F(CatalogTest, CreateValidatesEveryField) {
    ProductDraft bad;
    bad.sku = "has spaces";
    bad.price_cents = -1;
    bad.category = "nope";
    bad.tags = std::vector<std::string>{""};
    bad.currency = "usd";
    bad.image_url = "javascript:alert(1)";
    Result<Product> r = service_->Create(bad, 1);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kValidation);
    std::set<std::string> fields;
    for (const auto& f : r.error().fields) fields.insert(f.field);
    EXPECT_EQ(fields, (std::set<std::string>{"sku", "name", "price_cents", "category", "tags", "currency", "stock",
                                             "image_url"}));
}

TEST_F(CatalogTest, CreateGetUpdateArchive) {
    Result<Product> created = service_->Create(ValidDraft("NEW-1"), 3);
    ASSERT_TRUE(created.ok());
    EXPECT_EQ(created->seller_id, 3);
    EXPECT_EQ(created->created_at, 1'790'000'000);

    Result<Product> dup = service_->Create(ValidDraft("NEW-1"), 3);
    ASSERT_FALSE(dup.ok());
    EXPECT_EQ(dup.error().code, "duplicate_sku");

    ProductDraft change;
    change.price_cents = 7999;
    Result<Product> updated = service_->Update(created->id, change, std::nullopt);
    ASSERT_TRUE(updated.ok());
    EXPECT_EQ(updated->price_cents, 7999);
    EXPECT_EQ(updated->name, created->name);  // untouched fields stay

    EXPECT_EQ(service_->Update(created->id, change, 99).error().kind, ErrorKind::kNotFound);  // not seller 99's
    EXPECT_EQ(service_->Archive(created->id, 99).error().kind, ErrorKind::kNotFound);
    EXPECT_TRUE(service_->Archive(created->id, 3).ok());
    EXPECT_EQ(service_->Get(created->id).error().kind, ErrorKind::kNotFound);
    EXPECT_EQ(service_->Archive(created->id, std::nullopt).error().kind, ErrorKind::kNotFound);
    EXPECT_EQ(service_->Update(created->id, change, std::nullopt).error().kind, ErrorKind::kNotFound);
}

TEST_F(CatalogTest, ChangesNotifyListeners) {
    std::vector<std::int64_t> changed;
    service_->OnProductChanged([&](std::int64_t id) { changed.push_back(id); });
    Result<Product> created = service_->Create(ValidDraft("N-2"), 1);
    ASSERT_TRUE(created.ok());
    ProductDraft change;
    change.stock = 1;
    ASSERT_TRUE(service_->Update(created->id, change, std::nullopt).ok());
    ASSERT_TRUE(service_->Archive(created->id, std::nullopt).ok());
    EXPECT_EQ(changed, (std::vector<std::int64_t>{created->id, created->id, created->id}));
    ASSERT_FALSE(service_->Create(ValidDraft("N-2"), 1).ok());  // a failed write tells nobody
    EXPECT_EQ(changed.size(), 3u);
}

TEST(ParseProductQuery, ReadsEveryParameter) {
    Result<ProductQuery> q = ParseProductQuery(Params{{"q", " zelda "},
                                                      {"category", "pc-games"},
                                                      {"min_price", "100"},
                                                      {"max_price", "5000"},
                                                      {"sort", "price_asc"},
                                                      {"page", "3"},
                                                      {"per_page", "500"},
                                                      {"unknown", "x"}});
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(q->q, "zelda");
    EXPECT_EQ(q->category, "pc-games");
    EXPECT_EQ(*q->min_price, 100);
    EXPECT_EQ(*q->max_price, 5000);
    EXPECT_EQ(q->sort, Sort::kPriceAsc);
    EXPECT_EQ(q->page, 3);
    EXPECT_EQ(q->per_page, 100);  // capped
}

TEST(ParseProductQuery, DefaultsToRelevanceOnlyWhenSearching) {
    EXPECT_EQ(ParseProductQuery(Params{})->sort, Sort::kPopular);
    EXPECT_EQ(ParseProductQuery(Params{{"q", "x"}})->sort, Sort::kRelevance);
    EXPECT_EQ(ParseProductQuery(Params{{"sort", "relevance"}})->sort, Sort::kPopular);
}

TEST(ParseProductQuery, ListsEveryBadParameter) {
    Result<ProductQuery> q = ParseProductQuery(Params{{"page", "0"},
                                                      {"per_page", "abc"},
                                                      {"min_price", "-5"},
                                                      {"sort", "cheapest"},
                                                      {"category", "Bad Slug"},
                                                      {"q", std::string("\xff\xfe")}});
    ASSERT_FALSE(q.ok());
    std::set<std::string> fields;
    for (const auto& f : q.error().fields) fields.insert(f.field);
    EXPECT_EQ(fields, (std::set<std::string>{"page", "per_page", "min_price", "sort", "category", "q"}));
}

TEST(ParseProductQuery, RejectsInvertedPriceRange) {
    Result<ProductQuery> q = ParseProductQuery(Params{{"min_price", "500"}, {"max_price", "100"}});
    ASSERT_FALSE(q.ok());
    EXPECT_EQ(q.error().fields[0].field, "max_price");
}

TEST(ProductQuery, EqualQueriesShareACacheKey) {
    auto a = ParseProductQuery(Params{{"q", "x"}, {"page", "1"}});
    auto b = ParseProductQuery(Params{{"page", "1"}, {"q", "x"}, {"ignored", "y"}});
    auto c = ParseProductQuery(Params{{"q", "x"}, {"page", "2"}});
    EXPECT_EQ(a->CacheKey(), b->CacheKey());
    EXPECT_NE(a->CacheKey(), c->CacheKey());
}

}  // namespace
}  // namespace emporium::catalog
