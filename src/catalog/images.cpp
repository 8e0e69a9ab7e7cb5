#include "catalog/images.h"

#include <algorithm>
#include <random>

#include "core/text.h"
#include "db/migrations.h"

namespace emporium::catalog {
namespace {

constexpr char kImageColumns[] = "id, product_id, position, is_main, alt, width, height, token, created_at";

ProductImage ReadImage(const db::Row& r) {
    ProductImage image;
    image.id = r.Int(0);
    image.product_id = r.Int(1);
    image.position = r.Int(2);
    image.is_main = r.Int(3) != 0;
    image.alt = r.Text(4);
    image.width = static_cast<int>(r.Int(5));
    image.height = static_cast<int>(r.Int(6));
    image.token = r.Text(7);
    image.created_at = r.Int(8);
    return image;
}

std::string Hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char ch : bytes) {
        auto c = static_cast<unsigned char>(ch);
        out.push_back(kDigits[c >> 4]);
        out.push_back(kDigits[c & 0xf]);
    }
    return out;
}

int HexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 0;
}

// Bytes go into a BLOB on SQLite as they are, and into a BYTEA on PostgreSQL as hex text (a text
// parameter cannot hold a zero byte); PostgreSQL answers a BYTEA as "\x" and hex.
std::string BlobPlaceholder(db::Dialect dialect) {
    return dialect == db::Dialect::kPostgres ? "decode(?, 'hex')" : "CAST(? AS BLOB)";
}

db::Value BlobParam(db::Dialect dialect, const std::string& bytes) {
    return dialect == db::Dialect::kPostgres ? Hex(bytes) : bytes;
}

std::string BlobFromColumn(db::Dialect dialect, std::string_view text) {
    if (dialect != db::Dialect::kPostgres) return std::string(text);
    if (text.starts_with("\\x")) text.remove_prefix(2);
    std::string out(text.size() / 2, '\0');
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<char>((HexDigit(text[2 * i]) << 4) | HexDigit(text[2 * i + 1]));
    }
    return out;
}

std::string NewToken() {
    std::random_device random;
    const std::uint64_t value = (std::uint64_t{random()} << 32) | random();
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
    return Hex(bytes);
}

Error NoProduct(std::int64_t id) {
    return Error::NotFound("There is no product " + std::to_string(id) + ".");
}

Error NoImage(std::int64_t id) {
    return Error::NotFound("There is no image " + std::to_string(id) + ".");
}

// True when the product exists, is not archived and (with only_seller) is that seller's.
bool MayChange(db::Connection& c, std::int64_t product_id, std::optional<std::int64_t> only_seller) {
    const db::Value seller = only_seller ? db::Value(*only_seller) : db::Value(nullptr);
    return c.QueryInt(
               "SELECT COUNT(*) FROM products WHERE id = ? AND archived = 0 AND (CAST(? AS BIGINT) IS NULL OR "
               "seller_id = ?)",
               {product_id, seller, seller}) > 0;
}

// Inside a write: makes concurrent changes to one product's images take turns (PostgreSQL runs
// writers side by side at READ COMMITTED; SQLite's writers take turns already), so that two
// uploads at once cannot both see room for an eighth image.
void LockProduct(db::Connection& c, db::Dialect dialect, std::int64_t product_id) {
    if (dialect != db::Dialect::kPostgres) return;
    c.Query("SELECT id FROM products WHERE id = ? FOR UPDATE", {product_id}, [](const db::Row&) {});
}

std::vector<ProductImage> ImagesOf(db::Connection& c, std::int64_t product_id) {
    return ReadImages(c, {product_id});
}

// Positions 0.. in the given order, exactly one main image (the first one when none is), and the
// product's image_url pointing at the main one (empty, the drawn tile, when there is none).
void Settle(db::Connection& c, std::int64_t product_id, std::vector<ProductImage> images, std::int64_t now) {
    if (!images.empty() && std::none_of(images.begin(), images.end(), [](const auto& i) { return i.is_main; })) {
        images.front().is_main = true;
    }
    std::string main_url;
    for (std::size_t i = 0; i < images.size(); ++i) {
        c.Execute("UPDATE product_images SET position = ?, is_main = ? WHERE id = ?",
                  {static_cast<std::int64_t>(i), std::int64_t{images[i].is_main ? 1 : 0}, images[i].id});
        if (images[i].is_main) main_url = MainImageUrl(images[i]);
    }
    c.Execute("UPDATE products SET image_url = ?, updated_at = ? WHERE id = ?", {main_url, now, product_id});
}

std::optional<FieldError> CheckAlt(const std::string& alt) {
    if (alt.empty()) return std::nullopt;
    return CheckPlainText("alt", alt, kMaxAltLength);
}

}  // namespace

std::string ImageVariantUrl(const ProductImage& image, int width, media::Encoding encoding) {
    return "/api/products/" + std::to_string(image.product_id) + "/images/" + std::to_string(image.id) + "/" +
           std::to_string(width) + "-" + image.token + "." + std::string(media::Extension(encoding));
}

std::string MainImageUrl(const ProductImage& image) {
    int width = media::VariantWidths(image.width).front();
    for (int w : media::VariantWidths(image.width)) {
        if (w <= 640) width = w;
    }
    return ImageVariantUrl(image, width, media::Encoding::kJpeg);
}

std::vector<ProductImage> ReadImages(db::Connection& c, const std::vector<std::int64_t>& product_ids) {
    std::vector<ProductImage> out;
    if (product_ids.empty()) return out;
    std::string sql = std::string("SELECT ") + kImageColumns + " FROM product_images WHERE product_id IN (";
    db::Params params;
    for (std::int64_t id : product_ids) {
        sql += params.empty() ? "?" : ", ?";
        params.emplace_back(id);
    }
    sql += ") ORDER BY product_id, position, id";
    c.Query(sql, params, [&](const db::Row& r) { out.push_back(ReadImage(r)); });
    return out;
}

std::string ImageTablesSql(db::Dialect dialect) {
    const std::string blob = dialect == db::Dialect::kPostgres ? "BYTEA" : "BLOB";
    return "CREATE TABLE product_images (" + db::IdColumn(dialect) +
           ", product_id BIGINT NOT NULL REFERENCES products(id), position INTEGER NOT NULL,"
           " is_main INTEGER NOT NULL DEFAULT 0, alt TEXT NOT NULL DEFAULT '', width INTEGER NOT NULL,"
           " height INTEGER NOT NULL, token TEXT NOT NULL, created_at BIGINT NOT NULL);"
           "CREATE INDEX product_images_product ON product_images (product_id, position);"
           "CREATE TABLE product_image_variants (image_id BIGINT NOT NULL REFERENCES product_images(id),"
           " width INTEGER NOT NULL, height INTEGER NOT NULL, encoding TEXT NOT NULL, bytes " +
           blob + " NOT NULL, PRIMARY KEY (image_id, width, encoding));";
}

ImageService::ImageService(db::Database& database, const Clock& clock, std::function<void(std::int64_t)> changed)
    : database_(database), clock_(clock), changed_(std::move(changed)) {}

Result<ProductImage> ImageService::Add(std::int64_t product_id, std::string_view bytes, const std::string& alt,
                                       std::optional<std::int64_t> only_seller) {
    if (std::optional<FieldError> bad = CheckAlt(alt)) return Error::Validation({*bad});
    // Cheap refusals first, so that nobody's picture is decoded for nothing; checked again below.
    const auto room = database_.Read([&](db::Connection& c) -> Status {
        if (!MayChange(c, product_id, only_seller)) return NoProduct(product_id);
        if (c.QueryInt("SELECT COUNT(*) FROM product_images WHERE product_id = ?", {product_id}) >= kMaxImages) {
            return Error::Conflict("too_many_images",
                                   "A product has at most " + std::to_string(kMaxImages) + " images.");
        }
        return Ok{};
    });
    if (!room.ok()) return room.error();
    Result<media::Processed> processed = media::Process(bytes);
    if (!processed.ok()) return processed.error();
    const std::int64_t now = UnixSeconds(clock_.Now());
    const db::Dialect dialect = database_.dialect();
    Result<ProductImage> added = database_.Write([&](db::Connection& c) -> Result<ProductImage> {
        LockProduct(c, dialect, product_id);
        if (!MayChange(c, product_id, only_seller)) return NoProduct(product_id);
        std::vector<ProductImage> images = ImagesOf(c, product_id);
        if (static_cast<std::int64_t>(images.size()) >= kMaxImages) {
            return Error::Conflict("too_many_images",
                                   "A product has at most " + std::to_string(kMaxImages) + " images.");
        }
        ProductImage image;
        image.product_id = product_id;
        image.position = static_cast<std::int64_t>(images.size());
        image.is_main = images.empty();
        image.alt = alt;
        image.width = processed->width;
        image.height = processed->height;
        image.token = NewToken();
        image.created_at = now;
        image.id = c.QueryInt(
            "INSERT INTO product_images (product_id, position, is_main, alt, width, height, token, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            {product_id, image.position, std::int64_t{image.is_main ? 1 : 0}, alt, std::int64_t{image.width},
             std::int64_t{image.height}, image.token, now});
        for (const media::Variant& v : processed->variants) {
            c.Execute(
                "INSERT INTO product_image_variants (image_id, width, height, encoding, bytes) VALUES (?, ?, ?, ?, " +
                    BlobPlaceholder(dialect) + ")",
                {image.id, std::int64_t{v.width}, std::int64_t{v.height}, std::string(media::Extension(v.encoding)),
                 BlobParam(dialect, v.bytes)});
        }
        images.push_back(image);
        Settle(c, product_id, images, now);
        return image;
    });
    if (added.ok()) changed_(product_id);
    return added;
}

Result<std::vector<ProductImage>> ImageService::Change(std::int64_t product_id, std::int64_t image_id,
                                                       const ImageChange& change,
                                                       std::optional<std::int64_t> only_seller) {
    std::vector<FieldError> errors;
    if (change.alt) {
        if (std::optional<FieldError> bad = CheckAlt(*change.alt)) errors.push_back(*bad);
    }
    if (change.is_main && !*change.is_main) {
        errors.push_back(FieldError::Invalid("is_main", "can only be set to true: make another image the main one"));
    }
    if (change.position && (*change.position < 0 || *change.position >= kMaxImages)) {
        errors.push_back(FieldError::Invalid("position", "must be between 0 and " + std::to_string(kMaxImages - 1)));
    }
    if (!errors.empty()) return Error::Validation(std::move(errors));
    const std::int64_t now = UnixSeconds(clock_.Now());
    auto changed = database_.Write([&](db::Connection& c) -> Result<std::vector<ProductImage>> {
        LockProduct(c, database_.dialect(), product_id);
        if (!MayChange(c, product_id, only_seller)) return NoProduct(product_id);
        std::vector<ProductImage> images = ImagesOf(c, product_id);
        auto it = std::find_if(images.begin(), images.end(), [&](const auto& i) { return i.id == image_id; });
        if (it == images.end()) return NoImage(image_id);
        if (change.alt) {
            c.Execute("UPDATE product_images SET alt = ? WHERE id = ?", {*change.alt, image_id});
            it->alt = *change.alt;
        }
        if (change.is_main) {
            for (auto& i : images) i.is_main = i.id == image_id;
        }
        if (change.position) {
            ProductImage moved = *it;
            images.erase(it);
            const auto at = std::min<std::size_t>(static_cast<std::size_t>(*change.position), images.size());
            images.insert(images.begin() + static_cast<std::ptrdiff_t>(at), moved);
        }
        Settle(c, product_id, images, now);
        return ImagesOf(c, product_id);
    });
    if (changed.ok()) changed_(product_id);
    return changed;
}

Status ImageService::Remove(std::int64_t product_id, std::int64_t image_id, std::optional<std::int64_t> only_seller) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    Status removed = database_.Write([&](db::Connection& c) -> Status {
        LockProduct(c, database_.dialect(), product_id);
        if (!MayChange(c, product_id, only_seller)) return NoProduct(product_id);
        std::vector<ProductImage> images = ImagesOf(c, product_id);
        auto it = std::find_if(images.begin(), images.end(), [&](const auto& i) { return i.id == image_id; });
        if (it == images.end()) return NoImage(image_id);
        images.erase(it);
        c.Execute("DELETE FROM product_image_variants WHERE image_id = ?", {image_id});
        c.Execute("DELETE FROM product_images WHERE id = ?", {image_id});
        Settle(c, product_id, images, now);
        return Ok{};
    });
    if (removed.ok()) changed_(product_id);
    return removed;
}

std::vector<ProductImage> ImageService::List(std::int64_t product_id) {
    return database_.Read([&](db::Connection& c) { return ImagesOf(c, product_id); });
}

std::optional<StoredVariant> ImageService::Variant(std::int64_t product_id, std::int64_t image_id,
                                                   std::string_view token, int width, media::Encoding encoding) {
    const db::Dialect dialect = database_.dialect();
    return database_.Read([&](db::Connection& c) {
        std::optional<StoredVariant> found;
        c.Query(
            "SELECT v.bytes FROM product_image_variants v JOIN product_images i ON i.id = v.image_id"
            " WHERE i.id = ? AND i.product_id = ? AND i.token = ? AND v.width = ? AND v.encoding = ?",
            {image_id, product_id, std::string(token), std::int64_t{width}, std::string(media::Extension(encoding))},
            [&](const db::Row& r) {
                found = StoredVariant{BlobFromColumn(dialect, r.Text(0)), encoding};
            });
        return found;
    });
}

}  // namespace emporium::catalog
