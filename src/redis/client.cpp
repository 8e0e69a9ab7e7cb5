#include "redis/client.h"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <random>

namespace emporium::redis {
namespace {

using SteadyClock = std::chrono::steady_clock;

timeval Timeval(std::chrono::milliseconds d) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(d.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
    return tv;
}

Reply Copy(const redisReply& r) {
    Reply out;
    switch (r.type) {
        case REDIS_REPLY_INTEGER:
            out.type = Reply::Type::kInteger;
            out.integer = r.integer;
            break;
        case REDIS_REPLY_STRING:
            out.type = Reply::Type::kString;
            out.text.assign(r.str, r.len);
            break;
        case REDIS_REPLY_STATUS:
            out.type = Reply::Type::kStatus;
            out.text.assign(r.str, r.len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = Reply::Type::kError;
            out.text.assign(r.str, r.len);
            break;
        case REDIS_REPLY_ARRAY:
            out.type = Reply::Type::kArray;
            out.elements.reserve(r.elements);
            for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(Copy(*r.element[i]));
            break;
        default:
            out.type = Reply::Type::kNil;
    }
    return out;
}

// An error reply's code ("WRONGPASS", "NOSCRIPT"): the only part of a server's error text that
// goes to the log, so nothing the server echoes back (a key, an argument) is written out.
std::string ErrorCode(std::string_view text) {
    std::string code;
    for (char ch : text) {
        if (ch < 'A' || ch > 'Z' || code.size() >= 32) break;
        code += ch;
    }
    return code.empty() ? "ERR" : code;
}

std::string Sha1Hex(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr) != 1) {
        throw std::runtime_error("SHA-1 failed");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 15];
    }
    return out;
}

// run_id from INFO server's text: changes each time the server starts.
std::string RunId(const Reply& info) {
    const std::string_view text = info.text;
    const std::size_t at = text.find("run_id:");
    if (at == std::string_view::npos) return "";
    const std::size_t start = at + 7;
    const std::size_t end = text.find_first_of("\r\n", start);
    return std::string(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
}

// Wait before the next attempt: the backoff with up to a fifth taken off at random, so that many
// nodes do not all reconnect in the same instant; the backoff itself doubles up to max.
std::chrono::milliseconds NextBackoff(std::chrono::milliseconds& backoff, std::chrono::milliseconds max) {
    thread_local std::minstd_rand random(static_cast<unsigned>(SteadyClock::now().time_since_epoch().count()));
    const auto wait = backoff - std::chrono::milliseconds(random() % (backoff.count() / 5 + 1));
    backoff = std::min(max, backoff * 2);
    return wait;
}

}  // namespace

std::string Url::Redacted() const {
    const bool ipv6 = host.find(':') != std::string::npos;
    return "redis://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + std::to_string(database);
}

std::optional<Url> ParseUrl(std::string_view text, std::string* error) {
    auto fail = [error](std::string why) -> std::optional<Url> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed) return fail("is not a URL (expected redis://[:password@]host[:port][/db])");
    const boost::urls::url_view& u = *parsed;
    if (u.scheme() != "redis") return fail("must start with redis:// (TLS and sockets are not supported)");
    if (u.has_query() || u.has_fragment()) return fail("takes no query or fragment");
    Url url;
    url.host = u.host_address();
    if (url.host.empty()) return fail("names no host");
    if (u.has_port()) {
        const std::string_view port = u.port();
        unsigned value = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
            return fail("has a port outside 1-65535");
        }
        url.port = static_cast<std::uint16_t>(value);
    }
    if (u.has_userinfo()) {
        url.username = u.user();
        if (u.has_password()) url.password = u.password();
        if (!u.has_password() && !url.username.empty()) {
            // redis://secret@host: a lone user part is taken as the password, as redis-cli does.
            url.password = std::move(url.username);
            url.username.clear();
        }
    }
    std::string_view path = u.encoded_path();
    if (!path.empty() && path != "/") {
        path.remove_prefix(1);
        int db = -1;
        auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
        if (ec != std::errc() || end != path.data() + path.size() || db < 0 || db > 15) {
            return fail("has a database number outside 0-15");
        }
        url.database = db;
    }
    return url;
}

Script::Script(std::string body) : body_(std::move(body)), sha1_(Sha1Hex(body_)) {}

void Client::ContextDeleter::operator()(redisContext* c) const {
    redisFree(c);
}

Client::Client(Url url, ClientOptions options, Logger logger)
    : url_(std::move(url)),
      options_(options),
      logger_(std::move(logger)),
      pool_backoff_(options.backoff_min),
      subscribe_backoff_(options.backoff_min) {}

Client::~Client() {
    Stop();
}

void Client::Subscribe(Subscription subscription) {
    subscriptions_.push_back(std::move(subscription));
}

void Client::Start() {
    if (thread_.joinable()) return;
    // hiredis writes with write(2): a connection the server closed must be an error (EPIPE), not
    // a signal that ends the program.
    std::signal(SIGPIPE, SIG_IGN);
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
    thread_ = std::thread([this] { Run(); });
}

void Client::Stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    Wake();
    thread_.join();
    close(wake_fd_);
    wake_fd_ = -1;
}

void Client::Wake() {
    const std::uint64_t one = 1;
    if (wake_fd_ >= 0) [[maybe_unused]]
        auto n = write(wake_fd_, &one, sizeof one);
}

Client::Context Client::Connect() {
    std::string reason;
    Context c(redisConnectWithTimeout(url_.host.c_str(), url_.port, Timeval(options_.connect_timeout)));
    if (!c || c->err) {
        reason = c ? c->errstr : "out of memory";
        CountFailure(Failure::kIo);
        c.reset();
    } else {
        redisSetTimeout(c.get(), Timeval(options_.command_timeout));
        redisEnableKeepAlive(c.get());
        reason = Handshake(*c);
        if (!reason.empty()) c.reset();
    }
    if (c) return c;
    if (!logged_down_) {
        logged_down_ = true;
        LogWarn(logger_, LogFields("redis unreachable").Add("redis", url_.Redacted()).Add("reason", reason));
    }
    return nullptr;
}

std::string Client::Handshake(redisContext& c) {
    std::vector<std::vector<std::string_view>> steps;
    const std::string db = std::to_string(url_.database);
    if (!url_.password.empty()) {
        std::vector<std::string_view>& auth = steps.emplace_back(std::vector<std::string_view>{"AUTH"});
        if (!url_.username.empty()) auth.emplace_back(url_.username);
        auth.emplace_back(url_.password);
    }
    if (url_.database != 0) steps.push_back({"SELECT", db});
    steps.push_back({"PING"});
    for (const std::vector<std::string_view>& step : steps) {
        Outcome o = Send(c, step);
        if (o.ok()) continue;
        CountFailure(o.failure);
        const std::string why = o.failure == Failure::kReply     ? ErrorCode(o.reply.text)
                                : o.failure == Failure::kTimeout ? "timeout"
                                                                 : std::string(c.errstr);
        return std::string(step[0]) + " failed: " + why;
    }
    return "";
}

Outcome Client::Send(redisContext& c, const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (std::string_view a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    errno = 0;
    auto* raw =
        static_cast<redisReply*>(redisCommandArgv(&c, static_cast<int>(argv.size()), argv.data(), lengths.data()));
    const int saved_errno = errno;
    Outcome o;
    if (!raw) {
        const bool timed_out = c.err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK);
        o.failure = timed_out ? Failure::kTimeout : Failure::kIo;
        return o;
    }
    o.reply = Copy(*raw);
    freeReplyObject(raw);
    if (o.reply.type == Reply::Type::kError) o.failure = Failure::kReply;
    return o;
}

Outcome Client::RunScript(redisContext& c, const Script& script, const std::vector<std::string_view>& keys,
                          const std::vector<std::string_view>& args) {
    const std::string key_count = std::to_string(keys.size());
    std::vector<std::string_view> argv = {"EVALSHA", script.sha1(), key_count};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    Outcome o = Send(c, argv);
    if (o.failure == Failure::kReply && o.reply.text.starts_with("NOSCRIPT")) {
        Outcome loaded = Send(c, {"SCRIPT", "LOAD", script.body()});
        if (!loaded.ok()) return loaded;
        o = Send(c, argv);
    }
    return o;
}

template <typename F>
Outcome Client::WithConnection(F&& use) {
    if (!commands_up_) return Outcome{Failure::kDown, {}};
    Context c;
    std::uint64_t generation = 0;
    {
        std::unique_lock lock(pool_mutex_);
        if (!pool_ready_.wait_for(lock, options_.command_timeout,
                                  [this] { return !idle_.empty() || !commands_up_ || stopping_; })) {
            lock.unlock();
            CountFailure(Failure::kBusy);
            return Outcome{Failure::kBusy, {}};
        }
        if (idle_.empty()) return Outcome{Failure::kDown, {}};
        c = std::move(idle_.back());
        idle_.pop_back();
        generation = pool_generation_;
    }
    Outcome o = use(*c);
    const bool broken = o.failure == Failure::kTimeout || o.failure == Failure::kIo;
    bool current = false;
    {
        std::lock_guard lock(pool_mutex_);
        current = generation == pool_generation_;
        if (!current) {
            // Counted out of open_ when its generation was dropped.
        } else if (broken) {
            --open_;
        } else {
            idle_.push_back(std::move(c));
        }
    }
    pool_ready_.notify_one();
    if (!o.ok()) CountFailure(o.failure);
    // A connection from before the last drop says nothing about the connections made since.
    if (broken && current) MarkDown(o.failure);
    return o;
}

Outcome Client::Command(const std::vector<std::string_view>& args) {
    return WithConnection([&](redisContext& c) { return Send(c, args); });
}

Outcome Client::Eval(const Script& script, const std::vector<std::string_view>& keys,
                     const std::vector<std::string_view>& args) {
    return WithConnection([&](redisContext& c) { return RunScript(c, script, keys, args); });
}

void Client::CountFailure(Failure why) {
    ++failures_[static_cast<std::size_t>(why)];
}

void Client::MarkDown(Failure why) {
    if (!commands_up_.exchange(false)) return;
    pool_ready_.notify_all();
    Wake();
}

ClientFigures Client::Figures() const {
    ClientFigures f;
    f.subscribed = subscribed_.load();
    f.up = commands_up_.load() && (subscriptions_.empty() || f.subscribed);
    f.timeouts = failures_[static_cast<std::size_t>(Failure::kTimeout)].load();
    f.io_errors = failures_[static_cast<std::size_t>(Failure::kIo)].load();
    f.reply_errors = failures_[static_cast<std::size_t>(Failure::kReply)].load();
    f.busy = failures_[static_cast<std::size_t>(Failure::kBusy)].load();
    f.reconnects = reconnects_.load();
    return f;
}

void Client::DropPool() {
    std::vector<Context> closing;
    {
        std::lock_guard lock(pool_mutex_);
        closing.swap(idle_);
        open_ = 0;  // connections lent out now are closed when they come back
        ++pool_generation_;
    }
    pool_ready_.notify_all();
}

// Down: drops what is left of the old pool and connects a new one; the first connection is the
// probe, and commands resume only when the whole pool is there.
void Client::KeepPool() {
    DropPool();
    std::size_t missing = 0;
    {
        std::lock_guard lock(pool_mutex_);
        missing = options_.pool_size > open_ ? options_.pool_size - open_ : 0;
    }
    for (std::size_t i = 0; i < missing; ++i) {
        Context c = Connect();
        if (!c) {
            DropPool();
            next_pool_attempt_ = SteadyClock::now() + NextBackoff(pool_backoff_, options_.backoff_max);
            return;
        }
        std::lock_guard lock(pool_mutex_);
        idle_.push_back(std::move(c));
        ++open_;
    }
    pool_backoff_ = options_.backoff_min;
    if (ever_up_) ++reconnects_;
    ever_up_ = true;
    logged_down_ = false;
    commands_up_ = true;
    pool_ready_.notify_all();
    LogInfo(logger_, LogFields("redis up").Add("redis", url_.Redacted()));
}

void Client::Resubscribe() {
    Context c = Connect();
    std::string run_id;
    bool ok = c != nullptr;
    if (ok) {
        Outcome info = Send(*c, {"INFO", "server"});
        ok = info.ok();
        run_id = RunId(info.reply);
    }
    if (ok) {
        std::vector<std::string_view> args = {"SUBSCRIBE"};
        for (const Subscription& s : subscriptions_) args.emplace_back(s.channel);
        // One confirmation per channel; Send reads the first, the loop the others.
        Outcome confirmed = Send(*c, args);
        ok = confirmed.ok() && confirmed.reply.type == Reply::Type::kArray;
        for (std::size_t i = 1; ok && i < subscriptions_.size(); ++i) {
            void* raw = nullptr;
            ok = redisGetReply(c.get(), &raw) == REDIS_OK && raw != nullptr;
            if (raw) freeReplyObject(raw);
        }
        if (!ok) CountFailure(confirmed.failure == Failure::kNone ? Failure::kIo : confirmed.failure);
    }
    if (!ok) {
        next_subscribe_attempt_ = SteadyClock::now() + NextBackoff(subscribe_backoff_, options_.backoff_max);
        return;
    }
    subscription_ = std::move(c);
    subscribe_backoff_ = options_.backoff_min;
    for (const Subscription& s : subscriptions_) {
        if (s.on_subscribed) s.on_subscribed(true, run_id);
    }
    last_heard_ = last_ping_ = SteadyClock::now();
    subscribed_ = true;
}

void Client::DropSubscription(const char* why) {
    if (!subscription_) return;
    subscription_.reset();
    subscribed_ = false;
    CountFailure(Failure::kIo);
    LogWarn(logger_, LogFields("redis subscription lost").Add("redis", url_.Redacted()).Add("reason", why));
    for (const Subscription& s : subscriptions_) {
        if (s.on_subscribed) s.on_subscribed(false, "");
    }
    // The server probably went away: the pooled connections are as suspect as this one.
    MarkDown(Failure::kIo);
    next_subscribe_attempt_ = SteadyClock::now() + NextBackoff(subscribe_backoff_, options_.backoff_max);
}

void Client::ReadSubscription() {
    if (redisBufferRead(subscription_.get()) != REDIS_OK) {
        DropSubscription("connection closed");
        return;
    }
    last_heard_ = SteadyClock::now();
    while (true) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(subscription_.get(), &raw) != REDIS_OK) {
            DropSubscription("protocol error");
            return;
        }
        if (!raw) return;
        Reply r = Copy(*static_cast<redisReply*>(raw));
        freeReplyObject(raw);
        // ["message", channel, payload]; pings are answered ["pong", ""].
        if (r.type != Reply::Type::kArray || r.elements.size() != 3 || r.elements[0].text != "message") continue;
        for (const Subscription& s : subscriptions_) {
            if (s.channel == r.elements[1].text && s.on_message) s.on_message(r.elements[2].text);
        }
    }
}

void Client::Run() {
    next_pool_attempt_ = next_subscribe_attempt_ = SteadyClock::now();
    while (!stopping_) {
        auto now = SteadyClock::now();
        if (!commands_up_ && now >= next_pool_attempt_) KeepPool();
        // Subscribing waits for the pool, so that what a subscriber does on (re)subscription
        // (announce a change it owes, say) finds commands up.
        if (!subscriptions_.empty() && !subscription_ && commands_up_ && now >= next_subscribe_attempt_) {
            Resubscribe();
        }
        now = SteadyClock::now();
        if (subscription_ && now - last_heard_ > 3 * options_.ping_interval) DropSubscription("no answer to pings");
        if (subscription_ && now - last_ping_ >= options_.ping_interval) {
            last_ping_ = now;
            redisAppendCommand(subscription_.get(), "PING");
            int done = 0;
            while (!done) {
                if (redisBufferWrite(subscription_.get(), &done) != REDIS_OK) {
                    DropSubscription("ping failed");
                    break;
                }
            }
        }
        auto wake_at = now + std::chrono::seconds(1);
        if (!commands_up_) wake_at = std::min(wake_at, next_pool_attempt_);
        if (subscription_) wake_at = std::min(wake_at, last_ping_ + options_.ping_interval);
        if (!subscriptions_.empty() && !subscription_ && commands_up_) {
            wake_at = std::min(wake_at, next_subscribe_attempt_);
        }
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake_at - now).count();
        pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {subscription_ ? subscription_->fd : -1, POLLIN, 0}};
        if (poll(fds, 2, static_cast<int>(std::max<long long>(0, wait))) <= 0) continue;
        if (fds[0].revents & POLLIN) {
            std::uint64_t count = 0;
            [[maybe_unused]] auto n = read(wake_fd_, &count, sizeof count);
        }
        if (subscription_ && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) ReadSubscription();
    }
    subscription_.reset();
    subscribed_ = false;
    commands_up_ = false;
    DropPool();
}

}  // namespace emporium::redis
