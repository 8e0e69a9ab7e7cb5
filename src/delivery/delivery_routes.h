// The admin area's delivery routes. Who may call what:
//   POST  /api/admin/delivery/events          delivery:write  (CI tokens: nothing else)
//   GET   /api/admin/delivery/summary         ops:read        figures with their counts
//   GET   /api/admin/delivery/deployments     ops:read
//   GET   /api/admin/delivery/incidents       ops:read
//   PATCH /api/admin/delivery/incidents/{id}  ops:write       correct an incident's deployment
//   GET   /api/admin/delivery/export.csv      ops:read        ?kind=deployments|incidents|stages|flaky
// The roles table grants these scopes to admins only; a staff token needs them named too.
// Reads take ?from=YYYY-MM-DD&to=YYYY-MM-DD (default: the last 30 days) and ?environment=
// (default production).
#pragma once

#include "delivery/delivery.h"
#include "http/auth.h"
#include "http/router.h"

namespace emporium::delivery {

void AddRoutes(http::Router& router, DeliveryService& service, http::Authenticator authenticate, const Clock& clock);

}  // namespace emporium::delivery
