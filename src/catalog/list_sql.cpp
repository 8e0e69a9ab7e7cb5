#include "catalog/list_sql.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <utility>

namespace emporium::catalog {

namespace {

struct Range {
    char32_t first;
    char32_t last;
};

constexpr Range kSeparators[] = {
#include "catalog/fts_separators.inc"
};

constexpr char32_t kInvalid = 0xFFFFFFFF;

// The code point at the start of text and its length in bytes; kInvalid (one byte) for anything
// that is not well-formed UTF-8: overlong forms, surrogates, past U+10FFFF, cut short.
std::pair<char32_t, std::size_t> DecodeUtf8(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(0);
    if (lead < 0x80) return {lead, 1};
    std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    if (length == 0 || length > text.size()) return {kInvalid, 1};
    char32_t cp = lead & (0x7F >> length);
    for (std::size_t i = 1; i < length; ++i) {
        if ((byte(i) & 0xC0) != 0x80) return {kInvalid, 1};
        cp = (cp << 6) | (byte(i) & 0x3F);
    }
    constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kSmallest[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {kInvalid, 1};
    return {cp, length};
}

// Combining accents that the tokenizer folds away ("é" typed as e + U+0301 is the word "e"):
// they do not count towards the two characters of a prefix.
bool IsFoldedAccent(char32_t cp) {
    return cp >= 0x300 && cp <= 0x36F;
}

}  // namespace

bool IsFtsSeparator(char32_t cp) {
    const Range* it = std::upper_bound(std::begin(kSeparators), std::end(kSeparators), cp,
                                       [](char32_t value, const Range& r) { return value < r.first; });
    return it != std::begin(kSeparators) && cp <= std::prev(it)->last;
}

std::vector<SearchWord> SearchWords(std::string_view q) {
    std::vector<SearchWord> words;
    std::string word;
    std::size_t characters = 0;
    auto flush = [&] {
        const bool known = std::any_of(words.begin(), words.end(), [&](const SearchWord& w) { return w.text == word; });
        if (characters > 0 && !known && words.size() < kMaxSearchWords) words.push_back({word, characters >= 2});
        word.clear();
        characters = 0;
    };
    for (std::size_t i = 0; i < q.size();) {
        const auto [cp, length] = DecodeUtf8(q.substr(i));
        if (cp < 0x80 && std::isalnum(static_cast<int>(cp))) {
            word += static_cast<char>(std::tolower(static_cast<int>(cp)));
            ++characters;
        } else if (cp >= 0x80 && cp != kInvalid && !IsFtsSeparator(cp)) {
            word.append(q.substr(i, length));
            if (!IsFoldedAccent(cp)) ++characters;
        } else {
            flush();
        }
        i += length;
    }
    flush();
    return words;
}

std::string FtsQuery(std::string_view q) {
    std::string out;
    for (const SearchWord& w : SearchWords(q)) {
        if (!out.empty()) out += ' ';
        out += '"';
        out += w.text;
        out += w.prefix ? "\"*" : "\"";
    }
    return out;
}

std::string TsQuery(std::string_view q) {
    std::string out;
    for (const SearchWord& w : SearchWords(q)) {  // words hold no quotes, backslashes or spaces
        if (!out.empty()) out += " & ";
        out += '\'';
        out += w.text;
        out += w.prefix ? "':*" : "'";
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
    if (search) {
        // Counting stops past the limit: the walk over a common word's matches ends there.
        sql.count_limit = kSearchCountLimit;
        sql.count = "SELECT COUNT(*) FROM (SELECT 1" + from + where + " LIMIT " +
                    std::to_string(kSearchCountLimit + 1) + ") AS matches";
    } else {
        sql.count = "SELECT COUNT(*)" + from + where;
    }
    // Categories are looked up per product shown, never walked first (ten categories first would
    // mean ten passes over the products or the full-text index).
    const char* categories =
        postgres ? " JOIN categories c ON c.id = p.category_id" : " CROSS JOIN categories c ON c.id = p.category_id";
    sql.page = std::string("SELECT ") + kProductColumns + from + categories + where + order + " LIMIT ? OFFSET ?";
    return sql;
}

}  // namespace emporium::catalog
