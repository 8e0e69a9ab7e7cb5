#include "analytics/analytics_routes.h"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <memory>

#include "db/database.h"
#include "http/errors.h"
#include "http/json_body.h"
#include "http/reply.h"
#include "orders/orders.h"

namespace emporium::analytics {

std::string CsvCell(std::string_view text) {
    std::string cell;
    if (!text.empty() &&
        (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@' || text[0] == '\t' || text[0] == '\r')) {
        cell += '\'';  // OWASP's guard: the spreadsheet shows the text instead of running it
    }
    cell += text;
    if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
    std::string quoted = "\"";
    for (char ch : cell) {
        if (ch == '"') quoted += '"';
        quoted += ch;
    }
    return quoted + "\"";
}

namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

constexpr std::int64_t kMaxDays = 3660;    // ten years
constexpr std::int64_t kMaxHourDays = 93;  // a quarter of hours: 2,232 periods
constexpr std::int64_t kDefaultDays = 30;

enum class Compare { kNone, kPreviousPeriod, kPreviousYear };

// What every report is asked: whose, which currency, which local days.
struct ReportQuery {
    Scope scope;
    DayRange range;
    Compare compare = Compare::kNone;
    Granularity granularity = Granularity::kDay;
    std::int64_t limit = 10;
};

std::optional<std::int64_t> ParseNumber(std::string_view text) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}

// The same dates a year earlier (29 February becomes the 28th).
std::int64_t YearEarlier(std::int64_t day) {
    Ymd d = CivilDate(day);
    --d.year;
    while (d.day > 28 && CivilDate(DayNumber(d)).month != d.month) --d.day;
    return DayNumber(d);
}

DayRange Previous(DayRange r, Compare compare) {
    if (compare == Compare::kPreviousYear) return {YearEarlier(r.from), YearEarlier(r.to)};
    return {r.from - r.days(), r.from - 1};
}

json::object FiguresJson(const Figures& f) {
    return json::object{{"gross_cents", f.gross_cents},
                        {"discounts_cents", f.discounts_cents},
                        {"refunds_cents", f.refunds_cents},
                        {"net_cents", f.net_cents()},
                        {"revenue_cents", f.net_cents()},
                        {"orders", f.orders},
                        {"units", f.units()},
                        {"units_sold", f.units_sold},
                        {"units_refunded", f.units_refunded},
                        {"refunds", f.refunds},
                        {"average_order_cents", f.average_order_cents()},
                        {"repeat_customer_rate", std::round(f.returning_rate() * 10000) / 10000},
                        {"returning_orders", f.returning_orders}};
}

// Percent change to one decimal; null when there was nothing before to compare with.
json::value Change(double now, double before) {
    if (before == 0) return nullptr;
    return std::round((now - before) / std::fabs(before) * 1000) / 10;
}

class Handlers {
public:
    Handlers(RouteDeps deps, http::Authenticator authenticate)
        : deps_(std::move(deps)), authenticate_(std::move(authenticate)) {}

    Response Summary(const Request& request) {
        return Report(request, [&](const ReportQuery& q, json::object& out) {
            const Figures now = deps_.service->Summary(q.scope, q.range);
            for (auto& [k, v] : FiguresJson(now)) out[k] = v;
            json::array currencies;
            for (const std::string& c : deps_.service->Currencies(q.scope.seller_id, q.range))
                currencies.push_back(json::value(c));
            out["currencies"] = std::move(currencies);
            if (q.compare == Compare::kNone) return;
            const DayRange before_range = Previous(q.range, q.compare);
            const Figures before = deps_.service->Summary(q.scope, before_range);
            json::object previous = FiguresJson(before);
            previous["from"] = FormatDay(before_range.from);
            previous["to"] = FormatDay(before_range.to);
            json::object change;
            const json::object current = FiguresJson(now);
            for (const auto& [key, value] : current) {
                const json::value& old = previous.at(key);
                change[key] = Change(value.to_number<double>(), old.to_number<double>());
            }
            out["previous"] = std::move(previous);
            out["change"] = std::move(change);
        });
    }

    Response Sales(const Request& request) {
        return Report(request, [&](const ReportQuery& q, json::object& out) {
            out["granularity"] = GranularityName(q.granularity);
            out["series"] = Series(deps_.service->Sales(q.scope, q.range, q.granularity));
            if (q.compare != Compare::kNone) {
                const DayRange before = Previous(q.range, q.compare);
                out["previous_series"] = Series(deps_.service->Sales(q.scope, before, q.granularity));
            }
        });
    }

    Response TopProducts(const Request& request) {
        return Report(request, [&](const ReportQuery& q, json::object& out) {
            out["items"] = Products(deps_.service->Products(q.scope, q.range, q.limit, ProductOrder::kNet));
        });
    }

    Response Categories(const Request& request) {
        return Report(request, [&](const ReportQuery& q, json::object& out) {
            json::array items;
            for (const CategoryFigures& k : deps_.service->Categories(q.scope, q.range)) {
                json::object item = FiguresJson(k.figures);
                item.erase("orders");  // a category's lines, not orders: see analytics.h
                item.erase("average_order_cents");
                item.erase("repeat_customer_rate");
                item.erase("returning_orders");
                item["category_id"] = k.category_id;
                item["slug"] = k.slug;
                item["name"] = k.name;
                items.push_back(std::move(item));
            }
            out["items"] = std::move(items);
        });
    }

    Response Refunds(const Request& request) {
        return Report(request, [&](const ReportQuery& q, json::object& out) {
            const Figures total = deps_.service->Summary(q.scope, q.range);
            out["refunds_cents"] = total.refunds_cents;
            out["refunds"] = total.refunds;
            out["units_refunded"] = total.units_refunded;
            out["refund_rate"] =
                total.gross_cents - total.discounts_cents == 0
                    ? 0.0
                    : std::round(static_cast<double>(total.refunds_cents) /
                                 static_cast<double>(total.gross_cents - total.discounts_cents) * 10000) /
                          10000;
            out["granularity"] = GranularityName(q.granularity);
            json::array series;
            for (const Period& p : deps_.service->Sales(q.scope, q.range, q.granularity)) {
                series.push_back(json::object{{"period", p.label},
                                              {"refunds_cents", p.figures.refunds_cents},
                                              {"refunds", p.figures.refunds},
                                              {"units_refunded", p.figures.units_refunded}});
            }
            out["series"] = std::move(series);
            out["items"] = Products(deps_.service->Products(q.scope, q.range, q.limit, ProductOrder::kRefunds));
        });
    }

    Response SellThrough(const Request& request) {
        return Report(request, [&](const ReportQuery& q, json::object& out) {
            json::array items;
            for (const analytics::SellThrough& s : deps_.service->SellThroughOf(q.scope, q.range, q.limit)) {
                items.push_back(json::object{{"product_id", s.product_id},
                                             {"name", s.name},
                                             {"units_sold", s.units},
                                             {"ending_stock", s.stock},
                                             {"sell_through", std::round(s.rate * 10000) / 10000}});
            }
            out["items"] = std::move(items);
        });
    }

    Response FunnelReport(const Request& request) {
        return Report(request, [&](const ReportQuery& q, json::object& out) {
            const Funnel f = deps_.service->FunnelOf(q.scope.seller_id, q.range);
            out["views"] = f.views;
            out["add_to_carts"] = f.carts;
            out["orders"] = f.orders;
            auto rate = [](std::int64_t a, std::int64_t b) {
                return b == 0 ? 0.0 : std::round(static_cast<double>(a) / static_cast<double>(b) * 10000) / 10000;
            };
            out["view_to_cart_rate"] = rate(f.carts, f.views);
            out["cart_to_order_rate"] = rate(f.orders, f.carts);
        });
    }

    Response Export(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kAnalyticsRead);
        if (!who.ok()) return http::PrivateError(who.error());
        Result<ReportQuery> q = Parse(request, who.value());
        if (!q.ok()) return http::PrivateError(q.error());
        Response r;
        r.status = 200;
        r.content_type = "text/csv; charset=utf-8; header=present";
        r.headers.emplace_back("Content-Disposition", "attachment; filename=\"sales-" + FormatDay(q->range.from) +
                                                          "-to-" + FormatDay(q->range.to) + ".csv\"");
        r.stream = CsvRows(q.value());
        return http::NoStore(std::move(r));
    }

    Response GetSettings(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kAnalyticsRead);
        if (!who.ok()) return http::PrivateError(who.error());
        Result<std::int64_t> seller = SellerOf(request, who.value());
        if (!seller.ok()) return http::PrivateError(seller.error());
        return http::PrivateJson(200, SettingsJson(seller.value()));
    }

    // The time zone is the seller's own (or, for an admin, the shop's or a seller's): set in person.
    Response PatchSettings(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kProfile);
        if (!who.ok()) return http::PrivateError(who.error());
        if (!who->Can(scope::kAnalyticsRead)) {
            return http::PrivateError(Error::Forbidden("Only sellers and admins have sales reports."));
        }
        Result<std::int64_t> seller = SellerOf(request, who.value());
        if (!seller.ok()) return http::PrivateError(seller.error());
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        http::JsonReader f(body.value());
        std::optional<std::string> zone = f.Text("time_zone", http::Need::kRequired);
        if (auto e = f.Finish()) return http::PrivateError(*e);
        Status set = deps_.service->SetTimeZone(seller.value(), *zone);
        if (!set.ok()) return http::PrivateError(set.error());
        return http::PrivateJson(200, SettingsJson(seller.value()));
    }

    // A product page was seen: counted, nothing else kept. Anyone; a made-up id counts nowhere.
    Response ProductView(const Request& request) {
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        http::JsonReader f(body.value());
        std::optional<std::int64_t> product = f.Integer("product_id", http::Need::kRequired);
        if (product && *product <= 0) f.Fail(FieldError::Invalid("product_id", "must be a product id"));
        if (auto e = f.Finish()) return http::PrivateError(*e);
        deps_.service->CountView(*product);
        return http::NoStore(Response::NoContent());
    }

private:
    static const char* GranularityName(Granularity g) {
        switch (g) {
            case Granularity::kHour:
                return "hour";
            case Granularity::kWeek:
                return "week";
            case Granularity::kMonth:
                return "month";
            case Granularity::kQuarter:
                return "quarter";
            case Granularity::kYear:
                return "year";
            case Granularity::kDay:
                break;
        }
        return "day";
    }

    static json::array Series(const std::vector<Period>& periods) {
        json::array out;
        for (const Period& p : periods) {
            const Figures& f = p.figures;
            out.push_back(json::object{{"period", p.label},
                                       {"from", FormatDay(p.from)},
                                       {"to", FormatDay(p.to)},
                                       {"gross_cents", f.gross_cents},
                                       {"discounts_cents", f.discounts_cents},
                                       {"refunds_cents", f.refunds_cents},
                                       {"net_cents", f.net_cents()},
                                       {"revenue_cents", f.net_cents()},
                                       {"orders", f.orders},
                                       {"units", f.units()}});
        }
        return out;
    }

    static json::array Products(const std::vector<ProductFigures>& products) {
        json::array out;
        for (const ProductFigures& p : products) {
            const Figures& f = p.figures;
            out.push_back(json::object{{"product_id", p.product_id},
                                       {"name", p.name},
                                       {"category_id", p.category_id},
                                       {"units", f.units()},
                                       {"revenue_cents", f.net_cents()},
                                       {"net_cents", f.net_cents()},
                                       {"gross_cents", f.gross_cents},
                                       {"discounts_cents", f.discounts_cents},
                                       {"refunds_cents", f.refunds_cents},
                                       {"units_refunded", f.units_refunded},
                                       {"orders", f.orders}});
        }
        return out;
    }

    json::object SettingsJson(std::int64_t seller_id) {
        const std::int64_t now = UnixSeconds(deps_.clock->Now());
        std::optional<std::int64_t> oldest = deps_.oldest_pending ? deps_.oldest_pending() : std::nullopt;
        auto applied = deps_.service->LastApplied();
        return json::object{{"seller_id", seller_id == kShop ? json::value(nullptr) : json::value(seller_id)},
                            {"time_zone", deps_.service->TimeZoneOf(seller_id)},
                            {"own_time_zone", deps_.service->HasOwnTimeZone(seller_id)},
                            {"shop_time_zone", deps_.service->TimeZoneOf(kShop)},
                            {"currency", deps_.catalog->Store().currency},
                            {"lag_seconds", oldest ? std::max<std::int64_t>(0, now - *oldest) : 0},
                            {"last_event_at", applied && applied->first > 0 ? json::value(FormatRfc3339(applied->first))
                                                                            : json::value(nullptr)},
                            {"today", FormatDay(deps_.service->Today(seller_id))}};
    }

    // Whose figures: the seller's own; for an admin, seller_id= or the whole shop.
    Result<std::int64_t> SellerOf(const Request& request, const Principal& who) {
        std::optional<std::string_view> param = request.QueryParam("seller_id");
        if (!who.ActsForEveryone()) {
            if (param && http::ParseId(*param) != who.user_id) {
                return Error::NotFound("There are no sales reports of that seller for you.");
            }
            return who.user_id;
        }
        if (!param || param->empty()) return kShop;
        std::optional<std::int64_t> id = http::ParseId(*param);
        if (!id || !deps_.is_seller(*id)) return Error::NotFound("There is no seller " + std::string(*param) + ".");
        return *id;
    }

    Result<ReportQuery> Parse(const Request& request, const Principal& who) {
        Result<std::int64_t> seller = SellerOf(request, who);
        if (!seller.ok()) return seller.error();
        ReportQuery q;
        q.scope.seller_id = seller.value();
        std::vector<FieldError> errors;
        auto day = [&](std::string_view name) -> std::optional<std::int64_t> {
            std::optional<std::string_view> text = request.QueryParam(name);
            if (!text) return std::nullopt;
            std::optional<std::int64_t> d = ParseDay(*text);
            if (!d) errors.push_back(FieldError::Coded(std::string(name), "invalid", "must be a date as YYYY-MM-DD"));
            return d;
        };
        std::optional<std::int64_t> from = day("from"), to = day("to");
        const std::int64_t today = deps_.service->Today(q.scope.seller_id);
        q.range.to = to.value_or(from ? std::min(today, *from + kDefaultDays - 1) : today);
        q.range.from = from.value_or(q.range.to - kDefaultDays + 1);
        if (errors.empty() && q.range.from > q.range.to) {
            errors.push_back(FieldError::Coded("to", "before_from", "must not be before from"));
        } else if (errors.empty() && q.range.days() > kMaxDays) {
            errors.push_back(FieldError::Coded("to", "range_too_long", "is more than ten years after from")
                                 .With("max_days", kMaxDays));
        }
        std::string_view currency = request.QueryParam("currency").value_or("");
        q.scope.currency = currency.empty() ? deps_.catalog->Store().currency : std::string(currency);
        if (q.scope.currency.size() != 3 || !std::all_of(q.scope.currency.begin(), q.scope.currency.end(),
                                                         [](char c) { return c >= 'A' && c <= 'Z'; })) {
            errors.push_back(FieldError::Invalid("currency", "must be an ISO 4217 code such as USD"));
        }
        if (auto g = request.QueryParam("granularity")) {
            if (auto parsed = ParseGranularity(*g)) {
                q.granularity = *parsed;
            } else {
                errors.push_back(FieldError::Invalid("granularity", "must be hour, day, week, month, quarter or year"));
            }
        }
        if (q.granularity == Granularity::kHour && q.range.days() > kMaxHourDays) {
            errors.push_back(FieldError::Coded("granularity", "too_many_periods",
                                               "hour covers at most " + std::to_string(kMaxHourDays) + " days")
                                 .With("max_days", kMaxHourDays));
        }
        if (auto c = request.QueryParam("compare")) {
            if (*c == "previous_period") {
                q.compare = Compare::kPreviousPeriod;
            } else if (*c == "previous_year") {
                q.compare = Compare::kPreviousYear;
            } else if (!c->empty()) {
                errors.push_back(FieldError::Invalid("compare", "must be previous_period or previous_year"));
            }
        }
        if (auto l = request.QueryParam("limit")) {
            std::optional<std::int64_t> n = ParseNumber(*l);
            if (!n || *n < 1 || *n > 100) {
                errors.push_back(
                    FieldError::Invalid("limit", "must be between 1 and 100").With("min", 1).With("max", 100));
            } else {
                q.limit = *n;
            }
        }
        if (!errors.empty()) return Error::Validation(std::move(errors));
        return q;
    }

    template <typename Fill>
    Response Report(const Request& request, Fill&& fill) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kAnalyticsRead);
        if (!who.ok()) return http::PrivateError(who.error());
        Result<ReportQuery> q = Parse(request, who.value());
        if (!q.ok()) return http::PrivateError(q.error());
        json::object out{
            {"currency", q->scope.currency},
            {"from", FormatDay(q->range.from)},
            {"to", FormatDay(q->range.to)},
            {"time_zone", deps_.service->TimeZoneOf(q->scope.seller_id)},
            {"seller_id", q->scope.seller_id == kShop ? json::value(nullptr) : json::value(q->scope.seller_id)}};
        fill(q.value(), out);
        return http::PrivateJson(200, out);
    }

    std::function<bool(std::string&)> CsvRows(const ReportQuery& q);

    RouteDeps deps_;
    http::Authenticator authenticate_;
};

// The export, a page of orders at a time: each call reads one page in a read of its own and
// appends its rows, so a year of lines never sits in memory and no read stays open while the
// client is slow. Sales rows first (on the order's local date), then refund rows (negative, on
// the refund's): added up per currency they give the reports' figures.
std::function<bool(std::string&)> Handlers::CsvRows(const ReportQuery& q) {
    struct State {
        ReportQuery query;
        Zone zone;
        std::map<std::int64_t, std::string> categories;
        orders::FactQuery facts;
        int phase = 0;  // 0 header, 1 sales, 2 refunds
    };
    const std::string zone_name = deps_.service->TimeZoneOf(q.scope.seller_id);
    std::optional<Zone> zone = Zone::Find(zone_name);
    if (!zone) zone = Zone::Find("UTC");  // a name the system's tzdata no longer knows
    auto state = std::make_shared<State>(State{q, *zone, {}, {}, 0});
    Result<std::vector<catalog::Category>> listed = deps_.catalog->Categories();
    // Fails only past the catalog's time budget: the database is too busy now (503, try again).
    if (!listed.ok()) throw db::DbError(db::DbError::Kind::kBusy, listed.error().message);
    for (const catalog::Category& c : *listed) state->categories[c.id] = c.slug;
    state->facts.seller_id = q.scope.seller_id == kShop ? std::nullopt : std::optional(q.scope.seller_id);
    state->facts.from = state->zone.DayStart(q.range.from);
    state->facts.to = state->zone.DayStart(q.range.to + 1);
    AnalyticsService* service = deps_.service;
    return [state, service](std::string& out) -> bool {
        auto row = [&](std::string_view type, std::int64_t at, std::int64_t order_id, std::int64_t product_id,
                       const std::string& name, std::int64_t category_id, std::int64_t quantity,
                       const std::string& currency, std::int64_t gross, std::int64_t discount, std::int64_t refund) {
            const std::string local = state->zone.FormatLocal(at);
            auto k = state->categories.find(category_id);
            out += std::string(type) + "," + local.substr(0, 10) + "," + local.substr(11) + "," +
                   std::to_string(order_id) + "," + std::to_string(product_id) + "," + CsvCell(name) + "," +
                   CsvCell(k != state->categories.end() ? k->second : "uncategorised") + "," +
                   std::to_string(quantity) + "," + CsvCell(currency) + "," + std::to_string(gross) + "," +
                   std::to_string(discount) + "," + std::to_string(refund) + "," +
                   std::to_string(gross - discount - refund) + "\r\n";
        };
        if (state->phase == 0) {
            out +=
                "type,date,time,order_id,product_id,product,category,quantity,currency,gross_cents,"
                "discounts_cents,refunds_cents,net_cents\r\n";
            state->phase = 1;
            return true;
        }
        if (state->phase == 1) {
            state->facts.limit = 500;
            std::vector<orders::SaleFact> sold = service->ReadSales(state->facts);
            for (const orders::SaleFact& f : sold) {
                row("sale", f.at, f.order_id, f.product_id, f.name, f.category_id, f.quantity, f.currency,
                    f.gross_cents, f.discount_cents, 0);
            }
            if (!sold.empty()) {
                state->facts.after_id = sold.back().order_id;
                return true;
            }
            state->phase = 2;
            state->facts.after_id = 0;
        }
        state->facts.limit = 2000;
        std::vector<orders::RefundFact> refunds = service->ReadRefunds(state->facts);
        for (const orders::RefundFact& f : refunds) {
            row(f.kind == "partial" ? "refund" : f.kind, f.at, f.order_id, f.product_id, f.name, f.category_id,
                -f.quantity, f.currency, 0, 0, f.amount_cents);
        }
        if (refunds.empty()) return false;
        state->facts.after_id = refunds.back().refund_id;
        return true;
    };
}

}  // namespace

void AddRoutes(http::Router& router, RouteDeps deps, http::Authenticator authenticate) {
    auto h = std::make_shared<Handlers>(std::move(deps), std::move(authenticate));
    auto bind = [h](Response (Handlers::*m)(const Request&)) {
        return [h, m](const Request& r) { return ((*h).*m)(r); };
    };
    router.Get("/api/seller/analytics/summary", bind(&Handlers::Summary));
    router.Get("/api/seller/analytics/sales", bind(&Handlers::Sales));
    router.Get("/api/seller/analytics/top-products", bind(&Handlers::TopProducts));
    router.Get("/api/seller/analytics/categories", bind(&Handlers::Categories));
    router.Get("/api/seller/analytics/refunds", bind(&Handlers::Refunds));
    router.Get("/api/seller/analytics/sell-through", bind(&Handlers::SellThrough));
    router.Get("/api/seller/analytics/funnel", bind(&Handlers::FunnelReport));
    router.Get("/api/seller/analytics/export.csv", bind(&Handlers::Export));
    router.Get("/api/seller/analytics/settings", bind(&Handlers::GetSettings));
    router.Patch("/api/seller/analytics/settings", bind(&Handlers::PatchSettings));
    router.Post("/api/analytics/product-views", bind(&Handlers::ProductView));
}

}  // namespace emporium::analytics
