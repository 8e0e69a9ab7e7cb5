// The storage interface every module uses. SQL is written once, portable between SQLite and
// PostgreSQL: `?` placeholders (a backend rewrites them as it needs), `RETURNING` for generated
// ids, integers for money and times. Backend-specific features (full-text search) ask dialect().
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
// a conflict (a duplicate SKU, say), and kTimeout, a statement stopped at the connection's
// deadline. Thrown, never returned: see core/result.h.
class DbError : public std::runtime_error {
public:
    enum class Kind { kConstraint, kBusy, kTimeout, kOther };
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

    // Statements still running at deadline stop and throw DbError kTimeout, until the deadline is
    // cleared (nullopt). A backend that cannot stop a statement ignores it. Use DeadlineScope.
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

class Database {
public:
    virtual ~Database() = default;
    virtual Dialect dialect() const = 0;

    // Writes a consistent copy of the whole database to a new file at path (one snapshot) while
    // readers and writers go on. Throws DbError.
    virtual void BackupTo(const std::string& path) = 0;

    // Replaces the whole database with the content of the database file at path, as one step
    // that readers see whole; writers wait meanwhile. For a standby loading its primary's
    // backup. Throws DbError (and then nothing changed).
    virtual void RestoreFrom(const std::string& path) = 0;

    // Runs fn(Connection&) on a reader connection inside a read transaction (one consistent
    // snapshot) and returns what fn returns. Many readers run at once.
    template <typename F>
    auto Read(F&& fn) -> std::invoke_result_t<F, Connection&> {
        using R = std::invoke_result_t<F, Connection&>;
        if constexpr (std::is_void_v<R>) {
            RunRead([&](Connection& c) { fn(c); });
        } else {
            std::optional<R> out;
            RunRead([&](Connection& c) { out.emplace(fn(c)); });
            return std::move(*out);
        }
    }

    // Runs fn(Connection&) inside a write transaction; writers take turns. The transaction
    // commits when fn returns normally, unless fn returns a Result that is an error; it rolls
    // back on an error Result or an exception (which is rethrown). Returns what fn returns.
    template <typename F>
    auto Write(F&& fn) -> std::invoke_result_t<F, Connection&> {
        using R = std::invoke_result_t<F, Connection&>;
        if constexpr (std::is_void_v<R>) {
            RunWrite([&](Connection& c) {
                fn(c);
                return true;
            });
        } else {
            std::optional<R> out;
            RunWrite([&](Connection& c) {
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
    // read(): counts and searches over a large catalog spend their time in the kernel otherwise.
    std::int64_t mmap_bytes = std::int64_t{256} << 20;
    int cache_kib = 8192;  // page cache per connection (SQLite's default is 2 MiB)
};

// Opens (creating when missing) an SQLite database in WAL mode. Throws DbError on failure.
std::unique_ptr<Database> OpenSqlite(const SqliteOptions& options);

}  // namespace emporium::db
