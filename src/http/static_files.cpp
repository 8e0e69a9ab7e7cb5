#include "http/static_files.h"

#include <fstream>
#include <sstream>

#include "core/result.h"
#include "http/errors.h"
#include "http/response_head.h"

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
    : content_type_(std::move(content_type)), cache_control_(std::move(cache_control)), etag_(Fingerprint(identity)) {
    // Files are compressed once, at the best effort (the page's build has usually done it).
    constexpr auto kBest = PreparedText::Effort::kBest;
    body_ =
        CompressibleType(content_type_)
            ? PreparedText::WithEncodings(
                  std::move(identity),
                  {std::move(made.gzip).value_or(std::string()), std::move(made.brotli).value_or(std::string())}, kBest)
            : PreparedText::Make(std::move(identity), false, kBest);
    // Made now rather than on a shopper's request: a large script takes seconds at brotli's best.
    body_->For("br, gzip");
    body_->For("gzip");
}

Response PreparedBody::Answer(const Request& request) const {
    Response r;
    r.content_type = content_type_;
    r.headers.emplace_back("ETag", etag_);
    r.headers.emplace_back("Cache-Control", cache_control_);
    if (request.Header("if-none-match") == etag_) {
        r.status = 304;
        r.content_type.clear();
        if (body_->compressible()) r.headers.emplace_back("Vary", "Accept-Encoding");
        return r;
    }
    r.prepared = body_;  // the server sends the coding the client accepts, with Vary
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
    const std::string_view whole = path;
    std::string_view last = whole.substr(whole.rfind('/') + 1);
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
