// Draws a product's picture as SVG when a seller gave none: a colour field chosen from the
// category, the product's initials and its category's name. Deterministic for equal input.
#pragma once

#include <string>
#include <string_view>

namespace emporium::catalog {

// An SVG document, 600x600, with every text XML-escaped.
std::string RenderProductImage(std::string_view name, std::string_view category_slug, std::string_view category_name);

}  // namespace emporium::catalog
