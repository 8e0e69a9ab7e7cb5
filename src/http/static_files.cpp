#include "http/static_files.h"

#include <brotli/encode.h>
#include <zlib.h>

#include <fstream>
#include <sstream>

#include "core/result.h"
#include "http/errors.h"

namespace emporium::http {
namespace {

std::string ContentTypeFor(const std::filesystem::path& path) {
    static const std::unordered_map<std::string, std::string> kTypes = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".webp", "image/webp"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".woff", "font/woff"},
        {".ttf", "font/ttf"},
        {".txt", "text/plain; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
        {".map", "application/json"},
    };
    auto it = kTypes.find(path.extension().string());
    return it == kTypes.end() ? "application/octet-stream" : it->second;
}

bool Compressible(const std::string& content_type) {
    return content_type.starts_with("text/") || content_type.starts_with("application/json") ||
           content_type.starts_with("image/svg") || content_type.starts_with("application/manifest");
}

std::string Gzip(const std::string& input) {
    z_stream z{};
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return {};
    std::string out(deflateBound(&z, input.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    z.avail_in = static_cast<uInt>(input.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return rc == Z_STREAM_END ? out : std::string();
}

std::string Brotli(const std::string& input) {
    std::size_t size = BrotliEncoderMaxCompressedSize(input.size());
    if (size == 0) return {};
    std::string out(size, '\0');
    if (!BrotliEncoderCompress(BROTLI_MAX_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, input.size(),
                               reinterpret_cast<const uint8_t*>(input.data()), &size,
                               reinterpret_cast<uint8_t*>(out.data()))) {
        return {};
    }
    out.resize(size);
    return out;
}

// FNV-1a: enough to tell versions of one file apart for ETags.
std::string Fingerprint(const std::string& data) {
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : data) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    char buffer[24];
    std::snprintf(buffer, sizeof buffer, "\"%016llx\"", static_cast<unsigned long long>(h));
    return buffer;
}

// True when the client accepts the coding with a non-zero q value.
bool Accepts(std::string_view accept_encoding, std::string_view coding) {
    std::size_t pos = 0;
    while (pos < accept_encoding.size()) {
        std::size_t comma = accept_encoding.find(',', pos);
        std::string_view item = accept_encoding.substr(pos, comma == std::string_view::npos ? comma : comma - pos);
        pos = comma == std::string_view::npos ? accept_encoding.size() : comma + 1;
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        std::string_view name = item.substr(0, item.find(';'));
        while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
        if (name != coding) continue;
        std::size_t q = item.find("q=");
        return q == std::string_view::npos || item.substr(q + 2).find_first_not_of("0.") != std::string_view::npos;
    }
    return false;
}

std::string ReadWhole(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream data;
    data << in.rdbuf();
    return std::move(data).str();
}

// FILE.br or FILE.gz beside FILE, as the page's build writes them; nullopt when there is none.
std::optional<std::string> ReadVariant(const std::filesystem::path& path, const char* suffix) {
    std::filesystem::path variant = path;
    variant += suffix;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(variant, ec)) return std::nullopt;
    return ReadWhole(variant);
}

}  // namespace

PreparedBody::PreparedBody(std::string content_type, std::string cache_control, std::string identity, Made made)
    : content_type_(std::move(content_type)),
      cache_control_(std::move(cache_control)),
      etag_(Fingerprint(identity)),
      identity_(std::move(identity)) {
    if (Compressible(content_type_) && identity_.size() > 256) {
        gzip_ = made.gzip ? std::move(*made.gzip) : Gzip(identity_);
        brotli_ = made.brotli ? std::move(*made.brotli) : Brotli(identity_);
        if (gzip_.size() >= identity_.size()) gzip_.clear();
        if (brotli_.size() >= identity_.size()) brotli_.clear();
    }
}

Response PreparedBody::Answer(const Request& request) const {
    Response r;
    r.content_type = content_type_;
    r.headers.emplace_back("ETag", etag_);
    r.headers.emplace_back("Cache-Control", cache_control_);
    r.headers.emplace_back("Vary", "Accept-Encoding");
    if (request.Header("if-none-match") == etag_) {
        r.status = 304;
        r.content_type.clear();
        return r;
    }
    std::string_view accept = request.Header("accept-encoding");
    if (!brotli_.empty() && Accepts(accept, "br")) {
        r.body = brotli_;
        r.headers.emplace_back("Content-Encoding", "br");
    } else if (!gzip_.empty() && Accepts(accept, "gzip")) {
        r.body = gzip_;
        r.headers.emplace_back("Content-Encoding", "gzip");
    } else {
        r.body = identity_;
    }
    return r;
}

std::unique_ptr<StaticFiles> StaticFiles::Load(const std::filesystem::path& dir) {
    auto files = std::unique_ptr<StaticFiles>(new StaticFiles());
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        if (!entry.is_regular_file()) continue;
        const std::filesystem::path& path = entry.path();
        // A variant the build made is part of its file's answer, never a file of its own.
        const std::string extension = path.extension().string();
        if ((extension == ".br" || extension == ".gz") &&
            std::filesystem::is_regular_file(std::filesystem::path(path).replace_extension(), ec)) {
            continue;
        }
        PreparedBody::Made made;
        made.brotli = ReadVariant(path, ".br");
        made.gzip = ReadVariant(path, ".gz");
        std::string key = "/";  // appended, not "/" + ...: GCC 12 warns falsely (-Wrestrict) on that
        key += std::filesystem::relative(entry.path(), dir).generic_string();
        // Vite puts content-hashed names under /assets/: they never change, so cache them for a year.
        std::string cache_control = key.starts_with("/assets/") ? "public, max-age=31536000, immutable" : "no-cache";
        files->files_.emplace(std::move(key), PreparedBody(ContentTypeFor(path), std::move(cache_control),
                                                           ReadWhole(path), std::move(made)));
    }
    return files;
}

Response StaticFiles::Serve(const Request& request) const {
    if (request.path.starts_with("/api/")) {
        return ErrorResponse(Error::NotFound("There is no API route at this address."));
    }
    if (request.method != "GET" && request.method != "HEAD") {
        Response r =
            ErrorResponse(Error{ErrorKind::kMethodNotAllowed, "method_not_allowed", "Pages are read-only.", {}});
        r.headers.emplace_back("Allow", "GET, HEAD");
        return r;
    }
    const std::string& path = request.path.empty() ? std::string("/") : request.path;
    if (path != "/") {
        auto it = files_.find(path);
        if (it != files_.end()) return it->second.Answer(request);
    }
    // Paths with an extension name files: a missing one is a 404, not the page.
    std::string_view last = std::string_view(path).substr(path.rfind('/') + 1);
    bool looks_like_page = last.find('.') == std::string_view::npos;
    if (looks_like_page) {
        auto index = files_.find("/index.html");
        if (index != files_.end()) return index->second.Answer(request);
        Response r;
        r.status = 503;
        r.content_type = "text/plain; charset=utf-8";
        r.body = "The web page has not been built: run `make web`.\n";
        return r;
    }
    return ErrorResponse(Error::NotFound("There is no file at this address."));
}

}  // namespace emporium::http
