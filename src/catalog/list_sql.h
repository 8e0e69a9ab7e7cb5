// The statements behind CatalogService::List, built apart from it so that their query plans can be
// tested: a catalog of 100,000 products is only fast when SQLite walks the right index first.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "catalog/catalog.h"
#include "db/database.h"

namespace emporium::catalog {

// Every product column ReadProduct expects, with p = products and c = categories.
inline constexpr char kProductColumns[] =
    "p.id, p.sku, p.name, p.description, c.slug, c.name, p.tags, p.price_cents, p.currency, p.stock, "
    "p.seller_id, p.image_url, p.attributes, p.popularity, p.archived, p.created_at, p.updated_at";

// Turns free text into an FTS5 query: every word must match, each as a prefix, so "zel bre"
// finds "The Legend of Zelda: Breath of the Wild". Words are quoted: no FTS syntax gets through.
// Empty when the text has no letters or digits.
std::string FtsQuery(std::string_view q);

// The same search as a PostgreSQL tsquery for the emporium_search configuration: every word of
// FtsQuery(q), quoted, as a prefix, all required ("'zel':* & 'bre':*"). Empty when FtsQuery is.
std::string TsQuery(std::string_view q);

struct ListSql {
    std::string count;  // SELECT COUNT(*): the total across pages
    std::string page;   // the page's rows in kProductColumns order; takes params, then LIMIT and OFFSET
    db::Params params;
};

// Builds both statements for query. Promises about their plans (tested in list_sql_test.cpp):
// - a search walks the full-text index once and looks each match up by id, never the reverse
//   (which runs the full-text query once per product: seconds on a short word);
// - the count reads no categories and, for the public filters, no product rows, only an index;
// - a category is turned into its id once, so the (category, archived, price) index applies.
// nullopt when the search text has no letters or digits, so nothing can match.
// On PostgreSQL a search filters on the products_search GIN index and ranks with ts_rank (names
// first, then tags, then descriptions, as bm25's weights do on SQLite).
std::optional<ListSql> BuildListSql(const ProductQuery& query, db::Dialect dialect = db::Dialect::kSqlite);

}  // namespace emporium::catalog
