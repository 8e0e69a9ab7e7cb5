#include "http/json_body.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>

namespace emporium::http {
namespace {

namespace json = boost::json;

json::object Parse(std::string_view text) {
    return json::parse(text).as_object();
}

std::vector<std::pair<std::string, std::string>> Problems(const std::vector<FieldError>& errors) {
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(errors.size());
    for (const FieldError& e : errors) out.emplace_back(e.field, e.code);
    std::sort(out.begin(), out.end());
    return out;
}

TEST(JsonReader, ReadsTypedMembers) {
    json::object body = Parse(R"({"name": "Ada", "n": 3, "on": true, "tags": ["a", "b"], "gone": null})");
    JsonReader f(body);
    EXPECT_EQ(f.Text("name", Need::kRequired), "Ada");
    EXPECT_EQ(f.Integer("n"), 3);
    EXPECT_EQ(f.Bool("on"), true);
    EXPECT_EQ(f.TextList("tags"), (std::vector<std::string>{"a", "b"}));
    EXPECT_FALSE(f.Text("gone").has_value());  // null is absent
    EXPECT_TRUE(f.IsNull("gone"));
    EXPECT_FALSE(f.Text("missing").has_value());
    EXPECT_FALSE(f.Finish().has_value());
}

TEST(JsonReader, ListsEveryProblemWithItsCode) {
    json::object body = Parse(R"({"name": 5, "n": 2.5, "tags": [1], "extra": 1, "nested": {"city": 1, "x": 2}})");
    JsonReader f(body);
    f.Text("name");
    f.Integer("n");
    f.TextList("tags");
    f.Text("email", Need::kRequired);
    std::optional<JsonReader> nested = f.Object("nested");
    ASSERT_TRUE(nested.has_value());
    nested->Text("city");
    nested->Fail(FieldError::Coded("country", "invalid_country", "must be a code"));
    std::optional<Error> e = f.Finish();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->kind, ErrorKind::kValidation);
    EXPECT_EQ(Problems(e->fields), (std::vector<std::pair<std::string, std::string>>{
                                       {"email", "required"},
                                       {"extra", "unknown_field"},
                                       {"n", "invalid"},
                                       {"name", "invalid"},
                                       {"nested.city", "invalid"},
                                       {"nested.country", "invalid_country"},
                                       {"nested.x", "unknown_field"},
                                       {"tags", "invalid"},
                                   }));
}

TEST(JsonReader, MergeAddsOnlyFieldsNotListed) {
    json::object body = Parse(R"({"phone": 5})");
    JsonReader f(body);
    f.Text("phone");
    f.Merge({FieldError::Coded("phone", "invalid_phone", "bad"), FieldError::Required("name")});
    EXPECT_EQ(Problems(f.Errors()),
              (std::vector<std::pair<std::string, std::string>>{{"name", "required"}, {"phone", "invalid"}}));
}

TEST(AddressCodec, RoundTripsAndRefusesUnknownParts) {
    Address a{"Ada", "1 Main St", "", "Singapore", "123456", "SG"};
    EXPECT_EQ(DecodeAddress(EncodeAddress(a))->line1, "1 Main St");
    EXPECT_FALSE(DecodeAddress("not json").has_value());
    json::object body = Parse(R"({"address": {"name": "Ada", "city": "X", "planet": "Mars"}})");
    JsonReader f(body);
    std::optional<Address> read = ReadAddress(f, "address", Need::kRequired);
    ASSERT_TRUE(read.has_value());
    EXPECT_EQ(read->city, "X");
    EXPECT_EQ(Problems(f.Errors()),
              (std::vector<std::pair<std::string, std::string>>{{"address.planet", "unknown_field"}}));
    EXPECT_EQ(
        json::serialize(AddressToJson(a)),
        R"({"name":"Ada","line1":"1 Main St","line2":"","city":"Singapore","postal_code":"123456","country":"SG"})");
}

}  // namespace
}  // namespace emporium::http
