#include "db/database.h"

#include "db/postgres_database.h"
#include "tracing/span.h"

namespace emporium::db {
namespace {

// A transaction's connection seen through a span: counts statements and the rows they returned
// or changed.
class CountingConnection : public Connection {
public:
    explicit CountingConnection(Connection& inner) : inner_(inner) {}
    void Query(std::string_view sql, const Params& params, const RowCallback& on_row) override {
        ++statements_;
        inner_.Query(sql, params, [&](const Row& row) {
            ++rows_;
            on_row(row);
        });
    }
    std::int64_t Execute(std::string_view sql, const Params& params) override {
        ++statements_;
        const std::int64_t changed = inner_.Execute(sql, params);
        rows_ += changed;
        return changed;
    }
    void ExecuteScript(std::string_view sql) override {
        ++statements_;
        inner_.ExecuteScript(sql);
    }
    void SetDeadline(std::optional<std::chrono::steady_clock::time_point> deadline) override {
        inner_.SetDeadline(deadline);
    }
    void Report(tracing::Span& span) const {
        span.Set("db.statements", statements_);
        span.Set("db.rows", rows_);
    }

private:
    Connection& inner_;
    std::int64_t statements_ = 0;
    std::int64_t rows_ = 0;
};

// Runs run(fn') inside a span named name, fn' counting fn's statements and rows; just run(fn)
// when nothing is traced.
template <typename Fn, typename Run>
void Traced(std::string_view name, Dialect dialect, const Fn& fn, const Run& run) {
    tracing::Span span(name, tracing::SpanKind::kClient);
    if (!span.recording()) return run(fn);
    span.Set("db.system", dialect == Dialect::kPostgres ? "postgresql" : "sqlite");
    std::optional<CountingConnection> counted;
    try {
        run([&](Connection& c) {
            counted.emplace(c);
            return fn(*counted);
        });
    } catch (...) {
        span.SetError();
        if (counted) counted->Report(span);
        throw;
    }
    if (counted) counted->Report(span);
}

}  // namespace

void Database::TracedRead(const std::function<void(Connection&)>& fn) {
    Traced("db.read", dialect(), fn, [this](const std::function<void(Connection&)>& f) { RunRead(f); });
}

void Database::TracedWrite(const std::function<bool(Connection&)>& fn) {
    Traced("db.write", dialect(), fn, [this](const std::function<bool(Connection&)>& f) { RunWrite(f); });
}

std::int64_t Connection::QueryInt(std::string_view sql, const Params& params, std::int64_t fallback) {
    std::int64_t out = fallback;
    bool first = true;
    Query(sql, params, [&](const Row& row) {
        if (first && !row.IsNull(0)) out = row.Int(0);
        first = false;
    });
    return out;
}

std::unique_ptr<Database> Open(const DatabaseOptions& options) {
    const std::string& url = options.url;
    if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return OpenPostgres(options);
    std::string path = url;
    if (url.starts_with("sqlite:")) {
        path = url.substr(7);
        if (path.starts_with("//")) path = path.substr(2);  // sqlite:///abs/path and sqlite://rel/path
    } else if (url.find("://") != std::string::npos) {
        throw DbError(DbError::Kind::kOther,
                      "unknown database URL " + Redacted(url) + ": use sqlite:PATH or postgresql://...");
    }
    if (path.empty()) throw DbError(DbError::Kind::kOther, "the database URL names no file");
    SqliteOptions sqlite;
    sqlite.path = path;
    sqlite.readers = options.pool_size;
    sqlite.observer = options.observer;
    return OpenSqlite(sqlite);
}

std::string Redacted(std::string_view url) {
    std::string out(url);
    const std::size_t scheme = out.find("://");
    if (scheme != std::string::npos) {
        const std::size_t start = scheme + 3;
        const std::size_t end = std::min(out.find_first_of("/?#", start), out.size());
        const std::size_t at = out.rfind('@', end - 1);
        if (at != std::string::npos && at >= start) {
            const std::size_t colon = out.find(':', start);
            if (colon < at) out.replace(colon + 1, at - colon - 1, "***");
        }
    }
    // libpq also takes the password as a query parameter.
    for (std::size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
        if (p > 0 && out[p - 1] != '?' && out[p - 1] != '&') continue;
        const std::size_t value = p + 9;
        const std::size_t end = std::min(out.find('&', value), out.size());
        out.replace(value, end - value, "***");
    }
    return out;
}

}  // namespace emporium::db
