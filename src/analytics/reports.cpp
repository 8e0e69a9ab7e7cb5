// The report queries: primary-key ranges over the rollup tables only (rollup_sql_test pins the
// plans), the rest in C++ (periods, ordering, names).
#include <algorithm>
#include <map>

#include "analytics/analytics.h"
#include "analytics/reports_sql.h"
#include "analytics/rollup.h"
#include "db/database.h"

namespace emporium::analytics {

namespace {

Figures ReadFigures(const db::Row& r, int first) {
    Figures f;
    f.orders = r.Int(first);
    f.returning_orders = r.Int(first + 1);
    f.gross_cents = r.Int(first + 2);
    f.discounts_cents = r.Int(first + 3);
    f.refunds_cents = r.Int(first + 4);
    f.units_sold = r.Int(first + 5);
    f.units_refunded = r.Int(first + 6);
    f.refunds = r.Int(first + 7);
    return f;
}

// The label of the period a local day belongs to, and the period's first day.
std::pair<std::string, std::int64_t> PeriodOf(std::int64_t day, Granularity g) {
    Ymd d = CivilDate(day);
    char text[32];  // room for any int year: no truncation
    switch (g) {
        case Granularity::kWeek: {
            // ISO weeks: Monday to Sunday, labelled by their Monday.
            const std::int64_t monday = day - Weekday(day);
            return {FormatDay(monday), monday};
        }
        case Granularity::kMonth:
            std::snprintf(text, sizeof text, "%04d-%02d", d.year, d.month);
            return {text, DayNumber({d.year, d.month, 1})};
        case Granularity::kQuarter: {
            const int q = (d.month - 1) / 3;
            std::snprintf(text, sizeof text, "%04d-Q%d", d.year, q + 1);
            return {text, DayNumber({d.year, q * 3 + 1, 1})};
        }
        case Granularity::kYear:
            std::snprintf(text, sizeof text, "%04d", d.year);
            return {text, DayNumber({d.year, 1, 1})};
        case Granularity::kDay:
        case Granularity::kHour:
            break;
    }
    return {FormatDay(day), day};
}

}  // namespace

Figures AnalyticsService::Summary(const Scope& scope, DayRange range) {
    return database_.Read([&](db::Connection& c) {
        Figures f;
        c.Query(sql::kSummary, {scope.seller_id, scope.currency, range.from, range.to},
                [&](const db::Row& r) { f = ReadFigures(r, 0); });
        return f;
    });
}

std::vector<Period> AnalyticsService::Sales(const Scope& scope, DayRange range, Granularity granularity) {
    return database_.Read([&](db::Connection& c) {
        std::vector<Period> out;
        std::optional<Zone> zone = ZoneOf(c, scope.seller_id);
        if (!zone) zone = Zone::Find("UTC");
        if (granularity == Granularity::kHour) {
            const std::int64_t start = zone->DayStart(range.from), end = zone->DayStart(range.to + 1);
            std::map<std::int64_t, Figures> hours;
            c.Query(sql::kHours, {scope.seller_id, scope.currency, start, end},
                    [&](const db::Row& r) { hours[r.Int(0)] = ReadFigures(r, 1); });
            // Every local hour of the range: 23 on a spring-forward day, 25 on a fall-back day.
            for (std::int64_t h = start; h < end;) {
                const std::int64_t day = zone->LocalDay(h);
                out.push_back({zone->FormatLocal(h), day, day, h, hours.count(h) ? hours[h] : Figures{}});
                std::int64_t next = zone->HourStart(h + 3600);
                h = next > h ? next : h + 3600;
            }
            return out;
        }
        std::map<std::int64_t, Figures> days;
        c.Query(sql::kDays, {scope.seller_id, scope.currency, range.from, range.to},
                [&](const db::Row& r) { days[r.Int(0)] = ReadFigures(r, 1); });
        for (std::int64_t day = range.from; day <= range.to; ++day) {
            auto [label, first] = PeriodOf(day, granularity);
            if (out.empty() || out.back().label != label) {
                out.push_back({label, day, day, zone->DayStart(day), Figures{}});
            }
            out.back().to = day;
            if (auto it = days.find(day); it != days.end()) out.back().figures += it->second;
        }
        return out;
    });
}

namespace {

// One read of a product table over a range of its buckets, added or taken away.
struct ProductRead {
    const char* sql;
    std::int64_t from;
    std::int64_t to;
    bool add;
};

// Rows read per product, roughly: a product sells on fewer days than in a week or a month.
constexpr double kWeekCost = 1.0, kMonthCost = 1.0, kDayCost = 0.5, kLifetimeCost = 1.0;

// Reads that add up (or take away) the product rows of local days [a, b]: whole ISO weeks from
// the weekly rows, the days at either end from the daily rows. Returns their cost.
double CoverByWeeks(std::int64_t a, std::int64_t b, bool add, std::vector<ProductRead>& out) {
    if (a > b) return 0;
    const std::int64_t first_week = internal::WeekOf(a) == a ? a : internal::WeekOf(a) + 7;
    const std::int64_t last_week = internal::WeekOf(b) + 6 == b ? internal::WeekOf(b) : internal::WeekOf(b) - 7;
    if (first_week > last_week) {
        out.push_back({sql::kProductDays, a, b, add});
        return static_cast<double>(b - a + 1) * kDayCost;
    }
    const std::int64_t weeks = (last_week - first_week) / 7 + 1;  // both are Mondays
    const double cost = static_cast<double>(weeks) * kWeekCost;
    out.push_back({sql::kProductWeeks, first_week, last_week, add});
    if (a < first_week) out.push_back({sql::kProductDays, a, first_week - 1, add});
    if (last_week + 6 < b) out.push_back({sql::kProductDays, last_week + 7, b, add});
    return cost + static_cast<double>((first_week - a) + (b - last_week - 6)) * kDayCost;
}

// The same with whole months first, then weeks and days for what is left at either end.
double Cover(std::int64_t a, std::int64_t b, bool add, std::vector<ProductRead>& out) {
    if (a > b) return 0;
    const std::int64_t first_month =
        internal::FirstDayOfMonth(internal::MonthOf(a)) == a ? internal::MonthOf(a) : internal::MonthOf(a) + 1;
    const std::int64_t last_month =
        internal::FirstDayOfMonth(internal::MonthOf(b) + 1) == b + 1 ? internal::MonthOf(b) : internal::MonthOf(b) - 1;
    if (first_month > last_month) return CoverByWeeks(a, b, add, out);
    out.push_back({sql::kProductMonths, first_month, last_month, add});
    return static_cast<double>(last_month - first_month + 1) * kMonthCost +
           CoverByWeeks(a, internal::FirstDayOfMonth(first_month) - 1, add, out) +
           CoverByWeeks(internal::FirstDayOfMonth(last_month + 1), b, add, out);
}

// Each product's figures over a range, read the cheaper of two exact ways: the range itself
// (whole months, whole weeks, days), or each product's lifetime less the days before and after
// the range that have figures. A year of a whole shop is then about one row a product plus the
// few weeks outside it, not twelve months and the days at either end.
std::map<std::int64_t, ProductFigures> ReadProductTotals(db::Connection& c, const Scope& scope, DayRange range) {
    std::map<std::int64_t, ProductFigures> out;
    std::optional<std::pair<std::int64_t, std::int64_t>> data;
    c.Query(sql::kDataDays, {scope.seller_id, scope.currency}, [&](const db::Row& r) {
        if (!r.IsNull(0)) data = {r.Int(0), r.Int(1)};
    });
    if (!data) return out;
    const std::int64_t from = std::max(range.from, data->first), to = std::min(range.to, data->second);
    if (from > to) return out;
    std::vector<ProductRead> direct, outside;
    const double direct_cost = Cover(from, to, true, direct);
    const double outside_cost =
        kLifetimeCost + Cover(data->first, from - 1, false, outside) + Cover(to + 1, data->second, false, outside);
    const bool whole_life = outside_cost < direct_cost;
    auto read = [&](const char* statement, const db::Params& params, bool add) {
        c.Query(statement, params, [&](const db::Row& r) {
            ProductFigures& p = out[r.Int(0)];
            p.product_id = r.Int(0);
            if (add) {
                p.category_id = r.Int(1);  // a product moved to another category: the last one read
                p.figures += ReadFigures(r, 2);
            } else {
                p.figures -= ReadFigures(r, 2);
            }
        });
    };
    if (whole_life) read(sql::kProductLifetimes, {scope.seller_id, scope.currency}, true);
    for (const ProductRead& p : whole_life ? outside : direct) {
        read(p.sql, {scope.seller_id, scope.currency, p.from, p.to}, p.add);
    }
    std::erase_if(out, [](const auto& entry) { return entry.second.figures == Figures{}; });
    return out;
}

void Name(db::Connection& c, std::vector<ProductFigures>& products) {
    std::vector<std::int64_t> ids;
    ids.reserve(products.size());
    for (const auto& p : products) ids.push_back(p.product_id);
    for (const catalog::StockLine& s : catalog::ReadStock(c, ids)) {
        for (auto& p : products) {
            if (p.product_id == s.product_id) p.name = s.name;
        }
    }
    for (auto& p : products) {
        if (p.name.empty()) p.name = "Product " + std::to_string(p.product_id);
    }
}

}  // namespace

std::shared_ptr<const AnalyticsService::ProductMap> AnalyticsService::ProductTotals(const Scope& scope,
                                                                                    DayRange range) {
    const std::string key = std::to_string(scope.seller_id) + "/" + scope.currency + "/" + std::to_string(range.from) +
                            "/" + std::to_string(range.to);
    const std::int64_t generation = generation_.load();
    const auto now = std::chrono::steady_clock::now();
    std::promise<std::shared_ptr<const ProductMap>> mine;
    std::optional<std::shared_future<std::shared_ptr<const ProductMap>>> waiting;
    {
        std::lock_guard lock(cache_mutex_);
        std::erase_if(cache_, [&](const CachedTotals& e) {
            return e.generation != generation || now - e.at > std::chrono::seconds(2);
        });
        for (const CachedTotals& e : cache_) {
            if (e.key == key) waiting = e.totals;
        }
        if (!waiting) {
            if (cache_.size() >= 16) cache_.erase(cache_.begin());
            cache_.push_back({key, generation, now, mine.get_future().share()});
        }
    }
    if (waiting) return waiting->get();  // outside the lock: other keys go on
    try {
        auto totals = std::make_shared<const ProductMap>(
            database_.Read([&](db::Connection& c) { return ReadProductTotals(c, scope, range); }));
        mine.set_value(totals);
        return totals;
    } catch (...) {
        mine.set_exception(std::current_exception());  // the waiters fail too; the entry is dropped
        std::lock_guard lock(cache_mutex_);
        std::erase_if(cache_, [&](const CachedTotals& e) { return e.key == key && e.generation == generation; });
        throw;
    }
}

std::vector<ProductFigures> AnalyticsService::Products(const Scope& scope, DayRange range, std::int64_t limit,
                                                       ProductOrder order) {
    return database_.Read([&](db::Connection& c) {
        std::vector<ProductFigures> all;
        for (const auto& [id, p] : *ProductTotals(scope, range)) {
            if (order != ProductOrder::kRefunds || p.figures.refunds > 0) all.push_back(p);
        }
        auto key = [order](const ProductFigures& p) {
            switch (order) {
                case ProductOrder::kUnits:
                    return p.figures.units();
                case ProductOrder::kRefunds:
                    return p.figures.refunds_cents;
                case ProductOrder::kNet:
                    break;
            }
            return p.figures.net_cents();
        };
        std::stable_sort(all.begin(), all.end(),
                         [&](const ProductFigures& a, const ProductFigures& b) { return key(a) > key(b); });
        if (static_cast<std::int64_t>(all.size()) > limit) all.resize(static_cast<std::size_t>(limit));
        Name(c, all);
        return all;
    });
}

std::vector<CategoryFigures> AnalyticsService::Categories(const Scope& scope, DayRange range) {
    std::map<std::int64_t, CategoryFigures> by_category;
    for (const auto& [id, p] : *ProductTotals(scope, range)) {
        CategoryFigures& k = by_category[p.category_id];
        k.category_id = p.category_id;
        k.figures += p.figures;
    }
    std::vector<CategoryFigures> out;
    Result<std::vector<catalog::Category>> listed = catalog_.Categories();
    // Fails only past the catalog's time budget: the database is too busy now (503, try again).
    if (!listed.ok()) throw db::DbError(db::DbError::Kind::kBusy, listed.error().message);
    const std::vector<catalog::Category>& known = *listed;
    for (auto& [id, k] : by_category) {
        auto it = std::find_if(known.begin(), known.end(),
                               [category_id = id](const catalog::Category& x) { return x.id == category_id; });
        k.slug = it != known.end() ? it->slug : "uncategorised";
        k.name = it != known.end() ? it->name : "Uncategorised";
        k.figures.orders = 0;  // lines add up per product; an order holding two is not two orders
        out.push_back(std::move(k));
    }
    std::stable_sort(out.begin(), out.end(), [](const CategoryFigures& a, const CategoryFigures& b) {
        return a.figures.net_cents() > b.figures.net_cents();
    });
    return out;
}

std::vector<SellThrough> AnalyticsService::SellThroughOf(const Scope& scope, DayRange range, std::int64_t limit) {
    std::vector<ProductFigures> sold = Products(scope, range, limit, ProductOrder::kUnits);
    std::vector<std::int64_t> ids;
    ids.reserve(sold.size());
    for (const auto& p : sold) ids.push_back(p.product_id);
    std::vector<catalog::StockLine> stock =
        database_.Read([&](db::Connection& c) { return catalog::ReadStock(c, ids); });
    std::vector<SellThrough> out;
    for (const auto& p : sold) {
        SellThrough s{p.product_id, p.name, std::max<std::int64_t>(0, p.figures.units()), 0, 0};
        for (const auto& line : stock) {
            if (line.product_id == p.product_id) s.stock = line.stock;
        }
        if (s.units + s.stock > 0) s.rate = static_cast<double>(s.units) / static_cast<double>(s.units + s.stock);
        out.push_back(std::move(s));
    }
    return out;
}

Funnel AnalyticsService::FunnelOf(std::int64_t seller_id, DayRange range) {
    return database_.Read([&](db::Connection& c) {
        Funnel f;
        c.Query(sql::kFunnel, {seller_id, range.from, range.to}, [&](const db::Row& r) {
            f.views = r.Int(0);
            f.carts = r.Int(1);
        });
        f.orders = c.QueryInt(sql::kOrdersAnyCurrency, {seller_id, range.from, range.to});
        return f;
    });
}

std::vector<std::string> AnalyticsService::Currencies(std::int64_t seller_id, DayRange range) {
    return database_.Read([&](db::Connection& c) {
        std::vector<std::string> out;
        c.Query(sql::kCurrencies, {seller_id, range.from, range.to},
                [&](const db::Row& r) { out.emplace_back(r.Text(0)); });
        return out;
    });
}

}  // namespace emporium::analytics
