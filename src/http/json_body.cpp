#include "http/json_body.h"

#include <algorithm>
#include <boost/json.hpp>

#include "core/text.h"

namespace emporium::http {

namespace json = boost::json;

Result<json::object> ParseJsonObject(const Request& request) {
    std::string_view type = request.Header("content-type");
    std::string lowered = ToLowerAscii(type.substr(0, type.find(';')));
    while (!lowered.empty() && lowered.back() == ' ') lowered.pop_back();
    if (lowered != "application/json") {
        return Error{ErrorKind::kUnsupportedMedia, "unsupported_media_type", "Send the body as application/json.", {}};
    }
    if (!IsValidUtf8(request.body)) return Error::BadRequest("The body is not valid UTF-8.", "malformed_json");
    json::error_code ec;
    json::parse_options options;
    options.max_depth = 32;
    json::value value = json::parse(request.body, ec, {}, options);
    if (ec) return Error::BadRequest("The body is not valid JSON: " + ec.message() + ".", "malformed_json");
    if (!value.is_object()) return Error::BadRequest("The body must be a JSON object.", "malformed_json");
    return std::move(value.as_object());
}

std::string ToJson(const json::value& value) {
    return json::serialize(value);
}

// --- JsonReader ------------------------------------------------------------------------------

JsonReader::JsonReader(const json::object& object) : own_(std::make_unique<Shared>()), shared_(own_.get()) {
    shared_->scopes.push_back({&object, "", {}});
    scope_ = &shared_->scopes.back();
}

std::string JsonReader::Name(std::string_view key) const {
    return scope_->prefix + std::string(key);
}

bool JsonReader::Has(std::string_view key) const {
    return scope_->object->contains(key);
}

bool JsonReader::IsNull(std::string_view key) const {
    const json::value* v = scope_->object->if_contains(key);
    return v && v->is_null();
}

void JsonReader::Fail(FieldError error) {
    error.field = scope_->prefix + error.field;
    shared_->errors.push_back(std::move(error));
}

void JsonReader::Merge(std::vector<FieldError> checks) {
    for (FieldError& check : checks) {
        const bool listed = std::any_of(shared_->errors.begin(), shared_->errors.end(),
                                        [&](const FieldError& have) { return have.field == check.field; });
        if (!listed) shared_->errors.push_back(std::move(check));
    }
}

const json::value* JsonReader::Find(std::string_view key, Need need) {
    scope_->known.emplace_back(key);
    const json::value* v = scope_->object->if_contains(key);
    if (v && !v->is_null()) return v;
    if (need == Need::kRequired) shared_->errors.push_back(FieldError::Required(Name(key)));
    return nullptr;
}

std::optional<std::string> JsonReader::Text(std::string_view key, Need need) {
    const json::value* v = Find(key, need);
    if (!v) return std::nullopt;
    if (v->is_string()) return std::string(v->as_string());
    shared_->errors.push_back(FieldError::Invalid(Name(key), "must be a string"));
    return std::nullopt;
}

std::optional<std::int64_t> JsonReader::Integer(std::string_view key, Need need) {
    const json::value* v = Find(key, need);
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->as_int64();
    shared_->errors.push_back(FieldError::Invalid(Name(key), "must be a whole number"));
    return std::nullopt;
}

std::optional<bool> JsonReader::Bool(std::string_view key, Need need) {
    const json::value* v = Find(key, need);
    if (!v) return std::nullopt;
    if (v->is_bool()) return v->as_bool();
    shared_->errors.push_back(FieldError::Invalid(Name(key), "must be true or false"));
    return std::nullopt;
}

std::optional<std::vector<std::string>> JsonReader::TextList(std::string_view key, Need need) {
    const json::value* v = Find(key, need);
    if (!v) return std::nullopt;
    std::vector<std::string> out;
    bool ok = v->is_array();
    if (ok) {
        for (const json::value& item : v->as_array()) {
            if (!item.is_string()) {
                ok = false;
                break;
            }
            out.emplace_back(item.as_string());
        }
    }
    if (!ok) {
        shared_->errors.push_back(FieldError::Invalid(Name(key), "must be a list of strings"));
        return std::nullopt;
    }
    return out;
}

std::optional<JsonReader> JsonReader::Object(std::string_view key, Need need) {
    const json::value* v = Find(key, need);
    if (!v) return std::nullopt;
    if (!v->is_object()) {
        shared_->errors.push_back(FieldError::Invalid(Name(key), "must be an object"));
        return std::nullopt;
    }
    shared_->scopes.push_back({&v->as_object(), Name(key) + ".", {}});
    return JsonReader(shared_, &shared_->scopes.back());
}

const json::value* JsonReader::Raw(std::string_view key, Need need) {
    return Find(key, need);
}

std::vector<FieldError> JsonReader::Errors() {
    std::vector<FieldError> out = std::move(shared_->errors);
    shared_->errors.clear();
    for (const Scope& scope : shared_->scopes) {
        for (const auto& member : *scope.object) {
            const std::string_view key = member.key();
            if (std::find(scope.known.begin(), scope.known.end(), key) != scope.known.end()) continue;
            // The name is the client's: keep it short in the answer.
            out.push_back(FieldError::Unknown(scope.prefix + std::string(key.substr(0, 64))));
        }
    }
    return out;
}

std::optional<Error> JsonReader::Finish() {
    std::vector<FieldError> errors = Errors();
    if (errors.empty()) return std::nullopt;
    return Error::Validation(std::move(errors));
}

// --- the address codec -----------------------------------------------------------------------

namespace {

// The parts of an address, named as in JSON: the one list every codec below walks.
constexpr std::pair<const char*, std::string Address::*> kAddressParts[] = {
    {"name", &Address::name},
    {"line1", &Address::line1},
    {"line2", &Address::line2},
    {"city", &Address::city},
    {"postal_code", &Address::postal_code},
    {"country", &Address::country},
};

}  // namespace

json::object AddressToJson(const Address& address) {
    json::object out;
    for (const auto& [name, member] : kAddressParts) out[name] = address.*member;
    return out;
}

std::optional<Address> ReadAddress(JsonReader& reader, std::string_view key, Need need) {
    std::optional<JsonReader> parts = reader.Object(key, need);
    if (!parts) return std::nullopt;
    Address address;
    for (const auto& [name, member] : kAddressParts) address.*member = parts->Text(name).value_or("");
    return address;
}

std::string EncodeAddress(const Address& address) {
    return json::serialize(AddressToJson(address));
}

std::optional<Address> DecodeAddress(std::string_view text) {
    json::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    Address address;
    for (const auto& [name, member] : kAddressParts) {
        const json::value* part = v.as_object().if_contains(name);
        if (part && part->is_string()) address.*member = part->as_string();
    }
    return address;
}

}  // namespace emporium::http
