// The server's side of tests/unit/form_rule_examples.json: the web page checks the same examples
// against its copies of these rules (web/src/forms.test.js), so both accept and refuse alike.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "core/address.h"
#include "core/clock.h"
#include "core/contact.h"
#include "orders/payment.h"

namespace emporium::orders {
namespace {

boost::json::object Examples() {
    std::ifstream in(std::string(EMPORIUM_SOURCE_DIR) + "/tests/unit/form_rule_examples.json");
    std::stringstream text;
    text << in.rdbuf();
    return boost::json::parse(text.str()).as_object();
}

bool HasField(const std::vector<FieldError>& errors, const std::string& field) {
    return std::any_of(errors.begin(), errors.end(), [&](const FieldError& e) { return e.field == field; });
}

// Calls check(value, expected) for each [value, expected] pair of the named list.
template <typename Check>
void ForEachPair(const boost::json::object& examples, const char* name, Check check) {
    const auto& list = examples.at(name).as_array();
    ASSERT_FALSE(list.empty()) << name;
    for (const auto& entry : list) {
        const auto& pair = entry.as_array();
        check(std::string(pair.at(0).as_string()), pair.at(1).as_bool());
    }
}

TEST(FormRuleExamples, PhoneNumbers) {
    ForEachPair(Examples(), "e164", [](const std::string& v, bool ok) { EXPECT_EQ(IsE164(v), ok) << v; });
}

TEST(FormRuleExamples, CardNumbers) {
    ForEachPair(Examples(), "luhn", [](const std::string& v, bool ok) { EXPECT_EQ(LuhnValid(v), ok) << v; });
}

TEST(FormRuleExamples, ExpiryDates) {
    const auto examples = Examples();
    ManualClock clock(std::chrono::system_clock::from_time_t(examples.at("expiry_now_unix").as_int64()));
    const auto& list = examples.at("expiry").as_array();
    ASSERT_FALSE(list.empty());
    for (const auto& entry : list) {
        const auto& e = entry.as_array();
        const int month = static_cast<int>(e.at(0).as_int64()), year = static_cast<int>(e.at(1).as_int64());
        auto errors = ValidateCard({"4242424242424242", month, year, "123"}, clock);
        EXPECT_EQ(errors.empty(), e.at(2).as_bool()) << month << "/" << year;
    }
}

TEST(FormRuleExamples, AddressParts) {
    const auto examples = Examples();
    ForEachPair(examples, "postal_code", [](const std::string& v, bool ok) {
        EXPECT_EQ(
            !HasField(ValidateAddress({"Jane Doe", "1 Main St", "", "Springfield", v, "SG"}, "a"), "a.postal_code"), ok)
            << v;
    });
    ForEachPair(examples, "address_city", [](const std::string& v, bool ok) {
        EXPECT_EQ(!HasField(ValidateAddress({"Jane Doe", "1 Main St", "", v, "048616", "SG"}, "a"), "a.city"), ok) << v;
    });
}

}  // namespace
}  // namespace emporium::orders
