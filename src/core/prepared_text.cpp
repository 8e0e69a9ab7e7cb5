#include "core/prepared_text.h"

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <zlib.h>

namespace emporium {
namespace {

// Measured on a page of 24 products (about 20 KB of JSON) on this project's 2-core machines:
// brotli 4 and gzip 5 take a few hundred microseconds and keep within a few percent of the best.
constexpr int kFastBrotli = 4;
constexpr int kFastGzip = 5;
// A typical JSON answer shrinks to a fifth or less in either encoding.
constexpr std::size_t kExpectedShrink = 5;

bool Smaller(const std::string& encoded, const std::string& text) {
    return !encoded.empty() && encoded.size() < text.size();
}

}  // namespace

bool AcceptsEncoding(std::string_view accept_encoding, std::string_view coding) {
    std::size_t pos = 0;
    while (pos < accept_encoding.size()) {
        std::size_t comma = accept_encoding.find(',', pos);
        std::string_view item = accept_encoding.substr(pos, comma == std::string_view::npos ? comma : comma - pos);
        pos = comma == std::string_view::npos ? accept_encoding.size() : comma + 1;
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        std::string_view name = item.substr(0, item.find(';'));
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
        if (name.size() != coding.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < name.size(); ++i) {
            char c = name[i];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            same = same && c == coding[i];
        }
        if (!same) continue;
        std::size_t q = item.find("q=");
        return q == std::string_view::npos || item.substr(q + 2).find_first_not_of("0. ") != std::string_view::npos;
    }
    return false;
}

std::string GzipCompress(std::string_view text, PreparedText::Effort effort) {
    const int level = effort == PreparedText::Effort::kBest ? Z_BEST_COMPRESSION : kFastGzip;
    z_stream z{};
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return {};
    std::string out(deflateBound(&z, text.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return rc == Z_STREAM_END ? out : std::string();
}

std::string BrotliCompress(std::string_view text, PreparedText::Effort effort) {
    const int quality = effort == PreparedText::Effort::kBest ? BROTLI_MAX_QUALITY : kFastBrotli;
    std::size_t size = BrotliEncoderMaxCompressedSize(text.size());
    if (size == 0) return {};
    std::string out(size, '\0');
    if (!BrotliEncoderCompress(quality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, text.size(),
                               reinterpret_cast<const uint8_t*>(text.data()), &size,
                               reinterpret_cast<uint8_t*>(out.data()))) {
        return {};
    }
    out.resize(size);
    return out;
}

std::string GzipDecompress(std::string_view data, std::size_t limit) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) return {};
    std::string out;
    char chunk[16384];
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    int rc = Z_OK;
    while (rc == Z_OK && out.size() <= limit) {
        z.next_out = reinterpret_cast<Bytef*>(chunk);
        z.avail_out = sizeof chunk;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(chunk, sizeof chunk - z.avail_out);
        if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
    }
    inflateEnd(&z);
    return rc == Z_STREAM_END && out.size() <= limit ? out : std::string();
}

std::string BrotliDecompress(std::string_view data, std::size_t limit) {
    BrotliDecoderState* state = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
    if (!state) return {};
    std::string out;
    std::size_t available_in = data.size();
    const auto* next_in = reinterpret_cast<const uint8_t*>(data.data());
    BrotliDecoderResult rc = BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT;
    while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT && out.size() <= limit) {
        uint8_t chunk[16384];
        std::size_t available_out = sizeof chunk;
        uint8_t* next_out = chunk;
        rc = BrotliDecoderDecompressStream(state, &available_in, &next_in, &available_out, &next_out, nullptr);
        out.append(reinterpret_cast<const char*>(chunk), sizeof chunk - available_out);
    }
    BrotliDecoderDestroyInstance(state);
    return rc == BROTLI_DECODER_RESULT_SUCCESS && out.size() <= limit ? out : std::string();
}

PreparedText::PreparedText(std::string text, bool compressible, Effort effort)
    : text_(std::move(text)), compressible_(compressible && text_.size() >= kMinCompressible), effort_(effort) {}

std::shared_ptr<const PreparedText> PreparedText::Make(std::string text, bool compressible, Effort effort) {
    return std::make_shared<const PreparedText>(std::move(text), compressible, effort);
}

std::shared_ptr<const PreparedText> PreparedText::WithEncodings(std::string text, Encodings made, Effort effort) {
    auto prepared = std::make_shared<PreparedText>(std::move(text), true, effort);
    // One that saves nothing is not kept, and the encoding is made on first use instead.
    auto adopt = [&prepared](const Encoding& slot, std::string given) {
        if (!prepared->compressible_ || !Smaller(given, prepared->text_)) return;
        std::call_once(slot.made, [&] { slot.bytes = std::move(given); });
    };
    adopt(prepared->gzip_, std::move(made.gzip));
    adopt(prepared->brotli_, std::move(made.brotli));
    return prepared;
}

const std::string& PreparedText::Get(const Encoding& encoding, bool brotli) const {
    std::call_once(encoding.made, [&] {
        if (!compressible_) return;
        std::string bytes = brotli ? BrotliCompress(text_, effort_) : GzipCompress(text_, effort_);
        if (Smaller(bytes, text_)) encoding.bytes = std::move(bytes);
    });
    return encoding.bytes;
}

PreparedText::Choice PreparedText::For(std::string_view accept_encoding) const {
    if (compressible_ && !accept_encoding.empty()) {
        if (AcceptsEncoding(accept_encoding, "br")) {
            if (const std::string& bytes = Get(brotli_, true); !bytes.empty()) return {bytes, "br"};
        }
        if (AcceptsEncoding(accept_encoding, "gzip")) {
            if (const std::string& bytes = Get(gzip_, false); !bytes.empty()) return {bytes, "gzip"};
        }
    }
    return {text_, {}};
}

std::size_t PreparedText::MemoryCostOf(std::size_t text_size, bool compressible) {
    const bool encodable = compressible && text_size >= kMinCompressible;
    return text_size + (encodable ? 2 * (text_size / kExpectedShrink) : 0);
}

}  // namespace emporium
