// An answer's bytes made once and sent many times: the text itself and its gzip and brotli
// encodings. What the read cache holds and what the server sends without copying, so that a
// cached answer costs neither serialisation nor compression on a hit.
//
// A PreparedText comes from plain bytes (a serialised answer from a handler, or one read from a
// shared cache such as Redis, which stores only the text) and is immutable to its readers. Each
// encoding is made the first time a client asks for it, once, and kept: an answer nobody asks to
// compress never pays for compression, and one that many ask for pays once.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace emporium {

// True when an Accept-Encoding value accepts coding ("br", "gzip"; lower case) with a q value
// above zero. Codings are matched without regard to case, as RFC 9110 says.
bool AcceptsEncoding(std::string_view accept_encoding, std::string_view coding);

class PreparedText {
public:
    // How hard the encodings squeeze. kFast suits answers made while serving (a cache fill: a few
    // hundred microseconds for a page of products); kBest suits files compressed once for good.
    enum class Effort { kFast, kBest };

    // Bodies shorter than this are never compressed: the saving is smaller than the headers.
    static constexpr std::size_t kMinCompressible = 256;

    // Text that may be sent compressed (compressible: JSON, HTML, CSS, SVG) or never (images,
    // which are compressed already).
    static std::shared_ptr<const PreparedText> Make(std::string text, bool compressible = true,
                                                    Effort effort = Effort::kFast);

    // Encodings made ahead of time (by the web page's build); an empty one is made on first use.
    struct Encodings {
        std::string gzip;
        std::string brotli;
    };
    static std::shared_ptr<const PreparedText> WithEncodings(std::string text, Encodings made, Effort effort);

    PreparedText(std::string text, bool compressible, Effort effort);

    const std::string& text() const { return text_; }

    // The bytes to send to a client whose Accept-Encoding is accept_encoding, and the coding to
    // name in Content-Encoding ("" for the text itself). Prefers br, then gzip; an encoding is
    // made on first use, once, from any thread, and not used when it is no smaller.
    struct Choice {
        std::string_view bytes;
        std::string_view coding;
    };
    Choice For(std::string_view accept_encoding) const;

    // Whether an encoded variant may exist: answers then say Vary: Accept-Encoding.
    bool compressible() const { return compressible_; }

    // What the text and its encodings take in memory, counting encodings not made yet at the
    // share JSON typically shrinks to, so that a cache's bound holds before they are made.
    std::size_t MemoryCost() const { return MemoryCostOf(text_.size(), compressible_); }
    static std::size_t MemoryCostOf(std::size_t text_size, bool compressible);

private:
    struct Encoding {
        mutable std::once_flag made;
        mutable std::string bytes;  // written once under `made`, read-only afterwards
    };
    const std::string& Get(const Encoding& encoding, bool brotli) const;

    std::string text_;
    bool compressible_;
    Effort effort_;
    Encoding gzip_;
    Encoding brotli_;
};

// gzip (RFC 1952) and brotli encodings of text; empty on failure.
std::string GzipCompress(std::string_view text, PreparedText::Effort effort);
std::string BrotliCompress(std::string_view text, PreparedText::Effort effort);
// The decoded text of data, or "" when it does not decode or decodes to more than limit bytes.
std::string GzipDecompress(std::string_view data, std::size_t limit);
std::string BrotliDecompress(std::string_view data, std::size_t limit);

}  // namespace emporium
