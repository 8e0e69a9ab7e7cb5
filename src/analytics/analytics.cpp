#include "analytics/analytics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <set>
#include <tuple>

#include "analytics/rollup.h"
#include "events/outbox.h"
#include "orders/orders.h"

namespace emporium::analytics {

using internal::AddOrder;
using internal::AddRefund;
using internal::Target;

namespace {

constexpr const char* kFigures =
    "orders BIGINT NOT NULL, returning_orders BIGINT NOT NULL, gross_cents BIGINT NOT NULL,"
    " discounts_cents BIGINT NOT NULL, refunds_cents BIGINT NOT NULL, units_sold BIGINT NOT NULL,"
    " units_refunded BIGINT NOT NULL, refunds BIGINT NOT NULL";
constexpr const char* kSums =
    "SUM(orders), SUM(returning_orders), SUM(gross_cents), SUM(discounts_cents), SUM(refunds_cents),"
    " SUM(units_sold), SUM(units_refunded), SUM(refunds)";

}  // namespace

std::vector<db::Migration> Migrations(db::Dialect dialect) {
    const std::string f = kFigures;
    // SQLite keeps a rollup table in its primary key's order: a report's range is one walk over
    // neighbouring rows. PostgreSQL's tables have no rowid to drop.
    const std::string clustered = dialect == db::Dialect::kSqlite ? ") WITHOUT ROWID;" : ");";
    return {{"analytics", 1,
             // Time zones (seller 0 is the shop) and the event id each seller's rows were last
             // rebuilt through.
             "CREATE TABLE analytics_sellers (seller_id BIGINT PRIMARY KEY, time_zone TEXT NOT NULL,"
             " rebuilt_through BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
             "CREATE TABLE analytics_days (seller_id BIGINT NOT NULL, currency TEXT NOT NULL, day BIGINT NOT NULL, " +
                 f + ", PRIMARY KEY (seller_id, currency, day)" + clustered +
                 "CREATE TABLE analytics_hours (seller_id BIGINT NOT NULL, currency TEXT NOT NULL,"
                 " hour_start BIGINT NOT NULL, " +
                 f + ", PRIMARY KEY (seller_id, currency, hour_start)" + clustered +
                 "CREATE TABLE analytics_products (seller_id BIGINT NOT NULL, currency TEXT NOT NULL,"
                 " day BIGINT NOT NULL, product_id BIGINT NOT NULL, category_id BIGINT NOT NULL, " +
                 f + ", PRIMARY KEY (seller_id, currency, day, product_id, category_id)" + clustered +
                 "CREATE TABLE analytics_product_months (seller_id BIGINT NOT NULL, currency TEXT NOT NULL,"
                 " month BIGINT NOT NULL, product_id BIGINT NOT NULL, category_id BIGINT NOT NULL, " +
                 f + ", PRIMARY KEY (seller_id, currency, month, product_id, category_id)" + clustered +
                 "CREATE TABLE analytics_totals (currency TEXT PRIMARY KEY, " + f +
                 ");"
                 "CREATE TABLE analytics_customers (seller_id BIGINT NOT NULL, user_id BIGINT NOT NULL,"
                 " first_order_id BIGINT NOT NULL, PRIMARY KEY (seller_id, user_id));"
                 "CREATE TABLE analytics_funnel (seller_id BIGINT NOT NULL, day BIGINT NOT NULL,"
                 " product_id BIGINT NOT NULL, views BIGINT NOT NULL, carts BIGINT NOT NULL,"
                 " PRIMARY KEY (seller_id, day, product_id)" +
                 clustered +
                 "CREATE TABLE analytics_applied (event_id BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);"
                 // One row: when the rollups were built, and the newest applied event.
                 "CREATE TABLE analytics_state (id INTEGER PRIMARY KEY CHECK (id = 1), built_at BIGINT NOT NULL,"
                 " rebuilt_through BIGINT NOT NULL, last_event_at BIGINT NOT NULL, last_applied_at BIGINT NOT NULL);"},
            // Products by ISO week (the Monday's day number) and over their lifetime: a year of a
            // whole shop's products reads each product's lifetime row less the few weeks and days
            // outside the range, not twelve months and the days at either end. Filled from the
            // daily rows already there, so an upgraded shop's reports stay exact.
            {"analytics", 2,
             "CREATE TABLE analytics_product_weeks (seller_id BIGINT NOT NULL, currency TEXT NOT NULL,"
             " week BIGINT NOT NULL, product_id BIGINT NOT NULL, category_id BIGINT NOT NULL, " +
                 f + ", PRIMARY KEY (seller_id, currency, week, product_id, category_id)" + clustered +
                 "CREATE TABLE analytics_product_totals (seller_id BIGINT NOT NULL, currency TEXT NOT NULL,"
                 " product_id BIGINT NOT NULL, category_id BIGINT NOT NULL, " +
                 f + ", PRIMARY KEY (seller_id, currency, product_id, category_id)" + clustered +
                 // Weekday(day) = (day + 3) % 7 with Monday 0 (1970-01-01 was a Thursday; days are >= 0).
                 "INSERT INTO analytics_product_weeks SELECT seller_id, currency, day - (day + 3) % 7, product_id,"
                 " category_id, " +
                 kSums +
                 " FROM analytics_products GROUP BY seller_id, currency, day - (day + 3) % 7, product_id, category_id;"
                 "INSERT INTO analytics_product_totals SELECT seller_id, currency, product_id, category_id, " +
                 kSums + " FROM analytics_products GROUP BY seller_id, currency, product_id, category_id;"}};
}

std::optional<Granularity> ParseGranularity(std::string_view name) {
    if (name == "hour") return Granularity::kHour;
    if (name == "day") return Granularity::kDay;
    if (name == "week") return Granularity::kWeek;
    if (name == "month") return Granularity::kMonth;
    if (name == "quarter") return Granularity::kQuarter;
    if (name == "year") return Granularity::kYear;
    return std::nullopt;
}

std::int64_t Figures::average_order_cents() const {
    if (orders == 0) return 0;
    const std::int64_t net = net_cents();
    // Half away from zero, in integers.
    const std::int64_t q = net / orders, r = net % orders;
    if (2 * std::abs(r) >= orders) return q + (net < 0 ? -1 : 1);
    return q;
}

double Figures::returning_rate() const {
    return orders == 0 ? 0.0 : static_cast<double>(returning_orders) / static_cast<double>(orders);
}

Figures& Figures::operator-=(const Figures& o) {
    orders -= o.orders;
    returning_orders -= o.returning_orders;
    gross_cents -= o.gross_cents;
    discounts_cents -= o.discounts_cents;
    refunds_cents -= o.refunds_cents;
    units_sold -= o.units_sold;
    units_refunded -= o.units_refunded;
    refunds -= o.refunds;
    return *this;
}

Figures& Figures::operator+=(const Figures& o) {
    orders += o.orders;
    returning_orders += o.returning_orders;
    gross_cents += o.gross_cents;
    discounts_cents += o.discounts_cents;
    refunds_cents += o.refunds_cents;
    units_sold += o.units_sold;
    units_refunded += o.units_refunded;
    refunds += o.refunds;
    return *this;
}

AnalyticsService::AnalyticsService(db::Database& database, catalog::CatalogService& catalog, const Clock& clock)
    : database_(database), catalog_(catalog), clock_(clock) {}

AnalyticsService::~AnalyticsService() {
    StopFlusher();
}

namespace {

std::string ZoneName(db::Connection& c, std::int64_t seller_id) {
    std::string name;
    for (std::int64_t who : {seller_id, kShop}) {
        c.Query("SELECT time_zone FROM analytics_sellers WHERE seller_id = ?", {who},
                [&](const db::Row& r) { name = r.Text(0); });
        if (!name.empty()) return name;
    }
    return "UTC";
}

// The event id through which a seller's rows already count everything: the later of the whole
// rebuild's and the seller's own.
std::int64_t Watermark(db::Connection& c, std::int64_t seller_id) {
    const std::int64_t whole = c.QueryInt("SELECT rebuilt_through FROM analytics_state WHERE id = 1", {}, 0);
    return std::max(whole,
                    c.QueryInt("SELECT rebuilt_through FROM analytics_sellers WHERE seller_id = ?", {seller_id}, 0));
}

void NoteApplied(db::Connection& c, std::int64_t event_at, std::int64_t now) {
    c.Execute(
        "INSERT INTO analytics_state (id, built_at, rebuilt_through, last_event_at, last_applied_at)"
        " VALUES (1, ?, 0, ?, ?) ON CONFLICT (id) DO UPDATE SET last_event_at = CASE WHEN excluded.last_event_at >"
        " analytics_state.last_event_at THEN excluded.last_event_at ELSE analytics_state.last_event_at END,"
        " last_applied_at = excluded.last_applied_at",
        {now, event_at, now});
}

// The order events the subscriber reads facts from (orders::SaleFactsOf, RefundFactsOf): each is
// recorded as applied, with facts or without (a cancellation before payment), so that the lag
// read from the database sees every one of them either applied or not.
constexpr std::array<std::string_view, 4> kFactTypes = {"order.placed", "order.cancelled", "order.refunded",
                                                        "order.partially_refunded"};

bool MayCarryFacts(std::string_view type) {
    return std::find(kFactTypes.begin(), kFactTypes.end(), type) != kFactTypes.end();
}

// "('order.placed', ...)": the types as an SQL list (constants, not input).
std::string FactTypesSql() {
    std::string out = "(";
    for (std::string_view t : kFactTypes) out += (out.size() > 1 ? ", '" : "'") + std::string(t) + "'";
    return out + ")";
}

}  // namespace

std::optional<Zone> AnalyticsService::ZoneOf(db::Connection& c, std::int64_t seller_id) {
    return Zone::Find(ZoneName(c, seller_id));
}

events::Outcome AnalyticsService::OnEvent(const events::Event& event) {
    std::vector<orders::SaleFact> sold = orders::SaleFactsOf(event.type, event.payload_json, event.created_at);
    std::vector<orders::RefundFact> refunds = orders::RefundFactsOf(event.type, event.payload_json, event.created_at);
    if (sold.empty() && refunds.empty() && !MayCarryFacts(event.type)) return events::Outcome::Done();
    const std::int64_t now = UnixSeconds(clock_.Now());
    return database_.Write([&](db::Connection& c) -> events::Outcome {
        // Once per event: a replay (a redelivery after a crash, a second worker) finds its id.
        if (c.Execute("INSERT INTO analytics_applied (event_id, applied_at) VALUES (?, ?) ON CONFLICT (event_id)"
                      " DO NOTHING",
                      {event.id, now}) == 0) {
            return events::Outcome::Done();
        }
        std::set<std::int64_t> sellers{kShop};
        for (const auto& l : sold) sellers.insert(l.seller_id);
        for (const auto& r : refunds) sellers.insert(r.seller_id);
        std::vector<Target> targets;
        for (std::int64_t s : sellers) {
            if (event.id <= Watermark(c, s)) continue;  // a rebuild already counted it
            std::optional<Zone> zone = ZoneOf(c, s);
            if (!zone) return events::Outcome::Retry("time zone " + ZoneName(c, s) + " is unknown here");
            targets.push_back({s, *zone});
        }
        internal::TableSink sink(c);
        AddOrder(sink, sold, targets);
        for (const auto& r : refunds) AddRefund(sink, r, targets);
        NoteApplied(c, event.created_at, now);
        Changed();
        return events::Outcome::Done();
    });
}

namespace {

void DeleteRows(db::Connection& c, std::optional<std::int64_t> seller_id) {
    for (const char* table : {"analytics_days", "analytics_hours", "analytics_products", "analytics_product_weeks",
                              "analytics_product_months", "analytics_product_totals", "analytics_customers"}) {
        if (seller_id) {
            c.Execute(std::string("DELETE FROM ") + table + " WHERE seller_id = ?", {*seller_id});
        } else {
            c.Execute(std::string("DELETE FROM ") + table);
        }
    }
    if (!seller_id || *seller_id == kShop) c.Execute("DELETE FROM analytics_totals");
}

}  // namespace

RebuildReport AnalyticsService::Rebuild(std::optional<std::int64_t> seller_id) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    return database_.Write([&](db::Connection& c) {
        RebuildReport report;
        // The orders' tables and the outbox in this one snapshot: every event up to here is in them.
        report.through_event_id = events::LastId(c);
        std::map<std::int64_t, std::optional<Zone>> zones;
        auto targets_for = [&](const std::vector<std::int64_t>& sellers) {
            std::vector<Target> out;
            for (std::int64_t s : sellers) {
                auto it = zones.find(s);
                if (it == zones.end()) it = zones.emplace(s, ZoneOf(c, s)).first;
                if (it->second) out.push_back({s, *it->second});
            }
            return out;
        };
        // A seller's rows are that seller's lines (the shop's rows, every line): the query picks
        // the lines, the targets the rows.
        std::optional<std::int64_t> only = seller_id && *seller_id != kShop ? seller_id : std::nullopt;
        internal::MemorySink sink;
        orders::FactQuery q;
        q.seller_id = only;
        for (;;) {
            std::vector<orders::SaleFact> facts = orders::ReadSaleFacts(c, q);
            if (facts.empty()) break;
            for (std::size_t i = 0; i < facts.size();) {
                std::size_t j = i;
                std::vector<std::int64_t> sellers =
                    seller_id ? std::vector<std::int64_t>{*seller_id} : std::vector<std::int64_t>{kShop};
                while (j < facts.size() && facts[j].order_id == facts[i].order_id) {
                    if (!seller_id) sellers.push_back(facts[j].seller_id);
                    ++j;
                }
                std::sort(sellers.begin(), sellers.end());
                sellers.erase(std::unique(sellers.begin(), sellers.end()), sellers.end());
                AddOrder(
                    sink,
                    {facts.begin() + static_cast<std::ptrdiff_t>(i), facts.begin() + static_cast<std::ptrdiff_t>(j)},
                    targets_for(sellers));
                report.sale_lines += static_cast<std::int64_t>(j - i);
                i = j;
            }
            q.after_id = facts.back().order_id;
        }
        q.after_id = 0;
        for (;;) {
            std::vector<orders::RefundFact> facts = orders::ReadRefundFacts(c, q);
            if (facts.empty()) break;
            for (const orders::RefundFact& r : facts) {
                AddRefund(sink, r,
                          targets_for(seller_id ? std::vector<std::int64_t>{*seller_id}
                                                : std::vector<std::int64_t>{kShop, r.seller_id}));
            }
            report.refund_lines += static_cast<std::int64_t>(facts.size());
            q.after_id = facts.back().refund_id;
        }
        DeleteRows(c, seller_id);
        sink.Write(c);
        if (seller_id) {
            c.Execute(
                "INSERT INTO analytics_sellers (seller_id, time_zone, rebuilt_through, updated_at) VALUES (?, '', ?, ?)"
                " ON CONFLICT (seller_id) DO UPDATE SET rebuilt_through = excluded.rebuilt_through,"
                " updated_at = excluded.updated_at",
                {*seller_id, report.through_event_id, now});
        } else {
            c.Execute(
                "INSERT INTO analytics_state (id, built_at, rebuilt_through, last_event_at, last_applied_at)"
                " VALUES (1, ?, ?, 0, ?) ON CONFLICT (id) DO UPDATE SET built_at = excluded.built_at,"
                " rebuilt_through = excluded.rebuilt_through, last_applied_at = excluded.last_applied_at",
                {now, report.through_event_id, now});
        }
        Changed();
        return report;
    });
}

bool AnalyticsService::BuildIfNeeded() {
    const bool built = database_.Read(
        [](db::Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM analytics_state WHERE built_at > 0") > 0; });
    if (built) return false;
    Rebuild();
    return true;
}

std::string AnalyticsService::TimeZoneOf(std::int64_t seller_id) {
    return database_.Read([&](db::Connection& c) { return ZoneName(c, seller_id); });
}

bool AnalyticsService::HasOwnTimeZone(std::int64_t seller_id) {
    return database_.Read([&](db::Connection& c) {
        return c.QueryInt("SELECT COUNT(*) FROM analytics_sellers WHERE seller_id = ? AND time_zone <> ''",
                          {seller_id}) > 0;
    });
}

Status AnalyticsService::SetTimeZone(std::int64_t seller_id, const std::string& name) {
    if (!name.empty() && !Zone::Find(name)) {
        return Error::Validation(
            {FieldError::Coded("time_zone", "unknown_time_zone", "is not a time zone name such as Europe/Berlin")});
    }
    const std::int64_t now = UnixSeconds(clock_.Now());
    std::vector<std::int64_t> affected{seller_id};
    database_.Write([&](db::Connection& c) {
        c.Execute(
            "INSERT INTO analytics_sellers (seller_id, time_zone, rebuilt_through, updated_at) VALUES (?, ?, 0, ?)"
            " ON CONFLICT (seller_id) DO UPDATE SET time_zone = excluded.time_zone, updated_at = excluded.updated_at",
            {seller_id, name, now});
        if (seller_id == kShop) {
            // Sellers who follow the shop's zone follow it here too.
            c.Query(
                "SELECT DISTINCT seller_id FROM analytics_days WHERE seller_id <> 0 AND seller_id NOT IN"
                " (SELECT seller_id FROM analytics_sellers WHERE time_zone <> '')",
                {}, [&](const db::Row& r) { affected.push_back(r.Int(0)); });
        }
    });
    // Buckets are local days: each affected seller's rows are made again in the new zone.
    for (std::int64_t s : affected) Rebuild(s);
    return Ok{};
}

std::int64_t AnalyticsService::Today(std::int64_t seller_id) {
    std::optional<Zone> zone = Zone::Find(TimeZoneOf(seller_id));
    const std::int64_t now = UnixSeconds(clock_.Now());
    return zone ? zone->LocalDay(now) : now / 86400;
}

std::vector<orders::SaleFact> AnalyticsService::ReadSales(const orders::FactQuery& query) {
    return database_.Read([&](db::Connection& c) { return orders::ReadSaleFacts(c, query); });
}

std::vector<orders::RefundFact> AnalyticsService::ReadRefunds(const orders::FactQuery& query) {
    return database_.Read([&](db::Connection& c) { return orders::ReadRefundFacts(c, query); });
}

std::vector<CurrencyTotals> AnalyticsService::ShopTotals() {
    return database_.Read([](db::Connection& c) {
        std::vector<CurrencyTotals> out;
        c.Query(
            "SELECT currency, orders, returning_orders, gross_cents, discounts_cents, refunds_cents, units_sold,"
            " units_refunded, refunds FROM analytics_totals ORDER BY currency",
            {}, [&](const db::Row& r) {
                out.push_back({std::string(r.Text(0)),
                               {r.Int(3), r.Int(4), r.Int(5), r.Int(1), r.Int(2), r.Int(6), r.Int(7), r.Int(8)}});
            });
        return out;
    });
}

std::optional<std::int64_t> AnalyticsService::OldestUnapplied() {
    return database_.Read([](db::Connection& c) -> std::optional<std::int64_t> {
        const std::int64_t through =
            std::max(c.QueryInt("SELECT COALESCE(MAX(event_id), 0) FROM analytics_applied"),
                     c.QueryInt("SELECT rebuilt_through FROM analytics_state WHERE id = 1", {}, 0));
        // Events come in id order: the first one past the newest applied is the oldest waiting.
        std::optional<std::int64_t> at;
        c.Query(std::string("SELECT created_at FROM outbox WHERE id > ? AND type IN ") + FactTypesSql() +
                    " ORDER BY id LIMIT 1",
                {through}, [&](const db::Row& r) { at = r.Int(0); });
        return at;
    });
}

std::optional<std::pair<std::int64_t, std::int64_t>> AnalyticsService::LastApplied() {
    return database_.Read([](db::Connection& c) {
        std::optional<std::pair<std::int64_t, std::int64_t>> out;
        c.Query("SELECT last_event_at, last_applied_at FROM analytics_state WHERE id = 1", {},
                [&](const db::Row& r) { out = std::make_pair(r.Int(0), r.Int(1)); });
        return out;
    });
}

// --- the funnel's counts ----------------------------------------------------------------------

namespace {

// Products counted between two flushes, at most: ids come from anyone, so the map is bounded (a
// flood of made-up ids loses its own counts, not memory).
constexpr std::size_t kMaxCountedProducts = 50'000;

void Count(std::map<std::int64_t, std::int64_t>& counts, std::int64_t product_id) {
    auto it = counts.find(product_id);
    if (it != counts.end()) {
        ++it->second;
    } else if (counts.size() < kMaxCountedProducts) {
        counts.emplace(product_id, 1);
    }
}

}  // namespace

void AnalyticsService::CountView(std::int64_t product_id) {
    std::lock_guard lock(counts_mutex_);
    Count(views_, product_id);
}

void AnalyticsService::CountCart(std::int64_t product_id) {
    std::lock_guard lock(counts_mutex_);
    Count(carts_, product_id);
}

void AnalyticsService::Flush() {
    std::map<std::int64_t, std::int64_t> views, carts;
    {
        std::lock_guard lock(counts_mutex_);
        views.swap(views_);
        carts.swap(carts_);
    }
    if (views.empty() && carts.empty()) return;
    std::set<std::int64_t> ids;
    for (const auto& [id, n] : views) ids.insert(id);
    for (const auto& [id, n] : carts) ids.insert(id);
    const std::int64_t now = UnixSeconds(clock_.Now());
    database_.Write([&](db::Connection& c) {
        // Only products that exist count: a made-up id adds nothing anywhere.
        std::vector<catalog::StockLine> products = catalog::ReadStock(c, {ids.begin(), ids.end()});
        std::map<std::int64_t, std::optional<Zone>> zones;
        for (const catalog::StockLine& p : products) {
            const std::int64_t v = views.count(p.product_id) ? views[p.product_id] : 0;
            const std::int64_t k = carts.count(p.product_id) ? carts[p.product_id] : 0;
            for (std::int64_t s : {p.seller_id, kShop}) {
                auto it = zones.find(s);
                if (it == zones.end()) it = zones.emplace(s, ZoneOf(c, s)).first;
                const std::int64_t day = it->second ? it->second->LocalDay(now) : now / 86400;
                c.Execute(
                    "INSERT INTO analytics_funnel (seller_id, day, product_id, views, carts) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (seller_id, day, product_id) DO UPDATE SET views = analytics_funnel.views +"
                    " excluded.views, carts = analytics_funnel.carts + excluded.carts",
                    {s, day, p.product_id, v, k});
            }
        }
    });
}

void AnalyticsService::SeedFunnel(std::uint64_t seed) {
    database_.Write([&](db::Connection& c) {
        // The shop's product days with orders (every currency: the funnel counts actions, not money).
        std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> lines;  // (day, product) -> order lines
        c.Query("SELECT day, product_id, orders FROM analytics_products WHERE seller_id = ? AND orders > 0", {kShop},
                [&](const db::Row& r) {
                    lines[{r.Int(0), r.Int(1)}] += r.Int(2);
                });
        std::set<std::int64_t> ids;
        for (const auto& [key, n] : lines) ids.insert(key.second);
        std::map<std::int64_t, std::int64_t> seller_of;
        for (const catalog::StockLine& p : catalog::ReadStock(c, {ids.begin(), ids.end()})) {
            seller_of[p.product_id] = p.seller_id;
        }
        const Zone shop_zone = ZoneOf(c, kShop).value_or(*Zone::Find("UTC"));
        std::map<std::int64_t, std::optional<Zone>> zones;
        // Raw draws of a fixed generator in a fixed order: the same seed gives the same counts on
        // every platform (the standard distributions may differ between libraries).
        std::mt19937_64 random(seed);
        std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t>, std::pair<std::int64_t, std::int64_t>> rows;
        for (const auto& [key, n] : lines) {
            const auto [day, product] = key;
            auto seller = seller_of.find(product);
            if (seller == seller_of.end()) continue;  // a product deleted since: nobody can view it
            // One to three adds to cart for each order line, four to twelve views for each add.
            const std::int64_t carts = n * static_cast<std::int64_t>(1 + random() % 3);
            const std::int64_t views = carts * static_cast<std::int64_t>(4 + random() % 9);
            auto zone = zones.find(seller->second);
            if (zone == zones.end()) zone = zones.emplace(seller->second, ZoneOf(c, seller->second)).first;
            // Counted for the shop on its day, and for the seller on the seller's day at the shop's noon.
            const std::int64_t noon = shop_zone.DayStart(day) + std::int64_t{12} * 3600;
            const std::int64_t seller_day = zone->second ? zone->second->LocalDay(noon) : noon / 86400;
            for (const auto& [who, when] : {std::pair{kShop, day}, std::pair{seller->second, seller_day}}) {
                auto& [v, k] = rows[{who, when, product}];
                v += views;
                k += carts;
            }
        }
        c.Execute("DELETE FROM analytics_funnel");
        for (const auto& [key, counts] : rows) {
            c.Execute("INSERT INTO analytics_funnel (seller_id, day, product_id, views, carts) VALUES (?, ?, ?, ?, ?)",
                      {std::get<0>(key), std::get<1>(key), std::get<2>(key), counts.first, counts.second});
        }
    });
}

void AnalyticsService::StartFlusher(std::chrono::milliseconds interval) {
    if (flusher_.joinable()) return;
    flusher_ = std::thread([this, interval] {
        for (;;) {
            std::unique_lock lock(flusher_mutex_);
            const bool stopping = flusher_wake_.wait_for(lock, interval, [&] { return flusher_stopping_; });
            lock.unlock();
            try {
                Flush();
            } catch (const std::exception&) {
                // The database is away for a moment: the counts of this round are lost, not the shop.
            }
            if (stopping) return;
        }
    });
}

void AnalyticsService::StopFlusher() {
    {
        std::lock_guard lock(flusher_mutex_);
        flusher_stopping_ = true;
    }
    flusher_wake_.notify_all();
    if (flusher_.joinable()) flusher_.join();
}

}  // namespace emporium::analytics
