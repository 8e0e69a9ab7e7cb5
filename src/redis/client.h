// A Redis client for the shop's shared cache and rate limits (hiredis, blocking sockets with short
// timeouts). Commands run on the caller's thread, which must be a worker thread or a thread of this
// module, never a network thread: each waits at most one command timeout per socket read or write.
// A thread of the client's own keeps everything else off callers: it connects, reconnects with
// backoff, holds the subscription connection (pub/sub) and pings it. While Redis is unreachable,
// commands fail at once without touching the network, so callers fall back to what they do
// without Redis (docs/OPERATIONS.md, "Redis").
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/log.h"

struct redisContext;

namespace emporium::redis {

// Where Redis is. Parsed from redis://[[user]:password@]host[:port][/db].
struct Url {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    int database = 0;
    std::string username;  // an ACL user (Redis 6 and newer); empty: the default user
    std::string password;  // never logged, never in Redacted()

    // The URL without its credentials, for logs and errors: redis://host:port/db.
    std::string Redacted() const;
};

// The URL's parts, or a sentence saying what is wrong with it (which never repeats a password).
// Only redis:// (no TLS), a database number from 0 to 15 and a port from 1 to 65535.
std::optional<Url> ParseUrl(std::string_view text, std::string* error);

struct ClientOptions {
    std::chrono::milliseconds connect_timeout{100};
    // For each read and write of a command; a timed-out command marks Redis down.
    std::chrono::milliseconds command_timeout{50};
    // Connections for commands: one per thread that may call at once keeps callers from waiting.
    std::size_t pool_size = 8;
    std::chrono::milliseconds backoff_min{100};  // first wait before reconnecting, doubled each time
    std::chrono::milliseconds backoff_max{2000};
    // The subscription connection is pinged this often; silent for three of these, it is dropped.
    std::chrono::milliseconds ping_interval{1000};
};

// One reply, copied out of hiredis.
struct Reply {
    enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
    Type type = Type::kNil;
    long long integer = 0;
    std::string text;  // strings, statuses and errors
    std::vector<Reply> elements;
};

// Why a command did not give a reply. kDown: Redis was already known to be unreachable, so
// nothing was sent.
enum class Failure { kNone, kDown, kBusy, kTimeout, kIo, kReply };

struct Outcome {
    Failure failure = Failure::kNone;
    Reply reply;  // the reply; for kReply, the error reply
    bool ok() const { return failure == Failure::kNone; }
};

// A Lua script run by its SHA-1 (EVALSHA), loaded into the server when it does not know it yet
// (first use, or a restarted server).
class Script {
public:
    explicit Script(std::string body);
    const std::string& body() const { return body_; }
    const std::string& sha1() const { return sha1_; }

private:
    std::string body_;
    std::string sha1_;
};

// What the client has counted, for metrics.
struct ClientFigures {
    bool up = false;          // commands go through and, when anyone listens, the subscription holds
    bool subscribed = false;  // the subscription connection is established
    std::uint64_t timeouts = 0;
    std::uint64_t io_errors = 0;     // connections lost or refused, by commands and by the client's thread
    std::uint64_t reply_errors = 0;  // error replies (a wrong password, a script error)
    std::uint64_t busy = 0;          // no free connection within one command timeout
    std::uint64_t reconnects = 0;    // times Redis came back after being down
};

class Client {
public:
    // Messages published on channel reach on_message, on the client's thread. on_subscribed is
    // called there too: with true once the subscription is established (each time: after a
    // reconnect, messages sent in between were missed) along with the server's run_id (it changes
    // when Redis restarts), and with false when it is lost.
    struct Subscription {
        std::string channel;
        std::function<void(std::string_view message)> on_message;
        std::function<void(bool subscribed, std::string_view run_id)> on_subscribed;
    };

    Client(Url url, ClientOptions options, Logger logger);
    ~Client();  // stops
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Adds a subscription. Call before Start.
    void Subscribe(Subscription subscription);

    // Starts the client's thread, which connects; Redis may be down now and come later. Ignores
    // SIGPIPE in the whole process (hiredis writes with write(2)).
    void Start();
    // Stops the client's thread and closes every connection. Commands afterwards fail (kDown).
    void Stop();

    // Runs one command (arguments are binary-safe). Blocks for at most about one command timeout.
    Outcome Command(const std::vector<std::string_view>& args);

    // Runs a script with EVALSHA, loading it first when the server does not know it.
    Outcome Eval(const Script& script, const std::vector<std::string_view>& keys,
                 const std::vector<std::string_view>& args);

    // Whether commands are being sent (false: they fail at once with kDown).
    bool commands_up() const { return commands_up_.load(); }
    ClientFigures Figures() const;
    const Url& url() const { return url_; }

private:
    struct ContextDeleter {
        void operator()(redisContext* c) const;
    };
    using Context = std::unique_ptr<redisContext, ContextDeleter>;

    // Connects, authenticates and selects the database; null (and a counted, logged error) when
    // any step fails. Only the client's thread connects: name lookups never hold up callers.
    Context Connect();
    // AUTH (with a password), SELECT (a database other than 0), then PING, so that a server that
    // accepts connections but does not answer (stopped, overloaded) is not taken for up. Empty
    // when all went well; otherwise what failed, without anything the server said but its code.
    std::string Handshake(redisContext& c);
    Outcome Send(redisContext& c, const std::vector<std::string_view>& args);
    Outcome RunScript(redisContext& c, const Script& script, const std::vector<std::string_view>& keys,
                      const std::vector<std::string_view>& args);
    // A command on a pooled connection; a connection that failed is closed, and Redis marked down.
    template <typename F>
    Outcome WithConnection(F&& use);
    void MarkDown(Failure why);
    void CountFailure(Failure why);

    void Run();  // the client's thread
    void KeepPool();
    void DropPool();
    void Resubscribe();
    void ReadSubscription();
    void DropSubscription(const char* why);
    void Wake();

    const Url url_;
    const ClientOptions options_;
    Logger logger_;
    std::vector<Subscription> subscriptions_;  // set before Start

    std::mutex pool_mutex_;  // guards idle_, open_ and pool_generation_
    std::condition_variable pool_ready_;
    std::vector<Context> idle_;
    std::size_t open_ = 0;  // of the current generation, idle and lent out
    // Bumped each time the pool is dropped: a connection lent out before is closed on return.
    std::uint64_t pool_generation_ = 0;
    std::atomic<bool> commands_up_{false};
    std::atomic<bool> subscribed_{false};
    std::atomic<bool> stopping_{false};
    std::array<std::atomic<std::uint64_t>, 6> failures_{};  // by Failure
    std::atomic<std::uint64_t> reconnects_{0};

    // The client's thread's own state.
    Context subscription_;
    std::chrono::steady_clock::time_point last_heard_, last_ping_;
    std::chrono::steady_clock::time_point next_pool_attempt_, next_subscribe_attempt_;
    std::chrono::milliseconds pool_backoff_, subscribe_backoff_;
    bool ever_up_ = false;
    bool logged_down_ = false;
    int wake_fd_ = -1;  // an eventfd: wakes the thread from poll (a failed command, Stop)
    std::thread thread_;
};

}  // namespace emporium::redis
