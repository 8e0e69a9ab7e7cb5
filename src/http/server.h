// The HTTP/1.1 server: Boost.Beast with one coroutine per connection on a few I/O threads, and a
// bounded worker pool for handlers that block (database, hashing). Beast and Asio stay inside
// server.cpp; this header shows only what the program wiring needs.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/log.h"
#include "http/router.h"

namespace emporium::http {

struct ServerOptions {
    std::size_t body_limit = 1024 * 1024;   // larger bodies get 413
    std::size_t header_limit = 16 * 1024;   // larger headers get 431
    std::chrono::seconds read_timeout{15};  // to receive one whole request
    std::chrono::seconds idle_timeout{75};  // keep-alive wait for the next request
    std::chrono::seconds write_timeout{30};
    std::size_t max_connections = 10000;  // connections past this get 503 and are closed
    int io_threads = 2;
    int worker_threads = 4;                  // the blocking-work pool
    std::chrono::seconds drain_timeout{20};  // how long shutdown waits for requests in flight
};

// What one request did, for metrics.
struct RequestRecord {
    std::string_view listener;  // "public" or "internal"
    std::string_view route;     // the route's pattern, or "static", or "unmatched"
    std::string_view method;
    int status;
    double seconds;
};

using RequestObserver = std::function<void(const RequestRecord&)>;

class Server {
public:
    Server(ServerOptions options, Logger logger, RequestObserver observer);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Listens on address:port and serves router there; port 0 picks a free port. Returns the bound
    // port. The router must outlive the server. Throws std::system_error when binding fails.
    std::uint16_t Listen(const std::string& name, const std::string& address, std::uint16_t port, const Router& router);

    // Serves until SIGINT, SIGTERM or Stop(); then stops accepting, lets requests in flight finish
    // (up to drain_timeout) and returns.
    void Run();

    // Begins the graceful shutdown from any thread.
    void Stop();

    // True once shutdown began: readiness probes answer 503.
    bool draining() const;

    // Requests being handled right now, across listeners.
    std::int64_t in_flight() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace emporium::http
