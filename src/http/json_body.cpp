#include "http/json_body.h"

#include <boost/json.hpp>

#include "core/text.h"

namespace emporium::http {

Result<boost::json::object> ParseJsonObject(const Request& request) {
    std::string_view type = request.Header("content-type");
    std::string lowered = ToLowerAscii(type.substr(0, type.find(';')));
    while (!lowered.empty() && lowered.back() == ' ') lowered.pop_back();
    if (lowered != "application/json") {
        return Error{ErrorKind::kUnsupportedMedia, "unsupported_media_type", "Send the body as application/json.", {}};
    }
    if (!IsValidUtf8(request.body)) return Error::BadRequest("The body is not valid UTF-8.", "malformed_json");
    boost::json::error_code ec;
    boost::json::parse_options options;
    options.max_depth = 32;
    boost::json::value value = boost::json::parse(request.body, ec, {}, options);
    if (ec) return Error::BadRequest("The body is not valid JSON: " + ec.message() + ".", "malformed_json");
    if (!value.is_object()) return Error::BadRequest("The body must be a JSON object.", "malformed_json");
    return std::move(value.as_object());
}

std::string ToJson(const boost::json::value& value) {
    return boost::json::serialize(value);
}

}  // namespace emporium::http
