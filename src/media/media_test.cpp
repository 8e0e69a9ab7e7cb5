#include "media/media.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vips/vips8>

namespace emporium::media {
namespace {

using vips::VImage;

std::string TakeBlob(VipsBlob* blob) {
    std::string out(static_cast<const char*>(VIPS_AREA(blob)->data), VIPS_AREA(blob)->length);
    vips_area_unref(VIPS_AREA(blob));
    return out;
}

VImage Load(const std::string& bytes) {
    return VImage::new_from_buffer(bytes.data(), bytes.size(), "");
}

// A drawn picture (media::DrawPicture is a JPEG) saved again in the given format.
std::string Picture(Format format, int width, int height, bool alpha = false) {
    std::string jpeg = DrawPicture(width, height, 7);
    VImage image = Load(jpeg).copy_memory();
    if (alpha) image = image.bandjoin(255);
    switch (format) {
        case Format::kJpeg:
            return TakeBlob(image.jpegsave_buffer());
        case Format::kPng:
            return TakeBlob(image.pngsave_buffer());
        case Format::kWebp:
            return TakeBlob(image.webpsave_buffer());
        case Format::kAvif:
            return TakeBlob(image.heifsave_buffer(
                VImage::option()->set("compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1)->set("effort", 0)));
    }
    return {};
}

// A phone photo: a JPEG with EXIF GPS position, an XMP packet and a comment.
std::string PhotoWithGps() {
    VImage image = Load(DrawPicture(800, 600, 3)).copy_memory();
    image.set("exif-ifd0-Make", "PhoneMaker (PhoneMaker, ASCII, 11 components, 11 bytes)");
    image.set("exif-ifd3-GPSLatitudeRef", "N (N, ASCII, 2 components, 2 bytes)");
    image.set("exif-ifd3-GPSLatitude", "51/1 30/1 1234/100 (51, 30, 12.34, Rational, 3 components, 24 bytes)");
    image.set("exif-ifd3-GPSLongitudeRef", "W (W, ASCII, 2 components, 2 bytes)");
    image.set("exif-ifd3-GPSLongitude", "0/1 7/1 3900/100 (0, 7, 39.00, Rational, 3 components, 24 bytes)");
    const std::string xmp =
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><exif:GPSLatitude>51,30.2N</exif:GPSLatitude></x:xmpmeta>";
    image.set(VIPS_META_XMP_NAME, nullptr, const_cast<char*>(xmp.data()), xmp.size());
    return TakeBlob(image.jpegsave_buffer());
}

std::vector<std::string> MetadataFields(const std::string& bytes) {
    VImage image = Load(bytes);
    std::vector<std::string> found;
    gchar** fields = vips_image_get_fields(image.get_image());
    for (gchar** f = fields; *f; ++f) {
        std::string name(*f);
        if (name.starts_with("exif-") || name.starts_with("xmp-") || name.starts_with("iptc-") ||
            name.starts_with("icc-")) {
            found.push_back(name);
        }
    }
    g_strfreev(fields);
    return found;
}

void AppendChunk(std::string& png, std::string_view type, const std::string& data) {
    const auto length = static_cast<std::uint32_t>(data.size());
    for (int shift = 24; shift >= 0; shift -= 8) png.push_back(static_cast<char>((length >> shift) & 0xff));
    std::string body = std::string(type) + data;
    png += body;
    const auto crc = static_cast<std::uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
    for (int shift = 24; shift >= 0; shift -= 8) png.push_back(static_cast<char>((crc >> shift) & 0xff));
}

// A decompression bomb: a few hundred bytes that declare 50,000 x 50,000 grey pixels.
std::string PngBomb() {
    std::string png = "\x89PNG\r\n\x1a\n";
    std::string ihdr;
    for (std::uint32_t v : {50'000U, 50'000U}) {
        for (int shift = 24; shift >= 0; shift -= 8) ihdr.push_back(static_cast<char>((v >> shift) & 0xff));
    }
    ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit grey, deflate, no filter, no interlace
    AppendChunk(png, "IHDR", ihdr);
    const std::string zeros(50'001, '\0');  // the first row; the rest would follow compressed alike
    uLongf size = compressBound(zeros.size());
    std::string idat(size, '\0');
    compress2(reinterpret_cast<Bytef*>(idat.data()), &size, reinterpret_cast<const Bytef*>(zeros.data()), zeros.size(),
              9);
    idat.resize(size);
    AppendChunk(png, "IDAT", idat);
    AppendChunk(png, "IEND", "");
    return png;
}

std::string CodeOf(const Result<Processed>& r) {
    if (r.ok()) return "ok";
    if (!r.error().fields.empty()) return r.error().fields[0].code;
    return r.error().code;
}

TEST(MediaTest, SniffsFormatsByTheirBytesOnly) {
    EXPECT_EQ(SniffFormat(Picture(Format::kJpeg, 40, 30)), Format::kJpeg);
    EXPECT_EQ(SniffFormat(Picture(Format::kPng, 40, 30)), Format::kPng);
    EXPECT_EQ(SniffFormat(Picture(Format::kWebp, 40, 30)), Format::kWebp);
    EXPECT_EQ(SniffFormat(Picture(Format::kAvif, 40, 30)), Format::kAvif);
    EXPECT_EQ(SniffFormat("<html><body>hello</body></html>"), std::nullopt);
    EXPECT_EQ(SniffFormat("GIF89a\x01\x00\x01\x00"), std::nullopt);
    EXPECT_EQ(SniffFormat(""), std::nullopt);
    EXPECT_EQ(SniffFormat(std::string("\x00\x00\x00\x18"
                                      "ftypheic\x00\x00\x00\x00"
                                      "mif1heic",
                                      24)),
              std::nullopt);
}

TEST(MediaTest, VariantWidthsNeverUpscale) {
    EXPECT_EQ(VariantWidths(4000), (std::vector<int>{320, 640, 1280}));
    EXPECT_EQ(VariantWidths(1280), (std::vector<int>{320, 640, 1280}));
    EXPECT_EQ(VariantWidths(1000), (std::vector<int>{320, 640, 1000}));
    EXPECT_EQ(VariantWidths(640), (std::vector<int>{320, 640}));
    EXPECT_EQ(VariantWidths(200), (std::vector<int>{200}));
}

TEST(MediaTest, EveryFormatBecomesEveryVariantInEveryEncoding) {
    for (Format format : {Format::kJpeg, Format::kPng, Format::kWebp, Format::kAvif}) {
        SCOPED_TRACE(static_cast<int>(format));
        Result<Processed> r = Process(Picture(format, 900, 600, format == Format::kPng));
        ASSERT_TRUE(r.ok()) << CodeOf(r);
        EXPECT_EQ(r->width, 900);
        EXPECT_EQ(r->height, 600);
        ASSERT_EQ(r->variants.size(), 9U);  // 320, 640, 900 x AVIF, WebP, JPEG
        for (const Variant& v : r->variants) {
            VImage served = Load(v.bytes);
            EXPECT_EQ(served.width(), v.width);
            EXPECT_EQ(served.height(), v.height);
            EXPECT_EQ(v.height, (v.width * 600 + 450) / 900);
            EXPECT_EQ(SniffFormat(v.bytes), v.encoding == Encoding::kAvif   ? Format::kAvif
                                            : v.encoding == Encoding::kWebp ? Format::kWebp
                                                                            : Format::kJpeg);
        }
    }
}

TEST(MediaTest, NoServedVariantKeepsExifGpsXmpOrIcc) {
    const std::string photo = PhotoWithGps();
    std::vector<std::string> before = MetadataFields(photo);
    ASSERT_NE(std::find(before.begin(), before.end(), "exif-ifd3-GPSLatitude"), before.end());  // the test is real
    ASSERT_NE(std::find(before.begin(), before.end(), VIPS_META_XMP_NAME), before.end());
    Result<Processed> r = Process(photo);
    ASSERT_TRUE(r.ok()) << CodeOf(r);
    ASSERT_EQ(r->variants.size(), 9U);
    for (const Variant& v : r->variants) {
        EXPECT_EQ(MetadataFields(v.bytes), std::vector<std::string>{}) << MimeType(v.encoding) << " " << v.width;
        EXPECT_EQ(v.bytes.find("Exif"), std::string::npos);
        EXPECT_EQ(v.bytes.find("GPS"), std::string::npos);
        EXPECT_EQ(v.bytes.find("xmpmeta"), std::string::npos);
        EXPECT_EQ(v.bytes.find("PhoneMaker"), std::string::npos);
    }
}

TEST(MediaTest, TooLargeIsRefusedBeforeAnythingElse) {
    std::string big = Picture(Format::kJpeg, 64, 64);
    big.resize(kMaxBytes + 1, '\0');
    Result<Processed> r = Process(big);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kPayloadTooLarge);
}

TEST(MediaTest, ADecompressionBombIsRefusedFromItsHeader) {
    const std::string bomb = PngBomb();
    EXPECT_LT(bomb.size(), 1000U);
    Result<Processed> r = Process(bomb);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kValidation);
    EXPECT_EQ(CodeOf(r), "too_many_pixels");
}

TEST(MediaTest, ATruncatedPictureIsRefused) {
    for (Format format : {Format::kJpeg, Format::kPng, Format::kWebp}) {
        SCOPED_TRACE(static_cast<int>(format));
        std::string whole = Picture(format, 400, 300);
        Result<Processed> r = Process(whole.substr(0, whole.size() / 2));
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().kind, ErrorKind::kValidation);
        EXPECT_EQ(CodeOf(r), "undecodable");
    }
}

TEST(MediaTest, APolyglotIsRefused) {
    const std::string zip = std::string("PK\x03\x04\x14\x00\x00\x00\x08\x00", 10) + "payload.js" +
                            std::string("PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00", 12);
    const std::string html = "<html><script>alert(document.cookie)</script></html>";
    for (Format format : {Format::kJpeg, Format::kPng, Format::kWebp, Format::kAvif}) {
        SCOPED_TRACE(static_cast<int>(format));
        for (const std::string& tail : {zip, html}) {
            Result<Processed> r = Process(Picture(format, 120, 90) + tail);
            ASSERT_FALSE(r.ok());
            EXPECT_EQ(r.error().kind, ErrorKind::kValidation);
            EXPECT_EQ(CodeOf(r), "polyglot");
        }
    }
}

TEST(MediaTest, OtherContentIsUnsupportedWhateverItIsCalled) {
    for (const std::string& bytes : {std::string("<html><script>alert(1)</script></html>"),
                                     std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00", 13), std::string()}) {
        Result<Processed> r = Process(bytes);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().kind, ErrorKind::kUnsupportedMedia) << bytes;
    }
}

TEST(MediaTest, HtmlBehindAJpegSignatureIsUndecodable) {
    Result<Processed> r = Process(std::string("\xff\xd8\xff\xe0<html><script>alert(1)</script></html>"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(CodeOf(r), "undecodable");
}

TEST(MediaTest, EncodingsHaveExtensionsBothWays) {
    for (Encoding e : kEncodings) EXPECT_EQ(EncodingFromExtension(Extension(e)), e);
    EXPECT_EQ(EncodingFromExtension("png"), std::nullopt);
    EXPECT_EQ(MimeType(Encoding::kAvif), "image/avif");
}

}  // namespace
}  // namespace emporium::media
