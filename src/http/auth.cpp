#include "http/auth.h"

#include <string>

namespace emporium::http {

Result<Principal> Require(const Authenticator& authenticate, const Request& request, std::string_view scope) {
    Result<Principal> principal = authenticate(request);
    if (!principal.ok()) return principal.error();
    if (!principal->Can(scope)) {
        return Error::Forbidden(principal->staff_token
                                    ? "This token does not carry the " + std::string(scope) + " scope."
                                    : "Your account may not do this.");
    }
    return principal;
}

}  // namespace emporium::http
