#include "catalog/catalog_routes.h"

#include <algorithm>
#include <boost/json.hpp>

#include "catalog/product_image.h"
#include "core/text.h"
#include "http/errors.h"
#include "http/json_body.h"
#include "http/reply.h"

namespace emporium::catalog {
namespace {

namespace json = boost::json;

// A multipart upload's boundaries and part headers around a picture of media::kMaxBytes.
constexpr std::size_t kMultipartAllowance = std::size_t{64} * 1024;
using http::Request;
using http::Response;

// An image as product answers list it: its largest JPEG as url, and a srcset per encoding (best
// first) for a <picture>'s <source> elements, the JPEG one also for its <img>.
json::object ImageJson(const ProductImage& image) {
    json::array sources;
    std::string url;
    for (media::Encoding encoding : media::kEncodings) {
        std::string srcset;
        for (int width : media::VariantWidths(image.width)) {
            if (!srcset.empty()) srcset += ", ";
            url = ImageVariantUrl(image, width, encoding);
            srcset += url + " " + std::to_string(width) + "w";
        }
        sources.push_back(json::object{{"type", media::MimeType(encoding)}, {"srcset", std::move(srcset)}});
    }
    return json::object{{"id", image.id},
                        {"url", url},
                        {"width", image.width},
                        {"height", image.height},
                        {"alt", image.alt},
                        {"is_main", image.is_main},
                        {"position", image.position},
                        {"sources", std::move(sources)}};
}

json::array ImagesJson(const std::vector<ProductImage>& images) {
    json::array out;
    for (const ProductImage& image : images) out.push_back(ImageJson(image));
    return out;
}

json::object ProductJson(const Product& p) {
    json::array tags;
    for (const auto& t : p.tags) tags.emplace_back(t);
    json::error_code ec;
    json::value attributes = json::parse(p.attributes_json, ec);
    if (ec || !attributes.is_object()) attributes = json::object();
    return json::object{{"id", p.id},
                        {"sku", p.sku},
                        {"name", p.name},
                        {"description", p.description},
                        {"category", p.category},
                        {"category_name", p.category_name},
                        {"tags", std::move(tags)},
                        {"price_cents", p.price_cents},
                        {"currency", p.currency},
                        {"stock", p.stock},
                        {"seller_id", p.seller_id},
                        {"image_url", p.image_url},
                        {"images", ImagesJson(p.images)},
                        {"attributes", std::move(attributes)},
                        {"created_at", FormatRfc3339(p.created_at)},
                        {"updated_at", FormatRfc3339(p.updated_at)}};
}

std::string PageJson(const ProductPage& page) {
    json::array items;
    items.reserve(page.items.size());
    for (const auto& p : page.items) items.emplace_back(ProductJson(p));
    return json::serialize(json::object{{"items", std::move(items)},
                                        {"total", page.total},
                                        {"total_exact", page.total_exact},
                                        {"page", page.page},
                                        {"per_page", page.per_page}});
}

// An error answer; a read that ran out of time (503) says when to try again.
Response ErrorReply(const Error& error) {
    Response r = http::ErrorResponse(error);
    if (r.status == 503) r.headers.emplace_back("Retry-After", "1");
    return r;
}

std::string StoreJson(const StoreProfile& p) {
    return json::serialize(json::object{{"preset", p.preset},
                                        {"name", p.name},
                                        {"tagline", p.tagline},
                                        {"logo_text", p.logo_text},
                                        {"currency", p.currency},
                                        {"theme", json::object{{"dark", p.dark},
                                                               {"primary", p.primary},
                                                               {"secondary", p.secondary},
                                                               {"accent", p.accent},
                                                               {"background", p.background},
                                                               {"surface", p.surface}}}});
}

std::optional<std::int64_t> PathId(const Request& request) {
    return http::ParseId(request.PathParam("id"));
}

Response NotFoundProduct(std::string_view text) {
    return http::ErrorResponse(Error::NotFound("There is no product " + std::string(text) + "."));
}

// Reads a JSON body into a draft with the one body reader: every wrongly typed or unknown field
// is listed at once.
Result<ProductDraft> DraftFromJson(const json::object& body) {
    http::JsonReader f(body);
    ProductDraft d;
    d.sku = f.Text("sku");
    d.name = f.Text("name");
    d.description = f.Text("description");
    d.category = f.Text("category");
    d.currency = f.Text("currency");
    d.image_url = f.Text("image_url");
    d.price_cents = f.Integer("price_cents");
    d.stock = f.Integer("stock");
    d.tags = f.TextList("tags");
    if (const json::value* a = f.Raw("attributes")) {
        if (a->is_object()) {
            d.attributes_json = json::serialize(*a);
        } else {
            f.Fail(FieldError::Invalid("attributes", "must be an object"));
        }
    }
    for (const char* key : {"id", "seller_id", "created_at", "updated_at", "category_name"}) {
        if (!f.Has(key)) continue;
        f.Raw(key);
        f.Fail(FieldError::Coded(key, "read_only", "is set by the shop and cannot be written"));
    }
    if (auto e = f.Finish()) return *e;
    return d;
}

// One upload's picture and alt text, from a raw body (alt from the query) or a multipart form
// (fields "file" and "alt").
struct Upload {
    std::string_view bytes;
    std::string alt;
};

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The value of parameter name in a header such as `form-data; name="file"`, without quotes.
std::string_view HeaderParam(std::string_view header, std::string_view name) {
    std::size_t at = 0;
    while ((at = header.find(';', at)) != std::string_view::npos) {
        std::string_view rest = Trim(header.substr(at + 1));
        if (rest.size() > name.size() && ToLowerAscii(rest.substr(0, name.size())) == name &&
            rest[name.size()] == '=') {
            std::string_view value = rest.substr(name.size() + 1);
            if (value.starts_with('"')) return value.substr(1, value.find('"', 1) - 1);
            return Trim(value.substr(0, value.find(';')));
        }
        ++at;
    }
    return {};
}

Result<Upload> ParseMultipart(std::string_view body, std::string_view boundary) {
    const Error bad = Error::BadRequest("The form has no readable \"file\" part.", "bad_multipart");
    if (boundary.empty() || boundary.size() > 70) return bad;
    const std::string delimiter = "--" + std::string(boundary);
    Upload upload;
    bool found = false;
    std::size_t at = body.find(delimiter);
    while (at != std::string_view::npos) {
        at += delimiter.size();
        if (body.substr(at, 2) == "--") break;  // the closing delimiter
        const std::size_t head_end = body.find("\r\n\r\n", at);
        const std::size_t next =
            head_end == std::string_view::npos ? head_end : body.find("\r\n" + delimiter, head_end);
        if (next == std::string_view::npos) return bad;
        const std::string head = ToLowerAscii(body.substr(at, head_end - at));
        const std::size_t disposition = head.find("content-disposition:");
        const std::string_view line =
            disposition == std::string::npos
                ? std::string_view()
                : std::string_view{head}.substr(disposition, head.find("\r\n", disposition) - disposition);
        const std::string_view name = HeaderParam(line, "name");
        const std::string_view content = body.substr(head_end + 4, next - head_end - 4);
        if (name == "file" && !found) {
            upload.bytes = content;
            found = true;
        } else if (name == "alt") {
            upload.alt = std::string(content);
        }
        at = next + 2;
    }
    if (!found) return bad;
    return upload;
}

Result<Upload> ReadUpload(const Request& request) {
    const std::string_view type = request.Header("content-type");
    if (ToLowerAscii(type.substr(0, type.find(';'))) == "multipart/form-data") {
        return ParseMultipart(request.body, HeaderParam(type, "boundary"));
    }
    return Upload{request.body, std::string(request.QueryParam("alt").value_or(""))};
}

// "640-0123456789abcdef.avif": a variant's width, token and encoding.
struct VariantName {
    int width = 0;
    std::string_view token;
    media::Encoding encoding = media::Encoding::kJpeg;
};

// Sixteen lower-case hex digits, as images.cpp makes them: nothing else reaches a header.
bool IsToken(std::string_view token) {
    return token.size() == 16 && std::all_of(token.begin(), token.end(),
                                             [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::optional<VariantName> ParseVariantName(std::string_view file) {
    const std::size_t dash = file.find('-');
    const std::size_t dot = file.rfind('.');
    if (dash == std::string_view::npos || dot == std::string_view::npos || dot < dash) return std::nullopt;
    std::optional<std::int64_t> width = http::ParseId(file.substr(0, dash));
    std::optional<media::Encoding> encoding = media::EncodingFromExtension(file.substr(dot + 1));
    const std::string_view token = file.substr(dash + 1, dot - dash - 1);
    if (!width || *width > 100000 || !encoding || !IsToken(token)) return std::nullopt;
    return VariantName{static_cast<int>(*width), token, *encoding};
}

// A variant's address names its bytes for ever (the token changes with every upload), so its
// entity tag comes from the address alone.
std::string VariantEtag(const Request& request) {
    return "\"" + std::string(request.PathParam("image_id")) + "-" + std::string(request.PathParam("file")) + "\"";
}

Response NotFoundImage() {
    return http::ErrorResponse(Error::NotFound("There is no such image."));
}

Result<ImageChange> ImageChangeFromJson(const json::object& body) {
    http::JsonReader f(body);
    ImageChange change;
    change.position = f.Integer("position");
    change.is_main = f.Bool("is_main");
    change.alt = f.Text("alt");
    if (auto e = f.Finish()) return *e;
    return change;
}

class Handlers {
public:
    Handlers(CatalogService& service, ReadCache& cache, http::Authenticator authenticate, SharedCacheLevel* shared)
        : service_(service), cache_(cache), shared_(shared), authenticate_(std::move(authenticate)) {}

    // Answers from this node's cache, else the shared level, else computes with fn and stores the
    // answer in both. Runs on a worker thread (the shared level may wait for Redis). Every answer
    // is the cache's prepared bytes (shared, compressed once), so the first one goes out as the
    // hits after it do.
    template <typename F>
    Response Cached(const std::string& key, F&& compute) {
        ReadCache::Lookup hit = cache_.Get(key);
        if (hit.value) return Response::Json(200, std::move(hit.value));
        SharedCacheLevel::Lookup remote;
        if (shared_) remote = shared_->Get(key);
        if (remote.value) {
            auto prepared = PreparedText::Make(std::move(*remote.value));
            cache_.Put(key, prepared, hit.ticket);
            return Response::Json(200, std::move(prepared));
        }
        Result<std::string> body = compute();
        if (!body.ok()) return ErrorReply(body.error());
        if (shared_) shared_->Put(key, body.value(), remote.stamp);
        auto prepared = PreparedText::Make(std::move(body.value()));
        cache_.Put(key, prepared, hit.ticket);
        return Response::Json(200, std::move(prepared));
    }

    std::optional<Response> FromCache(const std::string& key) {
        ReadCache::Lookup hit = cache_.Get(key, /*count_miss=*/false);
        if (!hit.value) return std::nullopt;
        return Response::Json(200, std::move(hit.value));
    }

    // From the cache, else (a search) from the catalog's copy in memory when it can answer
    // without waiting; else nullopt, and List runs on a worker.
    std::optional<Response> FastList(const Request& request) {
        Result<ProductQuery> query = ParseProductQuery(request.query);
        if (!query.ok()) return std::nullopt;
        std::string key = "list\x1e" + query->CacheKey();
        ReadCache::Lookup probe = cache_.Get(key, /*count_miss=*/false);
        if (probe.value) return Response::Json(200, std::move(probe.value));
        std::optional<ProductPage> page = service_.ListFromMemory(*query);
        if (!page) return std::nullopt;
        ReadCache::Lookup counted = cache_.Get(key);  // the miss, counted once it is answered here
        if (counted.value) return Response::Json(200, std::move(counted.value));
        auto prepared = PreparedText::Make(PageJson(*page));
        cache_.Put(std::move(key), prepared, probe.ticket);
        return Response::Json(200, std::move(prepared));
    }

    Response List(const Request& request) {
        Result<ProductQuery> query = ParseProductQuery(request.query);
        if (!query.ok()) return http::ErrorResponse(query.error());
        return Cached("list\x1e" + query->CacheKey(), [&]() -> Result<std::string> {
            Result<ProductPage> page = service_.List(*query);
            if (!page.ok()) return page.error();
            return PageJson(page.value());
        });
    }

    std::optional<Response> FastProduct(const Request& request) {
        auto id = PathId(request);
        return id ? FromCache("product\x1e" + std::to_string(*id)) : std::nullopt;
    }

    Response GetProduct(const Request& request) {
        auto id = PathId(request);
        if (!id) return NotFoundProduct(request.PathParam("id"));
        return Cached("product\x1e" + std::to_string(*id), [&]() -> Result<std::string> {
            Result<Product> p = service_.Get(*id);
            if (!p.ok()) return p.error();
            return json::serialize(ProductJson(p.value()));
        });
    }

    // The picture at the address a product answer gives (with ?v=, its version) never changes, so
    // browsers keep it for a year; any other address of it is checked again on every use.
    Response Image(const Request& request) {
        auto id = PathId(request);
        if (!id) return NotFoundProduct(request.PathParam("id"));
        // Cached as "<version>\n<svg>", so a cached answer still knows its version.
        return PictureAnswer(request, Cached(ImageKey(*id), [&]() -> Result<std::string> {
                                 Result<Product> p = service_.Get(*id);
                                 if (!p.ok()) return p.error();
                                 return ProductImageVersion(p->name, p->category, p->category_name) + "\n" +
                                        RenderProductImage(p->name, p->category, p->category_name);
                             }));
    }

    std::optional<Response> FastImage(const Request& request) {
        auto id = PathId(request);
        if (!id) return std::nullopt;
        std::optional<Response> hit = FromCache(ImageKey(*id));
        if (!hit) return std::nullopt;
        return PictureAnswer(request, std::move(*hit));
    }

    static std::string ImageKey(std::int64_t id) { return "image\x1e" + std::to_string(id); }

    // A cached "<version>\n<svg>" answer as the picture, cached for a year at its current address.
    static Response PictureAnswer(const Request& request, Response r) {
        if (r.status != 200 || !r.prepared) return r;
        const std::string& cached = r.prepared->text();
        std::size_t cut = cached.find('\n');
        bool current = request.QueryParam("v") == std::string_view{cached}.substr(0, cut);
        r.body = cached.substr(cut + 1);
        r.prepared.reset();
        r.content_type = "image/svg+xml";
        r.headers.emplace_back("Cache-Control", current ? "public, max-age=31536000, immutable" : "no-cache");
        return r;
    }

    Response Categories(const Request&) {
        return Cached("categories", [&]() -> Result<std::string> {
            Result<std::vector<Category>> categories = service_.Categories();
            if (!categories.ok()) return categories.error();
            json::array out;
            for (const Category& c : categories.value()) {
                out.push_back(
                    json::object{{"id", c.id}, {"name", c.name}, {"slug", c.slug}, {"product_count", c.product_count}});
            }
            return json::serialize(out);
        });
    }

    Response Store(const Request&) {
        return Cached("store", [&]() -> Result<std::string> { return StoreJson(service_.Store()); });
    }

    Response Create(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kCatalogWrite);
        if (!who.ok()) return http::ErrorResponse(who.error());
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::ErrorResponse(body.error());
        Result<ProductDraft> draft = DraftFromJson(body.value());
        if (!draft.ok()) return http::ErrorResponse(draft.error());
        Result<Product> created = service_.Create(draft.value(), who->user_id);
        if (!created.ok()) return http::ErrorResponse(created.error());
        Response r = Response::Json(201, json::serialize(ProductJson(created.value())));
        r.headers.emplace_back("Location", "/api/products/" + std::to_string(created->id));
        return r;
    }

    Response Update(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kCatalogWrite);
        if (!who.ok()) return http::ErrorResponse(who.error());
        auto id = PathId(request);
        if (!id) return NotFoundProduct(request.PathParam("id"));
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::ErrorResponse(body.error());
        Result<ProductDraft> draft = DraftFromJson(body.value());
        if (!draft.ok()) return http::ErrorResponse(draft.error());
        Result<Product> updated = service_.Update(*id, draft.value(), OnlySeller(who.value()));
        if (!updated.ok()) return http::ErrorResponse(updated.error());
        return Response::Json(200, json::serialize(ProductJson(updated.value())));
    }

    Response Archive(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kCatalogWrite);
        if (!who.ok()) return http::ErrorResponse(who.error());
        auto id = PathId(request);
        if (!id) return NotFoundProduct(request.PathParam("id"));
        Status archived = service_.Archive(*id, OnlySeller(who.value()));
        if (!archived.ok()) return http::ErrorResponse(archived.error());
        return Response::NoContent();
    }

    // The shared level first: a node that refills its cache from it right after this node's
    // cache is emptied must not find the old answer there.
    void InvalidateAll() {
        if (shared_) shared_->InvalidateAll();
        cache_.InvalidateAll();
    }

    // A seller's own products, newest first; admins see every seller's.
    Response SellerProducts(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kCatalogWrite);
        if (!who.ok()) return http::ErrorResponse(who.error());
        std::vector<std::pair<std::string, std::string>> params;
        for (const auto& [key, value] : request.query) {
            if (key == "q" || key == "page" || key == "per_page") params.emplace_back(key, value);
        }
        if (!request.QueryParam("q")) params.emplace_back("sort", "newest");
        Result<ProductQuery> query = ParseProductQuery(params);
        if (!query.ok()) return http::ErrorResponse(query.error());
        query->seller_id = OnlySeller(who.value());
        Result<ProductPage> page = service_.List(*query);
        if (!page.ok()) return ErrorReply(page.error());
        return http::NoStore(Response::Json(200, PageJson(page.value())));
    }

    // A heavy route: decoding and encoding a picture keeps a core busy for a while.
    Response AddImage(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kCatalogWrite);
        if (!who.ok()) return http::ErrorResponse(who.error());
        auto id = PathId(request);
        if (!id) return NotFoundProduct(request.PathParam("id"));
        Result<Upload> upload = ReadUpload(request);
        if (!upload.ok()) return http::ErrorResponse(upload.error());
        Result<ProductImage> added = service_.Images().Add(*id, upload->bytes, upload->alt, OnlySeller(who.value()));
        if (!added.ok()) return http::ErrorResponse(added.error());
        Response r = Response::Json(201, json::serialize(ImageJson(added.value())));
        r.headers.emplace_back("Location", ImageVariantUrl(added.value(), added->width, media::Encoding::kJpeg));
        return r;
    }

    Response ChangeImage(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kCatalogWrite);
        if (!who.ok()) return http::ErrorResponse(who.error());
        auto id = PathId(request);
        auto image_id = http::ParseId(request.PathParam("image_id"));
        if (!id || !image_id) return NotFoundImage();
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::ErrorResponse(body.error());
        Result<ImageChange> change = ImageChangeFromJson(body.value());
        if (!change.ok()) return http::ErrorResponse(change.error());
        auto images = service_.Images().Change(*id, *image_id, change.value(), OnlySeller(who.value()));
        if (!images.ok()) return http::ErrorResponse(images.error());
        return Response::Json(200, json::serialize(json::object{{"images", ImagesJson(images.value())}}));
    }

    Response RemoveImage(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kCatalogWrite);
        if (!who.ok()) return http::ErrorResponse(who.error());
        auto id = PathId(request);
        auto image_id = http::ParseId(request.PathParam("image_id"));
        if (!id || !image_id) return NotFoundImage();
        Status removed = service_.Images().Remove(*id, *image_id, OnlySeller(who.value()));
        if (!removed.ok()) return http::ErrorResponse(removed.error());
        return Response::NoContent();
    }

    // A variant's bytes, cached by browsers and proxies for a year (its address never names other
    // bytes); 304 when the browser already holds it.
    Response ImageVariant(const Request& request) {
        if (std::optional<Response> unchanged = NotModified(request)) return std::move(*unchanged);
        auto id = PathId(request);
        auto image_id = http::ParseId(request.PathParam("image_id"));
        std::optional<VariantName> name = ParseVariantName(request.PathParam("file"));
        if (!id || !image_id || !name) return NotFoundImage();
        std::optional<StoredVariant> variant =
            service_.Images().Variant(*id, *image_id, name->token, name->width, name->encoding);
        if (!variant) return NotFoundImage();
        Response r;
        r.status = 200;
        r.content_type = std::string(media::MimeType(variant->encoding));
        r.body = std::move(variant->bytes);
        r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
        r.headers.emplace_back("ETag", VariantEtag(request));
        return r;
    }

    // On the I/O thread: If-None-Match with this address's entity tag needs no database.
    static std::optional<Response> NotModified(const Request& request) {
        // Only a well-formed address gets an answer here: its parts go into the ETag header.
        if (!http::ParseId(request.PathParam("image_id")) || !ParseVariantName(request.PathParam("file"))) {
            return std::nullopt;
        }
        const std::string etag = VariantEtag(request);
        const std::string_view asked = request.Header("if-none-match");
        if (asked.empty() || (asked.find(etag) == std::string_view::npos && Trim(asked) != "*")) return std::nullopt;
        Response r;
        r.status = 304;
        r.headers.emplace_back("Cache-Control", "public, max-age=31536000, immutable");
        r.headers.emplace_back("ETag", etag);
        return r;
    }

private:
    static std::optional<std::int64_t> OnlySeller(const Principal& who) {
        if (who.ActsForEveryone()) return std::nullopt;
        return who.user_id;
    }

    CatalogService& service_;
    ReadCache& cache_;
    SharedCacheLevel* shared_;
    http::Authenticator authenticate_;
};

}  // namespace

std::string ProductJsonText(const Product& product) {
    return json::serialize(ProductJson(product));
}

void AddRoutes(http::Router& router, CatalogService& service, ReadCache& cache, http::Authenticator authenticate,
               SharedCacheLevel* shared) {
    // The router's handlers share one Handlers object, which lives as long as the router's routes.
    auto handlers = std::make_shared<Handlers>(service, cache, std::move(authenticate), shared);
    service.OnProductChanged([handlers](std::int64_t) { handlers->InvalidateAll(); });
    auto bind = [handlers](Response (Handlers::*method)(const Request&)) {
        return [handlers, method](const Request& r) { return ((*handlers).*method)(r); };
    };
    auto fast = [handlers](std::optional<Response> (Handlers::*method)(const Request&)) {
        return [handlers, method](const Request& r) { return ((*handlers).*method)(r); };
    };
    router.Add({"GET", "/api/store", bind(&Handlers::Store), {}, false});
    router.Add({"GET", "/api/categories", bind(&Handlers::Categories), {}, false});
    router.Add({"GET", "/api/products", bind(&Handlers::List), fast(&Handlers::FastList), false});
    router.Add({"GET", "/api/products/{id}", bind(&Handlers::GetProduct), fast(&Handlers::FastProduct), false});
    router.Add({"GET", "/api/products/{id}/image.svg", bind(&Handlers::Image), fast(&Handlers::FastImage), false});
    router.Add({"POST", "/api/products", bind(&Handlers::Create), {}, false});
    router.Add({"PATCH", "/api/products/{id}", bind(&Handlers::Update), {}, false});
    router.Add({"DELETE", "/api/products/{id}", bind(&Handlers::Archive), {}, false});
    router.Add({"GET", "/api/seller/products", bind(&Handlers::SellerProducts), {}, false});
    http::Route add_image{"POST", "/api/products/{id}/images", bind(&Handlers::AddImage), {}, false};
    add_image.heavy = true;
    add_image.body_limit = media::kMaxBytes + kMultipartAllowance;
    router.Add(std::move(add_image));
    router.Add({"PATCH", "/api/products/{id}/images/{image_id}", bind(&Handlers::ChangeImage), {}, false});
    router.Add({"DELETE", "/api/products/{id}/images/{image_id}", bind(&Handlers::RemoveImage), {}, false});
    router.Add({"GET", "/api/products/{id}/images/{image_id}/{file}", bind(&Handlers::ImageVariant),
                [](const Request& r) { return Handlers::NotModified(r); }, false});
}

}  // namespace emporium::catalog
