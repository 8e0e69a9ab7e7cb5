// The API description: the OpenAPI 3.1 document of every public route (docs/openapi.yaml, built
// into the binary) at GET /api/openapi.json, and its readable reference page at GET /api/docs.
#pragma once

#include <string_view>

#include "http/router.h"
#include "http/static_files.h"

namespace emporium::apidoc {

// The document as compact JSON, made from docs/openapi.yaml at build time (never read at run time).
std::string_view OpenApiJson();

// Adds GET /api/openapi.json (anyone; prepared once: strong ETag, gzip and brotli, revalidated on
// every use) and GET /api/docs (the web page's api-docs.html from web, or its 404 when the page
// was not built). web must outlive the router.
void AddRoutes(http::Router& router, const http::StaticFiles& web);

}  // namespace emporium::apidoc
