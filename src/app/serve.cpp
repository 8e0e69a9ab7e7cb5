#include <spdlog/spdlog.h>

#include <filesystem>
#include <thread>

#include "app/commands.h"
#include "app/wiring.h"
#include "catalog/catalog.h"
#include "catalog/catalog_routes.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/read_cache.h"
#include "core/text.h"
#include "http/server.h"
#include "http/static_files.h"
#include "ops/metrics.h"
#include "ops/ops_routes.h"

namespace emporium::app {
namespace {

std::filesystem::path DefaultWebDir(const std::string& program_path) {
    // build/emporium -> web/dist of the same checkout; falls back to ./web/dist.
    std::error_code ec;
    std::filesystem::path program = std::filesystem::canonical("/proc/self/exe", ec);
    if (ec) program = std::filesystem::absolute(program_path);
    std::filesystem::path beside = program.parent_path().parent_path() / "web" / "dist";
    if (std::filesystem::is_directory(beside, ec)) return beside;
    return std::filesystem::path("web") / "dist";
}

std::string EnvOrEmpty(const char* name) {
    const char* value = std::getenv(name);
    return value ? value : "";
}

}  // namespace

int Serve(const ServeOptions& options) {
    Logger logger = MakeLogger(options.log_level);
    const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    http::ServerOptions server_options;
    server_options.io_threads = options.io_threads > 0 ? options.io_threads : cores;
    server_options.worker_threads = options.workers > 0 ? options.workers : 4 * cores;
    server_options.body_limit = static_cast<std::size_t>(options.body_limit);
    server_options.max_connections = static_cast<std::size_t>(options.max_connections);
    std::optional<std::chrono::seconds> ttl = ParseDuration(options.cache_ttl);
    if (!ttl) {
        LogError(logger, LogFields("bad setting").Add("setting", "cache-ttl").Add("value", options.cache_ttl));
        return 2;
    }

    ops::Metrics metrics;
    std::unique_ptr<db::Database> database = OpenDatabase(
        options.data_dir, server_options.worker_threads, [&metrics](double seconds) { metrics.ObserveQuery(seconds); });
    SystemClock clock;
    catalog::CatalogService catalog(*database, clock);
    ReadCache catalog_cache(clock, *ttl, static_cast<std::size_t>(options.cache_entries));
    metrics.AddCallback("emporium_cache_hits_total", "counter", "Read-through cache hits", "cache=\"catalog\"",
                        [&] { return static_cast<double>(catalog_cache.hits()); });
    metrics.AddCallback("emporium_cache_misses_total", "counter", "Read-through cache misses", "cache=\"catalog\"",
                        [&] { return static_cast<double>(catalog_cache.misses()); });
    metrics.AddCallback("emporium_cache_entries", "gauge", "Entries held by a read-through cache", "cache=\"catalog\"",
                        [&] { return static_cast<double>(catalog_cache.size()); });

    http::Server server(server_options, logger, [&metrics](const http::RequestRecord& r) {
        metrics.ObserveRequest(r.listener, r.route, r.method, r.status, r.seconds);
    });
    metrics.AddCallback("emporium_http_requests_in_flight", "gauge", "Requests being handled", "",
                        [&] { return static_cast<double>(server.in_flight()); });

    http::Router public_router;
    catalog::AddRoutes(public_router, catalog, catalog_cache, {EnvOrEmpty("EMPORIUM_ADMIN_TOKEN")});
    std::filesystem::path web_dir =
        options.web_dir.empty() ? DefaultWebDir(options.program_path) : std::filesystem::path(options.web_dir);
    std::unique_ptr<http::StaticFiles> web = http::StaticFiles::Load(web_dir);
    public_router.SetFallback(
        {"GET", "static", [&web](const http::Request& r) { return web->Serve(r); }, {}, /*inline_only=*/true});

    http::Router internal_router;
    ops::AddOpsRoutes(internal_router, metrics, [&]() {
        if (server.draining()) return false;
        try {
            return database->Read([](db::Connection& c) { return c.QueryInt("SELECT 1") == 1; });
        } catch (const std::exception&) {
            return false;
        }
    });

    std::uint16_t port = server.Listen("public", options.bind, options.port, public_router);
    std::uint16_t internal_port =
        server.Listen("internal", options.internal_bind, options.internal_port, internal_router);
    LogInfo(logger, LogFields("listening")
                        .Add("port", static_cast<long long>(port))
                        .Add("internal_port", static_cast<long long>(internal_port))
                        .Add("data_dir", options.data_dir)
                        .Add("web_dir", web_dir.string())
                        .Add("web_files", static_cast<long long>(web->size()))
                        .Add("io_threads", static_cast<long long>(server_options.io_threads))
                        .Add("workers", static_cast<long long>(server_options.worker_threads)));
    server.Run();
    return 0;
}

}  // namespace emporium::app
