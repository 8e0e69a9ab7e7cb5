// The one table from error kinds to HTTP statuses, and the contract's error body:
// {"error": {"code": "...", "message": "...", "details": {...}}}.
#pragma once

#include "core/result.h"
#include "http/message.h"

namespace emporium::http {

// The HTTP status for an error kind.
int StatusFor(ErrorKind kind);

// The contract's JSON error response for error. Internal errors never carry their message to
// the client: the body says only that something went wrong (the log has the rest).
Response ErrorResponse(const Error& error);

}  // namespace emporium::http
