#include "ops/standby.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "db/testing.h"
#include "http/router.h"
#include "http/server.h"

namespace emporium::ops {
namespace {

namespace fs = std::filesystem;

// A primary's internal listener that answers /internal/backups/latest with whatever manifest the
// test sets, and any file download with a few bytes (which must never be written anywhere).
class HostilePrimary {
public:
    HostilePrimary() {
        router_.Get("/internal/backups/latest", [this](const http::Request&) {
            std::lock_guard lock(mutex_);
            return http::Response::Json(200, manifest_);
        });
        router_.Get("/internal/backups/files/{file}", [this](const http::Request&) {
            ++downloads_;
            return http::Response::Json(200, "\"not a backup\"");
        });
        server_ = std::make_unique<http::Server>(http::ServerOptions{}, MakeLogger("off"), nullptr);
        port_ = server_->Listen({"internal", "127.0.0.1", 0, &router_, false, "", ""});
        runner_ = std::thread([this] { server_->Run(); });
    }
    ~HostilePrimary() {
        server_->Stop();
        runner_.join();
    }
    void Serve(std::string manifest) {
        std::lock_guard lock(mutex_);
        manifest_ = std::move(manifest);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int downloads() const { return downloads_; }

private:
    http::Router router_;
    std::mutex mutex_;  // guards manifest_
    std::string manifest_;
    std::atomic<int> downloads_{0};
    std::unique_ptr<http::Server> server_;
    std::uint16_t port_ = 0;
    std::thread runner_;
};

TEST(Standby, RefusesManifestsWhoseNamesAreNotPlainBackupNames) {
    db::TempDatabase database;
    HostilePrimary primary;
    const fs::path work = database.dir() / "standby";
    ManualClock clock;
    Standby standby(*database, {primary.url(), "token", std::chrono::seconds(60), work.string()}, clock,
                    MakeLogger("off"), nullptr);
    const std::string good = "emporium-20270115T080000Z";
    const std::vector<std::pair<std::string, std::string>> hostile = {
        {"../escaped", good + ".db.gz"},
        {good, "../escaped.db.gz"},
        {"../../escaped", "../../escaped.db.gz"},
        {"/tmp/escaped", "/tmp/escaped.db.gz"},
        {".hidden", ".hidden.db.gz"},
        {good + "\\u0000x", good + "\\u0000x.db.gz"},
        {"escaped", "escaped.db.gz"},
        {good, good + ".db"},
        {good + "/x", good + "/x.db.gz"},
    };
    for (const auto& [name, file] : hostile) {
        std::string manifest = R"({"name":")";
        manifest += name;
        manifest += R"(","file":")";
        manifest += file;
        manifest += R"(","sha256":"00","created_at":1})";
        primary.Serve(manifest);
        Result<std::optional<BackupManifest>> synced = standby.SyncOnce();
        ASSERT_FALSE(synced.ok()) << name << " / " << file;
        EXPECT_EQ(synced.error().code, "sync_failed");
        EXPECT_NE(synced.error().message.find("not a backup"), std::string::npos) << synced.error().message;
    }
    // A primary on PostgreSQL: its pg_dump backups are refused before download, never loaded as SQLite.
    primary.Serve(R"({"name":")" + good + R"(","format":"pg_dump","file":")" + good +
                  R"(.pgdump","sha256":"00","created_at":1})");
    Result<std::optional<BackupManifest>> dump = standby.SyncOnce();
    ASSERT_FALSE(dump.ok());
    EXPECT_NE(dump.error().message.find("PostgreSQL"), std::string::npos) << dump.error().message;
    EXPECT_EQ(primary.downloads(), 0);  // refused before anything was fetched or written
    EXPECT_FALSE(standby.applied().has_value());
    EXPECT_FALSE(fs::exists(database.dir() / "escaped.db.gz"));
    EXPECT_FALSE(fs::exists(database.dir() / "escaped.json"));
    EXPECT_FALSE(fs::exists("/tmp/escaped.db.gz"));
}

}  // namespace
}  // namespace emporium::ops
