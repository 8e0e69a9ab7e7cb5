#include "recommend/recommend.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "db/testing.h"
#include "events/outbox.h"
#include "orders/orders.h"
#include "recommend/model.h"

namespace emporium::recommend {
namespace {

// A tiny fixed catalog whose neighbours are known by construction:
// - 1 and 2 are PlayStation racing games at nearly the same price: each other's nearest by content;
//   4 is the same genre on another console, 3 another genre on the same console.
// - 5 (a PlayStation wheel) is bought with 1 in most baskets: 1's first co-purchase neighbour.
// - 6 and 7 are one hoodie in two sizes (variants); 8 is out of stock; 10 is archived.
// - 9 (a mug) goes with 3.
struct Fixture {
    static std::vector<Item> Items() {
        auto game = [](std::int64_t id, std::string name, std::string category, std::string platform, std::string genre,
                       std::int64_t price, std::int64_t stock = 50) {
            return Item{
                id,    std::move(name), category, {Lower(genre), category}, {{"platform", platform}, {"genre", genre}},
                price, stock,           false};
        };
        std::vector<Item> items = {
            game(1, "Alpha Racer (PS5)", "playstation-5", "PlayStation 5", "Racing", 5999),
            game(2, "Beta Racer (PS5)", "playstation-5", "PlayStation 5", "Racing", 5499),
            game(3, "Gamma Quest (PS5)", "playstation-5", "PlayStation 5", "RPG", 6999),
            game(4, "Delta Racer (Switch)", "nintendo-switch", "Nintendo Switch", "Racing", 4999),
            Item{5,
                 "Apex Racing Wheel for PlayStation 5",
                 "controllers",
                 {"accessory", "gear"},
                 {{"platform", "PlayStation 5"}, {"brand", "Apex"}},
                 19999,
                 20,
                 false},
            Item{6,
                 "Quest Hoodie \xe2\x80\x93 Size M",
                 "merchandise",
                 {"merch", "apparel"},
                 {{"size", "M"}},
                 4999,
                 9,
                 false},
            Item{7,
                 "Quest Hoodie \xe2\x80\x93 Size L",
                 "merchandise",
                 {"merch", "apparel"},
                 {{"size", "L"}},
                 4999,
                 9,
                 false},
            game(8, "Sold Out Racer (PS5)", "playstation-5", "PlayStation 5", "Racing", 2999, 0),
            Item{9, "Quest Mug", "merchandise", {"merch"}, {{"licensed", "true"}}, 1299, 30, false},
            Item{10,
                 "Old Racer (PS5)",
                 "playstation-5",
                 {"racing", "playstation-5"},
                 {{"platform", "PlayStation 5"}, {"genre", "Racing"}},
                 5999,
                 5,
                 true},
        };
        return items;
    }

    // Customers c1..c8 buy 1 with 5 (c1..c6 also 2 later); c7, c8 buy 3 with 9 and then 6.
    static std::vector<Purchase> Purchases() {
        std::vector<Purchase> out;
        std::int64_t order = 0, time = 1767225600;
        auto basket = [&](const std::string& who, const std::vector<std::int64_t>& products) {
            ++order;
            time += 3600;
            for (std::int64_t p : products) out.push_back({order, who, p, 1, time});
        };
        for (int c = 1; c <= 6; ++c) basket("c" + std::to_string(c), {1, 5});
        for (int c = 7; c <= 8; ++c) basket("c" + std::to_string(c), {3, 9});
        for (int c = 1; c <= 6; ++c) basket("c" + std::to_string(c), {2, 5});
        for (int c = 7; c <= 8; ++c) basket("c" + std::to_string(c), {6, 9});
        return out;
    }

    static std::string Lower(std::string s) {
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    }
};

TrainingData FixtureData() {
    return {Fixture::Items(), Fixture::Purchases()};
}

ManualClock& TestClock() {
    static ManualClock clock{std::chrono::system_clock::from_time_t(1'800'000'000)};
    return clock;
}

std::shared_ptr<const Model> TrainFixture(Manifest* manifest = nullptr) {
    Result<Trained> trained = Train(FixtureData(), TrainOptions{}, TestClock());
    EXPECT_TRUE(trained.ok());
    if (manifest) *manifest = trained->manifest;
    return trained->model;
}

std::uint32_t Row(const Model& m, std::int64_t id) {
    return m.row.at(id);
}

TEST(RecommendFeatures, VectorsAreUnitLengthAndKnownNeighboursAreNearest) {
    auto model = TrainFixture();
    for (std::uint32_t i = 0; i < model->size(); ++i) {
        std::vector<float> v = model->VectorOf(i);
        float norm = 0;
        for (float x : v) norm += x * x;
        EXPECT_NEAR(norm, 1.0F, 1e-4F);
    }
    std::vector<Neighbour> near = model->Nearest(model->VectorOf(Row(*model, 1)), 3);
    ASSERT_EQ(near.size(), 3U);
    EXPECT_EQ(model->ids[near[0].item], 1);  // itself
    EXPECT_EQ(model->ids[near[1].item], 2);  // the same console and genre, nearly the same price
    EXPECT_GT(near[1].score, near[2].score);
    // Archived products are not in the model.
    EXPECT_FALSE(model->row.contains(10));
    EXPECT_EQ(model->size(), 9U);
}

TEST(RecommendFeatures, NumbersAreBucketedAndTextIsCompared) {
    Item item{1, "x", "cat", {"Tag"}, {{"height_cm", "24"}, {"color", "Red"}}, 1000, 1, false};
    std::vector<std::pair<std::string, float>> names = FeatureNames(item);
    std::set<std::string> got;
    for (const auto& [name, weight] : names) got.insert(name);
    EXPECT_EQ(got, (std::set<std::string>{"c:cat", "t:tag", "a:height_cm~4", "a:color=red"}));
}

// An item's vector keeps its kMaxItemFeatures heaviest vocabulary features: the index stores no
// more per item.
TEST(RecommendFeatures, AnItemKeepsItsHeaviestFeaturesUpToTheLimit) {
    Item busy{1, "Busy", "consoles", {}, {}, 1000, 1, false};
    for (int i = 0; i < 40; ++i) busy.tags.push_back("tag" + std::to_string(i));                        // 0.7 each
    for (int i = 0; i < 5; ++i) busy.attributes.emplace_back("key" + std::to_string(i), "text value");  // 0.6 each
    const Features features = Features::Learn({busy});
    ASSERT_EQ(features.vocabulary.size(), 46U);
    const std::vector<float> v = features.Vector(busy);
    std::size_t kept = 0;
    float heaviest = 0, lightest = 1;
    for (std::size_t d = 0; d < features.vocabulary.size(); ++d) {
        if (v[d] == 0) continue;
        ++kept;
        heaviest = std::max(heaviest, v[d]);
        lightest = std::min(lightest, v[d]);
    }
    EXPECT_EQ(kept, static_cast<std::size_t>(kMaxItemFeatures));
    EXPECT_NEAR(heaviest / lightest, 1.0F / 0.7F, 1e-4F);  // the category and tags; no attribute
    EXPECT_NE(v[features.index.at("c:consoles")], 0.0F);
}

// The index stores items as features, but searches any dense vector (a shopper's profile mixes
// many items' features): its scores are the exact inner products, and an item's stored vector
// reads back as it went in.
TEST(RecommendFeatures, SearchesScoreDenseQueriesExactly) {
    auto model = TrainFixture();
    const auto dims = static_cast<std::size_t>(model->features.dims());
    std::vector<float> profile(dims, 0.0F);
    for (std::uint32_t i = 0; i < model->size(); ++i) {
        const std::vector<float> v = model->VectorOf(i);
        for (const Item& item : Fixture::Items()) {
            if (item.product_id == model->ids[i]) EXPECT_EQ(v, model->features.Vector(item)) << item.product_id;
        }
        for (std::size_t d = 0; d < dims; ++d) profile[d] += static_cast<float>(i + 1) * v[d];
    }
    std::size_t features = 0;
    for (std::size_t d = 0; d < model->features.vocabulary.size(); ++d) features += profile[d] != 0 ? 1 : 0;
    EXPECT_GT(features, 8U);  // more than any one fixture item has
    const std::vector<Neighbour> near = model->Nearest(profile, model->size());
    ASSERT_EQ(near.size(), model->size());
    for (const Neighbour& n : near) {
        const std::vector<float> v = model->VectorOf(n.item);
        float dot = 0;
        for (std::size_t d = 0; d < dims; ++d) dot += profile[d] * v[d];
        EXPECT_NEAR(n.score, dot, 1e-3F * std::max(1.0F, dot)) << model->ids[n.item];
    }
    for (std::size_t i = 1; i < near.size(); ++i) EXPECT_GE(near[i - 1].score, near[i].score);
}

// One training thread and zeroed padding: the same data gives the same index file, byte for byte.
TEST(RecommendFeatures, TheSameDataGivesTheSameIndexFile) {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("emporium-recs-same-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto read = [](const std::filesystem::path& path) {
        std::ifstream in(path, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    TrainFixture()->SaveIndex((dir / "a.hnsw").string());
    TrainFixture()->SaveIndex((dir / "b.hnsw").string());
    const std::string a = read(dir / "a.hnsw");
    EXPECT_GT(a.size(), 9U * 156U);
    EXPECT_TRUE(a == read(dir / "b.hnsw"));
    std::filesystem::remove_all(dir);
}

TEST(RecommendCoPurchase, ShrinkageRanksFrequentPairsFirst) {
    auto model = TrainFixture();
    std::span<const Neighbour> with_1 = model->CoPurchased(Row(*model, 1));
    ASSERT_FALSE(with_1.empty());
    EXPECT_EQ(model->ids[with_1[0].item], 5);
    // 5 was bought with 1 six times and with 2 six times: both, before anything else.
    std::span<const Neighbour> with_5 = model->CoPurchased(Row(*model, 5));
    ASSERT_EQ(with_5.size(), 2U);
    std::set<std::int64_t> partners{model->ids[with_5[0].item], model->ids[with_5[1].item]};
    EXPECT_EQ(partners, (std::set<std::int64_t>{1, 2}));
    // Cosine alone gives 1 to a pair seen once; shrinkage puts it below a pair seen six times.
    Model tiny;
    tiny.ids = {1, 2, 3, 4};
    tiny.Reindex();
    BuildCoPurchase(tiny, {{0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}, {0, 1}, {2, 3}}, 100, 5);
    EXPECT_GT(tiny.CoPurchased(0)[0].score, tiny.CoPurchased(2)[0].score);
    EXPECT_EQ(tiny.CoPurchased(2)[0].item, 3U);
}

TEST(RecommendTrain, ManifestCarriesTheEvaluationAndTheIndexRecall) {
    Manifest m;
    auto model = TrainFixture(&m);
    EXPECT_EQ(m.items, 9);
    EXPECT_EQ(m.customers, 8);
    EXPECT_EQ(m.orders, 16);
    EXPECT_GE(m.ann_recall_at_10, 0.95);
    EXPECT_EQ(m.evaluation.validation_customers + m.evaluation.test_customers, 8);
    // Held out: c1..c6 bought 2 (new to them) and 5 (a repeat); c7, c8 bought 6 (new) and 9 (a repeat).
    // Buy-again finds every repeat and nothing new.
    EXPECT_DOUBLE_EQ(m.evaluation.buy_again.repeat.recall_at_10, 1.0);
    EXPECT_DOUBLE_EQ(m.evaluation.buy_again.fresh.recall_at_10, 0.0);
    // The blend finds the new items through content (2 is like 1; 6 is merchandise like 9).
    EXPECT_GT(m.evaluation.blend.fresh.recall_at_10, 0.0);
    EXPECT_GE(m.evaluation.blend.all.recall_at_10, m.evaluation.popularity.all.recall_at_10);
    const std::string json = ManifestJson(m);
    for (const char* field :
         {"\"evaluation\"", "\"blend\"", "\"popularity\"", "\"recall_at_10\"", "\"ndcg_at_10\"", "\"ann_recall_at_10\"",
          "\"ef_construction\"", "\"M\"", "\"memory_bytes\"", "\"checksum\"", "\"data_window\""}) {
        EXPECT_NE(json.find(field), std::string::npos) << field;
    }
}

TEST(RecommendTrain, NoItemsIsAValidationError) {
    Result<Trained> trained = Train({}, TrainOptions{}, TestClock());
    ASSERT_FALSE(trained.ok());
    EXPECT_EQ(trained.error().kind, ErrorKind::kValidation);
}

TEST(RecommendCandidates, RepeatsTakeAtMostTheirShareOfPlaces) {
    std::vector<Candidate> candidates;
    for (std::uint32_t i = 0; i < 10; ++i) {
        Candidate c{i};
        c.buy_again = 1.0F - static_cast<float>(i) / 20;  // bought before, scored highest
        c.bought = true;
        candidates.push_back(c);
    }
    for (std::uint32_t i = 10; i < 20; ++i) candidates.push_back({i, 0, 0.5F});
    BlendWeights w{1, 1, 0, 0, 3};
    std::vector<std::uint32_t> top = Rank(candidates, w, 10);
    ASSERT_EQ(top.size(), 10U);
    EXPECT_EQ(std::count_if(top.begin(), top.end(), [](std::uint32_t i) { return i < 10; }), 3);
    EXPECT_EQ(top[0], 0U);
    // Past the first ten the deferred repeats follow, so that over-fetching still finds them.
    EXPECT_EQ(Rank(candidates, w, 20).size(), 20U);
    w.max_repeat = 10;
    top = Rank(candidates, w, 10);
    EXPECT_EQ(std::count_if(top.begin(), top.end(), [](std::uint32_t i) { return i < 10; }), 10);
}

TEST(RecommendCandidates, ShopperScoresComeFromHistoryAndContext) {
    auto model = TrainFixture();
    std::vector<Candidate> candidates = ShopperCandidates(*model, {Row(*model, 1)}, {});
    std::vector<std::uint32_t> top = Rank(candidates, {0, 1, 0, 0}, 1);
    ASSERT_EQ(top.size(), 1U);
    EXPECT_EQ(model->ids[top[0]], 5);  // co-purchase only: the wheel
    top = Rank(candidates, {1, 0, 0, 0}, 1);
    EXPECT_EQ(model->ids[top[0]], 1);  // buy-again only: what they bought
}

TEST(RecommendData, CsvRoundTripKeepsEverythingAndNamesNoPerson) {
    db::TempDatabase scratch;
    const std::string dir = (scratch.dir() / "export").string();
    TrainingData data = FixtureData();
    data.items[0].name = "Comma, \"Quote\"\nAnd Line";
    WriteCsv(data, dir);
    Result<TrainingData> back = ReadCsv(dir);
    ASSERT_TRUE(back.ok()) << (back.ok() ? "" : back.error().fields[0].message);
    ASSERT_EQ(back->items.size(), data.items.size());
    EXPECT_EQ(back->items[0].name, data.items[0].name);
    EXPECT_EQ(back->items[4].attributes, data.items[4].attributes);
    EXPECT_EQ(back->items[9].archived, true);
    ASSERT_EQ(back->purchases.size(), data.purchases.size());
    EXPECT_EQ(back->purchases[3].customer, data.purchases[3].customer);
    EXPECT_EQ(back->purchases[3].time, data.purchases[3].time);

    std::ofstream(std::filesystem::path(dir) / "baskets.csv", std::ios::app) << "17,c1,x,1,2026-01-01T00:00:00Z\r\n";
    Result<TrainingData> bad = ReadCsv(dir);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().fields[0].field, "baskets.csv");
    EXPECT_NE(bad.error().fields[0].message.find("line " + std::to_string(data.purchases.size() + 2)),
              std::string::npos);
}

TEST(RecommendData, VariantKeysGroupSizesAndColours) {
    EXPECT_EQ(VariantKey("Quest Hoodie \xe2\x80\x93 Size M", "merchandise"),
              VariantKey("Quest Hoodie \xe2\x80\x93 Size L", "merchandise"));
    EXPECT_EQ(VariantKey("Pad - Red", "controllers"), VariantKey("PAD - Blue", "controllers"));
    EXPECT_NE(VariantKey("Quest Hoodie", "merchandise"), VariantKey("Quest Mug", "merchandise"));
}

// ------------------------------------------------------------------ versions and serving

class RecommendStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::vector<db::Migration> all = catalog::Migrations(db::TestDialect());
        for (auto& m : events::Migrations(db::TestDialect())) all.push_back(m);
        for (auto& m : orders::Migrations(db::TestDialect())) all.push_back(m);
        for (auto& m : Migrations(db::TestDialect())) all.push_back(m);
        db_ = std::make_unique<db::TempDatabase>(all);
        // The fixture's catalog in the shop's tables, so that serving reads stock and archive state.
        (*db_)->Write([](db::Connection& c) {
            std::map<std::string, std::int64_t> categories;
            for (const Item& item : Fixture::Items()) {
                auto [it, added] = categories.try_emplace(item.category_path, 0);
                if (added) {
                    it->second = c.QueryInt("INSERT INTO categories (slug, name) VALUES (?, ?) RETURNING id",
                                            {item.category_path, item.category_path});
                }
                c.Execute(
                    "INSERT INTO products (id, sku, name, category_id, price_cents, stock, seller_id, archived,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, 0, 0)",
                    {item.product_id, "SKU-" + std::to_string(item.product_id), item.name, it->second, item.price_cents,
                     item.stock, std::int64_t{item.archived ? 1 : 0}});
            }
        });
        store_ = std::make_unique<ModelStore>(**db_, (db_->dir() / "recs").string(), TestClock());
        recommender_ = std::make_unique<Recommender>(**db_, *store_, MakeLogger("error"));
    }

    // Fixed weights, so that the order of answers is known.
    std::int64_t SaveVersion() {
        TrainOptions options;
        options.weights = BlendWeights{1, 1, 0.5, 0.1};
        Result<Trained> trained = Train(FixtureData(), options, TestClock());
        EXPECT_TRUE(trained.ok());
        Result<Manifest> saved = store_->Save(*trained->model, trained->manifest);
        EXPECT_TRUE(saved.ok());
        return saved->version;
    }

    static std::vector<std::int64_t> Ids(const std::vector<catalog::Product>& items) {
        std::vector<std::int64_t> out;
        out.reserve(items.size());
        for (const auto& p : items) out.push_back(p.id);
        return out;
    }

    std::unique_ptr<db::TempDatabase> db_;
    std::unique_ptr<ModelStore> store_;
    std::unique_ptr<Recommender> recommender_;
};

TEST_F(RecommendStoreTest, SavedVersionLoadsValidatedAndGoesLive) {
    EXPECT_EQ(recommender_->Refresh(), 0);  // nothing trained yet
    const std::int64_t v1 = SaveVersion();
    EXPECT_EQ(recommender_->Refresh(), v1);
    std::vector<VersionInfo> versions = store_->Versions();
    ASSERT_EQ(versions.size(), 1U);
    EXPECT_EQ(versions[0].state, VersionState::kLive);
    ASSERT_TRUE(versions[0].manifest.has_value());
    EXPECT_EQ(versions[0].manifest->items, 9);
    EXPECT_TRUE(versions[0].manifest->checksum.starts_with("sha256:"));
    EXPECT_TRUE(std::filesystem::exists(db_->dir() / "recs" / ("v" + std::to_string(v1)) / "manifest.json"));
}

TEST_F(RecommendStoreTest, TamperedFilesAreRejectedAndTheLiveVersionStays) {
    const std::int64_t v1 = SaveVersion();
    ASSERT_EQ(recommender_->Refresh(), v1);
    const std::int64_t v2 = SaveVersion();
    std::fstream(db_->dir() / "recs" / ("v" + std::to_string(v2)) / "model.bin",
                 std::ios::in | std::ios::out | std::ios::binary)
        .put('X');
    EXPECT_EQ(recommender_->Refresh(), v1);
    std::vector<VersionInfo> versions = store_->Versions();
    EXPECT_EQ(versions[0].state, VersionState::kRejected);
    EXPECT_NE(versions[0].note.find("checksum"), std::string::npos);
    EXPECT_EQ(versions[1].state, VersionState::kLive);
    // A server starting now skips the damaged version and serves the good one before it.
    Recommender fresh(**db_, *store_, MakeLogger("error"));
    EXPECT_EQ(fresh.Refresh(), v1);
}

TEST_F(RecommendStoreTest, OldVersionsFilesArePrunedAndNeverServedAgain) {
    Result<Trained> trained = Train(FixtureData(), TrainOptions{}, TestClock());
    ASSERT_TRUE(trained.ok());
    std::vector<std::int64_t> versions;
    versions.reserve(3);
    for (int i = 0; i < 3; ++i) versions.push_back(store_->Save(*trained->model, trained->manifest, 2)->version);
    EXPECT_FALSE(std::filesystem::exists(db_->dir() / "recs" / ("v" + std::to_string(versions[0]))));
    EXPECT_TRUE(std::filesystem::exists(db_->dir() / "recs" / ("v" + std::to_string(versions[1]))));
    EXPECT_EQ(store_->Versions().back().state, VersionState::kPruned);
    ASSERT_EQ(recommender_->Refresh(), versions[2]);
    ASSERT_TRUE(store_->Rollback().ok());
    EXPECT_EQ(recommender_->Refresh(), versions[1]);
    EXPECT_FALSE(store_->Rollback().ok()) << "the pruned version cannot be gone back to";
}

TEST_F(RecommendStoreTest, RollbackGoesBackOneGoodVersionAndNoFurther) {
    const std::int64_t v1 = SaveVersion();
    const std::int64_t v2 = SaveVersion();
    ASSERT_EQ(recommender_->Refresh(), v2);
    Result<std::int64_t> back = store_->Rollback();
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back.value(), v1);
    EXPECT_EQ(recommender_->Refresh(), v1);
    EXPECT_EQ(store_->Versions()[0].state, VersionState::kRolledBack);
    Result<std::int64_t> again = store_->Rollback();
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, "no_previous_version");
    EXPECT_EQ(recommender_->Refresh(), v1);
}

TEST_F(RecommendStoreTest, AnswersFollowTheFilteringRules) {
    SaveVersion();
    ASSERT_GT(recommender_->Refresh(), 0);
    for (std::int64_t product = 1; product <= 9; ++product) {
        Result<Recommendations> r = recommender_->ForProduct(product, 10);
        ASSERT_TRUE(r.ok());
        std::vector<std::int64_t> ids = Ids(r->items);
        std::set<std::int64_t> unique(ids.begin(), ids.end());
        EXPECT_EQ(unique.size(), ids.size());
        EXPECT_FALSE(unique.contains(product)) << product;
        EXPECT_FALSE(unique.contains(8)) << "out of stock";
        EXPECT_FALSE(unique.contains(10)) << "archived";
        EXPECT_FALSE(unique.contains(6) && unique.contains(7)) << "two variants of one hoodie";
        if (product == 6) EXPECT_FALSE(unique.contains(7)) << "a variant of the product itself";
        // Nine products, minus itself, the one out of stock and one hoodie: six remain to fill up to 10
        // (seven for the product that is itself out of stock).
        EXPECT_EQ(ids.size(), product == 8 ? 7U : 6U) << product;
    }
    Result<Recommendations> for_1 = recommender_->ForProduct(1, 2);
    ASSERT_TRUE(for_1.ok());
    EXPECT_EQ(Ids(for_1->items), (std::vector<std::int64_t>{5, 2}));  // bought with it, then like it

    Recommendations mine = recommender_->ForShopper({{1}, {5}}, 3);
    std::vector<std::int64_t> ids = Ids(mine.items);
    EXPECT_EQ(ids.size(), 3U);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 5), 0) << "in the cart";
    EXPECT_EQ(ids[0], 1) << "bought before and with the wheel in the cart";
    EXPECT_EQ(ids[1], 2) << "bought with the wheel in the cart, and like the racer bought before";

    EXPECT_FALSE(recommender_->ForProduct(10, 5).ok());  // archived: 404
    EXPECT_FALSE(recommender_->ForProduct(999, 5).ok());
}

TEST_F(RecommendStoreTest, WithoutAModelPopularProductsFillTheAnswer) {
    Result<Recommendations> r = recommender_->ForProduct(1, 4);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->model_version, 0);
    EXPECT_EQ(r->items.size(), 4U);
    for (const auto& p : r->items) EXPECT_NE(p.id, 1);
}

TEST_F(RecommendStoreTest, CountersAddUpPerVersion) {
    const std::int64_t v1 = SaveVersion();
    ASSERT_EQ(recommender_->Refresh(), v1);
    recommender_->Count(v1, Signal::kImpression, 10);
    recommender_->Count(v1, Signal::kClick);
    recommender_->Flush();
    recommender_->Count(v1, Signal::kClick);
    recommender_->Count(v1, Signal::kAddToCart);
    recommender_->Flush();
    VersionInfo info = store_->Versions()[0];
    EXPECT_EQ(info.impressions, 10);
    EXPECT_EQ(info.clicks, 2);
    EXPECT_EQ(info.add_to_carts, 1);
    EXPECT_TRUE(recommender_->KnownVersion(v1));
    EXPECT_FALSE(recommender_->KnownVersion(v1 + 100));
}

}  // namespace
}  // namespace emporium::recommend
