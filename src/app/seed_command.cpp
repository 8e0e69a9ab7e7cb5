#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "accounts/accounts.h"
#include "accounts/seed.h"
#include "analytics/analytics.h"
#include "app/commands.h"
#include "app/wiring.h"
#include "catalog/catalog.h"
#include "catalog/seed.h"
#include "core/clock.h"
#include "delivery/seed.h"
#include "notify/notify.h"
#include "orders/seed.h"

namespace emporium::app {
namespace {

// A progress bar on a terminal; nothing when stderr is a file or a pipe.
void DrawBar(const char* what, std::int64_t done, std::int64_t total) {
    if (!isatty(STDERR_FILENO) || total <= 0) return;
    constexpr int kWidth = 40;
    int filled = static_cast<int>(kWidth * done / total);
    std::fprintf(stderr, "\r  %-8s [%.*s%*s] %3lld%% %lld/%lld", what, filled,
                 "########################################", kWidth - filled, "",
                 static_cast<long long>(100 * done / total), static_cast<long long>(done),
                 static_cast<long long>(total));
    if (done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
}

void DrawProducts(std::int64_t done, std::int64_t total) {
    DrawBar("products", done, total);
}
void DrawOrders(std::int64_t done, std::int64_t total) {
    DrawBar("orders", done, total);
}

// One line from standard input; on a terminal after a prompt on stderr, without echo.
std::optional<std::string> ReadLine(const char* prompt) {
    const bool terminal = isatty(STDIN_FILENO) == 1;
    termios saved{};
    const bool hidden = terminal && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (hidden) {
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        quiet.c_lflag |= ECHONL;  // the Enter key still moves to the next line
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    if (terminal) std::fprintf(stderr, "%s", prompt);
    std::string line;
    const bool read = static_cast<bool>(std::getline(std::cin, line));
    if (hidden) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    if (!read) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

// The new account's password, from where UserCreateOptions says; nullopt after a line on stderr.
std::optional<std::string> UserPassword(const UserCreateOptions& options) {
    if (!options.password_file.empty()) {
        std::ifstream in(options.password_file);
        std::string line;
        if (!in || !std::getline(in, line)) {
            std::fprintf(stderr, "emporium user create: --password-file %s cannot be read\n",
                         options.password_file.c_str());
            return std::nullopt;
        }
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
    }
    if (!options.password.empty()) {
        std::fprintf(stderr,
                     "emporium user create: warning: --password shows the password in the process list and the "
                     "shell's history; use --password-file, EMPORIUM_USER_PASSWORD or the prompt instead\n");
        return options.password;
    }
    if (const char* env = std::getenv("EMPORIUM_USER_PASSWORD"); env && *env) return std::string(env);
    std::optional<std::string> password = ReadLine("Password: ");
    if (password && isatty(STDIN_FILENO) == 1) {
        std::optional<std::string> again = ReadLine("Password again: ");
        if (again != password) {
            std::fprintf(stderr, "emporium user create: the passwords differ\n");
            return std::nullopt;
        }
    }
    if (!password) std::fprintf(stderr, "emporium user create: no password given\n");
    return password;
}

}  // namespace

int Migrate(const DataDirOptions& options) {
    OpenDatabase(options.data_dir, options.database, 4, nullptr);
    std::printf("database %s is up to date\n", db::Redacted(DatabaseUrl(options.data_dir, options.database)).c_str());
    return 0;
}

int Seed(const SeedCommandOptions& options) {
    auto started = std::chrono::steady_clock::now();
    std::unique_ptr<db::Database> database = OpenDatabase(options.data_dir, options.database, 4, nullptr);
    std::unique_ptr<accounts::PiiVault> vault = OpenVault(options.data_dir);
    SystemClock clock;
    accounts::PasswordHasher hasher(accounts::HashCost{});
    accounts::SeedPeopleOptions people_options;
    people_options.shop_domain = options.preset == "grocery" ? "gomart.example" : "gitgoods.example";
    people_options.sellers = options.sellers;
    people_options.customers = options.customers;
    people_options.seed = options.seed;
    accounts::SeededPeople people = accounts::SeedPeople(*database, *vault, hasher, clock, people_options);

    catalog::CatalogService catalog(*database, clock);
    catalog::SeedOptions seed{options.preset, options.products, options.seed, people.seller_ids};
    Status seeded = catalog::SeedCatalog(*database, catalog, seed, DrawProducts);
    if (!seeded.ok()) {
        for (const auto& f : seeded.error().fields)
            std::fprintf(stderr, "emporium seed: %s %s\n", f.field.c_str(), f.message.c_str());
        return 2;
    }
    // The history ends at the start of today (UTC), so that the sales reports' recent days are
    // lively; --history-end pins it (the same seed and end give the same shop).
    const std::int64_t now = UnixSeconds(clock.Now());
    std::optional<std::int64_t> end_day = options.history_end.empty() ? std::optional<std::int64_t>(now / 86400)
                                                                      : analytics::ParseDay(options.history_end);
    if (!end_day) {
        std::fprintf(stderr, "emporium seed: --history-end must be a date as YYYY-MM-DD\n");
        return 2;
    }
    const std::int64_t history_end = *end_day * 86400;
    std::int64_t orders = orders::SeedOrders(
        *database, *vault, {options.orders, options.seed, people.customer_ids, history_end, options.preset},
        DrawOrders);
    delivery::DeliveryService delivery_service(*database, clock);
    delivery::SeededHistory pipeline =
        delivery::SeedHistory(delivery_service, {UnixSeconds(clock.Now()), 90, options.seed});
    // The shop keeps its books in Singapore time; the second seller in London's (daylight saving).
    analytics::AnalyticsService analytics(*database, catalog, clock);
    (void)analytics.SetTimeZone(analytics::kShop, "Asia/Singapore");
    if (people.seller_ids.size() > 1) (void)analytics.SetTimeZone(people.seller_ids[1], "Europe/London");
    analytics.Rebuild();
    analytics.SeedFunnel(options.seed);  // views and adds to cart, so that the demo's funnel starts above 0
    Result<std::int64_t> photos = catalog::SeedPhotos(*database, catalog, options.photos, options.seed);
    if (!photos.ok()) {
        std::fprintf(stderr, "emporium seed: a drawn photo was refused: %s\n", photos.error().message.c_str());
        return 1;
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("seeded %s: %lld products, %zu sellers, %zu customers, %lld orders in %.2f s into %s\n",
                catalog.Store().name.c_str(), static_cast<long long>(options.products), people.seller_ids.size(),
                people.customer_ids.size(), static_cast<long long>(orders), seconds,
                db::Redacted(DatabaseUrl(options.data_dir, options.database)).c_str());
    if (*photos > 0) std::printf("photos: %lld popular products have a drawn photo\n", static_cast<long long>(*photos));
    std::printf("delivery history: %lld CI runs, %lld deployments, %lld incidents over 90 days\n",
                static_cast<long long>(pipeline.runs), static_cast<long long>(pipeline.deployments),
                static_cast<long long>(pipeline.incidents));
    std::printf("demo sign-in: %s, seller1@%s and the customers all use the password \"%s\"\n",
                people.admin_email.c_str(), people_options.shop_domain.c_str(), people_options.password.c_str());
    return 0;
}

int UserCreate(const UserCreateOptions& options) {
    std::optional<std::string> password = UserPassword(options);
    if (!password) return 2;
    std::unique_ptr<db::Database> database = OpenDatabase(options.data_dir, options.database, 4, nullptr);
    std::unique_ptr<accounts::PiiVault> vault = OpenVault(options.data_dir);
    SystemClock clock;
    accounts::PasswordHasher hasher(accounts::HashCost{});
    accounts::AccountService service(*database, *vault, hasher, clock);
    std::optional<Role> role = ParseRole(options.role);
    if (!role) {
        std::fprintf(stderr, "emporium user create: --role must be customer, seller or admin\n");
        return 2;
    }
    std::string name = options.name.empty() ? options.email.substr(0, options.email.find('@')) : options.name;
    Result<accounts::User> user = service.CreateUser({options.email, *password, name, std::nullopt}, *role);
    if (!user.ok()) {
        std::fprintf(stderr, "emporium user create: %s\n", user.error().message.c_str());
        for (const auto& f : user.error().fields) std::fprintf(stderr, "  %s %s\n", f.field.c_str(), f.message.c_str());
        return user.error().kind == ErrorKind::kConflict ? 3 : 2;
    }
    std::printf("created %s %lld\n", std::string(RoleName(user->role)).c_str(), static_cast<long long>(user->id));
    return 0;
}

int RotateKeys(const DataDirOptions& options) {
    // The same services a server builds: each registers its own encrypted tables with the vault.
    SystemClock clock;
    CoreServices core = OpenCoreServices(options.data_dir, options.database, 4, nullptr, clock);
    notify::RegisterSealedTables(*core.vault, *core.database);
    accounts::PiiVault& vault = *core.vault;
    // With keys in the environment the operator has already made the new one active: re-encrypt.
    // With the key file, add a new key first; a running server picks it up within a second.
    const char* env_key = std::getenv("EMPORIUM_PII_KEY");
    if (env_key == nullptr || *env_key == '\0') {
        Result<std::string> added = vault.AddKey();
        if (!added.ok()) {
            std::fprintf(stderr, "emporium keys rotate: %s\n", added.error().message.c_str());
            return 2;
        }
        std::printf("new active key %s\n", added->c_str());
    }
    std::map<std::string, std::int64_t> done;
    // Small batches keep each write transaction short while the shop runs. Rows a running server
    // wrote with the old key before it reloaded are caught by the later passes.
    for (int quiet_passes = 0; quiet_passes < 3;) {
        std::int64_t n = 0;
        for (const accounts::TableRotation& t : vault.ReencryptBatch(500)) {
            done[t.table] += t.rows;
            n += t.rows;
        }
        if (n == 0) {
            ++quiet_passes;
            std::this_thread::sleep_for(std::chrono::milliseconds(700));  // outlast a server's key reload interval
        } else {
            quiet_passes = 0;
        }
    }
    std::int64_t total = 0, left = 0;
    for (const accounts::TableRotation& t : vault.CountOnOldKeys()) {
        std::printf("%s: re-encrypted %lld; %lld left on old keys\n", t.table.c_str(),
                    static_cast<long long>(done[t.table]), static_cast<long long>(t.rows));
        total += done[t.table];
        left += t.rows;
    }
    std::printf("re-encrypted %lld rows in %zu tables; %lld left on old keys\n", static_cast<long long>(total),
                done.size(), static_cast<long long>(left));
    return left == 0 ? 0 : 3;
}

}  // namespace emporium::app
