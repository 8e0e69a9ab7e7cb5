#include "orders/seed.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <ctime>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <string_view>

#include "catalog/catalog.h"
#include "http/json_body.h"
#include "orders/orders.h"

// Shopper profiles: why the generated history looks the way it does.
//
// Every customer is one shopper with a profile drawn once, and their orders are drawn from it one
// after another in time order, so that later baskets depend on earlier ones as real ones do.
// Within a kind of item shoppers prefer the best sellers the way brands have market shares (see
// Pool). Some customers shop far more often than others.
//
// GoMart (grocery), households:
// - Each household has two favourite "missions" (breakfast, pasta night, a curry, a barbecue,
//   baking, a movie night, healthy eating, the family freezer, cleaning, the bathroom, the fruit
//   bowl), each a list of kinds of item ("Spaghetti 500 g", "Chopped Tomatoes 400 g", ...). A
//   product's kind is the first kind its name contains.
// - Staples: a few everyday kinds (milk, bananas, eggs, bread) plus kinds from its missions; for
//   each the household settles on one product. Every basket holds about half of the staples:
//   that is what it buys again.
// - Related items: each basket also does one mission (a favourite mostly, now and then another)
//   and adds two to four of its kinds that are not staples, often a product bought before, else
//   a best seller of that kind. Now and then such an item becomes a staple.
//
// Git Goods (games), gamers:
// - Each gamer owns one console (PlayStation 5, Xbox Series X|S, Nintendo Switch or a PC) and
//   has two favourite genres. About half buy the console itself in their first order, with a
//   controller for it.
// - Every order holds one or two games for that console, never one they already own, mostly in
//   their genres; often an accessory (controller, headset) made for that console; sometimes the
//   merchandise of a game they own, a collectible, or a gift card for their platform, which
//   they buy again.
//
// Any other catalog (a handful of test products, say) gets baskets of random products.

namespace emporium::orders {
namespace {

using catalog::Product;

class Dice {
public:
    explicit Dice(std::uint64_t seed) : engine_(seed) {}
    std::int64_t Between(std::int64_t lo, std::int64_t hi) {  // inclusive
        return lo + static_cast<std::int64_t>(engine_() % static_cast<std::uint64_t>(hi - lo + 1));
    }
    bool Chance(int percent) { return Between(1, 100) <= percent; }
    double Unit() { return static_cast<double>(engine_() >> 11) / static_cast<double>(1ULL << 53); }
    template <typename T>
    const T& Pick(const std::vector<T>& items) {
        return items[static_cast<std::size_t>(Between(0, static_cast<std::int64_t>(items.size()) - 1))];
    }

private:
    std::mt19937_64 engine_;
};

// Products to choose from with market shares: ranked by the catalog's popularity, the r-th best
// seller of a pool is chosen in proportion to 1 / r^1.5 (a Zipf law, as brands' shares go): the
// first about half the time in a pool of twenty, the tenth rarely.
class Pool {
public:
    void Add(const Product* p) {
        items_.push_back(p);
        cumulative_.clear();
    }
    bool empty() const { return items_.empty(); }
    const Product* Pick(Dice& dice) const {
        if (cumulative_.empty()) Rank();
        double roll = dice.Unit() * cumulative_.back();
        auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), roll);
        return items_[std::min<std::size_t>(static_cast<std::size_t>(it - cumulative_.begin()), items_.size() - 1)];
    }
    // A pick that is not in taken: drawn a few times, then the best seller not taken; nullptr
    // when every one is.
    const Product* PickNew(Dice& dice, const std::set<std::int64_t>& taken) const {
        if (empty()) return nullptr;
        for (int attempt = 0; attempt < 8; ++attempt) {
            const Product* p = Pick(dice);
            if (!taken.contains(p->id)) return p;
        }
        for (const Product* p : items_) {
            if (!taken.contains(p->id)) return p;
        }
        return nullptr;
    }

private:
    void Rank() const {
        std::stable_sort(items_.begin(), items_.end(),
                         [](const Product* a, const Product* b) { return a->popularity > b->popularity; });
        for (std::size_t r = 0; r < items_.size(); ++r) {
            double share = 1.0 / std::pow(static_cast<double>(r + 1), 1.5);
            cumulative_.push_back((cumulative_.empty() ? 0.0 : cumulative_.back()) + share);
        }
    }
    mutable std::vector<const Product*> items_;  // best sellers first once ranked
    mutable std::vector<double> cumulative_;     // empty until ranked
};

struct Line {
    const Product* product;
    std::int64_t quantity;
};
using Basket = std::vector<Line>;

void Put(Basket& basket, const Product* p, std::int64_t quantity) {
    if (p == nullptr) return;
    for (const Line& l : basket) {
        if (l.product == p) return;
    }
    basket.push_back({p, quantity});
}

std::string Attribute(const Product& p, const char* key) {
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(p.attributes_json, ec);
    if (ec || !v.is_object()) return "";
    const boost::json::value* found = v.as_object().if_contains(key);
    return found && found->is_string() ? std::string(found->as_string()) : "";
}

// ---------------------------------------------------------------- households (GoMart)

struct Mission {
    std::string_view name;
    std::vector<std::string_view> kinds;
};

// Longer kinds first where one contains another ("Peanut Butter" before "Butter").
const std::vector<Mission>& Missions() {
    static const std::vector<Mission> kMissions = {
        {"breakfast",
         {"Sourdough Loaf", "Wholemeal Bread", "Croissants", "Bagels", "Peanut Butter", "Butter 250 g",
          "Strawberry Jam", "Honey", "Free-Range Eggs", "Whole Milk", "Orange Juice", "Ground Coffee", "Rolled Oats",
          "Greek Yogurt"}},
        {"pasta night",
         {"Spaghetti", "Chopped Tomatoes", "Garlic", "Mozzarella", "Extra Virgin Olive Oil", "Red Onions", "Beef Mince",
          "Baguette"}},
        {"curry",
         {"Basmati Rice", "Soy Sauce", "Coconut Milk", "Chicken Thighs", "Prawns", "Bell Peppers", "Red Lentils",
          "Chickpeas", "Pita Bread"}},
        {"barbecue",
         {"Beef Sirloin", "Pork Chops", "Chicken Breast", "Lamb Leg", "Cola", "Lemonade", "Sea Salt Crisps",
          "Brioche Buns", "Potatoes"}},
        {"baking",
         {"Plain Flour", "Butter 250 g", "Free-Range Eggs", "Dark Chocolate", "Honey", "Cream Cheese", "Sour Cream",
          "Lemons"}},
        {"movie night",
         {"Popcorn", "Gummy Bears", "Dark Chocolate", "Cola", "Sea Salt Crisps", "Margherita Pizza",
          "Vanilla Ice Cream", "Iced Tea"}},
        {"healthy",
         {"Baby Spinach", "Avocados", "Cucumbers", "Mixed Berries", "Oat Milk", "Coconut Water", "Trail Mix",
          "Salted Almonds", "Green Tea", "Salmon Fillet", "Sweet Potatoes"}},
        {"freezer",
         {"Frozen Peas", "Fish Fingers", "Oven Fries", "Chicken Nuggets", "Vegetable Dumplings", "Margherita Pizza",
          "Vanilla Ice Cream"}},
        {"cleaning",
         {"Dish Soap", "Laundry Liquid", "Paper Towels", "Toilet Paper", "Bin Bags", "All-Purpose Spray", "Sponges"}},
        {"bathroom", {"Toothpaste", "Shampoo", "Hand Soap", "Body Wash", "Deodorant", "Sunscreen", "Toilet Paper"}},
        {"fruit bowl",
         {"Gala Apples", "Bananas", "Navel Oranges", "Pears", "Red Grapes", "Mangoes", "Strawberries", "Lemons"}},
    };
    return kMissions;
}

constexpr std::string_view kEveryday[] = {"Whole Milk", "Bananas", "Free-Range Eggs", "Sourdough Loaf",
                                          "Wholemeal Bread"};

class Households {
public:
    explicit Households(const std::vector<Product>& products) {
        std::vector<std::string_view> kinds;
        for (const Mission& m : Missions()) kinds.insert(kinds.end(), m.kinds.begin(), m.kinds.end());
        std::sort(kinds.begin(), kinds.end(), [](auto a, auto b) { return a.size() > b.size(); });
        for (const Product& p : products) {
            for (std::string_view kind : kinds) {
                if (p.name.find(kind) != std::string::npos) {
                    by_kind_[kind].Add(&p);
                    break;
                }
            }
            any_.Add(&p);
        }
    }

    std::vector<Basket> Baskets(Dice& dice, std::int64_t count) const {
        const auto& missions = Missions();
        const auto last = static_cast<std::int64_t>(missions.size()) - 1;
        const std::size_t favourite[2] = {static_cast<std::size_t>(dice.Between(0, last)),
                                          static_cast<std::size_t>(dice.Between(0, last))};
        std::vector<const Product*> staples;
        std::set<std::int64_t> staple_ids;
        auto adopt = [&](const Product* p) {
            if (p && staple_ids.insert(p->id).second) staples.push_back(p);
        };
        for (int i = 0; i < 2; ++i) adopt(Choose(kEveryday[dice.Between(0, std::ssize(kEveryday) - 1)], dice));
        for (std::int64_t i = dice.Between(2, 5); i > 0; --i) {
            const Mission& m = missions[favourite[dice.Between(0, 1)]];
            adopt(Choose(dice.Pick(m.kinds), dice));
        }
        std::map<std::string_view, const Product*> tried;  // kind -> the product bought last time
        std::vector<Basket> out;
        for (std::int64_t n = 0; n < count; ++n) {
            Basket basket;
            for (const Product* p : staples) {
                if (dice.Chance(55)) Put(basket, p, dice.Between(1, 3));
            }
            if (basket.empty() && !staples.empty()) Put(basket, dice.Pick(staples), 1);
            const Mission& m = dice.Chance(85) ? missions[favourite[dice.Between(0, 1)]] : dice.Pick(missions);
            for (std::int64_t k = dice.Between(2, 4); k > 0; --k) {
                std::string_view kind = dice.Pick(m.kinds);
                auto before = tried.find(kind);
                const Product* p = before != tried.end() && dice.Chance(50) ? before->second : Choose(kind, dice);
                if (p == nullptr || staple_ids.contains(p->id)) continue;
                tried[kind] = p;
                Put(basket, p, dice.Between(1, 2));
                if (dice.Chance(8)) adopt(p);
            }
            if (basket.empty() && !any_.empty()) Put(basket, any_.Pick(dice), 1);
            out.push_back(std::move(basket));
        }
        return out;
    }

private:
    const Product* Choose(std::string_view kind, Dice& dice) const {
        auto it = by_kind_.find(kind);
        if (it != by_kind_.end()) return it->second.Pick(dice);
        return any_.empty() ? nullptr : any_.Pick(dice);  // a small catalog without this kind
    }

    std::map<std::string_view, Pool> by_kind_;
    Pool any_;
};

// ---------------------------------------------------------------- gamers (Git Goods)

struct Platform {
    std::string_view name;  // as in the products' "platform" attribute
    std::string_view games_category;
    int share;  // percent of gamers
};
constexpr Platform kPlatforms[] = {{"PlayStation 5", "playstation-5", 35},
                                   {"Nintendo Switch", "nintendo-switch", 25},
                                   {"Xbox Series X|S", "xbox-series", 20},
                                   {"PC", "pc-games", 20}};
constexpr std::string_view kGenres[] = {"RPG",      "Action",  "Adventure",  "Racing", "Sports",
                                        "Strategy", "Shooter", "Platformer", "Puzzle", "Simulation",
                                        "Fighting", "Horror",  "Open World"};

class Gamers {
public:
    explicit Gamers(const std::vector<Product>& products) {
        for (const Product& p : products) {
            const std::string platform = Attribute(p, "platform");
            if (p.category == "consoles") {
                consoles_[platform].Add(&p);
            } else if (p.category == "controllers" || p.category == "headsets") {
                accessories_[platform].Add(&p);
                if (p.tags.size() > 1 && p.tags[1] == "controller") controllers_[platform].Add(&p);
            } else if (p.category == "gift-cards") {
                gift_cards_[platform].Add(&p);
            } else if (p.category == "merchandise") {
                merch_.Add(&p);
                merch_by_title_[TitlePrefix(p.name)].Add(&p);
            } else if (p.category == "collectibles") {
                collectibles_.Add(&p);
            } else if (!platform.empty()) {
                games_[platform + "/" + Attribute(p, "genre")].Add(&p);
                games_[platform].Add(&p);
            }
            any_.Add(&p);
        }
    }

    std::vector<Basket> Baskets(Dice& dice, std::int64_t count) const {
        int roll = static_cast<int>(dice.Between(1, 100));
        const Platform* platform = &kPlatforms[0];
        for (const Platform& p : kPlatforms) {
            platform = &p;
            if (roll <= p.share) break;
            roll -= p.share;
        }
        const std::string console(platform->name);
        const std::string genres[2] = {std::string(kGenres[dice.Between(0, std::ssize(kGenres) - 1)]),
                                       std::string(kGenres[dice.Between(0, std::ssize(kGenres) - 1)])};
        std::set<std::int64_t> owned;
        const Product* gift_card = nullptr;
        std::string last_title;  // of the last game drawn: its merchandise is what they may buy
        std::vector<Basket> out;
        for (std::int64_t n = 0; n < count; ++n) {
            Basket basket;
            auto take = [&](const Product* p) {
                if (p == nullptr) return;
                owned.insert(p->id);
                Put(basket, p, 1);
            };
            if (n == 0 && console != "PC" && dice.Chance(50)) {
                take(From(consoles_, console, dice, owned));
                take(From(controllers_, console, dice, owned));
            }
            for (std::int64_t g = dice.Between(1, 2); g > 0; --g) {
                const std::string key = dice.Chance(75) ? console + "/" + genres[dice.Between(0, 1)] : console;
                const Product* game = From(games_, key, dice, owned);
                if (game == nullptr) game = From(games_, console, dice, owned);
                if (game) last_title = TitlePrefix(game->name);
                take(game);
            }
            if (dice.Chance(40)) take(From(accessories_, console, dice, owned));
            if (dice.Chance(15)) {
                auto merch = merch_by_title_.find(last_title);
                take(merch != merch_by_title_.end() ? merch->second.PickNew(dice, owned) : merch_.PickNew(dice, owned));
            }
            if (dice.Chance(5)) take(collectibles_.PickNew(dice, owned));
            if (dice.Chance(12)) {
                if (gift_card == nullptr || dice.Chance(30)) gift_card = From(gift_cards_, console, dice, {});
                if (gift_card) Put(basket, gift_card, 1);
            }
            if (basket.empty()) {
                // A tiny catalog runs out of things a gamer does not own: then they buy one again.
                const Product* p = any_.PickNew(dice, owned);
                take(p != nullptr || any_.empty() ? p : any_.Pick(dice));
            }
            out.push_back(std::move(basket));
        }
        return out;
    }

private:
    // "Shadow Legends II (PC)" and "Shadow Legends Hoodie" share "Shadow Legends".
    static std::string TitlePrefix(const std::string& name) {
        std::size_t first = name.find(' ');
        std::size_t second = first == std::string::npos ? first : name.find_first_of(" :(", first + 1);
        return name.substr(0, second);
    }

    static const Product* From(const std::map<std::string, Pool>& pools, const std::string& key, Dice& dice,
                               const std::set<std::int64_t>& owned) {
        auto it = pools.find(key);
        return it == pools.end() ? nullptr : it->second.PickNew(dice, owned);
    }

    std::map<std::string, Pool> consoles_, accessories_, controllers_, gift_cards_, games_, merch_by_title_;
    Pool merch_, collectibles_, any_;
};

std::vector<Basket> RandomBaskets(const std::vector<Product>& products, Dice& dice, std::int64_t count) {
    std::vector<Basket> out;
    for (std::int64_t n = 0; n < count; ++n) {
        Basket basket;
        for (std::int64_t k = dice.Between(1, 4); k > 0; --k) {
            Put(basket,
                &products[static_cast<std::size_t>(dice.Between(0, static_cast<std::int64_t>(products.size()) - 1))],
                dice.Between(1, 3));
        }
        out.push_back(std::move(basket));
    }
    return out;
}

// A moment of the year before now, drawn more often in November and December and at weekends,
// as a shop's sales are (the sales reports' seasons).
std::int64_t SeasonalTime(std::int64_t now, Dice& dice) {
    for (;;) {
        const std::int64_t at = now - dice.Between(0, std::int64_t{365} * 86400);
        const std::int64_t day = at / 86400;
        const std::int64_t weekday = ((day % 7) + 7 + 3) % 7;  // Monday = 0
        const auto t = static_cast<std::time_t>(at);
        std::tm tm{};
        gmtime_r(&t, &tm);
        std::int64_t weight = tm.tm_mon == 11 ? 20 : tm.tm_mon == 10 ? 16 : tm.tm_mon == 0 ? 8 : 10;
        if (weekday >= 5) weight = weight * 13 / 10;
        if (dice.Between(1, 26) <= weight) return at;
    }
}

// The money a cancelled or refunded order paid back, on its own later date (never after now), and
// now and then a partial refund of one unit of a delivered order.
void SeedRefunds(db::Connection& c, std::int64_t order_id, const std::string& status, std::int64_t created,
                 std::int64_t now, const std::vector<Line>& lines, const std::vector<std::int64_t>& discounts,
                 Dice& dice) {
    const bool partial = status == "delivered" && dice.Between(1, 25) == 1;
    if (status != "cancelled" && status != "refunded" && !partial) return;
    const std::int64_t at = std::min(now, created + (status == "cancelled" ? dice.Between(600, std::int64_t{2} * 86400)
                                                                           : dice.Between(5, 30) * 86400));
    for (std::size_t k = 0; k < lines.size(); ++k) {
        const Line& l = lines[k];
        const std::int64_t net = l.quantity * l.product->price_cents - discounts[k];
        std::int64_t units = l.quantity, amount = net;
        if (partial) {
            if (k > 0) break;
            units = 1;
            amount = net / l.quantity;
        }
        c.Execute(
            "INSERT INTO order_refunds (order_id, product_id, seller_id, quantity, amount_cents, kind, by_user,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            {order_id, l.product->id, l.product->seller_id, units, amount,
             std::string(partial                 ? "partial"
                         : status == "cancelled" ? "cancel"
                                                 : "refund"),
             at});
    }
}

struct Drawn {
    std::size_t customer;
    std::int64_t created;
    Basket basket;
};

// Every order of the history, oldest first: who places how many is skewed (a few regulars, many
// occasional shoppers); each customer's baskets come from their profile in time order.
std::vector<Drawn> DrawHistory(const std::vector<Product>& products, const SeedOrdersOptions& options, Dice& dice) {
    const std::size_t customers = options.customer_ids.size();
    std::vector<double> activity(customers);
    for (double& a : activity) a = 0.2 + std::pow(dice.Unit(), 3.0) * 5.0;
    std::vector<double> cumulative(customers);
    std::partial_sum(activity.begin(), activity.end(), cumulative.begin());
    std::vector<std::vector<std::int64_t>> times(customers);
    for (std::int64_t n = 0; n < options.count; ++n) {
        auto it = std::upper_bound(cumulative.begin(), cumulative.end(), dice.Unit() * cumulative.back());
        std::size_t who = std::min(static_cast<std::size_t>(it - cumulative.begin()), customers - 1);
        times[who].push_back(SeasonalTime(options.now, dice));
    }
    const Households households(products);
    const Gamers gamers(products);
    std::vector<Drawn> out;
    for (std::size_t who = 0; who < customers; ++who) {
        if (times[who].empty()) continue;
        std::sort(times[who].begin(), times[who].end());
        const auto n = static_cast<std::int64_t>(times[who].size());
        std::vector<Basket> baskets = options.preset == "grocery" ? households.Baskets(dice, n)
                                      : options.preset == "games" ? gamers.Baskets(dice, n)
                                                                  : RandomBaskets(products, dice, n);
        for (std::size_t k = 0; k < baskets.size(); ++k) out.push_back({who, times[who][k], std::move(baskets[k])});
    }
    std::stable_sort(out.begin(), out.end(), [](const Drawn& a, const Drawn& b) { return a.created < b.created; });
    return out;
}

}  // namespace

std::int64_t SeedOrders(db::Database& database, accounts::PiiVault& vault, const SeedOrdersOptions& options,
                        const std::function<void(std::int64_t, std::int64_t)>& progress) {
    // A seed replaces the shop's history: no order, cart or remembered checkout survives it.
    database.Write([](db::Connection& c) {
        c.Execute("DELETE FROM order_refunds");
        c.Execute("DELETE FROM coupons");
        c.Execute("DELETE FROM order_lines");
        c.Execute("DELETE FROM orders");
        c.Execute("DELETE FROM cart_items");
        c.Execute("DELETE FROM idempotency_keys");
    });
    if (options.count <= 0 || options.customer_ids.empty()) return 0;
    Dice dice(options.seed ^ 0x5bd1e995ULL);
    // Statuses in the proportions of a shop a year old: most orders delivered, a few cancelled.
    static constexpr std::pair<const char*, int> kStatuses[] = {{"delivered", 55}, {"shipped", 12},  {"paid", 8},
                                                                {"placed", 12},    {"cancelled", 9}, {"refunded", 4}};
    static constexpr const char* kCities[] = {"Singapore", "Kuala Lumpur", "Jakarta", "Bangkok", "Manila", "Sydney"};
    // One sealed address and phone per customer: the history is large, the people few.
    std::vector<std::pair<std::string, std::string>> sealed;
    for (std::size_t i = 0; i < options.customer_ids.size(); ++i) {
        std::string city = kCities[i % std::size(kCities)];
        std::string address =
            http::EncodeAddress({"Customer " + std::to_string(i + 1), std::to_string(10 + i) + " Market Street", "",
                                 city, std::to_string(100000 + i), "SG"});
        sealed.emplace_back(vault.Encrypt("shipping_address", address),
                            vault.Encrypt("phone", "+659" + std::to_string(1000000 + (i * 7919) % 9000000)));
    }
    std::int64_t written = 0;
    database.Write([&](db::Connection& c) {
        c.Execute(
            "INSERT INTO coupons (code, seller_id, percent_off, active, created_at) VALUES ('WELCOME10', 0, 10, 1, ?)",
            {options.now});
        std::vector<Product> products;
        catalog::ForEachProduct(c, false, [&](const Product& p) { products.push_back(p); });
        if (products.empty()) return;
        // Each line keeps its product's category, as checkout records it.
        std::map<std::int64_t, std::int64_t> category_of;
        std::vector<std::int64_t> ids;
        ids.reserve(products.size());
        for (const Product& p : products) ids.push_back(p.id);
        for (const catalog::StockLine& line : catalog::ReadStock(c, ids))
            category_of[line.product_id] = line.category_id;
        for (const Drawn& d : DrawHistory(products, options, dice)) {
            int roll = static_cast<int>(dice.Between(1, 100));
            const char* status = "delivered";
            for (const auto& [name, weight] : kStatuses) {
                if (roll <= weight) {
                    status = name;
                    break;
                }
                roll -= weight;
            }
            std::int64_t total = 0;
            if (d.basket.empty()) continue;
            // An order holds one currency, like the cart it comes from.
            const std::string& currency = d.basket.front().product->currency;
            Basket basket;
            for (const Line& l : d.basket) {
                if (l.product->currency == currency) basket.push_back(l);
            }
            // One order in eight used the shop's 10% code; discounts are per line, as at checkout.
            const bool coupon = dice.Between(1, 8) == 1;
            std::vector<std::int64_t> discounts;
            discounts.reserve(basket.size());
            for (const Line& l : basket) {
                discounts.push_back(coupon ? LineDiscount(l.quantity * l.product->price_cents, 10) : 0);
                total += l.quantity * l.product->price_cents - discounts.back();
            }
            std::int64_t order_id = c.QueryInt(
                "INSERT INTO orders (user_id, status, total_cents, currency, shipping_address, phone, card_brand,"
                " card_last4, payment_ref, created_at, updated_at, coupon_code) VALUES (?, ?, ?, ?, ?, ?, 'visa',"
                " '4242', 'seed', ?, ?, ?) RETURNING id",
                {options.customer_ids[d.customer], std::string(status), total, currency, sealed[d.customer].first,
                 sealed[d.customer].second, d.created, d.created, std::string(coupon ? "WELCOME10" : "")});
            for (std::size_t k = 0; k < basket.size(); ++k) {
                const Line& l = basket[k];
                c.Execute(
                    "INSERT INTO order_lines (order_id, product_id, seller_id, name, quantity, price_cents,"
                    " discount_cents, category_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    {order_id, l.product->id, l.product->seller_id, l.product->name, l.quantity, l.product->price_cents,
                     discounts[k], category_of[l.product->id]});
            }
            SeedRefunds(c, order_id, status, d.created, options.now, basket, discounts, dice);
            ++written;
            if (progress && written % 1000 == 0) progress(written, options.count);
        }
    });
    if (progress) progress(written, options.count);
    return written;
}

}  // namespace emporium::orders
