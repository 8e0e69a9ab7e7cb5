// Product photos: checks an uploaded picture by its content, decodes it with libvips and makes the
// variants the shop serves (320, 640 and 1280 pixels wide as AVIF, WebP and JPEG), re-encoded
// with every metadata block dropped, so no uploaded byte (and no EXIF GPS position) is ever
// served. Plain synchronous code that keeps a core busy for a while: call it off the network
// threads (the server's heavy routes). libvips stays inside media.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace emporium::media {

inline constexpr std::size_t kMaxBytes = std::size_t{10} * 1024 * 1024;  // larger: 413
inline constexpr std::int64_t kMaxPixels = 40'000'000;                   // width x height; larger: 422
inline constexpr std::array<int, 3> kWidths = {320, 640, 1280};

// What an upload may be, by its magic bytes.
enum class Format { kJpeg, kPng, kWebp, kAvif };

// What a variant is encoded as, best first (the order of <source> elements in a <picture>).
enum class Encoding { kAvif, kWebp, kJpeg };
inline constexpr std::array<Encoding, 3> kEncodings = {Encoding::kAvif, Encoding::kWebp, Encoding::kJpeg};

struct Variant {
    int width = 0;
    int height = 0;
    Encoding encoding = Encoding::kJpeg;
    std::string bytes;
};

struct Processed {
    int width = 0;  // the picture's own size, after turning it upright as its EXIF says
    int height = 0;
    std::vector<Variant> variants;  // every width of VariantWidths in every encoding
};

// The format the leading bytes announce (JPEG SOI, PNG signature, RIFF/WEBP, an ISO-BMFF ftyp
// box with an AVIF brand); nullopt for anything else. Names and Content-Type headers are never
// consulted.
std::optional<Format> SniffFormat(std::string_view bytes);

// The widths made for a picture this wide: those of kWidths below it, and the picture's own
// width capped at the largest (never upscaled). Ascending, never empty for width >= 1.
std::vector<int> VariantWidths(int width);

// Checks and re-encodes one upload. Errors (and nothing else happens):
//   413 `payload_too_large`  more than kMaxBytes;
//   415 `unsupported_media_type`  not JPEG, PNG, WebP or AVIF by content, or libvips' own
//        loader disagrees with the magic bytes;
//   422 `polyglot`  bytes after the end of the image (a ZIP or HTML appended);
//   422 `too_many_pixels`  the header declares more than kMaxPixels (checked before decoding);
//   422 `undecodable`  truncated or corrupt (libvips fails on the first decoder error).
Result<Processed> Process(std::string_view bytes);

std::string_view MimeType(Encoding encoding);   // "image/avif", ...
std::string_view Extension(Encoding encoding);  // "avif", "webp", "jpg"
// The encoding an extension names; nullopt for any other text.
std::optional<Encoding> EncodingFromExtension(std::string_view extension);

// A picture drawn by libvips (a diagonal gradient with a disc), encoded as JPEG: for the demo
// seed and tests, so nothing is downloaded. Deterministic for equal input.
std::string DrawPicture(int width, int height, std::uint32_t seed);

}  // namespace emporium::media
