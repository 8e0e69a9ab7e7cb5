#include "core/address.h"

#include <algorithm>
#include <cctype>

#include "core/text.h"

namespace emporium {

std::vector<FieldError> ValidateAddress(const Address& a, const std::string& prefix) {
    std::vector<FieldError> errors;
    auto text = [&](const std::string& value, const char* part, size_t max) {
        if (auto e = CheckPlainText(prefix + "." + part, value, max)) errors.push_back(std::move(*e));
    };
    text(a.name, "name", 100);
    text(a.line1, "line1", 200);
    if (!a.line2.empty()) text(a.line2, "line2", 200);
    text(a.city, "city", 100);
    if (a.postal_code.empty()) {
        errors.push_back(FieldError::Required(prefix + ".postal_code"));
    } else if (a.postal_code.size() > 16) {
        errors.push_back(
            FieldError::Coded(prefix + ".postal_code", "too_long", "must be at most 16 characters").With("max", 16));
    } else if (!std::all_of(a.postal_code.begin(), a.postal_code.end(), [](char c) {
                   return std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '-';
               })) {
        errors.push_back(FieldError::Invalid(prefix + ".postal_code", "must be letters, digits, spaces or dashes"));
    }
    if (a.country.empty()) {
        errors.push_back(FieldError::Required(prefix + ".country"));
    } else if (a.country.size() != 2 || !std::isupper(static_cast<unsigned char>(a.country[0])) ||
               !std::isupper(static_cast<unsigned char>(a.country[1]))) {
        errors.push_back(FieldError::Coded(prefix + ".country", "invalid_country",
                                           "must be an ISO 3166 alpha-2 code such as SG or US"));
    }
    return errors;
}

}  // namespace emporium
