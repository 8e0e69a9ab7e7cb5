// Local calendars of IANA time zones (the system's tzdata, read by Howard Hinnant's date/tz):
// which local day and hour an instant falls in, and when a local day begins. Days are counted
// from 1970-01-01 of the local calendar, so a day range is a range of integers whatever the zone,
// and a day's length is whatever the zone says (23 or 25 hours across daylight-saving changes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace emporium::analytics {

// A civil date.
struct Ymd {
    int year = 1970;
    int month = 1;  // 1-12
    int day = 1;    // 1-31
};

// Days since 1970-01-01 of a civil date, and back.
std::int64_t DayNumber(Ymd date);
Ymd CivilDate(std::int64_t day);
// "YYYY-MM-DD" of a day number; and a day number from that form (nullopt for anything else,
// including impossible dates such as 2026-02-30).
std::string FormatDay(std::int64_t day);
std::optional<std::int64_t> ParseDay(std::string_view text);
// Monday = 0 ... Sunday = 6.
int Weekday(std::int64_t day);

class Zone {
public:
    // The zone of an IANA name ("Europe/Berlin", "UTC"); nullopt when the system does not know it.
    static std::optional<Zone> Find(std::string_view name);

    const std::string& name() const { return name_; }
    // The local day an instant (Unix seconds) falls in.
    std::int64_t LocalDay(std::int64_t unix_seconds) const;
    // The instant the local hour holding unix_seconds began (the two 01:00 hours of a night that
    // falls back are two different hours).
    std::int64_t HourStart(std::int64_t unix_seconds) const;
    // The first instant of a local day (its midnight, or the first instant after a gap).
    std::int64_t DayStart(std::int64_t day) const;
    // "YYYY-MM-DDTHH:MM:SS+hh:mm": an instant in local time with its offset.
    std::string FormatLocal(std::int64_t unix_seconds) const;
    // The offset from UTC at an instant, in seconds.
    std::int64_t OffsetSeconds(std::int64_t unix_seconds) const;

private:
    Zone(const date::time_zone* zone, std::string name) : zone_(zone), name_(std::move(name)) {}
    const date::time_zone* zone_;  // owned by the tz database, which lives as long as the program
    std::string name_;
};

}  // namespace emporium::analytics
