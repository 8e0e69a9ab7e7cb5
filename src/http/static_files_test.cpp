#include "http/static_files.h"

#include <gtest/gtest.h>
#include <zlib.h>

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
    Response Get(const std::string& path, std::string accept = "") {
        Request r;
        r.method = "GET";
        r.path = path;
        if (!accept.empty()) r.headers.emplace_back("accept-encoding", accept);
        return files_->Serve(r);
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
    EXPECT_EQ(Header(Get("/assets/app-1234.js", "gzip, deflate, br"), "Content-Encoding"), "br");
    Response gz = Get("/assets/app-1234.js", "gzip");
    EXPECT_EQ(Header(gz, "Content-Encoding"), "gzip");
    // The gzip variant inflates back to the file.
    std::string out(10000, '\0');
    z_stream z{};
    inflateInit2(&z, 15 + 16);
    z.next_in = reinterpret_cast<Bytef*>(gz.body.data());
    z.avail_in = static_cast<uInt>(gz.body.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    ASSERT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
    out.resize(z.total_out);
    inflateEnd(&z);
    EXPECT_EQ(out, Get("/assets/app-1234.js").body);
    EXPECT_EQ(Header(Get("/assets/app-1234.js", "br;q=0, gzip"), "Content-Encoding"), "gzip");
    EXPECT_EQ(Header(Get("/assets/app-1234.js", "identity"), "Content-Encoding"), "");
}

// Variants the page's build wrote beside a file are its answers, and never files of their own.
TEST_F(StaticFilesTest, AnswersWithTheVariantsTheBuildMade) {
    Write("assets/big-99.js", "let x = 1;" + std::string(4000, ' '));
    Write("assets/big-99.js.br", "made by the build: brotli");
    Write("assets/big-99.js.gz", "made by the build: gzip");
    files_ = StaticFiles::Load(dir_);
    EXPECT_EQ(Get("/assets/big-99.js", "br").body, "made by the build: brotli");
    EXPECT_EQ(Get("/assets/big-99.js", "gzip").body, "made by the build: gzip");
    EXPECT_EQ(Get("/assets/big-99.js").body, "let x = 1;" + std::string(4000, ' '));
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
