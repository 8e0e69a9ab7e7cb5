// The catalog's HTTP routes: parse the request, call CatalogService, map the result. Reads go
// through a read-through cache of serialised answers, checked on the I/O thread first.
#pragma once

#include <string>

#include "catalog/catalog.h"
#include "core/read_cache.h"
#include "http/router.h"

namespace emporium::catalog {

struct RoutesOptions {
    // Until accounts exist, catalog writes need `Authorization: Bearer <admin_token>`; empty
    // refuses every write.
    std::string admin_token;
};

// Adds GET /api/store, /api/categories, /api/products, /api/products/{id},
// /api/products/{id}/image.svg and POST/PATCH/DELETE product writes. service and cache must
// outlive router. Registers a listener that empties the cache after every product change.
void AddRoutes(http::Router& router, CatalogService& service, ReadCache& cache, RoutesOptions options);

}  // namespace emporium::catalog
