#include "http/json_body.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "core/text.h"

namespace emporium::http {
namespace {

// Boost.JSON reads a number past a double's range (1e999) as infinity and would write it back as
// `Infinity`, which is not JSON: such a body is refused rather than stored and mangled later.
bool AllNumbersFinite(const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::double_:
            return std::isfinite(v.get_double());
        case boost::json::kind::array:
            return std::all_of(v.get_array().begin(), v.get_array().end(), AllNumbersFinite);
        case boost::json::kind::object:
            return std::all_of(v.get_object().begin(), v.get_object().end(),
                               [](const auto& member) { return AllNumbersFinite(member.value()); });
        default:
            return true;
    }
}

}  // namespace

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
    if (!AllNumbersFinite(value)) return Error::BadRequest("A number in the body is out of range.", "malformed_json");
    return std::move(value.as_object());
}

std::string ToJson(const boost::json::value& value) {
    return boost::json::serialize(value);
}

}  // namespace emporium::http
