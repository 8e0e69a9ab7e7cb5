// The one table from error kinds to HTTP statuses, and the contract's error body:
// {"error": {"code": "...", "message": "...", "details": {...}}}.
#pragma once

#include <exception>

#include "core/result.h"
#include "http/message.h"

namespace emporium::http {

// The HTTP status for an error kind.
int StatusFor(ErrorKind kind);

// The contract's JSON error response for error. Internal errors never carry their message to
// the client: the body says only that something went wrong (the log has the rest).
Response ErrorResponse(const Error& error);

// The answer to a handler that threw. A database that is busy or cannot be reached (a statement
// cancelled by its timeout, no pooled connection free in time, a lock timeout or deadlock, the
// server gone) gives 503 `database_unavailable` with Retry-After: the request may well succeed
// when tried again. Anything else gives 500 `internal_error`. *transient (when given) says which.
Response ThrownResponse(const std::exception& thrown, bool* transient = nullptr);

}  // namespace emporium::http
