// http::ParseJsonObject, the reader in front of every route that takes a JSON body. Input: the
// Content-Type header's value, a newline, then the body. Whatever it accepts is an object that
// survives round trips (a double up to rounding: see json_compare.h); whatever it refuses is a
// 400 or a 415, never an exception.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/errors.h"
#include "http/json_body.h"
#include "json_compare.h"

namespace {

boost::json::value Reparsed(const boost::json::value& value) {
    boost::json::error_code ec;
    boost::json::value again = boost::json::parse(emporium::http::ToJson(value), ec);
    if (ec) __builtin_trap();
    return again;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace emporium;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t newline = input.find('\n');
    http::Request request;
    request.method = "POST";
    request.path = "/api/products";
    request.headers.emplace_back("content-type", std::string(input.substr(0, newline)));
    if (newline != std::string_view::npos) request.body = std::string(input.substr(newline + 1));

    Result<boost::json::object> body = http::ParseJsonObject(request);
    if (!body.ok()) {
        const int status = http::StatusFor(body.error().kind);
        if (status != 400 && status != 415) __builtin_trap();
        return 0;
    }
    const boost::json::value once = Reparsed(body.value());
    if (!once.is_object() || !fuzz::SameUpToRounding(body.value(), once)) __builtin_trap();
    // Written again, it has moved no further.
    if (!fuzz::SameUpToRounding(body.value(), Reparsed(once))) __builtin_trap();
    return 0;
}
