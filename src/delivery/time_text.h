// Dates and times as the delivery API reads them: RFC 3339 timestamps from CI tools, calendar
// dates for periods. Private to the delivery module and its command-line tool.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace emporium::delivery {

// "2026-11-30" -> Unix seconds of that day's start (UTC); nullopt when malformed or not a date.
std::optional<std::int64_t> ParseDate(std::string_view text);

// "2026-11-30T10:15:00Z", with optional fractional seconds and a "+01:00" style offset instead of
// Z -> Unix milliseconds; nullopt when malformed.
std::optional<std::int64_t> ParseRfc3339Millis(std::string_view text);

// Unix seconds -> "2026-11-30".
std::string FormatDate(std::int64_t unix_seconds);

}  // namespace emporium::delivery
