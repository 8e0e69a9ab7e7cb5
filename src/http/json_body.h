// Reading JSON request bodies: content type, syntax and shape checks in one place, so every
// route answers bad input the same way (415, 400) before any service sees it.
#pragma once

#include <boost/json/object.hpp>

#include "core/result.h"
#include "http/message.h"

namespace emporium::http {

// The body as a JSON object. 415 unless the content type is application/json; 400 when the body
// is not valid UTF-8 JSON or not an object.
Result<boost::json::object> ParseJsonObject(const Request& request);

// Serialises a JSON value (an alias kept here so routes need one include).
std::string ToJson(const boost::json::value& value);

}  // namespace emporium::http
