// Checking and masking personal contact data: emails and E.164 phone numbers. Masked forms are
// what logs and seller views show: `j***@e***.com`, `+65 ****4567`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace emporium {

// Lower-cases and trims an email for comparison and lookup. Does not validate.
std::string NormalizeEmail(std::string_view email);

// A plausible address: one '@', a non-empty local part, a dotted domain, no spaces or control
// characters, at most 254 characters.
bool IsValidEmail(std::string_view email);

// The one phone rule, E.164: '+', then 8 to 15 digits, the first not 0 (as a regular expression,
// which the web page uses too: ^\+[1-9][0-9]{7,14}$).
bool IsE164(std::string_view phone);
// IsE164 as a field check: nullopt when fine, else `invalid_phone`.
std::optional<FieldError> CheckPhone(std::string field, std::string_view phone);

// The length of the country calling code at the start of an E.164 number's digits (1 to 3),
// by ITU's prefix-free assignment.
int CountryCodeLength(std::string_view digits);

std::string MaskEmail(std::string_view email);
std::string MaskPhone(std::string_view phone);
// The one mask for text that comes from outside (a provider's error message, a network error)
// before it is stored or logged: every phone-like run in it (an optional '+', then 7 or more
// digits, possibly split by spaces, dashes, dots, slashes or parentheses) is masked, E.164 ones as
// MaskPhone does ("+65 ****4567"), others as "****" and their last four digits. Masking masked
// text changes nothing.
std::string MaskPhonesIn(std::string_view text);
// First letter of each word, the rest starred: "Jane Doe" -> "J*** D***".
std::string MaskName(std::string_view name);

}  // namespace emporium
