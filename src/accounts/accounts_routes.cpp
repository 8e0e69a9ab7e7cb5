#include "accounts/accounts_routes.h"

#include <openssl/crypto.h>
#include <sodium.h>

#include <boost/json.hpp>

#include "core/contact.h"
#include "http/errors.h"
#include "http/json_body.h"
#include "http/reply.h"

namespace emporium::accounts {
namespace {

namespace json = boost::json;
using http::Need;
using http::Request;
using http::Response;

json::object UserSummary(const User& u) {
    return json::object{{"id", u.id}, {"email", u.email}, {"name", u.name}, {"role", RoleName(u.role)}};
}

json::object ProfileJson(const User& u) {
    return json::object{{"id", u.id},
                        {"email", u.email},
                        {"name", u.name},
                        {"phone", u.phone ? json::value(*u.phone) : json::value(nullptr)},
                        {"address", u.address ? json::value(http::AddressToJson(*u.address)) : json::value(nullptr)},
                        {"role", RoleName(u.role)},
                        {"sms_notifications", u.sms_notifications},
                        {"created_at", FormatRfc3339(u.created_at)}};
}

// What staff see of other people: enough to recognise, not enough to contact.
json::object MaskedUserJson(const User& u) {
    return json::object{{"id", u.id},
                        {"email", MaskEmail(u.email)},
                        {"name", MaskName(u.name)},
                        {"role", RoleName(u.role)},
                        {"created_at", FormatRfc3339(u.created_at)}};
}

Response TooMany(int retry_after, std::string_view what) {
    Response r = http::ErrorResponse(
        Error{ErrorKind::kRateLimited,
              "rate_limited",
              "Too many " + std::string(what) + "; try again in " + std::to_string(retry_after) + " s.",
              {}});
    r.headers.emplace_back("Retry-After", std::to_string(retry_after));
    return r;
}

// Sets the session and CSRF cookies for the web page.
void SetSessionCookies(Response& r, const Request& request, const std::string& token, std::int64_t max_age) {
    std::string secure = request.secure ? "; Secure" : "";
    std::string age = "; Max-Age=" + std::to_string(std::max<std::int64_t>(0, max_age));
    r.headers.emplace_back(
        "Set-Cookie", std::string(kSessionCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Lax" + age + secure);
    r.headers.emplace_back(
        "Set-Cookie", std::string(kCsrfCookie) + "=" + CsrfTokenFor(token) + "; Path=/; SameSite=Lax" + age + secure);
}

void ClearSessionCookies(Response& r) {
    r.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) + "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    r.headers.emplace_back("Set-Cookie", std::string(kCsrfCookie) + "=; Path=/; SameSite=Lax; Max-Age=0");
}

class Handlers {
public:
    Handlers(AccountService& service, http::Authenticator authenticate, RoutesOptions options)
        : service_(service), authenticate_(std::move(authenticate)), options_(options) {}

    // Runs on the I/O thread before any hashing is queued: refuses floods cheaply.
    std::optional<Response> ThrottleSignIn(const Request& request) {
        if (options_.signin_per_address) {
            if (int wait = options_.signin_per_address->Take(request.client_address))
                return TooMany(wait, "sign-in attempts");
        }
        if (options_.signin_per_account) {
            json::error_code ec;
            json::value body = json::parse(request.body, ec);
            if (!ec && body.is_object() && body.as_object().contains("email") && body.at("email").is_string()) {
                std::string email = NormalizeEmail(body.at("email").as_string());
                if (int wait = options_.signin_per_account->Take(email))
                    return TooMany(wait, "sign-in attempts for this account");
            }
        }
        return std::nullopt;
    }

    std::optional<Response> ThrottleSignUp(const Request& request) {
        if (options_.signup_per_address) {
            if (int wait = options_.signup_per_address->Take(request.client_address)) return TooMany(wait, "sign-ups");
        }
        return std::nullopt;
    }

    Response SignUp(const Request& request) {
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        http::JsonReader f(body.value());
        SignUpInput input{f.Text("email", Need::kRequired).value_or(""),
                          f.Text("password", Need::kRequired).value_or(""),
                          f.Text("name", Need::kRequired).value_or(""), f.Text("phone")};
        // One answer names every bad field: the value problems of the well-typed fields too.
        f.Merge(AccountService::ValidateSignUp(input));
        if (auto e = f.Finish()) return http::PrivateError(*e);
        Result<Session> session = service_.SignUp(input);
        if (!session.ok()) return http::PrivateError(session.error());
        return SessionReply(201, request, session.value());
    }

    Response SignIn(const Request& request) {
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        http::JsonReader f(body.value());
        std::string email = f.Text("email", Need::kRequired).value_or("");
        std::string password = f.Text("password", Need::kRequired).value_or("");
        if (auto e = f.Finish()) return http::PrivateError(*e);
        Result<Session> session = service_.SignIn(email, password);
        if (!session.ok()) return http::PrivateError(session.error());
        return SessionReply(200, request, session.value());
    }

    Response SignOut(const Request& request) {
        Result<Principal> who = authenticate_(request);
        if (!who.ok()) return http::PrivateError(who.error());
        service_.SignOut(who.value());
        Response r = Response::NoContent();
        ClearSessionCookies(r);
        return http::NoStore(std::move(r));
    }

    Response Me(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kProfile);
        if (!who.ok()) return http::PrivateError(who.error());
        Result<User> user = service_.Profile(who->user_id);
        if (!user.ok()) return http::PrivateError(user.error());
        return http::PrivateJson(200, ProfileJson(user.value()));
    }

    Response UpdateMe(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kProfile);
        if (!who.ok()) return http::PrivateError(who.error());
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        http::JsonReader f(body.value());
        ProfilePatch patch;
        patch.name = f.Text("name");
        if (f.Has("phone")) patch.phone = f.Text("phone").value_or("");  // null or "" removes it
        patch.sms_notifications = f.Bool("sms_notifications");
        if (f.IsNull("address")) {
            f.Raw("address");
            patch.address = std::optional<Address>();  // null removes it
        } else if (std::optional<Address> address = http::ReadAddress(f, "address", Need::kOptional)) {
            patch.address = std::optional<Address>(std::move(*address));
        }
        f.Merge(AccountService::ValidateProfile(patch));
        if (auto e = f.Finish()) return http::PrivateError(*e);
        Result<User> user = service_.UpdateProfile(who->user_id, patch);
        if (!user.ok()) return http::PrivateError(user.error());
        return http::PrivateJson(200, ProfileJson(user.value()));
    }

    Response ListUsers(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kUsersRead);
        if (!who.ok()) return http::PrivateError(who.error());
        std::int64_t page = http::PageParam(request, "page", 1, 1'000'000);
        std::int64_t per_page = http::PageParam(request, "per_page", 24, 100);
        UserPage users = service_.ListUsers(page, per_page, std::string(request.QueryParam("q").value_or("")));
        json::array items;
        for (const User& u : users.items) items.push_back(MaskedUserJson(u));
        return http::PrivateJson(200, json::object{{"items", std::move(items)},
                                                   {"total", users.total},
                                                   {"page", users.page},
                                                   {"per_page", users.per_page}});
    }

    Response ChangeRole(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kUsersWrite);
        if (!who.ok()) return http::PrivateError(who.error());
        auto id = http::ParseId(request.PathParam("id"));
        if (!id) return http::PrivateError(Error::NotFound("There is no such user."));
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        http::JsonReader f(body.value());
        std::optional<std::string> role_text = f.Text("role", Need::kRequired);
        std::optional<Role> role = role_text ? ParseRole(*role_text) : std::nullopt;
        if (role_text && !role) f.Fail(FieldError::Invalid("role", "must be customer, seller or admin"));
        if (auto e = f.Finish()) return http::PrivateError(*e);
        Result<User> user = service_.ChangeRole(who.value(), *id, *role);
        if (!user.ok()) return http::PrivateError(user.error());
        return http::PrivateJson(200, MaskedUserJson(user.value()));
    }

    Response IssueToken(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kUsersWrite);
        if (!who.ok()) return http::PrivateError(who.error());
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        http::JsonReader f(body.value());
        std::vector<std::string> scopes = f.TextList("scopes", Need::kRequired).value_or(std::vector<std::string>{});
        std::int64_t ttl = f.Integer("ttl_seconds", Need::kRequired).value_or(0);
        std::string note = f.Text("note").value_or("");
        if (auto e = f.Finish()) return http::PrivateError(*e);
        Result<StaffToken> token = service_.IssueStaffToken(who.value(), scopes, std::chrono::seconds(ttl), note);
        if (!token.ok()) return http::PrivateError(token.error());
        json::object out = TokenJson(token.value());
        out["token"] = token->token;
        return http::PrivateJson(201, out);
    }

    Response ListTokens(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kUsersRead);
        if (!who.ok()) return http::PrivateError(who.error());
        json::array items;
        for (const StaffToken& t : service_.ListStaffTokens()) items.push_back(TokenJson(t));
        return http::PrivateJson(200, json::object{{"items", std::move(items)}});
    }

    Response RevokeToken(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kUsersWrite);
        if (!who.ok()) return http::PrivateError(who.error());
        auto id = http::ParseId(request.PathParam("id"));
        if (!id) return http::PrivateError(Error::NotFound("There is no such token."));
        Status revoked = service_.RevokeStaffToken(*id);
        if (!revoked.ok()) return http::PrivateError(revoked.error());
        return http::NoStore(Response::NoContent());
    }

private:
    static json::object TokenJson(const StaffToken& t) {
        json::array scopes;
        for (const auto& s : t.scopes) scopes.emplace_back(s);
        return json::object{{"id", t.id},
                            {"scopes", std::move(scopes)},
                            {"note", t.note},
                            {"created_by", t.created_by},
                            {"expires_at", FormatRfc3339(t.expires_at)}};
    }

    Response SessionReply(int status, const Request& request, const Session& session) {
        Response r =
            http::PrivateJson(status, json::object{{"token", session.token}, {"user", UserSummary(session.user)}});
        SetSessionCookies(r, request, session.token,
                          session.expires_at - UnixSeconds(std::chrono::system_clock::now()));
        return r;
    }

    AccountService& service_;
    http::Authenticator authenticate_;
    RoutesOptions options_;
};

}  // namespace

std::string CsrfTokenFor(std::string_view session_token) {
    static constexpr std::string_view kContext = "emporium-csrf-v1";
    unsigned char mac[16];
    crypto_generichash(mac, sizeof mac, reinterpret_cast<const unsigned char*>(session_token.data()),
                       session_token.size(), reinterpret_cast<const unsigned char*>(kContext.data()), kContext.size());
    char hex[sizeof mac * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    return hex;
}

http::Authenticator MakeAuthenticator(AccountService& service) {
    return [&service](const Request& request) -> Result<Principal> {
        std::string_view auth = request.Header("authorization");
        if (!auth.empty()) {
            constexpr std::string_view kBearer = "Bearer ";
            if (!auth.starts_with(kBearer)) return Error::Unauthorized("Use `Authorization: Bearer <token>`.");
            return service.Authenticate(auth.substr(kBearer.size()));
        }
        std::string_view cookie = request.Cookie(kSessionCookie);
        if (cookie.empty()) return Error::Unauthorized("Sign in first.");
        if (request.method != "GET" && request.method != "HEAD") {
            std::string expected = CsrfTokenFor(cookie);
            std::string_view given = request.Header("x-csrf-token");
            if (given.size() != expected.size() || CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0) {
                return Error{ErrorKind::kForbidden,
                             "csrf_failed",
                             "This change needs the X-CSRF-Token header from the emporium_csrf cookie.",
                             {}};
            }
        }
        return service.Authenticate(cookie);
    };
}

void AddRoutes(http::Router& router, AccountService& service, http::Authenticator authenticate, RoutesOptions options) {
    auto h = std::make_shared<Handlers>(service, std::move(authenticate), options);
    auto bind = [h](Response (Handlers::*m)(const Request&)) {
        return [h, m](const Request& r) { return ((*h).*m)(r); };
    };
    auto fast = [h](std::optional<Response> (Handlers::*m)(const Request&)) {
        return [h, m](const Request& r) { return ((*h).*m)(r); };
    };
    http::Route signup{"POST", "/api/auth/signup", bind(&Handlers::SignUp), fast(&Handlers::ThrottleSignUp), false};
    signup.heavy = true;
    router.Add(std::move(signup));
    http::Route login{"POST", "/api/auth/login", bind(&Handlers::SignIn), fast(&Handlers::ThrottleSignIn), false};
    login.heavy = true;
    router.Add(std::move(login));
    router.Post("/api/auth/logout", bind(&Handlers::SignOut));
    router.Get("/api/me", bind(&Handlers::Me));
    router.Patch("/api/me", bind(&Handlers::UpdateMe));
    router.Get("/api/admin/users", bind(&Handlers::ListUsers));
    router.Patch("/api/admin/users/{id}", bind(&Handlers::ChangeRole));
    router.Get("/api/admin/tokens", bind(&Handlers::ListTokens));
    router.Post("/api/admin/tokens", bind(&Handlers::IssueToken));
    router.Delete("/api/admin/tokens/{id}", bind(&Handlers::RevokeToken));
}

}  // namespace emporium::accounts
