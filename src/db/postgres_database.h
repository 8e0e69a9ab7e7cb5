// Private to the db module (and its tests): the PostgreSQL backend behind db::Open, and the pieces
// of it that are worth testing on their own.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "db/database.h"

namespace emporium::db {

// How many prepared statements one pooled connection keeps: each statement is prepared on a
// connection the first time it runs there (with its parameters' types) and run by name after that,
// the least recently used deallocated once there are more.
inline constexpr std::size_t kPreparedStatementsPerConnection = 256;

// Opens a pool of libpq connections to options.url (a postgresql:// or postgres:// URL).
// Write runs a READ COMMITTED transaction, Read a read-only REPEATABLE READ one (one snapshot),
// each on one pooled connection. Connects once before returning. Throws DbError.
std::unique_ptr<Database> OpenPostgres(const DatabaseOptions& options);

// The statement with each `?` placeholder replaced by $1, $2, ... in order. A `?` inside a string
// literal ('...', E'...'), a quoted identifier ("..."), a dollar-quoted string ($tag$...$tag$) or
// a comment (-- and nested /* */) is left alone. *count gets the number of placeholders.
std::string RewritePlaceholders(std::string_view sql, int* count);

// The DbError kind for a PostgreSQL SQLSTATE code.
DbError::Kind KindOfSqlState(std::string_view sqlstate);

// libpq connection keywords and values for url: the URL's own parameters, then what every pooled
// connection needs (statement_timeout in options, application_name and connect_timeout unless the
// URL sets them, and hostaddr when every host is a numeric address, so that connecting never waits
// for DNS). Throws DbError(kOther) when libpq cannot parse the URL.
std::vector<std::pair<std::string, std::string>> ConnectionParameters(const std::string& url,
                                                                      std::chrono::milliseconds statement_timeout);

}  // namespace emporium::db
