#include "http/errors.h"

#include <boost/json.hpp>

namespace emporium::http {

int StatusFor(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::kBadRequest:
            return 400;
        case ErrorKind::kUnauthorized:
            return 401;
        case ErrorKind::kPaymentDeclined:
            return 402;
        case ErrorKind::kForbidden:
            return 403;
        case ErrorKind::kNotFound:
            return 404;
        case ErrorKind::kConflict:
            return 409;
        case ErrorKind::kMethodNotAllowed:
            return 405;
        case ErrorKind::kPayloadTooLarge:
            return 413;
        case ErrorKind::kUnsupportedMedia:
            return 415;
        case ErrorKind::kValidation:
            return 422;
        case ErrorKind::kRateLimited:
            return 429;
        case ErrorKind::kUnavailable:
            return 503;
        case ErrorKind::kInternal:
            return 500;
    }
    return 500;
}

Response ErrorResponse(const Error& error) {
    boost::json::object details;
    if (!error.fields.empty()) {
        boost::json::array fields;
        for (const FieldError& f : error.fields) {
            boost::json::object entry{
                {"field", f.field}, {"code", f.code.empty() ? "invalid" : f.code}, {"message", f.message}};
            for (const FieldError::Param& p : f.params) entry[p.name] = p.value;
            fields.push_back(std::move(entry));
        }
        details["fields"] = std::move(fields);
    }
    const bool internal = error.kind == ErrorKind::kInternal;
    boost::json::object body{
        {"error", boost::json::object{
                      {"code", internal ? "internal_error" : error.code},
                      {"message", internal ? "Something went wrong on our side; it has been logged." : error.message},
                      {"details", std::move(details)}}}};
    return Response::Json(StatusFor(error.kind), boost::json::serialize(body));
}

}  // namespace emporium::http
