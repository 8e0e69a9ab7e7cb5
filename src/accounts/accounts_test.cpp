#include "accounts/accounts.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "accounts/seed.h"
#include "db/testing.h"

namespace emporium::accounts {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

class AccountsTest : public ::testing::Test {
protected:
    void SetUp() override {
        vault_ = PiiVault::Open({"", "", (database_.dir() / "pii.keys").string()});
        service_ = std::make_unique<AccountService>(*database_, *vault_, hasher_, clock_);
    }
    Session SignUp(const std::string& email, std::optional<std::string> phone = std::nullopt) {
        Result<Session> s = service_->SignUp({email, "correct horse battery", "Jane Doe", std::move(phone)});
        EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
        return s.value();
    }
    Principal Admin() {
        User admin =
            service_->CreateUser({"root@shop.example", "admin password 1", "Root", std::nullopt}, Role::kAdmin).value();
        return Principal{admin.id, Role::kAdmin};
    }
    // Everything stored about people: the database file and its log on SQLite, every row of
    // users and sessions on PostgreSQL.
    std::string DatabaseBytes() {
        std::string all;
        if (database_->dialect() == db::Dialect::kPostgres) {
            database_->Read([&](db::Connection& c) {
                for (const char* sql :
                     {"SELECT CAST(u AS TEXT) FROM users u", "SELECT CAST(s AS TEXT) FROM sessions s"}) {
                    c.Query(sql, {}, [&](const db::Row& r) { all += r.Text(0); });
                }
            });
            return all;
        }
        for (const char* suffix : {"", "-wal"}) {
            std::ifstream in((database_.dir() / "shop.db").string() + suffix, std::ios::binary);
            std::stringstream ss;
            ss << in.rdbuf();
            all += ss.str();
        }
        return all;
    }

    db::TempDatabase database_{Migrations(db::TestDialect())};
    ManualClock clock_{std::chrono::system_clock::from_time_t(1'800'000'000)};
    PasswordHasher hasher_{HashCost::Minimal()};
    std::unique_ptr<PiiVault> vault_;
    std::unique_ptr<AccountService> service_;
};

TEST_F(AccountsTest, SignUpSignInAndAuthenticate) {
    Session s = SignUp("Jane@Example.com", "+6591234567");
    EXPECT_EQ(s.user.email, "jane@example.com");
    EXPECT_EQ(s.user.role, Role::kCustomer);
    EXPECT_TRUE(s.user.sms_notifications);  // on by default once a phone is given
    EXPECT_TRUE(s.token.starts_with("emp_"));
    Result<Principal> p = service_->Authenticate(s.token);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->user_id, s.user.id);
    Result<Session> again = service_->SignIn("  JANE@example.com", "correct horse battery");
    ASSERT_TRUE(again.ok());
    EXPECT_NE(again->token, s.token);
}

TEST_F(AccountsTest, UnknownEmailAndWrongPasswordLookTheSame) {
    SignUp("jane@example.com");
    Result<Session> wrong = service_->SignIn("jane@example.com", "not the password");
    Result<Session> unknown = service_->SignIn("nobody@example.com", "correct horse battery");
    ASSERT_FALSE(wrong.ok());
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(wrong.error().code, "invalid_credentials");
    EXPECT_EQ(wrong.error().code, unknown.error().code);
    EXPECT_EQ(wrong.error().message, unknown.error().message);
}

TEST_F(AccountsTest, SignUpChecksEveryField) {
    Result<Session> r = service_->SignUp({"not-an-email", "short", "", std::string("12345")});
    ASSERT_FALSE(r.ok());
    std::set<std::string> fields;
    for (const auto& f : r.error().fields) fields.insert(f.field);
    EXPECT_EQ(fields, (std::set<std::string>{"email", "password", "name", "phone"}));
    SignUp("jane@example.com");
    Result<Session> dup = service_->SignUp({"JANE@example.com", "correct horse battery", "Other", std::nullopt});
    ASSERT_FALSE(dup.ok());
    EXPECT_EQ(dup.error().code, "email_taken");
}

TEST_F(AccountsTest, CustomerSessionsSlideButNotPastTheAbsoluteLimit) {
    Session s = SignUp("jane@example.com");
    clock_.Advance(hours(24 * 13));
    ASSERT_TRUE(service_->Authenticate(s.token).ok());  // used on day 13: extended by 14 days
    clock_.Advance(hours(24 * 13));
    ASSERT_TRUE(service_->Authenticate(s.token).ok());  // day 26: still alive thanks to the slide
    clock_.Advance(hours(24 * 15));
    EXPECT_EQ(service_->Authenticate(s.token).error().code, "session_expired");  // idle 15 days
    Session t = SignUp("john@example.com");
    for (int day = 0; day < 89; ++day) {
        clock_.Advance(hours(24));
        ASSERT_TRUE(service_->Authenticate(t.token).ok()) << day;
    }
    clock_.Advance(hours(24));
    EXPECT_FALSE(service_->Authenticate(t.token).ok());  // 90 days: the absolute limit
}

TEST_F(AccountsTest, StaffSessionsLastAtMostTwelveHours) {
    service_->CreateUser({"seller@shop.example", "seller password 1", "Sam", std::nullopt}, Role::kSeller);
    Session s = service_->SignIn("seller@shop.example", "seller password 1").value();
    clock_.Advance(hours(11));
    ASSERT_TRUE(service_->Authenticate(s.token).ok());
    clock_.Advance(hours(1));
    EXPECT_FALSE(service_->Authenticate(s.token).ok());
}

TEST_F(AccountsTest, SignOutEndsTheSession) {
    Session s = SignUp("jane@example.com");
    service_->SignOut(service_->Authenticate(s.token).value());
    EXPECT_FALSE(service_->Authenticate(s.token).ok());
}

TEST_F(AccountsTest, RoleChangeEndsEverySessionOfTheUser) {
    Principal admin = Admin();
    Session a = SignUp("jane@example.com");
    Session b = service_->SignIn("jane@example.com", "correct horse battery").value();
    Result<User> changed = service_->ChangeRole(admin, a.user.id, Role::kSeller);
    ASSERT_TRUE(changed.ok());
    EXPECT_EQ(changed->role, Role::kSeller);
    EXPECT_FALSE(service_->Authenticate(a.token).ok());
    EXPECT_FALSE(service_->Authenticate(b.token).ok());
    EXPECT_EQ(service_->Authenticate(service_->SignIn("jane@example.com", "correct horse battery")->token)->role,
              Role::kSeller);
    EXPECT_EQ(service_->ChangeRole(admin, admin.user_id, Role::kCustomer).error().code, "own_role");
    EXPECT_EQ(service_->ChangeRole(admin, 9999, Role::kSeller).error().kind, ErrorKind::kNotFound);
}

TEST_F(AccountsTest, StaffTokensCarryScopesAndExpire) {
    Principal admin = Admin();
    Result<StaffToken> t = service_->IssueStaffToken(admin, {"analytics:read"}, hours(2), "auditor");
    ASSERT_TRUE(t.ok());
    Principal p = service_->Authenticate(t->token).value();
    EXPECT_TRUE(p.staff_token);
    EXPECT_TRUE(p.Can(scope::kAnalyticsRead));
    EXPECT_FALSE(p.Can(scope::kUsersRead));
    EXPECT_EQ(service_->ListStaffTokens().size(), 1u);
    clock_.Advance(hours(2));
    EXPECT_FALSE(service_->Authenticate(t->token).ok());
    EXPECT_TRUE(service_->ListStaffTokens().empty());
    EXPECT_FALSE(service_->IssueStaffToken(admin, {"analytics:read"}, hours(13), "").ok());
    EXPECT_FALSE(service_->IssueStaffToken(admin, {"root"}, hours(1), "").ok());
    EXPECT_FALSE(service_->IssueStaffToken(admin, {}, hours(1), "").ok());
    Result<StaffToken> u = service_->IssueStaffToken(admin, {"catalog:write"}, seconds(600), "");
    ASSERT_TRUE(service_->RevokeStaffToken(u->id).ok());
    EXPECT_FALSE(service_->Authenticate(u->token).ok());
}

TEST_F(AccountsTest, ProfileUpdatesAndPersonalDataIsNeverStoredInClear) {
    Session s = SignUp("jane.unique@example.com");
    ProfilePatch patch;
    patch.name = "Jane Q. Public";
    patch.phone = "+6598765432";
    patch.address =
        std::optional<Address>(Address{"Jane Q. Public", "12 Kampong Glam Lane", "", "Singapore", "188999", "SG"});
    Result<User> u = service_->UpdateProfile(s.user.id, patch);
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(u->name, "Jane Q. Public");
    EXPECT_EQ(*u->phone, "+6598765432");
    EXPECT_TRUE(u->sms_notifications);
    EXPECT_EQ(u->address->line1, "12 Kampong Glam Lane");
    std::string bytes = DatabaseBytes();
    for (const char* secret : {"jane.unique", "Jane Q. Public", "98765432", "Kampong Glam"}) {
        EXPECT_EQ(bytes.find(secret), std::string::npos) << secret;
    }
    ProfilePatch bad;
    bad.phone = "12";
    bad.address = std::optional<Address>(Address{"", "x", "", "", "!!", "sg"});
    Result<User> r = service_->UpdateProfile(s.user.id, bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().fields.size(), 5u);  // phone, name, city, postal_code, country
    ProfilePatch remove;
    remove.phone = "";
    EXPECT_FALSE(service_->UpdateProfile(s.user.id, remove)->phone.has_value());
}

TEST_F(AccountsTest, RotationReencryptsEveryUserAndKeepsThemFindable) {
    SeedPeopleOptions options;
    options.customers = 30;
    SeedPeople(*database_, *vault_, hasher_, clock_, options);
    ASSERT_TRUE(service_->SignIn("admin@gitgoods.example", options.password).ok());
    vault_->AddKey();
    auto users = [](const std::vector<TableRotation>& report) {
        EXPECT_EQ(report.size(), 1u);
        EXPECT_EQ(report.at(0).table, "users");
        return report.at(0).rows;
    };
    EXPECT_EQ(users(vault_->CountOnOldKeys()), 36);
    // Mid-rotation, old rows are still found by email.
    ASSERT_TRUE(service_->SignIn("admin@gitgoods.example", options.password).ok());
    EXPECT_EQ(users(vault_->ReencryptBatch(20)), 20);
    EXPECT_EQ(users(vault_->ReencryptBatch(100)), 16);
    EXPECT_EQ(users(vault_->ReencryptBatch(100)), 0);
    EXPECT_EQ(users(vault_->CountOnOldKeys()), 0);
    ASSERT_TRUE(service_->SignIn("admin@gitgoods.example", options.password).ok());
    UserPage page = service_->ListUsers(1, 100, "");
    EXPECT_EQ(page.total, 36);
    for (const User& u : page.items) EXPECT_FALSE(u.email.empty());
    EXPECT_EQ(service_->ListUsers(1, 10, "ADMIN@gitgoods.example").items.size(), 1u);
}

TEST_F(AccountsTest, NobodyGrantsMoreThanTheyHold) {
    Principal admin = Admin();
    User target = SignUp("target@example.org").user;
    Principal users_write{admin.user_id, Role::kAdmin, 1, {"users:write"}, true};
    EXPECT_EQ(service_->ChangeRole(users_write, target.id, Role::kAdmin).error().code, "admin_session_required");
    EXPECT_EQ(service_->ChangeRole(users_write, target.id, Role::kSeller).error().code, "scope_not_held");
    Principal all_scopes{admin.user_id, Role::kAdmin, 2, {}, true};
    for (std::string_view s : StaffScopes()) all_scopes.token_scopes.emplace_back(s);
    EXPECT_EQ(service_->ChangeRole(all_scopes, target.id, Role::kAdmin).error().code, "admin_session_required");
    EXPECT_EQ(service_->ChangeRole(all_scopes, target.id, Role::kSeller)->role, Role::kSeller);
    EXPECT_EQ(service_->ChangeRole(admin, target.id, Role::kAdmin)->role, Role::kAdmin);  // in person
    EXPECT_EQ(service_->ChangeRole(all_scopes, target.id, Role::kCustomer).error().code, "admin_session_required");
    EXPECT_EQ(service_->Profile(target.id)->role, Role::kAdmin);

    EXPECT_EQ(service_->IssueStaffToken(all_scopes, {"orders:read"}, std::chrono::seconds(60), "").error().code,
              "admin_session_required");
    Principal seller{target.id + 100, Role::kSeller};
    EXPECT_EQ(service_->IssueStaffToken(seller, {"users:write"}, std::chrono::seconds(60), "").error().code,
              "scope_not_held");
    EXPECT_TRUE(service_->IssueStaffToken(admin, {"users:write"}, std::chrono::seconds(60), "").ok());
}

}  // namespace
}  // namespace emporium::accounts
