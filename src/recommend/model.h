// Private to the recommend module: the model's parts, shared by training, the artifact files and
// serving. hnswlib 0.6's headers define functions that are not inline, so only model.cpp includes
// them: the index is an opaque ContentIndex here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "recommend/recommend.h"

namespace emporium::recommend {

inline constexpr int kPriceBins = 8;
inline constexpr int kMaxVocabulary = 120;  // most frequent features; the rest are dropped
// An item's strongest vocabulary features kept in its vector (the rest are dropped): the index
// stores each vector as these pairs and the price bins, a third of the dense vector's size.
inline constexpr int kMaxItemFeatures = 24;

// Turns an item into a unit vector: one dimension per known feature (category, tag, attribute
// key=value, bucketed numbers; at most kMaxItemFeatures of them, the heaviest) and a soft
// histogram of log price. Non-negative, so the inner product of two vectors is their cosine in [0, 1].
struct Features {
    std::vector<std::string> vocabulary;
    std::unordered_map<std::string, std::uint32_t> index;  // built from vocabulary
    float min_log_price = 0;
    float max_log_price = 1;

    int dims() const { return static_cast<int>(vocabulary.size()) + kPriceBins; }
    void BuildIndex();
    std::vector<float> Vector(const Item& item) const;

    // The vocabulary of a catalog: its kMaxVocabulary most frequent features.
    static Features Learn(const std::vector<Item>& items);
};

// The feature names of one item, before the vocabulary picks them.
std::vector<std::pair<std::string, float>> FeatureNames(const Item& item);

struct Neighbour {
    std::uint32_t item;
    float score;
};

class ContentIndex;  // an HNSW index over the items' vectors (inner product); labels are item indexes
struct ContentIndexDeleter {
    void operator()(ContentIndex* index) const;
};

class Model {
public:
    Features features;
    std::vector<std::int64_t> ids;                        // item index -> product id
    std::unordered_map<std::int64_t, std::uint32_t> row;  // product id -> item index
    std::vector<std::uint32_t> category;                  // item -> index into categories
    std::vector<std::string> categories;
    std::vector<float> popularity;                                // log-scaled purchase counts in [0, 1]
    std::vector<std::uint32_t> popular;                           // best sellers first (up to 1,000)
    std::vector<std::vector<std::uint32_t>> popular_by_category;  // up to 200 each
    std::vector<std::uint32_t> co_begin;                          // item -> first of its co-purchase neighbours
    std::vector<Neighbour> co;                                    // best first, within each item's range
    BlendWeights weights;
    int ef = 64;

    std::unique_ptr<ContentIndex, ContentIndexDeleter> index;

    std::size_t size() const { return ids.size(); }
    std::span<const Neighbour> CoPurchased(std::uint32_t item) const {
        return {co.data() + co_begin[item], co.data() + co_begin[item + 1]};
    }
    // The k nearest items to a vector by content (the index's labels are item indexes).
    std::vector<Neighbour> Nearest(const std::vector<float>& vector, std::size_t k) const;
    std::vector<float> VectorOf(std::uint32_t item) const;
    std::int64_t MemoryBytes() const;

    // Builds the index from one vector per item, with HNSW's M and ef_construction; search
    // breadth ef. One thread: Debian's hnswlib races on its shared level generator and link
    // lists when points go in from several threads at once (ThreadSanitizer), and one thread
    // also makes the same data give the same index.
    void BuildIndex(const std::vector<std::vector<float>>& vectors, int m, int ef_construction, std::uint64_t seed);
    void SetEf(int value);
    void SaveIndex(const std::string& path) const;
    // Throws std::runtime_error when the file is not an index of features.dims() dimensions.
    void LoadIndex(const std::string& path);
    std::size_t IndexedCount() const;

    void Reindex();  // row from ids
};

// Scores of candidate items for one request, before weights: each in [0, 1].
struct Candidate {
    std::uint32_t item;
    float buy_again = 0, co_purchase = 0, content = 0, popularity = 0;
    bool bought = false;  // in the shopper's history
    float Blend(const BlendWeights& w) const {
        return static_cast<float>(w.buy_again * buy_again + w.co_purchase * co_purchase + w.content * content +
                                  w.popularity * popularity);
    }
};

// The candidates for a shopper whose history (item indexes, oldest first, repeats kept) and
// context items (a cart, a product page: weighted most) are given.
std::vector<Candidate> ShopperCandidates(const Model& model, const std::vector<std::uint32_t>& history,
                                         const std::vector<std::uint32_t>& context);

// The candidates for a product page: items bought with it and items like it (by vector).
std::vector<Candidate> ItemCandidates(const Model& model, std::optional<std::uint32_t> item,
                                      const std::vector<float>& vector);

// Ranks candidates by the blend, best first (ties: more popular first, then lower index), with at
// most weights.max_repeat of every ten places for items the shopper bought before.
std::vector<std::uint32_t> Rank(const std::vector<Candidate>& candidates, const BlendWeights& weights,
                                std::size_t limit);

// Co-purchase neighbours from baskets (each a set of item indexes): cosine damped by shrinkage,
// the best `top` per item. Fills model.co_begin and model.co.
void BuildCoPurchase(Model& model, const std::vector<std::vector<std::uint32_t>>& baskets, int top, double shrinkage);

// Popularity from baskets: counts of baskets holding each item.
void BuildPopularity(Model& model, const std::vector<std::vector<std::uint32_t>>& baskets);

// Recall@10 of the index against exact search over `queries` items drawn with seed; a result
// tied with the exact tenth counts as found.
double AnnRecall(const Model& model, int queries, std::uint64_t seed);

// "2026-01-31T12:00:00Z" as Unix seconds; nullopt for anything else.
std::optional<std::int64_t> ParseTime(const std::string& text);

// SHA-256 of files in order, as "sha256:<hex>"; empty when one cannot be read.
std::string ChecksumFiles(const std::vector<std::string>& paths);

// The model's own file (everything but the index) and back; Read throws std::runtime_error on a
// malformed file.
void WriteModelFile(const Model& model, const std::string& path);
void ReadModelFile(Model& model, const std::string& path);

}  // namespace emporium::recommend
