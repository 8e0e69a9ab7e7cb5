#include "analytics/time_zone.h"

#include <date/tz.h>

#include <charconv>
#include <cstdio>

namespace emporium::analytics {
namespace {

using Seconds = std::chrono::seconds;
date::sys_seconds Sys(std::int64_t unix_seconds) {
    return date::sys_seconds{Seconds{unix_seconds}};
}

}  // namespace

std::int64_t DayNumber(Ymd d) {
    return date::sys_days{date::year{d.year} / date::month{static_cast<unsigned>(d.month)} /
                          date::day{static_cast<unsigned>(d.day)}}
        .time_since_epoch()
        .count();
}

Ymd CivilDate(std::int64_t day) {
    date::year_month_day ymd{date::sys_days{date::days{day}}};
    return {static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
            static_cast<int>(static_cast<unsigned>(ymd.day()))};
}

std::string FormatDay(std::int64_t day) {
    Ymd d = CivilDate(day);
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02d-%02d", d.year, d.month, d.day);
    return text;
}

std::optional<std::int64_t> ParseDay(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    int parts[3] = {0, 0, 0};
    const std::pair<std::size_t, std::size_t> spans[] = {{0, 4}, {5, 2}, {8, 2}};
    for (int i = 0; i < 3; ++i) {
        const char* begin = text.data() + spans[i].first;
        const char* end = begin + spans[i].second;
        for (const char* p = begin; p < end; ++p) {
            if (*p < '0' || *p > '9') return std::nullopt;
        }
        std::from_chars(begin, end, parts[i]);
    }
    date::year_month_day ymd{date::year{parts[0]}, date::month{static_cast<unsigned>(parts[1])},
                             date::day{static_cast<unsigned>(parts[2])}};
    if (!ymd.ok() || parts[0] < 1900 || parts[0] > 2999) return std::nullopt;
    return date::sys_days{ymd}.time_since_epoch().count();
}

int Weekday(std::int64_t day) {
    // 1970-01-01 was a Thursday.
    return static_cast<int>(((day % 7) + 7 + 3) % 7);
}

std::optional<Zone> Zone::Find(std::string_view name) {
    if (name.empty() || name.size() > 64) return std::nullopt;
    try {
        const date::time_zone* zone = date::locate_zone(name);
        return Zone(zone, std::string(name));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::int64_t Zone::LocalDay(std::int64_t unix_seconds) const {
    auto local = zone_->to_local(Sys(unix_seconds));
    return date::floor<date::days>(local).time_since_epoch().count();
}

std::int64_t Zone::HourStart(std::int64_t unix_seconds) const {
    auto local = zone_->to_local(Sys(unix_seconds));
    auto into_hour = local - date::floor<std::chrono::hours>(local);
    return unix_seconds - std::chrono::duration_cast<Seconds>(into_hour).count();
}

std::int64_t Zone::DayStart(std::int64_t day) const {
    date::local_seconds midnight{date::local_days{date::days{day}}};
    // choose::earliest: an ambiguous midnight is its first occurrence; a midnight inside a gap
    // maps to the instant the gap ends.
    return zone_->to_sys(midnight, date::choose::earliest).time_since_epoch().count();
}

std::int64_t Zone::OffsetSeconds(std::int64_t unix_seconds) const {
    return zone_->get_info(Sys(unix_seconds)).offset.count();
}

std::string Zone::FormatLocal(std::int64_t unix_seconds) const {
    const std::int64_t offset = OffsetSeconds(unix_seconds);
    const std::int64_t local = unix_seconds + offset;
    const std::int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    const std::int64_t seconds = local - day * 86400;
    const std::int64_t off = offset < 0 ? -offset : offset;
    Ymd d = CivilDate(day);
    char text[64];  // room for any value of each field: no truncation
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02lld:%02lld:%02lld%c%02lld:%02lld", d.year, d.month, d.day,
                  static_cast<long long>(seconds / 3600), static_cast<long long>(seconds / 60 % 60),
                  static_cast<long long>(seconds % 60), offset < 0 ? '-' : '+', static_cast<long long>(off / 3600),
                  static_cast<long long>(off / 60 % 60));
    return text;
}

}  // namespace emporium::analytics
