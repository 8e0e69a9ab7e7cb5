#include "core/text.h"

#include <gtest/gtest.h>

namespace emporium {
namespace {

TEST(SplitListTest, TrimsAndDropsEmptyItems) {
    EXPECT_EQ(SplitList(" notify, webhooks ,,"), (std::vector<std::string>{"notify", "webhooks"}));
    EXPECT_EQ(SplitList("+15550001111"), (std::vector<std::string>{"+15550001111"}));
    EXPECT_TRUE(SplitList("").empty());
    EXPECT_TRUE(SplitList(" , ").empty());
}

TEST(ParseDuration, AcceptsUnits) {
    EXPECT_EQ(ParseDuration("300")->count(), 300);
    EXPECT_EQ(ParseDuration("300s")->count(), 300);
    EXPECT_EQ(ParseDuration("5m")->count(), 300);
    EXPECT_EQ(ParseDuration("12h")->count(), 43200);
    EXPECT_EQ(ParseDuration("2d")->count(), 172800);
}

TEST(ParseDuration, RejectsMalformed) {
    EXPECT_FALSE(ParseDuration(""));
    EXPECT_FALSE(ParseDuration("-5s"));
    EXPECT_FALSE(ParseDuration("5 m"));
    EXPECT_FALSE(ParseDuration("5w"));
    EXPECT_FALSE(ParseDuration("h"));
    EXPECT_FALSE(ParseDuration("99999999999999999999h"));
}

TEST(AppendJsonEscaped, EscapesQuotesAndControls) {
    std::string out;
    AppendJsonEscaped(out, "a\"b\\c\n\x01");
    EXPECT_EQ(out, "a\\\"b\\\\c\\n\\u0001");
}

TEST(CheckPlainText, OneRuleWithCodes) {
    EXPECT_FALSE(CheckPlainText("name", "Ada Lovelace", 100).has_value());
    EXPECT_FALSE(CheckPlainText("name", "caf\xc3\xa9", 4).has_value());  // characters, not bytes
    EXPECT_EQ(CheckPlainText("name", "", 100)->code, "required");
    EXPECT_EQ(CheckPlainText("name", "   ", 100)->code, "required");
    std::optional<FieldError> long_one = CheckPlainText("a.name", std::string(101, 'x'), 100);
    ASSERT_TRUE(long_one.has_value());
    EXPECT_EQ(long_one->field, "a.name");
    EXPECT_EQ(long_one->code, "too_long");
    ASSERT_EQ(long_one->params.size(), 1u);
    EXPECT_EQ(long_one->params[0].name, "max");
    EXPECT_EQ(long_one->params[0].value, 100);
    EXPECT_EQ(CheckPlainText("name", "a\x01b", 100)->code, "invalid");
    EXPECT_EQ(CheckPlainText("name", "line\nbreak", 100)->code, "invalid");
    EXPECT_FALSE(CheckPlainText("description", "line\nbreak", 100, /*multiline=*/true).has_value());
    EXPECT_EQ(CheckPlainText("name", "\xff", 100)->code, "invalid");
}

TEST(IsValidUtf8, AcceptsAndRejects) {
    EXPECT_TRUE(IsValidUtf8("plain"));
    EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xae"));
    EXPECT_FALSE(IsValidUtf8("\xc3"));          // truncated
    EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong
    EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
    EXPECT_FALSE(IsValidUtf8("\xff"));
}

}  // namespace
}  // namespace emporium
