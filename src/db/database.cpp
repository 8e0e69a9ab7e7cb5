#include "db/database.h"

#include "db/postgres_database.h"

namespace emporium::db {

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
