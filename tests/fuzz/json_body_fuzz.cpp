// http::ParseJsonObject, the reader in front of every route that takes a JSON body. Input: the
// Content-Type header's value, a newline, then the body. Whatever it accepts is an object that
// survives a round trip; whatever it refuses is a 400 or a 415, never an exception.
//
// "Survives": Debian's Boost.JSON (1.74) does not always read a number to the nearest double
// (found: an integer past 64 bits, 923720368547758045808, read one ulp off), so the first round
// trip may move a double by one ulp; the text written then reads back exactly, so a stored body
// never drifts further. Everything else must come back equal.
#include <boost/json.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/errors.h"
#include "http/json_body.h"

namespace {

// a == b, but a double may be its neighbour.
bool SameWithinAnUlp(const boost::json::value& a, const boost::json::value& b) {
    if (a.is_double() && b.is_double()) {
        const double x = a.get_double(), y = b.get_double();
        return x == y || std::nextafter(x, y) == y;
    }
    if (a.is_object() && b.is_object()) {
        const boost::json::object &x = a.get_object(), &y = b.get_object();
        if (x.size() != y.size()) return false;
        for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
            if (i->key() != j->key() || !SameWithinAnUlp(i->value(), j->value())) return false;
        }
        return true;
    }
    if (a.is_array() && b.is_array()) {
        const boost::json::array &x = a.get_array(), &y = b.get_array();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i) {
            if (!SameWithinAnUlp(x[i], y[i])) return false;
        }
        return true;
    }
    return a == b;
}

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
    if (!once.is_object() || !SameWithinAnUlp(body.value(), once)) __builtin_trap();
    if (Reparsed(once) != once) __builtin_trap();  // written once, it reads back exactly
    return 0;
}
