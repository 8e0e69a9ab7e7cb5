// Recommendations: a model trained from the shop's own catalog and order history, measured
// against "most popular" and "buy again", served from memory and swapped without a restart.
//
// The pipeline: ReadTrainingData (or ReadCsv of an export) -> Train (content neighbours in an
// HNSW index, co-purchase neighbours, a blend with weights fitted on validation data, and an
// evaluation on held-out baskets) -> ModelStore::Save (a versioned artifact with a manifest) ->
// Recommender::Refresh in the serving process (validate, swap, keep the last good version for
// rollback). hnswlib stays inside the module's .cpp files; this header is light.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/result.h"
#include "db/database.h"
#include "db/migrations.h"

namespace emporium::recommend {

// ------------------------------------------------------------------ training data

// An item's features: what the content vector is made of. No personal data.
struct Item {
    std::int64_t product_id = 0;
    std::string name;
    std::string category_path;  // the category's slug (categories are one level deep today)
    std::vector<std::string> tags;
    std::vector<std::pair<std::string, std::string>> attributes;  // key, value as text ("true", "24")
    std::int64_t price_cents = 0;
    std::int64_t stock = 0;
    bool archived = false;
};

// One order line of history. The customer is a pseudonym, stable within one export only.
struct Purchase {
    std::int64_t order_id = 0;
    std::string customer;
    std::int64_t product_id = 0;
    std::int64_t quantity = 1;
    std::int64_t time = 0;  // Unix seconds of the order
};

struct TrainingData {
    std::vector<Item> items;
    std::vector<Purchase> purchases;  // orders that were not cancelled, oldest first
};

// Items as the model sees a catalog product (attributes flattened to text).
Item ItemFromProduct(const catalog::Product& product);

// The catalog and every order line that was not cancelled; customers become keyed hashes with a
// key made for this call and forgotten after it.
TrainingData ReadTrainingData(db::Database& database);

// Writes items.csv and baskets.csv (RFC 4180) into dir, creating it. Throws on I/O failure.
void WriteCsv(const TrainingData& data, const std::string& dir);

// Reads what WriteCsv wrote. 422 naming the file and line of the first malformed row.
Result<TrainingData> ReadCsv(const std::string& dir);

// Variants of one item (sizes, colours: "Hoodie – Size M", "Hoodie – Size L") share this key.
std::string VariantKey(const std::string& name, const std::string& category);

// ------------------------------------------------------------------ training

struct BlendWeights {
    double buy_again = 1;
    double co_purchase = 1;
    double content = 0.5;
    double popularity = 0.1;
    int max_repeat = 10;  // of every ten places, at most this many for items the shopper bought before
};

// What co-purchase counts as bought together: one order's items, or one customer's items over
// all their orders.
enum class CoPurchaseScope { kOrder, kCustomer };
std::string_view ScopeName(CoPurchaseScope scope);

struct TrainOptions {
    int m = 16;                 // HNSW links per node
    int ef_construction = 200;  // HNSW build breadth
    int ef = 64;                // HNSW search breadth; raised until the index's recall@10 reaches min_ann_recall
    double min_ann_recall = 0.95;
    int recall_queries = 500;                          // items whose exact top 10 the index is checked against
    int co_purchase_top = 100;                         // co-purchase neighbours kept per item
    double shrinkage = 5;                              // co-purchase cosine is damped by co / (co + shrinkage)
    std::uint64_t seed = 42;                           // validation/test split and the recall sample
    double validation_share = 0.5;                     // of the customers whose last basket is held out
    std::optional<BlendWeights> weights;               // fixed weights instead of fitted ones (tests, experiments)
    std::optional<CoPurchaseScope> co_purchase_scope;  // fixed instead of chosen on validation
};

// Recall@10, NDCG@10 and hit rate of one recommender over held-out baskets.
struct Scores {
    double recall_at_10 = 0;
    double ndcg_at_10 = 0;
    double hit_rate_at_10 = 0;
    std::int64_t customers = 0;  // with at least one held-out item of this kind
};

struct MethodScores {
    Scores all;
    Scores repeat;  // held-out items the customer had bought before
    Scores fresh;   // new-to-customer items
};

struct Evaluation {
    MethodScores blend, popularity, buy_again;
    std::int64_t validation_customers = 0;
    std::int64_t test_customers = 0;
};

// What the manifest tells about a trained model.
struct Manifest {
    std::int64_t version = 0;  // set by ModelStore::Save
    std::int64_t created_at = 0;
    std::int64_t data_from = 0, data_to = 0;  // the orders' time window
    std::int64_t orders = 0, order_lines = 0, customers = 0;
    std::int64_t items = 0;
    std::int64_t dims = 0;
    std::int64_t items_with_co_purchase = 0;
    TrainOptions options;
    int ef = 0;  // the search breadth that reached the recall
    BlendWeights weights;
    CoPurchaseScope co_purchase_scope = CoPurchaseScope::kOrder;  // chosen on validation
    Evaluation evaluation;
    double ann_recall_at_10 = 0;
    double training_seconds = 0;
    std::int64_t memory_bytes = 0;  // estimate of the loaded model
    std::int64_t size_bytes = 0;    // files on disk
    std::string checksum;           // "sha256:<hex>" of the files, in order
    std::string source;             // "database" or the CSV directory
};

// The manifest as JSON (the contract's `emporium recs train` output).
std::string ManifestJson(const Manifest& manifest);
// The fields ManifestJson wrote; 422 when text is not such a manifest.
Result<Manifest> ParseManifest(const std::string& text);

class Model;  // immutable once built or loaded; shared by requests in flight

struct Trained {
    std::shared_ptr<const Model> model;
    Manifest manifest;
};

// Builds the content index and co-purchase lists, fits the blend on validation customers,
// evaluates it against popularity and buy-again on test customers, then builds the final model
// from all the data. 422 when the data has no items; 500-class failure (an Error of kind
// kInternal) when the index cannot reach the recall asked for.
Result<Trained> Train(const TrainingData& data, const TrainOptions& options, const Clock& clock);

// ------------------------------------------------------------------ versions on disk

// The tables of this module: model versions and their counters.
std::vector<db::Migration> Migrations(db::Dialect dialect);

enum class VersionState { kWriting, kReady, kLive, kRetired, kRejected, kRolledBack, kPruned };
std::string_view StateName(VersionState state);

struct VersionInfo {
    std::int64_t version = 0;
    VersionState state = VersionState::kReady;
    std::string note;  // why it was rejected
    std::int64_t created_at = 0;
    std::optional<Manifest> manifest;
    std::int64_t impressions = 0, clicks = 0, add_to_carts = 0;
};

// Model artifacts under a directory (DATA_DIR/recs/v<N>/: manifest.json, model.bin,
// index.hnsw) and their versions in the database.
class ModelStore {
public:
    ModelStore(db::Database& database, std::string dir, const Clock& clock);

    // Writes the model's files under a new version, fills in manifest's version, size and
    // checksum, and records it as ready for the serving processes. Keeps the newest `keep`
    // versions' files (and the live one's); older directories are removed.
    Result<Manifest> Save(const Model& model, Manifest manifest, int keep = 5);

    // The version a server should serve: the newest that is ready, live or retired (so not
    // rejected, rolled back or half written); nullopt when none.
    std::optional<std::int64_t> Wanted();

    // Loads a version and validates it: the files' checksum, the counts in the manifest, and a
    // recall smoke test of the index against exact search. 422 with the reason otherwise.
    Result<Trained> Load(std::int64_t version);

    // Withdraws the version being served (the wanted one) so that servers go back to the one
    // before it. 409 `no_previous_version` when there is none to go back to.
    Result<std::int64_t> Rollback();

    void MarkLive(std::int64_t version);
    void MarkRejected(std::int64_t version, const std::string& why);

    // Every version, newest first, with its counters.
    std::vector<VersionInfo> Versions();

    // Adds to a version's counters.
    void AddCounts(std::int64_t version, std::int64_t impressions, std::int64_t clicks, std::int64_t add_to_carts);

    const std::string& dir() const { return dir_; }

private:
    db::Database& database_;
    std::string dir_;
    const Clock& clock_;
};

// ------------------------------------------------------------------ serving

struct Recommendations {
    std::vector<catalog::Product> items;
    std::int64_t model_version = 0;  // 0: no model yet, popular items
};

// What a shopper has: product ids bought (one entry per order line, oldest first) and in the cart.
struct ShopperContext {
    std::vector<std::int64_t> history;
    std::vector<std::int64_t> cart;
};

inline constexpr int kMaxLimit = 50;

enum class Signal { kImpression, kClick, kAddToCart };

// The serving side: the model in use, swapped atomically; requests hold the one they started
// with until they finish. Filtering rules of every answer: never the product asked about, never
// archived or out of stock, never in the shopper's cart, one product per variant group; the
// answer is filled up to limit from further candidates.
class Recommender {
public:
    Recommender(db::Database& database, ModelStore& store, Logger logger);

    // Serves the wanted version if it is not the one in use: loads, validates and swaps it in,
    // marking it live; a version that fails validation is marked rejected and the one in use
    // stays. Returns the version in use afterwards (0: none).
    std::int64_t Refresh();

    // Products like product_id (404 when it is unknown or archived). A product the model has
    // never seen gets content neighbours from its features; without a model, popular products
    // of its category.
    Result<Recommendations> ForProduct(std::int64_t product_id, int limit);

    // For a shopper from their history and cart; popular products when there is neither.
    Recommendations ForShopper(const ShopperContext& context, int limit);

    std::int64_t version() const;

    // Counters per model version, flushed to the store by Flush().
    void Count(std::int64_t version, Signal signal, std::int64_t n = 1);
    void Flush();

    // True when version is one the store knows (or 0), so clients cannot make up counter keys.
    bool KnownVersion(std::int64_t version);

private:
    // The model in use and its version, held by the caller until it is done with them.
    std::pair<std::shared_ptr<const Model>, std::int64_t> Current() const;
    // anchor: the product asked about (never listed, nor its variants), or null for a shopper.
    std::vector<catalog::Product> Fill(const std::vector<std::int64_t>& ranked, const catalog::Product* anchor,
                                       const std::vector<std::int64_t>& cart, int limit);

    db::Database& database_;
    ModelStore& store_;
    Logger logger_;
    mutable std::mutex model_mutex_;  // guards model_ and version_ (the pointer, not the model)
    std::shared_ptr<const Model> model_;
    std::int64_t version_ = 0;
    std::mutex refresh_mutex_;  // one Refresh at a time
    std::mutex counts_mutex_;   // guards counts_
    struct Counts {
        std::int64_t impressions = 0, clicks = 0, add_to_carts = 0;
    };
    std::map<std::int64_t, Counts> counts_;
};

// Trains from the database, saves a version and prints nothing: the one call behind `emporium
// recs train`, the schedule and the admin's button.
Result<Manifest> TrainAndSave(db::Database& database, ModelStore& store, const TrainOptions& options,
                              const Clock& clock, const std::optional<std::string>& csv_dir = std::nullopt);

// Retrains on a schedule and on demand, on one background thread at low priority, and has the
// recommender pick up the result; also flushes counters and picks up versions trained or rolled
// back by other processes every poll.
class RetrainSchedule {
public:
    // interval 0: no scheduled training (on demand only).
    RetrainSchedule(db::Database& database, ModelStore& store, Recommender& recommender, const Clock& clock,
                    Logger logger, std::chrono::seconds interval, std::chrono::milliseconds poll);
    ~RetrainSchedule();
    void Start();
    void Stop();
    // Asks for a training now: false when one is already running or asked for.
    bool TrainNow();
    // True from the moment a training is asked for until it ends: what TrainNow refuses.
    bool training() const;
    std::string last_error() const;

private:
    void Run();

    db::Database& database_;
    ModelStore& store_;
    Recommender& recommender_;
    const Clock& clock_;
    Logger logger_;
    const std::chrono::seconds interval_;
    const std::chrono::milliseconds poll_;
    mutable std::mutex mutex_;  // guards stop_, wanted_, training_, last_error_, and the wait
    std::condition_variable wake_;
    bool stop_ = false;
    bool wanted_ = false;
    bool training_ = false;
    std::string last_error_;
    std::thread thread_;
};

}  // namespace emporium::recommend
