// The internal listener's routes: /healthz (the process answers), /readyz (it can serve: the
// database answers and it is not draining) and /metrics. Never added to the public router.
#pragma once

#include <functional>

#include "http/router.h"
#include "ops/metrics.h"

namespace emporium::ops {

// ready is asked on every /readyz; it must be cheap and must not throw.
void AddOpsRoutes(http::Router& router, Metrics& metrics, std::function<bool()> ready);

}  // namespace emporium::ops
