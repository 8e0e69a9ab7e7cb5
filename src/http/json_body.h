// Reading JSON request bodies: the one way every route reads its fields, so that every route
// answers bad input the same way before any service sees it.
//
// The rules (docs/ERRORS.md lists each route's codes):
//   415 `unsupported_media_type`  the content type is not application/json;
//   400 `malformed_json`          the body is not UTF-8 JSON, or not an object: nothing can be read;
//   422 `validation_failed`       the body is an object, but some members are wrong. Every problem
//                                 is listed at once in details.fields, each with a code:
//                                   `required`       a required member is absent or null;
//                                   `invalid`        a member has the wrong JSON type;
//                                   `unknown_field`  a member the route does not know: refused on
//                                                    every route, never ignored, so that a typo
//                                                    ("phone_number") is not silently dropped.
// Wrong types and unknown members are 422, not 400: the body was read; a field is at fault, and
// the client wants to know which. A member set to null counts as absent, except where a route
// gives null a meaning of its own (PATCH /api/me: null removes), which it asks with IsNull().
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/result.h"
#include "http/message.h"

namespace emporium::http {

// The body as a JSON object. 415 unless the content type is application/json; 400 when the body
// is not valid UTF-8 JSON or not an object.
Result<boost::json::object> ParseJsonObject(const Request& request);

// Serialises a JSON value (an alias kept here so routes need one include).
std::string ToJson(const boost::json::value& value);

enum class Need { kOptional, kRequired };

// Reads the members of one JSON object, collecting a FieldError for each problem. Ask for every
// member the route knows, then call Errors(): it adds `unknown_field` for each member nobody asked
// for. Nested objects get a reader of their own (Object), whose fields are named "outer.inner" and
// whose problems land in the same list.
class JsonReader {
public:
    explicit JsonReader(const boost::json::object& object);
    JsonReader(const JsonReader&) = delete;
    JsonReader& operator=(const JsonReader&) = delete;
    JsonReader(JsonReader&&) = default;

    // A string member; `invalid` for another type.
    std::optional<std::string> Text(std::string_view key, Need need = Need::kOptional);
    // A whole number (a JSON integer; 2.0 and "2" are `invalid`).
    std::optional<std::int64_t> Integer(std::string_view key, Need need = Need::kOptional);
    std::optional<bool> Bool(std::string_view key, Need need = Need::kOptional);
    // An array of strings.
    std::optional<std::vector<std::string>> TextList(std::string_view key, Need need = Need::kOptional);
    // A nested object, read by the returned reader; nullopt when absent, null or not an object.
    std::optional<JsonReader> Object(std::string_view key, Need need = Need::kOptional);
    // A member taken as it is (a free-form map such as product attributes); marks it known.
    const boost::json::value* Raw(std::string_view key, Need need = Need::kOptional);

    // Whether the member is present (null included), and whether it is present and null.
    bool Has(std::string_view key) const;
    bool IsNull(std::string_view key) const;

    // Adds a problem found by the route itself (a value out of range); field is relative to this
    // reader ("city" inside "shipping_address" becomes "shipping_address.city").
    void Fail(FieldError error);

    // Adds a service's value checks (fields named in full) for every field not already listed
    // with a shape problem, so that one answer names every bad field once.
    void Merge(std::vector<FieldError> checks);

    // Every problem so far, plus one `unknown_field` per member not asked for, in this reader
    // and in every nested reader made from it. Call once, after the last read.
    std::vector<FieldError> Errors();
    // Errors() as a 422, or nullopt when there are none.
    std::optional<Error> Finish();

    // The full name of a member of this object ("payment.cvc").
    std::string Name(std::string_view key) const;

private:
    struct Scope {
        const boost::json::object* object;
        std::string prefix;
        std::vector<std::string> known;
    };
    struct Shared {
        std::vector<FieldError> errors;
        std::deque<Scope> scopes;  // the outermost first; a deque keeps each Scope where it is
    };
    JsonReader(Shared* shared, Scope* scope) : shared_(shared), scope_(scope) {}
    const boost::json::value* Find(std::string_view key, Need need);

    std::unique_ptr<Shared> own_;  // set in the outermost reader, which nested ones must not outlive
    Shared* shared_;
    Scope* scope_;
};

// The one address codec: {name, line1, line2, city, postal_code, country}.
boost::json::object AddressToJson(const Address& address);
// Reads an address object member with the reader's rules (unknown parts refused); the parts'
// values are checked by ValidateAddress, not here.
std::optional<Address> ReadAddress(JsonReader& reader, std::string_view key, Need need);
// Stored form (sealed by the PII vault): the JSON text, and back. Decode is lenient (absent parts
// empty) and nullopt only for text that is not a JSON object.
std::string EncodeAddress(const Address& address);
std::optional<Address> DecodeAddress(std::string_view text);

}  // namespace emporium::http
