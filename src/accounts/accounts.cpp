#include "accounts/accounts.h"

#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>
#include <sstream>

#include "core/contact.h"
#include "core/text.h"
#include "http/json_body.h"

namespace emporium::accounts {
namespace {

namespace json = boost::json;

constexpr std::string_view kUserColumns = "id, email, name, phone, address, role, sms_notifications, created_at";

std::string NewToken(std::string_view prefix) {
    unsigned char bytes[32];
    randombytes_buf(bytes, sizeof bytes);
    char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(b64, sizeof b64, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(bytes, sizeof bytes);
    return std::string(prefix) + b64;
}

std::string JoinScopes(const std::vector<std::string>& scopes) {
    std::string out;
    for (const auto& s : scopes) {
        if (!out.empty()) out += ' ';
        out += s;
    }
    return out;
}

std::vector<std::string> SplitScopes(std::string_view text) {
    std::vector<std::string> out;
    std::istringstream in{std::string(text)};
    std::string s;
    while (in >> s) out.push_back(s);
    return out;
}

Error InvalidCredentials() {
    return Error{ErrorKind::kUnauthorized, "invalid_credentials", "The email or the password is wrong.", {}};
}

}  // namespace

std::vector<db::Migration> Migrations(db::Dialect dialect) {
    return {
        {"accounts", 1,
         "CREATE TABLE users (" + db::IdColumn(dialect) +
             ", email_index TEXT NOT NULL, email TEXT NOT NULL, name TEXT NOT NULL, phone TEXT, address TEXT,"
             " key_id TEXT NOT NULL, password_hash TEXT NOT NULL,"
             " role TEXT NOT NULL CHECK (role IN ('customer', 'seller', 'admin')),"
             " sms_notifications INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
             "CREATE UNIQUE INDEX users_email_index ON users (email_index);"
             "CREATE INDEX users_key ON users (key_id);"
             "CREATE TABLE sessions (" +
             db::IdColumn(dialect) +
             ", token_hash TEXT NOT NULL UNIQUE, user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
             " kind TEXT NOT NULL CHECK (kind IN ('session', 'staff')), scopes TEXT NOT NULL DEFAULT '',"
             " note TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL, last_seen_at BIGINT NOT NULL,"
             " expires_at BIGINT NOT NULL, absolute_expires_at BIGINT NOT NULL);"
             "CREATE INDEX sessions_user ON sessions (user_id);"
             "CREATE INDEX sessions_expiry ON sessions (expires_at);"}};
}

AccountService::AccountService(db::Database& database, PiiVault& vault, const PasswordHasher& hasher,
                               const Clock& clock, SessionPolicy policy)
    : database_(database), vault_(vault), hasher_(hasher), clock_(clock), policy_(policy) {
    // The accounts' share of a key rotation: every sealed field, and with them the email's blind
    // index and the row's key id.
    SealedTable users{
        "users", "id", {{"email", "email"}, {"name", "name"}, {"phone", "phone"}, {"address", "address"}}};
    users.also_stale_when = "key_id <> ?";
    users.extra_values = [&vault](const std::vector<std::optional<std::string>>& plain) {
        std::vector<std::pair<std::string, db::Value>> extra{{"key_id", vault.ActiveKeyId()}};
        if (plain[0]) extra.emplace_back("email_index", vault.BlindIndex(*plain[0]));
        return extra;
    };
    vault_.Register(database_, std::move(users));
}

std::string AccountService::TokenHash(std::string_view token) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return hex;
}

std::vector<FieldError> AccountService::ValidateSignUp(const SignUpInput& in) {
    std::vector<FieldError> errors;
    if (in.email.empty()) {
        errors.push_back(FieldError::Required("email"));
    } else if (!IsValidEmail(NormalizeEmail(in.email))) {
        errors.push_back(FieldError::Invalid("email", "must be an email address"));
    }
    if (in.password.empty()) {
        errors.push_back(FieldError::Required("password"));
    } else if (!IsValidUtf8(in.password)) {
        errors.push_back(FieldError::Invalid("password", "must be valid text"));
    } else if (in.password.size() < kMinPasswordLength) {
        errors.push_back(FieldError::Coded("password", "too_short", "must be at least 10 characters")
                             .With("min", static_cast<std::int64_t>(kMinPasswordLength)));
    } else if (in.password.size() > kMaxPasswordBytes) {
        errors.push_back(FieldError::Coded("password", "too_long", "must be at most 1024 bytes")
                             .With("max", static_cast<std::int64_t>(kMaxPasswordBytes)));
    }
    if (auto e = CheckPlainText("name", in.name, kMaxNameChars)) errors.push_back(std::move(*e));
    if (in.phone && !in.phone->empty()) {
        if (auto e = CheckPhone("phone", *in.phone)) errors.push_back(std::move(*e));
    }
    return errors;
}

Result<User> AccountService::ReadUser(db::Connection& c, std::int64_t id) {
    std::optional<std::array<std::string, 4>> enc;
    User user;
    c.Query(std::string("SELECT ") + std::string(kUserColumns) + " FROM users WHERE id = ?", {id},
            [&](const db::Row& r) {
                user.id = r.Int(0);
                enc = std::array<std::string, 4>{std::string(r.Text(1)), std::string(r.Text(2)),
                                                 r.IsNull(3) ? "" : std::string(r.Text(3)),
                                                 r.IsNull(4) ? "" : std::string(r.Text(4))};
                user.role = ParseRole(r.Text(5)).value_or(Role::kCustomer);
                user.sms_notifications = r.Int(6) != 0;
                user.created_at = r.Int(7);
            });
    if (!enc) return Error::NotFound("There is no user " + std::to_string(id) + ".");
    Result<std::string> email = vault_.Decrypt("email", (*enc)[0]);
    Result<std::string> name = vault_.Decrypt("name", (*enc)[1]);
    if (!email.ok()) return email.error();
    if (!name.ok()) return name.error();
    user.email = std::move(email.value());
    user.name = std::move(name.value());
    if (!(*enc)[2].empty()) {
        Result<std::string> phone = vault_.Decrypt("phone", (*enc)[2]);
        if (!phone.ok()) return phone.error();
        user.phone = std::move(phone.value());
    }
    if (!(*enc)[3].empty()) {
        Result<std::string> address = vault_.Decrypt("address", (*enc)[3]);
        if (!address.ok()) return address.error();
        user.address = http::DecodeAddress(address.value());
    }
    return user;
}

Result<User> AccountService::Insert(const SignUpInput& input, Role role) {
    std::vector<FieldError> errors = ValidateSignUp(input);
    if (!errors.empty()) return Error::Validation(std::move(errors));
    const std::string email = NormalizeEmail(input.email);
    const std::vector<std::string> indexes = vault_.BlindIndexes(email);
    // Hash outside the write transaction: it is the slow part and needs no lock.
    const std::string password_hash = hasher_.Hash(input.password);
    const std::int64_t now = UnixSeconds(clock_.Now());
    const bool has_phone = input.phone && !input.phone->empty();
    // The key id first: every field below is sealed with this key or a newer one, so a rotation
    // that finds this row by key id never leaves a field behind.
    const std::string key_id = vault_.ActiveKeyId();
    const std::string email_sealed = vault_.Encrypt("email", email);
    const std::string name_sealed = vault_.Encrypt("name", input.name);
    const db::Value phone_sealed = has_phone ? db::Value(vault_.Encrypt("phone", *input.phone)) : db::Value(nullptr);
    Result<std::int64_t> id = database_.Write([&](db::Connection& c) -> Result<std::int64_t> {
        for (const std::string& index : indexes) {
            if (c.QueryInt("SELECT COUNT(*) FROM users WHERE email_index = ?", {index}) > 0) {
                return Error::Conflict("email_taken", "An account with this email exists; sign in instead.");
            }
        }
        return c.QueryInt(
            "INSERT INTO users (email_index, email, name, phone, address, key_id, password_hash, role,"
            " sms_notifications, created_at, updated_at) VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?) RETURNING id",
            {indexes.front(), email_sealed, name_sealed, phone_sealed, key_id, password_hash,
             std::string(RoleName(role)), std::int64_t{has_phone ? 1 : 0}, now, now});
    });
    if (!id.ok()) return id.error();
    return database_.Read([&](db::Connection& c) { return ReadUser(c, id.value()); });
}

Result<Session> AccountService::StartSession(const User& user) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    const bool staff = user.role != Role::kCustomer;
    const std::int64_t absolute = now + (staff ? policy_.staff_absolute : policy_.customer_absolute).count();
    const std::int64_t expires = staff ? absolute : std::min(absolute, now + policy_.customer_idle.count());
    std::string token = NewToken("emp_");
    database_.Write([&](db::Connection& c) {
        c.Execute(
            "INSERT INTO sessions (token_hash, user_id, kind, created_at, last_seen_at, expires_at, "
            "absolute_expires_at)"
            " VALUES (?, ?, 'session', ?, ?, ?, ?)",
            {TokenHash(token), user.id, now, now, expires, absolute});
    });
    return Session{std::move(token), user, expires};
}

Result<Session> AccountService::SignUp(const SignUpInput& input) {
    Result<User> user = Insert(input, Role::kCustomer);
    if (!user.ok()) return user.error();
    return StartSession(user.value());
}

Result<User> AccountService::CreateUser(const SignUpInput& input, Role role) {
    return Insert(input, role);
}

Result<Session> AccountService::SignIn(const std::string& email, const std::string& password) {
    if (password.size() > kMaxPasswordBytes) return InvalidCredentials();
    const std::vector<std::string> indexes = vault_.BlindIndexes(NormalizeEmail(email));
    std::int64_t id = 0;
    std::string hash;
    database_.Read([&](db::Connection& c) {
        for (const std::string& index : indexes) {
            c.Query("SELECT id, password_hash FROM users WHERE email_index = ?", {index}, [&](const db::Row& r) {
                id = r.Int(0);
                hash = r.Text(1);
            });
            if (id) break;
        }
    });
    if (!id) {
        hasher_.VerifyDummy(password);
        return InvalidCredentials();
    }
    if (!hasher_.Verify(hash, password)) return InvalidCredentials();
    Result<User> user = database_.Read([&](db::Connection& c) { return ReadUser(c, id); });
    if (!user.ok()) return user.error();
    return StartSession(user.value());
}

void AccountService::SignOut(const Principal& principal) {
    database_.Write([&](db::Connection& c) { c.Execute("DELETE FROM sessions WHERE id = ?", {principal.session_id}); });
}

Result<Principal> AccountService::Authenticate(std::string_view token) {
    if (token.empty() || token.size() > 200) return Error::Unauthorized("Sign in first.");
    const std::string hash = TokenHash(token);
    const std::int64_t now = UnixSeconds(clock_.Now());
    std::optional<Principal> found;
    std::int64_t last_seen = 0, expires = 0, absolute = 0;
    database_.Read([&](db::Connection& c) {
        c.Query(
            "SELECT s.id, s.user_id, s.kind, s.scopes, s.last_seen_at, s.expires_at, s.absolute_expires_at, u.role"
            " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
            {hash}, [&](const db::Row& r) {
                Principal p;
                p.session_id = r.Int(0);
                p.user_id = r.Int(1);
                p.staff_token = r.Text(2) == "staff";
                if (p.staff_token) p.token_scopes = SplitScopes(r.Text(3));
                last_seen = r.Int(4);
                expires = r.Int(5);
                absolute = r.Int(6);
                p.role = ParseRole(r.Text(7)).value_or(Role::kCustomer);
                found = std::move(p);
            });
    });
    if (!found || now >= expires || now >= absolute) {
        return Error{ErrorKind::kUnauthorized, "session_expired", "Your session has ended; sign in again.", {}};
    }
    // Customers' sessions slide: each use pushes the idle limit on, never past the absolute one.
    if (!found->staff_token && found->role == Role::kCustomer && now - last_seen >= policy_.touch_interval.count()) {
        const std::int64_t next = std::min(absolute, now + policy_.customer_idle.count());
        database_.Write([&](db::Connection& c) {
            c.Execute("UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?",
                      {now, next, found->session_id});
        });
    }
    return std::move(*found);
}

Result<User> AccountService::Profile(std::int64_t user_id) {
    return database_.Read([&](db::Connection& c) { return ReadUser(c, user_id); });
}

std::vector<FieldError> AccountService::ValidateProfile(const ProfilePatch& patch) {
    std::vector<FieldError> errors;
    if (patch.name) {
        if (auto e = CheckPlainText("name", *patch.name, kMaxNameChars)) errors.push_back(std::move(*e));
    }
    if (patch.phone && !patch.phone->empty()) {
        if (auto e = CheckPhone("phone", *patch.phone)) errors.push_back(std::move(*e));
    }
    if (patch.address && *patch.address) {
        std::vector<FieldError> more = ValidateAddress(**patch.address, "address");
        errors.insert(errors.end(), more.begin(), more.end());
    }
    return errors;
}

Result<User> AccountService::UpdateProfile(std::int64_t user_id, const ProfilePatch& patch) {
    std::vector<FieldError> errors = ValidateProfile(patch);
    if (!errors.empty()) return Error::Validation(std::move(errors));
    const std::int64_t now = UnixSeconds(clock_.Now());
    Result<bool> changed = database_.Write([&](db::Connection& c) -> Result<bool> {
        bool had_phone = false;
        bool exists = false;
        c.Query("SELECT phone FROM users WHERE id = ?", {user_id}, [&](const db::Row& r) {
            exists = true;
            had_phone = !r.IsNull(0);
        });
        if (!exists) return Error::NotFound("There is no such user.");
        if (patch.name) {
            c.Execute("UPDATE users SET name = ? WHERE id = ?", {vault_.Encrypt("name", *patch.name), user_id});
        }
        if (patch.phone) {
            if (patch.phone->empty()) {
                c.Execute("UPDATE users SET phone = NULL, sms_notifications = 0 WHERE id = ?", {user_id});
            } else {
                c.Execute("UPDATE users SET phone = ? WHERE id = ?", {vault_.Encrypt("phone", *patch.phone), user_id});
                // SMS notices start on the first time a phone is given, unless the same patch says otherwise.
                if (!had_phone && !patch.sms_notifications) {
                    c.Execute("UPDATE users SET sms_notifications = 1 WHERE id = ?", {user_id});
                }
            }
        }
        if (patch.address) {
            db::Value value = *patch.address
                                  ? db::Value(vault_.Encrypt("address", http::EncodeAddress(**patch.address)))
                                  : db::Value(nullptr);
            c.Execute("UPDATE users SET address = ? WHERE id = ?", {value, user_id});
        }
        if (patch.sms_notifications) {
            c.Execute("UPDATE users SET sms_notifications = ? WHERE id = ?",
                      {std::int64_t{*patch.sms_notifications ? 1 : 0}, user_id});
        }
        c.Execute("UPDATE users SET updated_at = ? WHERE id = ?", {now, user_id});
        return true;
    });
    if (!changed.ok()) return changed.error();
    return Profile(user_id);
}

UserPage AccountService::ListUsers(std::int64_t page, std::int64_t per_page, const std::string& email_query) {
    UserPage out;
    out.page = page;
    out.per_page = per_page;
    database_.Read([&](db::Connection& c) {
        std::vector<std::int64_t> ids;
        if (!email_query.empty()) {
            for (const std::string& index : vault_.BlindIndexes(NormalizeEmail(email_query))) {
                std::int64_t id = c.QueryInt("SELECT id FROM users WHERE email_index = ?", {index}, 0);
                if (id) {
                    ids.push_back(id);
                    break;
                }
            }
            out.total = static_cast<std::int64_t>(ids.size());
            if (page > 1) ids.clear();
        } else {
            out.total = c.QueryInt("SELECT COUNT(*) FROM users");
            c.Query("SELECT id FROM users ORDER BY id DESC LIMIT ? OFFSET ?", {per_page, (page - 1) * per_page},
                    [&](const db::Row& r) { ids.push_back(r.Int(0)); });
        }
        for (std::int64_t id : ids) {
            Result<User> user = ReadUser(c, id);
            if (user.ok()) out.items.push_back(std::move(user.value()));
        }
    });
    return out;
}

namespace {

// The staff scopes a role grants: what giving someone the role hands them.
std::vector<std::string_view> ScopesOfRole(Role role) {
    Principal holder;
    holder.role = role;
    std::vector<std::string_view> out;
    for (std::string_view s : StaffScopes()) {
        if (holder.Can(s)) out.push_back(s);
    }
    return out;
}

Error NeedsAdminSession(std::string message) {
    return Error{ErrorKind::kForbidden, "admin_session_required", std::move(message), {}};
}

// Nobody hands out more than they hold: a role change or a new token is refused when it would
// give a scope the actor's own principal lacks.
std::optional<Error> ExceedsActor(const Principal& actor, const std::vector<std::string_view>& granted,
                                  std::string_view what) {
    std::string missing;
    for (std::string_view s : granted) {
        if (actor.Can(s)) continue;
        missing += (missing.empty() ? "" : ", ") + std::string(s);
    }
    if (missing.empty()) return std::nullopt;
    return Error{ErrorKind::kForbidden,
                 "scope_not_held",
                 "You cannot grant " + std::string(what) + ": it needs " + missing + ", which " +
                     (actor.staff_token ? "this token does" : "your account does") + " not hold.",
                 {}};
}

}  // namespace

Result<User> AccountService::ChangeRole(const Principal& actor, std::int64_t user_id, Role role) {
    if (actor.user_id == user_id) {
        return Error::Conflict("own_role", "You cannot change your own role; ask another admin.");
    }
    // Admins are made and unmade only by an admin in person: a token (scoped, short-lived, maybe
    // pasted into a script) never touches an admin's role.
    if (role == Role::kAdmin && (actor.staff_token || actor.role != Role::kAdmin)) {
        return NeedsAdminSession("Only an admin signed in with their own session can make an admin, not a token.");
    }
    if (auto e = ExceedsActor(actor, ScopesOfRole(role), "the " + std::string(RoleName(role)) + " role")) return *e;
    const std::int64_t now = UnixSeconds(clock_.Now());
    Result<bool> changed = database_.Write([&](db::Connection& c) -> Result<bool> {
        std::optional<Role> current;
        c.Query("SELECT role FROM users WHERE id = ?", {user_id},
                [&](const db::Row& r) { current = ParseRole(r.Text(0)).value_or(Role::kCustomer); });
        if (!current) return Error::NotFound("There is no user " + std::to_string(user_id) + ".");
        if (*current == Role::kAdmin && actor.staff_token) {
            return NeedsAdminSession("Only an admin signed in with their own session can change an admin's role.");
        }
        c.Execute("UPDATE users SET role = ?, updated_at = ? WHERE id = ?",
                  {std::string(RoleName(role)), now, user_id});
        // A new role starts from a new sign-in: no session keeps the old one's rights.
        c.Execute("DELETE FROM sessions WHERE user_id = ?", {user_id});
        return true;
    });
    if (!changed.ok()) return changed.error();
    return Profile(user_id);
}

Result<StaffToken> AccountService::IssueStaffToken(const Principal& issuer, const std::vector<std::string>& scopes,
                                                   std::chrono::seconds ttl, const std::string& note) {
    if (issuer.staff_token) return NeedsAdminSession("A staff token cannot issue other tokens.");
    std::vector<FieldError> errors;
    if (scopes.empty()) errors.push_back(FieldError::Required("scopes"));
    for (const std::string& s : scopes) {
        const auto& known = StaffScopes();
        if (std::find(known.begin(), known.end(), s) == known.end()) {
            errors.push_back(FieldError::Invalid("scopes", "has an unknown scope: " + s.substr(0, 40)));
            break;
        }
    }
    if (ttl.count() < 60 || ttl > policy_.staff_token_max) {
        errors.push_back(FieldError::Invalid(
                             "ttl_seconds", "must be between 60 and " + std::to_string(policy_.staff_token_max.count()))
                             .With("min", 60)
                             .With("max", policy_.staff_token_max.count()));
    }
    if (note.size() > 200 || !IsValidUtf8(note)) {
        errors.push_back(FieldError::Coded("note", "too_long", "must be at most 200 characters").With("max", 200));
    }
    if (!errors.empty()) return Error::Validation(std::move(errors));
    std::vector<std::string_view> wanted(scopes.begin(), scopes.end());
    if (auto e = ExceedsActor(issuer, wanted, "this token")) return *e;
    const std::int64_t now = UnixSeconds(clock_.Now());
    StaffToken t;
    t.token = NewToken("emps_");
    t.scopes = scopes;
    t.note = note;
    t.created_by = issuer.user_id;
    t.expires_at = now + ttl.count();
    t.id = database_.Write([&](db::Connection& c) {
        return c.QueryInt(
            "INSERT INTO sessions (token_hash, user_id, kind, scopes, note, created_at, last_seen_at, expires_at,"
            " absolute_expires_at) VALUES (?, ?, 'staff', ?, ?, ?, ?, ?, ?) RETURNING id",
            {TokenHash(t.token), issuer.user_id, JoinScopes(scopes), note, now, now, t.expires_at, t.expires_at});
    });
    return t;
}

std::vector<StaffToken> AccountService::ListStaffTokens() {
    const std::int64_t now = UnixSeconds(clock_.Now());
    return database_.Read([&](db::Connection& c) {
        std::vector<StaffToken> out;
        c.Query(
            "SELECT id, scopes, note, user_id, expires_at FROM sessions WHERE kind = 'staff' AND expires_at > ?"
            " ORDER BY id DESC",
            {now}, [&](const db::Row& r) {
                StaffToken t;
                t.id = r.Int(0);
                t.scopes = SplitScopes(r.Text(1));
                t.note = r.Text(2);
                t.created_by = r.Int(3);
                t.expires_at = r.Int(4);
                out.push_back(std::move(t));
            });
        return out;
    });
}

Status AccountService::RevokeStaffToken(std::int64_t id) {
    std::int64_t n = database_.Write(
        [&](db::Connection& c) { return c.Execute("DELETE FROM sessions WHERE id = ? AND kind = 'staff'", {id}); });
    if (!n) return Error::NotFound("There is no staff token " + std::to_string(id) + ".");
    return Ok{};
}

std::int64_t AccountService::PurgeExpired() {
    const std::int64_t now = UnixSeconds(clock_.Now());
    return database_.Write([&](db::Connection& c) {
        return c.Execute("DELETE FROM sessions WHERE expires_at <= ? OR absolute_expires_at <= ?", {now, now});
    });
}

}  // namespace emporium::accounts
