// The built web page, held in memory with gzip and brotli variants made once at start-up.
// Only files found under the directory at load time are ever served.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>

#include "http/message.h"

namespace emporium::http {

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
    struct File {
        std::string content_type;
        std::string etag;
        std::string cache_control;
        std::string identity;
        std::string gzip;    // empty when compression does not pay
        std::string brotli;  // empty when compression does not pay
    };
    Response Answer(const File& file, const Request& request) const;

    std::unordered_map<std::string, File> files_;  // key: "/path/from/root"
};

}  // namespace emporium::http
