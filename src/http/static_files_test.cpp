#include "http/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace emporium::http {
namespace {

std::string Header(const Response& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
        if (k == name) return v;
    }
    return "";
}

class StaticFilesTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("emporium-static-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_ / "assets");
        Write("index.html", "<!doctype html><title>shop</title>" + std::string(2000, ' '));
        Write("assets/app-1234.js", "console.log('hello');" + std::string(5000, ';'));
        std::ofstream(dir_.parent_path() / "secret.txt") << "do not serve";
        files_ = StaticFiles::Load(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    void Write(const std::string& name, const std::string& content) { std::ofstream(dir_ / name) << content; }
    Response Get(const std::string& path) {
        Request r;
        r.method = "GET";
        r.path = path;
        return files_->Serve(r);
    }
    // What the server sends for path to a client whose Accept-Encoding is accept: the coding and
    // the bytes.
    std::pair<std::string, std::string> Sent(const std::string& path, std::string_view accept = "") {
        PreparedText::Choice choice = Get(path).BodyFor(accept);
        return {std::string(choice.coding), std::string(choice.bytes)};
    }

    std::filesystem::path dir_;
    std::unique_ptr<StaticFiles> files_;
};

TEST_F(StaticFilesTest, ServesHashedAssetsWithLongCache) {
    Response r = Get("/assets/app-1234.js");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(Header(r, "Cache-Control"), "public, max-age=31536000, immutable");
    EXPECT_FALSE(Header(r, "ETag").empty());
}

TEST_F(StaticFilesTest, PrefersBrotliThenGzip) {
    const std::string file = Sent("/assets/app-1234.js").second;
    EXPECT_EQ(file, "console.log('hello');" + std::string(5000, ';'));
    auto [br_coding, br] = Sent("/assets/app-1234.js", "gzip, deflate, br");
    EXPECT_EQ(br_coding, "br");
    EXPECT_EQ(BrotliDecompress(br, 1 << 20), file);
    auto [gzip_coding, gz] = Sent("/assets/app-1234.js", "gzip");
    EXPECT_EQ(gzip_coding, "gzip");
    EXPECT_EQ(GzipDecompress(gz, 1 << 20), file);
    EXPECT_EQ(Sent("/assets/app-1234.js", "br;q=0, gzip").first, "gzip");
    EXPECT_EQ(Sent("/assets/app-1234.js", "identity").first, "");
}

// Variants the page's build wrote beside a file are its answers, and never files of their own.
TEST_F(StaticFilesTest, AnswersWithTheVariantsTheBuildMade) {
    Write("assets/big-99.js", "let x = 1;" + std::string(4000, ' '));
    Write("assets/big-99.js.br", "made by the build: brotli");
    Write("assets/big-99.js.gz", "made by the build: gzip");
    files_ = StaticFiles::Load(dir_);
    EXPECT_EQ(Sent("/assets/big-99.js", "br").second, "made by the build: brotli");
    EXPECT_EQ(Sent("/assets/big-99.js", "gzip").second, "made by the build: gzip");
    EXPECT_EQ(Sent("/assets/big-99.js").second, "let x = 1;" + std::string(4000, ' '));
    EXPECT_EQ(Get("/assets/big-99.js.br").status, 404);
    EXPECT_EQ(Get("/assets/big-99.js.gz").status, 404);
    EXPECT_EQ(files_->size(), 3U);  // index.html, app-1234.js, big-99.js
}

TEST_F(StaticFilesTest, AnswersNotModifiedForMatchingEtag) {
    std::string etag = Header(Get("/assets/app-1234.js"), "ETag");
    Request r;
    r.method = "GET";
    r.path = "/assets/app-1234.js";
    r.headers.emplace_back("if-none-match", etag);
    Response again = files_->Serve(r);
    EXPECT_EQ(again.status, 304);
    EXPECT_TRUE(again.body.empty());
    EXPECT_EQ(again.prepared, nullptr);
}

TEST_F(StaticFilesTest, PagesFallBackToIndexButFilesDoNot) {
    Response page = Get("/catalog/some/deep/page");
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(Header(page, "Cache-Control"), "no-cache");
    EXPECT_EQ(Get("/assets/missing.js").status, 404);
    EXPECT_EQ(Get("/api/unknown").status, 404);
}

TEST_F(StaticFilesTest, NeverServesOutsideTheDirectory) {
    EXPECT_EQ(Get("/../secret.txt").status, 404);
    EXPECT_EQ(Get("/assets/../../secret.txt").status, 404);
    EXPECT_EQ(Get("/%2e%2e/secret.txt").status, 404);
}

}  // namespace
}  // namespace emporium::http
