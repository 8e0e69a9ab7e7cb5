// A realistic delivery history for the demo shop, so that the admin Delivery page has something
// to show on `make run`: three months of CI runs with their stages and test results (a few flaky
// tests among them, and a suite that slowly gets slower), daily deployments with the commits they
// ship, and a handful of incidents, all ending at `now`. The same seed gives the same history.
#pragma once

#include <cstdint>

#include "delivery/delivery.h"

namespace emporium::delivery {

struct SeedHistoryOptions {
    std::int64_t now = 0;  // Unix seconds: the history ends here
    int days = 90;
    std::uint64_t seed = 42;
};

struct SeededHistory {
    std::int64_t runs = 0;
    std::int64_t deployments = 0;
    std::int64_t incidents = 0;
};

SeededHistory SeedHistory(DeliveryService& service, const SeedHistoryOptions& options);

}  // namespace emporium::delivery
