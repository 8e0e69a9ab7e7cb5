// `emporium analytics rebuild`: recomputes the sales rollups from the orders' own tables. Safe
// while the shop runs (one write transaction; events after it are applied as usual), and the
// result equals what the events built (analytics_test checks that).
#include <chrono>
#include <cstdio>

#include "analytics/analytics.h"
#include "app/commands.h"
#include "app/wiring.h"
#include "core/clock.h"

namespace emporium::app {

int AnalyticsRebuild(const AnalyticsRebuildOptions& options) {
    const std::int64_t seller_id = options.seller_id;
    SystemClock clock;
    CoreServices core = OpenCoreServices(options.data_dir, options.database, 1, nullptr, clock);
    analytics::AnalyticsService analytics(*core.database, *core.catalog, clock);
    const auto started = std::chrono::steady_clock::now();
    analytics::RebuildReport r =
        analytics.Rebuild(seller_id > 0 ? std::optional<std::int64_t>(seller_id) : std::nullopt);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("{\"sale_lines\":%lld,\"refund_lines\":%lld,\"through_event_id\":%lld,\"seconds\":%.3f}\n",
                static_cast<long long>(r.sale_lines), static_cast<long long>(r.refund_lines),
                static_cast<long long>(r.through_event_id), seconds);
    return 0;
}

}  // namespace emporium::app
