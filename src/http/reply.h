// Small pieces every module's routes share: reading ids and paging parameters, and private
// (never cached) JSON answers.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/result.h"
#include "http/message.h"

namespace emporium::http {

// A positive decimal id ("42"); nullopt for anything else ("0", "-1", "4x", "99999999999999999999").
std::optional<std::int64_t> ParseId(std::string_view text);

// A paging parameter: fallback when absent or malformed, at most max.
std::int64_t PageParam(const Request& request, std::string_view name, std::int64_t fallback, std::int64_t max);

// Marks an answer that holds someone's own data: no cache may keep it.
Response NoStore(Response response);

// A private JSON answer.
Response PrivateJson(int status, const boost::json::value& value);

// The contract's error body, private.
Response PrivateError(const Error& error);

}  // namespace emporium::http
