#include "http/reply.h"

#include <boost/json.hpp>
#include <charconv>

#include "http/errors.h"

namespace emporium::http {

std::optional<std::int64_t> ParseId(std::string_view text) {
    std::int64_t id = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
    return id;
}

std::int64_t PageParam(const Request& request, std::string_view name, std::int64_t fallback, std::int64_t max) {
    std::optional<std::string_view> text = request.QueryParam(name);
    std::optional<std::int64_t> value = text ? ParseId(*text) : std::nullopt;
    return value ? std::min(*value, max) : fallback;
}

Response NoStore(Response response) {
    response.headers.emplace_back("Cache-Control", "no-store");
    return response;
}

Response PrivateJson(int status, const boost::json::value& value) {
    return NoStore(Response::Json(status, boost::json::serialize(value)));
}

Response PrivateError(const Error& error) {
    return NoStore(ErrorResponse(error));
}

}  // namespace emporium::http
