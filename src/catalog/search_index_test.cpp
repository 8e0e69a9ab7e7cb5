#include "catalog/search_index.h"

#include <gtest/gtest.h>

#include <chrono>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "catalog/list_sql.h"
#include "catalog/seed.h"
#include "db/testing.h"
#include "events/outbox.h"

namespace emporium::catalog {
namespace {

// The copy exists on SQLite only, so these tests make a SQLite database whatever the run's backend.
std::vector<db::Migration> SqliteMigrations() {
    std::vector<db::Migration> all = Migrations(db::Dialect::kSqlite);
    for (auto& m : events::Migrations(db::Dialect::kSqlite)) all.push_back(m);
    return all;
}

class SearchIndexTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(SeedCatalog(*database_, service_, {"games", 1500, 11, {1, 2, 3}}, nullptr).ok());
        // Words the seed never writes: accents folded by the tokenizer, a word repeated in every
        // column (bm25's term frequencies and weights), and a product that is then archived.
        AddProduct("ACC-1", "Pokémon Crème Brûlée Édition", "Crème de la crème, naïve café.", {"crème", "café"}, 4999);
        AddProduct("REP-1", "Zorblax zorblax Zorblax", "zorblax zorblax; zorblaxian zorbs.", {"zorblax"}, 1999);
        AddProduct("REP-2", "Zorblax", "A quiet zorb.", {"misc"}, 2999);
        AddProduct("ARC-1", "Zorblax Archived", "Gone zorblax.", {"zorblax"}, 999);
        ASSERT_TRUE(service_.Archive(last_id_, std::nullopt).ok());
    }

    void AddProduct(const std::string& sku, const std::string& name, const std::string& description,
                    std::vector<std::string> tags, std::int64_t price) {
        ProductDraft d;
        d.sku = sku;
        d.name = name;
        d.description = description;
        d.category = "pc-games";
        d.tags = std::move(tags);
        d.price_cents = price;
        d.stock = 3;
        Result<Product> created = service_.Create(d, 2);
        ASSERT_TRUE(created.ok()) << created.error().message;
        last_id_ = created.value().id;
    }

    std::unique_ptr<const SearchIndex> Build() {
        return database_->Read([](db::Connection& c) { return SearchIndex::Build(c); });
    }
    std::int64_t Version() {
        return database_->Read([](db::Connection& c) { return ReadSearchVersion(c); });
    }

    // What List answers with its SQL (this service never keeps a copy).
    SearchHits FromSql(const ProductQuery& query) {
        Result<ProductPage> page = service_.List(query);
        EXPECT_TRUE(page.ok());
        SearchHits hits;
        if (!page.ok()) return hits;
        for (const Product& p : page.value().items) hits.ids.push_back(p.id);
        hits.total = page.value().total;
        hits.total_exact = page.value().total_exact;
        return hits;
    }

    ManualClock clock_{std::chrono::system_clock::from_time_t(1'790'000'000)};
    db::TempDatabase database_{SqliteMigrations(), db::TestBackend::kSqlite};
    CatalogService service_{*database_, clock_};
    std::int64_t last_id_ = 0;
};

std::string Describe(const ProductQuery& q) {
    return "q=" + q.q + " sort=" + std::to_string(static_cast<int>(q.sort)) + " category=" + q.category +
           " min=" + (q.min_price ? std::to_string(*q.min_price) : "-") +
           " max=" + (q.max_price ? std::to_string(*q.max_price) : "-") +
           " seller=" + (q.seller_id ? std::to_string(*q.seller_id) : "-") + " page=" + std::to_string(q.page) +
           " per_page=" + std::to_string(q.per_page);
}

// The heart of the promise: thousands of searches, built from the index's own words cut at every
// length, with every sort, filter and page, answered the same by the copy and by SQL, to the id
// and the total (bm25 ties would show as a different order).
TEST_F(SearchIndexTest, AnswersEverySearchExactlyAsItsSql) {
    std::unique_ptr<const SearchIndex> index = Build();
    ASSERT_TRUE(index);
    std::vector<std::string> terms;
    std::map<std::int64_t, std::vector<std::string>> words_of;  // each product's words
    std::vector<std::string> categories;
    database_->Read([&](db::Connection& c) {
        c.Query("SELECT DISTINCT term FROM products_fts_instance", {},
                [&](const db::Row& r) { terms.emplace_back(r.Text(0)); });
        c.Query("SELECT doc, term FROM products_fts_instance", {},
                [&](const db::Row& r) { words_of[r.Int(0)].emplace_back(r.Text(1)); });
        c.Query("SELECT slug FROM categories", {}, [&](const db::Row& r) { categories.emplace_back(r.Text(0)); });
    });
    ASSERT_GT(terms.size(), 100u);
    EXPECT_EQ(index->terms(), terms.size());
    EXPECT_EQ(index->products(), 1504u);

    std::mt19937 random(20261201);
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); };
    // Half the searches take their words from one product, so that most of them match something.
    const std::vector<std::string>* product_words = nullptr;
    auto word = [&] {
        const std::string& term =
            product_words ? (*product_words)[pick(product_words->size())] : terms[pick(terms.size())];
        switch (pick(4)) {
            case 0:
                return term;
            case 1:
                return term.substr(0, 1 + pick(std::min<std::size_t>(term.size(), 3)));  // a short prefix
            case 2:
                return term.substr(0, 1 + pick(term.size()));
            default: {
                std::string typed = term;  // as a shopper types it: capitals, a trailing "s"
                typed[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(typed[0])));
                return pick(2) ? typed : typed + "s";
            }
        }
    };
    constexpr Sort kSorts[] = {Sort::kRelevance, Sort::kPriceAsc, Sort::kPriceDesc, Sort::kNewest, Sort::kPopular};
    int answered = 0;
    int non_empty = 0;
    int past_the_cap = 0;
    for (int i = 0; i < 3000; ++i) {
        ProductQuery q;
        const std::size_t words = 1 + pick(3);
        product_words = nullptr;
        if (pick(2)) product_words = &std::next(words_of.begin(), static_cast<long>(pick(words_of.size())))->second;
        for (std::size_t w = 0; w < words; ++w) q.q += (w ? (pick(2) ? " " : ", ") : "") + word();
        q.sort = kSorts[pick(5)];
        if (pick(5) == 0) q.category = pick(10) ? categories[pick(categories.size())] : "no-such-category";
        if (pick(4) == 0) q.min_price = static_cast<std::int64_t>(pick(6000));
        if (pick(4) == 0) q.max_price = static_cast<std::int64_t>(pick(9000));
        if (pick(8) == 0) q.seller_id = static_cast<std::int64_t>(1 + pick(3));
        q.per_page = pick(3) ? 24 : static_cast<std::int64_t>(1 + pick(100));
        q.page = pick(3) ? 1 : static_cast<std::int64_t>(1 + pick(5));
        if (!BuildListSql(q)) continue;  // no word at all: List answers without searching
        std::optional<SearchHits> copy = index->Search(q);
        ASSERT_TRUE(copy) << Describe(q);
        SearchHits sql = FromSql(q);
        ASSERT_EQ(copy->ids, sql.ids) << Describe(q);
        ASSERT_EQ(copy->total, sql.total) << Describe(q);
        ASSERT_EQ(copy->total_exact, sql.total_exact) << Describe(q);
        // Every match's score, to the last bit, not only the order they give.
        std::vector<std::pair<std::int64_t, double>> scores;
        database_->Read([&](db::Connection& c) {
            c.Query(
                "SELECT rowid, bm25(products_fts, 10.0, 1.0, 4.0) FROM products_fts WHERE products_fts MATCH ?"
                " ORDER BY rowid",
                {FtsQuery(q.q)}, [&](const db::Row& r) { scores.emplace_back(r.Int(0), r.Real(1)); });
        });
        ASSERT_EQ(index->Scores(q.q), scores) << Describe(q);
        ++answered;
        if (!sql.ids.empty()) ++non_empty;
        if (!sql.total_exact) ++past_the_cap;
    }
    // The comparison covered real answers, not only empty ones, and the count's cap.
    EXPECT_GT(answered, 2900);
    EXPECT_GT(non_empty, 800);
    EXPECT_GT(past_the_cap, 10);
}

// Lists (no search text) come from the copy too: every filter, order and page as the SQL gives
// them, with the exact count a list reports (no cap), ties in price and popularity broken by id.
TEST_F(SearchIndexTest, AnswersEveryListExactlyAsItsSql) {
    std::unique_ptr<const SearchIndex> index = Build();
    ASSERT_TRUE(index);
    std::vector<std::string> categories;
    database_->Read([&](db::Connection& c) {
        c.Query("SELECT slug FROM categories", {}, [&](const db::Row& r) { categories.emplace_back(r.Text(0)); });
    });
    std::mt19937 random(20261202);
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); };
    constexpr Sort kSorts[] = {Sort::kRelevance, Sort::kPriceAsc, Sort::kPriceDesc, Sort::kNewest, Sort::kPopular};
    int non_empty = 0;
    int past_the_cap = 0;
    for (int i = 0; i < 1000; ++i) {
        ProductQuery q;
        q.sort = kSorts[pick(5)];
        if (pick(3) == 0) q.category = pick(10) ? categories[pick(categories.size())] : "no-such-category";
        if (pick(3) == 0) q.min_price = static_cast<std::int64_t>(pick(6000));
        if (pick(3) == 0) q.max_price = static_cast<std::int64_t>(pick(9000));
        if (pick(8) == 0) q.seller_id = static_cast<std::int64_t>(1 + pick(3));
        q.per_page = pick(3) ? 24 : static_cast<std::int64_t>(1 + pick(100));
        q.page = pick(3) ? 1 : static_cast<std::int64_t>(1 + pick(80));
        std::optional<SearchHits> copy = index->Search(q);
        ASSERT_TRUE(copy) << Describe(q);
        SearchHits sql = FromSql(q);
        ASSERT_EQ(copy->ids, sql.ids) << Describe(q);
        ASSERT_EQ(copy->total, sql.total) << Describe(q);
        ASSERT_TRUE(copy->total_exact) << Describe(q);
        ASSERT_EQ(copy->total_exact, sql.total_exact) << Describe(q);
        if (!sql.ids.empty()) ++non_empty;
        if (sql.total > kSearchCountLimit) ++past_the_cap;
    }
    EXPECT_GT(non_empty, 500);
    EXPECT_GT(past_the_cap, 10);
    // A list walks every product: a caller's bound on the walk applies to it.
    EXPECT_FALSE(index->Search(ProductQuery{}, index->products() - 1));
    EXPECT_TRUE(index->Search(ProductQuery{}, index->products()));
}

TEST_F(SearchIndexTest, RanksByTheIndexsOwnFoldedWordsAndWeights) {
    std::unique_ptr<const SearchIndex> index = Build();
    ASSERT_TRUE(index);
    for (const char* text : {"zorblax", "zorb", "creme", "cafe brul", "edition pokemon", "zorblax misc"}) {
        ProductQuery q{.q = text, .sort = Sort::kRelevance};
        std::optional<SearchHits> copy = index->Search(q);
        ASSERT_TRUE(copy) << text;
        SearchHits sql = FromSql(q);
        EXPECT_EQ(copy->ids, sql.ids) << text;
        EXPECT_EQ(copy->total, sql.total) << text;
        EXPECT_FALSE(sql.ids.empty()) << text;
    }
    // The product that says zorblax seven times ranks above the one that says it once; the
    // archived one is not there.
    std::optional<SearchHits> zorblax = index->Search(ProductQuery{.q = "zorblax", .sort = Sort::kRelevance});
    ASSERT_TRUE(zorblax);
    ASSERT_EQ(zorblax->ids.size(), 2u);
    EXPECT_EQ(zorblax->ids[1], last_id_ - 1);
    // Its cost: four postings (zorblax in three products, zorblaxian in one); a caller that may
    // spend only three is told no.
    EXPECT_FALSE(index->Search(ProductQuery{.q = "zorblax"}, 3));
    EXPECT_TRUE(index->Search(ProductQuery{.q = "zorblax"}, 4));
}

TEST_F(SearchIndexTest, LeavesWordsBeyondAsciiToSql) {
    std::unique_ptr<const SearchIndex> index = Build();
    ASSERT_TRUE(index);
    EXPECT_FALSE(index->Search(ProductQuery{.q = "crème"}));
    EXPECT_FALSE(index->Search(ProductQuery{.q = "zorblax Pokémon"}));
    EXPECT_TRUE(index->Search(ProductQuery{.q = "creme"}));
}

TEST_F(SearchIndexTest, VersionChangesWithWhatSearchesSeeAndNotWithStock) {
    const std::int64_t before = Version();
    database_->Write([&](db::Connection& c) { ASSERT_TRUE(TakeStock(c, last_id_ - 1, 1)); });
    EXPECT_EQ(Version(), before) << "stock taken by an order";

    ProductDraft price;
    price.price_cents = 1234;
    ASSERT_TRUE(service_.Update(last_id_ - 1, price, std::nullopt).ok());
    const std::int64_t repriced = Version();
    EXPECT_NE(repriced, before);

    ASSERT_TRUE(service_.Archive(last_id_ - 1, std::nullopt).ok());
    EXPECT_NE(Version(), repriced);
}

// The keeper builds at once, hands the copy out only at its version, and builds again once a
// search finds the catalog changed.
TEST_F(SearchIndexTest, KeeperRebuildsWhenTheCatalogChanges) {
    SearchIndexKeeper keeper(*database_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    auto wait_for_copy = [&](std::int64_t version) {
        std::shared_ptr<const SearchIndex> copy;
        while (!(copy = keeper.At(version, keeper.notices())) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a poll, with the deadline above
        }
        return copy;
    };
    const std::int64_t first = Version();
    std::shared_ptr<const SearchIndex> copy = wait_for_copy(first);
    ASSERT_TRUE(copy);
    EXPECT_EQ(copy->version(), first);
    const std::int64_t builds = keeper.builds();

    AddProduct("NEW-1", "Quaxorian Lantern", "A lantern.", {"light"}, 1500);
    const std::int64_t second = Version();
    ASSERT_NE(second, first);
    std::shared_ptr<const SearchIndex> next = wait_for_copy(second);
    ASSERT_TRUE(next);
    EXPECT_GT(keeper.builds(), builds);
    std::optional<SearchHits> found = next->Search(ProductQuery{.q = "quaxor"});
    ASSERT_TRUE(found);
    EXPECT_EQ(found->ids, std::vector<std::int64_t>{last_id_});
    // The old copy is still whole for a search that holds it, and does not know the new product.
    std::optional<SearchHits> old = copy->Search(ProductQuery{.q = "quaxor"});
    ASSERT_TRUE(old);
    EXPECT_TRUE(old->ids.empty());
}

// With the copy kept, List answers as before, and a product added is found by the very next
// search (from SQL until the copy catches up, then from the copy).
TEST_F(SearchIndexTest, ListWithTheCopyFindsChangesAtOnce) {
    CatalogService kept(*database_, clock_);
    kept.KeepSearchIndex();
    for (const char* text : {"zorblax", "shadow leg", "creme"}) {
        ProductQuery q{.q = text, .sort = Sort::kRelevance};
        Result<ProductPage> page = kept.List(q);
        ASSERT_TRUE(page.ok());
        SearchHits sql = FromSql(q);
        std::vector<std::int64_t> ids;
        for (const Product& p : page.value().items) ids.push_back(p.id);
        EXPECT_EQ(ids, sql.ids) << text;
        EXPECT_EQ(page.value().total, sql.total) << text;
    }
    AddProduct("NEW-2", "Wibblequark Cloak", "A cloak.", {"wear"}, 2500);
    Result<ProductPage> page = kept.List(ProductQuery{.q = "wibblequark"});
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page.value().items.size(), 1u);
    EXPECT_EQ(page.value().items[0].id, last_id_);
    EXPECT_EQ(page.value().items[0].stock, 3);
}

// A page from memory alone: only once a search on a worker has confirmed the copy and read the
// page's products, and never after a change notice until that happens again.
TEST_F(SearchIndexTest, ListFromMemoryOnlyWhatASearchConfirmedSinceTheLastChange) {
    CatalogService kept(*database_, clock_);
    kept.KeepSearchIndex();
    const ProductQuery query{.q = "zorblax", .sort = Sort::kRelevance};
    EXPECT_FALSE(kept.ListFromMemory(query)) << "nothing confirmed yet";
    // Lists until the copy is built and a search has confirmed it (polled, with a deadline).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::optional<ProductPage> memory;
    while (!(memory = kept.ListFromMemory(query)) && std::chrono::steady_clock::now() < deadline) {
        ASSERT_TRUE(kept.List(query).ok());
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a poll
    }
    ASSERT_TRUE(memory);
    const ProductPage listed = kept.List(query).value();
    ASSERT_EQ(memory->items.size(), listed.items.size());
    ASSERT_EQ(memory->items.size(), 2u);
    for (std::size_t i = 0; i < listed.items.size(); ++i) {
        EXPECT_EQ(memory->items[i].id, listed.items[i].id);
        EXPECT_EQ(memory->items[i].stock, listed.items[i].stock);
        EXPECT_EQ(memory->items[i].name, listed.items[i].name);
    }
    EXPECT_EQ(memory->total, listed.total);
    // A product the copy has never shown: not from memory.
    EXPECT_FALSE(kept.ListFromMemory(ProductQuery{.q = "creme"}));
    // A change notice (stock taken by an order, here) stops the fast path until a search confirms.
    kept.NotifyChanged(last_id_ - 1);
    EXPECT_FALSE(kept.ListFromMemory(query));
    // Taken before the search that confirms: the confirmation (and each product's read) is no
    // earlier, so memory answers until at least this plus kMemoryFreshness. A time taken after the
    // search would be later than the confirmation, and the check below could miss by the search's
    // own duration (it did once under ASan: 999.96 ms).
    const auto confirmed = std::chrono::steady_clock::now();
    ASSERT_TRUE(kept.List(query).ok());
    std::optional<ProductPage> again = kept.ListFromMemory(query);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->items.size(), 2u);
    // Without another search on a worker, memory stops answering after kMemoryFreshness (a change
    // another process made would tell no notice): polled until it does, with a deadline.
    const auto expiry_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (kept.ListFromMemory(query) && std::chrono::steady_clock::now() < expiry_deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a poll
    }
    EXPECT_FALSE(kept.ListFromMemory(query));
    EXPECT_GE(std::chrono::steady_clock::now() - confirmed, CatalogService::kMemoryFreshness);
}

}  // namespace
}  // namespace emporium::catalog
