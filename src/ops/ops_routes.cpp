#include "ops/ops_routes.h"

namespace emporium::ops {

void AddOpsRoutes(http::Router& router, Metrics& metrics, std::function<bool()> ready) {
    router.Add({"GET",
                "/healthz",
                [](const http::Request&) { return http::Response::Json(200, R"({"status":"ok"})"); },
                {},
                /*inline_only=*/true});
    router.Get("/readyz", [ready = std::move(ready)](const http::Request&) {
        return ready() ? http::Response::Json(200, R"({"status":"ready"})")
                       : http::Response::Json(503, R"({"status":"not_ready"})");
    });
    router.Get("/metrics", [&metrics](const http::Request&) {
        http::Response r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = metrics.Render();
        return r;
    });
}

}  // namespace emporium::ops
