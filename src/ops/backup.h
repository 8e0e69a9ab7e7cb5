// Online backups of the shop's database: a consistent copy taken while the shop serves, described
// by a manifest with its SHA-256 and schema versions, kept up to a retention count, verified.
//   SQLite: SQLite's backup API, gzip-compressed; verified by restoring it aside and running
//   `PRAGMA integrity_check`.
//   PostgreSQL: `pg_dump --format=custom` (compressed) inside the snapshot the manifest's figures
//   are read in; verified by reading the whole archive back with pg_restore and counting its rows.
//
// Files in the backup directory, per backup NAME ("emporium-20261127T120000Z"):
//   NAME.db.gz   the database (SQLite), or
//   NAME.pgdump  the database (PostgreSQL)
//   NAME.json    the manifest, written last: a backup without one is incomplete and ignored
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/log.h"
#include "core/result.h"
#include "db/database.h"

namespace emporium::ops {

// True for a plain backup name as BackupStore makes them: "emporium-YYYYMMDDTHHMMSSZ", with an
// optional "-N" (N up to six digits) when two are taken in one second. Nothing else: no '/', no
// "..", no NUL, no leading dot, nothing longer. A manifest names files by it, so a manifest that
// came over the network is believed only when its name passes.
bool IsBackupName(std::string_view name);

struct BackupManifest {
    std::string name;
    std::string format = "sqlite";  // "sqlite" or "pg_dump"; a manifest without one is "sqlite"
    std::string file;               // NAME.db.gz (sqlite) or NAME.pgdump (pg_dump), beside the manifest
    std::int64_t created_at = 0;    // when the snapshot was taken (Unix seconds)
    std::int64_t bytes = 0;         // compressed
    std::int64_t database_bytes = 0;
    std::string sha256;       // of the compressed file, hex
    std::string schema;       // {"module": version, ...} as JSON
    std::int64_t orders = 0;  // rows in orders at the snapshot, for a quick look
    double seconds = 0;       // how long taking it took

    std::string ToJson() const;
    // nullopt when text is not a manifest, or when its name is not IsBackupName, its format is not
    // known or its file is not NAME.db.gz (NAME.pgdump for pg_dump): a manifest's names become
    // paths, so hostile ones are refused here, once.
    static std::optional<BackupManifest> FromJson(std::string_view text);
};

struct VerifyReport {
    bool ok = false;
    std::string problem;    // when not ok
    std::string integrity;  // PRAGMA integrity_check's answer; "ok" for a pg_dump read back whole
    std::string schema;
    std::int64_t orders = 0;
    bool restored_copy = false;  // pg_dump: restored into a scratch database and compared
    double seconds = 0;
};

// Checks a backup: the file's SHA-256 against its manifest, then
//   sqlite: decompresses it into scratch_dir and runs PRAGMA integrity_check on the copy (removed
//   afterwards);
//   pg_dump: has pg_restore turn the whole archive into SQL (every table's data decompressed and
//   read, nothing written) and counts the orders in it, which must match the manifest; then, when
//   scratch_server_url names a PostgreSQL server, restores it into a new database there
//   (emporium_verify_PID_N, dropped afterwards; needs CREATEDB) and counts the orders and schema
//   versions the server holds, which must match too.
VerifyReport VerifyBackup(const std::string& manifest_path, const std::string& scratch_dir,
                          const std::string& scratch_server_url = {});

// Decompresses NAME.db.gz into path (replacing it). Throws std::runtime_error.
void Decompress(const std::string& gz_path, const std::string& path);

// The SHA-256 of a file, hex. Throws std::runtime_error when it cannot be read.
std::string FileSha256(const std::string& path);

// Sessions on database's PostgreSQL database other than the one asking: a shop (or anything else)
// still connected to it. 0 on SQLite. Throws db::DbError.
std::int64_t OtherSessions(db::Database& database);

// Replaces the content of the PostgreSQL database url names with a pg_dump backup (its manifest at
// manifest_path; VerifyBackup it first): pg_restore --clean --if-exists --single-transaction, so either
// the whole backup is in or nothing changed. Objects the backup does not hold are left alone.
// The caller makes sure nothing else uses the database (OtherSessions). Error kConflict
// `not_a_pg_dump` for a SQLite backup, kInternal `restore_failed` (message without secrets).
Status RestorePgDump(const std::string& manifest_path, const std::string& url);

class BackupStore {
public:
    // database_url: what database was opened with; pg_dump connects with it when the database is
    // PostgreSQL (through the environment only: it may hold a password).
    BackupStore(db::Database& database, std::string directory, int retention, const Clock& clock, Logger logger,
                std::string database_url = {});

    // Takes a backup now, then drops the oldest beyond the retention count. Safe while the shop
    // serves; one at a time (a second caller waits). A failure (kInternal `backup_failed`) is
    // logged, leaves nothing behind, and its message holds no secret.
    Result<BackupManifest> Take();

    // Complete backups, newest first.
    std::vector<BackupManifest> List() const;
    std::optional<BackupManifest> Latest() const;

    // When the newest complete backup was taken, if any.
    std::optional<std::int64_t> LastSuccessAt() const;

    // The manifest file of a backup, for serving it to a standby; nullopt for a name that is not
    // a complete backup here (names are never paths).
    std::optional<std::string> PathOf(const std::string& file) const;

    const std::string& directory() const { return directory_; }

private:
    // Writes the raw copy of the database at path and fills m's figures from the same snapshot.
    void Snapshot(const std::string& path, BackupManifest& m);

    db::Database& database_;
    std::string database_url_;
    std::string directory_;
    int retention_;
    const Clock& clock_;
    Logger logger_;
    std::mutex take_mutex_;  // one backup at a time
};

// Takes a backup whenever the newest one is older than the interval (and at start when there is
// none), on a thread of its own.
class BackupSchedule {
public:
    BackupSchedule(BackupStore& store, std::chrono::seconds interval, const Clock& clock);
    ~BackupSchedule();
    BackupSchedule(const BackupSchedule&) = delete;
    BackupSchedule& operator=(const BackupSchedule&) = delete;

    // Start after Stop starts it again (a node that lost the backups lease and took it back).
    void Start();
    void Stop();

private:
    BackupStore& store_;
    std::chrono::seconds interval_;
    const Clock& clock_;
    std::mutex mutex_;  // guards stopping_
    std::condition_variable stop_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace emporium::ops
