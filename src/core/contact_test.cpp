#include "core/contact.h"

#include <gtest/gtest.h>

#include "core/principal.h"

namespace emporium {
namespace {

TEST(Contact, ValidatesEmails) {
    EXPECT_TRUE(IsValidEmail("jane.doe+shop@example.co.uk"));
    EXPECT_FALSE(IsValidEmail("jane"));
    EXPECT_FALSE(IsValidEmail("@example.com"));
    EXPECT_FALSE(IsValidEmail("jane@example"));
    EXPECT_FALSE(IsValidEmail("jane@@example.com"));
    EXPECT_FALSE(IsValidEmail("ja ne@example.com"));
    EXPECT_FALSE(IsValidEmail("jane@example..com"));
    EXPECT_FALSE(IsValidEmail("<script>@x.com"));
    EXPECT_EQ(NormalizeEmail("  Jane.Doe@Example.COM "), "jane.doe@example.com");
}

TEST(Contact, ValidatesE164) {
    EXPECT_TRUE(IsE164("+6591234567"));
    EXPECT_TRUE(IsE164("+14155550123"));
    EXPECT_FALSE(IsE164("6591234567"));
    EXPECT_FALSE(IsE164("+0591234567"));
    EXPECT_FALSE(IsE164("+65 9123 4567"));
    EXPECT_FALSE(IsE164("+1234567"));
    EXPECT_FALSE(IsE164("+1234567890123456"));
}

TEST(Contact, MasksAsTheIssueShows) {
    EXPECT_EQ(MaskEmail("jane@example.com"), "j***@e***.com");
    EXPECT_EQ(MaskPhone("+6591234567"), "+65 ****4567");
    EXPECT_EQ(MaskPhone("+14155550123"), "+1 ****0123");
    EXPECT_EQ(MaskPhone("+35312345678"), "+353 ****5678");
    EXPECT_EQ(MaskName("Jane Doe"), "J*** D***");
    EXPECT_EQ(MaskName("Émile"), "É***");
    EXPECT_EQ(MaskEmail("nonsense"), "***");
}

TEST(Contact, CheckPhoneNamesTheField) {
    EXPECT_FALSE(CheckPhone("phone", "+6591234567").has_value());
    std::optional<FieldError> bad = CheckPhone("shipping.phone", "6591234567");
    ASSERT_TRUE(bad.has_value());
    EXPECT_EQ(bad->field, "shipping.phone");
    EXPECT_EQ(bad->code, "invalid_phone");
}

TEST(Contact, MasksEveryPhoneInOutsideText) {
    // Twilio's 21211 quotes the number it refused.
    EXPECT_EQ(MaskPhonesIn("HTTP 400 code 21211: The 'To' number +15005550001 is not a valid phone number."),
              "HTTP 400 code 21211: The 'To' number +1 ****0001 is not a valid phone number.");
    EXPECT_EQ(MaskPhonesIn("to +65 9123 4567, or (555) 123-4567 or 6591234567."),
              "to +65 ****4567, or (****4567 or ****4567.");
    const std::string once = MaskPhonesIn("+6591234567 and 0044 20 7946 0958");
    EXPECT_EQ(once.find("91234567"), std::string::npos);
    EXPECT_EQ(once.find("7946"), std::string::npos);
    EXPECT_EQ(MaskPhonesIn(once), once);  // masking masked text changes nothing
    // Short numbers (codes, order numbers, statuses) stay as they are.
    EXPECT_EQ(MaskPhonesIn("order #123456 HTTP 503 code 20500"), "order #123456 HTTP 503 code 20500");
    EXPECT_EQ(MaskPhonesIn(""), "");
    EXPECT_EQ(MaskPhonesIn("+"), "+");
}

TEST(Principal, RolesGrantScopesAndTokensNarrowThem) {
    Principal customer{1, Role::kCustomer};
    EXPECT_TRUE(customer.Can(scope::kProfile));
    EXPECT_FALSE(customer.Can(scope::kCatalogWrite));
    Principal seller{2, Role::kSeller};
    EXPECT_TRUE(seller.Can(scope::kCatalogWrite));
    EXPECT_FALSE(seller.Can(scope::kUsersRead));
    EXPECT_FALSE(seller.ActsForEveryone());
    Principal admin{3, Role::kAdmin};
    EXPECT_TRUE(admin.Can(scope::kUsersWrite));
    Principal token{3, Role::kAdmin, 9, {"analytics:read"}, true};
    EXPECT_TRUE(token.Can(scope::kAnalyticsRead));
    EXPECT_FALSE(token.Can(scope::kUsersRead));
    EXPECT_FALSE(token.Can(scope::kProfile));
}

}  // namespace
}  // namespace emporium
