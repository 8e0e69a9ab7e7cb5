// Checking and masking personal contact data: emails and E.164 phone numbers. Masked forms are
// what logs and seller views show: `j***@e***.com`, `+65 ****4567`.
#pragma once

#include <string>
#include <string_view>

namespace emporium {

// Lower-cases and trims an email for comparison and lookup. Does not validate.
std::string NormalizeEmail(std::string_view email);

// A plausible address: one '@', a non-empty local part, a dotted domain, no spaces or control
// characters, at most 254 characters.
bool IsValidEmail(std::string_view email);

// E.164: '+', then 8 to 15 digits, the first not 0.
bool IsE164(std::string_view phone);

// The length of the country calling code at the start of an E.164 number's digits (1 to 3),
// by ITU's prefix-free assignment.
int CountryCodeLength(std::string_view digits);

std::string MaskEmail(std::string_view email);
std::string MaskPhone(std::string_view phone);
// First letter of each word, the rest starred: "Jane Doe" -> "J*** D***".
std::string MaskName(std::string_view name);

}  // namespace emporium
