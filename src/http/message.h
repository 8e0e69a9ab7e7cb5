// The request and response that handlers see: plain data, no Asio or Beast, so that handlers
// and the services behind them are tested without a server.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emporium::http {

struct Request {
    std::string method;                                            // "GET", "POST", ...
    std::string path;                                              // percent-decoded path, without the query
    std::vector<std::pair<std::string, std::string>> query;        // decoded, in order
    std::vector<std::pair<std::string, std::string>> headers;      // names lower-case
    std::vector<std::pair<std::string, std::string>> path_params;  // filled by the router
    std::string body;
    std::string request_id;
    std::string client_address;  // the peer, or the forwarded address from a trusted proxy
    bool secure = false;         // arrived over TLS, here or at a trusted proxy (X-Forwarded-Proto)

    // The first value of a query parameter, or nullopt.
    std::optional<std::string_view> QueryParam(std::string_view name) const;
    // A header's value (name in lower case), or "" when absent.
    std::string_view Header(std::string_view lower_name) const;
    // A cookie's value from the Cookie header, or "".
    std::string_view Cookie(std::string_view name) const;
    // A path parameter captured by the router, or "".
    std::string_view PathParam(std::string_view name) const;
};

struct Response {
    int status = 200;
    std::string content_type = "application/json; charset=utf-8";
    std::string body;
    // When set, the body is this file instead of `body`, read from disk as it is sent (backups of
    // hundreds of MB); each chunk gets the write timeout, not the whole file. A file that cannot be
    // opened becomes a 500.
    std::string file;
    std::vector<std::pair<std::string, std::string>> headers;

    static Response Json(int status, std::string body);
    static Response NoContent();
};

}  // namespace emporium::http
