// Accounts: sign-up, sign-in, sessions, profiles, roles and short-lived staff tokens. Personal
// fields are stored only as PiiVault ciphertext; tokens only as hashes. Plain synchronous
// service code; accounts_routes.h maps it to HTTP.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "accounts/password_hasher.h"
#include "accounts/pii_vault.h"
#include "core/address.h"
#include "core/clock.h"
#include "core/principal.h"
#include "core/result.h"
#include "db/database.h"
#include "db/migrations.h"

namespace emporium::accounts {

struct User {
    std::int64_t id = 0;
    std::string email;
    std::string name;
    std::optional<std::string> phone;
    std::optional<Address> address;
    Role role = Role::kCustomer;
    bool sms_notifications = false;
    std::int64_t created_at = 0;
};

struct SignUpInput {
    std::string email;
    std::string password;
    std::string name;
    std::optional<std::string> phone;
};

// A change to one's profile: absent fields stay; an empty phone removes it.
struct ProfilePatch {
    std::optional<std::string> name;
    std::optional<std::string> phone;
    std::optional<std::optional<Address>> address;  // set to nullopt inside: remove the address
    std::optional<bool> sms_notifications;
};

struct Session {
    std::string token;  // shown once; only its hash is stored
    User user;
    std::int64_t expires_at = 0;
};

struct StaffToken {
    std::int64_t id = 0;
    std::string token;  // only when just issued
    std::vector<std::string> scopes;
    std::string note;
    std::int64_t created_by = 0;
    std::int64_t expires_at = 0;
};

struct UserPage {
    std::vector<User> items;
    std::int64_t total = 0;
    std::int64_t page = 1;
    std::int64_t per_page = 24;
};

struct SessionPolicy {
    std::chrono::seconds customer_idle{14 * 86400};      // sliding: each use extends it
    std::chrono::seconds customer_absolute{90 * 86400};  // and never past this
    std::chrono::seconds staff_absolute{12 * 3600};      // sellers and admins: at most 12 h
    std::chrono::seconds staff_token_max{12 * 3600};
    std::chrono::seconds touch_interval{300};  // how often a sliding session is written
};

inline constexpr std::size_t kMinPasswordLength = 10;
inline constexpr std::size_t kMaxPasswordBytes = 1024;
inline constexpr std::size_t kMaxNameChars = 100;

std::vector<db::Migration> Migrations(db::Dialect dialect);

class AccountService {
public:
    // Registers the users table with the vault, for key rotation (PiiVault::ReencryptBatch).
    AccountService(db::Database& database, PiiVault& vault, const PasswordHasher& hasher, const Clock& clock,
                   SessionPolicy policy = {});

    // A new customer, signed in. 422 for each bad field (ValidateSignUp's); 409 `email_taken`.
    Result<Session> SignUp(const SignUpInput& input);
    static std::vector<FieldError> ValidateSignUp(const SignUpInput& input);

    // 401 `invalid_credentials`, the same for an unknown email and a wrong password, after the
    // same amount of hashing work.
    Result<Session> SignIn(const std::string& email, const std::string& password);

    // Ends the principal's session or staff token.
    void SignOut(const Principal& principal);

    // The principal behind a session or staff token; 401 when unknown or expired. Sliding
    // sessions are extended (written at most once per touch_interval).
    Result<Principal> Authenticate(std::string_view token);

    Result<User> Profile(std::int64_t user_id);
    // 422 lists every bad field (ValidateProfile's).
    Result<User> UpdateProfile(std::int64_t user_id, const ProfilePatch& patch);
    static std::vector<FieldError> ValidateProfile(const ProfilePatch& patch);

    // Users, newest first; email_query finds one address exactly.
    UserPage ListUsers(std::int64_t page, std::int64_t per_page, const std::string& email_query);

    // Changes a user's role and ends all their sessions. 404 unknown user; 409 `own_role` for
    // the actor's own account. Nobody grants more than they hold: 403 `scope_not_held` when the
    // role grants a scope the actor lacks (a users:write token making a seller needs the seller's
    // scopes too); 403 `admin_session_required` for making an admin, or changing an admin's role,
    // with anything but an admin's own session.
    Result<User> ChangeRole(const Principal& actor, std::int64_t user_id, Role role);

    // An account made by an operator (the command line). Same checks as SignUp.
    Result<User> CreateUser(const SignUpInput& input, Role role);

    // A token limited to scopes, for at most staff_token_max. 422 for unknown scopes or a bad ttl;
    // 403 `admin_session_required` when the issuer is itself a token, 403 `scope_not_held` for a
    // scope the issuer lacks (a token is never larger than whoever made it).
    Result<StaffToken> IssueStaffToken(const Principal& issuer, const std::vector<std::string>& scopes,
                                       std::chrono::seconds ttl, const std::string& note);
    std::vector<StaffToken> ListStaffTokens();
    Status RevokeStaffToken(std::int64_t id);

    // Drops expired sessions and tokens; returns how many.
    std::int64_t PurgeExpired();

    // The lookup key of a token: what the sessions table stores.
    static std::string TokenHash(std::string_view token);

private:
    Result<User> ReadUser(db::Connection& c, std::int64_t id);
    Result<User> Insert(const SignUpInput& input, Role role);
    Result<Session> StartSession(const User& user);

    db::Database& database_;
    PiiVault& vault_;
    const PasswordHasher& hasher_;
    const Clock& clock_;
    SessionPolicy policy_;
};

}  // namespace emporium::accounts
