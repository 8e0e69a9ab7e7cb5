// The accounts' HTTP side: sign-up, sign-in, sign-out, profile, admin user management and staff
// tokens, plus the Authenticator every other module's routes use.
#pragma once

#include "accounts/accounts.h"
#include "core/rate_limiter.h"
#include "http/auth.h"
#include "http/router.h"

namespace emporium::accounts {

inline constexpr std::string_view kSessionCookie = "emporium_session";
inline constexpr std::string_view kCsrfCookie = "emporium_csrf";

// The CSRF value that goes with a session token: what the page must echo in X-CSRF-Token.
std::string CsrfTokenFor(std::string_view session_token);

// Bearer tokens work on every route; the session cookie works too, but a request that changes
// something (not GET or HEAD) must also carry X-CSRF-Token matching the session.
http::Authenticator MakeAuthenticator(AccountService& service);

struct RoutesOptions {
    Limiter* signin_per_address = nullptr;  // sign-in attempts per client address
    Limiter* signin_per_account = nullptr;  // sign-in attempts per email
    Limiter* signup_per_address = nullptr;
};

// Adds /api/auth/*, /api/me and /api/admin/{users,tokens}. Sign-up and sign-in hash passwords,
// so they are heavy routes: the server runs them on the HashingQueue (password_hasher.h), which
// answers 503 when it is too far behind. service and limiters must outlive router.
void AddRoutes(http::Router& router, AccountService& service, http::Authenticator authenticate, RoutesOptions options);

}  // namespace emporium::accounts
