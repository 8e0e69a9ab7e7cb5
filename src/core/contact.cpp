#include "core/contact.h"

#include <algorithm>
#include <cctype>

#include "core/text.h"

namespace emporium {

std::string NormalizeEmail(std::string_view email) {
    while (!email.empty() && std::isspace(static_cast<unsigned char>(email.front()))) email.remove_prefix(1);
    while (!email.empty() && std::isspace(static_cast<unsigned char>(email.back()))) email.remove_suffix(1);
    return ToLowerAscii(email);
}

bool IsValidEmail(std::string_view email) {
    if (email.size() < 3 || email.size() > 254 || !IsValidUtf8(email)) return false;
    size_t at = email.find('@');
    if (at == std::string_view::npos || at == 0 || email.find('@', at + 1) != std::string_view::npos) return false;
    std::string_view domain = email.substr(at + 1);
    if (domain.size() < 3 || domain.front() == '.' || domain.back() == '.' ||
        domain.find('.') == std::string_view::npos || domain.find("..") != std::string_view::npos) {
        return false;
    }
    return std::none_of(email.begin(), email.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"' || c == ',' || c == ';' || c == '\\';
    });
}

bool IsE164(std::string_view phone) {
    if (phone.size() < 9 || phone.size() > 16 || phone[0] != '+' || phone[1] == '0') return false;
    return std::all_of(phone.begin() + 1, phone.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<FieldError> CheckPhone(std::string field, std::string_view phone) {
    if (IsE164(phone)) return std::nullopt;
    return FieldError::Coded(std::move(field), "invalid_phone", "must be an international number such as +6591234567");
}

int CountryCodeLength(std::string_view d) {
    if (d.empty()) return 0;
    if (d[0] == '1' || d[0] == '7') return 1;
    if (d.size() < 2) return 1;
    static constexpr std::string_view kTwoDigit[] = {"20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41",
                                                     "43", "44", "45", "46", "47", "48", "49", "51", "52", "53", "54",
                                                     "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66",
                                                     "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"};
    std::string_view two = d.substr(0, 2);
    for (std::string_view code : kTwoDigit) {
        if (two == code) return 2;
    }
    return std::min<int>(3, static_cast<int>(d.size()));
}

std::string MaskEmail(std::string_view email) {
    size_t at = email.find('@');
    if (at == std::string_view::npos || at == 0) return "***";
    std::string_view domain = email.substr(at + 1);
    size_t dot = domain.rfind('.');
    std::string out;
    out += email[0];
    out += "***@";
    if (!domain.empty() && dot != 0) out += domain[0];
    out += "***";
    if (dot != std::string_view::npos) out += domain.substr(dot);
    return out;
}

std::string MaskPhone(std::string_view phone) {
    if (phone.size() < 6 || phone[0] != '+') return "****";
    std::string_view digits = phone.substr(1);
    int cc = CountryCodeLength(digits);
    return "+" + std::string(digits.substr(0, static_cast<size_t>(cc))) + " ****" +
           std::string(phone.substr(phone.size() - 4));
}

namespace {

bool IsDigit(char c) {
    return c >= '0' && c <= '9';
}

bool IsPhoneSeparator(char c) {
    return c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')';
}

}  // namespace

std::string MaskPhonesIn(std::string_view text) {
    constexpr std::size_t kMinDigits = 7;
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const bool plus = text[i] == '+' && i + 1 < text.size() && IsDigit(text[i + 1]);
        if (!plus && !IsDigit(text[i])) {
            out += text[i++];
            continue;
        }
        // The run: digits, with single separators between them; it ends at its last digit.
        std::size_t j = plus ? i + 1 : i;
        std::size_t end = j;
        std::string digits;
        while (j < text.size()) {
            if (IsDigit(text[j])) {
                digits += text[j++];
                end = j;
            } else if (IsPhoneSeparator(text[j]) && j + 1 < text.size() &&
                       (IsDigit(text[j + 1]) ||
                        (IsPhoneSeparator(text[j + 1]) && j + 2 < text.size() && IsDigit(text[j + 2])))) {
                j += 1;  // "(65) 9123" has two separators in a row at most
            } else {
                break;
            }
        }
        if (digits.size() < kMinDigits) {
            out.append(text.substr(i, end - i));
        } else if (plus && IsE164("+" + digits)) {
            out += MaskPhone("+" + digits);
        } else {
            out += "****" + digits.substr(digits.size() - 4);
        }
        i = end;
    }
    return out;
}

std::string MaskName(std::string_view name) {
    std::string out;
    bool word_start = true;
    for (size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        if (c == ' ') {
            if (!word_start) out += ' ';
            word_start = true;
            continue;
        }
        if (word_start) {
            // Keep a whole UTF-8 character, not half of one.
            size_t len = 1;
            auto u = static_cast<unsigned char>(c);
            if (u >= 0xf0)
                len = 4;
            else if (u >= 0xe0)
                len = 3;
            else if (u >= 0xc0)
                len = 2;
            out += name.substr(i, len);
            out += "***";
            i += len - 1;
            word_start = false;
        }
    }
    return out.empty() ? "***" : out;
}

}  // namespace emporium
