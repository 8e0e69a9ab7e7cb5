#include "catalog/catalog.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <mutex>
#include <unordered_map>

#include "catalog/list_sql.h"
#include "catalog/product_image.h"
#include "catalog/search_index.h"
#include "core/text.h"
#include "events/outbox.h"

namespace emporium::catalog {
namespace {

constexpr std::int64_t kMaxPriceCents = 100'000'000;  // one million in major units
constexpr std::int64_t kMaxStock = 10'000'000;
constexpr std::size_t kMaxQueryLength = 200;

std::vector<std::string> TagsFromJson(std::string_view text) {
    std::vector<std::string> tags;
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    if (ec || !v.is_array()) return tags;
    for (const auto& item : v.as_array()) {
        if (item.is_string()) tags.emplace_back(item.as_string());
    }
    return tags;
}

std::string TagsToJson(const std::vector<std::string>& tags) {
    boost::json::array a;
    for (const auto& t : tags) a.emplace_back(t);
    return boost::json::serialize(a);
}

Product ReadProduct(const db::Row& r) {
    Product p;
    p.id = r.Int(0);
    p.sku = r.Text(1);
    p.name = r.Text(2);
    p.description = r.Text(3);
    p.category = r.Text(4);
    p.category_name = r.Text(5);
    p.tags = TagsFromJson(r.Text(6));
    p.price_cents = r.Int(7);
    p.currency = r.Text(8);
    p.stock = r.Int(9);
    p.seller_id = r.Int(10);
    p.image_url = ProductImageAddress(p.id, r.Text(11), p.name, p.category, p.category_name);
    p.attributes_json = r.Text(12);
    p.popularity = r.Int(13);
    p.archived = r.Int(14) != 0;
    p.created_at = r.Int(15);
    p.updated_at = r.Int(16);
    return p;
}

// Gives each product its images (one query for the whole page).
void AttachImages(db::Connection& c, std::vector<Product>& products) {
    std::vector<std::int64_t> ids;
    ids.reserve(products.size());
    for (const Product& p : products) ids.push_back(p.id);
    for (ProductImage& image : ReadImages(c, ids)) {
        auto it =
            std::find_if(products.begin(), products.end(), [&](const Product& p) { return p.id == image.product_id; });
        if (it != products.end()) it->images.push_back(std::move(image));
    }
}

std::optional<std::int64_t> ParseInt(std::string_view text) {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

bool IsSkuChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

bool HasControlChars(std::string_view s, bool allow_newlines) {
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == 0x7f || (c < 0x20 && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t')))) return true;
    }
    return false;
}

// Length in characters (code points) of valid UTF-8.
std::size_t Utf8Length(std::string_view s) {
    std::size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80 ? 1 : 0;
    return n;
}

}  // namespace

std::string ProductQuery::CacheKey() const {
    std::string key = "q=" + q +
                      "\x1f"
                      "c=" +
                      category +
                      "\x1f"
                      "min=";
    if (min_price) key += std::to_string(*min_price);
    key +=
        "\x1f"
        "max=";
    if (max_price) key += std::to_string(*max_price);
    key +=
        "\x1f"
        "s=" +
        std::to_string(static_cast<int>(sort)) +
        "\x1f"
        "p=" +
        std::to_string(page) +
        "\x1f"
        "n=" +
        std::to_string(per_page);
    return key;
}

Result<ProductQuery> ParseProductQuery(const std::vector<std::pair<std::string, std::string>>& params) {
    ProductQuery query;
    std::vector<FieldError> errors;
    std::optional<std::string> sort_text;
    auto integer = [&](const std::string& field, const std::string& value, std::int64_t min,
                       std::int64_t max) -> std::optional<std::int64_t> {
        auto v = ParseInt(value);
        if (!v) {
            errors.push_back({field, "must be a whole number"});
        } else if (*v < min || *v > max) {
            errors.push_back({field, "must be between " + std::to_string(min) + " and " + std::to_string(max)});
            v.reset();
        }
        return v;
    };
    for (const auto& [key, value] : params) {
        if (key == "q") {
            if (!IsValidUtf8(value) || HasControlChars(value, false)) {
                errors.push_back({"q", "must be text"});
            } else if (Utf8Length(value) > kMaxQueryLength) {
                errors.push_back({"q", "must be at most 200 characters"});
            } else {
                query.q = value;
                while (!query.q.empty() && query.q.back() == ' ') query.q.pop_back();
                while (!query.q.empty() && query.q.front() == ' ') query.q.erase(0, 1);
            }
        } else if (key == "category") {
            if (!value.empty() && !std::all_of(value.begin(), value.end(), [](char c) {
                    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
                           c == '-';
                })) {
                errors.push_back({"category", "must be a category slug"});
            } else {
                query.category = value;
            }
        } else if (key == "min_price") {
            if (!value.empty()) query.min_price = integer("min_price", value, 0, kMaxPriceCents);
        } else if (key == "max_price") {
            if (!value.empty()) query.max_price = integer("max_price", value, 0, kMaxPriceCents);
        } else if (key == "page") {
            if (auto v = integer("page", value, 1, 1'000'000)) query.page = *v;
        } else if (key == "per_page") {
            auto v = ParseInt(value);
            if (!v || *v < 1) {
                errors.push_back({"per_page", "must be a whole number from 1"});
            } else {
                query.per_page = std::min(*v, kMaxPerPage);
            }
        } else if (key == "sort") {
            sort_text = value;
        }
    }
    if (query.min_price && query.max_price && *query.min_price > *query.max_price) {
        errors.push_back({"max_price", "must not be below min_price"});
    }
    if (sort_text && !sort_text->empty()) {
        const std::string& s = *sort_text;
        if (s == "relevance")
            query.sort = query.q.empty() ? Sort::kPopular : Sort::kRelevance;
        else if (s == "price_asc")
            query.sort = Sort::kPriceAsc;
        else if (s == "price_desc")
            query.sort = Sort::kPriceDesc;
        else if (s == "newest")
            query.sort = Sort::kNewest;
        else if (s == "popular")
            query.sort = Sort::kPopular;
        else
            errors.push_back({"sort", "must be one of relevance, price_asc, price_desc, newest, popular"});
    } else {
        query.sort = query.q.empty() ? Sort::kPopular : Sort::kRelevance;
    }
    if (!errors.empty()) return Error::Validation(std::move(errors));
    return query;
}

std::optional<StoreProfile> PresetProfile(std::string_view preset) {
    StoreProfile p;
    if (preset == "games") {
        p.preset = "games";
        p.name = "Git Goods";
        p.tagline = "Games, consoles and gear for every kind of player";
        p.logo_text = "GIT GOODS";
        p.dark = true;
        p.primary = "#7c4dff";
        p.secondary = "#00e5ff";
        p.accent = "#ff4081";
        p.background = "#0f1020";
        p.surface = "#1b1d33";
        return p;
    }
    if (preset == "grocery") {
        p.preset = "grocery";
        p.name = "GoMart";
        p.tagline = "Fresh groceries delivered to your door";
        p.logo_text = "GoMart";
        p.dark = false;
        p.primary = "#2e7d32";
        p.secondary = "#f9a825";
        p.accent = "#ef6c00";
        p.background = "#f6f8f3";
        p.surface = "#ffffff";
        return p;
    }
    return std::nullopt;
}

std::vector<db::Migration> Migrations(db::Dialect dialect) {
    std::vector<db::Migration> out;
    out.push_back({"catalog", 1,
                   "CREATE TABLE categories (" + db::IdColumn(dialect) +
                       ", slug TEXT NOT NULL UNIQUE, name TEXT NOT NULL, position INTEGER NOT NULL DEFAULT 0);"
                       "CREATE TABLE products (" +
                       db::IdColumn(dialect) +
                       ", sku TEXT NOT NULL UNIQUE, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',"
                       " category_id BIGINT NOT NULL REFERENCES categories(id), tags TEXT NOT NULL DEFAULT '[]',"
                       " price_cents BIGINT NOT NULL CHECK (price_cents >= 0), currency TEXT NOT NULL DEFAULT 'USD',"
                       " stock BIGINT NOT NULL CHECK (stock >= 0), seller_id BIGINT NOT NULL,"
                       " image_url TEXT NOT NULL DEFAULT '', attributes TEXT NOT NULL DEFAULT '{}',"
                       " popularity BIGINT NOT NULL DEFAULT 0, archived INTEGER NOT NULL DEFAULT 0,"
                       " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
                       "CREATE INDEX products_category_price ON products (category_id, archived, price_cents);"
                       "CREATE INDEX products_price ON products (archived, price_cents);"
                       "CREATE INDEX products_newest ON products (archived, created_at);"
                       "CREATE INDEX products_popular ON products (archived, popularity);"
                       "CREATE INDEX products_seller ON products (seller_id);"
                       "CREATE TABLE shop_profile (id INTEGER PRIMARY KEY CHECK (id = 1), profile TEXT NOT NULL);"});
    if (dialect == db::Dialect::kSqlite) {
        // An external-content FTS5 index kept in step by triggers; stock and price updates do not
        // touch it.
        out.push_back(
            {"catalog", 2,
             std::string("CREATE VIRTUAL TABLE products_fts USING fts5(name, description, tags,"
                         " content='products', content_rowid='id', tokenize='") +
                 kFtsTokenizer +
                 "', prefix='2 3');"
                 "CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN"
                 " INSERT INTO products_fts (rowid, name, description, tags)"
                 " VALUES (new.id, new.name, new.description, new.tags); END;"
                 "CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN"
                 " INSERT INTO products_fts (products_fts, rowid, name, description, tags)"
                 " VALUES ('delete', old.id, old.name, old.description, old.tags); END;"
                 "CREATE TRIGGER products_fts_update AFTER UPDATE OF name, description, tags ON products BEGIN"
                 " INSERT INTO products_fts (products_fts, rowid, name, description, tags)"
                 " VALUES ('delete', old.id, old.name, old.description, old.tags);"
                 " INSERT INTO products_fts (rowid, name, description, tags)"
                 " VALUES (new.id, new.name, new.description, new.tags); END;"});
    } else {
        // A generated tsvector (name weighted A, tags B, description C) under a GIN index. The
        // configuration splits words like PostgreSQL's "simple" one (no stemming, lower case) and
        // drops accents from words with non-ASCII letters, as FTS5's remove_diacritics does.
        out.push_back({"catalog", 2,
                       "CREATE EXTENSION IF NOT EXISTS unaccent;"
                       "CREATE TEXT SEARCH CONFIGURATION emporium_search (COPY = simple);"
                       "ALTER TEXT SEARCH CONFIGURATION emporium_search"
                       " ALTER MAPPING FOR word, hword, hword_part WITH unaccent, simple;"
                       "ALTER TABLE products ADD COLUMN search tsvector GENERATED ALWAYS AS ("
                       " setweight(to_tsvector('emporium_search', name), 'A') ||"
                       " setweight(to_tsvector('emporium_search', tags), 'B') ||"
                       " setweight(to_tsvector('emporium_search', description), 'C')) STORED;"
                       "CREATE INDEX products_search ON products USING GIN (search);"});
    }
    // Product photos and their variants' bytes, in the database on both dialects (images.h).
    out.push_back({"catalog", 3, ImageTablesSql(dialect)});
    if (dialect == db::Dialect::kSqlite) {
        // What search_index.h needs: a version that changes, in the same transaction, with every
        // change a search can see (a random one, so that a restored backup never repeats a version
        // the copy was built at with other rows), and the index's tokens as rows. Stock and photos
        // do not count: a search's page reads them from the products themselves.
        const char* bump = " BEGIN UPDATE catalog_search_version SET version = random() WHERE id = 1; END;";
        out.push_back(
            {"catalog", 4,
             std::string("CREATE TABLE catalog_search_version (id INTEGER PRIMARY KEY CHECK (id = 1),"
                         " version INTEGER NOT NULL);"
                         "INSERT INTO catalog_search_version (id, version) VALUES (1, random());"
                         "CREATE VIRTUAL TABLE products_fts_instance USING fts5vocab(products_fts, 'instance');"
                         "CREATE TRIGGER products_search_insert AFTER INSERT ON products") +
                 bump + "CREATE TRIGGER products_search_delete AFTER DELETE ON products" + bump +
                 "CREATE TRIGGER products_search_update AFTER UPDATE OF id, name, description, tags,"
                 " category_id, price_cents, seller_id, popularity, archived, created_at ON products" +
                 bump + "CREATE TRIGGER categories_search_insert AFTER INSERT ON categories" + bump +
                 "CREATE TRIGGER categories_search_delete AFTER DELETE ON categories" + bump +
                 "CREATE TRIGGER categories_search_update AFTER UPDATE OF id, slug ON categories" + bump});
    }
    return out;
}

CatalogService::CatalogService(db::Database& database, const Clock& clock, std::chrono::milliseconds query_budget)
    : database_(database),
      clock_(clock),
      query_budget_(query_budget),
      images_(database, clock, [this](std::int64_t id) { Notify(id); }) {}

CatalogService::~CatalogService() = default;

// Products recently shown by searches, with their photos, for pages made from memory. Bounded:
// emptied when full.
struct CatalogService::ShownProducts {
    static constexpr std::size_t kMaxProducts = 4096;
    std::mutex mutex;
    struct Shown {
        Product product;
        std::chrono::steady_clock::time_point read_at;
    };
    std::unordered_map<std::int64_t, Shown> products;  // guarded by mutex
};

void CatalogService::KeepSearchIndex() {
    if (database_.dialect() == db::Dialect::kSqlite && !search_index_) {
        shown_ = std::make_unique<ShownProducts>();
        search_index_ = std::make_unique<SearchIndexKeeper>(database_);
    }
}

template <typename F>
auto CatalogService::ReadWithinBudget(F&& fn) -> Result<std::invoke_result_t<F, db::Connection&>> {
    try {
        return database_.Read([&](db::Connection& c) {
            db::DeadlineScope deadline(c, query_budget_);
            return fn(c);
        });
    } catch (const db::DbError& e) {
        if (e.kind() != db::DbError::Kind::kTimeout) throw;
        // The shop ran out of time for this read: the same query may well answer when it is less
        // busy, so 503 (try again) rather than 422 (the request itself is wrong).
        return Error{ErrorKind::kUnavailable,
                     "query_timeout",
                     "This search took too long to answer; try more specific words or filters.",
                     {}};
    }
}

Result<std::vector<Category>> CatalogService::Categories() {
    return ReadWithinBudget([](db::Connection& c) {
        std::vector<Category> out;
        c.Query(
            "SELECT c.id, c.slug, c.name,"
            " (SELECT COUNT(*) FROM products p WHERE p.category_id = c.id AND p.archived = 0)"
            " FROM categories c ORDER BY c.position, c.name",
            {}, [&](const db::Row& r) {
                out.push_back({r.Int(0), std::string(r.Text(1)), std::string(r.Text(2)), r.Int(3)});
            });
        return out;
    });
}

Result<ProductPage> CatalogService::List(const ProductQuery& query) {
    ProductPage page;
    page.page = query.page;
    page.per_page = query.per_page;
    const std::optional<ListSql> sql = BuildListSql(query, database_.dialect());
    if (!sql) return page;  // no word to search for: nothing can match
    const bool from_copy = search_index_ != nullptr;
    const std::uint64_t notices_before = from_copy ? search_index_->notices() : 0;  // before the transaction
    return ReadWithinBudget([&](db::Connection& c) {
        if (from_copy) {
            // The copy in memory, when it was built at the version this transaction sees.
            std::shared_ptr<const SearchIndex> index = search_index_->At(ReadSearchVersion(c), notices_before);
            std::optional<SearchHits> hits = index ? index->Search(query) : std::nullopt;
            if (hits) {
                page.items = ReadProducts(c, hits->ids);
                page.total = hits->total;
                page.total_exact = hits->total_exact;
                AttachImages(c, page.items);
                Remember(page.items, notices_before);
                return page;
            }
        }
        const std::int64_t offset = (query.page - 1) * query.per_page;
        db::Params paged = sql->params;
        paged.emplace_back(query.per_page);
        paged.emplace_back(offset);
        c.Query(sql->page, paged, [&](const db::Row& r) { page.items.push_back(ReadProduct(r)); });
        // A page that is not full is the last: it says the total itself (both statements see one
        // snapshot and the same rows), which spares a search its second walk over the full-text
        // index, about half of what a search that fits on one page costs.
        const auto shown = static_cast<std::int64_t>(page.items.size());
        if (shown < query.per_page && (shown > 0 || offset == 0)) {
            page.total = offset + shown;
        } else {
            page.total = c.QueryInt(sql->count, sql->params);
        }
        if (sql->count_limit > 0 && page.total > sql->count_limit) {
            page.total = sql->count_limit;
            page.total_exact = false;
        }
        AttachImages(c, page.items);
        return page;
    });
}

Result<Product> CatalogService::Get(std::int64_t id) {
    Result<std::optional<Product>> found = ReadWithinBudget([&](db::Connection& c) {
        std::optional<Product> product;
        c.Query(std::string("SELECT ") + kProductColumns +
                    " FROM products p JOIN categories c ON c.id = p.category_id WHERE p.id = ? AND p.archived = 0",
                {id}, [&](const db::Row& r) { product = ReadProduct(r); });
        if (product) {
            product->images = ReadImages(c, {id});
        }
        return product;
    });
    if (!found.ok()) return found.error();
    if (!*found) return Error::NotFound("There is no product " + std::to_string(id) + ".");
    return std::move(**found);
}

std::vector<FieldError> CatalogService::Validate(const ProductDraft& d, bool creating, db::Connection& c,
                                                 std::int64_t* category_id) {
    std::vector<FieldError> errors;
    auto required = [&](bool present, const char* field) {
        if (creating && !present) errors.push_back({field, "is required"});
        return present;
    };
    if (required(d.sku.has_value(), "sku")) {
        if (d.sku->empty() || d.sku->size() > 64 || !std::all_of(d.sku->begin(), d.sku->end(), IsSkuChar)) {
            errors.push_back({"sku", "must be 1 to 64 letters, digits, '-', '_' or '.'"});
        }
    }
    if (required(d.name.has_value(), "name")) {
        if (auto e = CheckPlainText("name", *d.name, 200)) errors.push_back(std::move(*e));
    }
    if (d.description && !d.description->empty()) {
        if (auto e = CheckPlainText("description", *d.description, 10000, /*multiline=*/true)) {
            errors.push_back(std::move(*e));
        }
    }
    if (required(d.category.has_value(), "category")) {
        std::int64_t id = c.QueryInt("SELECT id FROM categories WHERE slug = ?", {*d.category}, 0);
        if (id == 0) errors.push_back({"category", "is not a known category slug"});
        *category_id = id;
    }
    if (d.tags) {
        if (d.tags->size() > 20) errors.push_back({"tags", "must hold at most 20 tags"});
        for (const std::string& t : *d.tags) {
            if (t.empty() || Utf8Length(t) > 40 || HasControlChars(t, false)) {
                errors.push_back({"tags", "each tag must be 1 to 40 characters of text"});
                break;
            }
        }
    }
    if (required(d.price_cents.has_value(), "price_cents")) {
        if (*d.price_cents < 0 || *d.price_cents > kMaxPriceCents) {
            errors.push_back({"price_cents", "must be between 0 and " + std::to_string(kMaxPriceCents)});
        }
    }
    if (d.currency && (d.currency->size() != 3 || !std::all_of(d.currency->begin(), d.currency->end(),
                                                               [](char ch) { return ch >= 'A' && ch <= 'Z'; }))) {
        errors.push_back({"currency", "must be an ISO 4217 code such as USD"});
    }
    if (required(d.stock.has_value(), "stock")) {
        if (*d.stock < 0 || *d.stock > kMaxStock) {
            errors.push_back({"stock", "must be between 0 and " + std::to_string(kMaxStock)});
        }
    }
    if (d.image_url && !d.image_url->empty()) {
        const std::string& u = *d.image_url;
        bool ok = u.size() <= 500 && !HasControlChars(u, false) && u.find_first_of(" \"'<>\\") == std::string::npos &&
                  (u.starts_with("https://") || (u.starts_with("/") && !u.starts_with("//")));
        if (!ok) errors.push_back({"image_url", "must be an https:// address or a path on this site"});
    }
    if (d.attributes_json && d.attributes_json->size() > 4096) {
        errors.push_back({"attributes", "must be at most 4096 bytes as JSON"});
    }
    return errors;
}

namespace {

// The product.changed event, written in the change's own transaction.
void AppendChanged(db::Connection& c, std::int64_t product_id, std::int64_t seller_id, std::string_view change,
                   std::int64_t now) {
    events::Append(c, "product.changed", std::to_string(product_id),
                   "{\"product_id\":" + std::to_string(product_id) + ",\"seller_id\":" + std::to_string(seller_id) +
                       ",\"change\":\"" + std::string(change) + "\"}",
                   now);
}

}  // namespace

Result<Product> CatalogService::Create(const ProductDraft& draft, std::int64_t seller_id) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    Result<std::int64_t> created = [&]() -> Result<std::int64_t> {
        try {
            return database_.Write([&](db::Connection& c) -> Result<std::int64_t> {
                std::int64_t category_id = 0;
                std::vector<FieldError> errors = Validate(draft, /*creating=*/true, c, &category_id);
                if (!errors.empty()) return Error::Validation(std::move(errors));
                if (c.QueryInt("SELECT COUNT(*) FROM products WHERE sku = ?", {*draft.sku}) > 0) {
                    return Error::Conflict("duplicate_sku", "Another product has the SKU " + *draft.sku + ".");
                }
                std::int64_t id = c.QueryInt(
                    "INSERT INTO products (sku, name, description, category_id, tags, price_cents, currency, stock,"
                    " seller_id, image_url, attributes, popularity, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id",
                    {*draft.sku, *draft.name, draft.description.value_or(""), category_id,
                     TagsToJson(draft.tags.value_or(std::vector<std::string>{})), *draft.price_cents,
                     draft.currency.value_or("USD"), *draft.stock, seller_id, draft.image_url.value_or(""),
                     draft.attributes_json.value_or("{}"), now, now});
                AppendChanged(c, id, seller_id, "created", now);
                return id;
            });
        } catch (const db::DbError& e) {
            if (e.kind() != db::DbError::Kind::kConstraint) throw;
            return Error::Conflict("duplicate_sku", "Another product has the SKU " + draft.sku.value_or("") + ".");
        }
    }();
    if (!created.ok()) return created.error();
    Notify(created.value());
    return Get(created.value());
}

Result<Product> CatalogService::Update(std::int64_t id, const ProductDraft& draft,
                                       std::optional<std::int64_t> only_seller) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    Status updated = [&]() -> Status {
        try {
            return database_.Write([&](db::Connection& c) -> Status {
                if (c.QueryInt("SELECT COUNT(*) FROM products WHERE id = ? AND archived = 0 AND (CAST(? AS BIGINT) IS "
                               "NULL OR seller_id = ?)",
                               {id, only_seller ? db::Value(*only_seller) : db::Value(nullptr),
                                only_seller ? db::Value(*only_seller) : db::Value(nullptr)}) == 0) {
                    return Error::NotFound("There is no product " + std::to_string(id) + ".");
                }
                std::int64_t category_id = 0;
                std::vector<FieldError> errors = Validate(draft, /*creating=*/false, c, &category_id);
                if (!errors.empty()) return Error::Validation(std::move(errors));
                if (draft.sku &&
                    c.QueryInt("SELECT COUNT(*) FROM products WHERE sku = ? AND id <> ?", {*draft.sku, id}) > 0) {
                    return Error::Conflict("duplicate_sku", "Another product has the SKU " + *draft.sku + ".");
                }
                // COALESCE keeps the stored value for every field the draft leaves out.
                auto opt = [](const auto& o) -> db::Value {
                    if (!o) return nullptr;
                    return db::Value(*o);
                };
                c.Execute(
                    "UPDATE products SET sku = COALESCE(?, sku), name = COALESCE(?, name),"
                    " description = COALESCE(?, description), category_id = COALESCE(?, category_id),"
                    " tags = COALESCE(?, tags), price_cents = COALESCE(?, price_cents),"
                    " currency = COALESCE(?, currency), stock = COALESCE(?, stock),"
                    " image_url = COALESCE(?, image_url), attributes = COALESCE(?, attributes), updated_at = ?"
                    " WHERE id = ?",
                    {opt(draft.sku), opt(draft.name), opt(draft.description),
                     draft.category ? db::Value(category_id) : db::Value(nullptr),
                     draft.tags ? db::Value(TagsToJson(*draft.tags)) : db::Value(nullptr), opt(draft.price_cents),
                     opt(draft.currency), opt(draft.stock), opt(draft.image_url), opt(draft.attributes_json), now, id});
                AppendChanged(c, id, c.QueryInt("SELECT seller_id FROM products WHERE id = ?", {id}), "updated", now);
                return Ok{};
            });
        } catch (const db::DbError& e) {
            if (e.kind() != db::DbError::Kind::kConstraint) throw;
            return Error::Conflict("duplicate_sku", "Another product has the SKU " + draft.sku.value_or("") + ".");
        }
    }();
    if (!updated.ok()) return updated.error();
    Notify(id);
    return Get(id);
}

Status CatalogService::Archive(std::int64_t id, std::optional<std::int64_t> only_seller) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    const db::Value seller = only_seller ? db::Value(*only_seller) : db::Value(nullptr);
    std::int64_t changed = database_.Write([&](db::Connection& c) {
        std::int64_t n = c.Execute(
            "UPDATE products SET archived = 1, updated_at = ? WHERE id = ? AND archived = 0 AND (CAST(? AS BIGINT) IS "
            "NULL OR "
            "seller_id = ?)",
            {now, id, seller, seller});
        if (n > 0)
            AppendChanged(c, id, c.QueryInt("SELECT seller_id FROM products WHERE id = ?", {id}), "archived", now);
        return n;
    });
    if (changed == 0) return Error::NotFound("There is no product " + std::to_string(id) + ".");
    Notify(id);
    return Ok{};
}

StoreProfile CatalogService::Store() {
    std::string text;
    database_.Read([&](db::Connection& c) {
        c.Query("SELECT profile FROM shop_profile WHERE id = 1", {}, [&](const db::Row& r) { text = r.Text(0); });
    });
    StoreProfile p = *PresetProfile("games");
    if (text.empty()) return p;
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) return p;
    const auto& o = v.as_object();
    auto str = [&](const char* key, std::string& field) {
        if (auto it = o.find(key); it != o.end() && it->value().is_string()) field = it->value().as_string();
    };
    str("preset", p.preset);
    str("name", p.name);
    str("tagline", p.tagline);
    str("logo_text", p.logo_text);
    str("currency", p.currency);
    str("primary", p.primary);
    str("secondary", p.secondary);
    str("accent", p.accent);
    str("background", p.background);
    str("surface", p.surface);
    if (auto it = o.find("dark"); it != o.end() && it->value().is_bool()) p.dark = it->value().as_bool();
    return p;
}

void CatalogService::SetStore(const StoreProfile& p) {
    boost::json::object o{{"preset", p.preset},         {"name", p.name},           {"tagline", p.tagline},
                          {"logo_text", p.logo_text},   {"currency", p.currency},   {"dark", p.dark},
                          {"primary", p.primary},       {"secondary", p.secondary}, {"accent", p.accent},
                          {"background", p.background}, {"surface", p.surface}};
    std::string text = boost::json::serialize(o);
    database_.Write([&](db::Connection& c) {
        c.Execute("DELETE FROM shop_profile WHERE id = 1");
        c.Execute("INSERT INTO shop_profile (id, profile) VALUES (1, ?)", {text});
    });
}

void CatalogService::OnProductChanged(std::function<void(std::int64_t)> listener) {
    listeners_.push_back(std::move(listener));
}

void CatalogService::Notify(std::int64_t id) {
    if (search_index_) {
        search_index_->Suspect();
        std::lock_guard lock(shown_->mutex);
        if (id == 0) {
            shown_->products.clear();
        } else {
            shown_->products.erase(id);
        }
    }
    for (auto& listener : listeners_) listener(id);
}

void CatalogService::Remember(const std::vector<Product>& products, std::uint64_t notices_before) {
    std::lock_guard lock(shown_->mutex);
    // A notice since the rows were read may be about one of them: they are not kept.
    if (search_index_->notices() != notices_before) return;
    if (shown_->products.size() + products.size() > ShownProducts::kMaxProducts) shown_->products.clear();
    const auto now = std::chrono::steady_clock::now();
    for (const Product& p : products) shown_->products.insert_or_assign(p.id, ShownProducts::Shown{p, now});
}

std::optional<ProductPage> CatalogService::ListFromMemory(const ProductQuery& query) {
    if (!search_index_) return std::nullopt;
    std::shared_ptr<const SearchIndex> index = search_index_->Trusted(kMemoryFreshness);
    std::optional<SearchHits> hits = index ? index->Search(query, kMaxPostingsFromMemory) : std::nullopt;
    if (!hits) return std::nullopt;
    ProductPage page;
    page.page = query.page;
    page.per_page = query.per_page;
    page.total = hits->total;
    page.total_exact = hits->total_exact;
    page.items.reserve(hits->ids.size());
    const auto oldest = std::chrono::steady_clock::now() - kMemoryFreshness;
    std::lock_guard lock(shown_->mutex);
    for (std::int64_t id : hits->ids) {
        auto it = shown_->products.find(id);
        if (it == shown_->products.end() || it->second.read_at < oldest) return std::nullopt;
        page.items.push_back(it->second.product);
    }
    return page;
}

}  // namespace emporium::catalog

namespace emporium::catalog {

std::vector<StockLine> ReadStock(db::Connection& c, const std::vector<std::int64_t>& product_ids) {
    std::vector<StockLine> out;
    for (std::int64_t id : product_ids) {
        c.Query(
            "SELECT p.id, p.name, p.price_cents, p.currency, p.stock, p.seller_id, p.archived, p.category_id,"
            " p.image_url, c.slug, c.name FROM products p JOIN categories c ON c.id = p.category_id WHERE p.id = ?",
            {id}, [&](const db::Row& r) {
                out.push_back({r.Int(0), std::string(r.Text(1)), r.Int(2), std::string(r.Text(3)), r.Int(4), r.Int(5),
                               r.Int(6) != 0, r.Int(7),
                               ProductImageAddress(r.Int(0), r.Text(8), r.Text(1), r.Text(9), r.Text(10))});
            });
    }
    return out;
}

bool TakeStock(db::Connection& c, std::int64_t product_id, std::int64_t quantity) {
    return c.Execute("UPDATE products SET stock = stock - ? WHERE id = ? AND archived = 0 AND stock >= ?",
                     {quantity, product_id, quantity}) == 1;
}

void ReturnStock(db::Connection& c, std::int64_t product_id, std::int64_t quantity) {
    c.Execute("UPDATE products SET stock = stock + ? WHERE id = ?", {quantity, product_id});
}

}  // namespace emporium::catalog

namespace emporium::catalog {

std::vector<StockLine> SampleProducts(db::Connection& c, std::int64_t limit) {
    std::vector<StockLine> out;
    std::int64_t total = c.QueryInt("SELECT COUNT(*) FROM products WHERE archived = 0");
    std::int64_t step = std::max<std::int64_t>(1, total / std::max<std::int64_t>(1, limit));
    c.Query(
        "SELECT id, name, price_cents, currency, stock, seller_id, category_id FROM products WHERE archived = 0"
        " AND id % ? = 0 ORDER BY id LIMIT ?",
        {step, limit}, [&](const db::Row& r) {
            out.push_back({r.Int(0), std::string(r.Text(1)), r.Int(2), std::string(r.Text(3)), r.Int(4), r.Int(5),
                           false, r.Int(6)});
        });
    return out;
}

}  // namespace emporium::catalog

namespace emporium::catalog {

void ForEachProduct(db::Connection& c, bool include_archived, const std::function<void(const Product&)>& fn) {
    c.Query(std::string("SELECT ") + kProductColumns +
                " FROM products p JOIN categories c ON c.id = p.category_id WHERE p.archived = 0 OR ? = 1"
                " ORDER BY p.id",
            {std::int64_t{include_archived ? 1 : 0}}, [&](const db::Row& r) { fn(ReadProduct(r)); });
}

std::vector<Product> ReadProducts(db::Connection& c, const std::vector<std::int64_t>& product_ids) {
    std::vector<Product> found;
    if (product_ids.empty()) return found;
    // One statement for the batch, then the caller's order. Archived rows are dropped here: with
    // `archived = 0` in the statement SQLite walks an index on archived instead of the ids.
    std::string sql = std::string("SELECT ") + kProductColumns +
                      " FROM products p JOIN categories c ON c.id = p.category_id WHERE p.id IN (";
    db::Params params;
    for (std::size_t i = 0; i < product_ids.size(); ++i) {
        sql += i ? ", ?" : "?";
        params.emplace_back(product_ids[i]);
    }
    c.Query(sql + ")", params, [&](const db::Row& r) {
        if (r.Int(14) == 0) found.push_back(ReadProduct(r));
    });
    std::vector<Product> out;
    out.reserve(found.size());
    for (std::int64_t id : product_ids) {
        auto it = std::find_if(found.begin(), found.end(), [id](const Product& p) { return p.id == id; });
        if (it != found.end()) out.push_back(std::move(*it));
    }
    return out;
}

std::vector<std::int64_t> PopularProductIds(db::Connection& c, const std::string& category, std::int64_t limit) {
    std::vector<std::int64_t> out;
    auto add = [&](const db::Row& r) { out.push_back(r.Int(0)); };
    // Both walk an index by popularity and stop at limit.
    if (category.empty()) {
        c.Query("SELECT id FROM products WHERE archived = 0 AND stock > 0 ORDER BY popularity DESC, id LIMIT ?",
                {limit}, add);
    } else {
        c.Query(
            "SELECT p.id FROM products p WHERE p.archived = 0 AND p.stock > 0 AND p.category_id ="
            " (SELECT id FROM categories WHERE slug = ?) ORDER BY p.popularity DESC, p.id LIMIT ?",
            {category, limit}, add);
    }
    return out;
}

}  // namespace emporium::catalog
