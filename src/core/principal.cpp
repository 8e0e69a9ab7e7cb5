#include "core/principal.h"

#include <algorithm>

namespace emporium {

std::string_view RoleName(Role role) {
    switch (role) {
        case Role::kCustomer:
            return "customer";
        case Role::kSeller:
            return "seller";
        case Role::kAdmin:
            return "admin";
    }
    return "customer";
}

std::optional<Role> ParseRole(std::string_view name) {
    if (name == "customer") return Role::kCustomer;
    if (name == "seller") return Role::kSeller;
    if (name == "admin") return Role::kAdmin;
    return std::nullopt;
}

const std::vector<std::string_view>& StaffScopes() {
    static const std::vector<std::string_view> kScopes = {
        scope::kCatalogRead, scope::kCatalogWrite, scope::kOrdersRead, scope::kOrdersWrite, scope::kAnalyticsRead,
        scope::kUsersRead,   scope::kUsersWrite,   scope::kOpsRead,    scope::kOpsWrite,    scope::kDeliveryWrite};
    return kScopes;
}

namespace {

// The one table of what each role may do.
bool RoleGrants(Role role, std::string_view s) {
    switch (role) {
        case Role::kAdmin:
            return true;
        case Role::kSeller:
            return s == scope::kProfile || s == scope::kCatalogRead || s == scope::kCatalogWrite ||
                   s == scope::kOrdersRead || s == scope::kOrdersWrite || s == scope::kAnalyticsRead;
        case Role::kCustomer:
            return s == scope::kProfile || s == scope::kCatalogRead || s == scope::kOrdersRead;
    }
    return false;
}

}  // namespace

bool Principal::Can(std::string_view s) const {
    if (!RoleGrants(role, s)) return false;
    if (!staff_token) return true;
    return std::find(token_scopes.begin(), token_scopes.end(), s) != token_scopes.end();
}

}  // namespace emporium
