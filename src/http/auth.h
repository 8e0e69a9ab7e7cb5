// How routes learn who is asking. The accounts module provides the Authenticator; other modules
// only see this interface, so they never depend on how sessions work.
#pragma once

#include <functional>
#include <string_view>

#include "core/principal.h"
#include "core/result.h"
#include "http/message.h"

namespace emporium::http {

// The principal behind a request (bearer token, or session cookie with its CSRF header on
// writes); 401 when nobody is signed in, 403 `csrf_failed` for a cookie write without the header.
using Authenticator = std::function<Result<Principal>(const Request&)>;

// Authenticates and checks that the principal may act within scope: 401 or 403 otherwise.
Result<Principal> Require(const Authenticator& authenticate, const Request& request, std::string_view scope);

}  // namespace emporium::http
