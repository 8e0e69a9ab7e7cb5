#include "core/address.h"

#include <algorithm>
#include <cctype>

#include "core/text.h"

namespace emporium {
namespace {

bool PlainText(const std::string& s, size_t max) {
    if (s.size() > max * 4 || !IsValidUtf8(s)) return false;
    size_t chars = 0;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return false;
        chars += (u & 0xc0) != 0x80 ? 1 : 0;
    }
    return chars <= max && s.find_first_not_of(' ') != std::string::npos;
}

}  // namespace

std::vector<FieldError> ValidateAddress(const Address& a, const std::string& prefix) {
    std::vector<FieldError> errors;
    auto need = [&](const std::string& value, const char* part, size_t max) {
        if (!PlainText(value, max))
            errors.push_back({prefix + "." + part, "must be 1 to " + std::to_string(max) + " characters of text"});
    };
    need(a.name, "name", 100);
    need(a.line1, "line1", 200);
    if (!a.line2.empty()) need(a.line2, "line2", 200);
    need(a.city, "city", 100);
    bool postal_ok = !a.postal_code.empty() && a.postal_code.size() <= 16 &&
                     std::all_of(a.postal_code.begin(), a.postal_code.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '-';
                     });
    if (!postal_ok) errors.push_back({prefix + ".postal_code", "must be 1 to 16 letters, digits, spaces or dashes"});
    bool country_ok = a.country.size() == 2 && std::isupper(static_cast<unsigned char>(a.country[0])) &&
                      std::isupper(static_cast<unsigned char>(a.country[1]));
    if (!country_ok) errors.push_back({prefix + ".country", "must be an ISO 3166 alpha-2 code such as SG or US"});
    return errors;
}

}  // namespace emporium
