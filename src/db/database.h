// The storage interface every module uses. SQL is written once, portable between SQLite and
// PostgreSQL: `?` placeholders (a backend rewrites them as it needs), `RETURNING` for generated
// ids, integers for money and times. Backend-specific features (full-text search) ask dialect().
//
// Threads: every call blocks the calling thread until the database answers (SQLite runs in the
// process; PostgreSQL's libpq waits on its socket, and connecting may wait for DNS when the host
// is a name). Call it from the server's blocking-work pool or a worker thread, never from a
// network thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.h"

namespace emporium::db {

using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string>;
using Params = std::vector<Value>;

// A database failure the caller did not expect, except kConstraint, which services turn into
// a conflict (a duplicate SKU, say), and kTimeout. Thrown, never returned: see core/result.h.
// kConstraint: a UNIQUE, FOREIGN KEY, CHECK or NOT NULL constraint refused a change.
// kBusy: try again later: locks (SQLite busy; PostgreSQL lock timeout, deadlock, serialization
//   failure), a statement cancelled by its timeout, or no pooled connection free in time.
// kConnection: the database cannot be reached, or the connection broke mid-statement (then
//   whether an in-flight COMMIT took effect is unknown).
// kTimeout: a statement stopped at its connection's deadline (Connection::SetDeadline).
class DbError : public std::runtime_error {
public:
    enum class Kind { kConstraint, kBusy, kConnection, kTimeout, kOther };
    DbError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    Kind kind() const { return kind_; }

private:
    Kind kind_;
};

// One result row, valid only inside the row callback.
class Row {
public:
    virtual ~Row() = default;
    virtual bool IsNull(int column) const = 0;
    virtual std::int64_t Int(int column) const = 0;
    virtual double Real(int column) const = 0;
    virtual std::string_view Text(int column) const = 0;
};

using RowCallback = std::function<void(const Row&)>;

// A connection is used by one thread at a time; Database hands them out.
class Connection {
public:
    virtual ~Connection() = default;
    // Runs one statement with params bound in order, calling on_row for each row. Throws DbError.
    virtual void Query(std::string_view sql, const Params& params, const RowCallback& on_row) = 0;
    // Runs one statement and returns the number of rows it changed. Throws DbError.
    virtual std::int64_t Execute(std::string_view sql, const Params& params = {}) = 0;
    // Runs several statements separated by semicolons, without parameters (migrations).
    virtual void ExecuteScript(std::string_view sql) = 0;

    // Convenience: the first column of the first row as an integer, or fallback when no row.
    std::int64_t QueryInt(std::string_view sql, const Params& params = {}, std::int64_t fallback = 0);

    // Statements started after deadline, or still running at it, stop and throw DbError kTimeout,
    // until the deadline is cleared (nullopt). Use DeadlineScope.
    virtual void SetDeadline(std::optional<std::chrono::steady_clock::time_point> deadline) {}
};

// Gives a connection a deadline for as long as the scope lives.
class DeadlineScope {
public:
    DeadlineScope(Connection& c, std::chrono::milliseconds budget) : c_(c) {
        c_.SetDeadline(std::chrono::steady_clock::now() + budget);
    }
    ~DeadlineScope() { c_.SetDeadline(std::nullopt); }
    DeadlineScope(const DeadlineScope&) = delete;
    DeadlineScope& operator=(const DeadlineScope&) = delete;

private:
    Connection& c_;
};

enum class Dialect { kSqlite, kPostgres };

// Observes every statement's duration; the ops module turns this into a histogram.
using QueryObserver = std::function<void(double seconds)>;

// A connection pool's figures at one moment, for metrics. Counters count since Open.
struct PoolStats {
    std::int64_t in_use = 0;             // connections running a transaction now
    std::int64_t idle = 0;               // open connections waiting in the pool
    std::int64_t size = 0;               // most connections the pool keeps (readers, for SQLite)
    std::int64_t waits = 0;              // transactions that had to wait for a free connection
    std::int64_t wait_timeouts = 0;      // ... and gave up (kBusy)
    std::int64_t waiting = 0;            // transactions waiting for a connection now
    double wait_seconds = 0;             // time transactions spent waiting for one, in total
    std::int64_t connects = 0;           // connections opened (PostgreSQL)
    std::int64_t connection_errors = 0;  // failed connects and connections lost (PostgreSQL)
    std::int64_t checkpoints = 0;        // write-ahead-log checkpoints run off the write path (SQLite)
    double checkpoint_seconds = 0;       // ... and their time, in total
};

class Database {
public:
    virtual ~Database() = default;
    virtual Dialect dialect() const = 0;

    // The connection pool's figures now. Safe from any thread.
    virtual PoolStats Pool() const = 0;

    // Writes a consistent copy of the whole database to a new file at path (one snapshot) while
    // readers and writers go on. Throws DbError.
    virtual void BackupTo(const std::string& path) = 0;

    // Replaces the whole database with the content of the database file at path, as one step
    // that readers see whole; writers wait meanwhile. For a standby loading its primary's
    // backup. Throws DbError (and then nothing changed).
    virtual void RestoreFrom(const std::string& path) = 0;

    // Runs fn(Connection&) on a reader connection inside a read transaction (one consistent
    // snapshot: REPEATABLE READ, read only, on PostgreSQL) and returns what fn returns. Many
    // readers run at once.
    template <typename F>
    auto Read(F&& fn) -> std::invoke_result_t<F, Connection&> {
        using R = std::invoke_result_t<F, Connection&>;
        if constexpr (std::is_void_v<R>) {
            TracedRead([&](Connection& c) { fn(c); });
        } else {
            std::optional<R> out;
            TracedRead([&](Connection& c) { out.emplace(fn(c)); });
            return std::move(*out);
        }
    }

    // Runs fn(Connection&) inside a write transaction: writers take turns on SQLite and run side
    // by side at READ COMMITTED on PostgreSQL (a conditional UPDATE re-checks its WHERE after
    // waiting for a concurrent writer). The transaction commits when fn returns normally, unless
    // fn returns a Result that is an error; it rolls back on an error Result or an exception
    // (which is rethrown). Returns what fn returns. Let a DbError leave fn: PostgreSQL cannot go
    // on after a failed statement, so there a fn that catches one and returns normally has
    // nothing committed and Write throws a DbError of the same kind.
    template <typename F>
    auto Write(F&& fn) -> std::invoke_result_t<F, Connection&> {
        using R = std::invoke_result_t<F, Connection&>;
        if constexpr (std::is_void_v<R>) {
            TracedWrite([&](Connection& c) {
                fn(c);
                return true;
            });
        } else {
            std::optional<R> out;
            TracedWrite([&](Connection& c) {
                out.emplace(fn(c));
                if constexpr (requires { out->ok(); }) {
                    return out->ok();
                } else {
                    return true;
                }
            });
            return std::move(*out);
        }
    }

protected:
    // RunRead and RunWrite inside a "db.read" or "db.write" span (statements and rows counted)
    // when the thread's work is traced; just RunRead and RunWrite otherwise.
    void TracedRead(const std::function<void(Connection&)>& fn);
    void TracedWrite(const std::function<bool(Connection&)>& fn);
    virtual void RunRead(const std::function<void(Connection&)>& fn) = 0;
    // fn returns whether to commit.
    virtual void RunWrite(const std::function<bool(Connection&)>& fn) = 0;
};

struct SqliteOptions {
    std::string path;  // the database file; created when missing
    int readers = 4;   // reader connections kept open
    int busy_timeout_ms = 5000;
    bool synchronous_full = true;  // fsync at every commit: nothing acknowledged is lost
    QueryObserver observer;        // optional
    // Reads through a memory map of this many bytes of the file instead of copying pages in with
    // read(). Off by default: each connection maps the file on its own, so every page a reader
    // touched counted once per reader in the process's resident memory (500 MB with 18 readers
    // over a 100,000-product catalog), and the catalog's big walks (searches, lists, counts) are
    // answered from memory now (catalog/search_index.h), not by SQLite.
    std::int64_t mmap_bytes = 0;
    int cache_kib = 2048;  // page cache per connection (SQLite's default); the OS caches the file too
    // Once a commit leaves the write-ahead log this many pages long, a thread of the database's own
    // copies it into the database file (a passive checkpoint, on a connection of its own), so that
    // no commit waits for that copy and its fsync. SQLite's own default does it inside the commit.
    int checkpoint_pages = 1000;
};

// Opens (creating when missing) an SQLite database in WAL mode. Throws DbError on failure.
std::unique_ptr<Database> OpenSqlite(const SqliteOptions& options);

// Which database and how to use it; what `--database URL` and its companions set.
struct DatabaseOptions {
    // sqlite:PATH (or sqlite://PATH, or a plain file path) for SQLite, created when missing;
    // postgresql://[user[:password]@]host[:port]/dbname[?param=value&...] (or postgres://) for
    // PostgreSQL, with libpq's URI parameters (sslmode, connect_timeout, ...). The URL may hold a
    // password: log Redacted(url), never the URL.
    std::string url;
    // SQLite: reader connections (one writer besides). PostgreSQL: most connections open at once,
    // shared by reads and writes.
    int pool_size = 8;
    // PostgreSQL: connections kept open while idle; lost ones are reopened in the background,
    // with backoff while the server cannot be reached.
    int pool_min = 2;
    // PostgreSQL: how long a transaction waits for a free connection before failing kBusy.
    std::chrono::milliseconds pool_wait{5000};
    // PostgreSQL: statement_timeout on every connection (0: none); a statement running longer is
    // cancelled and fails kBusy. Migrations run without it. SQLite has no statement timeout.
    std::chrono::milliseconds statement_timeout{10000};
    QueryObserver observer;  // optional
};

// Opens the database options.url names: SQLite (see OpenSqlite) or PostgreSQL. For PostgreSQL it
// connects once before returning, so a wrong URL or an unreachable server fails here. Applies no
// migrations. Throws DbError (kConnection when the server cannot be reached, kOther for a URL
// that names no known database).
std::unique_ptr<Database> Open(const DatabaseOptions& options);

// The URL with any password replaced by "***", for logs and error messages.
std::string Redacted(std::string_view url);

}  // namespace emporium::db
