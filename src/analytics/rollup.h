// Private to the analytics module: how facts become rollup rows. The one decomposition is used
// by the subscriber (adding to the tables row by row) and by a rebuild (adding up in memory and
// writing once), so both give the same rows.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "analytics/analytics.h"
#include "analytics/time_zone.h"
#include "db/database.h"
#include "orders/orders.h"

namespace emporium::analytics::internal {

// kProductWeeks: ISO weeks (bucket: the Monday's day number); kProductTotals: each product's
// lifetime (bucket 0), so that a long range can be read as the lifetime less what lies outside it.
enum class Table { kDays, kHours, kProducts, kProductMonths, kTotals, kProductWeeks, kProductTotals };

struct Key {
    Table table = Table::kDays;
    std::int64_t seller_id = 0;
    std::string currency;
    std::int64_t bucket = 0;  // day, hour start, week's Monday, or month (year * 12 + month - 1); 0 for totals
    std::int64_t product_id = 0;
    std::int64_t category_id = 0;
    auto Tie() const { return std::tie(table, seller_id, currency, bucket, product_id, category_id); }
    bool operator<(const Key& o) const { return Tie() < o.Tie(); }
};

// The month of a local day.
std::int64_t MonthOf(std::int64_t day);
std::int64_t FirstDayOfMonth(std::int64_t month);
// The Monday of a local day's ISO week.
std::int64_t WeekOf(std::int64_t day);

// Where figures go.
class Sink {
public:
    virtual ~Sink() = default;
    virtual void Add(const Key& key, const Figures& figures) = 0;
    // Whether user had an order with seller (kShop: the shop) before order_id; remembers this one.
    virtual bool Returning(std::int64_t seller_id, std::int64_t user_id, std::int64_t order_id) = 0;
};

// Adds to the tables at once (the subscriber's transaction).
class TableSink final : public Sink {
public:
    explicit TableSink(db::Connection& c) : c_(c) {}
    void Add(const Key& key, const Figures& figures) override;
    bool Returning(std::int64_t seller_id, std::int64_t user_id, std::int64_t order_id) override;

private:
    db::Connection& c_;
};

// Adds up in memory; Write puts every row in the tables (a rebuild, after deleting).
class MemorySink final : public Sink {
public:
    void Add(const Key& key, const Figures& figures) override { rows_[key] += figures; }
    bool Returning(std::int64_t seller_id, std::int64_t user_id, std::int64_t order_id) override;
    void Write(db::Connection& c);

private:
    std::map<Key, Figures> rows_;
    std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> first_orders_;
};

// A seller (or the shop) whose rows a fact adds to, in that seller's time zone.
struct Target {
    std::int64_t seller_id = 0;
    Zone zone;
};

// Adds one order's lines (all of one order, one currency) to each target: the lines of the
// target's seller (every line for the shop).
void AddOrder(Sink& sink, const std::vector<orders::SaleFact>& lines, const std::vector<Target>& targets);
// Adds one refund to the targets of its seller and the shop.
void AddRefund(Sink& sink, const orders::RefundFact& refund, const std::vector<Target>& targets);

}  // namespace emporium::analytics::internal
