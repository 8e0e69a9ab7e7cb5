// The built web page, held in memory with gzip and brotli variants: those the page's build made
// (FILE.br and FILE.gz beside FILE, web/scripts/precompress.mjs), else made once at start-up.
// Only files found under the directory at load time are ever served.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/prepared_text.h"
#include "http/message.h"

namespace emporium::http {

// A body made once and answered many times: its strong ETag, and gzip and brotli variants when
// they pay (text, JSON and SVG over 256 bytes; core/prepared_text.h).
class PreparedBody {
public:
    // Variants made ahead of time; one not given is made here (brotli at its best quality, which
    // takes seconds for a large script: the page's build makes them instead).
    struct Made {
        std::optional<std::string> gzip;
        std::optional<std::string> brotli;
    };
    PreparedBody(std::string content_type, std::string cache_control, std::string identity, Made made = {});

    // The body (shared, sent by the server in the best coding the request accepts) with ETag and
    // Cache-Control; a bodiless 304 when If-None-Match names the ETag.
    Response Answer(const Request& request) const;

private:
    std::string content_type_;
    std::string cache_control_;
    std::string etag_;
    std::shared_ptr<const PreparedText> body_;
};

class StaticFiles {
public:
    // Loads every regular file under dir (recursively). An absent dir gives an empty set, which
    // answers every page with a short notice that the web page was not built.
    static std::unique_ptr<StaticFiles> Load(const std::filesystem::path& dir);

    // Answers a GET or HEAD for request.path: the file itself; index.html for other paths that
    // look like pages (no file extension), so the page's router can take them; 404 otherwise.
    // Honours Accept-Encoding (br, then gzip) and If-None-Match.
    Response Serve(const Request& request) const;

    std::size_t size() const { return files_.size(); }

private:
    std::unordered_map<std::string, PreparedBody> files_;  // key: "/path/from/root"
};

}  // namespace emporium::http
