#include "http/response_head.h"

#include <gtest/gtest.h>

namespace emporium::http {
namespace {

std::string Head(const Response& response, HeadOptions options) {
    std::string out = "left as it was|";
    AppendHead(out, response, options);
    EXPECT_TRUE(out.starts_with("left as it was|"));  // appends, never clears
    return out.substr(15);
}

TEST(ResponseHead, WritesStatusLengthEncodingAndSecurityHeaders) {
    Response r = Response::Json(200, "{}");
    const std::string head = Head(r, {.secure = true,
                                      .request_id = "abc-000001",
                                      .content_encoding = "br",
                                      .vary_accept_encoding = true,
                                      .content_length = 1234});
    EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n"));
    EXPECT_NE(head.find("\r\nContent-Type: application/json; charset=utf-8\r\n"), std::string::npos);
    EXPECT_NE(head.find("\r\nContent-Length: 1234\r\n"), std::string::npos);
    EXPECT_NE(head.find("\r\nContent-Encoding: br\r\n"), std::string::npos);
    EXPECT_NE(head.find("\r\nVary: Accept-Encoding\r\n"), std::string::npos);
    EXPECT_NE(head.find("\r\nX-Request-Id: abc-000001\r\n"), std::string::npos);
    EXPECT_NE(head.find("\r\nContent-Security-Policy: default-src 'self';"), std::string::npos);
    EXPECT_NE(head.find("\r\nX-Frame-Options: DENY\r\n"), std::string::npos);
    EXPECT_NE(head.find("\r\nStrict-Transport-Security: "), std::string::npos);
    EXPECT_EQ(head.find("Connection:"), std::string::npos);  // HTTP/1.1 keeps alive by default
    EXPECT_TRUE(head.ends_with("\r\n\r\n"));
}

TEST(ResponseHead, AHandlersSecurityHeaderReplacesTheDefault) {
    Response r = Response::Json(200, "<html>");
    r.headers.emplace_back("content-security-policy", "default-src 'none'");
    const std::string head = Head(r, {});
    EXPECT_EQ(head.find("Content-Security-Policy: default-src 'self'"), std::string::npos);
    EXPECT_NE(head.find("\r\ncontent-security-policy: default-src 'none'\r\n"), std::string::npos);
    EXPECT_NE(head.find("\r\nReferrer-Policy: "), std::string::npos);  // the others stay
}

TEST(ResponseHead, InternalListenerGetsNosniffOnlyAndHttp10KeepAliveIsSaid) {
    Response r = Response::Json(200, "{}");
    const std::string head = Head(r, {.version = 10, .keep_alive = true, .public_facing = false});
    EXPECT_TRUE(head.starts_with("HTTP/1.0 200 OK\r\n"));
    EXPECT_NE(head.find("\r\nX-Content-Type-Options: nosniff\r\n"), std::string::npos);
    EXPECT_EQ(head.find("Content-Security-Policy"), std::string::npos);
    EXPECT_NE(head.find("\r\nConnection: keep-alive\r\n"), std::string::npos);
    EXPECT_NE(Head(r, {.keep_alive = false}).find("\r\nConnection: close\r\n"), std::string::npos);
}

TEST(ResponseHead, NoLengthForBodilessStatusesAndChunkedWhenAsked) {
    Response not_modified;
    not_modified.status = 304;
    not_modified.content_type.clear();
    EXPECT_EQ(Head(not_modified, {.content_length = 99}).find("Content-Length"), std::string::npos);
    EXPECT_EQ(Head(Response::NoContent(), {}).find("Content-Length"), std::string::npos);
    const std::string chunked = Head(Response::Json(200, ""), {.chunked = true});
    EXPECT_NE(chunked.find("\r\nTransfer-Encoding: chunked\r\n"), std::string::npos);
    EXPECT_EQ(chunked.find("Content-Length"), std::string::npos);
}

TEST(ResponseHead, LeavesOutHeadersThatWouldInjectOthers) {
    Response r = Response::Json(200, "{}");
    r.headers.emplace_back("Location", "/ok\r\nSet-Cookie: stolen=1");
    r.headers.emplace_back("X-Bad\nName", "v");
    r.headers.emplace_back("X-Good", "fine");
    r.content_type = "text/plain\r\nX-Injected: 1";
    const std::string head = Head(r, {});
    EXPECT_EQ(head.find("stolen"), std::string::npos);
    EXPECT_EQ(head.find("X-Bad"), std::string::npos);
    EXPECT_EQ(head.find("X-Injected"), std::string::npos);
    EXPECT_NE(head.find("\r\nX-Good: fine\r\n"), std::string::npos);
}

TEST(ResponseHead, KnowsWhatIsWorthCompressing) {
    EXPECT_TRUE(CompressibleType("application/json; charset=utf-8"));
    EXPECT_TRUE(CompressibleType("text/html; charset=utf-8"));
    EXPECT_TRUE(CompressibleType("image/svg+xml"));
    EXPECT_FALSE(CompressibleType("image/jpeg"));
    EXPECT_FALSE(CompressibleType("application/octet-stream"));
}

}  // namespace
}  // namespace emporium::http
