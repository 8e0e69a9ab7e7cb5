#include "apidoc/apidoc.h"

#include <string>

namespace emporium::apidoc {
namespace {

// The server's policy (http/server.cpp) with inline styles allowed: Redoc styles its page with
// styled-components, which writes <style> elements at run time. Scripts stay 'self' only; the
// page holds no one's data.
constexpr const char* kReferencePagePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'";

}  // namespace

void AddRoutes(http::Router& router, const http::StaticFiles& web) {
    http::PreparedBody document("application/json; charset=utf-8", "no-cache", std::string(OpenApiJson()));
    router.Add({"GET",
                "/api/openapi.json",
                [document](const http::Request& r) { return document.Answer(r); },
                {},
                /*inline_only=*/true});
    // The page is a file of the built web page; the fallback never serves /api/ paths itself.
    router.Add({"GET",
                "/api/docs",
                [&web](const http::Request& r) {
                    http::Request page = r;
                    page.path = "/api-docs.html";
                    http::Response answer = web.Serve(page);
                    answer.headers.emplace_back("Content-Security-Policy", kReferencePagePolicy);
                    return answer;
                },
                {},
                /*inline_only=*/true});
}

}  // namespace emporium::apidoc
