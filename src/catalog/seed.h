// Demo data for the two built-in shops: Git Goods (games, consoles, accessories, merchandise)
// and GoMart (a supermarket, sold per unit or per kg). The same preset, count and seed value
// always give the same catalog.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "db/database.h"

namespace emporium::catalog {

struct SeedOptions {
    std::string preset = "games";  // "games" or "grocery"
    std::int64_t products = 1000;
    std::uint64_t seed = 42;
    std::vector<std::int64_t> seller_ids = {1};  // products are spread over these sellers
};

// Called now and then with (done, total) while products are written.
using SeedProgress = std::function<void(std::int64_t done, std::int64_t total)>;

// Replaces the catalog's categories and products with generated ones, in one transaction, and
// sets the shop's profile to the preset's. 422 for an unknown preset or a negative count.
Status SeedCatalog(db::Database& database, CatalogService& service, const SeedOptions& options,
                   const SeedProgress& progress);

// Gives the count most popular products one photo each, drawn at seed time by libvips
// (media::DrawPicture: a gradient and a disc; nothing downloaded) and uploaded as a seller would,
// so the demo shop shows the photo path; every other product keeps its drawn tile. Returns how many
// were added; an upload the shop refuses is that error.
Result<std::int64_t> SeedPhotos(db::Database& database, CatalogService& service, std::int64_t count,
                                std::uint64_t seed);

}  // namespace emporium::catalog
