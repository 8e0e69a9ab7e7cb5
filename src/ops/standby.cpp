#include "ops/standby.h"

#include <filesystem>
#include <fstream>

#include "http/client.h"

namespace emporium::ops {
namespace {

namespace fs = std::filesystem;

http::HttpCall Call(const StandbyOptions& o, const std::string& path) {
    http::HttpCall call;
    call.method = "GET";
    std::string base = o.primary_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    call.url = base + path;
    call.headers = {"Authorization: Bearer " + o.token};
    call.timeout = std::chrono::minutes(30);  // a large backup over a slow link
    return call;
}

}  // namespace

Standby::Standby(db::Database& database, StandbyOptions options, const Clock& clock, Logger logger,
                 std::function<void(const BackupManifest&)> on_applied)
    : database_(database),
      options_(std::move(options)),
      clock_(clock),
      logger_(std::move(logger)),
      on_applied_(std::move(on_applied)) {
    std::ifstream in(fs::path(options_.work_dir) / "applied.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    applied_ = BackupManifest::FromJson(text);
}

Standby::~Standby() {
    Promote();
}

Result<std::optional<BackupManifest>> Standby::SyncOnce() {
    std::lock_guard sync(sync_mutex_);
    if (promoted()) return std::optional<BackupManifest>{};
    auto fail = [&](const std::string& why) -> Result<std::optional<BackupManifest>> {
        LogWarn(logger_, LogFields("standby sync failed").Add("error", why));
        return Error{ErrorKind::kUnavailable, "sync_failed", why, {}};
    };
    http::HttpCall latest_call = Call(options_, "/internal/backups/latest");
    latest_call.timeout = std::chrono::seconds(10);
    http::HttpAnswer latest = http::Perform(latest_call);
    if (latest.status == 404) {
        std::lock_guard lock(mutex_);
        last_sync_at_ = UnixSeconds(clock_.Now());
        return std::optional<BackupManifest>{};  // the primary has no backup yet
    }
    if (latest.status != 200) {
        return fail(latest.status == 0 ? "primary unreachable: " + latest.error
                                       : "primary answered " + std::to_string(latest.status));
    }
    // FromJson believes only plain backup names: the name and file become paths below.
    std::optional<BackupManifest> m = BackupManifest::FromJson(latest.body);
    if (!m) return fail("the primary's manifest cannot be read, or names a file that is not a backup");
    if (m->format != "sqlite") return fail("the primary's backups are PostgreSQL dumps: a standby loads SQLite ones");
    {
        std::lock_guard lock(mutex_);
        if (applied_ && applied_->name == m->name) {
            last_sync_at_ = UnixSeconds(clock_.Now());
            return std::optional<BackupManifest>{};
        }
    }
    const auto started = std::chrono::steady_clock::now();
    fs::create_directories(options_.work_dir);
    const std::string gz = (fs::path(options_.work_dir) / m->file).string();
    const std::string manifest = (fs::path(options_.work_dir) / (m->name + ".json")).string();
    http::HttpAnswer file = http::Download(Call(options_, "/internal/backups/files/" + m->file), gz);
    if (file.status != 200) {
        return fail(file.status == 0 ? "download failed: " + file.error
                                     : "download answered " + std::to_string(file.status));
    }
    {
        std::ofstream out(manifest, std::ios::trunc);
        out << m->ToJson();
    }
    // The same check as `emporium backup verify`: checksum, then integrity of a restored copy.
    VerifyReport report = VerifyBackup(manifest, options_.work_dir);
    if (!report.ok) {
        std::error_code ec;
        fs::remove(gz, ec);
        fs::remove(manifest, ec);
        return fail("backup " + m->name + " failed its check: " + report.problem);
    }
    const std::string copy = (fs::path(options_.work_dir) / (m->name + ".db")).string();
    try {
        Decompress(gz, copy);
        database_.RestoreFrom(copy);
    } catch (const std::exception& e) {
        return fail(std::string("loading the backup failed: ") + e.what());
    }
    std::error_code ec;
    for (const std::string& p : {copy, gz, manifest}) fs::remove(p, ec);
    {
        std::ofstream out(fs::path(options_.work_dir) / "applied.json", std::ios::trunc);
        out << m->ToJson();
    }
    {
        std::lock_guard lock(mutex_);
        applied_ = m;
        last_sync_at_ = UnixSeconds(clock_.Now());
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    LogInfo(logger_, LogFields("standby applied backup")
                         .Add("name", m->name)
                         .Add("orders", static_cast<long long>(m->orders))
                         .Add("bytes", static_cast<long long>(m->bytes))
                         .Add("seconds", seconds));
    if (on_applied_) on_applied_(*m);
    return m;
}

void Standby::Start() {
    thread_ = std::thread([this] {
        for (;;) {
            (void)SyncOnce();
            std::unique_lock lock(mutex_);
            if (stop_.wait_for(lock, options_.interval, [&] { return promoted_; })) return;
        }
    });
}

void Standby::Promote() {
    {
        std::lock_guard lock(mutex_);
        promoted_ = true;
    }
    stop_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    std::lock_guard sync(sync_mutex_);  // a sync in progress finishes before promotion returns
}

std::optional<BackupManifest> Standby::applied() const {
    std::lock_guard lock(mutex_);
    return applied_;
}

std::optional<std::int64_t> Standby::last_sync_at() const {
    std::lock_guard lock(mutex_);
    return last_sync_at_;
}

bool Standby::promoted() const {
    std::lock_guard lock(mutex_);
    return promoted_;
}

}  // namespace emporium::ops
