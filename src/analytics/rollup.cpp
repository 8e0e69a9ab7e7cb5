#include "analytics/rollup.h"

#include <algorithm>

namespace emporium::analytics::internal {
namespace {

constexpr const char* kFigureColumns =
    "orders, returning_orders, gross_cents, discounts_cents, refunds_cents, units_sold, units_refunded, refunds";

// The key columns of each table, in Key's order (seller, currency, bucket, product, category).
struct TableShape {
    const char* name;
    const char* keys;
    int key_count;
};

TableShape Shape(Table table) {
    switch (table) {
        case Table::kDays:
            return {"analytics_days", "seller_id, currency, day", 3};
        case Table::kHours:
            return {"analytics_hours", "seller_id, currency, hour_start", 3};
        case Table::kProducts:
            return {"analytics_products", "seller_id, currency, day, product_id, category_id", 5};
        case Table::kProductMonths:
            return {"analytics_product_months", "seller_id, currency, month, product_id, category_id", 5};
        case Table::kTotals:
            return {"analytics_totals", "currency", 1};
        case Table::kProductWeeks:
            return {"analytics_product_weeks", "seller_id, currency, week, product_id, category_id", 5};
        case Table::kProductTotals:
            return {"analytics_product_totals", "seller_id, currency, product_id, category_id", 4};
    }
    return {"analytics_days", "seller_id, currency, day", 3};
}

std::string UpsertSql(Table table) {
    TableShape s = Shape(table);
    std::string placeholders;
    for (int i = 0; i < s.key_count + 8; ++i) placeholders += i == 0 ? "?" : ", ?";
    std::string sql = std::string("INSERT INTO ") + s.name + " (" + s.keys + ", " + kFigureColumns + ") VALUES (" +
                      placeholders + ") ON CONFLICT (" + s.keys + ") DO UPDATE SET ";
    const char* figures[] = {"orders",        "returning_orders", "gross_cents",    "discounts_cents",
                             "refunds_cents", "units_sold",       "units_refunded", "refunds"};
    for (std::size_t i = 0; i < std::size(figures); ++i) {
        if (i > 0) sql += ", ";
        sql += std::string(figures[i]) + " = " + s.name + "." + figures[i] + " + excluded." + figures[i];
    }
    return sql;
}

db::Params Bind(const Key& key, const Figures& f) {
    db::Params p;
    if (key.table != Table::kTotals) p.emplace_back(key.seller_id);
    p.emplace_back(key.currency);
    if (key.table != Table::kTotals && key.table != Table::kProductTotals) p.emplace_back(key.bucket);
    if (key.table == Table::kProducts || key.table == Table::kProductMonths || key.table == Table::kProductWeeks ||
        key.table == Table::kProductTotals) {
        p.emplace_back(key.product_id);
        p.emplace_back(key.category_id);
    }
    for (std::int64_t v : {f.orders, f.returning_orders, f.gross_cents, f.discounts_cents, f.refunds_cents,
                           f.units_sold, f.units_refunded, f.refunds}) {
        p.emplace_back(v);
    }
    return p;
}

const std::string& CachedUpsert(Table table) {
    static const std::string kSql[] = {UpsertSql(Table::kDays),         UpsertSql(Table::kHours),
                                       UpsertSql(Table::kProducts),     UpsertSql(Table::kProductMonths),
                                       UpsertSql(Table::kTotals),       UpsertSql(Table::kProductWeeks),
                                       UpsertSql(Table::kProductTotals)};
    return kSql[static_cast<int>(table)];
}

}  // namespace

std::int64_t MonthOf(std::int64_t day) {
    Ymd d = CivilDate(day);
    return std::int64_t{d.year} * 12 + d.month - 1;
}

std::int64_t WeekOf(std::int64_t day) {
    return day - Weekday(day);
}

std::int64_t FirstDayOfMonth(std::int64_t month) {
    return DayNumber({static_cast<int>(month / 12), static_cast<int>(month % 12) + 1, 1});
}

void TableSink::Add(const Key& key, const Figures& figures) {
    c_.Execute(CachedUpsert(key.table), Bind(key, figures));
}

bool TableSink::Returning(std::int64_t seller_id, std::int64_t user_id, std::int64_t order_id) {
    const std::int64_t first = c_.QueryInt(
        "SELECT first_order_id FROM analytics_customers WHERE seller_id = ? AND user_id = ?", {seller_id, user_id}, 0);
    if (first == 0 || order_id < first) {
        c_.Execute(
            "INSERT INTO analytics_customers (seller_id, user_id, first_order_id) VALUES (?, ?, ?)"
            " ON CONFLICT (seller_id, user_id) DO UPDATE SET first_order_id = excluded.first_order_id",
            {seller_id, user_id, order_id});
    }
    return first != 0 && first < order_id;
}

bool MemorySink::Returning(std::int64_t seller_id, std::int64_t user_id, std::int64_t order_id) {
    auto [it, inserted] = first_orders_.try_emplace({seller_id, user_id}, order_id);
    if (inserted) return false;
    const bool before = it->second < order_id;
    it->second = std::min(it->second, order_id);
    return before;
}

void MemorySink::Write(db::Connection& c) {
    for (const auto& [key, figures] : rows_) c.Execute(CachedUpsert(key.table), Bind(key, figures));
    for (const auto& [who, first] : first_orders_) {
        c.Execute("INSERT INTO analytics_customers (seller_id, user_id, first_order_id) VALUES (?, ?, ?)",
                  {who.first, who.second, first});
    }
}

namespace {

// The rows every fact of a target adds to, plus the shop's lifetime totals.
void AddEverywhere(Sink& sink, const Target& t, const std::string& currency, std::int64_t at,
                   const std::vector<std::pair<std::pair<std::int64_t, std::int64_t>, Figures>>& products,
                   const Figures& whole) {
    const std::int64_t day = t.zone.LocalDay(at);
    const std::int64_t month = MonthOf(day);
    sink.Add({Table::kDays, t.seller_id, currency, day, 0, 0}, whole);
    sink.Add({Table::kHours, t.seller_id, currency, t.zone.HourStart(at), 0, 0}, whole);
    for (const auto& [product, figures] : products) {
        sink.Add({Table::kProducts, t.seller_id, currency, day, product.first, product.second}, figures);
        sink.Add({Table::kProductWeeks, t.seller_id, currency, WeekOf(day), product.first, product.second}, figures);
        sink.Add({Table::kProductMonths, t.seller_id, currency, month, product.first, product.second}, figures);
        sink.Add({Table::kProductTotals, t.seller_id, currency, 0, product.first, product.second}, figures);
    }
    if (t.seller_id == kShop) sink.Add({Table::kTotals, kShop, currency, 0, 0, 0}, whole);
}

}  // namespace

void AddOrder(Sink& sink, const std::vector<orders::SaleFact>& lines, const std::vector<Target>& targets) {
    if (lines.empty()) return;
    const orders::SaleFact& first = lines.front();
    for (const Target& t : targets) {
        std::vector<std::pair<std::pair<std::int64_t, std::int64_t>, Figures>> products;
        Figures whole;
        for (const orders::SaleFact& l : lines) {
            if (t.seller_id != kShop && l.seller_id != t.seller_id) continue;
            Figures f;
            f.orders = 1;  // for a product: the orders holding it
            f.gross_cents = l.gross_cents;
            f.discounts_cents = l.discount_cents;
            f.units_sold = l.quantity;
            products.push_back({{l.product_id, l.category_id}, f});
            whole.gross_cents += l.gross_cents;
            whole.discounts_cents += l.discount_cents;
            whole.units_sold += l.quantity;
        }
        if (products.empty()) continue;
        whole.orders = 1;
        whole.returning_orders = sink.Returning(t.seller_id, first.user_id, first.order_id) ? 1 : 0;
        AddEverywhere(sink, t, first.currency, first.at, products, whole);
    }
}

void AddRefund(Sink& sink, const orders::RefundFact& refund, const std::vector<Target>& targets) {
    Figures f;
    f.refunds_cents = refund.amount_cents;
    f.units_refunded = refund.quantity;
    f.refunds = 1;
    for (const Target& t : targets) {
        if (t.seller_id != kShop && t.seller_id != refund.seller_id) continue;
        AddEverywhere(sink, t, refund.currency, refund.at, {{{refund.product_id, refund.category_id}, f}}, f);
    }
}

}  // namespace emporium::analytics::internal
