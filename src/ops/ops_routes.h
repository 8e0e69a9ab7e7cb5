// The internal listener's routes: /healthz (the process answers), /readyz (it can serve: the
// database answers and it is not draining) and /metrics. Never added to the public router.
#pragma once

#include <functional>

#include "http/auth.h"
#include "http/router.h"
#include "ops/alerts.h"
#include "ops/backup.h"
#include "ops/faults.h"
#include "ops/metrics.h"

namespace emporium::ops {

// /healthz, /readyz and /metrics. ready is asked on every /readyz; it must be cheap and must not
// throw. /healthz names this process and its binary (a digest): which build a node runs now.
void AddOpsRoutes(http::Router& router, Metrics& metrics, std::function<bool()> ready, const std::string& binary);

// Internal listener: a standby's view of the backups (`GET /internal/backups/latest` gives the
// newest manifest, `GET /internal/backups/files/{file}` its file), for `Authorization: Bearer
// <token>` only. With an empty token the routes answer 404: replication is off.
void AddReplicationRoutes(http::Router& internal, BackupStore& backups, const std::string& token);

// Internal listener, drills only: `GET /internal/faults` and `PUT /internal/faults`
// `{error_ratio, slow_ratio, delay_ms}`.
void AddFaultRoutes(http::Router& internal, FaultSwitch& faults);

// Admin area: `GET /api/admin/backups` (newest first, with the last verification), `POST
// /api/admin/backups` (take one now), `GET /api/admin/alerts` (each rule's state). alerter may
// be null (no alerts configured).
void AddAdminOpsRoutes(http::Router& router, BackupStore& backups, const Alerter* alerter,
                       const http::Authenticator& authenticate);

}  // namespace emporium::ops
