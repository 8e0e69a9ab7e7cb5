#include "app/primary_duties.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "app/wiring.h"
#include "notify/sms_gateway.h"

namespace emporium::app {
namespace {

// A data directory with every module's schema, and the parts PrimaryDuties drives.
class PrimaryDutiesTest : public ::testing::Test {
protected:
    PrimaryDutiesTest()
        : dir_(std::filesystem::temp_directory_path() / ("emporium-primary-" + std::to_string(std::random_device{}()))),
          logger_(MakeLogger("error")),
          core_(OpenCoreServices(dir_.string(), DatabaseSettings{}, 4, nullptr, clock_)),
          sms_(notify::MakeLocalGateway()),
          notifier_(*core_.database, *core_.vault, *core_.accounts, *core_.orders, *core_.catalog, *sms_, clock_,
                    logger_, notify::CourierOptions{}),
          backups_(*core_.database, (dir_ / "backups").string(), 2, clock_, logger_),
          schedule_(backups_, std::chrono::hours(1), clock_),
          analytics_(*core_.database, *core_.catalog, clock_),
          duties_({*core_.database, clock_, logger_, *core_.catalog, *core_.orders, notifier_, metrics_, schedule_,
                   read_only_, /*in_process=*/true, "", analytics_, /*analytics_in_process=*/true}) {}

public:
    ~PrimaryDutiesTest() override {
        duties_.Stop();
        core_.orders->StopReconciler();
        notifier_.Stop();
        schedule_.Stop();
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);  // the open database files go once closed
    }

protected:
    std::filesystem::path dir_;
    SystemClock clock_;
    Logger logger_;
    ops::Metrics metrics_;
    CoreServices core_;
    std::unique_ptr<notify::SmsGateway> sms_;
    notify::NotifyService notifier_;
    ops::BackupStore backups_;
    ops::BackupSchedule schedule_;
    analytics::AnalyticsService analytics_;
    std::atomic<bool> read_only_{true};
    PrimaryDuties duties_;
};

// Promotion starts the duties on a request thread while the alert thread reads their figures
// (the event_backlog rule). Under ThreadSanitizer (make test-tsan) this is where a read without
// the lock shows as a data race.
TEST_F(PrimaryDutiesTest, FiguresReadWhileStartingOnAnotherThread) {
    EXPECT_EQ(duties_.OldestPendingAge(), std::nullopt);  // a standby delivers no events
    EXPECT_TRUE(duties_.Progress().empty());
    std::optional<double> seen;
    std::atomic<std::int64_t> reads_before_start{0};
    std::thread alerts([&] {
        while (!(seen = duties_.OldestPendingAge())) ++reads_before_start;
    });
    while (reads_before_start.load() < 100) std::this_thread::yield();  // the rule is being read: promote now
    duties_.Start();
    alerts.join();
    ASSERT_TRUE(seen);
    EXPECT_GE(*seen, 0.0);
    EXPECT_FALSE(read_only_);
    EXPECT_EQ(duties_.Progress().size(), 4u);  // cache, analytics, notify, webhooks
    duties_.Start();                           // a second promotion changes nothing
    EXPECT_EQ(duties_.Progress().size(), 4u);
}

}  // namespace
}  // namespace emporium::app
