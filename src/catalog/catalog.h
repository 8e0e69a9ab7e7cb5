// The catalog: categories, products, search and stock, plus the shop's profile (name and
// branding). Plain synchronous service code over db::Database; catalog_routes.h maps it to HTTP.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "catalog/images.h"
#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"
#include "db/migrations.h"

namespace emporium::catalog {

struct Category {
    std::int64_t id = 0;
    std::string slug;
    std::string name;
    std::int64_t product_count = 0;  // products not archived
};

struct Product {
    std::int64_t id = 0;
    std::string sku;
    std::string name;
    std::string description;
    std::string category;  // slug
    std::string category_name;
    std::vector<std::string> tags;
    std::int64_t price_cents = 0;
    std::string currency = "USD";
    std::int64_t stock = 0;
    std::int64_t seller_id = 0;
    std::string image_url;
    std::string attributes_json = "{}";  // a JSON object, kept as text
    std::int64_t popularity = 0;
    bool archived = false;
    std::int64_t created_at = 0;  // Unix seconds
    std::int64_t updated_at = 0;
    std::vector<ProductImage> images;  // by position; filled by Get and List
};

enum class Sort { kRelevance, kPriceAsc, kPriceDesc, kNewest, kPopular };

struct ProductQuery {
    std::string q;         // free text; empty: no search
    std::string category;  // slug; empty: all
    std::optional<std::int64_t> min_price;
    std::optional<std::int64_t> max_price;
    Sort sort = Sort::kPopular;
    std::int64_t page = 1;
    std::int64_t per_page = 24;
    std::optional<std::int64_t> seller_id;  // a seller's own list; never from public parameters

    // A canonical text form: equal queries give equal keys (for caching).
    std::string CacheKey() const;
};

inline constexpr std::int64_t kMaxPerPage = 100;

// Parses and checks list parameters (q, category, min_price, max_price, sort, page, per_page).
// Unknown parameters are ignored; per_page above 100 is capped. 422 with one entry per bad field.
Result<ProductQuery> ParseProductQuery(const std::vector<std::pair<std::string, std::string>>& params);

struct ProductPage {
    std::vector<Product> items;
    std::int64_t total = 0;
    // False when a search has more matches than it counts (list_sql.h kSearchCountLimit): total
    // is then a lower bound, and pages past it still answer.
    bool total_exact = true;
    std::int64_t page = 1;
    std::int64_t per_page = 24;
};

// A create or a change: absent fields are left alone (PATCH) or required (create).
struct ProductDraft {
    std::optional<std::string> sku;
    std::optional<std::string> name;
    std::optional<std::string> description;
    std::optional<std::string> category;
    std::optional<std::vector<std::string>> tags;
    std::optional<std::int64_t> price_cents;
    std::optional<std::string> currency;
    std::optional<std::int64_t> stock;
    std::optional<std::string> image_url;
    std::optional<std::string> attributes_json;  // a serialised JSON object
};

// The shop's identity for the web page: GET /api/store.
struct StoreProfile {
    std::string preset = "games";
    std::string name = "Emporium";
    std::string tagline;
    std::string logo_text = "EMPORIUM";
    std::string currency = "USD";
    bool dark = false;
    std::string primary = "#3949ab";
    std::string secondary = "#00897b";
    std::string accent = "#ff7043";
    std::string background = "#fafafa";
    std::string surface = "#ffffff";
};

// The branding of a built-in preset ("games" is Git Goods, "grocery" is GoMart); nullopt for
// an unknown name.
std::optional<StoreProfile> PresetProfile(std::string_view preset);

// The catalog's tables, in order, for the database's dialect.
std::vector<db::Migration> Migrations(db::Dialect dialect);

// How long one catalog read may run before it stops with 503 `query_timeout`.
inline constexpr std::chrono::milliseconds kDefaultQueryBudget{1000};

class SearchIndexKeeper;

class CatalogService {
public:
    // Every read runs within query_budget (see kDefaultQueryBudget).
    CatalogService(db::Database& database, const Clock& clock,
                   std::chrono::milliseconds query_budget = kDefaultQueryBudget);
    ~CatalogService();
    CatalogService(const CatalogService&) = delete;
    CatalogService& operator=(const CatalogService&) = delete;

    // From now on, searches and lists are answered from a copy in memory when it is current (search_index.h),
    // with the same results as their SQL; a background thread keeps the copy. SQLite only: nothing
    // changes on PostgreSQL, which several nodes share.
    void KeepSearchIndex();

    Result<std::vector<Category>> Categories();

    // One page of products that are not archived, filtered and sorted as asked. A search (q)
    // matches every word in name, description and tags, as list_sql.h SearchWords says. 503
    // `query_timeout` when it runs past the query budget.
    Result<ProductPage> List(const ProductQuery& query);

    // The page List would give, made from memory alone, without waiting for anything: when
    // searches are kept in memory (KeepSearchIndex), a search or list on a worker confirmed the
    // copy's version within kMemoryFreshness and no change notice came since, the search or list is
    // small (kMaxPostingsFromMemory: a list walks every product), and every product it shows was
    // read within kMemoryFreshness and since its last change notice. nullopt otherwise: ask List.
    // For a network thread's fast path.
    std::optional<ProductPage> ListFromMemory(const ProductQuery& query);
    // How old what ListFromMemory shows may be: as old as the catalog cache's stock by default
    // (--stock-refresh), and the bound for changes no notice tells of (another process's).
    static constexpr std::chrono::seconds kMemoryFreshness{1};
    // About 50 µs of walking: what a network thread may spend on one search.
    static constexpr std::size_t kMaxPostingsFromMemory = 20000;

    // A product that is not archived; 404 otherwise.
    Result<Product> Get(std::int64_t id);

    // Creates a product owned by seller_id. 422 lists every bad or missing field; 409
    // `duplicate_sku` when the SKU is taken.
    Result<Product> Create(const ProductDraft& draft, std::int64_t seller_id);

    // Changes the given fields of a product that is not archived; 404, 409 and 422 as above.
    // With only_seller, a product of another seller is 404 too.
    Result<Product> Update(std::int64_t id, const ProductDraft& draft, std::optional<std::int64_t> only_seller);

    // Archives a product: gone from lists and pages, kept for old orders. 404 when unknown (or,
    // with only_seller, another seller's).
    Status Archive(std::int64_t id, std::optional<std::int64_t> only_seller);

    // The shop's profile; the default profile when none was set.
    StoreProfile Store();
    void SetStore(const StoreProfile& profile);

    // The product photos; a change to them counts as a product change (listeners are told).
    ImageService& Images() { return images_; }

    // Called after every committed product change with the product's id.
    void OnProductChanged(std::function<void(std::int64_t)> listener);
    // Tells the listeners of a change committed elsewhere (stock taken by an order).
    void NotifyChanged(std::int64_t id) { Notify(id); }

private:
    // Runs fn on a reader within the query budget; 503 `query_timeout` past it.
    template <typename F>
    auto ReadWithinBudget(F&& fn) -> Result<std::invoke_result_t<F, db::Connection&>>;
    std::vector<FieldError> Validate(const ProductDraft& draft, bool creating, db::Connection& c,
                                     std::int64_t* category_id);
    void Notify(std::int64_t id);
    // Keeps the products a search read for ListFromMemory, unless a change notice came since
    // notices_before.
    void Remember(const std::vector<Product>& products, std::uint64_t notices_before);

    db::Database& database_;
    const Clock& clock_;
    std::chrono::milliseconds query_budget_;
    std::vector<std::function<void(std::int64_t)>> listeners_;  // set at wiring time, before serving
    ImageService images_;
    std::unique_ptr<SearchIndexKeeper> search_index_;  // set at wiring time, before serving
    struct ShownProducts;
    std::unique_ptr<ShownProducts> shown_;  // with search_index_
};

}  // namespace emporium::catalog

namespace emporium::catalog {

// Stock and prices for other modules' transactions (orders): these run on the caller's
// connection, inside the caller's write transaction, so that an order and the stock it takes
// commit together. They are the only way another module touches the catalog's tables.
struct StockLine {
    std::int64_t product_id = 0;
    std::string name;
    std::int64_t price_cents = 0;
    std::string currency;
    std::int64_t stock = 0;
    std::int64_t seller_id = 0;
    bool archived = false;
    std::int64_t category_id = 0;  // kept on order lines, for sales by category
    std::string image_url;         // the picture's address, as product answers give it
};

// The products' current lines, in the order of ids; unknown ids are left out.
std::vector<StockLine> ReadStock(db::Connection& c, const std::vector<std::int64_t>& product_ids);

// Takes quantity units if at least that many are left; false (and nothing taken) otherwise.
// The condition is in the UPDATE itself, so two buyers can never both take the last unit.
bool TakeStock(db::Connection& c, std::int64_t product_id, std::int64_t quantity);

// Puts units back (a cancelled order).
void ReturnStock(db::Connection& c, std::int64_t product_id, std::int64_t quantity);

}  // namespace emporium::catalog

namespace emporium::catalog {

// Up to limit products that are not archived, spread over the catalog (for generated demo orders).
std::vector<StockLine> SampleProducts(db::Connection& c, std::int64_t limit);

}  // namespace emporium::catalog

namespace emporium::catalog {

// Bulk reads for other modules (the recommendation model's training data and serving, generated
// demo orders), on the caller's connection.

// Calls fn for every product in id order; archived ones only when include_archived.
void ForEachProduct(db::Connection& c, bool include_archived, const std::function<void(const Product&)>& fn);

// The products with these ids that are not archived, in the order of ids; unknown or archived
// ids are left out.
std::vector<Product> ReadProducts(db::Connection& c, const std::vector<std::int64_t>& product_ids);

// Ids of up to limit products in stock and not archived, most popular first; only those of one
// category when category (a slug) is not empty.
std::vector<std::int64_t> PopularProductIds(db::Connection& c, const std::string& category, std::int64_t limit);

}  // namespace emporium::catalog
