// Training and evaluation.
//
// Evaluation protocol: every customer with at least two baskets has their last basket held
// out; those customers are split (seeded) into validation and test. The co-purchase lists and
// popularity are built from the remaining baskets; the blend's weights (and whether co-purchase
// counts orders or customers) are the grid point with the best Recall@10 plus new-item
// Recall@10 on validation; the figures are measured on test, for the blend, for popularity (the
// ten best sellers) and for buy-again (the customer's own most bought items). The model that is
// saved is then built again from every basket. A customer's set over 40 items is left out of
// co-purchase counts (it says little about any pair in it).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <unordered_set>

#include "recommend/model.h"

namespace emporium::recommend {
namespace {

constexpr std::size_t kTop = 10;
constexpr std::size_t kMaxFitCases = 500;

struct Basket {
    std::string customer;
    std::vector<std::uint32_t> items;  // distinct
};

// Baskets in time order, each order's lines gathered; items the model does not hold are dropped.
std::vector<Basket> GatherBaskets(const TrainingData& data, const Model& model) {
    std::vector<Basket> baskets;
    std::unordered_map<std::int64_t, std::size_t> slot;
    for (const Purchase& p : data.purchases) {
        auto item = model.row.find(p.product_id);
        if (item == model.row.end()) continue;
        auto [it, added] = slot.try_emplace(p.order_id, baskets.size());
        if (added) baskets.push_back({p.customer, {}});
        auto& items = baskets[it->second].items;
        if (std::find(items.begin(), items.end(), item->second) == items.end()) items.push_back(item->second);
    }
    return baskets;
}

std::vector<std::vector<std::uint32_t>> ItemSets(const std::vector<const Basket*>& baskets) {
    std::vector<std::vector<std::uint32_t>> out;
    out.reserve(baskets.size());
    for (const Basket* b : baskets) out.push_back(b->items);
    return out;
}

// The sets co-purchase is counted over: each order's items, or each customer's items over all
// their orders (what Amazon's item-to-item filtering counts: bought by the same people).
std::vector<std::vector<std::uint32_t>> CoPurchaseSets(const std::vector<const Basket*>& baskets,
                                                       CoPurchaseScope scope) {
    if (scope == CoPurchaseScope::kOrder) return ItemSets(baskets);
    std::unordered_map<std::string, std::size_t> slot;
    std::vector<std::vector<std::uint32_t>> out;
    for (const Basket* b : baskets) {
        auto [it, added] = slot.try_emplace(b->customer, out.size());
        if (added) out.emplace_back();
        std::vector<std::uint32_t>& set = out[it->second];
        for (std::uint32_t i : b->items) {
            if (std::find(set.begin(), set.end(), i) == set.end()) set.push_back(i);
        }
    }
    return out;
}

// The content side: items that are not archived, their vectors in an HNSW index whose search
// breadth is raised until its recall@10 against exact search reaches the aim.
Result<std::unique_ptr<Model>> BuildContent(const std::vector<Item>& all, const TrainOptions& o, double* recall) {
    std::vector<const Item*> items;
    for (const Item& item : all) {
        if (!item.archived) items.push_back(&item);
    }
    if (items.empty()) return Error::Validation({{"items", "there are no products to learn from"}});
    std::sort(items.begin(), items.end(), [](const Item* a, const Item* b) { return a->product_id < b->product_id; });
    auto model = std::make_unique<Model>();
    std::vector<Item> live;
    live.reserve(items.size());
    for (const Item* item : items) live.push_back(*item);
    model->features = Features::Learn(live);
    std::map<std::string, std::uint32_t> category_index;
    for (const Item& item : live) {
        model->ids.push_back(item.product_id);
        auto [it, added] =
            category_index.try_emplace(item.category_path, static_cast<std::uint32_t>(model->categories.size()));
        if (added) model->categories.push_back(item.category_path);
        model->category.push_back(it->second);
    }
    model->Reindex();
    std::vector<std::vector<float>> vectors;
    vectors.reserve(live.size());
    for (const Item& item : live) vectors.push_back(model->features.Vector(item));
    model->ef = std::max(o.ef, 10);
    model->BuildIndex(vectors, o.m, o.ef_construction, o.seed);
    for (;;) {
        model->SetEf(model->ef);
        *recall = AnnRecall(*model, o.recall_queries, o.seed);
        if (*recall >= o.min_ann_recall) break;
        if (model->ef >= 4096) {
            return Error{ErrorKind::kInternal, "ann_recall_too_low",
                         "The index reached a recall@10 of only " + std::to_string(*recall) + "."};
        }
        model->ef *= 2;
    }
    return model;
}

// ------------------------------------------------------------------ evaluation

struct Tally {
    double recall = 0, ndcg = 0, hits = 0;
    std::int64_t n = 0;

    void Add(const std::vector<std::uint32_t>& top, const std::unordered_set<std::uint32_t>& relevant) {
        if (relevant.empty()) return;
        double found = 0, dcg = 0, ideal = 0;
        for (std::size_t i = 0; i < top.size() && i < kTop; ++i) {
            if (relevant.contains(top[i])) {
                found += 1;
                dcg += 1.0 / std::log2(static_cast<double>(i) + 2);
            }
        }
        for (std::size_t i = 0; i < std::min(kTop, relevant.size()); ++i)
            ideal += 1.0 / std::log2(static_cast<double>(i) + 2);
        recall += found / static_cast<double>(relevant.size());
        ndcg += dcg / ideal;
        hits += found > 0 ? 1 : 0;
        ++n;
    }
    Scores Mean() const {
        if (n == 0) return {};
        const auto d = static_cast<double>(n);
        return {recall / d, ndcg / d, hits / d, n};
    }
};

struct Case {
    std::vector<std::uint32_t> history;  // items of the earlier baskets, one per line, oldest first
    std::unordered_set<std::uint32_t> held_out, repeat, fresh;
};

struct MethodTally {
    Tally all, repeat, fresh;
    void Add(const std::vector<std::uint32_t>& top, const Case& c) {
        all.Add(top, c.held_out);
        repeat.Add(top, c.repeat);
        fresh.Add(top, c.fresh);
    }
    MethodScores Mean() const { return {all.Mean(), repeat.Mean(), fresh.Mean()}; }
};

// The customer's own items, most bought first, then the most recent.
std::vector<std::uint32_t> BuyAgain(const std::vector<std::uint32_t>& history) {
    std::unordered_map<std::uint32_t, std::pair<int, std::size_t>> seen;  // count, last position
    for (std::size_t i = 0; i < history.size(); ++i) {
        auto& s = seen[history[i]];
        s.first += 1;
        s.second = i;
    }
    std::vector<std::pair<std::uint32_t, std::pair<int, std::size_t>>> ranked(seen.begin(), seen.end());
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        return a.second.first != b.second.first ? a.second.first > b.second.first : a.second.second > b.second.second;
    });
    std::vector<std::uint32_t> out;
    for (std::size_t i = 0; i < ranked.size() && i < kTop; ++i) out.push_back(ranked[i].first);
    return out;
}

// The grid point with the best mean Recall@10 over the validation cases among those that also beat
// popularity on items new to the customer (the aim: a model that only says "buy again" would
// not); when no point does, the best Recall@10 (then NDCG@10).
struct FitScore {
    double objective = -1;  // Recall@10 over all held-out items plus Recall@10 over new-to-customer ones
    double ndcg = -1;
    bool operator>(const FitScore& o) const {
        if (objective != o.objective) return objective > o.objective + 1e-12;
        return ndcg > o.ndcg;
    }
};

std::pair<BlendWeights, FitScore> FitWeights(const std::vector<std::vector<Candidate>>& candidates,
                                             const std::vector<Case>& cases) {
    BlendWeights best;
    FitScore best_score;
    if (cases.empty()) return {best, best_score};
    for (int repeats : {10, 7, 5, 3, 0}) {
        for (double again : {0.0, 0.5, 1.0, 2.0, 4.0}) {
            for (double co : {0.0, 0.5, 1.0, 2.0}) {
                for (double content : {0.0, 0.25, 0.5, 1.0}) {
                    for (double pop : {0.0, 0.1, 0.3}) {
                        if (again + co + content + pop == 0) continue;
                        BlendWeights w{again, co, content, pop, repeats};
                        MethodTally t;
                        for (std::size_t i = 0; i < cases.size(); ++i) t.Add(Rank(candidates[i], w, kTop), cases[i]);
                        const MethodScores m = t.Mean();
                        FitScore score{m.all.recall_at_10 + m.fresh.recall_at_10, m.all.ndcg_at_10};
                        if (score > best_score) {
                            best_score = score;
                            best = w;
                        }
                    }
                }
            }
        }
    }
    return {best, best_score};
}

// Holds out each eligible customer's last basket, fits the weights on the validation half and
// measures on the test half. Leaves the model's co-purchase and popularity built from the
// baskets that were not held out.
Evaluation Evaluate(Model& model, const std::vector<Basket>& baskets, const TrainOptions& o, BlendWeights* weights,
                    CoPurchaseScope* scope) {
    // Customers in the order of their first basket: pseudonyms change with every export, the
    // split must not.
    std::vector<std::vector<const Basket*>> by_customer;
    std::unordered_map<std::string, std::size_t> slot;
    for (const Basket& b : baskets) {
        auto [it, added] = slot.try_emplace(b.customer, by_customer.size());
        if (added) by_customer.emplace_back();
        by_customer[it->second].push_back(&b);
    }
    std::vector<const Basket*> training;
    std::vector<Case> cases;
    for (const auto& list : by_customer) {
        if (list.size() < 2) {
            training.insert(training.end(), list.begin(), list.end());
            continue;
        }
        Case c;
        for (std::size_t i = 0; i + 1 < list.size(); ++i) {
            training.push_back(list[i]);
            c.history.insert(c.history.end(), list[i]->items.begin(), list[i]->items.end());
        }
        std::unordered_set<std::uint32_t> before(c.history.begin(), c.history.end());
        for (std::uint32_t item : list.back()->items) {
            c.held_out.insert(item);
            (before.contains(item) ? c.repeat : c.fresh).insert(item);
        }
        cases.push_back(std::move(c));
    }
    BuildPopularity(model, ItemSets(training));
    std::vector<std::uint32_t> popular(
        model.popular.begin(),
        model.popular.begin() + static_cast<std::ptrdiff_t>(std::min(kTop, model.popular.size())));

    std::mt19937_64 dice(o.seed);
    std::vector<std::size_t> order(cases.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[dice() % i]);
    const auto validation =
        static_cast<std::size_t>(std::floor(static_cast<double>(cases.size()) * o.validation_share));
    std::vector<Case> fit_cases;
    // The grid's cost grows with the cases: a seeded sample of at most kMaxFitCases is enough.
    for (std::size_t k = 0; k < validation && k < kMaxFitCases; ++k) fit_cases.push_back(cases[order[k]]);

    // Co-purchase over orders or over customers, whichever fits the validation customers better.
    FitScore best_score;
    for (CoPurchaseScope candidate : {CoPurchaseScope::kOrder, CoPurchaseScope::kCustomer}) {
        if (o.co_purchase_scope && *o.co_purchase_scope != candidate) continue;
        BuildCoPurchase(model, CoPurchaseSets(training, candidate), o.co_purchase_top, o.shrinkage);
        std::vector<std::vector<Candidate>> fit_candidates;
        fit_candidates.reserve(fit_cases.size());
        for (const Case& c : fit_cases) fit_candidates.push_back(ShopperCandidates(model, c.history, {}));
        auto [fitted, score] = FitWeights(fit_candidates, fit_cases);
        if (score > best_score) {
            best_score = score;
            *weights = fitted;
            *scope = candidate;
        }
    }
    if (o.weights) *weights = *o.weights;
    BuildCoPurchase(model, CoPurchaseSets(training, *scope), o.co_purchase_top, o.shrinkage);

    MethodTally blend, popularity, buy_again;
    for (std::size_t k = validation; k < cases.size(); ++k) {
        const Case& c = cases[order[k]];
        blend.Add(Rank(ShopperCandidates(model, c.history, {}), *weights, kTop), c);
        popularity.Add(popular, c);
        buy_again.Add(BuyAgain(c.history), c);
    }
    Evaluation e;
    e.blend = blend.Mean();
    e.popularity = popularity.Mean();
    e.buy_again = buy_again.Mean();
    e.validation_customers = static_cast<std::int64_t>(validation);
    e.test_customers = static_cast<std::int64_t>(cases.size() - validation);
    return e;
}

}  // namespace

Result<Trained> Train(const TrainingData& data, const TrainOptions& options, const Clock& clock) {
    const auto started = std::chrono::steady_clock::now();
    double recall = 0;
    Result<std::unique_ptr<Model>> built = BuildContent(data.items, options, &recall);
    if (!built.ok()) return built.error();
    std::unique_ptr<Model> model = std::move(built.value());

    const std::vector<Basket> baskets = GatherBaskets(data, *model);
    Manifest m;
    m.evaluation = Evaluate(*model, baskets, options, &model->weights, &m.co_purchase_scope);
    std::vector<const Basket*> every;
    every.reserve(baskets.size());
    for (const Basket& b : baskets) every.push_back(&b);
    BuildCoPurchase(*model, CoPurchaseSets(every, m.co_purchase_scope), options.co_purchase_top, options.shrinkage);
    BuildPopularity(*model, ItemSets(every));

    m.created_at = UnixSeconds(clock.Now());
    std::set<std::int64_t> orders;
    std::set<std::string> customers;
    for (const Purchase& p : data.purchases) {
        orders.insert(p.order_id);
        customers.insert(p.customer);
        m.data_from = m.data_from == 0 ? p.time : std::min(m.data_from, p.time);
        m.data_to = std::max(m.data_to, p.time);
    }
    m.orders = static_cast<std::int64_t>(orders.size());
    m.order_lines = static_cast<std::int64_t>(data.purchases.size());
    m.customers = static_cast<std::int64_t>(customers.size());
    m.items = static_cast<std::int64_t>(model->size());
    m.dims = model->features.dims();
    for (std::uint32_t i = 0; i < model->size(); ++i) m.items_with_co_purchase += model->CoPurchased(i).empty() ? 0 : 1;
    m.options = options;
    m.ef = model->ef;
    m.weights = model->weights;
    m.ann_recall_at_10 = recall;
    m.memory_bytes = model->MemoryBytes();
    m.training_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return Trained{std::shared_ptr<const Model>(std::move(model)), m};
}

}  // namespace emporium::recommend
