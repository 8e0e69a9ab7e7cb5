#include "orders/orders.h"

#include <algorithm>
#include <boost/json.hpp>

#include "catalog/catalog.h"
#include "core/contact.h"
#include "events/outbox.h"

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

std::string AddressJson(const Address& a) {
    return json::serialize(json::object{{"name", a.name},
                                        {"line1", a.line1},
                                        {"line2", a.line2},
                                        {"city", a.city},
                                        {"postal_code", a.postal_code},
                                        {"country", a.country}});
}

Address AddressFrom(std::string_view text) {
    json::error_code ec;
    json::value v = json::parse(text, ec);
    Address a;
    if (ec || !v.is_object()) return a;
    auto get = [&](const char* k) {
        auto it = v.as_object().find(k);
        return it != v.as_object().end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
    };
    return Address{get("name"), get("line1"), get("line2"), get("city"), get("postal_code"), get("country")};
}

Error OutOfStock(const std::vector<FieldError>& lines) {
    return Error{ErrorKind::kConflict, "out_of_stock", "Some items are no longer available in the quantity asked for.",
                 lines};
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
                 "CREATE INDEX idempotency_created ON idempotency_keys (created_at);"}};
}

OrderService::OrderService(db::Database& database, accounts::PiiVault& vault, PaymentProvider& payments,
                           const Clock& clock)
    : database_(database), vault_(vault), payments_(payments), clock_(clock) {}

void OrderService::OnStockChanged(std::function<void(std::int64_t)> listener) {
    listeners_.push_back(std::move(listener));
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
    Cart cart;
    std::vector<std::pair<std::int64_t, std::pair<std::int64_t, std::int64_t>>> rows;
    c.Query("SELECT product_id, quantity, price_cents FROM cart_items WHERE user_id = ? ORDER BY added_at, product_id",
            {user_id}, [&](const db::Row& r) {
                rows.push_back({r.Int(0), {r.Int(1), r.Int(2)}});
            });
    std::vector<std::int64_t> ids;
    ids.reserve(rows.size());
    for (auto& row : rows) ids.push_back(row.first);
    std::vector<catalog::StockLine> lines = catalog::ReadStock(c, ids);
    for (const auto& row : rows) {
        const std::int64_t id = row.first;
        auto it = std::find_if(lines.begin(), lines.end(), [id](const auto& l) { return l.product_id == id; });
        CartLine line{id, it != lines.end() ? it->name : "Unavailable product", row.second.first, row.second.second};
        if (it != lines.end()) cart.currency = it->currency;
        cart.total_cents += line.quantity * line.price_cents;
        cart.items.push_back(std::move(line));
    }
    return cart;
}

Cart OrderService::GetCart(std::int64_t user_id) {
    return database_.Read([&](db::Connection& c) { return ReadCart(c, user_id); });
}

Result<Cart> OrderService::AddToCart(std::int64_t user_id, std::int64_t product_id, std::int64_t quantity) {
    if (quantity < 1 || quantity > kMaxQuantity) {
        return Error::Validation({{"quantity", "must be between 1 and " + std::to_string(kMaxQuantity)}});
    }
    const std::int64_t now = UnixSeconds(clock_.Now());
    return database_.Write([&](db::Connection& c) -> Result<Cart> {
        LockCart(database_, c, user_id);
        std::vector<catalog::StockLine> line = catalog::ReadStock(c, {product_id});
        if (line.empty() || line[0].archived)
            return Error::NotFound("There is no product " + std::to_string(product_id) + ".");
        std::int64_t have = c.QueryInt("SELECT quantity FROM cart_items WHERE user_id = ? AND product_id = ?",
                                       {user_id, product_id}, 0);
        if (have + quantity > kMaxQuantity) {
            return Error::Validation({{"quantity", "at most " + std::to_string(kMaxQuantity) + " of one product"}});
        }
        if (have == 0 && c.QueryInt("SELECT COUNT(*) FROM cart_items WHERE user_id = ?", {user_id}) >= kMaxCartLines) {
            return Error::Validation({{"product_id", "a cart holds at most 50 different products"}});
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
}

Result<Cart> OrderService::SetCartQuantity(std::int64_t user_id, std::int64_t product_id, std::int64_t quantity) {
    if (quantity < 0 || quantity > kMaxQuantity) {
        return Error::Validation({{"quantity", "must be between 0 and " + std::to_string(kMaxQuantity)}});
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
    if (!IsE164(input.phone)) errors.push_back({"phone", "must be an international number such as +6591234567"});
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
            check.stock.push_back({field, "is no longer sold"});
        } else if (it->stock < l.quantity) {
            check.stock.push_back(
                {field, it->stock == 0 ? "is out of stock" : "only " + std::to_string(it->stock) + " left"});
        } else if (it->price_cents != l.price_cents) {
            check.prices.push_back({field + ".price_cents", "the price changed from " + std::to_string(l.price_cents) +
                                                                " to " + std::to_string(it->price_cents) + " cents"});
        }
    }
    return check;
}

}  // namespace

Result<Validation> OrderService::Validate(std::int64_t user_id, const CheckoutInput& input) {
    std::vector<FieldError> errors = CheckInput(input);
    return database_.Read([&](db::Connection& c) -> Result<Validation> {
        Cart cart = ReadCart(c, user_id);
        if (cart.items.empty()) errors.push_back({"cart", "is empty"});
        CartCheck check = CheckCart(c, cart);
        errors.insert(errors.end(), check.stock.begin(), check.stock.end());
        errors.insert(errors.end(), check.prices.begin(), check.prices.end());
        if (!errors.empty()) return Error::Validation(std::move(errors));
        std::int64_t units = 0;
        for (const auto& l : cart.items) units += l.quantity;
        return Validation{cart.total_cents, cart.currency, units};
    });
}

Result<std::pair<Order, bool>> OrderService::Checkout(std::int64_t user_id, const CheckoutInput& input,
                                                      const std::string& idempotency_key,
                                                      const std::string& request_fingerprint) {
    std::vector<FieldError> errors = CheckInput(input);
    const std::int64_t now = UnixSeconds(clock_.Now());
    // Sealed before the transaction: encryption needs no lock.
    const std::string sealed_address = vault_.Encrypt("shipping_address", AddressJson(input.shipping_address));
    const std::string sealed_phone = vault_.Encrypt("phone", input.phone);
    std::vector<std::int64_t> touched;
    Result<std::pair<std::int64_t, bool>> placed = database_.Write([&](db::Connection& c)
                                                                       -> Result<std::pair<std::int64_t, bool>> {
        LockCart(database_, c, user_id);
        std::optional<std::string> fingerprint;
        std::int64_t earlier = 0;
        c.Query(
            "SELECT fingerprint, order_id FROM idempotency_keys WHERE user_id = ? AND idem_key = ? AND created_at > ?",
            {user_id, idempotency_key, now - kIdempotencyWindowSeconds}, [&](const db::Row& r) {
                fingerprint = std::string(r.Text(0));
                earlier = r.Int(1);
            });
        // A key remembered longer than the window is forgotten: it may start a new checkout.
        c.Execute("DELETE FROM idempotency_keys WHERE user_id = ? AND idem_key = ? AND created_at <= ?",
                  {user_id, idempotency_key, now - kIdempotencyWindowSeconds});
        if (fingerprint) {
            if (*fingerprint != request_fingerprint) {
                return Error::Conflict("idempotency_key_reused",
                                       "This Idempotency-Key was used for a different checkout request.");
            }
            return std::make_pair(earlier, true);
        }
        Cart cart = ReadCart(c, user_id);
        if (cart.items.empty()) errors.push_back({"cart", "is empty"});
        CartCheck check = CheckCart(c, cart);
        errors.insert(errors.end(), check.prices.begin(), check.prices.end());
        if (!errors.empty()) return Error::Validation(std::move(errors));
        if (!check.stock.empty()) return OutOfStock(check.stock);

        Result<Authorization> auth = payments_.Authorize(*input.card, cart.total_cents, cart.currency);
        if (!auth.ok()) return auth.error();
        for (const CartLine& l : cart.items) {
            // The condition sits in the UPDATE: never below zero, whoever else is buying.
            if (!catalog::TakeStock(c, l.product_id, l.quantity)) {
                payments_.Void(auth->id);
                return OutOfStock({{"items." + std::to_string(l.product_id), "is out of stock"}});
            }
            touched.push_back(l.product_id);
        }
        std::int64_t order_id = c.QueryInt(
            "INSERT INTO orders (user_id, status, total_cents, currency, shipping_address, phone, card_brand,"
            " card_last4, payment_ref, created_at, updated_at) VALUES (?, 'placed', ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            {user_id, cart.total_cents, cart.currency, sealed_address, sealed_phone, auth->brand, auth->last4, auth->id,
             now, now});
        json::array items;
        for (const CartLine& l : cart.items) {
            auto s = std::find_if(check.lines.begin(), check.lines.end(),
                                  [&](const auto& x) { return x.product_id == l.product_id; });
            c.Execute(
                "INSERT INTO order_lines (order_id, product_id, seller_id, name, quantity, price_cents)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                {order_id, l.product_id, s->seller_id, s->name, l.quantity, l.price_cents});
            items.push_back(json::object{{"product_id", l.product_id},
                                         {"quantity", l.quantity},
                                         {"price_cents", l.price_cents},
                                         {"seller_id", s->seller_id}});
        }
        c.Execute("DELETE FROM cart_items WHERE user_id = ?", {user_id});
        events::Append(c, "order.placed", std::to_string(order_id),
                       json::serialize(json::object{{"order_id", order_id},
                                                    {"user_id", user_id},
                                                    {"total_cents", cart.total_cents},
                                                    {"currency", cart.currency},
                                                    {"items", std::move(items)}}),
                       now);
        c.Execute(
            "INSERT INTO idempotency_keys (user_id, idem_key, fingerprint, order_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            {user_id, idempotency_key, request_fingerprint, order_id, now});
        return std::make_pair(order_id, false);
    });
    if (!placed.ok()) return placed.error();
    Changed(touched);
    Result<Order> order = database_.Read([&](db::Connection& c) { return Load(c, placed->first); });
    if (!order.ok()) return order.error();
    return std::make_pair(std::move(order.value()), placed->second);
}

Result<Order> OrderService::Load(db::Connection& c, std::int64_t order_id) {
    std::optional<Order> order;
    std::string sealed_address, sealed_phone;
    c.Query(
        "SELECT id, user_id, status, total_cents, currency, shipping_address, phone, card_brand, card_last4,"
        " created_at, updated_at FROM orders WHERE id = ?",
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
            order = std::move(o);
        });
    if (!order) return Error::NotFound("There is no order " + std::to_string(order_id) + ".");
    Result<std::string> address = vault_.Decrypt("shipping_address", sealed_address);
    Result<std::string> phone = vault_.Decrypt("phone", sealed_phone);
    if (!address.ok()) return address.error();
    if (!phone.ok()) return phone.error();
    order->shipping_address = AddressFrom(address.value());
    order->phone = phone.value();
    c.Query(
        "SELECT product_id, name, quantity, price_cents, seller_id FROM order_lines WHERE order_id = ? ORDER BY "
        "product_id",
        {order_id}, [&](const db::Row& r) {
            order->items.push_back({r.Int(0), std::string(r.Text(1)), r.Int(2), r.Int(3), r.Int(4)});
        });
    return std::move(*order);
}

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
            if (o.ok()) out.items.push_back(std::move(o.value()));
        }
        return out;
    });
}

namespace {

std::optional<Actor> ActorFor(const Principal& p, const Order& o) {
    if (p.ActsForEveryone()) return Actor::kAdmin;
    if (!p.staff_token && o.user_id == p.user_id) return Actor::kOwner;
    if (p.role == Role::kSeller &&
        std::any_of(o.items.begin(), o.items.end(), [&](const OrderLine& l) { return l.seller_id == p.user_id; })) {
        return Actor::kSeller;
    }
    return std::nullopt;
}

}  // namespace

Result<Order> OrderService::Get(const Principal& principal, std::int64_t order_id) {
    Result<Order> order = database_.Read([&](db::Connection& c) { return Load(c, order_id); });
    if (!order.ok() || !ActorFor(principal, order.value())) {
        return Error::NotFound("There is no order " + std::to_string(order_id) + ".");
    }
    return order;
}

Result<Order> OrderService::Move(const Principal& principal, std::int64_t order_id, OrderStatus to) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    std::vector<std::int64_t> touched;
    Result<bool> moved = database_.Write([&](db::Connection& c) -> Result<bool> {
        Result<Order> order = Load(c, order_id);
        std::optional<Actor> actor = order.ok() ? ActorFor(principal, order.value()) : std::nullopt;
        if (!actor) return Error::NotFound("There is no order " + std::to_string(order_id) + ".");
        if (!MayMove(order->status, to, *actor)) {
            return Error::Conflict("invalid_transition", "An order that is " + std::string(StatusName(order->status)) +
                                                             " cannot become " + std::string(StatusName(to)) +
                                                             (order->status == to ? " again." : " by you now."));
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
        events::Append(c, "order." + std::string(StatusName(to)), std::to_string(order_id),
                       json::serialize(json::object{{"order_id", order_id},
                                                    {"user_id", order->user_id},
                                                    {"from", StatusName(order->status)},
                                                    {"to", StatusName(to)},
                                                    {"by", principal.user_id}}),
                       now);
        return true;
    });
    if (!moved.ok()) return moved.error();
    Changed(touched);
    return database_.Read([&](db::Connection& c) { return Load(c, order_id); });
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
