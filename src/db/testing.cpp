// Built into the unit test programs only (tests/unit/CMakeLists.txt).
//
// On PostgreSQL each test program makes one database on the server (dropped when it exits) and
// each TempDatabase a new schema in it, first on its connections' search_path: as fresh as a new
// database for everything the shop creates, and about a millisecond to make instead of the
// 150-700 ms a CREATE DATABASE takes on this machine.
#include "db/testing.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>

namespace emporium::db {
namespace {

std::string ServerUrl() {
    const char* url = std::getenv("EMPORIUM_TEST_DATABASE_URL");
    return url ? url : "";
}

bool UsePostgres(TestBackend backend) {
    const std::string url = ServerUrl();
    return backend == TestBackend::kConfigured && (url.starts_with("postgresql://") || url.starts_with("postgres://"));
}

// The server URL with another database and, when given, extra query parameters.
std::string WithDatabase(const std::string& server, const std::string& name, const std::string& parameters = "") {
    const std::size_t authority = server.find("://") + 3;
    const std::size_t query = server.find('?', authority);
    const std::size_t path = std::min(server.find('/', authority), query);
    std::string url = server.substr(0, path) + "/" + name;
    std::string params = query == std::string::npos ? "" : server.substr(query + 1);
    if (!parameters.empty()) params += (params.empty() ? "" : "&") + parameters;
    return params.empty() ? url : url + "?" + params;
}

// Runs statements outside any transaction (CREATE and DROP DATABASE must) in database url.
void Admin(const std::string& url, const std::string& sql) {
    PGconn* conn = PQconnectdb(url.c_str());
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);  // "drop cascades to ..."
    std::string error;
    if (PQstatus(conn) != CONNECTION_OK) {
        error = PQerrorMessage(conn);
    } else {
        PGresult* result = PQexec(conn, sql.c_str());
        if (PQresultStatus(result) != PGRES_COMMAND_OK) error = PQresultErrorMessage(result);
        PQclear(result);
    }
    PQfinish(conn);
    if (!error.empty()) throw std::runtime_error(sql + ": " + error);
}

// This test program's database on the server, made on first use and dropped at exit.
class ProgramDatabase {
public:
    ProgramDatabase() : name_("emporium_test_" + std::to_string(getpid())), url_(WithDatabase(ServerUrl(), name_)) {
        Admin(ServerUrl(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
        Admin(ServerUrl(), "CREATE DATABASE " + name_);
        // Extensions belong to a database, not a schema: made once, in public, which every
        // test's search_path ends with (the catalog's migration then finds it there).
        Admin(url_, "CREATE EXTENSION unaccent SCHEMA public");
    }
    ~ProgramDatabase() {
        try {
            Admin(ServerUrl(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
        } catch (const std::exception&) {
            // The throwaway server may be gone already.
        }
    }
    const std::string& url() const { return url_; }

    // A new, empty schema and the URL whose connections work in it.
    std::pair<std::string, std::string> NewSchema() {
        std::string schema;
        {
            std::lock_guard lock(mutex_);
            schema = "test_" + std::to_string(++schemas_);
        }
        Admin(url_, "CREATE SCHEMA " + schema);
        return {schema, WithDatabase(ServerUrl(), name_, "options=-c%20search_path%3D" + schema + "%2Cpublic")};
    }

private:
    const std::string name_;
    const std::string url_;
    std::mutex mutex_;  // guards schemas_
    int schemas_ = 0;
};

ProgramDatabase& Program() {
    static ProgramDatabase database;
    return database;
}

}  // namespace

Dialect TestDialect() {
    return UsePostgres(TestBackend::kConfigured) ? Dialect::kPostgres : Dialect::kSqlite;
}

TempDatabase::TempDatabase(std::span<const Migration> migrations, TestBackend backend) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "emporium-" + std::string(info->test_suite_name()) + "-" + std::string(info->name());
    for (char& c : name) {
        if (c == '/') c = '_';  // parameterised tests' names
    }
    dir_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    DatabaseOptions options;
    if (UsePostgres(backend)) {
        std::tie(postgres_schema_, url_) = Program().NewSchema();
        options.pool_min = 1;
    } else {
        url_ = "sqlite:" + (dir_ / "shop.db").string();
        options.pool_size = 4;
    }
    options.url = url_;
    database_ = Open(options);
    if (!migrations.empty()) ApplyMigrations(*database_, migrations);
}

TempDatabase::~TempDatabase() {
    database_.reset();
    if (!postgres_schema_.empty()) {
        try {
            Admin(Program().url(), "DROP SCHEMA " + postgres_schema_ + " CASCADE");
        } catch (const std::exception& e) {
            ADD_FAILURE() << e.what();
        }
    }
    std::filesystem::remove_all(dir_);
}

}  // namespace emporium::db
