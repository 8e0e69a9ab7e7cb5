// Small text helpers shared by every module: durations in settings, JSON string escaping for
// hand-written log lines, UTF-8 validation for user input.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium {

// Parses "300", "300s", "5m", "12h", "2d" (integer and unit) into seconds. nullopt when malformed
// or negative.
std::optional<std::chrono::seconds> ParseDuration(std::string_view text);

// The items of a comma-separated list, each trimmed of spaces; empty items are dropped.
std::vector<std::string> SplitList(std::string_view text);

// Appends text to out as the inside of a JSON string (quotes not included).
void AppendJsonEscaped(std::string& out, std::string_view text);

// True when text is well-formed UTF-8 with no overlong forms or surrogates.
bool IsValidUtf8(std::string_view text);

// Lower-case ASCII copy.
std::string ToLowerAscii(std::string_view text);

}  // namespace emporium
