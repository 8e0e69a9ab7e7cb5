// Time as a dependency, so that expiry and TTLs are tested with a controllable clock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace emporium {

class Clock {
public:
    virtual ~Clock() = default;
    virtual std::chrono::system_clock::time_point Now() const = 0;
};

class SystemClock final : public Clock {
public:
    std::chrono::system_clock::time_point Now() const override { return std::chrono::system_clock::now(); }
};

// A clock that moves only when told; safe to read from many threads.
class ManualClock final : public Clock {
public:
    explicit ManualClock(std::chrono::system_clock::time_point start = std::chrono::system_clock::time_point{})
        : now_(start.time_since_epoch().count()) {}
    std::chrono::system_clock::time_point Now() const override {
        return std::chrono::system_clock::time_point(std::chrono::system_clock::duration(now_.load()));
    }
    void Advance(std::chrono::system_clock::duration by) { now_ += by.count(); }

private:
    std::atomic<std::chrono::system_clock::rep> now_;
};

// Seconds since the Unix epoch, as stored in the database.
std::int64_t UnixSeconds(std::chrono::system_clock::time_point t);
// RFC 3339 UTC, e.g. "2026-11-24T04:46:05Z", as the contract prints times.
std::string FormatRfc3339(std::int64_t unix_seconds);

}  // namespace emporium
