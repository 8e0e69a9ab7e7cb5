// PostgreSQL backend: a bounded pool of libpq connections, each used by one transaction at a time
// on the caller's thread. Statements go out with the extended protocol: `?` is rewritten as $n,
// integers and reals are sent typed, text and NULL as "unknown" so that the server types them from
// where they stand, and results come back as text. Each connection prepares a statement the first
// time it runs it and executes it by name after that (StatementCache).
#include "db/postgres_database.h"

#include <arpa/inet.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace emporium::db {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kFloat8Oid = 701;
constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);

struct ClearResult {
    void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ClearResult>;

std::string FirstLine(const char* text) {
    std::string line(text ? text : "");
    line = line.substr(0, line.find('\n'));
    return line.empty() ? "unknown error" : line;
}

bool IsIdentifierChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

double ParseReal(std::string_view text) {
    double value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

class PgRow final : public Row {
public:
    explicit PgRow(const PGresult* result) : result_(result) {}
    void set_row(int row) { row_ = row; }

    bool IsNull(int column) const override { return PQgetisnull(result_, row_, column) != 0; }
    // Like SQLite's: a real is truncated toward zero (and clamped), a boolean is 1 or 0.
    std::int64_t Int(int column) const override {
        const std::string_view text = Text(column);
        if (PQftype(result_, column) == kBoolOid) return text == "t" ? 1 : 0;
        std::int64_t value = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec == std::errc() && end == text.data() + text.size()) return value;
        const double real = ParseReal(text);
        if (std::isnan(real)) return 0;
        if (real >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
        if (real <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
        return static_cast<std::int64_t>(real);
    }
    double Real(int column) const override { return ParseReal(Text(column)); }
    std::string_view Text(int column) const override {
        return {PQgetvalue(result_, row_, column), static_cast<std::size_t>(PQgetlength(result_, row_, column))};
    }

private:
    const PGresult* result_;
    int row_ = 0;
};

// Parameters in libpq's shape; the values point into params or into text_, so both must outlive
// the call.
class BoundParams {
public:
    explicit BoundParams(const Params& params) {
        text_.reserve(params.size());
        for (const Value& v : params) {
            std::visit(
                [&](const auto& x) {
                    using V = std::decay_t<decltype(x)>;
                    if constexpr (std::is_same_v<V, std::nullptr_t>) {
                        Add(0, nullptr);
                    } else if constexpr (std::is_same_v<V, std::int64_t>) {
                        Add(kInt8Oid, Format(x));
                    } else if constexpr (std::is_same_v<V, double>) {
                        Add(kFloat8Oid, Format(x));
                    } else {
                        // Text goes as a C string: a NUL would silently cut it short.
                        if (x.find('\0') != std::string::npos) {
                            throw DbError(DbError::Kind::kOther, "a text parameter holds a NUL character");
                        }
                        Add(0, x.c_str());
                    }
                },
                v);
        }
    }
    int size() const { return static_cast<int>(values_.size()); }
    const Oid* types() const { return types_.data(); }
    // The parameters' types as bytes, for telling apart two uses of one statement that a prepared
    // statement could not serve alike (an integer where the last use had text).
    std::string TypeSignature() const {
        return {reinterpret_cast<const char*>(types_.data()), types_.size() * sizeof(Oid)};
    }
    const char* const* values() const { return values_.data(); }

private:
    void Add(Oid type, const char* value) {
        types_.push_back(type);
        values_.push_back(value);
    }
    const char* Format(std::int64_t x) {
        text_.push_back(std::to_string(x));
        return text_.back().c_str();
    }
    const char* Format(double x) {
        char buffer[32];
        if (std::isnan(x)) {
            text_.emplace_back("NaN");
        } else if (std::isinf(x)) {
            text_.emplace_back(x > 0 ? "Infinity" : "-Infinity");
        } else {
            auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, x);  // shortest exact form
            text_.emplace_back(buffer, end);
        }
        return text_.back().c_str();
    }

    std::vector<Oid> types_;
    std::vector<const char*> values_;
    std::vector<std::string> text_;  // reserved up front: its strings never move
};

// The statements one connection has prepared, by their SQL and parameter types, at most kCapacity
// of them, the least recently used given up first. Why: PostgreSQL parses and plans a statement
// sent with PQexecParams every time; with 200 buyers checking out at 100 orders a second, planning
// took more of the server's time than running (the product lookup: 128 us to plan, 24 to run), and
// the server's CPU was most of what the two cores had. A prepared statement is planned for its first
// few runs with their values and then, when that plan is as good, once (plan_cache_mode auto, as
// every driver that prepares gets). The bound keeps SQL assembled from filters from growing the
// cache, and the server's memory per connection, without limit. Not thread-safe: a connection
// serves one transaction at a time.
class StatementCache {
public:
    static constexpr std::size_t kCapacity = kPreparedStatementsPerConnection;

    // The name of the statement cached under key, now the most recently used; nullptr when there is
    // none.
    const std::string* Find(const std::string& key) {
        auto it = by_key_.find(key);
        if (it == by_key_.end()) return nullptr;
        order_.splice(order_.begin(), order_, it->second);
        return &it->second->name;
    }

    // Caches the name of a statement just prepared under key; returns the name of the one it pushed
    // out, which the caller deallocates on the server, or "" when the cache had room.
    std::string Add(const std::string& key, std::string name) {
        order_.push_front(Entry{key, std::move(name)});
        by_key_[key] = order_.begin();
        if (order_.size() <= kCapacity) return {};
        std::string evicted = std::move(order_.back().name);
        by_key_.erase(order_.back().key);
        order_.pop_back();
        return evicted;
    }

    // Forgets the statement cached under key (its plan went stale, or the server lost it).
    void Forget(const std::string& key) {
        auto it = by_key_.find(key);
        if (it == by_key_.end()) return;
        order_.erase(it->second);
        by_key_.erase(it);
    }

    // A name not used before on this connection.
    std::string NextName() { return "emporium_" + std::to_string(++named_); }

private:
    struct Entry {
        std::string key;
        std::string name;  // the prepared statement's name on this connection
    };
    std::list<Entry> order_;  // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> by_key_;
    std::uint64_t named_ = 0;
};

class PgConnection final : public Connection {
public:
    PgConnection(PGconn* conn, QueryObserver observer) : conn_(conn), observer_(std::move(observer)) {
        // Notices (a search of only stop words, say) would go to stderr: they are not errors.
        PQsetNoticeProcessor(
            conn_, [](void*, const char*) {}, nullptr);
    }
    ~PgConnection() override { PQfinish(conn_); }
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    // The connection is gone (server closed it, network failed): it must be dropped.
    bool broken() const { return PQstatus(conn_) != CONNECTION_OK; }
    bool in_failed_transaction() const { return PQtransactionStatus(conn_) == PQTRANS_INERROR; }
    bool idle() const { return PQtransactionStatus(conn_) == PQTRANS_IDLE; }
    DbError::Kind last_error_kind() const { return last_error_kind_; }

    void Query(std::string_view sql, const Params& params, const RowCallback& on_row) override {
        ResultPtr result = Run(sql, params);
        PgRow row(result.get());
        const int rows = PQntuples(result.get());
        for (int i = 0; i < rows; ++i) {
            row.set_row(i);
            on_row(row);
        }
    }

    std::int64_t Execute(std::string_view sql, const Params& params) override {
        ResultPtr result = Run(sql, params);
        const char* changed = PQcmdTuples(result.get());
        std::int64_t n = 0;
        std::from_chars(changed, changed + std::strlen(changed), n);
        return n;
    }

    void ExecuteScript(std::string_view sql) override {
        const std::string text(sql);
        ResultPtr result(PQexec(conn_, text.c_str()));
        Check(result.get(), sql);
    }

    // Runs a transaction-control statement (BEGIN, COMMIT, ROLLBACK).
    void Control(const char* sql) { ExecuteScript(sql); }

    // Reads and writes run inside a transaction, so SET LOCAL lasts until the deadline is cleared
    // or the transaction ends, whichever comes first. A statement cancelled by it fails kTimeout.
    void SetDeadline(std::optional<SteadyClock::time_point> deadline) override {
        deadline_ = deadline;
        if (!deadline) {
            // A transaction that failed (the deadline stopped a statement) ends with its rollback,
            // SET LOCAL with it; nothing can run in it meanwhile.
            try {
                if (!in_failed_transaction() && !idle()) ExecuteScript("SET LOCAL statement_timeout TO DEFAULT");
            } catch (const DbError&) {
                // A broken connection: what runs next on it fails on its own, and the pool drops it.
            }
            return;
        }
        // statement_timeout 0 means none: a deadline already passed is one millisecond away.
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - SteadyClock::now());
        ExecuteScript("SET LOCAL statement_timeout = " + std::to_string(std::max<std::int64_t>(1, left.count())));
    }

private:
    ResultPtr Run(std::string_view sql, const Params& params) {
        const auto started = SteadyClock::now();
        if (deadline_ && started >= *deadline_) throw DbError(DbError::Kind::kTimeout, "the deadline had passed");
        BoundParams bound(params);
        std::string key(sql);
        key += '\0';
        key += bound.TypeSignature();
        // The key holds one type per parameter, so a cached statement has as many placeholders.
        const std::string* name = statements_.Find(key);
        if (!name) name = Prepare(sql, key, bound);
        ResultPtr result(PQexecPrepared(conn_, name->c_str(), bound.size(), bound.values(), nullptr, nullptr, 0));
        const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
            // 0A000 "cached plan must not change result type" (a table's columns changed under a
            // statement's result) and 26000 (no such statement): prepared again on the next use.
            // The stale one still exists on the server in the first case: it is deallocated after
            // the next successful prepare (not now: this transaction has failed).
            const char* state = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
            const std::string_view code = state ? state : "";
            if (code == "0A000") stale_.push_back(*name);
            if (code == "0A000" || code == "26000") statements_.Forget(key);
        }
        Check(result.get(), sql);
        if (observer_) observer_(std::chrono::duration<double>(SteadyClock::now() - started).count());
        return result;
    }

    // Prepares sql with bound's parameter types on this connection and caches it under key. A
    // statement the server refuses (a syntax error, an unknown column) throws, as running it would,
    // and is not cached; so does one whose placeholders are not as many as the parameters.
    const std::string* Prepare(std::string_view sql, const std::string& key, const BoundParams& bound) {
        int placeholders = 0;
        const std::string text = RewritePlaceholders(sql, &placeholders);
        if (placeholders != bound.size()) {
            throw DbError(DbError::Kind::kOther, "statement has " + std::to_string(placeholders) +
                                                     " placeholders but " + std::to_string(bound.size()) +
                                                     " parameters: " + std::string(sql.substr(0, 200)));
        }
        std::string name = statements_.NextName();
        ResultPtr prepared(PQprepare(conn_, name.c_str(), text.c_str(), bound.size(), bound.types()));
        Check(prepared.get(), sql);
        std::string evicted = statements_.Add(key, std::move(name));
        if (!evicted.empty()) stale_.push_back(std::move(evicted));
        // Prepared statements outlive transactions, and DEALLOCATE of one that exists cannot fail
        // but for a broken connection, which the pool drops anyway.
        for (; !stale_.empty(); stale_.pop_back()) {
            ResultPtr gone(PQexec(conn_, ("DEALLOCATE " + stale_.back()).c_str()));
            Check(gone.get(), "DEALLOCATE");
        }
        return statements_.Find(key);
    }

    // Throws the DbError a failed result stands for. Only the primary message is kept: PostgreSQL's
    // detail lines quote the values involved (a duplicate key's email index, say).
    void Check(const PGresult* result, std::string_view sql) {
        const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) return;
        const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
        const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
        last_error_kind_ = broken() ? DbError::Kind::kConnection : KindOfSqlState(state ? state : "");
        // 57014 is a cancelled statement: the deadline's own timeout while one is set.
        if (deadline_ && state && std::string_view(state) == "57014") last_error_kind_ = DbError::Kind::kTimeout;
        std::string message = primary ? std::string(primary) : FirstLine(PQerrorMessage(conn_));
        if (state) message += std::string(" (SQLSTATE ") + state + ")";
        if (last_error_kind_ == DbError::Kind::kOther) message += " in: " + std::string(sql.substr(0, 300));
        throw DbError(last_error_kind_, message);
    }

    PGconn* conn_;
    QueryObserver observer_;
    StatementCache statements_;
    std::vector<std::string> stale_;  // prepared on the server but no longer cached: to deallocate
    DbError::Kind last_error_kind_ = DbError::Kind::kOther;
    std::optional<SteadyClock::time_point> deadline_;
};

struct PoolSettings {
    std::vector<std::pair<std::string, std::string>> parameters;  // libpq keywords and values
    int min = 1;
    int max = 8;
    std::chrono::milliseconds wait{5000};
    QueryObserver observer;
};

// A bounded set of connections. Connections are opened on demand up to max (on the thread that
// needs one) and kept open down to min by a background thread; after a failed connect, no new
// connect is tried before a backoff (0.1 s doubling to 5 s) has passed.
class ConnectionPool {
public:
    explicit ConnectionPool(PoolSettings settings) : settings_(std::move(settings)) {
        for (const auto& [key, value] : settings_.parameters) {
            keywords_.push_back(key.c_str());
            values_.push_back(value.c_str());
        }
        keywords_.push_back(nullptr);
        values_.push_back(nullptr);
        Release(Acquire());  // the server is reachable and the URL works, or this throws
        maintainer_ = std::thread([this] { Maintain(); });
    }

    ~ConnectionPool() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        refill_.notify_all();
        if (maintainer_.joinable()) maintainer_.join();
    }

    ConnectionPool(const ConnectionPool&) = delete;
    ConnectionPool& operator=(const ConnectionPool&) = delete;

    // An idle connection, or a new one while fewer than max are open, or the first one released
    // within settings_.wait. Throws DbError: kBusy when none came free in time, kConnection when a
    // connect failed (or, with none lent out, while the backoff after a failed connect runs).
    std::unique_ptr<PgConnection> Acquire() {
        const auto started = SteadyClock::now();
        bool waited = false;
        // A waiter leaves the waiting count, and adds its wait, however it leaves: with a
        // connection, or with the error.
        struct Settle {
            ConnectionPool& pool;
            const bool& waited;
            SteadyClock::time_point started;
            ~Settle() {
                if (!waited) return;
                std::lock_guard lock(pool.mutex_);
                --pool.waiting_;
                pool.wait_seconds_ += std::chrono::duration<double>(SteadyClock::now() - started).count();
            }
        } settle{*this, waited, started};
        std::unique_lock lock(mutex_);
        const auto deadline = started + settings_.wait;
        while (true) {
            if (!idle_.empty()) {
                std::unique_ptr<PgConnection> c = std::move(idle_.back());
                idle_.pop_back();
                ++in_use_;
                return c;
            }
            const auto now = SteadyClock::now();
            if (open_ < settings_.max) {
                if (now >= retry_at_) {
                    ++open_;
                    lock.unlock();
                    std::unique_ptr<PgConnection> c = Connect();
                    lock.lock();
                    ++in_use_;
                    return c;
                }
                if (in_use_ == 0) {
                    throw DbError(DbError::Kind::kConnection,
                                  "cannot connect to PostgreSQL (retrying in the background): " + last_error_);
                }
            }
            if (now >= deadline) {
                ++wait_timeouts_;
                throw DbError(DbError::Kind::kBusy, "all " + std::to_string(settings_.max) +
                                                        " database connections stayed busy for " +
                                                        std::to_string(settings_.wait.count()) + " ms");
            }
            if (!waited) {
                waited = true;
                ++waits_;
                ++waiting_;
            }
            const bool backing_off = open_ < settings_.max && now < retry_at_;
            released_.wait_until(lock, backing_off ? std::min(deadline, retry_at_) : deadline);
        }
    }

    // Takes a connection back: kept when it is healthy and outside any transaction, else closed
    // (and replaced by the maintainer when fewer than min remain).
    void Release(std::unique_ptr<PgConnection> c) {
        const bool broken = c->broken();
        const bool keep = !broken && c->idle();
        {
            std::lock_guard lock(mutex_);
            --in_use_;
            if (keep && !stopping_) {
                idle_.push_back(std::move(c));
            } else {
                --open_;
                if (broken) ++connection_errors_;
            }
        }
        released_.notify_one();
        if (!keep) refill_.notify_all();
        // A dropped connection closes here, outside the lock.
    }

    PoolStats Stats() const {
        std::lock_guard lock(mutex_);
        PoolStats s;
        s.in_use = in_use_;
        s.idle = static_cast<std::int64_t>(idle_.size());
        s.size = settings_.max;
        s.waits = waits_;
        s.wait_timeouts = wait_timeouts_;
        s.waiting = waiting_;
        s.wait_seconds = wait_seconds_;
        s.connects = connects_;
        s.connection_errors = connection_errors_;
        return s;
    }

    int max() const { return settings_.max; }

private:
    // Opens one connection, for which the caller has already counted a slot in open_.
    std::unique_ptr<PgConnection> Connect() {
        PGconn* raw = PQconnectdbParams(keywords_.data(), values_.data(), 0);
        const bool ok = raw && PQstatus(raw) == CONNECTION_OK;
        const std::string error = ok ? "" : FirstLine(raw ? PQerrorMessage(raw) : "out of memory");
        std::unique_ptr<PgConnection> c;
        if (ok) {
            c = std::make_unique<PgConnection>(raw, settings_.observer);
        } else {
            PQfinish(raw);
        }
        {
            std::lock_guard lock(mutex_);
            if (ok) {
                ++connects_;
                backoff_ = std::chrono::milliseconds(0);
                retry_at_ = {};
            } else {
                --open_;
                ++connection_errors_;
                backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
                retry_at_ = SteadyClock::now() + backoff_;
                last_error_ = error;
            }
        }
        released_.notify_all();  // waiters may connect themselves, or learn of the failure
        if (!ok) throw DbError(DbError::Kind::kConnection, "cannot connect to PostgreSQL: " + error);
        return c;
    }

    // Keeps at least min connections open, reconnecting with backoff while the server is away.
    void Maintain() {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            if (open_ < settings_.min && SteadyClock::now() >= retry_at_) {
                ++open_;
                lock.unlock();
                std::unique_ptr<PgConnection> c;
                try {
                    c = Connect();
                } catch (const DbError&) {
                    // Counted, and the backoff set: try again once it has passed.
                }
                lock.lock();
                if (c) idle_.push_back(std::move(c));
                released_.notify_one();
                continue;
            }
            if (open_ < settings_.min) {
                refill_.wait_until(lock, retry_at_);
            } else {
                refill_.wait(lock);
            }
        }
    }

    const PoolSettings settings_;
    std::vector<const char*> keywords_;  // point into settings_.parameters
    std::vector<const char*> values_;

    mutable std::mutex mutex_;          // guards every member below
    std::condition_variable released_;  // a connection came back, or a connect ended
    std::condition_variable refill_;    // open_ fell, or the pool is stopping
    std::vector<std::unique_ptr<PgConnection>> idle_;
    int open_ = 0;  // idle, lent out, or being opened
    int in_use_ = 0;
    std::int64_t waits_ = 0;
    std::int64_t wait_timeouts_ = 0;
    std::int64_t waiting_ = 0;
    double wait_seconds_ = 0;
    std::int64_t connects_ = 0;
    std::int64_t connection_errors_ = 0;
    std::chrono::milliseconds backoff_{0};
    SteadyClock::time_point retry_at_{};
    std::string last_error_;
    bool stopping_ = false;
    std::thread maintainer_;
};

// One pooled connection for the length of one transaction; given back on every path.
class Lease {
public:
    Lease(ConnectionPool& pool, std::unique_ptr<PgConnection> c) : pool_(&pool), c_(std::move(c)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
        if (c_) pool_->Release(std::move(c_));
    }
    PgConnection& operator*() { return *c_; }
    PgConnection* operator->() { return c_.get(); }

    // Ends the transaction without keeping anything; a connection that cannot even do that is
    // dropped by Release.
    void RollbackQuietly() {
        if (c_->broken()) return;
        try {
            c_->Control("ROLLBACK");
        } catch (const DbError&) {
        }
    }

private:
    ConnectionPool* pool_;
    std::unique_ptr<PgConnection> c_;
};

class PostgresDatabase final : public Database {
public:
    explicit PostgresDatabase(PoolSettings settings) : pool_(std::move(settings)) {}

    Dialect dialect() const override { return Dialect::kPostgres; }
    PoolStats Pool() const override { return pool_.Stats(); }

    void BackupTo(const std::string&) override {
        throw DbError(DbError::Kind::kOther, "backups of a PostgreSQL database are not supported yet");
    }
    void RestoreFrom(const std::string&) override {
        throw DbError(DbError::Kind::kOther, "restoring into a PostgreSQL database is not supported yet");
    }

protected:
    void RunRead(const std::function<void(Connection&)>& fn) override {
        Lease lease = Begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        try {
            fn(*lease);
        } catch (...) {
            lease.RollbackQuietly();
            throw;
        }
        // A statement fn failed and caught leaves nothing to keep: end it either way.
        lease->Control(lease->in_failed_transaction() ? "ROLLBACK" : "COMMIT");
    }

    void RunWrite(const std::function<bool(Connection&)>& fn) override {
        Lease lease = Begin("BEGIN ISOLATION LEVEL READ COMMITTED");
        bool commit = false;
        try {
            commit = fn(*lease);
        } catch (...) {
            lease.RollbackQuietly();
            throw;
        }
        if (commit && lease->in_failed_transaction()) {
            // PostgreSQL would answer COMMIT with a silent rollback: fn caught a failed statement
            // and went on, but none of its writes can be kept.
            const DbError::Kind kind = lease->last_error_kind();
            lease.RollbackQuietly();
            throw DbError(kind, "a statement of this transaction failed, so none of it was written");
        }
        lease->Control(commit ? "COMMIT" : "ROLLBACK");
    }

private:
    // A connection with a transaction begun on it. A connection that died while idle (a server
    // restart, pg_terminate_backend) fails at BEGIN, before anything of the caller ran: it is
    // dropped and the next one tried.
    Lease Begin(const char* begin) {
        for (int attempt = 0;; ++attempt) {
            Lease lease(pool_, pool_.Acquire());
            try {
                lease->Control(begin);
                return lease;
            } catch (const DbError&) {
                if (!lease->broken() || attempt >= pool_.max()) throw;
            }
        }
    }

    ConnectionPool pool_;
};

}  // namespace

std::string RewritePlaceholders(std::string_view sql, int* count) {
    std::string out;
    out.reserve(sql.size() + 16);
    int n = 0;
    std::size_t i = 0;
    const std::size_t size = sql.size();
    auto copy_to = [&](std::size_t end) {
        end = std::min(end, size);
        out.append(sql.substr(i, end - i));
        i = end;
    };
    while (i < size) {
        const char c = sql[i];
        const char next = i + 1 < size ? sql[i + 1] : '\0';
        if (c == '?') {
            out += '$';
            out += std::to_string(++n);
            ++i;
        } else if (c == '\'' || c == '"') {
            // E'...' takes backslash escapes; in every string '' is a quote, in an identifier "".
            const bool escapes = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                                 (i < 2 || !IsIdentifierChar(sql[i - 2]));
            std::size_t j = i + 1;
            while (j < size) {
                if ((escapes && sql[j] == '\\') || (sql[j] == c && j + 1 < size && sql[j + 1] == c)) {
                    j += 2;
                } else if (sql[j] == c) {
                    break;
                } else {
                    ++j;
                }
            }
            copy_to(j + 1);
        } else if (c == '-' && next == '-') {
            const std::size_t end = sql.find('\n', i);
            copy_to(end == std::string_view::npos ? size : end);
        } else if (c == '/' && next == '*') {
            int depth = 0;
            std::size_t j = i;
            while (j < size) {
                if (sql[j] == '/' && j + 1 < size && sql[j + 1] == '*') {
                    ++depth;
                    j += 2;
                } else if (sql[j] == '*' && j + 1 < size && sql[j + 1] == '/') {
                    j += 2;
                    if (--depth == 0) break;
                } else {
                    ++j;
                }
            }
            copy_to(j);
        } else if (c == '$' && (i == 0 || !IsIdentifierChar(sql[i - 1]))) {
            // $tag$...$tag$ (the tag may be empty, and does not start with a digit); $1 is no quote.
            std::size_t j = i + 1;
            while (j < size && IsIdentifierChar(sql[j])) ++j;
            const bool quote =
                j < size && sql[j] == '$' && !(j > i + 1 && std::isdigit(static_cast<unsigned char>(sql[i + 1])));
            if (quote) {
                const std::string_view tag = sql.substr(i, j - i + 1);
                const std::size_t close = sql.find(tag, j + 1);
                copy_to(close == std::string_view::npos ? size : close + tag.size());
            } else {
                copy_to(i + 1);
            }
        } else {
            out += c;
            ++i;
        }
    }
    if (count) *count = n;
    return out;
}

DbError::Kind KindOfSqlState(std::string_view state) {
    if (state.starts_with("23")) return DbError::Kind::kConstraint;  // integrity constraint violation
    if (state == "40001" || state == "40P01" || state == "55P03" || state == "57014") {
        return DbError::Kind::kBusy;  // serialization failure, deadlock, lock timeout, statement timeout
    }
    if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03" || state == "53300") {
        return DbError::Kind::kConnection;  // connection failure, server shutting down, too many clients
    }
    return DbError::Kind::kOther;
}

std::vector<std::pair<std::string, std::string>> ConnectionParameters(const std::string& url,
                                                                      std::chrono::milliseconds statement_timeout) {
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &error);
    if (!parsed) {
        const std::string why = FirstLine(error ? error : "out of memory");
        PQfreemem(error);
        throw DbError(DbError::Kind::kOther, "bad PostgreSQL URL " + Redacted(url) + ": " + why);
    }
    std::vector<std::pair<std::string, std::string>> out;
    for (const PQconninfoOption* o = parsed; o->keyword; ++o) {
        if (o->val && *o->val) out.emplace_back(o->keyword, o->val);
    }
    PQconninfoFree(parsed);
    auto find = [&](std::string_view key) -> std::string* {
        for (auto& [k, v] : out) {
            if (k == key) return &v;
        }
        return nullptr;
    };
    const std::string setting = "-c statement_timeout=" + std::to_string(statement_timeout.count());
    if (std::string* options = find("options")) {
        *options += " " + setting;
    } else {
        out.emplace_back("options", setting);
    }
    if (!find("application_name")) out.emplace_back("application_name", "emporium");
    if (!find("connect_timeout")) out.emplace_back("connect_timeout", "5");
    if (!find("client_encoding")) out.emplace_back("client_encoding", "UTF8");
    const std::string* host = find("host");
    if (host && !find("hostaddr")) {
        bool numeric = true;
        std::string_view rest = *host;
        while (numeric) {
            const std::size_t comma = rest.find(',');
            const std::string one(rest.substr(0, comma));
            unsigned char address[sizeof(in6_addr)];
            numeric = inet_pton(AF_INET, one.c_str(), address) == 1 || inet_pton(AF_INET6, one.c_str(), address) == 1;
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
        if (numeric) out.emplace_back("hostaddr", *host);
    }
    return out;
}

std::unique_ptr<Database> OpenPostgres(const DatabaseOptions& options) {
    PoolSettings settings;
    settings.parameters = ConnectionParameters(options.url, options.statement_timeout);
    settings.max = std::max(1, options.pool_size);
    settings.min = std::clamp(options.pool_min, 0, settings.max);
    settings.wait = options.pool_wait;
    settings.observer = options.observer;
    return std::make_unique<PostgresDatabase>(std::move(settings));
}

}  // namespace emporium::db
