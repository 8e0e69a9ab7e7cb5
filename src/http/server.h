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
#include <vector>

#include "core/log.h"
#include "core/rate_limiter.h"
#include "http/router.h"

namespace emporium::tracing {
class Tracer;
}

namespace emporium::http {

// What a drill's fault switch says about one public request: fail it with a 500, or delay it.
struct Fault {
    bool fail = false;
    std::chrono::milliseconds delay{0};
};

struct ServerOptions {
    std::size_t body_limit = std::size_t{1024} * 1024;  // larger bodies get 413
    std::size_t header_limit = std::size_t{16} * 1024;  // larger headers get 431
    std::chrono::seconds read_timeout{15};              // to receive one whole request
    // Keep-alive wait for the next request. Keep it longer than a proxy's keep-alive towards
    // the shop (nginx's upstream keepalive_timeout, 60 s), so that the proxy always closes an
    // idle connection first and never sends a request on one the shop is closing.
    std::chrono::seconds idle_timeout{75};
    std::chrono::seconds write_timeout{30};
    std::size_t max_connections = 10000;  // public connections past this get 503 and are closed
    // Open connections from one client address (IPv6: one /64) on a public listener; past this
    // its new ones get 503 and are closed. Trusted proxies are bounded by max_connections only.
    std::size_t max_connections_per_address = 256;
    int io_threads = 2;
    int worker_threads = 4;  // the blocking-work pool
    // Runs the handler of a route marked heavy (password hashing) off the I/O threads and the
    // worker pool: queues the work and returns true, or returns false to shed the request with
    // 503 and Retry-After. The work must be run (or the queue stopped) while the server exists.
    // Unset: heavy routes run on the worker pool like any other.
    std::function<bool(std::function<void()>)> run_heavy;
    // Shedding: a public request that needs a worker gets 503 while the oldest one already waiting
    // for a worker has waited longer than this. Cached and inline answers are never shed by it.
    std::chrono::milliseconds max_queue_wait{250};
    std::size_t max_in_flight = 4096;        // a hard cap: public requests in flight past this get 503
    std::chrono::seconds drain_timeout{20};  // how long shutdown waits for requests in flight
    Limiter* rate_limiter = nullptr;         // per client address on public listeners; optional
    // Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: addresses or CIDR ranges
    // ("10.0.0.0/8"). A request such a proxy marks `X-Forwarded-Proto: https` counts as secure:
    // Secure cookies and HSTS.
    std::vector<std::string> trusted_proxies;
    // Drills only (`serve --faults`): asked once per public request; empty in production.
    std::function<Fault()> fault;
    // Called (on an I/O thread: return at once) when the process gets SIGHUP: the shop hands its
    // sockets to a new process there. Unset: SIGHUP is not handled here.
    std::function<void()> on_hangup;
    // A warm standby: while this says true, public writes (anything but GET and HEAD) get 503
    // `read_only`. Optional.
    std::function<bool()> read_only;
    // Gives each public request a root span (named by its route's pattern) whose collector is
    // current while its handler runs, and decides at its end whether the trace is kept. Unset: no
    // spans. Must outlive the server.
    tracing::Tracer* tracer = nullptr;
};

struct ListenerOptions {
    std::string name;  // "public" or "internal": labels metrics and logs
    std::string address;
    std::uint16_t port = 0;          // 0 picks a free port
    const Router* router = nullptr;  // must outlive the server
    // Public listeners get rate limits, shedding and security headers; internal ones (health,
    // metrics) answer even when the shop is overloaded.
    bool public_facing = true;
    // PEM files: when set, the listener speaks HTTPS (TLS 1.2 and newer) and sends HSTS.
    std::string tls_certificate;
    std::string tls_private_key;
    // A listening socket to serve instead of binding address:port (one handed over by a
    // predecessor or by systemd); the server owns it from here. -1: bind.
    int fd = -1;
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

    // Listens as the options say and returns the bound port. Throws std::system_error when
    // binding fails.
    std::uint16_t Listen(const ListenerOptions& options);

    // Serves until SIGINT, SIGTERM or Stop(); then stops accepting, lets requests in flight finish
    // (up to drain_timeout) and returns.
    void Run();

    // Begins the graceful shutdown from any thread.
    void Stop();

    // Begins the graceful shutdown after another process took over the listening sockets: stops
    // accepting, answers each request still arriving on an open connection with `Connection:
    // close`, and waits (up to drain_timeout) for the clients to close their idle connections
    // rather than closing one under a request in flight to it.
    void HandOver();

    // The listening sockets' descriptors, in the order Listen was called: what a successor gets.
    std::vector<int> ListeningSockets() const;

    // True once shutdown began: readiness probes answer 503.
    bool draining() const;

    // Requests being handled right now, across listeners.
    std::int64_t in_flight() const;

    // Connections open right now, across listeners.
    std::int64_t open_connections() const;

    // How long the oldest request waiting for a worker has waited (zero when none waits): what
    // shedding compares with max_queue_wait.
    std::chrono::milliseconds worker_queue_wait() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace emporium::http
