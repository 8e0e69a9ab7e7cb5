#include "core/result.h"

namespace emporium {

Error Error::BadRequest(std::string message, std::string code) {
    return Error{ErrorKind::kBadRequest, std::move(code), std::move(message), {}};
}

Error Error::NotFound(std::string message) {
    return Error{ErrorKind::kNotFound, "not_found", std::move(message), {}};
}

Error Error::Conflict(std::string code, std::string message) {
    return Error{ErrorKind::kConflict, std::move(code), std::move(message), {}};
}

Error Error::Validation(std::vector<FieldError> fields) {
    std::string message =
        fields.size() == 1 ? "One field is invalid." : std::to_string(fields.size()) + " fields are invalid.";
    return Error{ErrorKind::kValidation, "validation_failed", std::move(message), std::move(fields)};
}

Error Error::Unauthorized(std::string message) {
    return Error{ErrorKind::kUnauthorized, "unauthorized", std::move(message), {}};
}

Error Error::Forbidden(std::string message) {
    return Error{ErrorKind::kForbidden, "forbidden", std::move(message), {}};
}

}  // namespace emporium
