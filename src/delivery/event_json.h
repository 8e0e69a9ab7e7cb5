// The JSON shape of delivery events (POST /api/admin/delivery/events and the lines of the CI
// tool's spool file), read into the service's plain structs with every problem named by field.
// Private to the delivery module and the CI tool.
#pragma once

#include <boost/json/object.hpp>
#include <vector>

#include "core/result.h"
#include "delivery/delivery.h"

namespace emporium::delivery {

inline constexpr std::size_t kMaxEventsPerPost = 500;

// One event object, or {"events": [...]} with up to kMaxEventsPerPost of them. Each event has
// "type" (run, stage, tests, deployment, incident) and "id"; times are RFC 3339 strings. 422 with
// one entry per bad field ("events[2].started_at"), nothing read.
Result<std::vector<Event>> ParseEvents(const boost::json::object& body);

// The JSON of one event, as ParseEvents reads it back (the CI tool writes these).
boost::json::object EventJson(const Event& event);

}  // namespace emporium::delivery
