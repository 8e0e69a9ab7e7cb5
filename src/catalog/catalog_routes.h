// The catalog's HTTP routes: parse the request, call CatalogService, map the result. Reads go
// through a read-through cache of serialised answers, checked on the I/O thread first.
#pragma once

#include <string>

#include "catalog/catalog.h"
#include "core/read_cache.h"
#include "http/auth.h"
#include "http/router.h"

namespace emporium::catalog {

// Adds GET /api/store, /api/categories, /api/products, /api/products/{id},
// /api/products/{id}/image.svg, the product writes (sellers their own products, admins all)
// and GET /api/seller/products. service and cache must outlive router. Registers a listener
// that empties the cache after every product change.
void AddRoutes(http::Router& router, CatalogService& service, ReadCache& cache, http::Authenticator authenticate);

// A product as the API shows it (one JSON object), for other modules' answers that list products.
std::string ProductJsonText(const Product& product);

}  // namespace emporium::catalog
