// The seller analytics routes (/api/seller/analytics/...) and the funnel's view counter.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "analytics/analytics.h"
#include "http/auth.h"
#include "http/router.h"

namespace emporium::analytics {

struct RouteDeps {
    AnalyticsService* service = nullptr;
    catalog::CatalogService* catalog = nullptr;  // the shop's currency, category names
    const Clock* clock = nullptr;
    // Whether a user id is a seller's (an admin's seller_id= must name one).
    std::function<bool(std::int64_t)> is_seller;
    // When the oldest order event the analytics subscriber has not applied was written; nullopt
    // when none waits (the dashboard's and the metric's lag).
    std::function<std::optional<std::int64_t>()> oldest_pending;
};

// GET summary, sales, top-products, categories, refunds, sell-through, funnel, export.csv and
// settings; PATCH settings (time zone, in person); POST /api/analytics/product-views (anyone).
// Reports need analytics:read; a seller sees their own figures, an admin any seller's
// (seller_id=) or the whole shop's.
void AddRoutes(http::Router& router, RouteDeps deps, http::Authenticator authenticate);

// One CSV cell: quoted when it holds a comma, quote, CR or LF (RFC 4180); text that a spreadsheet
// would run as a formula (starting with = + - @ tab or CR) gets a leading apostrophe first.
std::string CsvCell(std::string_view text);

}  // namespace emporium::analytics
