// Comparing JSON values across a round trip through Boost.JSON's writer and reader.
//
// Boost.JSON 1.81 (Debian's) does not always read a number to the nearest double: the fuzzers
// found long numbers (923720368547758045808, an integer past 64 bits; numbers of 60 and 70
// digits) read one or two ulps away, and the text written for such a double reading back as a
// neighbour, and back again. So the targets allow a double to move by rounding (a relative
// 1e-14, some 45 ulps) and no more; everything else must come back equal. (Boost 1.83 adds a correctly rounded reader;
// Debian 12 does not ship it.)
#pragma once

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstddef>
#include <string_view>

namespace emporium::fuzz {

// a == b, except that a double may differ by rounding.
inline bool SameUpToRounding(const boost::json::value& a, const boost::json::value& b) {
    if (a.is_double() && b.is_double()) {
        const double x = a.get_double(), y = b.get_double();
        return x == y || std::fabs(x - y) <= 1e-14 * std::max(std::fabs(x), std::fabs(y));
    }
    if (a.is_object() && b.is_object()) {
        const boost::json::object &x = a.get_object(), &y = b.get_object();
        if (x.size() != y.size()) return false;
        for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
            if (i->key() != j->key() || !SameUpToRounding(i->value(), j->value())) return false;
        }
        return true;
    }
    if (a.is_array() && b.is_array()) {
        const boost::json::array &x = a.get_array(), &y = b.get_array();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i) {
            if (!SameUpToRounding(x[i], y[i])) return false;
        }
        return true;
    }
    return a == b;
}

// The texts a and b read as JSON are SameUpToRounding; false when either does not parse.
inline bool SameJsonUpToRounding(const std::string_view a, const std::string_view b) {
    boost::json::error_code ea, eb;
    const boost::json::value x = boost::json::parse(a, ea), y = boost::json::parse(b, eb);
    return !ea && !eb && SameUpToRounding(x, y);
}

}  // namespace emporium::fuzz
