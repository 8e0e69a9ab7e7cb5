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

std::optional<ListSql> BuildListSql(const ProductQuery& query) {
    ListSql sql;
    const bool search = !query.q.empty();
    std::string match = search ? FtsQuery(query.q) : std::string();
    if (search && match.empty()) return std::nullopt;
    // CROSS JOIN keeps the full-text index as the outer loop: SQLite never reorders it.
    const std::string from =
        search ? " FROM products_fts f CROSS JOIN products p ON p.id = f.rowid" : " FROM products p";
    std::string where = " WHERE p.archived = 0";
    if (search) {
        where += " AND products_fts MATCH ?";
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
    sql.page = std::string("SELECT ") + kProductColumns + from + " CROSS JOIN categories c ON c.id = p.category_id" +
               where + order + " LIMIT ? OFFSET ?";
    return sql;
}

}  // namespace emporium::catalog
