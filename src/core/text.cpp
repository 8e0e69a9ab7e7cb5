#include "core/text.h"

#include <cctype>
#include <charconv>
#include <cstdint>

namespace emporium {

std::optional<std::chrono::seconds> ParseDuration(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || value < 0) return std::nullopt;
    std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
    std::int64_t scale = 0;
    if (unit.empty() || unit == "s")
        scale = 1;
    else if (unit == "m")
        scale = 60;
    else if (unit == "h")
        scale = 3600;
    else if (unit == "d")
        scale = 86400;
    else
        return std::nullopt;
    if (value > INT64_MAX / scale) return std::nullopt;
    return std::chrono::seconds(value * scale);
}

std::vector<std::string> SplitList(std::string_view text) {
    std::vector<std::string> out;
    for (;;) {
        const std::size_t comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) return out;
        text.remove_prefix(comma + 1);
    }
}

void AppendJsonEscaped(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += kHex[c >> 4];
                    out += kHex[c & 0xf];
                } else {
                    out += ch;
                }
        }
    }
}

bool IsValidUtf8(std::string_view text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    size_t n = text.size();
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len = 0;
        std::uint32_t cp = 0;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) return false;
        for (size_t k = 1; k < len; ++k) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += len;
    }
    return true;
}

std::optional<FieldError> CheckPlainText(std::string field, std::string_view value, std::size_t max_chars,
                                         bool multiline) {
    if (value.find_first_not_of(" \t\r\n") == std::string_view::npos) return FieldError::Required(std::move(field));
    if (!IsValidUtf8(value)) return FieldError::Invalid(std::move(field), "must be valid text");
    std::size_t chars = 0;
    for (char ch : value) {
        const auto u = static_cast<unsigned char>(ch);
        const bool control = u < 0x20 || u == 0x7f;
        if (control && !(multiline && (ch == '\n' || ch == '\r' || ch == '\t'))) {
            return FieldError::Invalid(std::move(field), "must not hold control characters");
        }
        chars += (u & 0xc0) != 0x80 ? 1 : 0;
    }
    if (chars > max_chars) {
        return FieldError::Coded(std::move(field), "too_long",
                                 "must be at most " + std::to_string(max_chars) + " characters")
            .With("max", static_cast<std::int64_t>(max_chars));
    }
    return std::nullopt;
}

std::string ToLowerAscii(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace emporium
