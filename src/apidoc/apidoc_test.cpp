#include "apidoc/apidoc.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <string>

namespace emporium::apidoc {
namespace {

std::string Header(const http::Response& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
        if (k == name) return v;
    }
    return "";
}

class ApiDocTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("emporium-apidoc-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        std::ofstream(dir_ / "api-docs.html") << "<!doctype html><div id=\"api-reference\"></div>";
        web_ = http::StaticFiles::Load(dir_);
        AddRoutes(router_, *web_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    http::Response Get(const std::string& path, std::vector<std::pair<std::string, std::string>> headers = {}) {
        http::Request r;
        r.method = "GET";
        r.path = path;
        r.headers = std::move(headers);
        http::RouteMatch m = router_.Match(r.method, r.path);
        EXPECT_NE(m.route, nullptr) << path;
        return m.route ? m.route->handler(r) : http::Response{};
    }

    std::filesystem::path dir_;
    std::unique_ptr<http::StaticFiles> web_;
    http::Router router_;
};

TEST(OpenApiJsonTest, IsTheOpenApi31DocumentOfThePublicRoutes) {
    boost::json::value doc = boost::json::parse(OpenApiJson());
    EXPECT_TRUE(doc.at("openapi").as_string().starts_with("3.1."));
    const boost::json::object& paths = doc.at("paths").as_object();
    EXPECT_TRUE(paths.contains("/api/checkout"));
    EXPECT_TRUE(paths.contains("/api/openapi.json"));
    EXPECT_TRUE(doc.at("components").at("schemas").as_object().contains("Error"));
}

TEST_F(ApiDocTest, ServesTheDocumentWithAStrongETagCompressedAndRevalidated) {
    http::Response plain = Get("/api/openapi.json");
    EXPECT_EQ(plain.status, 200);
    EXPECT_EQ(plain.BodyFor("").bytes, OpenApiJson());
    EXPECT_TRUE(plain.content_type.starts_with("application/json"));
    const std::string etag = Header(plain, "ETag");
    ASSERT_FALSE(etag.empty());
    EXPECT_EQ(etag.front(), '"');  // strong: no W/
    EXPECT_EQ(Header(plain, "Cache-Control"), "no-cache");

    http::Response zipped = Get("/api/openapi.json", {{"accept-encoding", "gzip"}});
    EXPECT_EQ(zipped.BodyFor("gzip").coding, "gzip");
    EXPECT_LT(zipped.BodyFor("gzip").bytes.size(), OpenApiJson().size() / 3);
    EXPECT_EQ(Header(zipped, "ETag"), etag);

    http::Response again = Get("/api/openapi.json", {{"if-none-match", etag}});
    EXPECT_EQ(again.status, 304);
    EXPECT_TRUE(again.body.empty());
}

TEST_F(ApiDocTest, ServesTheReferencePageWithItsOwnPolicy) {
    http::Response page = Get("/api/docs");
    EXPECT_EQ(page.status, 200);
    EXPECT_NE(page.BodyFor("").bytes.find("api-reference"), std::string::npos);
    EXPECT_TRUE(page.content_type.starts_with("text/html"));
    const std::string policy = Header(page, "Content-Security-Policy");
    EXPECT_NE(policy.find("style-src 'self' 'unsafe-inline'"), std::string::npos);
    EXPECT_NE(policy.find("script-src 'self';"), std::string::npos);
}

TEST(ApiDocPageTest, WithoutTheBuiltPageIsA404NotAnotherFile) {
    std::unique_ptr<http::StaticFiles> empty = http::StaticFiles::Load("/nonexistent-emporium-web");
    http::Router router;
    AddRoutes(router, *empty);
    http::Request r;
    r.method = "GET";
    r.path = "/api/docs";
    http::Response page = router.Match("GET", "/api/docs").route->handler(r);
    EXPECT_EQ(page.status, 404);
}

}  // namespace
}  // namespace emporium::apidoc
