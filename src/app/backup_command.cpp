// `emporium backup`, `backup verify`, `restore` and `promote`: the operator's side of backups and
// standbys. Each prints what it did as one JSON object on stdout; failures go to stderr with a
// non-zero exit code.
#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "app/commands.h"
#include "app/wiring.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/text.h"
#include "http/client.h"
#include "ops/backup.h"

namespace emporium::app {
namespace {

namespace fs = std::filesystem;

std::string BackupDir(const std::string& data_dir) {
    return (fs::path(data_dir) / "backups").string();
}

// A manifest path for a manifest, a .db.gz beside its manifest, or "" (the newest backup).
std::optional<std::string> ManifestFor(const std::string& data_dir, const std::string& file) {
    if (file.empty()) {
        std::vector<fs::path> manifests;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(BackupDir(data_dir), ec)) {
            const std::string name = e.path().filename().string();
            if (name.starts_with("emporium-") && e.path().extension() == ".json") manifests.push_back(e.path());
        }
        if (manifests.empty()) return std::nullopt;
        std::sort(manifests.begin(), manifests.end());
        return manifests.back().string();
    }
    if (file.ends_with(".json")) return file;
    if (file.ends_with(".db.gz")) return file.substr(0, file.size() - 6) + ".json";
    if (file.ends_with(".pgdump")) return file.substr(0, file.size() - 7) + ".json";
    return std::nullopt;
}

void PrintReport(const std::string& manifest, const ops::VerifyReport& r) {
    boost::json::object out{{"manifest", manifest},
                            {"ok", r.ok},
                            {"integrity", r.integrity},
                            {"orders", r.orders},
                            {"restored_copy", r.restored_copy},
                            {"seconds", r.seconds}};
    boost::system::error_code ec;
    boost::json::value schema = boost::json::parse(r.schema, ec);
    out["schema"] = ec ? boost::json::value(boost::json::object{}) : schema;
    if (!r.ok) out["problem"] = r.problem;
    std::cout << boost::json::serialize(out) << "\n";
}

bool IsPostgresUrl(const std::string& url) {
    return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

// The PostgreSQL half of Restore, after the backup passed its check: refused while anything else
// is connected to the database; what the database held is first kept as a backup of its own in
// DATA_DIR/before-restore (a restore can be undone), then the dump goes in as one transaction.
int RestorePostgres(const RestoreOptions& options, const std::string& manifest, const ops::BackupManifest& m,
                    const ops::VerifyReport& report, std::chrono::steady_clock::time_point started) {
    Logger logger = MakeLogger("warn");
    LogThreadJoin log_thread_join;
    SystemClock clock;
    const std::string url = DatabaseUrl(options.data_dir, options.database);
    db::DatabaseOptions settings = DatabaseOptionsFrom(options.data_dir, options.database, 1);
    settings.pool_size = 1;  // one session of ours: every other one is someone else's
    settings.pool_min = 1;
    std::unique_ptr<db::Database> database = db::Open(settings);
    if (const std::int64_t others = ops::OtherSessions(*database); others > 0) {
        std::cerr << "emporium restore: " << others
                  << " other session(s) are connected to the database (a shop running on it?); stop them first\n";
        return 1;
    }
    std::string kept;
    const bool holds_a_shop = database->Read([](db::Connection& c) {
        return c.QueryInt("SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0 ELSE 1 END") > 0;
    });
    if (holds_a_shop) {
        ops::BackupStore aside(*database, (fs::path(options.data_dir) / "before-restore").string(), 1000, clock, logger,
                               url);
        Result<ops::BackupManifest> taken = aside.Take();
        if (!taken.ok()) {
            std::cerr << "emporium restore: the current database cannot be kept aside (" << taken.error().message
                      << "); nothing changed\n";
            return 1;
        }
        kept = (fs::path(aside.directory()) / taken->file).string();
    }
    Status restored = ops::RestorePgDump(manifest, url);
    if (!restored.ok()) {
        std::cerr << "emporium restore: " << restored.error().message << "\n";
        return 1;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << boost::json::serialize(boost::json::object{
                     {"restored", m.name}, {"orders", report.orders}, {"kept", kept}, {"seconds", seconds}})
              << "\n";
    return 0;
}

}  // namespace

int Backup(const BackupCommandOptions& options) {
    Logger logger = MakeLogger("warn");
    LogThreadJoin log_thread_join;
    SystemClock clock;
    std::unique_ptr<db::Database> database = OpenDatabase(options.data_dir, options.database, 2, nullptr);
    ops::BackupStore store(*database, options.out.empty() ? BackupDir(options.data_dir) : options.out,
                           options.retention, clock, logger, DatabaseUrl(options.data_dir, options.database));
    Result<ops::BackupManifest> taken = store.Take();
    if (!taken.ok()) {
        std::cerr << "emporium backup: " << taken.error().message << "\n";
        return 1;
    }
    std::cout << taken->ToJson() << "\n";
    return 0;
}

int BackupVerify(const BackupVerifyOptions& options) {
    const std::string& data_dir = options.data_dir;
    const std::string& file = options.file;
    std::optional<std::string> manifest = ManifestFor(data_dir, file);
    if (!manifest || !fs::exists(*manifest)) {
        std::cerr << "emporium backup verify: no backup manifest found"
                  << (file.empty() ? " in " + BackupDir(data_dir) : " for " + file) << "\n";
        return 1;
    }
    const std::string url = DatabaseUrl(data_dir, options.database);
    ops::VerifyReport report =
        ops::VerifyBackup(*manifest, (fs::path(data_dir) / "verify").string(), IsPostgresUrl(url) ? url : "");
    PrintReport(*manifest, report);
    return report.ok ? 0 : 1;
}

int Restore(const RestoreOptions& options) {
    const std::string& data_dir = options.data_dir;
    const std::string& from = options.from;
    std::optional<std::string> manifest = ManifestFor(data_dir, from);
    if (!manifest || !fs::exists(*manifest)) {
        std::cerr << "emporium restore: " << from << " is not a backup (give its .json manifest or .db.gz)\n";
        return 1;
    }
    std::unique_ptr<DataDirLock> lock = DataDirLock::Acquire(data_dir);
    if (!lock) {
        std::cerr << "emporium restore: a shop is running on " << data_dir << "; stop it first\n";
        return 1;
    }
    const auto started = std::chrono::steady_clock::now();
    const std::string url = DatabaseUrl(data_dir, options.database);
    // No scratch restore here: pg_restore --single-transaction into the target is all or nothing
    // itself, and a role without CREATEDB can still restore.
    ops::VerifyReport report = ops::VerifyBackup(*manifest, (fs::path(data_dir) / "verify").string());
    if (!report.ok) {
        PrintReport(*manifest, report);
        std::cerr << "emporium restore: the backup failed its check; nothing changed\n";
        return 1;
    }
    std::ifstream in(*manifest);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::optional<ops::BackupManifest> m = ops::BackupManifest::FromJson(text);
    if (IsPostgresUrl(url) != (m->format == "pg_dump")) {
        std::cerr << "emporium restore: " << m->name << " is a " << (m->format == "pg_dump" ? "PostgreSQL" : "SQLite")
                  << " backup and the database is not; nothing changed\n";
        return 1;
    }
    if (m->format == "pg_dump") return RestorePostgres(options, *manifest, *m, report, started);
    const std::string gz = (fs::path(*manifest).parent_path() / m->file).string();
    const std::string db_path = DatabasePath(data_dir);
    const std::string incoming = db_path + ".restoring";
    ops::Decompress(gz, incoming);
    // The current database is kept aside, never deleted: a restore can be undone.
    std::string kept;
    if (fs::exists(db_path)) {
        kept = db_path + ".before-restore-" + std::to_string(UnixSeconds(std::chrono::system_clock::now()));
        {
            // Fold the WAL into the file first, so that the file kept aside is whole.
            std::unique_ptr<db::Database> current = db::OpenSqlite({db_path, 1, 5000, true, nullptr});
        }
        fs::rename(db_path, kept);
        std::error_code ec;
        fs::remove(db_path + "-wal", ec);
        fs::remove(db_path + "-shm", ec);
    }
    fs::rename(incoming, db_path);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << boost::json::serialize(boost::json::object{
                     {"restored", m->name}, {"orders", report.orders}, {"kept", kept}, {"seconds", seconds}})
              << "\n";
    return 0;
}

int Promote(const std::string& host, std::uint16_t port) {
    http::HttpCall call;
    call.url = "http://" + host + ":" + std::to_string(port) + "/internal/promote";
    call.timeout = std::chrono::seconds(60);
    http::HttpAnswer answer = http::Perform(call);
    if (answer.status != 200) {
        std::cerr << "emporium promote: "
                  << (answer.status == 0 ? "cannot reach " + call.url + ": " + answer.error : answer.body) << "\n";
        return 1;
    }
    std::cout << answer.body << "\n";
    return 0;
}

}  // namespace emporium::app
