#include "ops/faults.h"

#include <algorithm>
#include <random>

namespace emporium::ops {
namespace {

int Ppm(double ratio) {
    return static_cast<int>(std::clamp(ratio, 0.0, 1.0) * 1'000'000);
}

int Draw() {
    thread_local std::minstd_rand engine{std::random_device{}()};
    return std::uniform_int_distribution<int>(0, 999'999)(engine);
}

}  // namespace

void FaultSwitch::Set(const Settings& settings) {
    error_ppm_ = Ppm(settings.error_ratio);
    slow_ppm_ = Ppm(settings.slow_ratio);
    delay_ms_ = std::clamp<long long>(settings.delay.count(), 0, 60'000);
}

FaultSwitch::Settings FaultSwitch::Get() const {
    return {error_ppm_.load() / 1e6, slow_ppm_.load() / 1e6, std::chrono::milliseconds(delay_ms_.load())};
}

http::Fault FaultSwitch::Next() {
    http::Fault f;
    const int error = error_ppm_.load(std::memory_order_relaxed);
    const int slow = slow_ppm_.load(std::memory_order_relaxed);
    if (error == 0 && slow == 0) return f;
    f.fail = error > 0 && Draw() < error;
    if (slow > 0 && Draw() < slow) f.delay = std::chrono::milliseconds(delay_ms_.load(std::memory_order_relaxed));
    return f;
}

}  // namespace emporium::ops
