#include "catalog/list_sql.h"

#include <cctype>

namespace emporium::catalog {

std::string FtsQuery(std::string_view q) {
    std::string out;
    std::string word;
    auto flush = [&] {
        if (word.empty()) return;
        if (!out.empty()) out += ' ';
        out += '"';
        out += word;
        out += "\"*";
        word.clear();
    };
    for (char ch : q) {
        auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c >= 0x80) {
            word += static_cast<char>(c < 0x80 ? std::tolower(c) : c);
        } else {
            flush();
        }
    }
    flush();
    return out;
}

std::string TsQuery(std::string_view q) {
    const std::string fts_query = FtsQuery(q);
    const std::string_view fts = fts_query;
    std::string out;
    // FtsQuery gives "word"* terms separated by spaces; words hold no quotes or spaces.
    for (std::size_t start = 0; start < fts.size();) {
        std::size_t end = fts.find(' ', start);
        if (end == std::string_view::npos) end = fts.size();
        const std::string_view term = fts.substr(start, end - start);
        if (!out.empty()) out += " & ";
        out += '\'';
        out += term.substr(1, term.size() - 3);
        out += "':*";
        start = end + 1;
    }
    return out;
}

std::optional<ListSql> BuildListSql(const ProductQuery& query, db::Dialect dialect) {
    ListSql sql;
    const bool postgres = dialect == db::Dialect::kPostgres;
    const bool search = !query.q.empty();
    std::string match = search ? (postgres ? TsQuery(query.q) : FtsQuery(query.q)) : std::string();
    if (search && match.empty()) return std::nullopt;
    // CROSS JOIN keeps the full-text index as the outer loop: SQLite never reorders it.
    std::string from = search ? " FROM products_fts f CROSS JOIN products p ON p.id = f.rowid" : " FROM products p";
    // PostgreSQL parses the query once, in FROM, for both the filter and the rank.
    if (postgres && search) from = " FROM products p CROSS JOIN to_tsquery('emporium_search', ?) AS tsq";
    std::string where = " WHERE p.archived = 0";
    if (search) {
        where += postgres ? " AND p.search @@ tsq" : " AND products_fts MATCH ?";
        sql.params.emplace_back(std::move(match));
    }
    if (!query.category.empty()) {
        // An unknown slug gives NULL, which matches nothing.
        where += " AND p.category_id = (SELECT id FROM categories WHERE slug = ?)";
        sql.params.emplace_back(query.category);
    }
    if (query.min_price) {
        where += " AND p.price_cents >= ?";
        sql.params.emplace_back(*query.min_price);
    }
    if (query.max_price) {
        where += " AND p.price_cents <= ?";
        sql.params.emplace_back(*query.max_price);
    }
    if (query.seller_id) {
        where += " AND p.seller_id = ?";
        sql.params.emplace_back(*query.seller_id);
    }
    std::string order;
    switch (query.sort) {
        case Sort::kRelevance:
            order = search ? " ORDER BY bm25(products_fts, 10.0, 1.0, 4.0), p.popularity DESC, p.id"
                           : " ORDER BY p.popularity DESC, p.id";
            // Weights for D, C (description), B (tags), A (name).
            if (postgres && search) {
                order = " ORDER BY ts_rank('{0.1, 0.1, 0.4, 1.0}', p.search, tsq) DESC, p.popularity DESC, p.id";
            }
            break;
        case Sort::kPriceAsc:
            order = " ORDER BY p.price_cents, p.id";
            break;
        case Sort::kPriceDesc:
            order = " ORDER BY p.price_cents DESC, p.id";
            break;
        case Sort::kNewest:
            order = " ORDER BY p.created_at DESC, p.id DESC";
            break;
        case Sort::kPopular:
            order = " ORDER BY p.popularity DESC, p.id";
            break;
    }
    sql.count = "SELECT COUNT(*)" + from + where;
    // Categories are looked up per product shown, never walked first (ten categories first would
    // mean ten passes over the products or the full-text index).
    const char* categories =
        postgres ? " JOIN categories c ON c.id = p.category_id" : " CROSS JOIN categories c ON c.id = p.category_id";
    sql.page = std::string("SELECT ") + kProductColumns + from + categories + where + order + " LIMIT ? OFFSET ?";
    return sql;
}

}  // namespace emporium::catalog
