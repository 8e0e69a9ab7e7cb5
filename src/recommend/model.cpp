// The model's parts: content vectors, neighbour lists, candidate scoring, the recall check and
// the model file.
#include "recommend/model.h"

// Without hnswlib's hand-written SSE: its search prefetches the entry after the last of a full
// link list, reading 3 bytes past the list's allocation (AddressSanitizer reports it on every
// full list). The distances are computed by plain loops instead; the vectors are short.
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>

namespace emporium::recommend {

namespace {

// An item's vector as the index stores it: its price bins, then its vocabulary features as
// (dimension, value) pairs in ascending dimension. 156 bytes where the dense vector of 128
// dimensions takes 512: with 100,000 items, the index is 64 MB dense and 30 MB so.
constexpr std::uint8_t kStored = 1;
constexpr std::uint8_t kQuery = 2;
constexpr std::uint8_t kNoFeature = 0xFF;  // after an item's last feature
static_assert(kMaxVocabulary < kNoFeature);

struct StoredVector {
    std::uint8_t kind = kStored;
    std::uint8_t feature[kMaxItemFeatures];
    std::uint8_t reserved[3] = {};  // named padding, written as zeros: the same data, the same file
    float price[kPriceBins];
    float value[kMaxItemFeatures];
};
static_assert(sizeof(StoredVector) == 4 + kMaxItemFeatures + 4 * (kPriceBins + kMaxItemFeatures));

// A search's query: any dense vector (a shopper's profile has more features than an item may
// keep). hnswlib passes it only to the distance function, always as its first argument; the
// second is always a stored vector.
struct QueryVector {
    std::uint8_t kind = kQuery;
    const float* dense = nullptr;
};

float Dot(const StoredVector& a, const StoredVector& b) {
    float dot = 0;
    for (int i = 0; i < kPriceBins; ++i) dot += a.price[i] * b.price[i];
    for (int i = 0, j = 0; i < kMaxItemFeatures && j < kMaxItemFeatures;) {
        if (a.feature[i] == kNoFeature || b.feature[j] == kNoFeature) break;
        if (a.feature[i] == b.feature[j]) {
            dot += a.value[i++] * b.value[j++];
        } else if (a.feature[i] < b.feature[j]) {
            ++i;
        } else {
            ++j;
        }
    }
    return dot;
}

float Dot(const float* dense, std::size_t vocabulary, const StoredVector& b) {
    float dot = 0;
    for (int i = 0; i < kPriceBins; ++i) dot += dense[vocabulary + static_cast<std::size_t>(i)] * b.price[i];
    for (int j = 0; j < kMaxItemFeatures && b.feature[j] != kNoFeature; ++j) dot += dense[b.feature[j]] * b.value[j];
    return dot;
}

// The parameter hnswlib hands to the distance: the vocabulary's size (where the price bins start
// in a dense vector).
float InnerProductDistance(const void* a, const void* b, const void* vocabulary) {
    const auto& stored = *static_cast<const StoredVector*>(b);
    // Both kinds begin with their kind byte; a stored vector is aligned for its floats only, so
    // nothing else is read through the query's type until the kind says it is one.
    if (*static_cast<const std::uint8_t*>(a) == kQuery) {
        return 1.0F -
               Dot(static_cast<const QueryVector*>(a)->dense, *static_cast<const std::size_t*>(vocabulary), stored);
    }
    return 1.0F - Dot(*static_cast<const StoredVector*>(a), stored);
}

class SparseInnerProductSpace final : public hnswlib::SpaceInterface<float> {
public:
    explicit SparseInnerProductSpace(std::size_t vocabulary) : vocabulary_(vocabulary) {}
    std::size_t get_data_size() override { return sizeof(StoredVector); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return &InnerProductDistance; }
    void* get_dist_func_param() override { return &vocabulary_; }

private:
    std::size_t vocabulary_;
};

// Throws std::logic_error for a vector with more features than an item keeps (Features::Vector
// never makes one).
StoredVector Pack(const std::vector<float>& dense, std::size_t vocabulary) {
    StoredVector out;
    std::fill(std::begin(out.feature), std::end(out.feature), kNoFeature);
    std::fill(std::begin(out.value), std::end(out.value), 0.0F);
    int n = 0;
    for (std::size_t d = 0; d < vocabulary; ++d) {
        if (dense[d] == 0.0F) continue;
        if (n == kMaxItemFeatures) throw std::logic_error("a vector with more features than an item keeps");
        out.feature[n] = static_cast<std::uint8_t>(d);
        out.value[n++] = dense[d];
    }
    for (int i = 0; i < kPriceBins; ++i) out.price[i] = dense[vocabulary + static_cast<std::size_t>(i)];
    return out;
}

std::vector<float> Unpack(const StoredVector& stored, std::size_t vocabulary) {
    std::vector<float> dense(vocabulary + kPriceBins, 0.0F);
    for (int j = 0; j < kMaxItemFeatures && stored.feature[j] != kNoFeature; ++j)
        dense[stored.feature[j]] = stored.value[j];
    for (int i = 0; i < kPriceBins; ++i) dense[vocabulary + static_cast<std::size_t>(i)] = stored.price[i];
    return dense;
}

}  // namespace

class ContentIndex {
public:
    explicit ContentIndex(std::size_t vocabulary) : space(vocabulary) {}
    SparseInnerProductSpace space;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> hnsw;
};

void ContentIndexDeleter::operator()(ContentIndex* index) const {
    delete index;
}

namespace {

std::string Lower(std::string_view text) {
    std::string out(text.substr(0, 60));
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::optional<double> AsNumber(const std::string& text) {
    if (text.empty() || text.size() > 30) return std::nullopt;
    char* end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
    return value;
}

float LogPrice(std::int64_t cents) {
    return static_cast<float>(std::log1p(static_cast<double>(std::max<std::int64_t>(0, cents)) / 100.0));
}

}  // namespace

std::vector<std::pair<std::string, float>> FeatureNames(const Item& item) {
    std::vector<std::pair<std::string, float>> out;
    out.emplace_back("c:" + item.category_path, 1.0F);
    for (const std::string& tag : item.tags) out.emplace_back("t:" + Lower(tag), 0.7F);
    for (const auto& [key, value] : item.attributes) {
        // Numbers fall into power-of-two buckets (a 24 cm figure is like a 20 cm one); text is
        // compared whole.
        if (std::optional<double> number = AsNumber(value)) {
            int bucket = static_cast<int>(std::floor(std::log2(std::fabs(*number) + 1.0)));
            out.emplace_back("a:" + Lower(key) + "~" + std::to_string(bucket), 0.3F);
        } else {
            out.emplace_back("a:" + Lower(key) + "=" + Lower(value), 0.6F);
        }
    }
    return out;
}

Features Features::Learn(const std::vector<Item>& items) {
    Features f;
    std::map<std::string, std::int64_t> counts;
    bool any_price = false;
    for (const Item& item : items) {
        for (const auto& [name, weight] : FeatureNames(item)) ++counts[name];
        if (item.price_cents <= 0) continue;
        float lp = LogPrice(item.price_cents);
        f.min_log_price = any_price ? std::min(f.min_log_price, lp) : lp;
        f.max_log_price = any_price ? std::max(f.max_log_price, lp) : lp;
        any_price = true;
    }
    if (!any_price || f.max_log_price - f.min_log_price < 1e-3F) f.max_log_price = f.min_log_price + 1;
    std::vector<std::pair<std::string, std::int64_t>> ranked(counts.begin(), counts.end());
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    for (std::size_t i = 0; i < ranked.size() && i < static_cast<std::size_t>(kMaxVocabulary); ++i) {
        f.vocabulary.push_back(ranked[i].first);
    }
    f.BuildIndex();
    return f;
}

void Features::BuildIndex() {
    index.clear();
    for (std::size_t i = 0; i < vocabulary.size(); ++i) index.emplace(vocabulary[i], static_cast<std::uint32_t>(i));
}

std::vector<float> Features::Vector(const Item& item) const {
    std::vector<float> v(static_cast<std::size_t>(dims()), 0.0F);
    std::vector<std::pair<float, std::uint32_t>> kept;  // (weight, dimension)
    for (const auto& [name, weight] : FeatureNames(item)) {
        auto it = index.find(name);
        if (it != index.end()) kept.emplace_back(weight, it->second);
    }
    // The heaviest first, and of equal weights the more frequent feature (the lower dimension).
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::size_t features = 0;
    for (const auto& [weight, dimension] : kept) {
        if (v[dimension] != 0.0F) continue;  // a feature named twice counts once, at its heaviest
        if (features++ == static_cast<std::size_t>(kMaxItemFeatures)) break;
        v[dimension] = weight;
    }
    // Price as a soft histogram over log-price bins: near prices share bins.
    const float position =
        std::clamp((LogPrice(item.price_cents) - min_log_price) / (max_log_price - min_log_price), 0.0F, 1.0F) *
        static_cast<float>(kPriceBins - 1);
    const std::size_t base = vocabulary.size();
    float price_norm = 0;
    for (int b = 0; b < kPriceBins; ++b) {
        float d = static_cast<float>(b) - position;
        v[base + static_cast<std::size_t>(b)] = std::exp(-d * d / (2 * 0.75F * 0.75F));
        price_norm += v[base + static_cast<std::size_t>(b)] * v[base + static_cast<std::size_t>(b)];
    }
    const float price_weight = 0.8F / std::sqrt(price_norm);
    for (int b = 0; b < kPriceBins; ++b) v[base + static_cast<std::size_t>(b)] *= price_weight;
    float norm = 0;
    for (float x : v) norm += x * x;
    norm = std::sqrt(norm);
    for (float& x : v) x /= norm;
    return v;
}

void Model::Reindex() {
    row.clear();
    row.reserve(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) row.emplace(ids[i], static_cast<std::uint32_t>(i));
}

void Model::BuildIndex(const std::vector<std::vector<float>>& vectors, int m, int ef_construction, std::uint64_t seed) {
    const std::size_t n = vectors.size();
    index.reset(new ContentIndex(features.vocabulary.size()));
    index->hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(&index->space, std::max<std::size_t>(n, 1),
                                                                    static_cast<std::size_t>(m),
                                                                    static_cast<std::size_t>(ef_construction), seed);
    for (std::size_t i = 0; i < n; ++i) {
        const StoredVector packed = Pack(vectors[i], features.vocabulary.size());
        index->hnsw->addPoint(&packed, i);
    }
    SetEf(ef);
}

void Model::SetEf(int value) {
    ef = value;
    if (index) index->hnsw->setEf(static_cast<std::size_t>(value));
}

void Model::SaveIndex(const std::string& path) const {
    index->hnsw->saveIndex(path);
}

void Model::LoadIndex(const std::string& path) {
    auto loaded = std::make_unique<ContentIndex>(features.vocabulary.size());
    loaded->hnsw = std::make_unique<hnswlib::HierarchicalNSW<float>>(&loaded->space, path);
    // The file says how large its vectors are; they must be the model's (an index of dense
    // vectors, from before they were stored as features, is refused here).
    if (loaded->hnsw->data_size_ != loaded->space.get_data_size()) {
        throw std::runtime_error("the index holds vectors of another size");
    }
    for (std::size_t i = 0; i < loaded->hnsw->cur_element_count; ++i) {
        const auto* stored = reinterpret_cast<const StoredVector*>(loaded->hnsw->getDataByInternalId(i));
        if (stored->kind != kStored) throw std::runtime_error("the index holds a vector of an unknown kind");
        for (int j = 0; j < kMaxItemFeatures && stored->feature[j] != kNoFeature; ++j) {
            if (stored->feature[j] >= features.vocabulary.size() ||
                (j > 0 && stored->feature[j] <= stored->feature[j - 1])) {
                throw std::runtime_error("the index holds a feature outside the vocabulary");
            }
        }
    }
    index.reset(loaded.release());
    SetEf(ef);
}

std::size_t Model::IndexedCount() const {
    return index ? index->hnsw->cur_element_count : 0;
}

std::vector<Neighbour> Model::Nearest(const std::vector<float>& vector, std::size_t k) const {
    std::vector<Neighbour> out;
    if (!index || size() == 0) return out;
    if (vector.size() != static_cast<std::size_t>(features.dims())) throw std::logic_error("a query of another size");
    const QueryVector query{kQuery, vector.data()};
    auto found = index->hnsw->searchKnn(&query, std::min(k, size()));
    out.resize(found.size());
    for (std::size_t i = out.size(); i-- > 0;) {
        out[i] = {static_cast<std::uint32_t>(found.top().second), 1.0F - found.top().first};
        found.pop();
    }
    return out;
}

std::vector<float> Model::VectorOf(std::uint32_t item) const {
    // Labels are item indexes; the lookup, not the label, gives where the vector is.
    const auto& hnsw = *index->hnsw;
    const auto found = hnsw.label_lookup_.find(item);
    if (found == hnsw.label_lookup_.end()) throw std::out_of_range("no such item in the index");
    return Unpack(*reinterpret_cast<const StoredVector*>(hnsw.getDataByInternalId(found->second)),
                  features.vocabulary.size());
}

std::int64_t Model::MemoryBytes() const {
    std::int64_t bytes = 0;
    if (index) {
        // Level 0 (vectors and links), the upper levels (about 1/M of the nodes), the label map.
        const auto& h = *index->hnsw;
        bytes += static_cast<std::int64_t>(h.max_elements_ * h.size_data_per_element_);
        bytes += static_cast<std::int64_t>(size() / std::max<std::size_t>(1, h.M_) *
                                           (h.maxM_ * sizeof(hnswlib::tableint) + 4));
        bytes += static_cast<std::int64_t>(size() * 40);
    }
    bytes += static_cast<std::int64_t>(size() * (sizeof(std::int64_t) + 40 + 4 + 4 + 4));
    bytes += static_cast<std::int64_t>(co.size() * sizeof(Neighbour));
    for (const auto& list : popular_by_category) bytes += static_cast<std::int64_t>(list.size() * 4);
    return bytes;
}

// ------------------------------------------------------------------ candidates

namespace {

class Scoreboard {
public:
    explicit Scoreboard(const Model& model) : model_(model) {}
    Candidate& At(std::uint32_t item) {
        auto [it, added] = slot_.try_emplace(item, candidates_.size());
        if (added) {
            candidates_.push_back({item});
            candidates_.back().popularity = model_.popularity[item];
        }
        return candidates_[it->second];
    }
    std::vector<Candidate> Take() { return std::move(candidates_); }

private:
    const Model& model_;
    std::unordered_map<std::uint32_t, std::size_t> slot_;
    std::vector<Candidate> candidates_;
};

constexpr std::size_t kContentNeighbours = 40;   // of a product
constexpr std::size_t kProfileNeighbours = 150;  // of a shopper's profile
constexpr std::size_t kPopularCandidates = 30;

// Scales one score so that the best candidate has 1.
void Normalise(std::vector<Candidate>& candidates, float Candidate::*score) {
    float best = 0;
    for (const Candidate& c : candidates) best = std::max(best, c.*score);
    if (best <= 0) return;
    for (Candidate& c : candidates) c.*score /= best;
}

void AddContent(const Model& model, Scoreboard& board, const std::vector<float>& vector, float weight,
                std::optional<std::uint32_t> self) {
    for (const Neighbour& n : model.Nearest(vector, kContentNeighbours + 1)) {
        if (self && n.item == *self) continue;
        Candidate& c = board.At(n.item);
        c.content = std::max(c.content, n.score * weight);
    }
}

void AddPopular(const Model& model, Scoreboard& board) {
    for (std::size_t i = 0; i < model.popular.size() && i < kPopularCandidates; ++i) board.At(model.popular[i]);
}

}  // namespace

std::vector<Candidate> ShopperCandidates(const Model& model, const std::vector<std::uint32_t>& history,
                                         const std::vector<std::uint32_t>& context) {
    Scoreboard board(model);
    // Each purchase weighs from 0.5 (the oldest) to 1 (the newest); context items weigh 2.
    std::unordered_map<std::uint32_t, float> weight;
    for (std::size_t i = 0; i < history.size(); ++i) {
        float w = 0.5F + 0.5F * static_cast<float>(i + 1) / static_cast<float>(history.size());
        weight[history[i]] += w;
        Candidate& c = board.At(history[i]);
        c.buy_again += w;
        c.bought = true;
    }
    for (std::uint32_t item : context) weight[item] += 2.0F;
    if (weight.empty()) return {};
    for (const auto& [item, w] : weight) {
        for (const Neighbour& n : model.CoPurchased(item)) board.At(n.item).co_purchase += w * n.score;
    }
    // The shopper's taste as one vector: the weighted mean of what they bought and look at. Its
    // nearest items are candidates, and every candidate's content score is its cosine with it.
    const auto dims = static_cast<std::size_t>(model.features.dims());
    std::vector<float> profile(dims, 0.0F);
    for (const auto& [item, w] : weight) {
        std::vector<float> v = model.VectorOf(item);
        for (std::size_t d = 0; d < dims; ++d) profile[d] += w * v[d];
    }
    float norm = 0;
    for (float x : profile) norm += x * x;
    norm = std::sqrt(norm);
    for (float& x : profile) x /= norm;
    for (const Neighbour& n : model.Nearest(profile, kProfileNeighbours)) board.At(n.item);
    AddPopular(model, board);
    std::vector<Candidate> candidates = board.Take();
    for (Candidate& c : candidates) {
        std::vector<float> v = model.VectorOf(c.item);
        float dot = 0;
        for (std::size_t d = 0; d < dims; ++d) dot += profile[d] * v[d];
        c.content = std::max(0.0F, dot);
    }
    Normalise(candidates, &Candidate::buy_again);
    Normalise(candidates, &Candidate::co_purchase);
    return candidates;
}

std::vector<Candidate> ItemCandidates(const Model& model, std::optional<std::uint32_t> item,
                                      const std::vector<float>& vector) {
    Scoreboard board(model);
    if (item) {
        for (const Neighbour& n : model.CoPurchased(*item)) board.At(n.item).co_purchase += n.score;
    }
    AddContent(model, board, vector, 1.0F, item);
    AddPopular(model, board);
    std::vector<Candidate> candidates = board.Take();
    Normalise(candidates, &Candidate::co_purchase);
    return candidates;
}

std::vector<std::uint32_t> Rank(const std::vector<Candidate>& candidates, const BlendWeights& weights,
                                std::size_t limit) {
    std::vector<std::pair<float, const Candidate*>> scored;
    scored.reserve(candidates.size());
    for (const Candidate& c : candidates) scored.emplace_back(c.Blend(weights), &c);
    auto better = [](const auto& a, const auto& b) {
        if (a.first != b.first) return a.first > b.first;
        if (a.second->popularity != b.second->popularity) return a.second->popularity > b.second->popularity;
        return a.second->item < b.second->item;
    };
    // Only the first limit places, plus as many as the repeats that may be pushed back, need order.
    std::size_t bought = 0;
    for (const Candidate& c : candidates) bought += c.bought ? 1 : 0;
    const auto head = static_cast<std::ptrdiff_t>(std::min(scored.size(), limit + bought));
    std::partial_sort(scored.begin(), scored.begin() + head, scored.end(), better);
    scored.resize(static_cast<std::size_t>(head));
    // At most max_repeat of every ten places go to items bought before; the rest wait at the end.
    const std::size_t repeats = (limit * static_cast<std::size_t>(std::clamp(weights.max_repeat, 0, 10)) + 9) / 10;
    std::vector<std::uint32_t> out, deferred;
    std::size_t taken_repeats = 0;
    for (const auto& [score, c] : scored) {
        if (out.size() >= limit) break;
        if (c->bought && taken_repeats >= repeats) {
            deferred.push_back(c->item);
            continue;
        }
        taken_repeats += c->bought ? 1 : 0;
        out.push_back(c->item);
    }
    for (std::size_t i = 0; i < deferred.size() && out.size() < limit; ++i) out.push_back(deferred[i]);
    return out;
}

// ------------------------------------------------------------------ building

void BuildCoPurchase(Model& model, const std::vector<std::vector<std::uint32_t>>& baskets, int top, double shrinkage) {
    const std::size_t n = model.size();
    std::vector<std::uint32_t> holding(n, 0);  // baskets holding each item
    std::vector<std::uint64_t> pairs;
    constexpr std::size_t kMaxBasket = 40;  // a huge basket says little about any pair in it
    for (const auto& basket : baskets) {
        for (std::uint32_t i : basket) ++holding[i];
        if (basket.size() > kMaxBasket) continue;
        for (std::size_t a = 0; a < basket.size(); ++a) {
            for (std::size_t b = a + 1; b < basket.size(); ++b) {
                std::uint32_t i = std::min(basket[a], basket[b]), j = std::max(basket[a], basket[b]);
                if (i != j) pairs.push_back((std::uint64_t{i} << 32) | j);
            }
        }
    }
    std::sort(pairs.begin(), pairs.end());
    std::vector<std::vector<Neighbour>> lists(n);
    for (std::size_t k = 0; k < pairs.size();) {
        std::size_t end = k;
        while (end < pairs.size() && pairs[end] == pairs[k]) ++end;
        const double together = static_cast<double>(end - k);
        const auto i = static_cast<std::uint32_t>(pairs[k] >> 32), j = static_cast<std::uint32_t>(pairs[k]);
        const double cosine = together / std::sqrt(static_cast<double>(holding[i]) * holding[j]);
        const auto score = static_cast<float>(cosine * together / (together + shrinkage));
        lists[i].push_back({j, score});
        lists[j].push_back({i, score});
        k = end;
    }
    model.co_begin.assign(n + 1, 0);
    model.co.clear();
    for (std::size_t i = 0; i < n; ++i) {
        auto& list = lists[i];
        auto better = [](const Neighbour& a, const Neighbour& b) {
            return a.score != b.score ? a.score > b.score : a.item < b.item;
        };
        std::size_t keep = std::min(list.size(), static_cast<std::size_t>(top));
        std::partial_sort(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(keep), list.end(), better);
        model.co.insert(model.co.end(), list.begin(), list.begin() + static_cast<std::ptrdiff_t>(keep));
        model.co_begin[i + 1] = static_cast<std::uint32_t>(model.co.size());
    }
}

void BuildPopularity(Model& model, const std::vector<std::vector<std::uint32_t>>& baskets) {
    const std::size_t n = model.size();
    std::vector<std::uint32_t> counts(n, 0);
    for (const auto& basket : baskets) {
        for (std::uint32_t i : basket) ++counts[i];
    }
    const std::uint32_t most = counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
    model.popularity.assign(n, 0.0F);
    std::vector<std::uint32_t> sold;
    for (std::uint32_t i = 0; i < n; ++i) {
        if (counts[i] == 0) continue;
        model.popularity[i] = static_cast<float>(std::log1p(counts[i]) / std::log1p(most));
        sold.push_back(i);
    }
    std::stable_sort(sold.begin(), sold.end(), [&](std::uint32_t a, std::uint32_t b) { return counts[a] > counts[b]; });
    model.popular.assign(sold.begin(),
                         sold.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(sold.size(), 1000)));
    model.popular_by_category.assign(model.categories.size(), {});
    for (std::uint32_t i : sold) {
        auto& list = model.popular_by_category[model.category[i]];
        if (list.size() < 200) list.push_back(i);
    }
}

double AnnRecall(const Model& model, int queries, std::uint64_t seed) {
    const std::size_t n = model.size();
    if (n == 0 || !model.index) return 1.0;
    const std::size_t k = std::min<std::size_t>(10, n);
    const auto dims = static_cast<std::size_t>(model.features.dims());
    std::vector<float> all(n * dims);
    for (std::uint32_t i = 0; i < n; ++i) {
        std::vector<float> v = model.VectorOf(i);
        std::copy(v.begin(), v.end(), all.begin() + static_cast<std::ptrdiff_t>(i * dims));
    }
    std::vector<std::uint32_t> order(n);
    for (std::uint32_t i = 0; i < n; ++i) order[i] = i;
    std::mt19937_64 dice(seed);
    const std::size_t sample = std::min<std::size_t>(n, static_cast<std::size_t>(std::max(1, queries)));
    for (std::size_t i = 0; i < sample; ++i) std::swap(order[i], order[i + dice() % (n - i)]);
    std::size_t found = 0;
    std::vector<float> sims(n);
    for (std::size_t q = 0; q < sample; ++q) {
        const float* query = all.data() + order[q] * dims;
        for (std::size_t i = 0; i < n; ++i) {
            const float* other = all.data() + i * dims;
            float dot = 0;
            for (std::size_t d = 0; d < dims; ++d) dot += query[d] * other[d];
            sims[i] = dot;
        }
        std::nth_element(sims.begin(), sims.begin() + static_cast<std::ptrdiff_t>(k - 1), sims.end(),
                         std::greater<float>());
        const float tenth = sims[k - 1];
        std::vector<float> vector(query, query + dims);
        for (const Neighbour& nb : model.Nearest(vector, k)) found += nb.score >= tenth - 1e-5F ? 1 : 0;
    }
    return static_cast<double>(found) / static_cast<double>(sample * k);
}

// ------------------------------------------------------------------ files

std::string ChecksumFiles(const std::vector<std::string>& paths) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
    std::vector<char> buffer(1 << 16);
    for (const std::string& path : paths) {
        std::ifstream in(path, std::ios::binary);
        if (!in) return "";
        while (in) {
            in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
            EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(in.gcount()));
        }
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx.get(), digest, &length);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "sha256:";
    for (unsigned int i = 0; i < length; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 15];
    }
    return out;
}

namespace {

constexpr char kMagic[8] = {'E', 'M', 'P', 'R', 'E', 'C', 'S', '1'};

class Writer {
public:
    explicit Writer(const std::string& path) : out_(path, std::ios::binary | std::ios::trunc) {
        if (!out_) throw std::runtime_error("cannot write " + path);
    }
    template <typename T>
    void Pod(const T& value) {
        out_.write(reinterpret_cast<const char*>(&value), sizeof(T));
    }
    template <typename T>
    void Array(const std::vector<T>& values) {
        Pod(static_cast<std::uint64_t>(values.size()));
        out_.write(reinterpret_cast<const char*>(values.data()),
                   static_cast<std::streamsize>(values.size() * sizeof(T)));
    }
    void Text(const std::string& text) {
        Pod(static_cast<std::uint64_t>(text.size()));
        out_.write(text.data(), static_cast<std::streamsize>(text.size()));
    }
    void Raw(const char* data, std::size_t size) { out_.write(data, static_cast<std::streamsize>(size)); }
    void Close() {
        out_.close();
        if (!out_) throw std::runtime_error("the model file could not be written");
    }

private:
    std::ofstream out_;
};

class Reader {
public:
    explicit Reader(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read " + path);
        bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    template <typename T>
    T Pod() {
        Need(sizeof(T));
        T value;
        std::memcpy(&value, bytes_.data() + at_, sizeof(T));
        at_ += sizeof(T);
        return value;
    }
    template <typename T>
    std::vector<T> Array(std::uint64_t max) {
        auto count = Pod<std::uint64_t>();
        if (count > max) throw std::runtime_error("the model file holds too many entries");
        Need(count * sizeof(T));
        std::vector<T> values(count);
        // An empty vector's data() may be null, which memcpy must never be given.
        if (count > 0) std::memcpy(values.data(), bytes_.data() + at_, count * sizeof(T));
        at_ += count * sizeof(T);
        return values;
    }
    std::string Text() {
        auto size = Pod<std::uint64_t>();
        Need(size);
        std::string text(bytes_.data() + at_, size);
        at_ += size;
        return text;
    }
    void Expect(const char* magic, std::size_t size) {
        Need(size);
        if (std::memcmp(bytes_.data() + at_, magic, size) != 0) throw std::runtime_error("not a model file");
        at_ += size;
    }
    bool done() const { return at_ == bytes_.size(); }

private:
    void Need(std::uint64_t size) const {
        if (size > bytes_.size() - at_) throw std::runtime_error("the model file is cut short");
    }
    std::string bytes_;
    std::size_t at_ = 0;
};

constexpr std::uint64_t kMaxEntries = std::uint64_t{1} << 32;

}  // namespace

void WriteModelFile(const Model& m, const std::string& path) {
    Writer w(path);
    w.Raw(kMagic, sizeof kMagic);
    w.Pod(static_cast<std::uint64_t>(m.features.vocabulary.size()));
    for (const std::string& f : m.features.vocabulary) w.Text(f);
    w.Pod(m.features.min_log_price);
    w.Pod(m.features.max_log_price);
    w.Array(m.ids);
    w.Array(m.category);
    w.Pod(static_cast<std::uint64_t>(m.categories.size()));
    for (const std::string& c : m.categories) w.Text(c);
    for (const auto& list : m.popular_by_category) w.Array(list);
    w.Array(m.popularity);
    w.Array(m.popular);
    w.Array(m.co_begin);
    w.Array(m.co);
    const double weights[4] = {m.weights.buy_again, m.weights.co_purchase, m.weights.content, m.weights.popularity};
    for (double x : weights) w.Pod(x);
    w.Pod(static_cast<std::int32_t>(m.weights.max_repeat));
    w.Pod(static_cast<std::int32_t>(m.ef));
    w.Close();
}

void ReadModelFile(Model& m, const std::string& path) {
    Reader r(path);
    r.Expect(kMagic, sizeof kMagic);
    auto vocabulary = r.Pod<std::uint64_t>();
    if (vocabulary > static_cast<std::uint64_t>(kMaxVocabulary)) throw std::runtime_error("vocabulary too large");
    m.features.vocabulary.clear();
    for (std::uint64_t i = 0; i < vocabulary; ++i) m.features.vocabulary.push_back(r.Text());
    m.features.BuildIndex();
    m.features.min_log_price = r.Pod<float>();
    m.features.max_log_price = r.Pod<float>();
    m.ids = r.Array<std::int64_t>(kMaxEntries);
    const std::size_t n = m.ids.size();
    m.category = r.Array<std::uint32_t>(n);
    auto categories = r.Pod<std::uint64_t>();
    if (categories > n + 1) throw std::runtime_error("too many categories");
    m.categories.clear();
    for (std::uint64_t i = 0; i < categories; ++i) m.categories.push_back(r.Text());
    m.popular_by_category.clear();
    for (std::uint64_t i = 0; i < categories; ++i) m.popular_by_category.push_back(r.Array<std::uint32_t>(n));
    m.popularity = r.Array<float>(n);
    m.popular = r.Array<std::uint32_t>(n);
    m.co_begin = r.Array<std::uint32_t>(n + 1);
    m.co = r.Array<Neighbour>(kMaxEntries);
    m.weights.buy_again = r.Pod<double>();
    m.weights.co_purchase = r.Pod<double>();
    m.weights.content = r.Pod<double>();
    m.weights.popularity = r.Pod<double>();
    m.weights.max_repeat = r.Pod<std::int32_t>();
    m.ef = r.Pod<std::int32_t>();
    if (!r.done()) throw std::runtime_error("the model file has trailing bytes");
    // Every index must point inside the model: a bad file is refused, never served.
    auto inside = [n](std::uint32_t i) { return i < n; };
    bool ok = m.category.size() == n && m.popularity.size() == n && m.co_begin.size() == n + 1 &&
              (n == 0 || m.co_begin.back() == m.co.size()) && std::is_sorted(m.co_begin.begin(), m.co_begin.end()) &&
              std::all_of(m.popular.begin(), m.popular.end(), inside) && m.ef > 0 && m.weights.max_repeat >= 0 &&
              m.weights.max_repeat <= 10 && m.ef <= 100000 &&
              std::all_of(m.category.begin(), m.category.end(), [&](std::uint32_t c) { return c < categories; }) &&
              std::all_of(m.co.begin(), m.co.end(), [&](const Neighbour& nb) { return inside(nb.item); });
    for (const auto& list : m.popular_by_category) ok = ok && std::all_of(list.begin(), list.end(), inside);
    if (!ok) throw std::runtime_error("the model file's indexes do not fit together");
    m.Reindex();
}

}  // namespace emporium::recommend
