// A warm standby: keeps a verified copy of the primary's data by fetching the primary's newest
// backup from its internal listener (Bearer token), checking its SHA-256 and integrity, and
// loading it into the local database in one step, while the standby serves the catalog
// read-only. Promote() stops the copying; the app then turns the standby into a primary.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/log.h"
#include "core/result.h"
#include "db/database.h"
#include "ops/backup.h"

namespace emporium::ops {

struct StandbyOptions {
    std::string primary_url;  // the primary's internal listener, "http://10.0.0.5:9090"
    std::string token;        // EMPORIUM_REPLICATION_TOKEN, the same on both
    std::chrono::seconds interval{60};
    std::string work_dir;  // downloads and checks happen here
};

class Standby {
public:
    // on_applied runs after each backup is loaded (to drop caches).
    Standby(db::Database& database, StandbyOptions options, const Clock& clock, Logger logger,
            std::function<void(const BackupManifest&)> on_applied);
    ~Standby();
    Standby(const Standby&) = delete;
    Standby& operator=(const Standby&) = delete;

    // Fetches the primary's newest backup and loads it if it is newer than the one applied.
    // Returns the manifest loaded, or nullopt when there was nothing new. Errors: unreachable
    // primary, refused token, checksum or integrity failures (then nothing changed).
    Result<std::optional<BackupManifest>> SyncOnce();

    void Start();
    // Stops copying for good (the standby becomes the primary). Idempotent.
    void Promote();

    std::optional<BackupManifest> applied() const;
    std::optional<std::int64_t> last_sync_at() const;
    bool promoted() const;

private:
    db::Database& database_;
    StandbyOptions options_;
    const Clock& clock_;
    Logger logger_;
    std::function<void(const BackupManifest&)> on_applied_;

    mutable std::mutex mutex_;  // guards applied_, last_sync_at_, promoted_; sync_mutex_ orders syncs
    std::optional<BackupManifest> applied_;
    std::optional<std::int64_t> last_sync_at_;
    bool promoted_ = false;
    std::condition_variable stop_;
    std::mutex sync_mutex_;  // one sync at a time, and none after promotion
    std::thread thread_;
};

}  // namespace emporium::ops
