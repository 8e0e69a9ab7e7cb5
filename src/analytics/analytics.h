// Seller analytics: sales rollups fed by order events, and the reports read from them.
//
// The `analytics` subscriber turns each order event into facts (orders::SaleFactsOf,
// RefundFactsOf) and adds them, in one write transaction per event, to rollup tables keyed by
// seller, currency and local day (or local hour) and, for products, by product and category and
// local day, ISO week, month and lifetime. Every fact goes to its seller's rows, in the seller's
// time zone, and to the shop's own rows (seller 0), in the shop's: a whole-shop report reads
// those, never the sellers' rows added up. An event is applied once: its id is recorded in the same
// transaction, so a replay changes nothing. Rebuild computes the same tables from the orders'
// own tables and yields exactly what the events did.
//
// Formulas (money in integer minor units, one currency at a time, never added across):
//   gross = unit list price x quantity; discounts = the lines' coupon discounts;
//   refunds = money paid back, counted on the refund's own local day (a cancellation pays back
//   what was left); net = gross - discounts - refunds; orders = orders placed that hold the
//   seller's lines (the shop counts a shared order once); units = units sold - units refunded;
//   average order value = net / orders (rounded half away from zero);
//   returning-customer rate = the share of orders placed by a customer who had ordered from the
//   same seller (or the shop) before (WooCommerce's per-order customer type).
//
// Report queries read only the rollup tables, by primary-key ranges (rollup_sql_test pins the
// plans); a product report over a long range reads each product's lifetime row less the weeks
// and days outside the range, when that is fewer rows than the range's months, weeks and days.
// Product views and add-to-carts are counted in memory and flushed every few seconds: counts per
// product and day only, nothing about who looked.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "analytics/time_zone.h"
#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"
#include "db/migrations.h"
#include "events/dispatcher.h"
#include "orders/orders.h"

namespace emporium::analytics {

std::vector<db::Migration> Migrations(db::Dialect dialect);

// The whole shop's rows are kept under this seller id.
inline constexpr std::int64_t kShop = 0;

// Local days of a report, both included.
struct DayRange {
    std::int64_t from = 0;
    std::int64_t to = 0;
    std::int64_t days() const { return to - from + 1; }
};

enum class Granularity { kHour, kDay, kWeek, kMonth, kQuarter, kYear };
std::optional<Granularity> ParseGranularity(std::string_view name);

// Whose figures, in which currency.
struct Scope {
    std::int64_t seller_id = kShop;
    std::string currency = "USD";
};

struct Figures {
    std::int64_t gross_cents = 0;
    std::int64_t discounts_cents = 0;
    std::int64_t refunds_cents = 0;
    std::int64_t orders = 0;
    std::int64_t returning_orders = 0;
    std::int64_t units_sold = 0;
    std::int64_t units_refunded = 0;
    std::int64_t refunds = 0;  // refund entries (lines paid back)

    std::int64_t net_cents() const { return gross_cents - discounts_cents - refunds_cents; }
    std::int64_t units() const { return units_sold - units_refunded; }
    std::int64_t average_order_cents() const;
    double returning_rate() const;  // 0 to 1; 0 without orders
    Figures& operator+=(const Figures& o);
    Figures& operator-=(const Figures& o);
    bool operator==(const Figures&) const = default;
};

struct Period {
    std::string label;   // "2026-03-08", "2026-03-08T01:00:00-05:00", "2026-W10"...
    std::int64_t from;   // first local day in the report
    std::int64_t to;     // last local day in the report
    std::int64_t start;  // Unix seconds the period began (clipped to the report)
    Figures figures;
};

struct ProductFigures {
    std::int64_t product_id = 0;
    std::int64_t category_id = 0;
    std::string name;
    Figures figures;  // orders: lines (orders holding the product)
};

struct CategoryFigures {
    std::int64_t category_id = 0;
    std::string slug;
    std::string name;
    Figures figures;
};

struct SellThrough {
    std::int64_t product_id = 0;
    std::string name;
    std::int64_t units = 0;  // net units sold in the range
    std::int64_t stock = 0;  // on hand now
    double rate = 0;         // units / (units + stock); 0 when both are 0
};

struct Funnel {
    std::int64_t views = 0;
    std::int64_t carts = 0;   // add-to-cart actions
    std::int64_t orders = 0;  // orders placed
};

// Lifetime figures of the whole shop in one currency, for the operators' metrics.
struct CurrencyTotals {
    std::string currency;
    Figures figures;
};

struct RebuildReport {
    std::int64_t sale_lines = 0;
    std::int64_t refund_lines = 0;
    std::int64_t through_event_id = 0;
};

enum class ProductOrder { kNet, kUnits, kRefunds };

class AnalyticsService {
public:
    // catalog: the shop's currency (asked for when a report names none) and its categories.
    AnalyticsService(db::Database& database, catalog::CatalogService& catalog, const Clock& clock);
    ~AnalyticsService();
    AnalyticsService(const AnalyticsService&) = delete;
    AnalyticsService& operator=(const AnalyticsService&) = delete;

    // The subscriber's handler: applies an order event's facts once. Events without facts are done.
    events::Outcome OnEvent(const events::Event& event);

    // Recomputes the rollups from the orders' tables in one write transaction: everyone's, or one
    // seller's (after a change of their time zone). Events committed before it are counted by it
    // and skipped by OnEvent; later ones are applied by OnEvent as usual.
    RebuildReport Rebuild(std::optional<std::int64_t> seller_id = std::nullopt);
    // Rebuilds everything once, when the rollups were never built (a new or upgraded shop: the
    // subscriber starts after the events that exist). Returns whether it did.
    bool BuildIfNeeded();

    // A seller's time zone (kShop: the shop's): their own, else the shop's, else UTC.
    std::string TimeZoneOf(std::int64_t seller_id);
    // Whether the seller set one of their own.
    bool HasOwnTimeZone(std::int64_t seller_id);
    // Sets a time zone (an IANA name; empty: follow the shop's again) and rebuilds the rows that
    // depend on it. 422 `unknown_time_zone`.
    Status SetTimeZone(std::int64_t seller_id, const std::string& name);

    // The reports, over local days of the scope's seller (or the shop).
    Figures Summary(const Scope& scope, DayRange range);
    // Every period of the range, empty ones as zeros.
    std::vector<Period> Sales(const Scope& scope, DayRange range, Granularity granularity);
    std::vector<ProductFigures> Products(const Scope& scope, DayRange range, std::int64_t limit, ProductOrder order);
    std::vector<CategoryFigures> Categories(const Scope& scope, DayRange range);
    std::vector<SellThrough> SellThroughOf(const Scope& scope, DayRange range, std::int64_t limit);
    Funnel FunnelOf(std::int64_t seller_id, DayRange range);
    // Currencies the scope's seller has figures in, over the range.
    std::vector<std::string> Currencies(std::int64_t seller_id, DayRange range);
    // Today in the seller's time zone.
    std::int64_t Today(std::int64_t seller_id);

    // Pages of the order lines and refunds behind the figures (the CSV export), each page in a
    // read of its own.
    std::vector<orders::SaleFact> ReadSales(const orders::FactQuery& query);
    std::vector<orders::RefundFact> ReadRefunds(const orders::FactQuery& query);

    std::vector<CurrencyTotals> ShopTotals();
    // When the oldest order event the rollups do not count yet was written (Unix seconds); nullopt
    // when they count every one. Read from the database (the outbox past the newest applied
    // event), so it holds on a node whose events another process applies (a web node publishing
    // to RabbitMQ, its worker applying them) and grows on one where nobody applies them. An
    // event below the newest applied one that its subscriber gave up on shows as a dead letter,
    // not here; events purged from the outbox before they were applied are not seen.
    std::optional<std::int64_t> OldestUnapplied();
    // When the newest applied event was written (Unix seconds), and when it was applied.
    std::optional<std::pair<std::int64_t, std::int64_t>> LastApplied();

    // Funnel counts, kept in memory and written by Flush (and by the flusher every interval).
    void CountView(std::int64_t product_id);
    void CountCart(std::int64_t product_id);
    void Flush();
    void StartFlusher(std::chrono::milliseconds interval);
    // Demo views and add-to-carts for a seeded history (`emporium seed`, after Rebuild), replacing
    // the funnel's rows: for each product's day with orders, one to three adds to cart per order
    // line and four to twelve views per add, so views >= adds >= orders on every day. Each is
    // counted for the shop on its day and for the product's seller on the seller's day, as
    // CountView and CountCart would have. The same seed and history give the same counts.
    void SeedFunnel(std::uint64_t seed);
    void StopFlusher();

private:
    using ProductMap = std::map<std::int64_t, ProductFigures>;
    std::optional<Zone> ZoneOf(db::Connection& c, std::int64_t seller_id);
    // Each product's figures over a range (the four product reports of one page load ask for the
    // same), kept while no event was applied since and for at most two seconds (other processes).
    std::shared_ptr<const ProductMap> ProductTotals(const Scope& scope, DayRange range);
    void Changed() { ++generation_; }

    db::Database& database_;
    catalog::CatalogService& catalog_;
    const Clock& clock_;

    std::mutex counts_mutex_;                     // guards views_ and carts_
    std::map<std::int64_t, std::int64_t> views_;  // product id -> views since the last flush
    std::map<std::int64_t, std::int64_t> carts_;

    // One computation per key at a time: a page's four product reports arrive together, and the
    // later ones wait for the first instead of reading the same rows four times over.
    struct CachedTotals {
        std::string key;
        std::int64_t generation = 0;
        std::chrono::steady_clock::time_point at;
        std::shared_future<std::shared_ptr<const ProductMap>> totals;
    };
    std::atomic<std::int64_t> generation_{0};  // applied events and rebuilds so far
    std::mutex cache_mutex_;                   // guards cache_
    std::vector<CachedTotals> cache_;          // a few, newest last

    std::mutex flusher_mutex_;  // guards flusher_stopping_
    std::condition_variable flusher_wake_;
    bool flusher_stopping_ = false;
    std::thread flusher_;
};

}  // namespace emporium::analytics
