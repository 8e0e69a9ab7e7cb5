#include "delivery/time_text.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace emporium::delivery {
namespace {

// Exactly `digits` decimal digits at text[pos...]; nullopt otherwise.
std::optional<int> Digits(std::string_view text, std::size_t pos, std::size_t digits) {
    if (pos + digits > text.size()) return std::nullopt;
    int value = 0;
    for (std::size_t i = pos; i < pos + digits; ++i) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

std::optional<std::int64_t> DayStart(int y, int m, int d) {
    using namespace std::chrono;
    year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    return sys_days{ymd}.time_since_epoch().count() * std::int64_t{86400};
}

}  // namespace

std::optional<std::int64_t> ParseDate(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    auto y = Digits(text, 0, 4), m = Digits(text, 5, 2), d = Digits(text, 8, 2);
    if (!y || !m || !d || *y < 1970) return std::nullopt;
    return DayStart(*y, *m, *d);
}

std::optional<std::int64_t> ParseRfc3339Millis(std::string_view text) {
    if (text.size() < 20 || (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':') {
        return std::nullopt;
    }
    std::optional<std::int64_t> day = ParseDate(text.substr(0, 10));
    auto h = Digits(text, 11, 2), mi = Digits(text, 14, 2), s = Digits(text, 17, 2);
    if (!day || !h || !mi || !s || *h > 23 || *mi > 59 || *s > 60) return std::nullopt;
    std::size_t pos = 19;
    std::int64_t millis = 0;
    if (text[pos] == '.') {
        std::size_t digits = 0;
        ++pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 3) millis = millis * 10 + (text[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0) return std::nullopt;
        for (; digits < 3; ++digits) millis *= 10;
    }
    std::int64_t offset = 0;
    if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z') && pos + 1 == text.size()) {
        offset = 0;
    } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-') && text[pos + 3] == ':') {
        auto oh = Digits(text, pos + 1, 2), om = Digits(text, pos + 4, 2);
        if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
        offset = (std::int64_t{*oh} * 3600 + std::int64_t{*om} * 60) * (text[pos] == '+' ? 1 : -1);
    } else {
        return std::nullopt;
    }
    const std::int64_t seconds = *day + std::int64_t{*h} * 3600 + std::int64_t{*mi} * 60 + std::min(*s, 59) - offset;
    return seconds * 1000 + millis;
}

std::string FormatDate(std::int64_t unix_seconds) {
    using namespace std::chrono;
    const std::int64_t days = (unix_seconds >= 0 ? unix_seconds : unix_seconds - 86399) / 86400;
    year_month_day ymd{sys_days{std::chrono::days{days}}};
    char out[16];
    std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()));
    return out;
}

}  // namespace emporium::delivery
