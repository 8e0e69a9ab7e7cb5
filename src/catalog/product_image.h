// Draws a product's picture as SVG when a seller gave none: a colour field chosen from the
// category, the product's initials and its category's name. Deterministic for equal input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace emporium::catalog {

// An SVG document, 600x600, with every text XML-escaped.
std::string RenderProductImage(std::string_view name, std::string_view category_slug, std::string_view category_name);

// Eight hex digits that change whenever RenderProductImage would draw something else for this
// input (a new name, category, or drawing). Product answers put it in the picture's address
// (?v=), so browsers may keep a picture for a year: a changed one comes under a new address.
std::string ProductImageVersion(std::string_view name, std::string_view category_slug, std::string_view category_name);

// A product's picture address in every answer (product, list, cart): the seller's own image_url
// when it gave one, else the drawn picture's, with its version.
std::string ProductImageAddress(std::int64_t product_id, std::string_view image_url, std::string_view name,
                                std::string_view category_slug, std::string_view category_name);

}  // namespace emporium::catalog
