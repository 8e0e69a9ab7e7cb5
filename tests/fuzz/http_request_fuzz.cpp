// What a request line and its headers become before any handler runs: the target (Boost.URL:
// path and query), the router's match, path ids, the Cookie header, and the catalog's list
// parameters, the most elaborate query string the shop reads. Input: the target, a newline, then
// the Cookie header's value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "catalog/catalog.h"
#include "catalog/list_sql.h"
#include "core/text.h"
#include "http/message.h"
#include "http/reply.h"
#include "http/router.h"

namespace {

using namespace emporium;

const http::Router& Routes() {
    static const http::Router router = [] {
        http::Router r;
        for (const char* pattern : {"/api/products", "/api/products/{id}", "/api/products/{id}/image.svg",
                                    "/api/orders/{id}/cancel", "/api/admin/users/{id}", "/healthz"}) {
            r.Get(pattern, [](const http::Request&) { return http::Response{}; });
            r.Post(pattern, [](const http::Request&) { return http::Response{}; });
        }
        return r;
    }();
    return router;
}

void Check(bool condition) {
    if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t newline = input.find('\n');
    http::Request request;
    if (newline != std::string_view::npos)
        request.headers.emplace_back("cookie", std::string(input.substr(newline + 1)));
    if (!http::ParseTarget(input.substr(0, newline), request)) return 0;

    for (const char* method : {"GET", "HEAD", "DELETE"}) {
        http::RouteMatch match = Routes().Match(method, request.path);
        if (match.route) Check(!match.method_mismatch);
        for (const auto& [name, value] : match.params) {
            if (auto id = http::ParseId(value)) Check(*id > 0);
        }
    }
    const std::int64_t page = http::PageParam(request, "page", 1, 1000);
    Check(page >= 1 && page <= 1000);
    (void)request.Cookie("emporium_session");
    (void)request.QueryParam("q");

    Result<catalog::ProductQuery> query = catalog::ParseProductQuery(request.query);
    if (!query.ok()) {
        Check(!query.error().fields.empty());
        return 0;
    }
    Check(query->page >= 1 && query->per_page >= 1 && query->per_page <= catalog::kMaxPerPage);
    Check(!query->min_price || !query->max_price || *query->min_price <= *query->max_price);
    Check(IsValidUtf8(query->q));
    (void)query->CacheKey();
    if (auto sql = catalog::BuildListSql(*query)) Check(!sql->count.empty() && !sql->page.empty());
    return 0;
}
