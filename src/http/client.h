// Outgoing HTTP (Twilio, webhooks, a standby fetching backups), through libcurl. Blocking: call it from a
// courier thread, never from a request handler or an I/O thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace emporium::http {

struct HttpCall {
    std::string method = "POST";
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::string body;
    std::string basic_user;  // HTTP Basic auth when not empty
    std::string basic_password;
    std::chrono::milliseconds timeout{10'000};  // the whole exchange, connect included
    // Connect only to public addresses (see IsPublicAddress), checked on the address actually
    // dialled, after DNS: an admin-given URL must not reach the shop's own internal listener, the
    // broker or a cloud metadata service, neither by a literal address nor by a name that resolves
    // (or re-resolves) to one. Proxies from the environment are not used for such calls.
    bool public_only = false;
};

struct HttpAnswer {
    long status = 0;                                  // 0: no answer (see error)
    std::string body;                                 // at most 64 KiB are kept
    std::string error;                                // transport failure, when status is 0
    std::optional<std::chrono::seconds> retry_after;  // from a Retry-After header in seconds
};

// Performs one exchange. Never throws for network trouble: that comes back as status 0. When a
// trace is current on the calling thread (core/trace.h), the call carries it on in `traceparent`.
// Redirects are not followed (a moved endpoint is the operator's to fix, not a place to leak a body).
HttpAnswer Perform(const HttpCall& call);

// Performs one GET (or POST) and writes the body to path as it arrives (for large files); the
// answer's body stays empty. path is removed again unless the status is 2xx.
HttpAnswer Download(const HttpCall& call, const std::string& path);

// True for an IPv4 or IPv6 address in text form that is routable on the public internet: false for
// loopback, private (RFC 1918, unique local), shared (100.64/10), link-local (cloud metadata at
// 169.254.169.254), unspecified, multicast, documentation and reserved ranges, and for IPv6
// addresses that embed one of those (IPv4-mapped, NAT64). False for text that is not an address.
bool IsPublicAddress(std::string_view address);

// Percent-encodes text for a form body or a query string (RFC 3986 unreserved characters stay).
std::string FormEncode(std::string_view text);

// Calls curl_global_init once for the process; safe to call from several places.
void InitHttpClient();

}  // namespace emporium::http
