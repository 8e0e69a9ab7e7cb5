#include "ops/backup.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include "ops/pg_tools.h"

namespace emporium::ops {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::size_t kChunk = std::size_t{1} << 20;
// pg_dump and pg_restore are stopped when they run longer: a hung server must not hold the
// backups lease, or an operator's terminal, forever.
constexpr std::chrono::seconds kPgToolTimeout = std::chrono::hours(2);
constexpr std::string_view kPgDumpFormat = "pg_dump";

std::string FileSuffix(std::string_view format) {
    return format == kPgDumpFormat ? ".pgdump" : ".db.gz";
}

std::string CompactTime(std::int64_t unix_seconds) {
    std::time_t t = unix_seconds;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[32];
    std::strftime(out, sizeof out, "%Y%m%dT%H%M%SZ", &tm);
    return out;
}

// Flushes a file (and so its directory entry's target) to disk: a backup is only a backup once
// it survives a power cut.
void SyncFile(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open " + path + " to sync it");
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) throw std::runtime_error("cannot sync " + path);
}

void Compress(const std::string& path, const std::string& gz_path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    gzFile out = gzopen(gz_path.c_str(), "wb6");
    if (!out) throw std::runtime_error("cannot write " + gz_path);
    std::vector<char> buffer(kChunk);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        const auto n = static_cast<unsigned>(in.gcount());
        if (n > 0 && gzwrite(out, buffer.data(), n) != static_cast<int>(n)) {
            gzclose(out);
            throw std::runtime_error("cannot write " + gz_path);
        }
    }
    if (gzclose(out) != Z_OK) throw std::runtime_error("cannot finish " + gz_path);
    SyncFile(gz_path);
}

void RemoveDatabaseFiles(const std::string& path) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path + suffix, ec);
}

// Schema versions and order count, read in c's transaction.
void DescribeOn(db::Connection& c, db::Dialect dialect, std::string& schema, std::int64_t& orders) {
    json::object versions;
    c.Query("SELECT module, MAX(version) FROM schema_migrations GROUP BY module ORDER BY module", {},
            [&](const db::Row& r) { versions[r.Text(0)] = r.Int(1); });
    schema = json::serialize(versions);
    const bool has_orders =
        dialect == db::Dialect::kPostgres
            ? c.QueryInt("SELECT CASE WHEN to_regclass('orders') IS NULL THEN 0 ELSE 1 END") > 0
            : c.QueryInt("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'orders'") > 0;
    orders = has_orders ? c.QueryInt("SELECT COUNT(*) FROM orders") : 0;
}

// Schema versions and order count of a database file.
void Describe(const std::string& path, std::string& schema, std::int64_t& orders) {
    std::unique_ptr<db::Database> copy = db::OpenSqlite({path, 1, 5000, false, nullptr});
    copy->Read([&](db::Connection& c) { DescribeOn(c, db::Dialect::kSqlite, schema, orders); });
}

// What pg_restore's SQL says about the data of a dump: rows per table, and the schema versions.
class DumpContent {
public:
    void Line(std::string_view line) {
        if (table_.empty()) {
            if (line.starts_with("COPY ") && line.ends_with(" FROM stdin;")) Begin(line);
            return;
        }
        if (line == "\\.") {
            table_.clear();
            return;
        }
        if (table_ == "orders") ++orders_;
        if (table_ == "schema_migrations") Migration(line);
    }
    // True when every COPY block the script opened was closed: the archive was read to its end.
    bool Complete() const { return table_.empty(); }
    std::int64_t orders() const { return orders_; }
    std::string Schema() const {
        json::object out;
        for (const auto& [module, version] : versions_) out[module] = version;
        return json::serialize(out);
    }

private:
    // "COPY schema.table (a, b) FROM stdin;"
    void Begin(std::string_view line) {
        std::string_view rest = line.substr(5);
        const std::size_t open = rest.find(" (");
        std::string_view name = rest.substr(0, open);
        if (const std::size_t dot = name.rfind('.'); dot != std::string_view::npos) name = name.substr(dot + 1);
        table_ = std::string(name);
        if (!table_.empty() && table_.front() == '"') table_ = table_.substr(1, table_.size() - 2);
        columns_.clear();
        if (open == std::string_view::npos) return;
        std::string_view list = rest.substr(open + 2, rest.find(')') - open - 2);
        for (std::size_t at = 0; at <= list.size();) {
            std::size_t comma = list.find(", ", at);
            columns_.emplace_back(
                list.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at));
            if (comma == std::string_view::npos) break;
            at = comma + 2;
        }
    }
    void Migration(std::string_view line) {
        std::vector<std::string_view> fields;
        for (std::size_t at = 0;;) {
            std::size_t tab = line.find('\t', at);
            fields.push_back(line.substr(at, tab == std::string_view::npos ? std::string_view::npos : tab - at));
            if (tab == std::string_view::npos) break;
            at = tab + 1;
        }
        auto field = [&](std::string_view column) -> std::optional<std::string_view> {
            for (std::size_t i = 0; i < columns_.size() && i < fields.size(); ++i) {
                if (columns_[i] == column) return fields[i];
            }
            return std::nullopt;
        };
        std::optional<std::string_view> module = field("module"), version = field("version");
        if (!module || !version) return;
        std::int64_t v = 0;
        for (char c : *version) v = c >= '0' && c <= '9' ? v * 10 + (c - '0') : v;
        std::int64_t& known = versions_[std::string(*module)];
        known = std::max(known, v);
    }

    std::string table_;  // the table whose COPY data is being read; empty outside a COPY block
    std::vector<std::string> columns_;
    std::int64_t orders_ = 0;
    std::map<std::string, std::int64_t> versions_;
};

// The first line psql prints for sql on database name of url's server, or the error.
Result<std::string> PsqlLine(const std::string& url, const std::string& name, const std::string& sql) {
    std::string first;
    pg::ToolRun run =
        pg::RunTool("psql", {"-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "--dbname=" + name, "-c", sql}, url,
                    std::chrono::minutes(10), [&](std::string_view line) {
                        if (first.empty()) first = std::string(line);
                    });
    if (!run.ok) return Error{ErrorKind::kInternal, "verify_failed", run.error, {}};
    return first;
}

// Restores dump into a scratch database on url's server and compares what the server then holds
// with what reading the archive found; the scratch database is dropped whatever happened.
void RestoreIntoScratch(const std::string& dump, const std::string& url, VerifyReport& report) {
    const std::string maintenance = "--maintenance-db=" + pg::DatabaseNameOf(url);
    const std::string scratch =
        "emporium_verify_" + std::to_string(::getpid()) + "_" + std::to_string(randombytes_uniform(1'000'000'000));
    pg::ToolRun made = pg::RunTool("createdb", {maintenance, scratch}, url, std::chrono::minutes(5));
    if (!made.ok) {
        report.problem = "cannot make a scratch database: " + made.error;
        return;
    }
    pg::ToolRun restored = pg::RunTool(
        "pg_restore",
        {"--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges", "--dbname=" + scratch, dump}, url,
        kPgToolTimeout);
    Result<std::string> orders = restored.ok ? PsqlLine(url, scratch, "SELECT COUNT(*) FROM orders")
                                             : Result<std::string>(Error{ErrorKind::kInternal, "", restored.error, {}});
    Result<std::string> schema =
        orders.ok() ? PsqlLine(url, scratch,
                               "SELECT COALESCE(json_object_agg(module, v ORDER BY module), '{}') FROM (SELECT module, "
                               "MAX(version) AS v FROM schema_migrations GROUP BY module) m")
                    : orders;
    pg::RunTool("dropdb", {maintenance, "--if-exists", "--force", scratch}, url, std::chrono::minutes(5));
    if (!schema.ok()) {
        report.problem = "restoring into a scratch database failed: " + schema.error().message;
        return;
    }
    if (*orders != std::to_string(report.orders)) {
        report.problem = "the restored copy holds " + *orders + " orders, the archive " + std::to_string(report.orders);
        return;
    }
    boost::system::error_code ec;
    json::value held = json::parse(*schema, ec);
    if (ec || !held.is_object() || json::serialize(held) != report.schema) {
        report.problem = "the restored copy's schema versions " + schema->substr(0, 200) + " differ from the archive's";
        return;
    }
    report.restored_copy = true;
}

// The pg_dump half of VerifyBackup, after the checksum.
void VerifyPgDump(const std::string& dump, const BackupManifest& m, const std::string& scratch_server_url,
                  VerifyReport& report) {
    DumpContent content;
    pg::ToolRun run = pg::RunTool("pg_restore", {"--file=-", dump}, "", kPgToolTimeout,
                                  [&](std::string_view line) { content.Line(line); });
    if (!run.ok) {
        report.problem = run.error;
        return;
    }
    if (!content.Complete()) {
        report.problem = "the dump ends inside a table's data";
        return;
    }
    report.integrity = "ok";
    report.schema = content.Schema();
    report.orders = content.orders();
    if (report.orders != m.orders) {
        report.problem = "the dump holds " + std::to_string(report.orders) + " orders, its manifest says " +
                         std::to_string(m.orders);
        return;
    }
    if (!scratch_server_url.empty()) {
        RestoreIntoScratch(dump, scratch_server_url, report);
        if (!report.problem.empty()) return;
    }
    report.ok = true;
}

}  // namespace

std::string BackupManifest::ToJson() const {
    boost::system::error_code ec;
    json::value parsed_schema = json::parse(schema, ec);
    return json::serialize(json::object{{"name", name},
                                        {"format", format},
                                        {"file", file},
                                        {"created_at", created_at},
                                        {"bytes", bytes},
                                        {"database_bytes", database_bytes},
                                        {"sha256", sha256},
                                        {"schema", ec ? json::value(json::object{}) : parsed_schema},
                                        {"orders", orders},
                                        {"seconds", seconds}});
}

bool IsBackupName(std::string_view name) {
    constexpr std::string_view kPrefix = "emporium-";
    auto digits = [](std::string_view s) {
        return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (!name.starts_with(kPrefix)) return false;
    std::string_view stamp = name.substr(kPrefix.size());  // 20270115T080000Z[-N]
    if (stamp.size() < 16 || !digits(stamp.substr(0, 8)) || stamp[8] != 'T' || !digits(stamp.substr(9, 6)) ||
        stamp[15] != 'Z') {
        return false;
    }
    std::string_view rest = stamp.substr(16);
    return rest.empty() || (rest.size() <= 7 && rest[0] == '-' && digits(rest.substr(1)));
}

std::optional<BackupManifest> BackupManifest::FromJson(std::string_view text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const json::object& o = v.as_object();
    auto str = [&](const char* k) -> std::optional<std::string> {
        const json::value* x = o.if_contains(k);
        if (!x || !x->is_string()) return std::nullopt;
        return std::string(x->as_string());
    };
    auto num = [&](const char* k) -> std::int64_t {
        const json::value* x = o.if_contains(k);
        return x && x->is_int64() ? x->as_int64() : 0;
    };
    BackupManifest m;
    std::optional<std::string> name = str("name"), file = str("file"), sha = str("sha256");
    std::optional<std::string> format = o.contains("format") ? str("format") : std::string("sqlite");
    if (!name || !file || !sha || !format || (*format != "sqlite" && *format != kPgDumpFormat)) return std::nullopt;
    if (!IsBackupName(*name) || *file != *name + FileSuffix(*format)) return std::nullopt;
    m.name = *name;
    m.format = *format;
    m.file = *file;
    m.sha256 = *sha;
    m.created_at = num("created_at");
    m.bytes = num("bytes");
    m.database_bytes = num("database_bytes");
    m.orders = num("orders");
    if (const json::value* s = o.if_contains("schema")) m.schema = json::serialize(*s);
    // Finite only: an infinity would be written back as `Infinity`, which is not JSON.
    if (const json::value* s = o.if_contains("seconds"); s && s->is_number() && std::isfinite(s->to_number<double>())) {
        m.seconds = s->to_number<double>();
    }
    return m;
}

std::string FileSha256(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    std::vector<char> buffer(kChunk);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(buffer.data()),
                                  static_cast<unsigned long long>(in.gcount()));
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&state, digest);
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return hex;
}

void Decompress(const std::string& gz_path, const std::string& path) {
    gzFile in = gzopen(gz_path.c_str(), "rb");
    if (!in) throw std::runtime_error("cannot read " + gz_path);
    RemoveDatabaseFiles(path);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) {
        gzclose(in);
        throw std::runtime_error("cannot write " + path);
    }
    std::vector<char> buffer(kChunk);
    for (;;) {
        int n = gzread(in, buffer.data(), static_cast<unsigned>(buffer.size()));
        if (n < 0) {
            gzclose(in);
            throw std::runtime_error(gz_path + " is not a complete gzip file");
        }
        if (n == 0) break;
        out.write(buffer.data(), n);
    }
    gzclose(in);
    out.close();
    if (!out) throw std::runtime_error("cannot write " + path);
    SyncFile(path);
}

VerifyReport VerifyBackup(const std::string& manifest_path, const std::string& scratch_dir,
                          const std::string& scratch_server_url) {
    const auto started = std::chrono::steady_clock::now();
    VerifyReport report;
    std::ifstream in(manifest_path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::optional<BackupManifest> m = BackupManifest::FromJson(text);
    if (!m) {
        report.problem = "the manifest cannot be read";
        return report;
    }
    const std::string gz = (fs::path(manifest_path).parent_path() / m->file).string();
    try {
        if (FileSha256(gz) != m->sha256) {
            report.problem = "the file's SHA-256 does not match its manifest";
            return report;
        }
        if (m->format == kPgDumpFormat) {
            VerifyPgDump(gz, *m, scratch_server_url, report);
            report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            return report;
        }
        fs::create_directories(scratch_dir);
        const std::string copy = (fs::path(scratch_dir) / (m->name + ".verify.db")).string();
        Decompress(gz, copy);
        {
            std::unique_ptr<db::Database> restored = db::OpenSqlite({copy, 1, 5000, false, nullptr});
            restored->Read([&](db::Connection& c) {
                c.Query("PRAGMA integrity_check", {}, [&](const db::Row& r) {
                    if (!report.integrity.empty()) report.integrity += "; ";
                    report.integrity += r.Text(0);
                });
            });
        }
        Describe(copy, report.schema, report.orders);
        RemoveDatabaseFiles(copy);
        report.ok = report.integrity == "ok";
        if (!report.ok) report.problem = "integrity_check: " + report.integrity.substr(0, 500);
    } catch (const std::exception& e) {
        report.problem = e.what();
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

std::int64_t OtherSessions(db::Database& database) {
    if (database.dialect() != db::Dialect::kPostgres) return 0;
    return database.Read([](db::Connection& c) {
        return c.QueryInt(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'");
    });
}

Status RestorePgDump(const std::string& manifest_path, const std::string& url) {
    std::ifstream in(manifest_path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::optional<BackupManifest> m = BackupManifest::FromJson(text);
    if (!m || m->format != kPgDumpFormat) {
        return Error::Conflict("not_a_pg_dump", "This backup is not a PostgreSQL dump: restore it into a SQLite shop.");
    }
    auto failed = [](const std::string& why) {
        return Error{ErrorKind::kInternal, "restore_failed", "The restore failed, nothing changed: " + why, {}};
    };
    try {
        const std::string name = pg::DatabaseNameOf(url);
        if (name.empty()) return failed("the database URL names no database");
        const std::string dump = (fs::path(manifest_path).parent_path() / m->file).string();
        // --dbname is the name alone; host, user and password reach pg_restore through its environment.
        pg::ToolRun run = pg::RunTool("pg_restore",
                                      {"--clean", "--if-exists", "--single-transaction", "--exit-on-error",
                                       "--no-owner", "--no-privileges", "--dbname=" + name, dump},
                                      url, kPgToolTimeout);
        if (!run.ok) return failed(run.error);
    } catch (const std::exception& e) {
        return failed(e.what());
    }
    return Ok{};
}

BackupStore::BackupStore(db::Database& database, std::string directory, int retention, const Clock& clock,
                         Logger logger, std::string database_url)
    : database_(database),
      database_url_(std::move(database_url)),
      directory_(std::move(directory)),
      retention_(std::max(1, retention)),
      clock_(clock),
      logger_(std::move(logger)) {}

Result<BackupManifest> BackupStore::Take() {
    std::lock_guard lock(take_mutex_);
    const auto started = std::chrono::steady_clock::now();
    BackupManifest m;
    m.created_at = UnixSeconds(clock_.Now());
    m.name = "emporium-" + CompactTime(m.created_at);
    for (int n = 2; fs::exists(fs::path(directory_) / (m.name + ".json")); ++n) {
        m.name = "emporium-" + CompactTime(m.created_at) + "-" + std::to_string(n);
    }
    if (database_.dialect() == db::Dialect::kPostgres) m.format = kPgDumpFormat;
    m.file = m.name + FileSuffix(m.format);
    const std::string raw =
        (fs::path(directory_) / ("." + m.name + (m.format == kPgDumpFormat ? ".pgdump" : ".db"))).string();
    const std::string gz = (fs::path(directory_) / m.file).string();
    const std::string manifest = (fs::path(directory_) / (m.name + ".json")).string();
    try {
        fs::create_directories(directory_);
        RemoveDatabaseFiles(raw);
        Snapshot(raw, m);
        if (m.format == kPgDumpFormat) {
            SyncFile(raw);
            fs::rename(raw, gz);  // pg_dump's custom format is compressed already
        } else {
            Compress(raw, gz);
        }
        RemoveDatabaseFiles(raw);
        m.bytes = static_cast<std::int64_t>(fs::file_size(gz));
        m.sha256 = FileSha256(gz);
        m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        {
            std::ofstream out(manifest + ".tmp", std::ios::trunc);
            out << m.ToJson() << "\n";
            out.close();
            if (!out) throw std::runtime_error("cannot write " + manifest);
        }
        SyncFile(manifest + ".tmp");
        fs::rename(manifest + ".tmp", manifest);  // the manifest last: its presence means complete
        SyncFile(directory_);
    } catch (const std::exception& e) {
        RemoveDatabaseFiles(raw);
        std::error_code ec;
        fs::remove(gz, ec);
        fs::remove(manifest + ".tmp", ec);
        LogError(logger_, LogFields("backup failed").Add("error", e.what()));
        return Error{ErrorKind::kInternal, "backup_failed", std::string("The backup failed: ") + e.what(), {}};
    }
    LogInfo(logger_, LogFields("backup taken")
                         .Add("name", m.name)
                         .Add("bytes", static_cast<long long>(m.bytes))
                         .Add("database_bytes", static_cast<long long>(m.database_bytes))
                         .Add("orders", static_cast<long long>(m.orders))
                         .Add("seconds", m.seconds));

    std::vector<BackupManifest> all = List();
    for (std::size_t i = static_cast<std::size_t>(retention_); i < all.size(); ++i) {
        std::error_code ec;
        fs::remove(fs::path(directory_) / (all[i].name + ".json"), ec);
        fs::remove(fs::path(directory_) / all[i].file, ec);
        LogInfo(logger_, LogFields("backup dropped").Add("name", all[i].name).Add("reason", "retention"));
    }
    return m;
}

void BackupStore::Snapshot(const std::string& path, BackupManifest& m) {
    if (database_.dialect() != db::Dialect::kPostgres) {
        database_.BackupTo(path);
        m.database_bytes = static_cast<std::int64_t>(fs::file_size(path));
        Describe(path, m.schema, m.orders);
        return;
    }
    // One snapshot for the dump and the manifest's figures: pg_dump takes this transaction's,
    // exported, instead of its own, and the transaction stays open until the dump is done.
    database_.Read([&](db::Connection& c) {
        std::string snapshot;
        c.Query("SELECT pg_export_snapshot()", {}, [&](const db::Row& r) { snapshot = r.Text(0); });
        DescribeOn(c, db::Dialect::kPostgres, m.schema, m.orders);
        m.database_bytes = c.QueryInt("SELECT pg_database_size(current_database())");
        pg::ToolRun run = pg::RunTool("pg_dump", {"--format=custom", "--snapshot=" + snapshot, "--file=" + path},
                                      database_url_, kPgToolTimeout);
        if (!run.ok) throw std::runtime_error(run.error);
    });
}

std::vector<BackupManifest> BackupStore::List() const {
    std::vector<BackupManifest> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(directory_, ec)) {
        const fs::path& p = entry.path();
        if (p.extension() != ".json" || !p.filename().string().starts_with("emporium-")) continue;
        std::ifstream in(p);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::optional<BackupManifest> m = BackupManifest::FromJson(text);
        if (m && fs::exists(fs::path(directory_) / m->file)) out.push_back(std::move(*m));
    }
    std::sort(out.begin(), out.end(), [](const BackupManifest& a, const BackupManifest& b) {
        return a.created_at != b.created_at ? a.created_at > b.created_at : a.name > b.name;
    });
    return out;
}

std::optional<BackupManifest> BackupStore::Latest() const {
    std::vector<BackupManifest> all = List();
    if (all.empty()) return std::nullopt;
    return all.front();
}

std::optional<std::int64_t> BackupStore::LastSuccessAt() const {
    std::optional<BackupManifest> latest = Latest();
    if (!latest) return std::nullopt;
    return latest->created_at;
}

std::optional<std::string> BackupStore::PathOf(const std::string& file) const {
    for (const BackupManifest& m : List()) {
        if (m.file == file) return (fs::path(directory_) / m.file).string();
        if (m.name + ".json" == file) return (fs::path(directory_) / file).string();
    }
    return std::nullopt;
}

BackupSchedule::BackupSchedule(BackupStore& store, std::chrono::seconds interval, const Clock& clock)
    : store_(store), interval_(interval), clock_(clock) {}

BackupSchedule::~BackupSchedule() {
    Stop();
}

void BackupSchedule::Start() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = false;  // started again after a Stop (a lease taken back)
    }
    thread_ = std::thread([this] {
        for (;;) {
            std::optional<std::int64_t> last = store_.LastSuccessAt();
            const std::int64_t now = UnixSeconds(clock_.Now());
            std::chrono::seconds wait = interval_;
            if (!last || now - *last >= interval_.count()) {
                // A failed backup is logged and shows in the backup age alert; try again in a minute.
                if (!store_.Take().ok()) wait = std::min<std::chrono::seconds>(interval_, std::chrono::seconds(60));
            } else {
                wait = std::chrono::seconds(interval_.count() - (now - *last));
            }
            std::unique_lock lock(mutex_);
            if (stop_.wait_for(lock, wait, [&] { return stopping_; })) return;
        }
    });
}

void BackupSchedule::Stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stop_.notify_all();
    if (thread_.joinable()) thread_.join();
}

}  // namespace emporium::ops
