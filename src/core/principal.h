// Who is asking, and what they may do. Roles grant scopes through one table; a staff token
// carries its own, narrower, list of scopes. Every route names the scope it needs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium {

enum class Role { kCustomer, kSeller, kAdmin };

std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

// Scopes, as written in staff tokens and checked by routes.
namespace scope {
inline constexpr std::string_view kCatalogRead = "catalog:read";
inline constexpr std::string_view kCatalogWrite = "catalog:write";  // own products; admins: all
inline constexpr std::string_view kOrdersRead = "orders:read";
inline constexpr std::string_view kOrdersWrite = "orders:write";
inline constexpr std::string_view kAnalyticsRead = "analytics:read";
inline constexpr std::string_view kUsersRead = "users:read";
inline constexpr std::string_view kUsersWrite = "users:write";
inline constexpr std::string_view kOpsRead = "ops:read";              // send log, events, webhooks
inline constexpr std::string_view kOpsWrite = "ops:write";            // retry, replay, webhooks
inline constexpr std::string_view kDeliveryWrite = "delivery:write";  // CI tools recording pipeline events
inline constexpr std::string_view kProfile = "profile";               // one's own account; never in staff tokens
}  // namespace scope

// Every scope a staff token may carry.
const std::vector<std::string_view>& StaffScopes();

struct Principal {
    std::int64_t user_id = 0;
    Role role = Role::kCustomer;
    std::int64_t session_id = 0;
    // Empty for a signed-in person (the role decides); the token's scopes for a staff token.
    std::vector<std::string> token_scopes;
    bool staff_token = false;

    // True when this principal may act within scope: the role grants it and, for a staff token,
    // the token names it too.
    bool Can(std::string_view scope) const;
    // True when the principal may act on anyone's things within scope (admins, and staff tokens
    // issued by admins), not only their own.
    bool ActsForEveryone() const { return role == Role::kAdmin; }
};

}  // namespace emporium
