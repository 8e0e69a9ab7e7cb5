// The admin "Slow requests" route: the slowest and the failed requests this node kept in the last
// hour (Tracer::SlowRequests), each with its spans for a waterfall.
#pragma once

#include "http/auth.h"
#include "http/router.h"
#include "tracing/tracer.h"

namespace emporium::tracing {

// `GET /api/admin/slow-requests` (scope ops:read): {"items": [{trace_id, name, route, method,
// status, ms, failed, at, spans: [{span_id, parent_span_id, name, kind, offset_ms, ms, error,
// attributes}]}]}, the slowest first, then the failed ones not among them. offset_ms counts from
// the request's start.
// tracer null (--tracing false): the list is empty.
void AddSlowRequestRoutes(http::Router& router, const Tracer* tracer, const http::Authenticator& authenticate);

}  // namespace emporium::tracing
