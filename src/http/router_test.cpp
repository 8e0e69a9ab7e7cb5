#include "http/router.h"

#include <gtest/gtest.h>

namespace emporium::http {
namespace {

Handler Answer(const std::string& text) {
    return [text](const Request&) { return Response::Json(200, text); };
}

TEST(Router, MatchesLiteralAndCaptures) {
    Router router;
    router.Get("/api/products", Answer("list"));
    router.Get("/api/products/{id}", Answer("one"));
    router.Get("/api/products/{id}/image.svg", Answer("image"));

    RouteMatch m = router.Match("GET", "/api/products/42");
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.route->pattern, "/api/products/{id}");
    ASSERT_EQ(m.params.size(), 1u);
    EXPECT_EQ(m.params[0].first, "id");
    EXPECT_EQ(m.params[0].second, "42");

    EXPECT_EQ(router.Match("GET", "/api/products").route->pattern, "/api/products");
    EXPECT_EQ(router.Match("GET", "/api/products/7/image.svg").route->pattern, "/api/products/{id}/image.svg");
    EXPECT_EQ(router.Match("GET", "/api/products/7/other").route, nullptr);
    EXPECT_EQ(router.Match("GET", "/api").route, nullptr);
}

TEST(Router, ToleratesTrailingAndDoubleSlashes) {
    Router router;
    router.Get("/api/categories", Answer("c"));
    EXPECT_NE(router.Match("GET", "/api/categories/").route, nullptr);
    EXPECT_NE(router.Match("GET", "//api//categories").route, nullptr);
}

TEST(Router, ReportsMethodMismatchWithAllow) {
    Router router;
    router.Get("/api/products/{id}", Answer("get"));
    router.Patch("/api/products/{id}", Answer("patch"));
    RouteMatch m = router.Match("PUT", "/api/products/1");
    EXPECT_EQ(m.route, nullptr);
    EXPECT_TRUE(m.method_mismatch);
    EXPECT_EQ(m.allow, "GET, PATCH");
}

TEST(Router, HeadUsesGetRoutes) {
    Router router;
    router.Get("/x", Answer("x"));
    EXPECT_NE(router.Match("HEAD", "/x").route, nullptr);
}

TEST(Router, RejectsDuplicates) {
    Router router;
    router.Get("/x", Answer("x"));
    EXPECT_THROW(router.Get("/x", Answer("y")), std::invalid_argument);
}

TEST(Router, ListsEveryRouteInOrder) {
    Router router;
    router.Get("/a", [](const Request&) { return Response::NoContent(); });
    router.Post("/a/{id}", [](const Request&) { return Response::NoContent(); });
    using Pairs = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(router.List(), (Pairs{{"GET", "/a"}, {"POST", "/a/{id}"}}));
}

}  // namespace
}  // namespace emporium::http
