// The bytes of an answer's status line and headers, written by hand into a reused buffer: what the
// server sends before the body, with no per-request header container. Kept apart from the server
// so that it is tested without sockets.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "http/message.h"

namespace emporium::http {

struct HeadOptions {
    unsigned version = 11;  // 10 or 11
    bool keep_alive = true;
    bool public_facing = true;  // the security headers (and HSTS when secure); else only nosniff
    bool secure = false;
    std::string_view request_id;
    std::string_view content_encoding;  // "br", "gzip" or "" (the body as it is)
    bool vary_accept_encoding = false;  // the body depends on Accept-Encoding
    bool chunked = false;               // Transfer-Encoding: chunked instead of Content-Length
    std::size_t content_length = 0;
};

// Appends to out the status line and headers of response: Content-Type, Content-Length (not for
// 1xx, 204 or 304) or Transfer-Encoding, Content-Encoding and Vary when given, X-Request-Id, the
// public listener's security headers (a handler's own header of the same name replaces the
// default), the response's own headers, Connection as keep_alive and the version need, and the
// blank line. A header whose name or value holds CR, LF or NUL is left out: no header injection,
// whatever a handler put there.
void AppendHead(std::string& out, const Response& response, const HeadOptions& options);

// True for content types worth compressing: text, JSON, SVG, web manifests.
bool CompressibleType(std::string_view content_type);

}  // namespace emporium::http
