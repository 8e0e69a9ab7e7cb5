// Private to the analytics module: every statement a report runs, in one place, so that
// rollup_sql_test checks the plans of exactly these. Each reads one rollup table by a range of
// its primary key; none reads an order table.
#pragma once

namespace emporium::analytics::sql {

#define EMPORIUM_ANALYTICS_FIGURES                                                                       \
    "COALESCE(SUM(orders), 0), COALESCE(SUM(returning_orders), 0), COALESCE(SUM(gross_cents), 0),"       \
    " COALESCE(SUM(discounts_cents), 0), COALESCE(SUM(refunds_cents), 0), COALESCE(SUM(units_sold), 0)," \
    " COALESCE(SUM(units_refunded), 0), COALESCE(SUM(refunds), 0)"
#define EMPORIUM_ANALYTICS_COLUMNS \
    "orders, returning_orders, gross_cents, discounts_cents, refunds_cents, units_sold, units_refunded, refunds"

// seller, currency, first day, last day
inline constexpr const char* kSummary = "SELECT " EMPORIUM_ANALYTICS_FIGURES
                                        " FROM analytics_days WHERE seller_id = ? AND currency = ? AND day >= ?"
                                        " AND day <= ?";
inline constexpr const char* kDays = "SELECT day, " EMPORIUM_ANALYTICS_COLUMNS
                                     " FROM analytics_days WHERE seller_id = ? AND currency = ? AND day >= ?"
                                     " AND day <= ? ORDER BY day";
// seller, currency, first instant, end instant (excluded)
inline constexpr const char* kHours = "SELECT hour_start, " EMPORIUM_ANALYTICS_COLUMNS
                                      " FROM analytics_hours WHERE seller_id = ? AND currency = ? AND hour_start >= ?"
                                      " AND hour_start < ? ORDER BY hour_start";
// Each product's rows, added up by the caller: rows come in key order (day, then product), and a
// GROUP BY would sort them all again (a temporary B-tree over every row of a whole shop's year)
// to hand back what one pass over them adds up anyway.
// seller, currency, first day, last day
inline constexpr const char* kProductDays = "SELECT product_id, category_id, " EMPORIUM_ANALYTICS_COLUMNS
                                            " FROM analytics_products WHERE seller_id = ? AND currency = ?"
                                            " AND day >= ? AND day <= ?";
// seller, currency, first month, last month
inline constexpr const char* kProductMonths = "SELECT product_id, category_id, " EMPORIUM_ANALYTICS_COLUMNS
                                              " FROM analytics_product_months WHERE seller_id = ? AND currency = ?"
                                              " AND month >= ? AND month <= ?";
// seller, currency, first week's Monday, last week's Monday
inline constexpr const char* kProductWeeks = "SELECT product_id, category_id, " EMPORIUM_ANALYTICS_COLUMNS
                                             " FROM analytics_product_weeks WHERE seller_id = ? AND currency = ?"
                                             " AND week >= ? AND week <= ?";
// seller, currency: each product's lifetime
inline constexpr const char* kProductLifetimes = "SELECT product_id, category_id, " EMPORIUM_ANALYTICS_COLUMNS
                                                 " FROM analytics_product_totals WHERE seller_id = ? AND currency = ?";
// seller, currency: the first and last local day with figures (NULLs without any)
inline constexpr const char* kDataDays =
    "SELECT MIN(day), MAX(day) FROM analytics_days WHERE seller_id = ? AND currency = ?";
// seller, first day, last day
inline constexpr const char* kFunnel =
    "SELECT COALESCE(SUM(views), 0), COALESCE(SUM(carts), 0) FROM analytics_funnel WHERE seller_id = ?"
    " AND day >= ? AND day <= ?";
inline constexpr const char* kOrdersAnyCurrency =
    "SELECT COALESCE(SUM(orders), 0) FROM analytics_days WHERE seller_id = ? AND day >= ? AND day <= ?";
inline constexpr const char* kCurrencies =
    "SELECT DISTINCT currency FROM analytics_days WHERE seller_id = ? AND day >= ? AND day <= ? ORDER BY currency";

#undef EMPORIUM_ANALYTICS_FIGURES
#undef EMPORIUM_ANALYTICS_COLUMNS

}  // namespace emporium::analytics::sql
