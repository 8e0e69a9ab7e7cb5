#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "catalog/seed.h"
#include "db/testing.h"
#include "events/outbox.h"

namespace emporium::catalog {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

std::vector<db::Migration> AllMigrations() {
    std::vector<db::Migration> all = Migrations(db::TestDialect());
    for (auto& m : events::Migrations(db::TestDialect())) all.push_back(m);
    return all;
}

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

    ManualClock clock_{std::chrono::system_clock::from_time_t(1'790'000'000)};
    db::TempDatabase database_{AllMigrations()};
    std::unique_ptr<CatalogService> service_;
};

TEST_F(CatalogTest, SeedGivesEveryCategoryProducts) {
    std::vector<Category> categories = service_->Categories();
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
    auto first = service_->List(ProductQuery{.sort = Sort::kPriceAsc, .per_page = 100});
    ASSERT_TRUE(SeedCatalog(*database_, *service_, {"games", 200, 7, {1, 2, 3}}, nullptr).ok());
    auto second = service_->List(ProductQuery{.sort = Sort::kPriceAsc, .per_page = 100});
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
    auto produce = service_->List(ProductQuery{.category = "fruit-vegetables", .per_page = 100});
    ASSERT_FALSE(produce.items.empty());
    for (const auto& p : produce.items) EXPECT_NE(p.attributes_json.find("\"unit\":\"kg\""), std::string::npos);
}

TEST_F(CatalogTest, FiltersAndSorts) {
    ProductQuery q{
        .category = "consoles", .min_price = 20000, .max_price = 50000, .sort = Sort::kPriceDesc, .per_page = 100};
    ProductPage page = service_->List(q);
    for (size_t i = 0; i < page.items.size(); ++i) {
        EXPECT_EQ(page.items[i].category, "consoles");
        EXPECT_GE(page.items[i].price_cents, 20000);
        EXPECT_LE(page.items[i].price_cents, 50000);
        if (i > 0) EXPECT_GE(page.items[i - 1].price_cents, page.items[i].price_cents);
    }
    EXPECT_EQ(page.total, static_cast<std::int64_t>(page.items.size()));
}

TEST_F(CatalogTest, PagingCoversEveryProductOnce) {
    std::set<std::int64_t> seen;
    for (std::int64_t p = 1; p <= 9; ++p) {
        auto page = service_->List(ProductQuery{.sort = Sort::kNewest, .page = p, .per_page = 25});
        EXPECT_EQ(page.total, 200);
        for (const auto& item : page.items) EXPECT_TRUE(seen.insert(item.id).second);
    }
    EXPECT_EQ(seen.size(), 200u);
}

TEST_F(CatalogTest, SearchMatchesPrefixesOfEveryWordAndRanksNamesFirst) {
    ASSERT_TRUE(service_->Create(ValidDraft("BOX-1"), 1).ok());
    auto page = service_->List(ProductQuery{.q = "starf tact collect", .sort = Sort::kRelevance});
    ASSERT_GE(page.total, 1);
    EXPECT_EQ(page.items[0].sku, "BOX-1");
    auto none = service_->List(ProductQuery{.q = "zzzqqq", .sort = Sort::kRelevance});
    EXPECT_EQ(none.total, 0);
}

TEST_F(CatalogTest, SearchIgnoresAccentsAndCase) {
    ProductDraft d = ValidDraft("ACCENT-1");
    d.name = "Pokémon Crystal Édition";
    ASSERT_TRUE(service_->Create(d, 1).ok());
    for (const char* q : {"pokemon edition", "POKÉM", "pokem cryst", "édit pokémon"}) {
        ProductPage page = service_->List(ProductQuery{.q = q, .sort = Sort::kRelevance});
        ASSERT_GE(page.total, 1) << q;
        EXPECT_EQ(page.items[0].sku, "ACCENT-1") << q;
    }
}

TEST_F(CatalogTest, SearchTreatsOperatorsAsText) {
    for (const char* q :
         {"\"", "AND OR NOT", "name:foo", "*", "(", "a\"b", "'; DROP TABLE products; --", "NEAR(x y)"}) {
        ProductPage page = service_->List(ProductQuery{.q = q, .sort = Sort::kRelevance});
        EXPECT_GE(page.total, 0) << q;
    }
    EXPECT_EQ(service_->List(ProductQuery{}).total, 200);
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
