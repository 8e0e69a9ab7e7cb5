// Maps a method and a path to a handler. Patterns are literal segments and `{name}` captures:
// "/api/products/{id}". Handlers are plain functions from Request to Response.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace emporium::http {

using Handler = std::function<Response(const Request&)>;
// Answers without blocking (from memory), or nullopt to fall through to the handler. Runs on
// an I/O thread, so it must never touch the database or sleep.
using FastHandler = std::function<std::optional<Response>(const Request&)>;

struct Route {
    std::string method;
    std::string pattern;       // also the route's name in metrics and logs
    Handler handler;           // runs on the worker pool
    FastHandler fast;          // optional
    bool inline_only = false;  // the handler itself never blocks: run it on the I/O thread
    bool heavy = false;        // CPU- and memory-hungry (password hashing): the small bounded pool
    // Largest body this route takes when above the server's body_limit (picture uploads); 0: the
    // server's.
    std::size_t body_limit = 0;
};

struct RouteMatch {
    const Route* route = nullptr;  // null: no route
    bool method_mismatch = false;  // the path matched another method's route
    std::string allow;             // methods that exist for the path, when method_mismatch
    std::vector<std::pair<std::string, std::string>> params;
};

class Router {
public:
    // Adds a route. Throws std::invalid_argument for a duplicate method and pattern.
    void Add(Route route);
    void Get(std::string pattern, Handler handler) { Add({"GET", std::move(pattern), std::move(handler), {}, false}); }
    void Post(std::string pattern, Handler handler) {
        Add({"POST", std::move(pattern), std::move(handler), {}, false});
    }
    void Patch(std::string pattern, Handler handler) {
        Add({"PATCH", std::move(pattern), std::move(handler), {}, false});
    }
    void Delete(std::string pattern, Handler handler) {
        Add({"DELETE", std::move(pattern), std::move(handler), {}, false});
    }

    // Every route's method and pattern, in the order added (the fallback is not one): what the
    // authorization test walks, so that a route added without a matrix entry fails it.
    std::vector<std::pair<std::string, std::string>> List() const;

    // Routes used when nothing matched (static files, say): nullptr when none.
    void SetFallback(Route route);

    // Finds the route for method and path; HEAD matches GET routes.
    RouteMatch Match(std::string_view method, std::string_view path) const;
    const Route* fallback() const { return fallback_ ? &*fallback_ : nullptr; }

    // The largest body_limit of any route (0 when none sets one): a request's header is read with
    // this limit, before its route is known.
    std::size_t LargestBodyLimit() const { return largest_body_limit_; }

private:
    struct Compiled {
        Route route;
        std::vector<std::string> segments;  // "{x}" for captures
    };
    std::vector<Compiled> routes_;
    std::optional<Route> fallback_;
    std::size_t largest_body_limit_ = 0;
};

}  // namespace emporium::http
