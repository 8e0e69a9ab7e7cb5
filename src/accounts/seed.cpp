#include "accounts/seed.h"

#include <boost/json.hpp>
#include <random>

#include "core/contact.h"

namespace emporium::accounts {
namespace {

constexpr std::string_view kFirst[] = {"Aisha",  "Ben",    "Chloe",   "Daniel", "Elena",  "Farhan", "Grace",
                                       "Hiro",   "Isabel", "Jun",     "Kavya",  "Liam",   "Mei",    "Noah",
                                       "Olivia", "Priya",  "Quentin", "Rosa",   "Sanjay", "Tara",   "Umar",
                                       "Vera",   "Wei",    "Ximena",  "Yusuf",  "Zoe"};
constexpr std::string_view kLast[] = {"Tan",    "Lim",     "Nguyen", "Garcia", "Smith", "Kumar",
                                      "Okafor", "Schmidt", "Rossi",  "Haddad", "Kim",   "Silva",
                                      "Cohen",  "Ito",     "Novak",  "Ong",    "Brown", "Lee"};
constexpr std::string_view kStreets[] = {"Orchard Road", "Main Street",    "Harbour Drive", "Maple Avenue",
                                         "Station Road", "Riverside Walk", "Hill Street",   "Park Lane"};

std::string Lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

SeededPeople SeedPeople(db::Database& database, PiiVault& vault, const PasswordHasher& hasher, const Clock& clock,
                        const SeedPeopleOptions& options) {
    std::mt19937_64 dice(options.seed ^ 0x9e3779b97f4a7c15ULL);
    auto pick = [&](auto& list) { return list[dice() % std::size(list)]; };
    const std::string hash = hasher.Hash(options.password);
    const std::int64_t now = UnixSeconds(clock.Now());
    const std::string key_id = vault.ActiveKeyId();
    SeededPeople out;

    auto insert = [&](db::Connection& c, const std::string& email, const std::string& name,
                      const std::optional<std::string>& phone, const std::optional<std::string>& address_json,
                      Role role) {
        return c.QueryInt(
            "INSERT INTO users (email_index, email, name, phone, address, key_id, password_hash, role,"
            " sms_notifications, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            {vault.BlindIndex(email), vault.Encrypt("email", email), vault.Encrypt("name", name),
             phone ? db::Value(vault.Encrypt("phone", *phone)) : db::Value(nullptr),
             address_json ? db::Value(vault.Encrypt("address", *address_json)) : db::Value(nullptr), key_id, hash,
             std::string(RoleName(role)), std::int64_t{phone ? 1 : 0}, now, now});
    };

    database.Write([&](db::Connection& c) {
        c.Execute("DELETE FROM sessions");
        c.Execute("DELETE FROM users");
        out.admin_email = "admin@" + options.shop_domain;
        out.admin_id = insert(c, out.admin_email, "Shop Admin", std::nullopt, std::nullopt, Role::kAdmin);
        for (std::int64_t i = 1; i <= options.sellers; ++i) {
            std::string email = "seller" + std::to_string(i) + "@" + options.shop_domain;
            std::string name = std::string(pick(kFirst)) + " " + std::string(pick(kLast));
            out.seller_ids.push_back(insert(c, email, name, std::nullopt, std::nullopt, Role::kSeller));
        }
        for (std::int64_t i = 1; i <= options.customers; ++i) {
            std::string first(pick(kFirst)), last(pick(kLast));
            std::string email = Lower(first) + "." + Lower(last) + std::to_string(i) + "@example.com";
            std::string phone = "+659" + std::to_string(1000000 + dice() % 9000000);
            std::string full_name = first;
            full_name += ' ';
            full_name += last;
            std::string line1 = std::to_string(1 + dice() % 200);
            line1 += ' ';
            line1 += pick(kStreets);
            std::string address =
                boost::json::serialize(boost::json::object{{"name", full_name},
                                                           {"line1", line1},
                                                           {"line2", ""},
                                                           {"city", "Singapore"},
                                                           {"postal_code", std::to_string(100000 + dice() % 800000)},
                                                           {"country", "SG"}});
            out.customer_ids.push_back(insert(c, email, full_name, phone, address, Role::kCustomer));
        }
    });
    return out;
}

}  // namespace emporium::accounts
