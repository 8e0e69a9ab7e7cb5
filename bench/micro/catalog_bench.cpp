// What a catalog query costs when the read cache has not seen it: a shopper's first search, a
// new filter, a deep page. Straight from SQLite through CatalogService::List, on a seeded games
// catalog of BENCH_PRODUCTS products (100,000 unless set), in a temporary directory.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/seed.h"
#include "core/clock.h"
#include "db/database.h"
#include "db/migrations.h"
#include "events/outbox.h"

namespace {

using emporium::catalog::ProductQuery;
using emporium::catalog::Sort;

struct Case {
    const char* name;
    ProductQuery query;
};

// count copies of word joined by separator (the search box allows 200 characters).
std::string Repeat(const std::string& word, int count, const std::string& separator = " ") {
    std::string out = word;
    for (int i = 1; i < count; ++i) out += separator + word;
    return out;
}

std::vector<Case> Cases() {
    return {
        {"list/popular/page1", {}},
        {"list/popular/page2000", {.page = 2000}},
        {"list/price_asc/category", {.category = "pc-games", .sort = Sort::kPriceAsc}},
        {"list/newest/price_range", {.min_price = 1000, .max_price = 3000, .sort = Sort::kNewest}},
        {"search/one_letter", {.q = "a", .sort = Sort::kRelevance}},
        {"search/common_word", {.q = "game", .sort = Sort::kRelevance}},
        {"search/two_words", {.q = "shadow leg", .sort = Sort::kRelevance}},
        {"search/rare_word", {.q = "mug", .sort = Sort::kRelevance}},
        {"search/word_in_category", {.q = "edition", .category = "pc-games", .sort = Sort::kPriceAsc}},
        {"search/no_match", {.q = "zzzzqx", .sort = Sort::kRelevance}},
        // Hostile searches: what one address can send to make each request cost the most.
        {"hostile/a_x100", {.q = Repeat("a", 100), .sort = Sort::kRelevance}},
        {"hostile/a_dash_x66", {.q = Repeat("a", 66, "\u2014"), .sort = Sort::kRelevance}},
        {"hostile/common_words_x8", {.q = "the of and edition game player series a", .sort = Sort::kRelevance}},
        {"hostile/two_letter_prefixes_x40",
         {.q = "ga ed sh le ma co ba st pl se wi ro dr sp fi bo ca ar po re ti cl tr mo de pr wa "
               "st bl gr ch fo ha ne ki so ru da be su",
          .sort = Sort::kPriceAsc}},
    };
}

std::int64_t ProductsFromEnvironment() {
    const char* text = std::getenv("BENCH_PRODUCTS");
    return text ? std::max<std::int64_t>(100, std::atoll(text)) : 100'000;
}

}  // namespace

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    using namespace emporium;
    benchmark::Initialize(&argc, argv);

    const fs::path dir = fs::temp_directory_path() / ("emporium-catalog-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    int status = 0;
    {
        std::unique_ptr<db::Database> database = db::OpenSqlite({.path = (dir / "shop.db").string()});
        std::vector<db::Migration> migrations = catalog::Migrations(db::Dialect::kSqlite);
        for (auto& m : events::Migrations(db::Dialect::kSqlite)) migrations.push_back(m);
        db::ApplyMigrations(*database, migrations);
        SystemClock clock;
        catalog::CatalogService catalog(*database, clock);
        const std::int64_t products = ProductsFromEnvironment();
        const auto seeding = std::chrono::steady_clock::now();
        if (!catalog::SeedCatalog(*database, catalog, {"games", products, 42, {1, 2, 3}}, nullptr).ok()) {
            std::cerr << "seeding failed\n";
            status = 1;
        } else {
            std::cerr << "seeded " << products << " products in "
                      << std::chrono::duration<double>(std::chrono::steady_clock::now() - seeding).count() << " s\n";
            benchmark::AddCustomContext("products", std::to_string(products));
            for (const Case& c : Cases()) {
                benchmark::RegisterBenchmark(c.name, [&catalog, query = c.query](benchmark::State& state) {
                    std::int64_t total = 0;
                    std::int64_t timeouts = 0;  // stopped at the query budget (503 query_timeout)
                    for (auto _ : state) {
                        Result<catalog::ProductPage> page = catalog.List(query);
                        if (page.ok()) {
                            total = page->total;
                        } else {
                            ++timeouts;
                        }
                        benchmark::DoNotOptimize(page);
                    }
                    state.counters["matches"] = static_cast<double>(total);
                    state.counters["timeouts"] = static_cast<double>(timeouts);
                })->Unit(benchmark::kMillisecond);
            }
            benchmark::RunSpecifiedBenchmarks();
        }
        benchmark::Shutdown();
    }
    fs::remove_all(dir);
    return status;
}
