#include "http/response_head.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>

namespace emporium::http {
namespace {

// Headers every public answer carries. The page loads nothing from elsewhere and runs no inline
// script or style, so the policy can be strict.
constexpr std::pair<std::string_view, std::string_view> kSecurityHeaders[] = {
    {"Content-Security-Policy",
     "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; font-src 'self'; "
     "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "strict-origin-when-cross-origin"},
    {"X-Frame-Options", "DENY"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
    {"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"},
};
constexpr std::string_view kHsts = "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n";

bool Clean(std::string_view text) {
    return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
}

void AppendNumber(std::string& out, std::size_t value) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    out.append(digits, end);
}

bool HandlerSets(const Response& response, std::string_view name) {
    for (const auto& header : response.headers) {
        if (boost::beast::iequals(header.first, name)) return true;
    }
    return false;
}

}  // namespace

bool CompressibleType(std::string_view content_type) {
    return content_type.starts_with("text/") || content_type.starts_with("application/json") ||
           content_type.starts_with("image/svg") || content_type.starts_with("application/manifest");
}

void AppendHead(std::string& out, const Response& response, const HeadOptions& options) {
    const int status = response.status;
    out.append(options.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    AppendNumber(out, static_cast<std::size_t>(status));
    out.push_back(' ');
    const auto reason = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
    out.append(reason.data(), reason.size());
    out.append("\r\n");
    if (!response.content_type.empty() && Clean(response.content_type)) {
        AppendHeader(out, "Content-Type", response.content_type);
    }
    if (status >= 200 && status != 204 && status != 304) {
        if (options.chunked) {
            out.append("Transfer-Encoding: chunked\r\n");
        } else {
            out.append("Content-Length: ");
            AppendNumber(out, options.content_length);
            out.append("\r\n");
        }
    }
    if (!options.content_encoding.empty()) AppendHeader(out, "Content-Encoding", options.content_encoding);
    if (options.vary_accept_encoding) out.append("Vary: Accept-Encoding\r\n");
    if (!options.request_id.empty()) AppendHeader(out, "X-Request-Id", options.request_id);
    if (options.public_facing) {
        for (const auto& [name, value] : kSecurityHeaders) {
            if (response.headers.empty() || !HandlerSets(response, name)) AppendHeader(out, name, value);
        }
        if (options.secure) out.append(kHsts);
    } else if (!HandlerSets(response, "X-Content-Type-Options")) {
        out.append("X-Content-Type-Options: nosniff\r\n");
    }
    for (const auto& [name, value] : response.headers) {
        if (!name.empty() && Clean(name) && Clean(value)) AppendHeader(out, name, value);
    }
    if (options.version == 10 && options.keep_alive) out.append("Connection: keep-alive\r\n");
    if (options.version != 10 && !options.keep_alive) out.append("Connection: close\r\n");
    out.append("\r\n");
}

}  // namespace emporium::http
