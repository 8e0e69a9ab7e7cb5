#include "catalog/product_image.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>

namespace emporium::catalog {
namespace {

void AppendXmlEscaped(std::string& out, std::string_view text) {
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                out += c;
        }
    }
}

std::uint32_t Hash(std::string_view s) {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : s) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

// Up to two initials from the first words that start with a letter or digit.
std::string Initials(std::string_view name) {
    std::string out;
    bool at_word_start = true;
    for (char ch : name) {
        auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c)) {
            if (at_word_start && out.size() < 2) out += static_cast<char>(std::toupper(c));
            at_word_start = false;
        } else if (c == ' ' || c == '-' || c == ':') {
            at_word_start = true;
        }
    }
    return out.empty() ? "?" : out;
}

}  // namespace

// Bump when RenderProductImage draws differently, so every picture gets a new address.
constexpr std::string_view kDrawing = "1";

std::string ProductImageVersion(std::string_view name, std::string_view category_slug, std::string_view category_name) {
    std::string input;
    input.reserve(kDrawing.size() + name.size() + category_slug.size() + category_name.size() + 3);
    for (std::string_view part : {kDrawing, name, category_slug, category_name}) {
        input += part;
        input += '\x1f';  // a separator no name holds, so ("ab", "c") and ("a", "bc") differ
    }
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(Hash(input)));
    return hex;
}

std::string RenderProductImage(std::string_view name, std::string_view category_slug, std::string_view category_name) {
    // Pairs of gradient colours that read well behind white text.
    static constexpr std::array<std::pair<const char*, const char*>, 8> kPalettes = {{
        {"#5b2bd9", "#b23ad9"},
        {"#0b7285", "#15aabf"},
        {"#2b8a3e", "#74b816"},
        {"#c2255c", "#f06595"},
        {"#e8590c", "#fab005"},
        {"#1864ab", "#4dabf7"},
        {"#5f3dc4", "#3bc9db"},
        {"#862e9c", "#e64980"},
    }};
    const auto& palette = kPalettes[Hash(category_slug) % kPalettes.size()];
    const std::uint32_t shape = Hash(name);
    std::string svg;
    svg.reserve(1024);
    svg +=
        R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600" viewBox="0 0 600 600" role="img" aria-label=")svg";
    AppendXmlEscaped(svg, name);
    svg += R"svg("><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color=")svg";
    svg += palette.first;
    svg += R"svg("/><stop offset="1" stop-color=")svg";
    svg += palette.second;
    svg += R"svg("/></linearGradient></defs><rect width="600" height="600" fill="url(#g)"/>)svg";
    // Two soft circles placed by the name's hash give each product its own picture.
    svg += "<circle cx=\"" + std::to_string(100 + shape % 400) + "\" cy=\"" + std::to_string(80 + (shape >> 8) % 200) +
           "\" r=\"" + std::to_string(120 + (shape >> 16) % 100) + "\" fill=\"#ffffff\" fill-opacity=\"0.10\"/>";
    svg += "<circle cx=\"" + std::to_string(500 - (shape >> 4) % 300) + "\" cy=\"" +
           std::to_string(420 + (shape >> 12) % 120) + "\" r=\"" + std::to_string(90 + (shape >> 20) % 80) +
           "\" fill=\"#000000\" fill-opacity=\"0.10\"/>";
    svg +=
        R"svg(<text x="300" y="330" text-anchor="middle" font-family="system-ui, sans-serif" font-size="180" font-weight="700" fill="#ffffff">)svg";
    AppendXmlEscaped(svg, Initials(name));
    svg +=
        R"svg(</text><text x="300" y="520" text-anchor="middle" font-family="system-ui, sans-serif" font-size="34" fill="#ffffff" fill-opacity="0.85">)svg";
    AppendXmlEscaped(svg, category_name);
    svg += "</text></svg>";
    return svg;
}

std::string ProductImageAddress(std::int64_t product_id, std::string_view image_url, std::string_view name,
                                std::string_view category_slug, std::string_view category_name) {
    if (!image_url.empty()) return std::string(image_url);
    return "/api/products/" + std::to_string(product_id) +
           "/image.svg?v=" + ProductImageVersion(name, category_slug, category_name);
}

}  // namespace emporium::catalog
