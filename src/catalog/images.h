// Product photos (issue 18): up to kMaxImages per product, each stored as the variants
// media::Process made (AVIF, WebP and JPEG at up to three widths). Everything lives in the
// database, on SQLite and PostgreSQL alike, so that any node serves any picture and a backup
// carries them with the rest of the shop. Plain synchronous service code over db::Database;
// catalog_routes.cpp maps it to HTTP.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"
#include "media/media.h"

namespace emporium::catalog {

inline constexpr std::int64_t kMaxImages = 8;
inline constexpr std::size_t kMaxAltLength = 250;  // characters

struct ProductImage {
    std::int64_t id = 0;
    std::int64_t product_id = 0;
    std::int64_t position = 0;  // 0 first; the order a product page shows them in
    bool is_main = false;       // exactly one per product that has any
    std::string alt;
    int width = 0;  // the uploaded picture's size, upright
    int height = 0;
    std::string token;  // changes with every upload: the variants' addresses are immutable
    std::int64_t created_at = 0;
};

// A variant's address: /api/products/{product}/images/{image}/{width}-{token}.{ext}.
std::string ImageVariantUrl(const ProductImage& image, int width, media::Encoding encoding);

// The address a product answer's image_url gives for its main picture (the 640-wide JPEG, or the
// widest below it): every browser shows JPEG.
std::string MainImageUrl(const ProductImage& image);

// The images of these products, by product then position.
std::vector<ProductImage> ReadImages(db::Connection& c, const std::vector<std::int64_t>& product_ids);

// The tables of images and their variants, for the dialect (catalog migration 3).
std::string ImageTablesSql(db::Dialect dialect);

// What PATCH /api/products/{id}/images/{image_id} may change; absent fields stay.
struct ImageChange {
    std::optional<std::int64_t> position;  // moves the image there (0 first), the others shift
    std::optional<bool> is_main;           // only true: makes it the main one
    std::optional<std::string> alt;
};

// One stored variant, as GET serves it.
struct StoredVariant {
    std::string bytes;
    media::Encoding encoding = media::Encoding::kJpeg;
};

class ImageService {
public:
    // changed(product_id) is called after every committed change (the catalog empties its caches).
    ImageService(db::Database& database, const Clock& clock, std::function<void(std::int64_t)> changed);

    // Checks and re-encodes bytes (media::Process: 413, 415, 422) and adds the picture as the
    // product's last; the first one becomes the main one. 404 for an archived or unknown product
    // (or, with only_seller, another seller's); 409 `too_many_images` past kMaxImages; 422 for a
    // bad alt. Nothing is stored on any error. Takes a core for a while: call it off the network
    // threads.
    Result<ProductImage> Add(std::int64_t product_id, std::string_view bytes, const std::string& alt,
                             std::optional<std::int64_t> only_seller);

    // Changes one image and answers the product's images in their new order. 404 as Add (and for
    // an image of another product); 422 for a bad field.
    Result<std::vector<ProductImage>> Change(std::int64_t product_id, std::int64_t image_id, const ImageChange& change,
                                             std::optional<std::int64_t> only_seller);

    // Deletes one image with its variants; the next one becomes the main one if it was. 404 as
    // Change.
    Status Remove(std::int64_t product_id, std::int64_t image_id, std::optional<std::int64_t> only_seller);

    // The product's images, in order (an empty list for an unknown product).
    std::vector<ProductImage> List(std::int64_t product_id);

    // One variant's bytes, when the image exists and token, width and encoding name one of its
    // variants; nullopt otherwise.
    std::optional<StoredVariant> Variant(std::int64_t product_id, std::int64_t image_id, std::string_view token,
                                         int width, media::Encoding encoding);

private:
    db::Database& database_;
    const Clock& clock_;
    std::function<void(std::int64_t)> changed_;
};

}  // namespace emporium::catalog
