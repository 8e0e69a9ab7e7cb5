#include "media/media.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <vips/vips8>

namespace emporium::media {
namespace {

using vips::VImage;

// libvips is started once per process, before the first picture: its operation cache off (a
// server must not keep decoded uploads around), loaders of untrusted formats blocked, and one
// thread per picture (the server's heavy queue already bounds how many pictures run at once).
void StartVips() {
    static std::once_flag started;
    std::call_once(started, [] {
        if (VIPS_INIT("emporium") != 0)
            throw std::runtime_error("libvips failed to start: " + std::string(vips_error_buffer()));
        vips_cache_set_max(0);
        vips_cache_set_max_mem(0);
        vips_concurrency_set(1);
        vips_block_untrusted_set(TRUE);
        // A damaged upload makes libvips warn on stderr; the caller answers it with a 422 instead.
        g_log_set_handler(
            "VIPS", static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE),
            [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {}, nullptr);
    });
}

std::uint32_t Be32(std::string_view b, std::size_t at) {
    const auto* p = reinterpret_cast<const unsigned char*>(b.data() + at);
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::uint32_t Le32(std::string_view b, std::size_t at) {
    const auto* p = reinterpret_cast<const unsigned char*>(b.data() + at);
    return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) | p[0];
}

bool IsAvifBrand(std::string_view brand) {
    return brand == "avif" || brand == "avis";
}

// True when the PNG's chunks end with IEND exactly at the last byte.
bool PngEndsAtIend(std::string_view b) {
    std::size_t at = 8;
    while (at + 12 <= b.size()) {
        const std::uint64_t length = Be32(b, at);
        const std::string_view type = b.substr(at + 4, 4);
        const std::uint64_t next = at + 12 + length;
        if (next > b.size()) return false;
        if (type == "IEND") return next == b.size();
        at = static_cast<std::size_t>(next);
    }
    return false;
}

// True when the ISO-BMFF boxes at the top level cover the file exactly.
bool BoxesCoverFile(std::string_view b) {
    std::uint64_t at = 0;
    while (at < b.size()) {
        if (at + 8 > b.size()) return false;
        std::uint64_t size = Be32(b, at);
        if (size == 1) {
            if (at + 16 > b.size()) return false;
            size = (std::uint64_t{Be32(b, at + 8)} << 32) | Be32(b, at + 12);
        } else if (size == 0) {
            size = b.size() - at;
        }
        if (size < 8 || size > b.size() - at) return false;
        at += size;
    }
    return at == b.size();
}

// True when nothing follows the end of the image the format describes.
bool EndsWhereImageEnds(Format format, std::string_view b) {
    switch (format) {
        case Format::kJpeg:
            return b.size() >= 4 && static_cast<unsigned char>(b[b.size() - 2]) == 0xff &&
                   static_cast<unsigned char>(b[b.size() - 1]) == 0xd9;
        case Format::kPng:
            return PngEndsAtIend(b);
        case Format::kWebp: {
            const std::uint64_t riff = Le32(b, 4);
            return 8 + riff + (riff & 1) == b.size() || 8 + riff == b.size();
        }
        case Format::kAvif:
            return BoxesCoverFile(b);
    }
    return false;
}

// libvips' own loader for these bytes (its class name) must be the one the magic bytes chose.
bool VipsAgrees(Format format, std::string_view b) {
    const char* loader = vips_foreign_find_load_buffer(b.data(), b.size());
    if (!loader) {
        vips_error_clear();
        return false;
    }
    const std::string_view name(loader);
    switch (format) {
        case Format::kJpeg:
            return name == "VipsForeignLoadJpegBuffer";
        case Format::kPng:
            return name == "VipsForeignLoadPngBuffer";
        case Format::kWebp:
            return name == "VipsForeignLoadWebpBuffer";
        case Format::kAvif:
            return name == "VipsForeignLoadHeifBuffer";
    }
    return false;
}

// A lazy (header only) load with the format's own loader, failing on the first decoder error.
VImage LoadHeader(Format format, VipsBlob* blob) {
    auto options = [] {
        return VImage::option()->set("fail_on", VIPS_FAIL_ON_ERROR)->set("access", VIPS_ACCESS_SEQUENTIAL);
    };
    switch (format) {
        case Format::kJpeg:
            return VImage::jpegload_buffer(blob, options());
        case Format::kPng:
            return VImage::pngload_buffer(blob, options());
        case Format::kWebp:
            return VImage::webpload_buffer(blob, options());
        case Format::kAvif:
            return VImage::heifload_buffer(blob, options());
    }
    throw std::logic_error("unknown format");
}

// libvips 8.14's WebP saver writes a fresh EXIF block (orientation, resolution) even when told to
// strip: this drops the EXIF, XMP and ICCP chunks of an extended WebP and clears their VP8X flags.
std::string WithoutWebpMetadata(const std::string& webp) {
    if (webp.size() < 12) return webp;
    std::string out = webp.substr(0, 12);
    std::size_t at = 12;
    while (at + 8 <= webp.size()) {
        const std::string_view fourcc(webp.data() + at, 4);
        const std::uint64_t size = Le32(webp, at + 4);
        const std::uint64_t next = at + 8 + size + (size & 1);
        if (next > webp.size()) return webp;
        if (fourcc != "EXIF" && fourcc != "XMP " && fourcc != "ICCP") {
            std::string chunk = webp.substr(at, static_cast<std::size_t>(next - at));
            if (fourcc == "VP8X" && chunk.size() > 8) chunk[8] = static_cast<char>(chunk[8] & ~0x2c);
            out += chunk;
        }
        at = static_cast<std::size_t>(next);
    }
    const auto riff = static_cast<std::uint32_t>(out.size() - 8);
    for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<char>((riff >> (8 * i)) & 0xff);
    return out;
}

std::string TakeBlob(VipsBlob* blob) {
    std::string out(static_cast<const char*>(VIPS_AREA(blob)->data), VIPS_AREA(blob)->length);
    vips_area_unref(VIPS_AREA(blob));
    return out;
}

// A copy of image without any metadata block (EXIF and its parsed fields, XMP, IPTC, ICC): the
// savers strip too, this makes sure nothing reaches them.
VImage WithoutMetadata(const VImage& image) {
    VImage clean = image.copy();
    gchar** fields = vips_image_get_fields(clean.get_image());
    for (gchar** f = fields; *f; ++f) {
        const std::string_view name(*f);
        if (name.starts_with("exif-") || name.starts_with("xmp-") || name.starts_with("iptc-") ||
            name.starts_with("icc-") || name.starts_with("heif-") || name.starts_with("png-comment") ||
            name == "orientation" || name == "jpeg-comment" || name == "gif-comment") {
            clean.remove(*f);
        }
    }
    g_strfreev(fields);
    return clean;
}

// Upright, 8-bit sRGB (with its alpha, if any), no metadata.
VImage Normalise(VImage image) {
    image = image.autorot();
    if (image.get_typeof(VIPS_META_ICC_NAME) != 0) {
        try {
            image = image.icc_transform("srgb", VImage::option()->set("embedded", true));
        } catch (const vips::VError&) {
            vips_error_clear();  // a broken profile: the pixels are taken as sRGB
        }
    }
    image = image.colourspace(VIPS_INTERPRETATION_sRGB);
    if (image.format() != VIPS_FORMAT_UCHAR) image = image.cast(VIPS_FORMAT_UCHAR);
    return WithoutMetadata(image);
}

std::string Encode(const VImage& image, Encoding encoding) {
    switch (encoding) {
        case Encoding::kAvif:
            return TakeBlob(image.heifsave_buffer(VImage::option()
                                                      ->set("compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1)
                                                      ->set("Q", 55)
                                                      ->set("effort", 2)
                                                      ->set("strip", true)));
        case Encoding::kWebp:
            return WithoutWebpMetadata(
                TakeBlob(image.webpsave_buffer(VImage::option()->set("Q", 80)->set("strip", true))));
        case Encoding::kJpeg: {
            // JPEG has no alpha: transparent parts become white.
            VImage flat = image.has_alpha() ? image.flatten(VImage::option()->set("background", 255.0)) : image;
            return TakeBlob(flat.jpegsave_buffer(VImage::option()
                                                     ->set("Q", 82)
                                                     ->set("strip", true)
                                                     ->set("optimize_coding", true)
                                                     ->set("interlace", true)));
        }
    }
    throw std::logic_error("unknown encoding");
}

Processed MakeVariants(const VImage& upright) {
    Processed out;
    out.width = upright.width();
    out.height = upright.height();
    for (int width : VariantWidths(upright.width())) {
        VImage sized =
            width == upright.width() ? upright : upright.resize(static_cast<double>(width) / upright.width());
        sized = sized.copy_memory();
        for (Encoding encoding : kEncodings) {
            out.variants.push_back({sized.width(), sized.height(), encoding, Encode(sized, encoding)});
        }
    }
    return out;
}

Error Refused(std::string code, std::string message) {
    return Error::Validation({FieldError::Coded("image", std::move(code), std::move(message))});
}

Error UnsupportedType() {
    return Error{ErrorKind::kUnsupportedMedia,
                 "unsupported_media_type",
                 "The picture must be a JPEG, PNG, WebP or AVIF image.",
                 {}};
}

// Decodes and re-encodes a picture already known to be of format, with no bytes after its end.
Result<Processed> Decode(Format format, std::string_view bytes) {
    VipsBlob* blob = vips_blob_new(nullptr, bytes.data(), bytes.size());
    try {
        VImage header = LoadHeader(format, blob);
        if (static_cast<std::int64_t>(header.width()) * header.height() > kMaxPixels) {
            vips_area_unref(VIPS_AREA(blob));
            return Refused("too_many_pixels",
                           "The picture has more than " + std::to_string(kMaxPixels / 1'000'000) + " megapixels.");
        }
        VImage decoded = header.copy_memory();  // every pixel decoded: a truncated file fails here
        vips_area_unref(VIPS_AREA(blob));
        return MakeVariants(Normalise(decoded));
    } catch (const vips::VError&) {
        vips_area_unref(VIPS_AREA(blob));
        vips_error_clear();
        return Refused("undecodable", "The picture is truncated or damaged and cannot be read.");
    }
}

}  // namespace

std::optional<Format> SniffFormat(std::string_view b) {
    if (b.size() >= 3 && b.substr(0, 3) == "\xff\xd8\xff") return Format::kJpeg;
    if (b.size() >= 8 && b.substr(0, 8) == "\x89PNG\r\n\x1a\n") return Format::kPng;
    if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP") return Format::kWebp;
    if (b.size() >= 16 && b.substr(4, 4) == "ftyp") {
        const std::size_t box = std::min<std::size_t>(Be32(b, 0), b.size());
        if (IsAvifBrand(b.substr(8, 4))) return Format::kAvif;
        for (std::size_t at = 16; at + 4 <= box; at += 4) {
            if (IsAvifBrand(b.substr(at, 4))) return Format::kAvif;
        }
    }
    return std::nullopt;
}

std::vector<int> VariantWidths(int width) {
    std::vector<int> widths;
    for (int w : kWidths) {
        if (w < width) widths.push_back(w);
    }
    const int top = std::min(width, kWidths.back());
    if (widths.empty() || widths.back() != top) widths.push_back(top);
    return widths;
}

Result<Processed> Process(std::string_view bytes) {
    if (bytes.size() > kMaxBytes) {
        return Error{ErrorKind::kPayloadTooLarge,
                     "payload_too_large",
                     "The picture is larger than " + std::to_string(kMaxBytes / (std::size_t{1024} * 1024)) + " MB.",
                     {}};
    }
    StartVips();
    std::optional<Format> format = SniffFormat(bytes);
    if (!format || !VipsAgrees(*format, bytes)) return UnsupportedType();
    Result<Processed> processed = Decode(*format, bytes);
    if (!processed.ok()) return processed;
    // Checked after decoding, so that a truncated file is called truncated, not a polyglot.
    if (!EndsWhereImageEnds(*format, bytes)) {
        return Refused("polyglot", "The picture has other data after its end (another file appended).");
    }
    return processed;
}

std::string_view MimeType(Encoding encoding) {
    switch (encoding) {
        case Encoding::kAvif:
            return "image/avif";
        case Encoding::kWebp:
            return "image/webp";
        case Encoding::kJpeg:
            return "image/jpeg";
    }
    return "application/octet-stream";
}

std::string_view Extension(Encoding encoding) {
    switch (encoding) {
        case Encoding::kAvif:
            return "avif";
        case Encoding::kWebp:
            return "webp";
        case Encoding::kJpeg:
            return "jpg";
    }
    return "";
}

std::optional<Encoding> EncodingFromExtension(std::string_view extension) {
    for (Encoding e : kEncodings) {
        if (Extension(e) == extension) return e;
    }
    return std::nullopt;
}

std::string DrawPicture(int width, int height, std::uint32_t seed) {
    StartVips();
    VImage xy = VImage::xyz(width, height);
    VImage x = xy[0];
    VImage y = xy[1];
    const double tint = static_cast<double>((seed * 37U) % 160U);
    VImage red = x * (255.0 / width);
    VImage green = y * (255.0 / height);
    VImage blue = (x + y) * (95.0 / (width + height)) + tint;
    VImage field = red.bandjoin(green).bandjoin(blue);
    const double cx = width * (0.3 + 0.4 * ((seed % 7U) / 6.0));
    const double cy = height * (0.3 + 0.4 * ((seed % 5U) / 4.0));
    const double radius = std::min(width, height) * 0.25;
    VImage disc = ((x - cx).pow(2) + (y - cy).pow(2)) < radius * radius;
    VImage picture = disc.ifthenelse(field * 0.4 + 150.0, field).cast(VIPS_FORMAT_UCHAR);
    picture = picture.copy(VImage::option()->set("interpretation", VIPS_INTERPRETATION_sRGB));
    return TakeBlob(picture.jpegsave_buffer(VImage::option()->set("Q", 90)));
}

}  // namespace emporium::media
