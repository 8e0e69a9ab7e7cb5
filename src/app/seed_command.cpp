#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "app/commands.h"
#include "app/wiring.h"
#include "catalog/catalog.h"
#include "catalog/seed.h"
#include "core/clock.h"

namespace emporium::app {
namespace {

// A progress bar on a terminal; nothing when stderr is a file or a pipe.
void DrawProgress(std::int64_t done, std::int64_t total) {
    if (!isatty(STDERR_FILENO) || total <= 0) return;
    constexpr int kWidth = 40;
    int filled = static_cast<int>(kWidth * done / total);
    std::fprintf(stderr, "\r  products [%.*s%*s] %3lld%% %lld/%lld", filled, "########################################",
                 kWidth - filled, "", static_cast<long long>(100 * done / total), static_cast<long long>(done),
                 static_cast<long long>(total));
    if (done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
}

}  // namespace

int Migrate(const std::string& data_dir) {
    OpenDatabase(data_dir, 1, nullptr);
    std::printf("database %s is up to date\n", DatabasePath(data_dir).c_str());
    return 0;
}

int Seed(const SeedCommandOptions& options) {
    auto started = std::chrono::steady_clock::now();
    std::unique_ptr<db::Database> database = OpenDatabase(options.data_dir, 1, nullptr);
    SystemClock clock;
    catalog::CatalogService catalog(*database, clock);
    catalog::SeedOptions seed{options.preset, options.products, options.seed, 5};
    Status seeded = catalog::SeedCatalog(*database, catalog, seed, DrawProgress);
    if (!seeded.ok()) {
        for (const auto& f : seeded.error().fields)
            std::fprintf(stderr, "emporium seed: %s %s\n", f.field.c_str(), f.message.c_str());
        return 2;
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("seeded %s: %lld products in %.2f s into %s\n", catalog.Store().name.c_str(),
                static_cast<long long>(options.products), seconds, DatabasePath(options.data_dir).c_str());
    if (options.customers > 0 || options.orders > 0) {
        // Accounts and orders are separate modules that are not built yet; say so rather than pretend.
        std::printf("note: customers and orders are generated once the accounts and orders modules exist\n");
    }
    return 0;
}

}  // namespace emporium::app
