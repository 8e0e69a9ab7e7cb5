#include "catalog/seed.h"

#include <array>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "media/media.h"

namespace emporium::catalog {
namespace {

using Words = std::span<const std::string_view>;

// A small deterministic generator: the standard engines are specified bit for bit, the standard
// distributions are not, so ranges are taken by hand.
class Dice {
public:
    explicit Dice(std::uint64_t seed) : engine_(seed) {}
    std::int64_t Between(std::int64_t lo, std::int64_t hi) {  // inclusive
        return lo + static_cast<std::int64_t>(engine_() % static_cast<std::uint64_t>(hi - lo + 1));
    }
    bool Chance(int percent) { return Between(1, 100) <= percent; }
    std::string_view Pick(Words words) {
        return words[static_cast<std::size_t>(Between(0, static_cast<std::int64_t>(words.size()) - 1))];
    }

private:
    std::mt19937_64 engine_;
};

struct CategorySpec {
    std::string_view slug;
    std::string_view name;
    int weight;  // share of products
};

struct Generated {
    std::string name;
    std::string description;
    std::vector<std::string> tags;
    std::int64_t price_cents;
    std::string attributes_json;
};

std::string JsonString(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::int64_t NinetyNine(Dice& dice, std::int64_t lo_dollars, std::int64_t hi_dollars) {
    return dice.Between(lo_dollars, hi_dollars) * 100 - 1;
}

// ---------------------------------------------------------------- Git Goods
constexpr std::array<CategorySpec, 10> kGameCategories = {{
    {"playstation-5", "PlayStation 5 Games", 16},
    {"xbox-series", "Xbox Series X|S Games", 13},
    {"nintendo-switch", "Nintendo Switch Games", 14},
    {"pc-games", "PC Games", 16},
    {"consoles", "Consoles", 3},
    {"controllers", "Controllers & Accessories", 10},
    {"headsets", "Headsets & Audio", 6},
    {"merchandise", "Merchandise & Apparel", 12},
    {"collectibles", "Figures & Collectibles", 7},
    {"gift-cards", "Gift Cards", 3},
}};
constexpr std::string_view kTitleA[] = {"Shadow",  "Crimson", "Eternal", "Neon",     "Iron",     "Starfall",
                                        "Mythic",  "Pixel",   "Rogue",   "Frost",    "Thunder",  "Hollow",
                                        "Quantum", "Savage",  "Silent",  "Ember",    "Galactic", "Arcane",
                                        "Wild",    "Broken",  "Solar",   "Obsidian", "Velvet",   "Hyper"};
constexpr std::string_view kTitleB[] = {"Legends",  "Odyssey", "Tactics", "Racers",     "Kingdom",  "Protocol",
                                        "Frontier", "Dungeon", "Arena",   "Chronicles", "Horizon",  "Outlaws",
                                        "Siege",    "Drift",   "Empire",  "Saga",       "Uprising", "Depths",
                                        "Knights",  "Rally",   "League",  "Realms"};
constexpr std::string_view kTitleC[] = {"",
                                        "",
                                        "",
                                        " II",
                                        " III",
                                        ": Remastered",
                                        " Deluxe Edition",
                                        ": Definitive Edition",
                                        " Origins",
                                        ": Rebirth",
                                        " Gold Edition",
                                        " 2"};
constexpr std::string_view kGenres[] = {"RPG",      "Action",  "Adventure",  "Racing", "Sports",
                                        "Strategy", "Shooter", "Platformer", "Puzzle", "Simulation",
                                        "Fighting", "Horror",  "Open World"};
constexpr std::string_view kPublishers[] = {"Octave Games", "Bright Forge", "Northwind Interactive", "Red Lantern",
                                            "Pixel Harbor", "Blue Comet",   "Ironclad Studios",      "Moonlit Works"};
constexpr std::string_view kAgeRatings[] = {"PEGI 3", "PEGI 7", "PEGI 12", "PEGI 16", "PEGI 18"};
constexpr std::string_view kColors[] = {"Midnight Black", "Arctic White",  "Cobalt Blue", "Volcanic Red",
                                        "Electric Volt",  "Galaxy Purple", "Camo Green",  "Sunset Orange"};
constexpr std::string_view kAccessories[] = {
    "Wireless Controller", "Pro Controller", "Charging Dock",      "Carry Case",    "Thumb Grips (4-pack)",
    "HDMI 2.1 Cable",      "Racing Wheel",   "Arcade Fight Stick", "Cooling Stand", "Memory Card 256 GB"};
constexpr std::string_view kAccessoryBrands[] = {"HyperGrip", "Vortex", "NovaPlay", "Titan", "Zenith", "Apex"};
constexpr std::string_view kHeadsets[] = {"Wireless Gaming Headset", "Surround Headset", "Noise-Cancelling Headset",
                                          "Streaming Microphone",    "Earbuds with Mic", "Soundbar for Gaming"};
constexpr std::string_view kMerch[] = {"T-Shirt",  "Hoodie",       "Snapback Cap",   "Coffee Mug", "Art Poster",
                                       "Backpack", "Desk Mat XXL", "Enamel Pin Set", "Beanie",     "Socks"};
constexpr std::string_view kSizes[] = {"S", "M", "L", "XL", "XXL"};
constexpr std::string_view kCharacters[] = {"Captain", "Ranger", "Sorceress", "Knight",    "Robot",
                                            "Dragon",  "Pilot",  "Ninja",     "Alchemist", "Golem"};
constexpr std::string_view kConsoles[] = {"PlayStation 5 Slim", "PlayStation 5 Digital Edition", "Xbox Series X",
                                          "Xbox Series S",      "Nintendo Switch OLED",          "Nintendo Switch Lite",
                                          "Steam Deck OLED"};
constexpr std::string_view kBundles[] = {"Console", "Starter Bundle", "Holiday Bundle", "Racing Bundle",
                                         "Adventure Bundle"};

std::string GameTitle(Dice& dice) {
    return std::string(dice.Pick(kTitleA)) + " " + std::string(dice.Pick(kTitleB)) + std::string(dice.Pick(kTitleC));
}

Generated MakeGame(Dice& dice, std::string_view slug) {
    Generated g;
    std::string title = GameTitle(dice);
    std::string_view platform = slug == "playstation-5"     ? "PlayStation 5"
                                : slug == "xbox-series"     ? "Xbox Series X|S"
                                : slug == "nintendo-switch" ? "Nintendo Switch"
                                                            : "PC";
    std::string_view genre = dice.Pick(kGenres);
    std::string_view publisher = dice.Pick(kPublishers);
    std::string_view rating = dice.Pick(kAgeRatings);
    std::int64_t year = dice.Between(2018, 2026);
    g.name = title + " (" + std::string(platform) + ")";
    std::string kind(genre == "RPG" ? "role-playing" : genre == "Open World" ? "open-world" : genre);
    std::string article = std::string_view("AEIOUaeiou").find(kind[0]) != std::string_view::npos ? "an " : "a ";
    g.description =
        title + " is " + article + kind + " game from " + std::string(publisher) + ". " +
        std::string(dice.Chance(50) ? "Explore a vast world, master new abilities and face rivals online."
                                    : "Team up with friends or go solo through dozens of handcrafted levels.") +
        " Rated " + std::string(rating) + ".";
    g.tags = {std::string(genre == "Open World" ? "open-world" : std::string(genre)),
              std::string(platform == "PC" ? "pc" : slug), dice.Chance(40) ? "multiplayer" : "single-player"};
    for (auto& t : g.tags) {
        for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    g.price_cents = dice.Chance(30) ? NinetyNine(dice, 10, 30) : NinetyNine(dice, 30, 70);
    g.attributes_json = "{\"platform\":" + JsonString(platform) + ",\"genre\":" + JsonString(genre) +
                        ",\"publisher\":" + JsonString(publisher) + ",\"release_year\":" + std::to_string(year) +
                        ",\"age_rating\":" + JsonString(rating) + "}";
    return g;
}

// The platform a console model plays: accessories and gift cards name it so that shoppers (and
// the recommendation model's content features) can tell which console they belong to.
std::string_view PlatformOf(std::string_view console) {
    if (console.starts_with("PlayStation")) return "PlayStation 5";
    if (console.starts_with("Xbox")) return "Xbox Series X|S";
    if (console.starts_with("Nintendo")) return "Nintendo Switch";
    return "PC";
}
constexpr std::string_view kPlatforms[] = {"PlayStation 5", "Xbox Series X|S", "Nintendo Switch", "PC"};

// platform_dice picks what an accessory is made for; it is a generator of its own so that
// adding the platform left every other generated value as it was.
Generated MakeGamesItem(Dice& dice, Dice& platform_dice, std::string_view slug) {
    if (slug == "playstation-5" || slug == "xbox-series" || slug == "nintendo-switch" || slug == "pc-games") {
        return MakeGame(dice, slug);
    }
    Generated g;
    if (slug == "consoles") {
        std::string_view console = dice.Pick(kConsoles);
        std::string_view bundle = dice.Pick(kBundles);
        std::string_view color = dice.Pick(kColors);
        g.name = std::string(console) + " " + std::string(bundle) + " – " + std::string(color);
        g.description = "The " + std::string(console) + " in " + std::string(color) +
                        ", with one controller and everything you need to start playing tonight.";
        g.tags = {"console", "hardware"};
        g.price_cents = NinetyNine(dice, 199, 649);
        g.attributes_json = "{\"model\":" + JsonString(console) + ",\"platform\":" + JsonString(PlatformOf(console)) +
                            ",\"color\":" + JsonString(color) + ",\"warranty_months\":24}";
    } else if (slug == "controllers") {
        std::string_view brand = dice.Pick(kAccessoryBrands);
        std::string_view item = dice.Pick(kAccessories);
        std::string_view color = dice.Pick(kColors);
        std::string_view platform = platform_dice.Pick(kPlatforms);
        g.name =
            std::string(brand) + " " + std::string(item) + " for " + std::string(platform) + " – " + std::string(color);
        g.description = "A " + std::string(item) + " by " + std::string(brand) + " for " + std::string(platform) +
                        ", built for long sessions: durable, comfortable and officially licensed.";
        g.tags = {"accessory", std::string(item.find("Controller") != std::string_view::npos ? "controller" : "gear")};
        g.price_cents = NinetyNine(dice, 8, 180);
        g.attributes_json = "{\"brand\":" + JsonString(brand) + ",\"platform\":" + JsonString(platform) +
                            ",\"color\":" + JsonString(color) + "}";
    } else if (slug == "headsets") {
        std::string_view brand = dice.Pick(kAccessoryBrands);
        std::string_view item = dice.Pick(kHeadsets);
        std::string_view platform = platform_dice.Pick(kPlatforms);
        g.name = std::string(brand) + " " + std::string(item) + " " + std::to_string(dice.Between(1, 9)) + "00 for " +
                 std::string(platform);
        g.description = "Hear every footstep: " + std::string(item) + " with " + std::to_string(dice.Between(20, 60)) +
                        " hours of battery and a detachable microphone.";
        g.tags = {"audio", "headset"};
        g.price_cents = NinetyNine(dice, 25, 300);
        g.attributes_json = "{\"brand\":" + JsonString(brand) + ",\"platform\":" + JsonString(platform) +
                            ",\"connection\":\"" + (dice.Chance(60) ? "wireless" : "wired") + "\"}";
    } else if (slug == "merchandise") {
        std::string game = std::string(dice.Pick(kTitleA)) + " " + std::string(dice.Pick(kTitleB));
        std::string_view item = dice.Pick(kMerch);
        bool sized = item == "T-Shirt" || item == "Hoodie";
        std::string_view size = dice.Pick(kSizes);
        g.name = game + " " + std::string(item) + (sized ? " – Size " + std::string(size) : "");
        g.description = "Official " + game + " " + std::string(item) + ". Soft, printed to last, and loved by fans.";
        g.tags = {"merch", "apparel"};
        g.price_cents = NinetyNine(dice, 9, 65);
        g.attributes_json =
            sized ? "{\"size\":" + JsonString(size) + ",\"material\":\"cotton\"}" : "{\"licensed\":true}";
    } else if (slug == "collectibles") {
        std::string game = std::string(dice.Pick(kTitleA)) + " " + std::string(dice.Pick(kTitleB));
        std::string_view who = dice.Pick(kCharacters);
        std::int64_t height = dice.Between(10, 45);
        g.name = game + " " + std::string(who) + " Figure " + std::to_string(height) + " cm";
        g.description = "A hand-painted " + std::to_string(height) + " cm figure of the " + std::string(who) +
                        " from " + game + ", with a display base. Limited run.";
        g.tags = {"collectible", "figure"};
        g.price_cents = NinetyNine(dice, 19, 250);
        g.attributes_json =
            "{\"height_cm\":" + std::to_string(height) + ",\"limited\":" + (dice.Chance(30) ? "true" : "false") + "}";
    } else {
        static constexpr std::int64_t kAmounts[] = {10, 20, 25, 50, 75, 100};
        std::int64_t amount = kAmounts[dice.Between(0, 5)];
        std::string_view platform = dice.Pick(kConsoles);
        g.name = "$" + std::to_string(amount) + " Gift Card – " + std::string(platform.substr(0, platform.find(' ')));
        g.description = "Delivered by email within minutes. Redeem for games, add-ons and subscriptions.";
        g.tags = {"gift-card", "digital"};
        g.price_cents = amount * 100;
        g.attributes_json = "{\"digital\":true,\"platform\":" + JsonString(PlatformOf(platform)) +
                            ",\"value_cents\":" + std::to_string(amount * 100) + "}";
    }
    return g;
}

// ---------------------------------------------------------------- GoMart
constexpr std::array<CategorySpec, 10> kGroceryCategories = {{
    {"fruit-vegetables", "Fruit & Vegetables", 18},
    {"dairy-eggs", "Dairy & Eggs", 10},
    {"bakery", "Bakery", 8},
    {"meat-seafood", "Meat & Seafood", 10},
    {"pantry", "Pantry", 18},
    {"frozen", "Frozen", 8},
    {"drinks", "Drinks", 10},
    {"snacks", "Snacks & Sweets", 9},
    {"household", "Household", 5},
    {"health-beauty", "Health & Beauty", 4},
}};
constexpr std::string_view kProduce[] = {
    "Gala Apples",  "Bananas",      "Navel Oranges",  "Roma Tomatoes", "Carrots", "Broccoli",     "Red Grapes",
    "Avocados",     "Baby Spinach", "Sweet Potatoes", "Red Onions",    "Lemons",  "Strawberries", "Cucumbers",
    "Bell Peppers", "Mangoes",      "Pears",          "Zucchini",      "Garlic",  "Potatoes"};
constexpr std::string_view kOrigins[] = {"Local farms", "Spain", "New Zealand", "Chile",
                                         "Italy",       "Kenya", "Australia",   "Netherlands"};
constexpr std::string_view kGroceryBrands[] = {"GoMart",        "Green Valley", "Sunrise",    "Meadow Fresh",
                                               "Harvest Table", "Blue Harbour", "Little Oak", "Golden Field"};
constexpr std::string_view kDairy[] = {
    "Whole Milk 2 L", "Skim Milk 1 L",    "Greek Yogurt 500 g", "Cheddar 250 g",      "Free-Range Eggs (12)",
    "Butter 250 g",   "Mozzarella 200 g", "Oat Milk 1 L",       "Cream Cheese 200 g", "Sour Cream 300 ml"};
constexpr std::string_view kBakery[] = {
    "Sourdough Loaf 800 g", "Wholemeal Bread 700 g", "Croissants (4)",        "Bagels (6)",     "Baguette",
    "Cinnamon Rolls (4)",   "Rye Bread 500 g",       "Blueberry Muffins (4)", "Pita Bread (6)", "Brioche Buns (6)"};
constexpr std::string_view kMeat[] = {"Chicken Breast", "Beef Mince",   "Pork Chops",     "Salmon Fillet",
                                      "Lamb Leg",       "Prawns",       "Chicken Thighs", "Beef Sirloin",
                                      "Cod Fillet",     "Turkey Breast"};
constexpr std::string_view kPantry[] = {
    "Basmati Rice 2 kg",      "Spaghetti 500 g",     "Extra Virgin Olive Oil 750 ml",
    "Chopped Tomatoes 400 g", "Chickpeas 400 g",     "Rolled Oats 1 kg",
    "Peanut Butter 375 g",    "Honey 500 g",         "Plain Flour 1 kg",
    "Coconut Milk 400 ml",    "Soy Sauce 500 ml",    "Red Lentils 1 kg",
    "Ground Coffee 250 g",    "Green Tea (40 bags)", "Strawberry Jam 340 g"};
constexpr std::string_view kFrozen[] = {"Frozen Peas 1 kg",  "Margherita Pizza",     "Vanilla Ice Cream 1 L",
                                        "Fish Fingers (10)", "Mixed Berries 500 g",  "Vegetable Dumplings (20)",
                                        "Oven Fries 1 kg",   "Chicken Nuggets 400 g"};
constexpr std::string_view kDrinks[] = {
    "Orange Juice 1 L", "Sparkling Water 6 x 500 ml", "Cola 1.5 L",        "Apple Juice 1 L",
    "Iced Tea 500 ml",  "Cold Brew Coffee 330 ml",    "Coconut Water 1 L", "Lemonade 1.25 L"};
constexpr std::string_view kSnacks[] = {"Sea Salt Crisps 150 g", "Dark Chocolate 100 g", "Trail Mix 400 g",
                                        "Popcorn 100 g",         "Oat Cookies 250 g",    "Gummy Bears 200 g",
                                        "Rice Crackers 100 g",   "Salted Almonds 200 g"};
constexpr std::string_view kHousehold[] = {"Dish Soap 750 ml",  "Laundry Liquid 2 L", "Paper Towels (6)",
                                           "Toilet Paper (12)", "Bin Bags (30)",      "All-Purpose Spray 500 ml",
                                           "Sponges (5)"};
constexpr std::string_view kHealth[] = {"Toothpaste 100 ml", "Shampoo 400 ml",          "Hand Soap 250 ml",
                                        "Body Wash 500 ml",  "Sunscreen SPF 50 200 ml", "Deodorant 150 ml"};
constexpr std::string_view kQualities[] = {"", "", "Organic ", "Premium ", "Family Pack ", "Value "};

Generated MakeGroceryItem(Dice& dice, std::string_view slug) {
    Generated g;
    std::string_view brand = dice.Pick(kGroceryBrands);
    std::string_view quality = dice.Pick(kQualities);
    auto each = [&](Words items, std::int64_t lo, std::int64_t hi, std::string tag) {
        std::string_view item = dice.Pick(items);
        g.name = std::string(brand) + " " + std::string(quality) + std::string(item);
        g.description = std::string(quality.empty() ? "Everyday " : quality) + std::string(item) + " from " +
                        std::string(brand) + ". Check the pack for ingredients and allergens.";
        g.tags = {std::move(tag)};
        if (quality == "Organic ") g.tags.emplace_back("organic");
        g.price_cents = dice.Between(lo, hi) * 10 + 9;
        g.attributes_json = "{\"unit\":\"each\",\"brand\":" + JsonString(brand) + "}";
    };
    if (slug == "fruit-vegetables" || slug == "meat-seafood") {
        bool produce = slug == "fruit-vegetables";
        std::string_view item = dice.Pick(produce ? Words(kProduce) : Words(kMeat));
        std::string_view origin = dice.Pick(kOrigins);
        g.name = std::string(quality) + std::string(item) + (produce ? "" : " – " + std::string(brand));
        g.description = std::string(item) + " from " + std::string(origin) + ", sold by weight: the price is per kg " +
                        "and you pay for what we pick for you.";
        g.tags = {produce ? "fresh" : "butcher", produce ? "produce" : "protein"};
        if (quality == "Organic ") g.tags.emplace_back("organic");
        g.price_cents = produce ? dice.Between(9, 120) * 10 + 9 : dice.Between(60, 450) * 10 + 9;
        g.attributes_json = "{\"unit\":\"kg\",\"origin\":" + JsonString(origin) + "}";
    } else if (slug == "dairy-eggs") {
        each(kDairy, 10, 90, "dairy");
    } else if (slug == "bakery") {
        each(kBakery, 15, 80, "bakery");
    } else if (slug == "pantry") {
        each(kPantry, 8, 150, "pantry");
    } else if (slug == "frozen") {
        each(kFrozen, 20, 120, "frozen");
    } else if (slug == "drinks") {
        each(kDrinks, 8, 90, "drinks");
    } else if (slug == "snacks") {
        each(kSnacks, 10, 70, "snacks");
    } else if (slug == "household") {
        each(kHousehold, 15, 180, "household");
    } else {
        each(kHealth, 20, 150, "health");
    }
    return g;
}

}  // namespace

Status SeedCatalog(db::Database& database, CatalogService& service, const SeedOptions& options,
                   const SeedProgress& progress) {
    std::optional<StoreProfile> profile = PresetProfile(options.preset);
    std::vector<FieldError> errors;
    if (!profile) errors.push_back({"preset", "must be games or grocery"});
    if (options.products < 0) errors.push_back({"products", "must not be negative"});
    if (options.seller_ids.empty()) errors.push_back({"sellers", "must name at least one seller"});
    if (!errors.empty()) return Error::Validation(std::move(errors));

    const bool games = options.preset == "games";
    std::span<const CategorySpec> categories =
        games ? std::span<const CategorySpec>(kGameCategories) : std::span<const CategorySpec>(kGroceryCategories);
    int total_weight = 0;
    for (const auto& c : categories) total_weight += c.weight;
    const std::string sku_prefix = games ? "GG-" : "GM-";
    // Fixed base time: the same seed gives the same catalog, whenever it runs.
    constexpr std::int64_t kBaseTime = 1767225600;  // 2026-01-01T00:00:00Z
    Dice dice(options.seed);
    Dice platform_dice(options.seed ^ 0x9e3779b97f4a7c15ULL);

    database.Write([&](db::Connection& c) {
        // A large page cache keeps the indexes of a big catalog in memory until the commit.
        if (database.dialect() == db::Dialect::kSqlite) c.ExecuteScript("PRAGMA cache_size = -262144");
        c.Execute("DELETE FROM products");
        c.Execute("DELETE FROM categories");
        std::vector<std::int64_t> category_ids;
        int position = 0;
        for (const auto& spec : categories) {
            category_ids.push_back(
                c.QueryInt("INSERT INTO categories (slug, name, position) VALUES (?, ?, ?) RETURNING id",
                           {std::string(spec.slug), std::string(spec.name), std::int64_t{position++}}));
        }
        for (std::int64_t i = 0; i < options.products; ++i) {
            // The first products walk the categories so small catalogs still show every one.
            std::size_t k = 0;
            if (i < static_cast<std::int64_t>(categories.size())) {
                k = static_cast<std::size_t>(i);
            } else {
                int roll = static_cast<int>(dice.Between(1, total_weight));
                while (roll > categories[k].weight) roll -= categories[k++].weight;
            }
            Generated g = games ? MakeGamesItem(dice, platform_dice, categories[k].slug)
                                : MakeGroceryItem(dice, categories[k].slug);
            std::string tags = "[";
            for (std::size_t t = 0; t < g.tags.size(); ++t) tags += (t ? "," : "") + JsonString(g.tags[t]);
            tags += "]";
            std::int64_t stock = dice.Chance(4) ? 0 : dice.Chance(10) ? dice.Between(1, 5) : dice.Between(6, 400);
            // Popularity falls off steeply, as real sales do: a few best sellers, a long tail.
            std::int64_t roll = dice.Between(1, 1000);
            std::int64_t popularity = 100000 / (roll * roll) + dice.Between(0, 50);
            std::int64_t created = kBaseTime - dice.Between(0, std::int64_t{730} * 86400);
            char sku[32];
            std::snprintf(sku, sizeof sku, "%s%07lld", sku_prefix.c_str(), static_cast<long long>(i) + 1);
            c.Execute(
                "INSERT INTO products (sku, name, description, category_id, tags, price_cents, currency, stock,"
                " seller_id, image_url, attributes, popularity, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'USD', ?, ?, '', ?, ?, ?, ?)",
                {std::string(sku), std::move(g.name), std::move(g.description), category_ids[k], std::move(tags),
                 g.price_cents, stock,
                 options.seller_ids[static_cast<std::size_t>(
                     dice.Between(0, static_cast<std::int64_t>(options.seller_ids.size()) - 1))],
                 std::move(g.attributes_json), popularity, created, created});
            if (progress && (i + 1) % 1000 == 0) progress(i + 1, options.products);
        }
    });
    if (progress) progress(options.products, options.products);
    service.SetStore(*profile);
    return Ok{};
}

Result<std::int64_t> SeedPhotos(db::Database& database, CatalogService& service, std::int64_t count,
                                std::uint64_t seed) {
    const std::vector<std::int64_t> ids =
        database.Read([&](db::Connection& c) { return PopularProductIds(c, "", count); });
    std::int64_t added = 0;
    for (std::int64_t id : ids) {
        Result<Product> product = service.Get(id);
        if (!product.ok()) continue;
        const auto variant = static_cast<std::uint32_t>(seed + static_cast<std::uint64_t>(id));
        Result<ProductImage> image = service.Images().Add(id, media::DrawPicture(1200, 1200, variant),
                                                          "Photo of " + product->name, std::nullopt);
        if (!image.ok()) return image.error();
        ++added;
    }
    return added;
}

}  // namespace emporium::catalog
