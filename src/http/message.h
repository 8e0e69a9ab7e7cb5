// The request and response that handlers see: plain data, no Asio or Beast, so that handlers
// and the services behind them are tested without a server.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/prepared_text.h"
#include "core/trace.h"

namespace emporium::tracing {
class SpanCollector;
}

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
    // This request's span: in the caller's trace (its `traceparent` header), else in a new one.
    // Current on the thread that runs the handler, so that its log lines and the work it queues
    // carry the trace on.
    TraceContext trace;
    // Where the spans of this request's handler go (its root span's collector), or nullptr when
    // the request is not traced; current on the handler's thread with the trace.
    tracing::SpanCollector* spans = nullptr;

    // The first value of a query parameter, or nullopt.
    std::optional<std::string_view> QueryParam(std::string_view name) const;
    // A header's value (name in lower case), or "" when absent.
    std::string_view Header(std::string_view lower_name) const;
    // A cookie's value from the Cookie header, or "".
    std::string_view Cookie(std::string_view name) const;
    // A path parameter captured by the router, or "".
    std::string_view PathParam(std::string_view name) const;
};

// Reads an origin-form request target ("/api/products?q=zelda&page=2") into request's path
// (percent-decoded) and query (decoded, in order). False when target is not one (then request is
// unchanged).
bool ParseTarget(std::string_view target, Request& request);

struct Response {
    int status = 200;
    std::string content_type = "application/json; charset=utf-8";
    std::string body;
    // When set, the body instead of `body`: made once (a cached answer, a static file) and shared,
    // sent without copying in the coding the client accepts (br, gzip), with Vary: Accept-Encoding.
    std::shared_ptr<const PreparedText> prepared;
    // When set, the body is this file instead of `body`, read from disk as it is sent (backups of
    // hundreds of MB); each chunk gets the write timeout, not the whole file. A file that cannot be
    // opened becomes a 500.
    std::string file;
    // When set (and file is not), the body is made piece by piece: the server calls stream(out) on
    // a worker thread, sends what it appended as one chunk (chunked transfer encoding), and calls
    // again until it returns false. For generated bodies too large to hold (a year of CSV lines);
    // an exception ends the body without its last chunk and closes the connection, so the client
    // sees a cut-off answer, never a short one that looks whole.
    std::function<bool(std::string& out)> stream;
    std::vector<std::pair<std::string, std::string>> headers;

    static Response Json(int status, std::string body);
    // A JSON answer whose bytes are shared (a cached answer).
    static Response Json(int status, std::shared_ptr<const PreparedText> body);

    // What a client whose Accept-Encoding is accept_encoding receives as the body, and its
    // coding ("" for none): the prepared body's best encoding, else `body` as it is.
    PreparedText::Choice BodyFor(std::string_view accept_encoding) const;
    static Response NoContent();
};

}  // namespace emporium::http
