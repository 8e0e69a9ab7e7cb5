// Expected failures as values: every operation a user can make fail (not found, out of stock,
// invalid field) returns Result<T>. Exceptions are kept for the unexpected (a broken disk, a bug).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace emporium {

// The kinds of failure the contract knows. http/error_mapping.cpp is the one table that turns
// them into statuses; nothing else decides a status.
enum class ErrorKind {
    kBadRequest,        // malformed input: not JSON, wrong type, unparsable query
    kUnauthorized,      // not signed in
    kForbidden,         // signed in, not allowed
    kNotFound,          // unknown, or someone else's
    kConflict,          // out of stock, duplicate key, idempotency key reused
    kMethodNotAllowed,  // the path exists, the method does not
    kPayloadTooLarge,   // body over the limit
    kUnsupportedMedia,  // wrong content type
    kValidation,        // well-formed but invalid; one FieldError per bad field
    kPaymentDeclined,   // the payment provider said no
    kRateLimited,       // too many requests
    kUnavailable,       // overloaded or draining
    kInternal,          // never shown with details
};

// One bad field: where ("items.42.price_cents"), why as a stable snake_case code that clients
// branch on ("required", "too_long", "insufficient_stock"...; docs/ERRORS.md lists them per
// route), a sentence for people, and the few numbers the reason has ("available": 3). The web
// page reads code, field and params, never the sentence.
struct FieldError {
    // Named numbers that go with a code. Names are constants from the code, never client input,
    // and there are at most kMaxParams of them.
    struct Param {
        std::string name;
        std::int64_t value = 0;
    };
    static constexpr std::size_t kMaxParams = 4;

    std::string field;
    std::string message;
    std::string code = "invalid";
    std::vector<Param> params;

    // Adds a parameter; past kMaxParams it is dropped (a programming error, never input-driven).
    FieldError& With(std::string name, std::int64_t value) {
        if (params.size() < kMaxParams) params.push_back({std::move(name), value});
        return *this;
    }

    // The usual reasons, with their sentences.
    static FieldError Required(std::string field) { return {std::move(field), "is required", "required", {}}; }
    static FieldError Invalid(std::string field, std::string message) {
        return {std::move(field), std::move(message), "invalid", {}};
    }
    static FieldError Unknown(std::string field) {
        return {std::move(field), "is not a known field", "unknown_field", {}};
    }
    static FieldError Coded(std::string field, std::string code, std::string message) {
        return {std::move(field), std::move(message), std::move(code), {}};
    }
};

struct Error {
    ErrorKind kind = ErrorKind::kInternal;
    std::string code;  // the contract's snake_case code, e.g. "out_of_stock"
    std::string message;
    std::vector<FieldError> fields;

    static Error BadRequest(std::string message, std::string code = "bad_request");
    static Error NotFound(std::string message);
    static Error Conflict(std::string code, std::string message);
    static Error Validation(std::vector<FieldError> fields);
    static Error Unauthorized(std::string message);
    static Error Forbidden(std::string message);
};

// A value or an Error. Deliberately small: ok(), value(), error(), and implicit construction
// from either side so that `return Error::NotFound(...)` and `return product` both read well.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() { return value(); }

    const Error& error() const { return std::get<1>(state_); }

private:
    std::variant<T, Error> state_;
};

// For operations that succeed with nothing to say.
struct Ok {};
using Status = Result<Ok>;

}  // namespace emporium
