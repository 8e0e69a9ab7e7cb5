// Serving: the model in use, the filtering rules, counters, and the retraining thread.
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_set>

#include "recommend/model.h"

namespace emporium::recommend {
namespace {

constexpr std::size_t kRanked = 300;  // candidates ranked per answer; the filters take from these in turn

}  // namespace

Recommender::Recommender(db::Database& database, ModelStore& store, Logger logger)
    : database_(database), store_(store), logger_(std::move(logger)) {}

std::pair<std::shared_ptr<const Model>, std::int64_t> Recommender::Current() const {
    std::lock_guard guard(model_mutex_);
    return {model_, version_};
}

std::int64_t Recommender::version() const {
    std::lock_guard guard(model_mutex_);
    return version_;
}

std::int64_t Recommender::Refresh() {
    std::lock_guard refreshing(refresh_mutex_);
    const std::int64_t current = version();
    // A version that fails its checks is marked rejected, which makes the one before it wanted.
    for (std::optional<std::int64_t> wanted = store_.Wanted(); wanted && *wanted != current; wanted = store_.Wanted()) {
        Result<Trained> loaded = store_.Load(*wanted);
        if (!loaded.ok()) {
            const Error& e = loaded.error();
            const std::string why = e.fields.empty() ? e.message : e.fields[0].message;
            store_.MarkRejected(*wanted, why);
            LogError(logger_, LogFields("recommendation model rejected")
                                  .Add("version", static_cast<long long>(*wanted))
                                  .Add("why", why)
                                  .Add("serving", static_cast<long long>(current)));
            continue;
        }
        {
            // Requests in flight keep the model they hold; new ones get this one.
            std::lock_guard guard(model_mutex_);
            model_ = std::move(loaded->model);
            version_ = *wanted;
        }
        store_.MarkLive(*wanted);
        LogInfo(logger_, LogFields("recommendation model live")
                             .Add("version", static_cast<long long>(*wanted))
                             .Add("previous", static_cast<long long>(current))
                             .Add("items", static_cast<long long>(loaded->manifest.items))
                             .Add("blend_recall_at_10", loaded->manifest.evaluation.blend.all.recall_at_10));
        return *wanted;
    }
    return current;
}

// Takes products in ranked order that pass the rules, reading them in batches, until limit; when
// the ranking runs short, popular products of the anchor's category and then of the shop follow.
std::vector<catalog::Product> Recommender::Fill(const std::vector<std::int64_t>& ranked, const catalog::Product* anchor,
                                                const std::vector<std::int64_t>& cart, int limit) {
    const std::int64_t exclude = anchor ? anchor->id : 0;
    std::vector<catalog::Product> out;
    const std::unordered_set<std::int64_t> in_cart(cart.begin(), cart.end());
    std::unordered_set<std::int64_t> taken;
    std::unordered_set<std::string> variants;
    const auto wanted = static_cast<std::size_t>(limit);
    database_.Read([&](db::Connection& c) {
        // The product asked about and what is in the cart: their variants do not count as new either.
        if (anchor) variants.insert(VariantKey(anchor->name, anchor->category));
        for (const catalog::Product& p : catalog::ReadProducts(c, cart))
            variants.insert(VariantKey(p.name, p.category));
        auto take_from = [&](const std::vector<std::int64_t>& ids) {
            const std::size_t batch = wanted * 2 + 10;
            for (std::size_t at = 0; at < ids.size() && out.size() < wanted; at += batch) {
                std::vector<std::int64_t> next;
                for (std::size_t i = at; i < ids.size() && i < at + batch; ++i) {
                    if (ids[i] != exclude && !in_cart.contains(ids[i]) && taken.insert(ids[i]).second) {
                        next.push_back(ids[i]);
                    }
                }
                for (catalog::Product& p : catalog::ReadProducts(c, next)) {
                    if (out.size() >= wanted) break;
                    if (p.stock <= 0 || !variants.insert(VariantKey(p.name, p.category)).second) continue;
                    out.push_back(std::move(p));
                }
            }
        };
        take_from(ranked);
        const std::int64_t more = std::int64_t{limit} * 3 + static_cast<std::int64_t>(cart.size()) + 10;
        if (out.size() < wanted && anchor) take_from(catalog::PopularProductIds(c, anchor->category, more));
        if (out.size() < wanted) take_from(catalog::PopularProductIds(c, "", more));
    });
    return out;
}

Result<Recommendations> Recommender::ForProduct(std::int64_t product_id, int limit) {
    std::vector<catalog::Product> found =
        database_.Read([&](db::Connection& c) { return catalog::ReadProducts(c, {product_id}); });
    if (found.empty()) return Error::NotFound("There is no product " + std::to_string(product_id) + ".");
    const catalog::Product& product = found.front();
    const auto [model, version] = Current();
    std::vector<std::int64_t> ranked;
    if (model && model->size() > 0) {
        auto row = model->row.find(product_id);
        std::optional<std::uint32_t> item;
        if (row != model->row.end()) item = row->second;
        // An item the model has not seen is placed by its features: its content neighbours.
        const std::vector<float> vector =
            item ? model->VectorOf(*item) : model->features.Vector(ItemFromProduct(product));
        std::vector<Candidate> candidates = ItemCandidates(*model, item, vector);
        BlendWeights w = model->weights;
        w.buy_again = 0;
        w.content = std::max(w.content, 0.1);
        for (std::uint32_t i : Rank(candidates, w, kRanked)) ranked.push_back(model->ids[i]);
    }
    // Popular items of its category (and then of the shop) fill what the model leaves short.
    return Recommendations{Fill(ranked, &product, {}, limit), version};
}

Recommendations Recommender::ForShopper(const ShopperContext& context, int limit) {
    const auto [current_model, version] = Current();
    const std::shared_ptr<const Model>& model = current_model;  // named, so that the lambda below can use it
    std::vector<std::int64_t> ranked;
    if (model && model->size() > 0) {
        auto rows = [&](const std::vector<std::int64_t>& ids) {
            std::vector<std::uint32_t> out;
            for (std::int64_t id : ids) {
                if (auto it = model->row.find(id); it != model->row.end()) out.push_back(it->second);
            }
            return out;
        };
        const std::vector<std::uint32_t> history = rows(context.history), cart = rows(context.cart);
        if (!history.empty() || !cart.empty()) {
            for (std::uint32_t i : Rank(ShopperCandidates(*model, history, cart), model->weights, kRanked)) {
                ranked.push_back(model->ids[i]);
            }
        }
        for (std::uint32_t i : model->popular) {
            if (ranked.size() >= kRanked * 2) break;
            ranked.push_back(model->ids[i]);
        }
    }
    return Recommendations{Fill(ranked, nullptr, context.cart, limit), version};
}

void Recommender::Count(std::int64_t version, Signal signal, std::int64_t n) {
    std::lock_guard guard(counts_mutex_);
    Counts& c = counts_[version];
    (signal == Signal::kImpression ? c.impressions : signal == Signal::kClick ? c.clicks : c.add_to_carts) += n;
}

void Recommender::Flush() {
    std::map<std::int64_t, Counts> pending;
    {
        std::lock_guard guard(counts_mutex_);
        pending.swap(counts_);
    }
    for (const auto& [version, c] : pending) store_.AddCounts(version, c.impressions, c.clicks, c.add_to_carts);
}

bool Recommender::KnownVersion(std::int64_t version) {
    if (version == 0 || version == this->version()) return true;
    return database_.Read(
        [&](db::Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM recs_models WHERE id = ?", {version}) > 0; });
}

// ------------------------------------------------------------------ schedule

RetrainSchedule::RetrainSchedule(db::Database& database, ModelStore& store, Recommender& recommender,
                                 const Clock& clock, Logger logger, std::chrono::seconds interval,
                                 std::chrono::milliseconds poll)
    : database_(database),
      store_(store),
      recommender_(recommender),
      clock_(clock),
      logger_(std::move(logger)),
      interval_(interval),
      poll_(poll) {}

RetrainSchedule::~RetrainSchedule() {
    Stop();
}

void RetrainSchedule::Start() {
    // With a schedule and no model yet, the first one is trained right away.
    if (interval_.count() > 0 && !store_.Wanted()) wanted_ = true;
    thread_ = std::thread([this] { Run(); });
}

void RetrainSchedule::Stop() {
    {
        std::lock_guard guard(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    recommender_.Flush();
}

bool RetrainSchedule::TrainNow() {
    {
        std::lock_guard guard(mutex_);
        if (wanted_ || training_) return false;
        wanted_ = true;
    }
    wake_.notify_all();
    return true;
}

bool RetrainSchedule::training() const {
    std::lock_guard guard(mutex_);
    return wanted_ || training_;
}

std::string RetrainSchedule::last_error() const {
    std::lock_guard guard(mutex_);
    return last_error_;
}

void RetrainSchedule::Run() {
    // Training is background work: this thread (and the index builders it starts, which inherit
    // it) runs below normal priority so that requests come first.
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
    auto next_training = std::chrono::steady_clock::now() + interval_;
    for (;;) {
        bool train = false;
        {
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, poll_, [this] { return stop_ || wanted_; });
            if (stop_) return;
            train = wanted_ || (interval_.count() > 0 && std::chrono::steady_clock::now() >= next_training);
            if (train) training_ = true;
        }
        if (train) {
            const auto started = std::chrono::steady_clock::now();
            std::string error;
            try {
                Result<Manifest> saved = TrainAndSave(database_, store_, TrainOptions{}, clock_);
                if (saved.ok()) {
                    LogInfo(logger_, LogFields("recommendation model trained")
                                         .Add("version", static_cast<long long>(saved->version))
                                         .Add("seconds", saved->training_seconds)
                                         .Add("ann_recall_at_10", saved->ann_recall_at_10));
                } else {
                    error = saved.error().message.empty() && !saved.error().fields.empty()
                                ? saved.error().fields[0].message
                                : saved.error().message;
                }
            } catch (const std::exception& e) {
                error = e.what();
            }
            if (!error.empty()) LogError(logger_, LogFields("recommendation training failed").Add("why", error));
            std::lock_guard guard(mutex_);
            last_error_ = error;
            wanted_ = false;
            training_ = false;
            next_training = started + interval_;
        }
        try {
            recommender_.Refresh();
            recommender_.Flush();
        } catch (const std::exception& e) {
            LogError(logger_, LogFields("recommendation refresh failed").Add("why", e.what()));
        }
    }
}

}  // namespace emporium::recommend
