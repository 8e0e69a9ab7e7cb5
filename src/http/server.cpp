#include "http/server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <csignal>
#include <deque>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <variant>

#include "core/text.h"
#include "http/errors.h"
#include "http/response_head.h"
#include "tracing/tracer.h"

namespace emporium::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// A request's method as a span shows it: a client's made-up method is "OTHER", so that neither a
// span's name nor its attributes carry arbitrary client text.
std::string SpanMethod(std::string_view method) {
    static constexpr std::string_view kKnown[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    for (std::string_view known : kKnown) {
        if (method == known) return std::string(known);
    }
    return "OTHER";
}

struct Listener {
    std::string name;
    tcp::acceptor acceptor;
    const Router* router;
    bool public_facing;
    std::unique_ptr<asio::ssl::context> tls;  // set: this listener speaks HTTPS
};

// File bodies go out in pieces of this size, each with its own write timeout.
constexpr std::size_t kFilePiece = std::size_t{64} * 1024;
// Answers a handler made for one request are compressed from this size on: below it the saving
// is a packet at most.
constexpr std::size_t kCompressFrom = 1024;

struct TrustedNetwork {
    asio::ip::address network;
    int prefix;
};

std::vector<TrustedNetwork> ParseTrusted(const std::vector<std::string>& items) {
    std::vector<TrustedNetwork> out;
    for (const std::string& item : items) {
        size_t slash = item.find('/');
        beast::error_code ec;
        auto address = asio::ip::make_address(item.substr(0, slash), ec);
        if (ec) throw std::invalid_argument("trusted proxy is not an address: " + item);
        int bits = address.is_v4() ? 32 : 128;
        int prefix = slash == std::string::npos ? bits : std::atoi(item.c_str() + slash + 1);
        if (prefix < 0 || prefix > bits) throw std::invalid_argument("trusted proxy has a bad prefix: " + item);
        out.push_back({address, prefix});
    }
    return out;
}

// The address as bytes (4 or 16), so that prefixes compare byte by byte.
std::vector<unsigned char> BytesOf(const asio::ip::address& a) {
    if (a.is_v4()) {
        const auto bytes = a.to_v4().to_bytes();
        return {bytes.begin(), bytes.end()};
    }
    const auto bytes = a.to_v6().to_bytes();
    return {bytes.begin(), bytes.end()};
}

bool InNetwork(const asio::ip::address& a, const TrustedNetwork& n) {
    if (a.is_v4() != n.network.is_v4()) return false;
    const std::vector<unsigned char> address = BytesOf(a);
    const std::vector<unsigned char> network = BytesOf(n.network);
    int bits = n.prefix;
    for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
        unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
        if ((address[i] & mask) != (network[i] & mask)) return false;
    }
    return true;
}

// Counts something (a connection, a request in flight) for as long as it exists.
class ConnectionSlot {
public:
    explicit ConnectionSlot(std::atomic<std::size_t>& counter) : counter_(counter) { ++counter_; }
    ~ConnectionSlot() { --counter_; }
    ConnectionSlot(const ConnectionSlot&) = delete;
    ConnectionSlot& operator=(const ConnectionSlot&) = delete;

private:
    std::atomic<std::size_t>& counter_;
};

Response MakeError(ErrorKind kind, std::string code, std::string message) {
    return ErrorResponse(Error{kind, std::move(code), std::move(message), {}});
}

// The answer to a request that failed while it was read (too large, malformed); nullopt when
// nobody waits for one (closed, reset, timed out).
std::optional<Response> AnswerToReadError(const beast::error_code& ec, std::size_t body_limit) {
    if (ec == bhttp::error::body_limit) {
        return MakeError(ErrorKind::kPayloadTooLarge, "payload_too_large",
                         "The request body is larger than " + std::to_string(body_limit) + " bytes.");
    }
    if (ec == bhttp::error::header_limit) {
        Response r = MakeError(ErrorKind::kBadRequest, "headers_too_large", "The request headers are too large.");
        r.status = 431;
        return r;
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        return MakeError(ErrorKind::kBadRequest, "malformed_request", "The request is not valid HTTP/1.1.");
    }
    return std::nullopt;
}

// X-Forwarded-Proto says https: its last value (what the nearest proxy set) names https.
bool ForwardedHttps(std::string_view value) {
    const std::size_t comma = value.rfind(',');
    std::string_view last = comma == std::string_view::npos ? value : value.substr(comma + 1);
    while (!last.empty() && last.front() == ' ') last.remove_prefix(1);
    while (!last.empty() && last.back() == ' ') last.remove_suffix(1);
    return ToLowerAscii(last) == "https";
}

// 503 overloaded with Retry-After: the one answer for every kind of shedding.
Response Busy() {
    Response busy = MakeError(ErrorKind::kUnavailable, "overloaded", "The shop is busy; try again shortly.");
    busy.headers.emplace_back("Retry-After", "1");
    return busy;
}

// A large answer a handler made for this request alone (not prepared, not a file or a stream) is
// compressed here, on the worker that made it, when the client accepts br or gzip: the network
// thread then only sends bytes.
Response CompressForClient(Response response, const Request& request) {
    if (response.prepared || !response.file.empty() || response.stream || response.body.size() < kCompressFrom ||
        !CompressibleType(response.content_type)) {
        return response;
    }
    const std::string_view accept = request.Header("accept-encoding");
    if (!AcceptsEncoding(accept, "br") && !AcceptsEncoding(accept, "gzip")) return response;
    response.prepared = PreparedText::Make(std::move(response.body));
    response.body.clear();
    response.prepared->For(accept);  // made now, off the network thread
    return response;
}

}  // namespace

struct Server::Impl {
    ServerOptions options;
    Logger logger;
    RequestObserver observer;
    std::atomic<bool> draining{false};
    std::atomic<std::size_t> in_flight_requests{0};
    // The public listeners' share of in_flight_requests: what admission (max_in_flight) counts, so
    // that scrapes and probes on the internal listener never get a shopper shed.
    std::atomic<std::size_t> public_in_flight_requests{0};
    std::atomic<std::size_t> connections{0};
    // The public listeners' share of connections: what max_connections bounds, so that scrapes and
    // probes on the internal listener still get in when the shop is full.
    std::atomic<std::size_t> public_connections{0};
    std::mutex per_address_mutex;
    std::unordered_map<std::string, std::size_t> per_address_connections;  // guarded by per_address_mutex
    std::atomic<std::uint64_t> next_request{0};
    std::string id_prefix;
    std::vector<std::unique_ptr<Listener>> listeners;
    std::vector<TrustedNetwork> trusted;
    // When each request now waiting for a worker was queued, oldest first (the pool is FIFO): the
    // age of the front is how far behind the workers are.
    std::mutex worker_queue_mutex;
    std::deque<std::chrono::steady_clock::time_point> worker_queue;  // guarded by worker_queue_mutex
    asio::thread_pool workers;
    // One event loop per network thread, each run by its thread alone: a connection lives on one
    // of them from accept to close, so its work never waits for a lock or wakes another thread.
    // The first also runs the accept loops, signals and the drain. Declared last so that they are
    // destroyed first: suspended connection coroutines die with them and may still touch the
    // members above.
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    std::size_t next_context = 0;  // touched by the accept loops only, which all run on contexts[0]

    asio::io_context& ioc() { return *contexts.front(); }
    // The loop a newly accepted connection lives on: each in turn.
    asio::io_context& NextContext() { return *contexts[next_context++ % contexts.size()]; }

    Impl(ServerOptions o, Logger l, RequestObserver obs)
        : options(std::move(o)),
          logger(std::move(l)),
          observer(std::move(obs)),
          workers(std::max(1, options.worker_threads)) {
        for (int i = 0; i < std::max(1, options.io_threads); ++i) {
            contexts.push_back(std::make_unique<asio::io_context>(1));
        }
        trusted = ParseTrusted(options.trusted_proxies);
        std::random_device rd;
        char buffer[16];
        std::snprintf(buffer, sizeof buffer, "%08x", rd());
        id_prefix = buffer;
    }

    // The acceptors go first: their executors belong to the first loop. Nothing runs any more (Run joined
    // every thread), and the coroutines that still name a listener never touch it again.
    ~Impl() { listeners.clear(); }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    std::string NextRequestId() {
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "%s-%06llx", id_prefix.c_str(),
                      static_cast<unsigned long long>(++next_request));
        return buffer;
    }

    // A connection's place in the open-connection counts (the total, and its address's on a
    // public listener), taken at accept and given back when its coroutine ends.
    struct ConnectionLease {
        explicit ConnectionLease(Impl& owner) : impl(&owner) {}
        ConnectionLease(ConnectionLease&& other) noexcept
            : impl(std::exchange(other.impl, nullptr)),
              address_key(std::move(other.address_key)),
              is_public(other.is_public) {}
        ConnectionLease& operator=(ConnectionLease&&) = delete;
        ~ConnectionLease();
        Impl* impl;
        std::string address_key;  // empty: not counted per address
        bool is_public = false;   // counted in public_connections
    };

    awaitable<void> Accept(Listener& listener);
    // A lease, or why the connection is refused: the total cap, or its address's cap on a public
    // listener (IPv6 by /64; trusted proxies are bounded by the total only).
    std::variant<ConnectionLease, const char*> AdmitConnection(const Listener& listener, const asio::ip::address& peer);
    awaitable<void> Reject(tcp::socket socket, const char* message);
    awaitable<void> Session(Listener& listener, tcp::socket socket, asio::ip::address peer, ConnectionLease lease);

    // One request and what became of it, from its first byte to its log line.
    struct Exchange {
        Request request;
        Response response;
        std::string route_name = "unmatched";           // the route's pattern once one matched
        std::chrono::steady_clock::time_point started;  // once the request is read: latency counts from here
        unsigned version = 11;
        bool head = false;
        bool keep_alive = false;
        // Answered without reading the whole request (unreadable, or refused before its body):
        // the connection closes after the answer.
        bool close_after = false;
        std::unique_ptr<tracing::RootSpan> root;  // the request's span when it is traced
    };

    // A connection's requests, one after another: read, admit, dispatch, write, record.
    template <typename Stream>
    awaitable<void> Serve(Listener& listener, Stream& stream, const asio::ip::address& peer);
    // Reads the body of a request whose header was read (after a 100 Continue when asked for).
    template <typename Stream>
    awaitable<beast::error_code> ReadBody(Stream& stream, beast::flat_buffer& buffer,
                                          bhttp::request_parser<bhttp::string_body>& parser);
    Exchange BeginExchange(const Listener& listener, const asio::ip::address& peer, const std::string& peer_text,
                           const bhttp::request<bhttp::string_body>& message);
    // How far Start got with a request, and what is left for Finish.
    struct Started {
        bool answered = true;    // exchange.response is set
        bool read_body = false;  // the body is still to be read (the parser's limit is set)
        std::size_t body_limit = 0;
        Fault fault;                   // a drill's, applied before the route
        const Route* route = nullptr;  // the route to run when there is no fault
    };
    // Fills the request from the header and admits it, then answers it when that needs no waiting:
    // refused, or without a body and answered by its route at once (a cached read). What needs
    // waiting (a body, a drill, a worker) is left to Finish. Not a coroutine, so that the common
    // request costs no coroutine frame.
    Started Start(const Listener& listener, bhttp::request_parser<bhttp::string_body>& parser, Exchange& exchange);
    // Once the request (body and all) is read: the drill's fault, or the route at once; false
    // when it is left to run (started.fault or started.route say how).
    bool AnswerNow(const Listener& listener, Exchange& exchange, Started& started);
    // Reads the body and answers what Start left. False when the client went away while sending
    // its body (nobody waits for an answer).
    template <typename Stream>
    awaitable<bool> Finish(Listener& listener, Stream& stream, beast::flat_buffer& buffer,
                           bhttp::request_parser<bhttp::string_body>& parser, Exchange& exchange, Started started);
    // The answer for a public request refused before its body is read: overload, rate limit, a
    // standby's read-only mode; nullopt admits it.
    std::optional<Response> Admit(const Listener& listener, const Request& request);
    // The handler's answer after the drill's fault (a delay, a failure, or both).
    awaitable<Response> AnswerDrilled(const Fault& fault, const Listener& listener, Request& request,
                                      std::string& route_name);
    // An answer that goes out in one gather write: its head (in the connection's buffer) and its
    // body, never copied.
    struct PlainWrite {
        std::array<asio::const_buffer, 2> buffers;
        std::size_t body_size = 0;
    };
    // The write for an answer whose body is in memory (neither a file nor made piece by piece),
    // head written into head; nullopt for the others. Not a coroutine: Serve sends most answers
    // with it and one write, without WriteResponse's frame.
    std::optional<PlainWrite> PreparePlain(const Listener& listener, Exchange& exchange, std::string& head);
    // Writes the answer; returns the write's error and the body's size. head: the connection's
    // buffer for the status line and headers, reused from one answer to the next.
    template <typename Stream>
    awaitable<std::pair<beast::error_code, std::size_t>> WriteResponse(Stream& stream, const Listener& listener,
                                                                       Exchange& exchange, std::string& head);
    // The options AppendHead needs for this exchange's answer.
    static HeadOptions HeadFor(const Listener& listener, const Exchange& exchange);
    // Sends a response whose body response.stream makes: the header, then one chunk per call (made
    // on a worker), each write with its own timeout. Returns the write error and the body's bytes.
    template <typename Stream>
    awaitable<std::pair<beast::error_code, std::size_t>> WriteStream(Stream& stream, const Listener& listener,
                                                                     Exchange& exchange, std::string& head);
    // The metrics observer and the log line.
    void Record(const Listener& listener, Exchange& exchange, std::size_t body_size);
    template <typename Stream>
    awaitable<void> LingeringClose(Stream& stream);
    // What a request's route makes of it without waiting: the answer when it is ready at once (an
    // unknown path or method, a fast route's hit, an inline route), or else the route to run.
    // Most requests end here, and a request answered here costs no coroutine frame (frames of more
    // than a kilobyte are allocated by malloc's slow path, a tenth of a cached answer's CPU).
    struct Routed {
        std::optional<Response> answer;
        const Route* route = nullptr;  // set when answer is not
    };
    Routed RouteNow(const Router& router, Request& request, std::string& route_name);
    // Runs a route RouteNow left: on the hashing queue when heavy, else on a worker.
    awaitable<Response> RunRoute(const Route& route, Request& request, bool may_shed);
    // Runs a heavy route's handler through options.run_heavy; Busy() when it sheds the request.
    awaitable<Response> RunHeavy(const Route& route, const Request& request);
    // Queues a request for a worker unless may_shed and the oldest request already waiting has
    // waited longer than options.max_queue_wait; false means shed it.
    bool EnterWorkerQueue(bool may_shed);
    void LeaveWorkerQueue();
    bool IsTrusted(const asio::ip::address& address) const;
    std::string ClientAddress(const asio::ip::address& peer, std::string_view forwarded_for) const;
    Response CallHandler(const Route& route, const Request& request);
    // Stops accepting and stops once the requests in flight are done (and, with linger, once the
    // clients closed their connections too), or at drain_timeout.
    void BeginDrain(bool linger);
    awaitable<void> WaitAndStop(bool linger);
};

awaitable<void> Server::Impl::Accept(Listener& listener) {
    auto start_session = [this, &listener](tcp::socket socket) {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto executor = socket.get_executor();
        beast::error_code ec;
        const asio::ip::address peer = socket.remote_endpoint(ec).address();
        if (ec) return;  // already gone
        std::variant<ConnectionLease, const char*> admitted = AdmitConnection(listener, peer);
        if (const char** refusal = std::get_if<const char*>(&admitted)) {
            asio::co_spawn(executor, Reject(std::move(socket), *refusal), asio::detached);
        } else {
            asio::co_spawn(executor,
                           Session(listener, std::move(socket), peer, std::move(std::get<ConnectionLease>(admitted))),
                           asio::detached);
        }
    };
    while (listener.acceptor.is_open()) {
        auto [ec, socket] = co_await listener.acceptor.async_accept(NextContext(), kTuple);
        if (ec) {
            if (ec == asio::error::operation_aborted || !listener.acceptor.is_open()) co_return;
            // Out of file descriptors and the like: back off briefly instead of spinning.
            LogWarn(logger, LogFields("accept failed").Add("error", ec.message()));
            asio::steady_timer pause(ioc(), std::chrono::milliseconds(50));
            co_await pause.async_wait(kTuple);
            continue;
        }
        start_session(std::move(socket));
        // Take every connection already waiting before going back to the event loop: under load
        // each trip through the loop is long, and a burst of connects would otherwise wait in
        // the backlog for seconds (what nginx calls multi_accept).
        for (int i = 0; i < 1024; ++i) {
            tcp::socket next(NextContext());
            listener.acceptor.accept(next, ec);
            if (ec) break;
            start_session(std::move(next));
        }
    }
}

std::variant<Server::Impl::ConnectionLease, const char*> Server::Impl::AdmitConnection(const Listener& listener,
                                                                                       const asio::ip::address& peer) {
    if (listener.public_facing && public_connections.fetch_add(1) >= options.max_connections) {
        --public_connections;
        return "Too many connections; try again shortly.";
    }
    ++connections;
    ConnectionLease lease(*this);
    lease.is_public = listener.public_facing;
    // Behind a proxy every shopper arrives from its address: the proxy is bounded by the total only.
    if (!listener.public_facing || IsTrusted(peer)) return lease;
    std::string key = AddressKey(peer.to_string());
    std::lock_guard lock(per_address_mutex);
    std::size_t& open = per_address_connections[key];
    if (open >= options.max_connections_per_address) return "Too many connections from your address; close some.";
    ++open;
    lease.address_key = std::move(key);
    return lease;
}

Server::Impl::ConnectionLease::~ConnectionLease() {
    if (!impl) return;
    if (!address_key.empty()) {
        std::lock_guard lock(impl->per_address_mutex);
        auto it = impl->per_address_connections.find(address_key);
        if (--it->second == 0) impl->per_address_connections.erase(it);
    }
    if (is_public) --impl->public_connections;
    --impl->connections;
}

awaitable<void> Server::Impl::Reject(tcp::socket socket, const char* message) {
    Response busy = MakeError(ErrorKind::kUnavailable, "overloaded", message);
    busy.headers.emplace_back("Retry-After", "1");
    std::string bytes;
    AppendHead(bytes, busy, HeadOptions{.keep_alive = false, .content_length = busy.body.size()});
    bytes += busy.body;
    beast::tcp_stream stream(std::move(socket));
    stream.expires_after(std::chrono::seconds(5));
    co_await asio::async_write(stream, asio::buffer(bytes), kTuple);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

Response Server::Impl::CallHandler(const Route& route, const Request& request) {
    tracing::CollectorScope trace(request.spans, request.trace);
    try {
        return route.handler(request);
    } catch (const std::exception& e) {
        bool transient = false;
        Response r = ThrownResponse(e, &transient);
        LogFields fields = LogFields(transient ? "database unavailable" : "handler failed")
                               .Add("request_id", request.request_id)
                               .Add("route", route.pattern)
                               .Add("error", e.what());
        if (transient) {
            LogWarn(logger, fields);
        } else {
            LogError(logger, fields);
        }
        return r;
    } catch (...) {
        LogError(logger, LogFields("handler failed").Add("request_id", request.request_id).Add("route", route.pattern));
    }
    return MakeError(ErrorKind::kInternal, "internal_error", "");
}

bool Server::Impl::EnterWorkerQueue(bool may_shed) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(worker_queue_mutex);
    if (may_shed && !worker_queue.empty() && now - worker_queue.front() > options.max_queue_wait) return false;
    worker_queue.push_back(now);
    return true;
}

void Server::Impl::LeaveWorkerQueue() {
    std::lock_guard lock(worker_queue_mutex);
    worker_queue.pop_front();
}

awaitable<Response> Server::Impl::RunHeavy(const Route& route, const Request& request) {
    // The work runs on another thread (the hashing queue's) and hands its answer back through this
    // connection's event loop, then wakes this coroutine by cancelling a timer it waits on. The loop
    // runs that hand-back only once the coroutine is waiting, and the coroutine (with route,
    // request, answer and the timer) lives until it is woken.
    auto loop = co_await asio::this_coro::executor;
    asio::steady_timer wake(loop, asio::steady_timer::time_point::max());
    std::optional<Response> answer;
    const bool queued = options.run_heavy([this, &route, &request, &answer, &wake, loop] {
        Response r = CallHandler(route, request);
        asio::post(loop, [&answer, &wake, r = std::move(r)]() mutable {
            answer = std::move(r);
            wake.cancel();
        });
    });
    if (!queued) co_return Busy();
    co_await wake.async_wait(kTuple);
    co_return std::move(*answer);
}

Server::Impl::Routed Server::Impl::RouteNow(const Router& router, Request& request, std::string& route_name) {
    RouteMatch match = router.Match(request.method, request.path);
    const Route* route = match.route;
    if (!route) {
        if (match.method_mismatch) {
            route_name = "unmatched";
            Response r = MakeError(ErrorKind::kMethodNotAllowed, "method_not_allowed",
                                   "This path does not accept " + request.method + ".");
            r.headers.emplace_back("Allow", match.allow);
            return Routed{std::move(r)};
        }
        route = router.fallback();
        if (!route) {
            route_name = "unmatched";
            return Routed{MakeError(ErrorKind::kNotFound, "not_found", "There is nothing at this address.")};
        }
    }
    route_name = route->pattern;
    request.path_params = std::move(match.params);
    if (route->fast) {
        tracing::CollectorScope trace(request.spans, request.trace);
        if (std::optional<Response> answer = route->fast(request)) return Routed{std::move(answer)};
    }
    if (route->inline_only) return Routed{CallHandler(*route, request)};
    return Routed{std::nullopt, route};
}

awaitable<Response> Server::Impl::RunRoute(const Route& route, Request& request, bool may_shed) {
    if (route.heavy && options.run_heavy) co_return co_await RunHeavy(route, request);
    // Shedding by how long requests wait for a worker, not by how many there are: a thousand
    // cached catalog reads are a few milliseconds of work, a handful of slow writes may be seconds.
    if (!EnterWorkerQueue(may_shed)) {
        co_return Busy();
    }
    co_return co_await asio::co_spawn(
        workers,
        [&]() -> awaitable<Response> {
            LeaveWorkerQueue();
            co_return CompressForClient(CallHandler(route, request), request);
        },
        use_awaitable);
}

awaitable<void> Server::Impl::Session(Listener& listener, tcp::socket socket, asio::ip::address peer,
                                      ConnectionLease lease) {
    beast::error_code ec;
    if (!listener.tls) {
        beast::tcp_stream stream(std::move(socket));
        co_await Serve(listener, stream, peer);
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *listener.tls);
    beast::get_lowest_layer(stream).expires_after(options.read_timeout);
    auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
    if (handshake_ec) co_return;
    co_await Serve(listener, stream, peer);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    co_await stream.async_shutdown(kTuple);
}

template <typename Stream>
awaitable<void> Server::Impl::Serve(Listener& listener, Stream& stream, const asio::ip::address& peer) {
    const std::string peer_text = peer.to_string();
    auto& tcp_layer = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer;
    std::string head;
    bool keep_alive = true;
    // A drain does not end the loop here: a response sent as keep-alive just before the drain
    // began lets the client send one more request on this connection, which must be answered (with
    // Connection: close), not met by a closed socket. The drain's own deadline ends idle ones.
    while (keep_alive) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
        // The route's own limit (router.h Route::body_limit) is applied once the header is read.
        parser.body_limit(std::max(options.body_limit, listener.router->LargestBodyLimit()));
        // Waiting for a next request is the idle timeout; once bytes arrived, the read timeout.
        tcp_layer.expires_after(buffer.size() > 0 ? options.read_timeout : options.idle_timeout);
        auto [read_ec, header_bytes] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
        // From here the request counts as in flight: a drain waits for it, body and all.
        std::optional<ConnectionSlot> in_flight_slot;
        std::optional<ConnectionSlot> public_slot;
        if (!read_ec) {
            in_flight_slot.emplace(in_flight_requests);
            if (listener.public_facing) public_slot.emplace(public_in_flight_requests);
        }
        std::optional<Response> read_error;  // the answer to an unreadable request
        if (read_ec) {
            read_error = AnswerToReadError(read_ec, options.body_limit);
            if (!read_error) break;  // closed, reset or timed out: nobody is waiting for an answer
        }
        Exchange exchange = BeginExchange(listener, peer, peer_text, parser.get());
        if (read_error) {
            exchange.response = std::move(*read_error);
            exchange.close_after = true;
        } else if (Started started = Start(listener, parser, exchange);
                   !started.answered && !co_await Finish(listener, stream, buffer, parser, exchange, started)) {
            break;  // the client went away in the middle of its body
        }
        if (draining.load()) exchange.keep_alive = false;
        std::pair<beast::error_code, std::size_t> written;
        if (std::optional<PlainWrite> plain = PreparePlain(listener, exchange, head)) {
            tcp_layer.expires_after(options.write_timeout);
            std::tie(written.first, std::ignore) = co_await asio::async_write(stream, plain->buffers, kTuple);
            written.second = plain->body_size;
        } else {
            written = co_await WriteResponse(stream, listener, exchange, head);
        }
        auto [write_ec, body_size] = written;
        in_flight_slot.reset();
        public_slot.reset();
        Record(listener, exchange, body_size);
        if (write_ec) break;
        if (exchange.close_after) {
            co_await LingeringClose(stream);
            co_return;
        }
        keep_alive = exchange.keep_alive;
    }
}

template <typename Stream>
awaitable<beast::error_code> Server::Impl::ReadBody(Stream& stream, beast::flat_buffer& buffer,
                                                    bhttp::request_parser<bhttp::string_body>& parser) {
    if (parser.is_done()) co_return beast::error_code{};
    if (parser.get()[bhttp::field::expect] == "100-continue") {
        // Clients that wait for permission to send a body (curl does) get it here.
        bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, parser.get().version()};
        co_await bhttp::async_write(stream, go_on, kTuple);
    }
    beast::get_lowest_layer(stream).expires_after(options.read_timeout);
    auto [body_ec, body_bytes] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
    co_return body_ec;
}

Server::Impl::Exchange Server::Impl::BeginExchange(const Listener& listener, const asio::ip::address& peer,
                                                   const std::string& peer_text,
                                                   const bhttp::request<bhttp::string_body>& message) {
    Exchange exchange;
    exchange.started = std::chrono::steady_clock::now();
    exchange.request.request_id = NextRequestId();
    const bool via_trusted_proxy = !trusted.empty() && IsTrusted(peer);
    // Behind a TLS-terminating proxy the proxy says how the client came; nobody else is believed.
    exchange.request.secure =
        listener.tls != nullptr || (via_trusted_proxy && ForwardedHttps(message["X-Forwarded-Proto"]));
    exchange.request.client_address = via_trusted_proxy ? ClientAddress(peer, message["X-Forwarded-For"]) : peer_text;
    exchange.request.method = std::string(message.method_string());
    exchange.version = message.version() ? message.version() : 11;
    const auto traceparent = message["traceparent"];
    const std::optional<TraceContext> caller =
        ParseTraceparent(std::string_view(traceparent.data(), traceparent.size()));
    exchange.request.trace = StartSpan(caller);
    if (options.tracer && listener.public_facing) {
        // A trace that starts here is sampled (kept, and marked so for the work it goes on to) at
        // the configured ratio; a caller's decision is passed on as given.
        if (!caller) exchange.request.trace.sampled = options.tracer->SampleNew();
        exchange.root = options.tracer->Begin(SpanMethod(exchange.request.method), tracing::SpanKind::kServer,
                                              exchange.request.trace, caller ? caller->span_id : SpanId());
        exchange.request.spans = exchange.root->collector();
    }
    return exchange;
}

Server::Impl::Started Server::Impl::Start(const Listener& listener, bhttp::request_parser<bhttp::string_body>& parser,
                                          Exchange& exchange) {
    const auto& message = parser.get();
    exchange.keep_alive = message.keep_alive();
    exchange.head = message.method() == bhttp::verb::head;
    Request& request = exchange.request;
    // Refused before its body is read: a refused client's body costs neither time nor memory, and
    // the connection closes after the answer (the body left unread).
    auto refuse = [&exchange, &parser](Response answer) {
        exchange.response = std::move(answer);
        if (!parser.is_done()) exchange.close_after = true;
        if (exchange.close_after) exchange.keep_alive = false;
        return Started{};
    };
    if (!ParseTarget(message.target(), request)) {
        return refuse(MakeError(ErrorKind::kBadRequest, "bad_target", "The request target is not a valid path."));
    }
    for (const auto& field : message) {
        request.headers.emplace_back(ToLowerAscii(field.name_string()), std::string(field.value()));
    }
    if (std::optional<Response> refused = Admit(listener, request)) return refuse(std::move(*refused));
    Started started;
    if (!parser.is_done()) {
        // A route may take a larger body than the server's limit (picture uploads); any other gets
        // the server's, here for a declared length and while reading for a chunked body.
        std::size_t body_limit = options.body_limit;
        const Route* route = listener.router->Match(request.method, request.path).route;
        if (route && route->body_limit > body_limit) body_limit = route->body_limit;
        if (parser.content_length() && *parser.content_length() > body_limit) {
            return refuse(*AnswerToReadError(bhttp::error::body_limit, body_limit));
        }
        parser.body_limit(body_limit);
        started.answered = false;
        started.read_body = true;
        started.body_limit = body_limit;
        return started;
    }
    request.body = std::move(parser.get().body());
    started.answered = AnswerNow(listener, exchange, started);
    return started;
}

bool Server::Impl::AnswerNow(const Listener& listener, Exchange& exchange, Started& started) {
    exchange.started = std::chrono::steady_clock::now();
    started.fault = listener.public_facing && options.fault ? options.fault() : Fault{};
    if (started.fault.fail || started.fault.delay.count() > 0) return false;
    Routed routed = RouteNow(*listener.router, exchange.request, exchange.route_name);
    if (!routed.answer) {
        started.route = routed.route;
        return false;
    }
    exchange.response = std::move(*routed.answer);
    return true;
}

template <typename Stream>
awaitable<bool> Server::Impl::Finish(Listener& listener, Stream& stream, beast::flat_buffer& buffer,
                                     bhttp::request_parser<bhttp::string_body>& parser, Exchange& exchange,
                                     Started started) {
    if (started.read_body) {
        if (beast::error_code body_ec = co_await ReadBody(stream, buffer, parser)) {
            std::optional<Response> answer = AnswerToReadError(body_ec, started.body_limit);
            if (!answer) co_return false;
            exchange.response = std::move(*answer);
            exchange.close_after = true;
            exchange.keep_alive = false;
            co_return true;
        }
        exchange.request.body = std::move(parser.get().body());
        if (AnswerNow(listener, exchange, started)) co_return true;
    }
    if (started.fault.fail || started.fault.delay.count() > 0) {
        exchange.response = co_await AnswerDrilled(started.fault, listener, exchange.request, exchange.route_name);
    } else {
        exchange.response = co_await RunRoute(*started.route, exchange.request, listener.public_facing);
    }
    co_return true;
}

std::optional<Response> Server::Impl::Admit(const Listener& listener, const Request& request) {
    if (!listener.public_facing) return std::nullopt;
    if (public_in_flight_requests.load() > options.max_in_flight) {
        // Shedding: answering some requests at once with 503 keeps the admitted ones fast.
        return Busy();
    }
    if (options.rate_limiter) {
        if (int retry_after = options.rate_limiter->Take(request.client_address); retry_after > 0) {
            Response limited =
                MakeError(ErrorKind::kRateLimited, "rate_limited", "Too many requests from your address; slow down.");
            limited.headers.emplace_back("Retry-After", std::to_string(retry_after));
            return limited;
        }
    }
    if (options.read_only && request.method != "GET" && request.method != "HEAD" && options.read_only()) {
        Response refused = MakeError(ErrorKind::kUnavailable, "read_only",
                                     "This is a standby copy of the shop: it shows the catalog but takes no "
                                     "changes until it is promoted.");
        refused.headers.emplace_back("Retry-After", "30");
        return refused;
    }
    return std::nullopt;
}

awaitable<Response> Server::Impl::AnswerDrilled(const Fault& fault, const Listener& listener, Request& request,
                                                std::string& route_name) {
    if (fault.delay.count() > 0) {
        asio::steady_timer pause(co_await asio::this_coro::executor, fault.delay);
        co_await pause.async_wait(kTuple);
    }
    if (fault.fail) {
        route_name = "fault";
        co_return MakeError(ErrorKind::kInternal, "fault_injected", "A drill failed this request.");
    }
    Routed routed = RouteNow(*listener.router, request, route_name);
    if (routed.answer) co_return std::move(*routed.answer);
    co_return co_await RunRoute(*routed.route, request, listener.public_facing);
}

std::optional<Server::Impl::PlainWrite> Server::Impl::PreparePlain(const Listener& listener, Exchange& exchange,
                                                                   std::string& head) {
    const Response& response = exchange.response;
    if (!response.file.empty() || response.stream) return std::nullopt;
    // The head goes into the connection's buffer and out with the body in one gather write: no
    // header container per request, and a prepared (cached) body is never copied.
    HeadOptions options_for_head = HeadFor(listener, exchange);
    const PreparedText::Choice body = response.BodyFor(exchange.request.Header("accept-encoding"));
    options_for_head.content_encoding = body.coding;
    options_for_head.vary_accept_encoding = response.prepared && response.prepared->compressible();
    options_for_head.content_length = body.bytes.size();
    head.clear();
    AppendHead(head, response, options_for_head);
    const bool send_body = !exchange.head && response.status != 204 && response.status != 304;
    return PlainWrite{{asio::buffer(head), asio::buffer(body.bytes.data(), send_body ? body.bytes.size() : 0)},
                      body.bytes.size()};
}

HeadOptions Server::Impl::HeadFor(const Listener& listener, const Exchange& exchange) {
    HeadOptions head;
    head.version = exchange.version;
    head.keep_alive = exchange.keep_alive;
    head.public_facing = listener.public_facing;
    head.secure = exchange.request.secure;
    head.request_id = exchange.request.request_id;
    return head;
}

template <typename Stream>
awaitable<std::pair<beast::error_code, std::size_t>> Server::Impl::WriteResponse(Stream& stream,
                                                                                 const Listener& listener,
                                                                                 Exchange& exchange,
                                                                                 std::string& head) {
    Response& response = exchange.response;
    if (response.file.empty() && response.stream) co_return co_await WriteStream(stream, listener, exchange, head);
    beast::file file;
    beast::error_code write_ec;
    if (!response.file.empty()) {
        file.open(response.file.c_str(), beast::file_mode::scan, write_ec);
        if (write_ec) {
            logger->error(
                LogFields("file body unreadable").Add("path", response.file).Add("error", write_ec.message()).str());
            response = MakeError(ErrorKind::kInternal, "internal_error", "The file could not be read.");
            write_ec = {};
        }
    }
    auto& tcp_layer = beast::get_lowest_layer(stream);
    if (!file.is_open()) {
        const PlainWrite plain = *PreparePlain(listener, exchange, head);
        tcp_layer.expires_after(options.write_timeout);
        std::tie(write_ec, std::ignore) = co_await asio::async_write(stream, plain.buffers, kTuple);
        co_return std::pair{write_ec, plain.body_size};
    }
    HeadOptions options_for_head = HeadFor(listener, exchange);
    // A file goes out piece by piece after its head, each piece with its own write timeout, so that
    // a large file on a slow link is not cut off while it is still moving.
    const auto body_size = static_cast<std::size_t>(file.size(write_ec));
    options_for_head.content_length = body_size;
    head.clear();
    AppendHead(head, response, options_for_head);
    tcp_layer.expires_after(options.write_timeout);
    std::tie(write_ec, std::ignore) = co_await asio::async_write(stream, asio::buffer(head), kTuple);
    std::vector<char> piece(exchange.head ? 0 : std::min(kFilePiece, body_size));
    for (std::size_t left = exchange.head ? 0 : body_size; left > 0 && !write_ec;) {
        const std::size_t n = file.read(piece.data(), std::min(left, piece.size()), write_ec);
        if (write_ec) break;
        if (n == 0) {
            write_ec = asio::error::eof;  // the file shrank while it was sent: the client sees a short body
            break;
        }
        left -= n;
        tcp_layer.expires_after(options.write_timeout);
        std::tie(write_ec, std::ignore) = co_await asio::async_write(stream, asio::buffer(piece.data(), n), kTuple);
    }
    co_return std::pair{write_ec, body_size};
}

template <typename Stream>
awaitable<std::pair<beast::error_code, std::size_t>> Server::Impl::WriteStream(Stream& stream, const Listener& listener,
                                                                               Exchange& exchange, std::string& head) {
    Response& response = exchange.response;
    const std::string& request_id = exchange.request.request_id;
    auto& tcp_layer = beast::get_lowest_layer(stream);
    HeadOptions options_for_head = HeadFor(listener, exchange);
    options_for_head.chunked = true;
    head.clear();
    AppendHead(head, response, options_for_head);
    tcp_layer.expires_after(options.write_timeout);
    auto [ec, ignored] = co_await asio::async_write(stream, asio::buffer(head), kTuple);
    std::size_t bytes = 0;
    bool more = !exchange.head;
    bool failed = false;
    std::string piece;
    while (!ec && more) {
        piece.clear();
        more = co_await asio::co_spawn(
            workers,
            [&]() -> awaitable<bool> {
                try {
                    co_return response.stream(piece);
                } catch (const std::exception& e) {
                    logger->error(LogFields("stream body failed")
                                      .Add("request_id", request_id)
                                      .Add("trace_id", exchange.request.trace.trace_id)
                                      .Add("error", e.what())
                                      .str());
                    piece.clear();
                    failed = true;
                    co_return false;
                }
            },
            use_awaitable);
        if (piece.empty()) continue;
        bytes += piece.size();
        tcp_layer.expires_after(options.write_timeout);
        std::tie(ec, std::ignore) = co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(piece)), kTuple);
    }
    // A body that failed half way must not look whole: no last chunk, and an error that closes the
    // connection, so the client sees the answer cut off.
    if (!ec && failed) ec = boost::system::errc::make_error_code(boost::system::errc::io_error);
    if (!ec && !exchange.head) {
        tcp_layer.expires_after(options.write_timeout);
        std::tie(ec, std::ignore) = co_await asio::async_write(stream, bhttp::make_chunk_last(), kTuple);
    }
    co_return std::pair{ec, bytes};
}

void Server::Impl::Record(const Listener& listener, Exchange& exchange, std::size_t body_size) {
    const Request& request = exchange.request;
    const int status = exchange.response.status;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - exchange.started).count();
    if (exchange.root) {
        tracing::SpanRecord& span = exchange.root->record();
        const std::string method = SpanMethod(request.method);
        span.name = method + " " + exchange.route_name;  // the pattern, never the client's path
        span.Set("http.request.method", method);
        span.Set("http.route", exchange.route_name);
        span.Set("http.response.status_code", static_cast<std::int64_t>(status));
        span.Set("emporium.listener", listener.name);
        span.error = status >= 500;
        exchange.request.spans = nullptr;
        options.tracer->End(std::move(exchange.root));
    }
    if (observer) observer(RequestRecord{listener.name, exchange.route_name, request.method, status, seconds});
    logger->info(LogFields("request")
                     .Add("listener", listener.name)
                     .Add("request_id", request.request_id)
                     .Add("trace_id", request.trace.trace_id)
                     .Add("method", request.method)
                     .Add("path", request.path)
                     .Add("route", exchange.route_name)
                     .Add("status", static_cast<long long>(status))
                     .Add("bytes", static_cast<long long>(body_size))
                     .Add("ms", seconds * 1000.0)
                     .Add("client", request.client_address)
                     .str());
}

template <typename Stream>
awaitable<void> Server::Impl::LingeringClose(Stream& stream) {
    // Read and drop what the client is still sending for a moment, so that it gets to read our
    // answer instead of a reset.
    auto& tcp_layer = beast::get_lowest_layer(stream);
    beast::error_code ec;
    tcp_layer.socket().shutdown(tcp::socket::shutdown_send, ec);
    tcp_layer.expires_after(std::chrono::seconds(2));
    std::array<char, 16384> sink;
    std::size_t dropped = 0;
    while (dropped < 8 * options.body_limit) {
        auto [drain_ec, n] = co_await stream.async_read_some(asio::buffer(sink), kTuple);
        if (drain_ec) break;
        dropped += n;
    }
}

bool Server::Impl::IsTrusted(const asio::ip::address& address) const {
    return std::any_of(trusted.begin(), trusted.end(), [&](const TrustedNetwork& n) { return InNetwork(address, n); });
}

std::string Server::Impl::ClientAddress(const asio::ip::address& peer, std::string_view forwarded_for) const {
    if (!IsTrusted(peer)) return peer.to_string();
    // Walk X-Forwarded-For from the right: the first hop not ours is the client.
    std::string_view rest = forwarded_for;
    while (!rest.empty()) {
        size_t comma = rest.rfind(',');
        std::string_view hop = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
        while (!hop.empty() && hop.front() == ' ') hop.remove_prefix(1);
        while (!hop.empty() && hop.back() == ' ') hop.remove_suffix(1);
        beast::error_code ec;
        auto address = asio::ip::make_address(hop, ec);
        if (ec) break;  // garbage: trust nothing further left
        if (!IsTrusted(address)) return address.to_string();
    }
    return peer.to_string();
}

void Server::Impl::BeginDrain(bool linger) {
    if (draining.exchange(true)) return;
    LogInfo(logger, LogFields("draining")
                        .Add("in_flight", static_cast<long long>(in_flight_requests.load()))
                        .Add("connections", static_cast<long long>(connections.load()))
                        .Add("handed_over", linger ? "yes" : "no"));
    for (auto& listener : listeners) {
        // On the first loop, where the accept loops run.
        asio::post(listener->acceptor.get_executor(), [&acceptor = listener->acceptor] {
            beast::error_code ignored;
            acceptor.close(ignored);
        });
    }
    asio::co_spawn(ioc(), WaitAndStop(linger), asio::detached);
}

awaitable<void> Server::Impl::WaitAndStop(bool linger) {
    auto deadline = std::chrono::steady_clock::now() + options.drain_timeout;
    asio::steady_timer timer(ioc());
    auto busy = [&] { return in_flight_requests.load() > 0 || (linger && connections.load() > 0); };
    while (busy() && std::chrono::steady_clock::now() < deadline) {
        timer.expires_after(std::chrono::milliseconds(10));
        co_await timer.async_wait(kTuple);
    }
    LogInfo(logger, LogFields("stopped")
                        .Add("unfinished", static_cast<long long>(in_flight_requests.load()))
                        .Add("connections_closed", static_cast<long long>(connections.load())));
    for (auto& context : contexts) context->stop();
}

Server::Server(ServerOptions options, Logger logger, RequestObserver observer)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(logger), std::move(observer))) {}

Server::~Server() = default;

std::uint16_t Server::Listen(const ListenerOptions& options) {
    tcp::endpoint endpoint(asio::ip::make_address(options.address), options.port);
    auto listener = std::make_unique<Listener>(
        Listener{options.name, tcp::acceptor(impl_->ioc()), options.router, options.public_facing, nullptr});
    if (!options.tls_certificate.empty()) {
        auto tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
        tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                         asio::ssl::context::single_dh_use);
        tls->use_certificate_chain_file(options.tls_certificate);
        tls->use_private_key_file(options.tls_private_key, asio::ssl::context::pem);
        listener->tls = std::move(tls);
    }
    if (options.fd >= 0) {
        sockaddr_storage local{};
        socklen_t size = sizeof local;
        if (::getsockname(options.fd, reinterpret_cast<sockaddr*>(&local), &size) != 0) {
            throw std::system_error(errno, std::generic_category(), "inherited socket");
        }
        listener->acceptor.assign(local.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), options.fd);
    } else {
        listener->acceptor.open(endpoint.protocol());
        listener->acceptor.set_option(asio::socket_base::reuse_address(true));
        listener->acceptor.bind(endpoint);
        listener->acceptor.listen(asio::socket_base::max_listen_connections);
    }
    listener->acceptor.non_blocking(true);  // so that Accept can drain the backlog without blocking
    std::uint16_t bound = listener->acceptor.local_endpoint().port();
    impl_->listeners.push_back(std::move(listener));
    return bound;
}

void Server::Run() {
    asio::signal_set signals(impl_->ioc(), SIGINT, SIGTERM);
    if (impl_->options.on_hangup) signals.add(SIGHUP);
    std::function<void(const beast::error_code&, int)> on_signal = [this, &signals, &on_signal](
                                                                       const beast::error_code& ec, int number) {
        if (ec) return;
        if (number != SIGHUP) {
            impl_->BeginDrain(false);
            return;
        }
        impl_->options.on_hangup();
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);
    // The accept loops run on the first event loop and hand each connection to the loops in turn:
    // an even spread whatever the burst, with one listening socket (the one a successor inherits).
    for (auto& listener : impl_->listeners) {
        asio::co_spawn(impl_->ioc(), impl_->Accept(*listener), asio::detached);
    }
    std::vector<std::thread> threads;
    using Guard = asio::executor_work_guard<asio::io_context::executor_type>;
    std::vector<Guard> keep_running;  // the other loops wait for connections until the stop
    for (std::size_t i = 1; i < impl_->contexts.size(); ++i) {
        asio::io_context& context = *impl_->contexts[i];
        keep_running.emplace_back(context.get_executor());
        threads.emplace_back([&context] { context.run(); });
    }
    impl_->ioc().run();
    for (auto& t : threads) t.join();
    signals.cancel();
    impl_->workers.join();
    impl_->logger->flush();
}

void Server::Stop() {
    asio::post(impl_->ioc(), [this] { impl_->BeginDrain(false); });
}

void Server::HandOver() {
    asio::post(impl_->ioc(), [this] { impl_->BeginDrain(true); });
}

std::vector<int> Server::ListeningSockets() const {
    std::vector<int> fds;
    for (const auto& listener : impl_->listeners) fds.push_back(listener->acceptor.native_handle());
    return fds;
}

bool Server::draining() const {
    return impl_->draining.load();
}

std::chrono::milliseconds Server::worker_queue_wait() const {
    std::lock_guard lock(impl_->worker_queue_mutex);
    if (impl_->worker_queue.empty()) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 impl_->worker_queue.front());
}

std::int64_t Server::open_connections() const {
    return static_cast<std::int64_t>(impl_->connections.load());
}

std::int64_t Server::in_flight() const {
    return static_cast<std::int64_t>(impl_->in_flight_requests.load());
}

}  // namespace emporium::http
