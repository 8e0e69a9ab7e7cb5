// The fault switch for drills: when enabled (`serve --faults`), an operator sets on the internal
// listener what share of public requests fail with a 500 or wait before being handled, to prove
// that alerts fire and resolve end to end. Never enabled unless asked for at start.
#pragma once

#include <atomic>
#include <chrono>

#include "http/server.h"

namespace emporium::ops {

class FaultSwitch {
public:
    struct Settings {
        double error_ratio = 0;  // 0..1
        double slow_ratio = 0;   // 0..1
        std::chrono::milliseconds delay{0};
    };

    void Set(const Settings& settings);
    Settings Get() const;

    // The decision for one request, drawn at random by the settings of the moment.
    http::Fault Next();

private:
    // Parts per million, so the three settings are each one atomic load.
    std::atomic<int> error_ppm_{0};
    std::atomic<int> slow_ppm_{0};
    std::atomic<long long> delay_ms_{0};
};

}  // namespace emporium::ops
