// Small text helpers shared by every module: durations in settings, JSON string escaping for
// hand-written log lines, UTF-8 validation for user input.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

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

// The one check of plain text a person typed (a name, an address line): valid UTF-8, no control
// characters (tab and newline allowed only when multiline), not blank, at most max_chars
// characters (code points). nullopt when fine; else the field's error: `required` when empty or
// blank, `too_long` (with "max") when long, `invalid` for bad characters.
std::optional<FieldError> CheckPlainText(std::string field, std::string_view value, std::size_t max_chars,
                                         bool multiline = false);

// Lower-case ASCII copy.
std::string ToLowerAscii(std::string_view text);

}  // namespace emporium
