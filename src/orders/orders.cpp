#include "orders/orders.h"

#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>

#include "catalog/catalog.h"
#include "core/contact.h"
#include "events/outbox.h"
#include "http/json_body.h"

namespace emporium::orders {
namespace {

namespace json = boost::json;

constexpr std::int64_t kIdempotencyWindowSeconds = std::int64_t{24} * 3600;

struct Move {
    OrderStatus from;
    OrderStatus to;
    bool owner, seller, admin;
};

// The one table of allowed moves and who may make them.
constexpr Move kMoves[] = {
    {OrderStatus::kPlaced, OrderStatus::kPaid, false, false, true},
    {OrderStatus::kPlaced, OrderStatus::kShipped, false, true, true},
    {OrderStatus::kPaid, OrderStatus::kShipped, false, true, true},
    {OrderStatus::kPlaced, OrderStatus::kCancelled, true, false, true},
    {OrderStatus::kPaid, OrderStatus::kCancelled, true, false, true},
    {OrderStatus::kShipped, OrderStatus::kDelivered, false, true, true},
    {OrderStatus::kShipped, OrderStatus::kRefunded, false, false, true},
    {OrderStatus::kDelivered, OrderStatus::kRefunded, false, false, true},
};

Error OutOfStock(std::vector<FieldError> lines) {
    return Error{ErrorKind::kConflict, "out_of_stock", "Some items are no longer available in the quantity asked for.",
                 std::move(lines)};
}

Error CurrencyMismatch(std::string_view cart, std::string_view product) {
    return Error::Conflict("currency_mismatch", "Your cart is in " + std::string(cart) + " and this is priced in " +
                                                    std::string(product) +
                                                    "; a cart holds one currency. Check out or empty the cart first.");
}

Error MixedCart() {
    return Error::Conflict("currency_mismatch",
                           "Your cart holds items priced in different currencies; remove the ones not in the cart's "
                           "currency, then check out.");
}

std::string NewPaymentReference() {
    unsigned char id[12];
    randombytes_buf(id, sizeof id);
    char hex[sizeof id * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, id, sizeof id);
    return std::string("pay_") + hex;
}

}  // namespace

std::string_view StatusName(OrderStatus s) {
    switch (s) {
        case OrderStatus::kPlaced:
            return "placed";
        case OrderStatus::kPaid:
            return "paid";
        case OrderStatus::kShipped:
            return "shipped";
        case OrderStatus::kDelivered:
            return "delivered";
        case OrderStatus::kCancelled:
            return "cancelled";
        case OrderStatus::kRefunded:
            return "refunded";
    }
    return "placed";
}

std::optional<OrderStatus> ParseStatus(std::string_view name) {
    for (OrderStatus s : {OrderStatus::kPlaced, OrderStatus::kPaid, OrderStatus::kShipped, OrderStatus::kDelivered,
                          OrderStatus::kCancelled, OrderStatus::kRefunded}) {
        if (StatusName(s) == name) return s;
    }
    return std::nullopt;
}

bool MayMove(OrderStatus from, OrderStatus to, Actor actor) {
    for (const Move& m : kMoves) {
        if (m.from == from && m.to == to) {
            return (actor == Actor::kOwner && m.owner) || (actor == Actor::kSeller && m.seller) ||
                   (actor == Actor::kAdmin && m.admin);
        }
    }
    return false;
}

std::vector<db::Migration> Migrations(db::Dialect dialect) {
    return {{"orders", 1,
             "CREATE TABLE cart_items (user_id BIGINT NOT NULL, product_id BIGINT NOT NULL,"
             " quantity BIGINT NOT NULL CHECK (quantity > 0), price_cents BIGINT NOT NULL, added_at BIGINT NOT NULL,"
             " PRIMARY KEY (user_id, product_id));"
             "CREATE TABLE orders (" +
                 db::IdColumn(dialect) +
                 ", user_id BIGINT NOT NULL, status TEXT NOT NULL, total_cents BIGINT NOT NULL, currency TEXT NOT NULL,"
                 " shipping_address TEXT NOT NULL, phone TEXT NOT NULL, card_brand TEXT NOT NULL,"
                 " card_last4 TEXT NOT NULL, payment_ref TEXT NOT NULL, created_at BIGINT NOT NULL,"
                 " updated_at BIGINT NOT NULL);"
                 "CREATE INDEX orders_user ON orders (user_id, id);"
                 "CREATE TABLE order_lines (order_id BIGINT NOT NULL REFERENCES orders(id), product_id BIGINT NOT NULL,"
                 " seller_id BIGINT NOT NULL, name TEXT NOT NULL, quantity BIGINT NOT NULL CHECK (quantity > 0),"
                 " price_cents BIGINT NOT NULL, PRIMARY KEY (order_id, product_id));"
                 "CREATE INDEX order_lines_seller ON order_lines (seller_id, order_id);"
                 "CREATE TABLE idempotency_keys (user_id BIGINT NOT NULL, idem_key TEXT NOT NULL,"
                 " fingerprint TEXT NOT NULL, order_id BIGINT NOT NULL, created_at BIGINT NOT NULL,"
                 " PRIMARY KEY (user_id, idem_key));"
                 "CREATE INDEX idempotency_created ON idempotency_keys (created_at);"},
            // Shipping is per seller; payments are recorded before the provider is asked, so that a
            // crash cannot leave an authorization nobody knows about.
            {"orders", 2,
             "ALTER TABLE order_lines ADD COLUMN shipped_at BIGINT;"
             "CREATE TABLE payments (reference TEXT PRIMARY KEY, user_id BIGINT NOT NULL,"
             " amount_cents BIGINT NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN"
             " ('authorizing', 'authorized', 'captured', 'voided', 'declined')), order_id BIGINT,"
             " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
             "CREATE INDEX payments_open ON payments (status, created_at);"},
            // Discount codes, each line's discount and category, and refunds as rows of their own
            // (a negative amount on the refund's date). Lines bought before this keep the category
            // their product has now: the best that is known.
            {"orders", 3,
             "ALTER TABLE order_lines ADD COLUMN discount_cents BIGINT NOT NULL DEFAULT 0;"
             "ALTER TABLE order_lines ADD COLUMN category_id BIGINT NOT NULL DEFAULT 0;"
             "UPDATE order_lines SET category_id = COALESCE((SELECT p.category_id FROM products p"
             " WHERE p.id = order_lines.product_id), 0);"
             "ALTER TABLE orders ADD COLUMN coupon_code TEXT NOT NULL DEFAULT '';"
             "CREATE INDEX orders_created ON orders (created_at, id);"
             "CREATE TABLE order_refunds (" +
                 db::IdColumn(dialect) +
                 ", order_id BIGINT NOT NULL REFERENCES orders(id), product_id BIGINT NOT NULL,"
                 " seller_id BIGINT NOT NULL, quantity BIGINT NOT NULL CHECK (quantity >= 0),"
                 " amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0), kind TEXT NOT NULL CHECK (kind IN"
                 " ('partial', 'cancel', 'refund')), by_user BIGINT NOT NULL, created_at BIGINT NOT NULL);"
                 "CREATE INDEX order_refunds_order ON order_refunds (order_id, product_id);"
                 "CREATE INDEX order_refunds_seller ON order_refunds (seller_id, id);"
                 "CREATE TABLE coupons (code TEXT PRIMARY KEY, seller_id BIGINT NOT NULL,"
                 " percent_off BIGINT NOT NULL CHECK (percent_off BETWEEN 1 AND 90), active INTEGER NOT NULL,"
                 " created_at BIGINT NOT NULL);"
                 "CREATE INDEX coupons_seller ON coupons (seller_id, created_at);"}};
}

std::int64_t LineDiscount(std::int64_t gross_cents, std::int64_t percent_off) {
    return (gross_cents * percent_off + 50) / 100;
}

OrderService::OrderService(db::Database& database, accounts::PiiVault& vault, PaymentProvider& payments,
                           const Clock& clock)
    : database_(database), vault_(vault), payments_(payments), clock_(clock) {
    // The orders' share of a key rotation.
    vault_.Register(database_, accounts::SealedTable{
                                   "orders", "id", {{"shipping_address", "shipping_address"}, {"phone", "phone"}}});
}

void OrderService::OnStockChanged(std::function<void(std::int64_t)> listener) {
    listeners_.push_back(std::move(listener));
}

void OrderService::OnCartAdded(std::function<void(std::int64_t)> listener) {
    cart_listeners_.push_back(std::move(listener));
}

void OrderService::OnEventsCommitted(std::function<void()> listener) {
    committed_listeners_.push_back(std::move(listener));
}

void OrderService::Changed(const std::vector<std::int64_t>& ids) {
    for (std::int64_t id : ids) {
        for (auto& l : listeners_) l(id);
    }
    for (auto& l : committed_listeners_) l();
}

namespace {

// PostgreSQL runs writers side by side (READ COMMITTED), SQLite one after another. A user's cart
// changes and checkouts take turns on a transaction-scoped advisory lock there too, so that two
// checkouts of one cart cannot both read it before either empties it, and two adds of one product
// cannot both insert its line.
void LockCart(db::Database& database, db::Connection& c, std::int64_t user_id) {
    constexpr std::int64_t kCartLocks = std::int64_t{0x4341} << 48;  // user ids stay below 2^48
    if (database.dialect() == db::Dialect::kPostgres) {
        c.Execute("SELECT pg_advisory_xact_lock(?)", {kCartLocks | user_id});
    }
}

}  // namespace

Cart OrderService::ReadCart(db::Connection& c, std::int64_t user_id) {
    struct Row {
        std::int64_t product_id, quantity, price_cents;
    };
    std::vector<Row> rows;
    c.Query("SELECT product_id, quantity, price_cents FROM cart_items WHERE user_id = ? ORDER BY added_at, product_id",
            {user_id}, [&](const db::Row& r) {
                rows.push_back({r.Int(0), r.Int(1), r.Int(2)});
            });
    std::vector<std::int64_t> ids;
    ids.reserve(rows.size());
    for (const Row& row : rows) ids.push_back(row.product_id);
    std::vector<catalog::StockLine> lines = catalog::ReadStock(c, ids);
    Cart cart;
    bool priced = false;
    for (const Row& row : rows) {
        auto it =
            std::find_if(lines.begin(), lines.end(), [&](const auto& l) { return l.product_id == row.product_id; });
        CartLine line{row.product_id,
                      it != lines.end() ? it->name : "Unavailable product",
                      row.quantity,
                      row.price_cents,
                      it != lines.end() ? it->currency : "",
                      it != lines.end() ? it->image_url : ""};
        if (!priced && !line.currency.empty()) {
            cart.currency = line.currency;
            priced = true;
        }
        cart.items.push_back(std::move(line));
    }
    // The cart's currency is its first priced line's; amounts in another one are never added in.
    for (const CartLine& line : cart.items) {
        if (!line.currency.empty() && line.currency != cart.currency) {
            cart.mixed_currencies = true;
            continue;
        }
        cart.total_cents += line.quantity * line.price_cents;
    }
    return cart;
}

Cart OrderService::GetCart(std::int64_t user_id) {
    return database_.Read([&](db::Connection& c) { return ReadCart(c, user_id); });
}

Result<Cart> OrderService::AddToCart(std::int64_t user_id, std::int64_t product_id, std::int64_t quantity) {
    if (quantity < 1 || quantity > kMaxQuantity) {
        return Error::Validation(
            {FieldError::Invalid("quantity", "must be between 1 and " + std::to_string(kMaxQuantity))
                 .With("min", 1)
                 .With("max", kMaxQuantity)});
    }
    const std::int64_t now = UnixSeconds(clock_.Now());
    Result<Cart> cart = database_.Write([&](db::Connection& c) -> Result<Cart> {
        LockCart(database_, c, user_id);
        std::vector<catalog::StockLine> line = catalog::ReadStock(c, {product_id});
        if (line.empty() || line[0].archived)
            return Error::NotFound("There is no product " + std::to_string(product_id) + ".");
        Cart cart = ReadCart(c, user_id);
        const bool others = std::any_of(cart.items.begin(), cart.items.end(),
                                        [&](const CartLine& l) { return l.product_id != product_id; });
        if (others && line[0].currency != cart.currency) return CurrencyMismatch(cart.currency, line[0].currency);
        std::int64_t have = c.QueryInt("SELECT quantity FROM cart_items WHERE user_id = ? AND product_id = ?",
                                       {user_id, product_id}, 0);
        if (have + quantity > kMaxQuantity) {
            return Error::Validation(
                {FieldError::Invalid("quantity", "at most " + std::to_string(kMaxQuantity) + " of one product")
                     .With("max", kMaxQuantity - have)});
        }
        if (have == 0 && static_cast<std::int64_t>(cart.items.size()) >= kMaxCartLines) {
            return Error::Validation(
                {FieldError::Coded("product_id", "cart_full",
                                   "a cart holds at most " + std::to_string(kMaxCartLines) + " different products")
                     .With("max", kMaxCartLines)});
        }
        if (have) {
            c.Execute("UPDATE cart_items SET quantity = ?, price_cents = ? WHERE user_id = ? AND product_id = ?",
                      {have + quantity, line[0].price_cents, user_id, product_id});
        } else {
            c.Execute(
                "INSERT INTO cart_items (user_id, product_id, quantity, price_cents, added_at) VALUES (?, ?, ?, ?, ?)",
                {user_id, product_id, quantity, line[0].price_cents, now});
        }
        return ReadCart(c, user_id);
    });
    if (cart.ok()) {
        for (auto& l : cart_listeners_) l(product_id);
    }
    return cart;
}

Result<Cart> OrderService::SetCartQuantity(std::int64_t user_id, std::int64_t product_id, std::int64_t quantity) {
    if (quantity < 0 || quantity > kMaxQuantity) {
        return Error::Validation(
            {FieldError::Invalid("quantity", "must be between 0 and " + std::to_string(kMaxQuantity))
                 .With("min", 0)
                 .With("max", kMaxQuantity)});
    }
    return database_.Write([&](db::Connection& c) -> Result<Cart> {
        LockCart(database_, c, user_id);
        if (c.QueryInt("SELECT COUNT(*) FROM cart_items WHERE user_id = ? AND product_id = ?", {user_id, product_id}) ==
            0) {
            return Error::NotFound("Product " + std::to_string(product_id) + " is not in the cart.");
        }
        if (quantity == 0) {
            c.Execute("DELETE FROM cart_items WHERE user_id = ? AND product_id = ?", {user_id, product_id});
        } else {
            std::vector<catalog::StockLine> line = catalog::ReadStock(c, {product_id});
            std::int64_t price = line.empty() ? 0 : line[0].price_cents;
            c.Execute("UPDATE cart_items SET quantity = ?, price_cents = ? WHERE user_id = ? AND product_id = ?",
                      {quantity, price, user_id, product_id});
        }
        return ReadCart(c, user_id);
    });
}

Result<Cart> OrderService::RemoveFromCart(std::int64_t user_id, std::int64_t product_id) {
    return SetCartQuantity(user_id, product_id, 0);
}

std::vector<FieldError> OrderService::CheckInput(const CheckoutInput& input) {
    std::vector<FieldError> errors = ValidateAddress(input.shipping_address, "shipping_address");
    if (input.phone.empty()) {
        errors.push_back(FieldError::Required("phone"));
    } else if (auto e = CheckPhone("phone", input.phone)) {
        errors.push_back(std::move(*e));
    }
    if (input.card) {
        for (FieldError& e : ValidateCard(*input.card, clock_)) errors.push_back(std::move(e));
    }
    return errors;
}

namespace {

// Every problem of the cart against the catalog now: stock and price changes.
struct CartCheck {
    std::vector<FieldError> stock;   // "items.<product_id>"
    std::vector<FieldError> prices;  // "items.<product_id>.price_cents"
    std::vector<catalog::StockLine> lines;
};

CartCheck CheckCart(db::Connection& c, const Cart& cart) {
    CartCheck check;
    std::vector<std::int64_t> ids;
    for (const CartLine& l : cart.items) ids.push_back(l.product_id);
    check.lines = catalog::ReadStock(c, ids);
    for (const CartLine& l : cart.items) {
        auto it = std::find_if(check.lines.begin(), check.lines.end(),
                               [&](const auto& s) { return s.product_id == l.product_id; });
        std::string field = "items." + std::to_string(l.product_id);
        if (it == check.lines.end() || it->archived) {
            check.stock.push_back(FieldError::Coded(field, "not_sold", "is no longer sold"));
        } else if (it->stock <= 0) {
            check.stock.push_back(FieldError::Coded(field, "out_of_stock", "is out of stock"));
        } else if (it->stock < l.quantity) {
            check.stock.push_back(
                FieldError::Coded(field, "insufficient_stock", "only " + std::to_string(it->stock) + " left")
                    .With("available", it->stock));
        } else if (it->price_cents != l.price_cents) {
            check.prices.push_back(FieldError::Coded(field + ".price_cents", "price_changed",
                                                     "the price changed from " + std::to_string(l.price_cents) +
                                                         " to " + std::to_string(it->price_cents) + " cents")
                                       .With("old_price_cents", l.price_cents)
                                       .With("price_cents", it->price_cents));
        }
    }
    return check;
}

std::optional<Coupon> ReadCoupon(db::Connection& c, const std::string& code) {
    std::optional<Coupon> out;
    c.Query("SELECT code, seller_id, percent_off, active, created_at FROM coupons WHERE code = ?", {code},
            [&](const db::Row& r) {
                out = Coupon{std::string(r.Text(0)), r.Int(1), r.Int(2), r.Int(3) != 0, r.Int(4)};
            });
    return out;
}

std::string NormalizeCode(std::string_view code) {
    std::string out;
    for (char ch : code) out += (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
    return out;
}

bool ValidCode(std::string_view code) {
    return code.size() >= 3 && code.size() <= 32 && std::all_of(code.begin(), code.end(), [](char ch) {
               return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
           });
}

// Each cart line's discount under a code (by product id). An unknown or retired code, or one
// that fits no line of the cart, is a field error.
struct Discounts {
    std::vector<std::pair<std::int64_t, std::int64_t>> lines;  // product id, discount
    std::int64_t total = 0;
    std::optional<FieldError> error;

    std::int64_t Of(std::int64_t product_id) const {
        for (const auto& [id, cents] : lines) {
            if (id == product_id) return cents;
        }
        return 0;
    }
};

Discounts DiscountCart(db::Connection& c, const Cart& cart, const std::vector<catalog::StockLine>& stock,
                       const std::string& code) {
    Discounts out;
    if (code.empty()) return out;
    std::optional<Coupon> coupon = ValidCode(NormalizeCode(code)) ? ReadCoupon(c, NormalizeCode(code)) : std::nullopt;
    if (!coupon || !coupon->active) {
        out.error = FieldError::Coded("coupon_code", "unknown_coupon", "is not a discount code of this shop");
        return out;
    }
    for (const CartLine& l : cart.items) {
        auto s = std::find_if(stock.begin(), stock.end(), [&](const auto& x) { return x.product_id == l.product_id; });
        if (s == stock.end() || (coupon->seller_id != 0 && s->seller_id != coupon->seller_id)) continue;
        std::int64_t cents = LineDiscount(l.quantity * l.price_cents, coupon->percent_off);
        out.lines.emplace_back(l.product_id, cents);
        out.total += cents;
    }
    if (out.lines.empty()) {
        out.error = FieldError::Coded("coupon_code", "coupon_not_applicable", "does not apply to anything in the cart");
    }
    return out;
}

FieldError EmptyCart() {
    return FieldError::Coded("cart", "empty", "is empty");
}

// The same cart: lines, quantities and prices (a checkout authorizes what it read).
bool SameCart(const Cart& a, const Cart& b) {
    if (a.items.size() != b.items.size() || a.total_cents != b.total_cents || a.currency != b.currency) return false;
    for (std::size_t i = 0; i < a.items.size(); ++i) {
        const CartLine &x = a.items[i], &y = b.items[i];
        if (x.product_id != y.product_id || x.quantity != y.quantity || x.price_cents != y.price_cents) return false;
    }
    return true;
}

// An earlier checkout with this key: its order, or 409 when the key came with another request.
std::optional<Result<std::int64_t>> Remembered(db::Connection& c, std::int64_t user_id, const std::string& key,
                                               const std::string& fingerprint, std::int64_t since) {
    std::optional<std::string> stored;
    std::int64_t order_id = 0;
    c.Query("SELECT fingerprint, order_id FROM idempotency_keys WHERE user_id = ? AND idem_key = ? AND created_at > ?",
            {user_id, key, since}, [&](const db::Row& r) {
                stored = std::string(r.Text(0));
                order_id = r.Int(1);
            });
    if (!stored) return std::nullopt;
    if (*stored != fingerprint) {
        return Result<std::int64_t>(Error::Conflict("idempotency_key_reused",
                                                    "This Idempotency-Key was used for a different checkout request."));
    }
    return Result<std::int64_t>(order_id);
}

}  // namespace

Result<Validation> OrderService::Validate(std::int64_t user_id, const CheckoutInput& input) {
    std::vector<FieldError> errors = CheckInput(input);
    return database_.Read([&](db::Connection& c) -> Result<Validation> {
        Cart cart = ReadCart(c, user_id);
        if (cart.mixed_currencies) return MixedCart();
        if (cart.items.empty()) errors.push_back(EmptyCart());
        CartCheck check = CheckCart(c, cart);
        errors.insert(errors.end(), check.stock.begin(), check.stock.end());
        errors.insert(errors.end(), check.prices.begin(), check.prices.end());
        Discounts discounts = DiscountCart(c, cart, check.lines, input.coupon_code);
        if (discounts.error) errors.push_back(*discounts.error);
        if (!errors.empty()) return Error::Validation(std::move(errors));
        std::int64_t units = 0;
        for (const auto& l : cart.items) units += l.quantity;
        return Validation{cart.total_cents - discounts.total, cart.currency, units, discounts.total};
    });
}

void OrderService::SetPaymentStatus(const std::string& reference, std::string_view status) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    database_.Write([&](db::Connection& c) {
        c.Execute("UPDATE payments SET status = ?, updated_at = ? WHERE reference = ?",
                  {std::string(status), now, reference});
    });
}

void OrderService::VoidPayment(const std::string& reference) {
    // A failed void stays `authorizing`/`authorized` without an order: the reconciler tries again.
    if (payments_.Void(reference).ok()) SetPaymentStatus(reference, "voided");
}

Result<std::pair<Order, bool>> OrderService::Checkout(std::int64_t user_id, const CheckoutInput& input,
                                                      const std::string& idempotency_key,
                                                      const std::string& request_fingerprint) {
    std::vector<FieldError> errors = CheckInput(input);
    if (!input.card) errors.push_back(FieldError::Required("payment"));
    const std::int64_t now = UnixSeconds(clock_.Now());
    const std::int64_t remembered_since = now - kIdempotencyWindowSeconds;
    auto replay = [&](std::int64_t order_id) -> Result<std::pair<Order, bool>> {
        Result<Order> order = Find(order_id);
        if (!order.ok()) return order.error();
        return std::make_pair(std::move(order.value()), true);
    };

    // 1. What is to be bought, read without the write lock (or the order an earlier identical
    // request made).
    struct Plan {
        std::optional<Cart> cart;
        std::int64_t earlier = 0;
        std::int64_t amount = 0;  // what the card is asked for: the cart less its discount
    };
    Result<Plan> plan = database_.Read([&](db::Connection& c) -> Result<Plan> {
        if (auto earlier = Remembered(c, user_id, idempotency_key, request_fingerprint, remembered_since)) {
            if (!earlier->ok()) return earlier->error();
            return Plan{std::nullopt, earlier->value()};
        }
        Cart cart = ReadCart(c, user_id);
        if (cart.mixed_currencies) return MixedCart();
        if (cart.items.empty()) errors.push_back(EmptyCart());
        CartCheck check = CheckCart(c, cart);
        errors.insert(errors.end(), check.prices.begin(), check.prices.end());
        Discounts discounts = DiscountCart(c, cart, check.lines, input.coupon_code);
        if (discounts.error) errors.push_back(*discounts.error);
        if (!errors.empty()) return Error::Validation(std::move(errors));
        if (!check.stock.empty()) return OutOfStock(std::move(check.stock));
        const std::int64_t amount = cart.total_cents - discounts.total;
        return Plan{std::move(cart), 0, amount};
    });
    if (!plan.ok()) return plan.error();
    if (!plan->cart) return replay(plan->earlier);
    const Cart& cart = *plan->cart;
    const std::int64_t amount = plan->amount;

    // 2. The payment, recorded first and authorized outside any transaction: a slow provider
    // holds up this shopper only.
    const std::string reference = NewPaymentReference();
    database_.Write([&](db::Connection& c) {
        c.Execute(
            "INSERT INTO payments (reference, user_id, amount_cents, currency, status, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'authorizing', ?, ?)",
            {reference, user_id, amount, cart.currency, now, now});
    });
    Result<Authorization> auth = payments_.Authorize(*input.card, amount, cart.currency, reference);
    if (!auth.ok()) {
        SetPaymentStatus(reference, "declined");  // nothing was reserved
        return auth.error();
    }

    // 3. The order, in one short write; the authorization is voided unless it commits.
    const std::string sealed_address = vault_.Encrypt("shipping_address", http::EncodeAddress(input.shipping_address));
    const std::string sealed_phone = vault_.Encrypt("phone", input.phone);
    std::vector<std::int64_t> touched;
    Result<std::pair<std::int64_t, bool>> placed = Error{ErrorKind::kInternal, "not_run", "", {}};
    try {
        placed = database_.Write([&](db::Connection& c) -> Result<std::pair<std::int64_t, bool>> {
            LockCart(database_, c, user_id);
            // A twin request with the same key may have committed while this one was paying.
            if (auto earlier = Remembered(c, user_id, idempotency_key, request_fingerprint, remembered_since)) {
                if (!earlier->ok()) return earlier->error();
                return std::make_pair(earlier->value(), true);
            }
            c.Execute("DELETE FROM idempotency_keys WHERE user_id = ? AND idem_key = ? AND created_at <= ?",
                      {user_id, idempotency_key, remembered_since});
            if (!SameCart(ReadCart(c, user_id), cart)) {
                return Error::Conflict("cart_changed",
                                       "Your cart changed while the payment was being approved; review it and check "
                                       "out again. Nothing was charged.");
            }
            CartCheck check = CheckCart(c, cart);
            if (!check.prices.empty()) return Error::Validation(std::move(check.prices));
            if (!check.stock.empty()) return OutOfStock(std::move(check.stock));
            // The code may have been retired while the card was asked: the amount must be the one authorized.
            Discounts discounts = DiscountCart(c, cart, check.lines, input.coupon_code);
            if (discounts.error) return Error::Validation({*discounts.error});
            if (cart.total_cents - discounts.total != amount) {
                return Error::Conflict("cart_changed",
                                       "The discount changed while the payment was being approved; review your cart "
                                       "and check out again. Nothing was charged.");
            }
            touched.clear();
            // In product order, whatever the cart's: two checkouts locking the same rows in opposite
            // orders would deadlock on PostgreSQL, and one of them fail.
            std::vector<CartLine> by_product = cart.items;
            std::sort(by_product.begin(), by_product.end(),
                      [](const CartLine& a, const CartLine& b) { return a.product_id < b.product_id; });
            for (const CartLine& l : by_product) {
                // The condition sits in the UPDATE: never below zero, whoever else is buying.
                if (!catalog::TakeStock(c, l.product_id, l.quantity)) {
                    return OutOfStock({FieldError::Coded("items." + std::to_string(l.product_id), "out_of_stock",
                                                         "is out of stock")});
                }
                touched.push_back(l.product_id);
            }
            std::int64_t order_id = c.QueryInt(
                "INSERT INTO orders (user_id, status, total_cents, currency, shipping_address, phone, card_brand,"
                " card_last4, payment_ref, created_at, updated_at, coupon_code)"
                " VALUES (?, 'placed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                {user_id, amount, cart.currency, sealed_address, sealed_phone, auth->brand, auth->last4, reference, now,
                 now, input.coupon_code.empty() ? std::string() : NormalizeCode(input.coupon_code)});
            json::array items;
            for (const CartLine& l : cart.items) {
                auto s = std::find_if(check.lines.begin(), check.lines.end(),
                                      [&](const auto& x) { return x.product_id == l.product_id; });
                const std::int64_t discount = discounts.Of(l.product_id);
                c.Execute(
                    "INSERT INTO order_lines (order_id, product_id, seller_id, name, quantity, price_cents,"
                    " discount_cents, category_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    {order_id, l.product_id, s->seller_id, s->name, l.quantity, l.price_cents, discount,
                     s->category_id});
                items.push_back(json::object{{"product_id", l.product_id},
                                             {"name", s->name},
                                             {"quantity", l.quantity},
                                             {"price_cents", l.price_cents},
                                             {"discount_cents", discount},
                                             {"seller_id", s->seller_id},
                                             {"category_id", s->category_id}});
            }
            c.Execute("DELETE FROM cart_items WHERE user_id = ?", {user_id});
            events::Append(c, "order.placed", std::to_string(order_id),
                           json::serialize(json::object{{"order_id", order_id},
                                                        {"user_id", user_id},
                                                        {"total_cents", amount},
                                                        {"currency", cart.currency},
                                                        {"items", std::move(items)}}),
                           now);
            c.Execute(
                "INSERT INTO idempotency_keys (user_id, idem_key, fingerprint, order_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                {user_id, idempotency_key, request_fingerprint, order_id, now});
            c.Execute("UPDATE payments SET status = 'authorized', order_id = ?, updated_at = ? WHERE reference = ?",
                      {order_id, now, reference});
            return std::make_pair(order_id, false);
        });
    } catch (...) {
        VoidPayment(reference);
        throw;
    }
    if (!placed.ok() || placed->second) {
        VoidPayment(reference);  // no order of this request's committed
        if (!placed.ok()) return placed.error();
        return replay(placed->first);
    }
    Changed(touched);
    // 4. The money, now that the order is safe. A failed capture is the reconciler's to retry.
    if (payments_.Capture(reference).ok()) SetPaymentStatus(reference, "captured");
    Result<Order> order = Find(placed->first);
    if (!order.ok()) return order.error();
    return std::make_pair(std::move(order.value()), false);
}

OrderService::~OrderService() {
    StopReconciler();
}

void OrderService::StartReconciler(std::chrono::seconds interval, std::chrono::seconds grace,
                                   std::function<void(const ReconcileReport&)> on_pass) {
    if (reconciler_.joinable()) return;
    {
        std::lock_guard lock(reconciler_mutex_);
        reconciler_stopping_ = false;  // started again after a Stop (a lease taken back)
    }
    reconciler_ = std::thread([this, interval, grace, on_pass = std::move(on_pass)] {
        for (;;) {
            try {
                ReconcileReport report = ReconcilePayments(grace);
                if (on_pass) on_pass(report);
            } catch (const std::exception&) {
                ReconcileReport failed;
                failed.failed = 1;
                if (on_pass) on_pass(failed);  // the database is away: next time
            }
            std::unique_lock lock(reconciler_mutex_);
            if (reconciler_wake_.wait_for(lock, interval, [&] { return reconciler_stopping_; })) return;
        }
    });
}

void OrderService::StopReconciler() {
    {
        std::lock_guard lock(reconciler_mutex_);
        reconciler_stopping_ = true;
    }
    reconciler_wake_.notify_all();
    if (reconciler_.joinable()) reconciler_.join();
}

ReconcileReport OrderService::ReconcilePayments(std::chrono::seconds grace) {
    const std::int64_t cutoff = UnixSeconds(clock_.Now()) - grace.count();
    struct Open {
        std::string reference;
        bool has_order;
    };
    std::vector<Open> open = database_.Read([&](db::Connection& c) {
        std::vector<Open> out;
        c.Query(
            "SELECT reference, COALESCE(order_id, 0) FROM payments"
            " WHERE status IN ('authorizing', 'authorized') AND updated_at <= ? ORDER BY created_at LIMIT 500",
            {cutoff}, [&](const db::Row& r) {
                out.push_back({std::string(r.Text(0)), r.Int(1) != 0});
            });
        return out;
    });
    ReconcileReport report;
    for (const Open& p : open) {
        if (p.has_order) {
            if (payments_.Capture(p.reference).ok()) {
                SetPaymentStatus(p.reference, "captured");
                ++report.captured;
            } else {
                ++report.failed;
            }
        } else if (payments_.Void(p.reference).ok()) {
            SetPaymentStatus(p.reference, "voided");
            ++report.voided;
        } else {
            ++report.failed;
        }
    }
    return report;
}

Result<Order> OrderService::Load(db::Connection& c, std::int64_t order_id) {
    std::optional<Order> order;
    std::string sealed_address, sealed_phone;
    c.Query(
        "SELECT id, user_id, status, total_cents, currency, shipping_address, phone, card_brand, card_last4,"
        " created_at, updated_at, coupon_code FROM orders WHERE id = ?",
        {order_id}, [&](const db::Row& r) {
            Order o;
            o.id = r.Int(0);
            o.user_id = r.Int(1);
            o.status = ParseStatus(r.Text(2)).value_or(OrderStatus::kPlaced);
            o.total_cents = r.Int(3);
            o.currency = r.Text(4);
            sealed_address = r.Text(5);
            sealed_phone = r.Text(6);
            o.card_brand = r.Text(7);
            o.card_last4 = r.Text(8);
            o.created_at = r.Int(9);
            o.updated_at = r.Int(10);
            o.coupon_code = r.Text(11);
            order = std::move(o);
        });
    if (!order) return Error::NotFound("There is no order " + std::to_string(order_id) + ".");
    Result<std::string> address = vault_.Decrypt("shipping_address", sealed_address);
    Result<std::string> phone = vault_.Decrypt("phone", sealed_phone);
    if (!address.ok()) return address.error();
    if (!phone.ok()) return phone.error();
    order->shipping_address = http::DecodeAddress(address.value()).value_or(Address{});
    order->phone = phone.value();
    c.Query(
        "SELECT product_id, name, quantity, price_cents, seller_id, shipped_at, discount_cents, category_id"
        " FROM order_lines WHERE order_id = ? ORDER BY product_id",
        {order_id}, [&](const db::Row& r) {
            OrderLine l{r.Int(0), std::string(r.Text(1)),
                        r.Int(2), r.Int(3),
                        r.Int(4), r.IsNull(5) ? std::nullopt : std::optional<std::int64_t>(r.Int(5))};
            l.discount_cents = r.Int(6);
            l.category_id = r.Int(7);
            order->items.push_back(std::move(l));
        });
    c.Query(
        "SELECT product_id, SUM(amount_cents), SUM(quantity) FROM order_refunds WHERE order_id = ? GROUP BY product_id",
        {order_id}, [&](const db::Row& r) {
            for (OrderLine& l : order->items) {
                if (l.product_id != r.Int(0)) continue;
                l.refunded_cents = r.Int(1);
                l.refunded_quantity = r.Int(2);
            }
        });
    return std::move(*order);
}

namespace {

// One seller's view of an order: their lines and their subtotal only (in the order's one
// currency), and no card.
Order SellerView(Order order, std::int64_t seller_id) {
    std::erase_if(order.items, [&](const OrderLine& l) { return l.seller_id != seller_id; });
    order.total_cents = 0;
    for (const OrderLine& l : order.items) order.total_cents += l.Net();
    order.card_brand.clear();
    order.card_last4.clear();
    order.seller_view = seller_id;
    return order;
}

enum class Access { kRead, kWrite };

// Who the principal is to this order. Staff act with the orders scope the access needs; an owner
// acts on their own order only in person, never through a staff token.
std::optional<Actor> ActorFor(const Principal& p, const Order& o, Access access) {
    const std::string_view staff_scope = access == Access::kWrite ? scope::kOrdersWrite : scope::kOrdersRead;
    if (p.ActsForEveryone() && p.Can(staff_scope)) return Actor::kAdmin;
    if (!p.staff_token && o.user_id == p.user_id) return Actor::kOwner;
    if (p.role == Role::kSeller && p.Can(staff_scope) &&
        std::any_of(o.items.begin(), o.items.end(), [&](const OrderLine& l) { return l.seller_id == p.user_id; })) {
        return Actor::kSeller;
    }
    return std::nullopt;
}

Error NoSuchOrder(std::int64_t order_id) {
    return Error::NotFound("There is no order " + std::to_string(order_id) + ".");
}

Error InvalidTransition(OrderStatus from, OrderStatus to) {
    return Error::Conflict("invalid_transition", "An order that is " + std::string(StatusName(from)) +
                                                     " cannot become " + std::string(StatusName(to)) +
                                                     (from == to ? " again." : " by you now."));
}

// Writes one refund row of a line and returns its part of the event.
json::object WriteRefund(db::Connection& c, std::int64_t order_id, const OrderLine& l, std::int64_t quantity,
                         std::int64_t amount, std::string_view kind, std::int64_t by, std::int64_t now) {
    const std::int64_t id = c.QueryInt(
        "INSERT INTO order_refunds (order_id, product_id, seller_id, quantity, amount_cents, kind, by_user,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {order_id, l.product_id, l.seller_id, quantity, amount, std::string(kind), by, now});
    return json::object{
        {"refund_id", id}, {"product_id", l.product_id}, {"seller_id", l.seller_id}, {"category_id", l.category_id},
        {"name", l.name},  {"quantity", quantity},       {"amount_cents", amount},   {"kind", kind}};
}

// What is left of every line, paid back (a cancellation or a whole refund).
json::array RefundRemainders(db::Connection& c, const Order& order, std::string_view kind, std::int64_t by,
                             std::int64_t now) {
    json::array out;
    for (const OrderLine& l : order.items) {
        const std::int64_t amount = l.Net() - l.refunded_cents;
        const std::int64_t units = l.quantity - l.refunded_quantity;
        if (amount > 0 || units > 0) out.push_back(WriteRefund(c, order.id, l, units, amount, kind, by, now));
    }
    return out;
}

// The checks of one partial-refund line against what is left of it; the amount to pay back.
Result<std::int64_t> RefundAmount(const OrderLine& l, const RefundRequest& r, const std::string& field) {
    const std::int64_t left_amount = l.Net() - l.refunded_cents;
    const std::int64_t left_units = l.quantity - l.refunded_quantity;
    std::vector<FieldError> errors;
    if (r.quantity < 0 || r.quantity > left_units) {
        errors.push_back(FieldError::Coded(field + ".quantity", "too_many", "is more than is left to refund")
                             .With("max", left_units));
    }
    if (r.amount_cents && (*r.amount_cents < 0 || *r.amount_cents > left_amount)) {
        errors.push_back(FieldError::Coded(field + ".amount_cents", "too_much", "is more than is left to refund")
                             .With("max", left_amount));
    }
    if (!errors.empty()) return Error::Validation(std::move(errors));
    std::int64_t amount = 0;
    if (r.amount_cents) {
        amount = *r.amount_cents;
    } else if (r.quantity > 0) {
        // Those units' share of what is left; the last units take the remainder, so cents never go astray.
        amount = r.quantity == left_units ? left_amount : left_amount * r.quantity / left_units;
    }
    if (amount == 0 && r.quantity == 0) {
        return Error::Validation(
            {FieldError::Coded(field, "nothing_to_refund", "names neither units nor an amount to refund")});
    }
    return amount;
}

}  // namespace

OrderPage OrderService::ListForUser(std::int64_t user_id, std::int64_t page, std::int64_t per_page) {
    return database_.Read([&](db::Connection& c) {
        OrderPage out{{}, c.QueryInt("SELECT COUNT(*) FROM orders WHERE user_id = ?", {user_id}), page, per_page};
        std::vector<std::int64_t> ids;
        c.Query("SELECT id FROM orders WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
                {user_id, per_page, (page - 1) * per_page}, [&](const db::Row& r) { ids.push_back(r.Int(0)); });
        for (std::int64_t id : ids) {
            Result<Order> o = Load(c, id);
            if (o.ok()) out.items.push_back(std::move(o.value()));
        }
        return out;
    });
}

OrderPage OrderService::ListForSeller(std::optional<std::int64_t> seller_id, std::int64_t page, std::int64_t per_page) {
    return database_.Read([&](db::Connection& c) {
        db::Value seller = seller_id ? db::Value(*seller_id) : db::Value(nullptr);
        OrderPage out{
            {},
            c.QueryInt(
                "SELECT COUNT(DISTINCT order_id) FROM order_lines WHERE (CAST(? AS BIGINT) IS NULL OR seller_id = ?)",
                {seller, seller}),
            page,
            per_page};
        std::vector<std::int64_t> ids;
        c.Query(
            "SELECT DISTINCT order_id FROM order_lines WHERE (CAST(? AS BIGINT) IS NULL OR seller_id = ?) ORDER BY "
            "order_id DESC"
            " LIMIT ? OFFSET ?",
            {seller, seller, per_page, (page - 1) * per_page}, [&](const db::Row& r) { ids.push_back(r.Int(0)); });
        for (std::int64_t id : ids) {
            Result<Order> o = Load(c, id);
            if (!o.ok()) continue;
            out.items.push_back(seller_id ? SellerView(std::move(o.value()), *seller_id) : std::move(o.value()));
        }
        return out;
    });
}

Result<Order> OrderService::Get(const Principal& principal, std::int64_t order_id) {
    Result<Order> order = database_.Read([&](db::Connection& c) { return Load(c, order_id); });
    if (!order.ok()) return NoSuchOrder(order_id);
    std::optional<Actor> actor = ActorFor(principal, order.value(), Access::kRead);
    if (!actor) return NoSuchOrder(order_id);
    if (*actor == Actor::kSeller) return SellerView(std::move(order.value()), principal.user_id);
    return order;
}

Result<Order> OrderService::Move(const Principal& principal, std::int64_t order_id, OrderStatus to) {
    if (to == OrderStatus::kShipped) return Ship(principal, order_id);
    const std::int64_t now = UnixSeconds(clock_.Now());
    std::vector<std::int64_t> touched;
    std::optional<Actor> actor;
    Result<bool> moved = database_.Write([&](db::Connection& c) -> Result<bool> {
        Result<Order> order = Load(c, order_id);
        actor = order.ok() ? ActorFor(principal, order.value(), Access::kWrite) : std::nullopt;
        if (!actor) return NoSuchOrder(order_id);
        if (!MayMove(order->status, to, *actor)) return InvalidTransition(order->status, to);
        const bool part_shipped =
            std::any_of(order->items.begin(), order->items.end(), [](const OrderLine& l) { return l.shipped_at; });
        if (to == OrderStatus::kCancelled && part_shipped) {
            return Error::Conflict("invalid_transition",
                                   "Part of this order has shipped; it can no longer be cancelled.");
        }
        // Compare-and-set on the status: two moves at once cannot both win.
        if (c.Execute("UPDATE orders SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
                      {std::string(StatusName(to)), now, order_id, std::string(StatusName(order->status))}) != 1) {
            return Error::Conflict("invalid_transition", "The order changed meanwhile; look at it again.");
        }
        if (to == OrderStatus::kCancelled) {
            for (const OrderLine& l : order->items) {
                catalog::ReturnStock(c, l.product_id, l.quantity);
                touched.push_back(l.product_id);
            }
        }
        json::object payload{{"order_id", order_id},
                             {"user_id", order->user_id},
                             {"from", StatusName(order->status)},
                             {"to", StatusName(to)},
                             {"by", principal.user_id}};
        if (to == OrderStatus::kCancelled || to == OrderStatus::kRefunded) {
            // The money goes back on today's date: a negative entry, never a rewrite of the sale's day.
            payload["currency"] = order->currency;
            payload["refunds"] = RefundRemainders(c, order.value(), to == OrderStatus::kCancelled ? "cancel" : "refund",
                                                  principal.user_id, now);
        }
        events::Append(c, "order." + std::string(StatusName(to)), std::to_string(order_id), json::serialize(payload),
                       now);
        return true;
    });
    if (!moved.ok()) return moved.error();
    Changed(touched);
    Result<Order> order = Find(order_id);
    if (order.ok() && actor == Actor::kSeller) return SellerView(std::move(order.value()), principal.user_id);
    return order;
}

Result<Order> OrderService::Ship(const Principal& principal, std::int64_t order_id) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    std::optional<Actor> actor;
    Result<bool> shipped = database_.Write([&](db::Connection& c) -> Result<bool> {
        Result<Order> order = Load(c, order_id);
        actor = order.ok() ? ActorFor(principal, order.value(), Access::kWrite) : std::nullopt;
        if (!actor) return NoSuchOrder(order_id);
        if (!MayMove(order->status, OrderStatus::kShipped, *actor)) {
            return InvalidTransition(order->status, OrderStatus::kShipped);
        }
        const bool whole = *actor == Actor::kAdmin;
        std::int64_t mine = c.Execute(
            "UPDATE order_lines SET shipped_at = ? WHERE order_id = ? AND shipped_at IS NULL AND (? = 1 OR seller_id = "
            "?)",
            {now, order_id, std::int64_t{whole ? 1 : 0}, principal.user_id});
        if (mine == 0) {
            return Error::Conflict("invalid_transition", "Your part of this order has shipped already.");
        }
        const std::int64_t left =
            c.QueryInt("SELECT COUNT(*) FROM order_lines WHERE order_id = ? AND shipped_at IS NULL", {order_id});
        json::object payload{{"order_id", order_id}, {"user_id", order->user_id}, {"by", principal.user_id}};
        if (left > 0) {
            payload["seller_id"] = principal.user_id;
            events::Append(c, "order.seller_shipped", std::to_string(order_id), json::serialize(payload), now);
            c.Execute("UPDATE orders SET updated_at = ? WHERE id = ?", {now, order_id});
            return true;
        }
        // The last seller shipped: the order as a whole is on its way.
        if (c.Execute("UPDATE orders SET status = 'shipped', updated_at = ? WHERE id = ? AND status = ?",
                      {now, order_id, std::string(StatusName(order->status))}) != 1) {
            return Error::Conflict("invalid_transition", "The order changed meanwhile; look at it again.");
        }
        payload["from"] = StatusName(order->status);
        payload["to"] = "shipped";
        events::Append(c, "order.shipped", std::to_string(order_id), json::serialize(payload), now);
        return true;
    });
    if (!shipped.ok()) return shipped.error();
    Changed({});
    Result<Order> order = Find(order_id);
    if (order.ok() && actor == Actor::kSeller) return SellerView(std::move(order.value()), principal.user_id);
    return order;
}

Result<Order> OrderService::RefundLines(const Principal& principal, std::int64_t order_id,
                                        const std::vector<RefundRequest>& lines) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    std::optional<Actor> actor;
    Result<bool> refunded = database_.Write([&](db::Connection& c) -> Result<bool> {
        Result<Order> order = Load(c, order_id);
        actor = order.ok() ? ActorFor(principal, order.value(), Access::kWrite) : std::nullopt;
        if (!actor || *actor == Actor::kOwner) return NoSuchOrder(order_id);
        if (order->status == OrderStatus::kCancelled || order->status == OrderStatus::kRefunded) {
            return Error::Conflict("invalid_transition", "An order that is " + std::string(StatusName(order->status)) +
                                                             " has nothing left to refund.");
        }
        if (lines.empty()) return Error::Validation({FieldError::Required("items")});
        std::vector<FieldError> errors;
        std::vector<std::pair<const OrderLine*, std::int64_t>> planned;  // line, amount
        for (std::size_t i = 0; i < lines.size(); ++i) {
            const std::string field = "items." + std::to_string(i);
            const RefundRequest& r = lines[i];
            auto l = std::find_if(order->items.begin(), order->items.end(), [&](const OrderLine& x) {
                return x.product_id == r.product_id && (*actor == Actor::kAdmin || x.seller_id == principal.user_id);
            });
            const bool twice = std::any_of(lines.begin(), lines.begin() + static_cast<std::ptrdiff_t>(i),
                                           [&](const RefundRequest& o) { return o.product_id == r.product_id; });
            if (l == order->items.end() || twice) {
                errors.push_back(
                    FieldError::Coded(field + ".product_id", twice ? "duplicate" : "not_in_order",
                                      twice ? "is named twice" : "is not one of your lines of this order"));
                continue;
            }
            Result<std::int64_t> amount = RefundAmount(*l, r, field);
            if (!amount.ok()) {
                errors.insert(errors.end(), amount.error().fields.begin(), amount.error().fields.end());
                continue;
            }
            planned.emplace_back(&*l, amount.value());
        }
        if (!errors.empty()) return Error::Validation(std::move(errors));
        json::array refunds;
        for (std::size_t i = 0; i < planned.size(); ++i) {
            refunds.push_back(WriteRefund(c, order_id, *planned[i].first, lines[i].quantity, planned[i].second,
                                          "partial", principal.user_id, now));
        }
        c.Execute("UPDATE orders SET updated_at = ? WHERE id = ?", {now, order_id});
        events::Append(c, "order.partially_refunded", std::to_string(order_id),
                       json::serialize(json::object{{"order_id", order_id},
                                                    {"user_id", order->user_id},
                                                    {"by", principal.user_id},
                                                    {"currency", order->currency},
                                                    {"refunds", std::move(refunds)}}),
                       now);
        return true;
    });
    if (!refunded.ok()) return refunded.error();
    Changed({});
    Result<Order> order = Find(order_id);
    if (order.ok() && actor == Actor::kSeller) return SellerView(std::move(order.value()), principal.user_id);
    return order;
}

Result<Coupon> OrderService::CreateCoupon(const Principal& principal, const std::string& code,
                                          std::int64_t percent_off) {
    const std::string normal = NormalizeCode(code);
    std::vector<FieldError> errors;
    if (!ValidCode(normal)) {
        errors.push_back(FieldError::Invalid("code", "must be 3 to 32 letters, digits, - or _")
                             .With("min_length", 3)
                             .With("max_length", 32));
    }
    if (percent_off < 1 || percent_off > 90) {
        errors.push_back(FieldError::Invalid("percent_off", "must be between 1 and 90").With("min", 1).With("max", 90));
    }
    if (!errors.empty()) return Error::Validation(std::move(errors));
    Coupon coupon{normal, principal.ActsForEveryone() ? 0 : principal.user_id, percent_off, true,
                  UnixSeconds(clock_.Now())};
    return database_.Write([&](db::Connection& c) -> Result<Coupon> {
        if (ReadCoupon(c, normal)) return Error::Conflict("duplicate_code", "The code " + normal + " is taken.");
        c.Execute("INSERT INTO coupons (code, seller_id, percent_off, active, created_at) VALUES (?, ?, ?, 1, ?)",
                  {coupon.code, coupon.seller_id, coupon.percent_off, coupon.created_at});
        return coupon;
    });
}

std::vector<Coupon> OrderService::ListCoupons(const Principal& principal) {
    return database_.Read([&](db::Connection& c) {
        std::vector<Coupon> out;
        db::Value seller = principal.ActsForEveryone() ? db::Value(nullptr) : db::Value(principal.user_id);
        c.Query(
            "SELECT code, seller_id, percent_off, active, created_at FROM coupons WHERE (CAST(? AS BIGINT) IS NULL OR "
            "seller_id = ?)"
            " ORDER BY created_at DESC, code LIMIT 500",
            {seller, seller}, [&](const db::Row& r) {
                out.push_back({std::string(r.Text(0)), r.Int(1), r.Int(2), r.Int(3) != 0, r.Int(4)});
            });
        return out;
    });
}

Status OrderService::RetireCoupon(const Principal& principal, const std::string& code) {
    const std::string normal = NormalizeCode(code);
    return database_.Write([&](db::Connection& c) -> Status {
        std::optional<Coupon> coupon = ReadCoupon(c, normal);
        if (!coupon || (!principal.ActsForEveryone() && coupon->seller_id != principal.user_id)) {
            return Error::NotFound("There is no discount code " + normal + ".");
        }
        c.Execute("UPDATE coupons SET active = 0 WHERE code = ?", {normal});
        return Ok{};
    });
}

Result<Order> OrderService::Find(std::int64_t order_id) {
    return database_.Read([&](db::Connection& c) { return Load(c, order_id); });
}

std::int64_t OrderService::PurgeIdempotencyKeys() {
    const std::int64_t cutoff = UnixSeconds(clock_.Now()) - kIdempotencyWindowSeconds;
    return database_.Write(
        [&](db::Connection& c) { return c.Execute("DELETE FROM idempotency_keys WHERE created_at <= ?", {cutoff}); });
}

}  // namespace emporium::orders

namespace emporium::orders {
namespace {

std::int64_t Int(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v && v->is_int64() ? v->as_int64() : 0;
}

std::string Text(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<json::object> ParseObject(std::string_view payload_json) {
    boost::system::error_code ec;
    json::value v = json::parse(payload_json, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.as_object());
}

const json::array* ArrayOf(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v && v->is_array() ? &v->as_array() : nullptr;
}

}  // namespace

std::vector<SaleFact> SaleFactsOf(std::string_view event_type, std::string_view payload_json, std::int64_t at) {
    std::vector<SaleFact> out;
    if (event_type != "order.placed") return out;
    std::optional<json::object> p = ParseObject(payload_json);
    const json::array* items = p ? ArrayOf(*p, "items") : nullptr;
    if (!items) return out;
    for (const json::value& item : *items) {
        if (!item.is_object()) continue;
        const json::object& i = item.as_object();
        out.push_back({Int(*p, "order_id"), Int(*p, "user_id"), at, Text(*p, "currency"), Int(i, "product_id"),
                       Int(i, "seller_id"), Int(i, "category_id"), Text(i, "name"), Int(i, "quantity"),
                       Int(i, "quantity") * Int(i, "price_cents"), Int(i, "discount_cents")});
    }
    return out;
}

std::vector<RefundFact> RefundFactsOf(std::string_view event_type, std::string_view payload_json, std::int64_t at) {
    std::vector<RefundFact> out;
    if (event_type != "order.cancelled" && event_type != "order.refunded" && event_type != "order.partially_refunded") {
        return out;
    }
    std::optional<json::object> p = ParseObject(payload_json);
    const json::array* refunds = p ? ArrayOf(*p, "refunds") : nullptr;
    if (!refunds) return out;
    for (const json::value& item : *refunds) {
        if (!item.is_object()) continue;
        const json::object& r = item.as_object();
        out.push_back({Int(r, "refund_id"), Int(*p, "order_id"), at, Text(*p, "currency"), Int(r, "product_id"),
                       Int(r, "seller_id"), Int(r, "category_id"), Text(r, "name"), Int(r, "quantity"),
                       Int(r, "amount_cents"), Text(r, "kind")});
    }
    return out;
}

std::vector<SaleFact> ReadSaleFacts(db::Connection& c, const FactQuery& q) {
    std::vector<SaleFact> out;
    db::Value seller = q.seller_id ? db::Value(*q.seller_id) : db::Value(nullptr);
    // Order ids first, then their lines: a page is whole orders. A seller's orders are walked
    // through their lines' index, everyone's through the orders' own.
    std::vector<std::int64_t> ids;
    auto id = [&](const db::Row& r) { ids.push_back(r.Int(0)); };
    if (q.seller_id) {
        c.Query(
            "SELECT DISTINCT l.order_id FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE l.seller_id = ?"
            " AND l.order_id > ? AND o.created_at >= ? AND o.created_at < ? ORDER BY l.order_id LIMIT ?",
            {*q.seller_id, q.after_id, q.from, q.to, q.limit}, id);
    } else {
        c.Query("SELECT id FROM orders WHERE id > ? AND created_at >= ? AND created_at < ? ORDER BY id LIMIT ?",
                {q.after_id, q.from, q.to, q.limit}, id);
    }
    for (std::int64_t id : ids) {
        c.Query(
            "SELECT o.id, o.user_id, o.created_at, o.currency, l.product_id, l.seller_id, l.category_id, l.name,"
            " l.quantity, l.price_cents, l.discount_cents FROM orders o JOIN order_lines l ON l.order_id = o.id"
            " WHERE o.id = ? AND (CAST(? AS BIGINT) IS NULL OR l.seller_id = ?) ORDER BY l.product_id",
            {id, seller, seller}, [&](const db::Row& r) {
                out.push_back({r.Int(0), r.Int(1), r.Int(2), std::string(r.Text(3)), r.Int(4), r.Int(5), r.Int(6),
                               std::string(r.Text(7)), r.Int(8), r.Int(8) * r.Int(9), r.Int(10)});
            });
    }
    return out;
}

std::vector<RefundFact> ReadRefundFacts(db::Connection& c, const FactQuery& q) {
    std::vector<RefundFact> out;
    db::Value seller = q.seller_id ? db::Value(*q.seller_id) : db::Value(nullptr);
    c.Query(
        "SELECT r.id, r.order_id, r.created_at, o.currency, r.product_id, r.seller_id, l.category_id, l.name,"
        " r.quantity, r.amount_cents, r.kind FROM order_refunds r JOIN orders o ON o.id = r.order_id"
        " JOIN order_lines l ON l.order_id = r.order_id AND l.product_id = r.product_id"
        " WHERE r.id > ? AND r.created_at >= ? AND r.created_at < ? AND (CAST(? AS BIGINT) IS NULL OR r.seller_id = ?)"
        " ORDER BY r.id LIMIT ?",
        {q.after_id, q.from, q.to, seller, seller, q.limit}, [&](const db::Row& r) {
            out.push_back({r.Int(0), r.Int(1), r.Int(2), std::string(r.Text(3)), r.Int(4), r.Int(5), r.Int(6),
                           std::string(r.Text(7)), r.Int(8), r.Int(9), std::string(r.Text(10))});
        });
    return out;
}

}  // namespace emporium::orders
