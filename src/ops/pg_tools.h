// Private to ops: runs PostgreSQL's client programs (pg_dump, pg_restore) as child processes for
// the backups of a shop whose database is PostgreSQL.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::ops::pg {

// The environment variables libpq's programs read (PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE, PGOPTIONS, PGSSLMODE, ...) for a postgresql:// URL, as "NAME=value": nothing of the
// URL, its password least, goes on a command line, which any user can read in /proc. Throws
// std::runtime_error, whose message never holds the URL, when libpq cannot parse it.
std::vector<std::string> EnvironmentFor(const std::string& url);

// The database name the URL names ("" when none), which is no secret.
std::string DatabaseNameOf(const std::string& url);

struct ToolRun {
    bool ok = false;    // exited 0 in time
    std::string error;  // when not ok: why, with the program's stderr masked and cut short
};

// Runs /usr/bin/PROGRAM with args and the environment EnvironmentFor(url) (none when url is
// empty) plus PATH and LC_ALL=C. Each line the program writes on stdout goes to on_line (when
// given); its stderr is kept for the error, with the URL's password masked. Killed when it runs
// longer than timeout. The program inherits no descriptor beyond its standard three.
ToolRun RunTool(const std::string& program, const std::vector<std::string>& args, const std::string& url,
                std::chrono::seconds timeout, const std::function<void(std::string_view)>& on_line = {});

}  // namespace emporium::ops::pg
