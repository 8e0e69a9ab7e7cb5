// Training data: read from the shop's database or from an export's CSV files.
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <boost/json.hpp>
#include <charconv>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/clock.h"
#include "orders/history.h"
#include "recommend/model.h"

namespace emporium::recommend {
namespace {

namespace json = boost::json;

std::string AttributeText(const json::value& v) {
    if (v.is_string()) return std::string(v.as_string());
    if (v.is_bool()) return v.as_bool() ? "true" : "false";
    if (v.is_int64()) return std::to_string(v.as_int64());
    if (v.is_uint64()) return std::to_string(v.as_uint64());
    if (v.is_double()) {
        std::ostringstream out;
        out << v.as_double();
        return out.str();
    }
    return json::serialize(v);  // arrays and objects stay whole
}

// A keyed hash of a user id: the same person gets the same pseudonym within one export, and
// nobody can tell who without the key, which is never written anywhere.
class Pseudonyms {
public:
    Pseudonyms() {
        if (RAND_bytes(key_, sizeof key_) != 1) throw std::runtime_error("no random bytes for the pseudonym key");
    }
    std::string Of(std::int64_t user_id) const {
        unsigned char digest[32];
        unsigned int length = 0;
        const std::string text = std::to_string(user_id);
        HMAC(EVP_sha256(), key_, sizeof key_, reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest,
             &length);
        static constexpr char kHex[] = "0123456789abcdef";
        std::string out = "c";
        for (unsigned int i = 0; i < 8; ++i) {
            out += kHex[digest[i] >> 4];
            out += kHex[digest[i] & 15];
        }
        return out;
    }

private:
    unsigned char key_[32];
};

// ------------------------------------------------------------------ CSV (RFC 4180)

std::string Field(std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

// The next record of a CSV stream; false at the end. Quoted fields may hold commas, quotes and
// line breaks.
bool NextRecord(std::istream& in, std::vector<std::string>& fields, bool& malformed) {
    fields.clear();
    malformed = false;
    if (in.peek() == std::char_traits<char>::eof()) return false;
    std::string field;
    bool quoted = false, was_quoted = false;
    char c;
    while (in.get(c)) {
        if (quoted) {
            if (c == '"') {
                if (in.peek() == '"') {
                    field += '"';
                    in.get(c);
                } else {
                    quoted = false;
                }
            } else {
                field += c;
            }
        } else if (c == '"') {
            if (!field.empty() || was_quoted) malformed = true;
            quoted = was_quoted = true;
        } else if (c == ',') {
            fields.push_back(std::move(field));
            field.clear();
            was_quoted = false;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && in.peek() == '\n') in.get(c);
            break;
        } else {
            field += c;
        }
    }
    if (quoted) malformed = true;
    fields.push_back(std::move(field));
    return true;
}

std::optional<std::int64_t> Integer(const std::string& text) {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

Error BadRow(const std::string& file, std::int64_t line, const std::string& why) {
    return Error::Validation({{file, "line " + std::to_string(line) + ": " + why}});
}

Result<std::vector<Item>> ReadItems(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) return Error::Validation({{"items.csv", "cannot be read in " + path.parent_path().string()}});
    std::vector<Item> items;
    std::vector<std::string> f;
    bool malformed = false;
    std::int64_t line = 0;
    while (NextRecord(in, f, malformed)) {
        if (++line == 1) {
            if (f != std::vector<std::string>{"product_id", "name", "category_path", "tags", "attributes",
                                              "price_cents", "stock", "archived"})
                return BadRow("items.csv", line, "the header is not the one `emporium recs export` writes");
            continue;
        }
        if (malformed || f.size() != 8) return BadRow("items.csv", line, "must have 8 fields");
        Item item;
        auto id = Integer(f[0]), price = Integer(f[5]), stock = Integer(f[6]), archived = Integer(f[7]);
        if (!id || *id <= 0 || !price || !stock || !archived) return BadRow("items.csv", line, "has a bad number");
        item.product_id = *id;
        item.name = f[1];
        item.category_path = f[2];
        json::error_code ec;
        json::value tags = json::parse(f[3], ec);
        if (ec || !tags.is_array()) return BadRow("items.csv", line, "tags must be a JSON array");
        for (const auto& t : tags.as_array()) item.tags.push_back(AttributeText(t));
        json::value attributes = json::parse(f[4], ec);
        if (ec || !attributes.is_object()) return BadRow("items.csv", line, "attributes must be a JSON object");
        for (const auto& [key, value] : attributes.as_object()) item.attributes.emplace_back(key, AttributeText(value));
        item.price_cents = *price;
        item.stock = *stock;
        item.archived = *archived != 0;
        items.push_back(std::move(item));
    }
    return items;
}

Result<std::vector<Purchase>> ReadBaskets(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) return Error::Validation({{"baskets.csv", "cannot be read in " + path.parent_path().string()}});
    std::vector<Purchase> purchases;
    std::vector<std::string> f;
    bool malformed = false;
    std::int64_t line = 0;
    while (NextRecord(in, f, malformed)) {
        if (++line == 1) {
            if (f != std::vector<std::string>{"order_id", "customer", "product_id", "quantity", "time"})
                return BadRow("baskets.csv", line, "the header is not the one `emporium recs export` writes");
            continue;
        }
        if (malformed || f.size() != 5) return BadRow("baskets.csv", line, "must have 5 fields");
        auto order = Integer(f[0]), product = Integer(f[2]), quantity = Integer(f[3]);
        auto time = ParseTime(f[4]);
        if (!order || !product || !quantity || *quantity <= 0) return BadRow("baskets.csv", line, "has a bad number");
        if (!time) return BadRow("baskets.csv", line, "time must be like 2026-01-31T12:00:00Z");
        if (f[1].empty()) return BadRow("baskets.csv", line, "customer must not be empty");
        purchases.push_back({*order, f[1], *product, *quantity, *time});
    }
    std::stable_sort(purchases.begin(), purchases.end(), [](const Purchase& a, const Purchase& b) {
        return a.time != b.time ? a.time < b.time : a.order_id < b.order_id;
    });
    return purchases;
}

}  // namespace

std::optional<std::int64_t> ParseTime(const std::string& text) {
    std::tm tm{};
    std::istringstream in(text);
    in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
    if (in.fail() || in.peek() != std::char_traits<char>::eof()) return std::nullopt;
    return static_cast<std::int64_t>(timegm(&tm));
}

Item ItemFromProduct(const catalog::Product& p) {
    Item item;
    item.product_id = p.id;
    item.name = p.name;
    item.category_path = p.category;
    item.tags = p.tags;
    json::error_code ec;
    json::value attributes = json::parse(p.attributes_json, ec);
    if (!ec && attributes.is_object()) {
        for (const auto& [key, value] : attributes.as_object()) item.attributes.emplace_back(key, AttributeText(value));
    }
    item.price_cents = p.price_cents;
    item.stock = p.stock;
    item.archived = p.archived;
    return item;
}

TrainingData ReadTrainingData(db::Database& database) {
    TrainingData data;
    Pseudonyms pseudonyms;
    database.Read([&](db::Connection& c) {
        catalog::ForEachProduct(c, true, [&](const catalog::Product& p) { data.items.push_back(ItemFromProduct(p)); });
        std::unordered_map<std::int64_t, std::string> names;
        orders::ForEachPurchase(c, [&](const orders::PurchaseLine& l) {
            auto [it, added] = names.try_emplace(l.user_id);
            if (added) it->second = pseudonyms.Of(l.user_id);
            data.purchases.push_back({l.order_id, it->second, l.product_id, l.quantity, l.created_at});
        });
    });
    return data;
}

void WriteCsv(const TrainingData& data, const std::string& dir) {
    std::filesystem::create_directories(dir);
    std::ofstream items(std::filesystem::path(dir) / "items.csv", std::ios::trunc);
    items << "product_id,name,category_path,tags,attributes,price_cents,stock,archived\r\n";
    for (const Item& item : data.items) {
        json::array tags;
        for (const std::string& t : item.tags) tags.emplace_back(t);
        json::object attributes;
        for (const auto& [key, value] : item.attributes) attributes[key] = value;
        items << item.product_id << ',' << Field(item.name) << ',' << Field(item.category_path) << ','
              << Field(json::serialize(tags)) << ',' << Field(json::serialize(attributes)) << ',' << item.price_cents
              << ',' << item.stock << ',' << (item.archived ? 1 : 0) << "\r\n";
    }
    std::ofstream baskets(std::filesystem::path(dir) / "baskets.csv", std::ios::trunc);
    baskets << "order_id,customer,product_id,quantity,time\r\n";
    for (const Purchase& p : data.purchases) {
        baskets << p.order_id << ',' << Field(p.customer) << ',' << p.product_id << ',' << p.quantity << ','
                << FormatRfc3339(p.time) << "\r\n";
    }
    items.close();
    baskets.close();
    if (!items || !baskets) throw std::runtime_error("the CSV files could not be written to " + dir);
}

Result<TrainingData> ReadCsv(const std::string& dir) {
    TrainingData data;
    Result<std::vector<Item>> items = ReadItems(std::filesystem::path(dir) / "items.csv");
    if (!items.ok()) return items.error();
    Result<std::vector<Purchase>> purchases = ReadBaskets(std::filesystem::path(dir) / "baskets.csv");
    if (!purchases.ok()) return purchases.error();
    data.items = std::move(items.value());
    data.purchases = std::move(purchases.value());
    return data;
}

std::string VariantKey(const std::string& name, const std::string& category) {
    // "Name – Colour" or "Name - Size M": the part before the dash names the item.
    std::size_t cut = name.find(" \xe2\x80\x93 ");
    if (cut == std::string::npos) cut = name.find(" - ");
    std::string base = name.substr(0, cut);
    for (char& c : base) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return category + "/" + base;
}

}  // namespace emporium::recommend
