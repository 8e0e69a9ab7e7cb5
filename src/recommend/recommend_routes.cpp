#include "recommend/recommend_routes.h"

#include <boost/json.hpp>

#include "catalog/catalog_routes.h"
#include "http/errors.h"
#include "http/json_body.h"
#include "http/reply.h"
#include "orders/history.h"

namespace emporium::recommend {
namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

constexpr std::int64_t kHistoryOrders = 20;  // a shopper's newest orders that count

// ?limit= : 10 when absent; a whole number from 1 to kMaxLimit otherwise (422).
Result<int> ParseLimit(const Request& request) {
    std::optional<std::string_view> text = request.QueryParam("limit");
    if (!text) return 10;
    std::optional<std::int64_t> value = http::ParseId(*text);
    if (!value || *value > kMaxLimit) {
        return Error::Validation({{"limit", "must be a whole number from 1 to " + std::to_string(kMaxLimit)}});
    }
    return static_cast<int>(*value);
}

// The answer, and how many products it lists (the impressions it makes), kept together in the
// cache as "<count>\n<body>".
std::string CacheValue(const Recommendations& r) {
    std::string body = "{\"items\":[";
    for (std::size_t i = 0; i < r.items.size(); ++i) {
        if (i) body += ',';
        body += catalog::ProductJsonText(r.items[i]);
    }
    body += "],\"model_version\":" + std::to_string(r.model_version) + "}";
    return std::to_string(r.items.size()) + "\n" + body;
}

class Handlers {
public:
    Handlers(Recommender& recommender, ReadCache& cache, db::Database& database, http::Authenticator authenticate)
        : recommender_(recommender), cache_(cache), database_(database), authenticate_(std::move(authenticate)) {}

    std::optional<Response> FastForProduct(const Request& request) {
        std::optional<std::string> key = ProductKey(request);
        if (!key) return std::nullopt;
        ReadCache::Lookup hit = cache_.Get(*key, /*count_miss=*/false);
        if (!hit.value) return std::nullopt;
        return Answer(hit.value->text(), recommender_.version(), false);
    }

    Response ForProduct(const Request& request) {
        std::optional<std::int64_t> id = http::ParseId(request.PathParam("id"));
        if (!id)
            return http::ErrorResponse(
                Error::NotFound("There is no product " + std::string(request.PathParam("id")) + "."));
        Result<int> limit = ParseLimit(request);
        if (!limit.ok()) return http::ErrorResponse(limit.error());
        const std::int64_t version = recommender_.version();
        const std::string key = Key("product", version, std::to_string(*id), *limit);
        ReadCache::Lookup hit = cache_.Get(key);
        if (hit.value) return Answer(hit.value->text(), version, false);
        Result<Recommendations> found = recommender_.ForProduct(*id, *limit);
        if (!found.ok()) return http::ErrorResponse(found.error());
        std::string value = CacheValue(found.value());
        cache_.Put(key, value, hit.ticket);
        return Answer(value, found->model_version, false);
    }

    Response ForShopper(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kProfile);
        if (!who.ok()) return http::ErrorResponse(who.error());
        Result<int> limit = ParseLimit(request);
        if (!limit.ok()) return http::ErrorResponse(limit.error());
        ShopperContext context = database_.Read([&](db::Connection& c) {
            return ShopperContext{orders::PurchasedProducts(c, who->user_id, kHistoryOrders),
                                  orders::CartProducts(c, who->user_id)};
        });
        // The history changes only with an order, which empties the cache; the cart is in the key.
        std::string cart;
        for (std::int64_t id : context.cart) cart += std::to_string(id) + ",";
        const std::int64_t version = recommender_.version();
        const std::string key = Key("shopper", version, std::to_string(who->user_id) + "/" + cart, *limit);
        ReadCache::Lookup hit = cache_.Get(key);
        if (hit.value) return Answer(hit.value->text(), version, true);
        Recommendations found = recommender_.ForShopper(context, *limit);
        std::string value = CacheValue(found);
        cache_.Put(key, value, hit.ticket);
        return Answer(value, found.model_version, true);
    }

    Response Feedback(const Request& request) {
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::ErrorResponse(body.error());
        std::vector<FieldError> errors;
        std::optional<std::int64_t> version;
        std::optional<Signal> signal;
        for (const auto& [key, value] : body.value()) {
            if (key == "model_version") {
                if (value.is_int64() && value.as_int64() >= 0)
                    version = value.as_int64();
                else
                    errors.push_back({"model_version", "must be a whole number from 0"});
            } else if (key == "event") {
                if (value.is_string() && value.as_string() == "click")
                    signal = Signal::kClick;
                else if (value.is_string() && value.as_string() == "add_to_cart")
                    signal = Signal::kAddToCart;
                else
                    errors.push_back({"event", "must be click or add_to_cart"});
            } else {
                errors.push_back({std::string(key), "is not a feedback field"});
            }
        }
        if (!version && errors.empty()) errors.push_back({"model_version", "is required"});
        if (!signal && errors.empty()) errors.push_back({"event", "is required"});
        // Only versions the shop made become counters: clients cannot add keys.
        if (errors.empty() && !recommender_.KnownVersion(*version)) {
            errors.push_back({"model_version", "is not a model version of this shop"});
        }
        if (!errors.empty()) return http::ErrorResponse(Error::Validation(std::move(errors)));
        recommender_.Count(*version, *signal);
        return Response::NoContent();
    }

private:
    static std::string Key(std::string_view kind, std::int64_t version, const std::string& who, int limit) {
        return "recs\x1e" + std::string(kind) + "\x1e" + std::to_string(version) + "\x1e" + who + "\x1e" +
               std::to_string(limit);
    }

    std::optional<std::string> ProductKey(const Request& request) {
        std::optional<std::int64_t> id = http::ParseId(request.PathParam("id"));
        Result<int> limit = ParseLimit(request);
        if (!id || !limit.ok()) return std::nullopt;
        return Key("product", recommender_.version(), std::to_string(*id), *limit);
    }

    Response Answer(const std::string& value, std::int64_t version, bool private_answer) {
        const std::size_t newline = value.find('\n');
        recommender_.Count(version, Signal::kImpression, std::stoll(value.substr(0, newline)));
        Response r = Response::Json(200, value.substr(newline + 1));
        return private_answer ? http::NoStore(std::move(r)) : r;
    }

    Recommender& recommender_;
    ReadCache& cache_;
    db::Database& database_;
    http::Authenticator authenticate_;
};

json::object EvaluationJson(const Scores& s) {
    return {{"recall_at_10", s.recall_at_10}, {"ndcg_at_10", s.ndcg_at_10}, {"hit_rate_at_10", s.hit_rate_at_10}};
}

json::object VersionJson(const VersionInfo& v) {
    const auto ratio = [](std::int64_t part, std::int64_t whole) {
        return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
    };
    json::object o{{"version", v.version},
                   {"state", StateName(v.state)},
                   {"note", v.note},
                   {"created_at", FormatRfc3339(v.created_at)},
                   {"impressions", v.impressions},
                   {"clicks", v.clicks},
                   {"add_to_carts", v.add_to_carts},
                   {"click_through", ratio(v.clicks, v.impressions)},
                   {"add_to_cart_rate", ratio(v.add_to_carts, v.impressions)}};
    if (v.manifest) {
        json::error_code ec;
        o["manifest"] = json::parse(ManifestJson(*v.manifest), ec);
        const Evaluation& e = v.manifest->evaluation;
        o["summary"] = json::object{{"items", v.manifest->items},
                                    {"training_seconds", v.manifest->training_seconds},
                                    {"size_bytes", v.manifest->size_bytes},
                                    {"memory_bytes", v.manifest->memory_bytes},
                                    {"ann_recall_at_10", v.manifest->ann_recall_at_10},
                                    {"blend", EvaluationJson(e.blend.all)},
                                    {"blend_new", EvaluationJson(e.blend.fresh)},
                                    {"popularity", EvaluationJson(e.popularity.all)},
                                    {"popularity_new", EvaluationJson(e.popularity.fresh)},
                                    {"buy_again", EvaluationJson(e.buy_again.all)}};
    } else {
        o["manifest"] = nullptr;
    }
    return o;
}

}  // namespace

void AddRoutes(http::Router& router, Recommender& recommender, ReadCache& cache, db::Database& database,
               http::Authenticator authenticate) {
    auto handlers = std::make_shared<Handlers>(recommender, cache, database, std::move(authenticate));
    router.Add({"GET", "/api/products/{id}/recommendations",
                [handlers](const Request& r) { return handlers->ForProduct(r); },
                [handlers](const Request& r) { return handlers->FastForProduct(r); }, false});
    router.Add(
        {"GET", "/api/recommendations", [handlers](const Request& r) { return handlers->ForShopper(r); }, {}, false});
    router.Add({"POST",
                "/api/recommendations/feedback",
                [handlers](const Request& r) { return handlers->Feedback(r); },
                {},
                false});
}

void AddAdminRoutes(http::Router& router, Recommender& recommender, ModelStore& store, RetrainSchedule& schedule,
                    const http::Authenticator& authenticate, std::string retrain_interval) {
    router.Get("/api/admin/recommendations", [&recommender, &store, &schedule, authenticate,
                                              retrain_interval](const Request& r) {
        Result<Principal> who = http::Require(authenticate, r, scope::kOpsRead);
        if (!who.ok()) return http::PrivateError(who.error());
        recommender.Flush();  // the counters as of now
        json::array versions;
        for (const VersionInfo& v : store.Versions()) versions.push_back(VersionJson(v));
        const std::string error = schedule.last_error();
        return http::PrivateJson(200, json::object{{"live_version", recommender.version()},
                                                   {"training", schedule.training()},
                                                   {"last_error", error.empty() ? json::value() : json::value(error)},
                                                   {"retrain_interval", retrain_interval},
                                                   {"versions", std::move(versions)}});
    });
    router.Post("/api/admin/recommendations/train", [&schedule, authenticate](const Request& r) {
        Result<Principal> who = http::Require(authenticate, r, scope::kOpsWrite);
        if (!who.ok()) return http::PrivateError(who.error());
        if (!schedule.TrainNow()) {
            return http::PrivateError(Error::Conflict("training_running", "A model is being trained already."));
        }
        return http::PrivateJson(202, json::object{{"training", true}});
    });
    router.Post("/api/admin/recommendations/rollback", [&recommender, &store, authenticate](const Request& r) {
        Result<Principal> who = http::Require(authenticate, r, scope::kOpsWrite);
        if (!who.ok()) return http::PrivateError(who.error());
        Result<std::int64_t> back = store.Rollback();
        if (!back.ok()) return http::PrivateError(back.error());
        const std::int64_t live = recommender.Refresh();
        return http::PrivateJson(200, json::object{{"live_version", live}, {"wanted_version", back.value()}});
    });
}

}  // namespace emporium::recommend
