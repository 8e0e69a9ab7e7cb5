// Carts, order validation, checkout and the life of an order. Checkout is one write
// transaction: it validates again, takes the stock with conditional updates that cannot go below
// zero, writes the order with the prices of the moment, authorizes the payment, writes the
// `order.placed` event to the outbox and remembers the Idempotency-Key, so a retried checkout
// returns the same order and never makes a second one.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "accounts/pii_vault.h"
#include "core/address.h"
#include "core/clock.h"
#include "core/principal.h"
#include "core/result.h"
#include "db/database.h"
#include "db/migrations.h"
#include "orders/payment.h"

namespace emporium::orders {

enum class OrderStatus { kPlaced, kPaid, kShipped, kDelivered, kCancelled, kRefunded };
std::string_view StatusName(OrderStatus status);
std::optional<OrderStatus> ParseStatus(std::string_view name);

// Who may move an order from one status to another: the one table of allowed moves.
enum class Actor { kOwner, kSeller, kAdmin };
bool MayMove(OrderStatus from, OrderStatus to, Actor actor);

struct CartLine {
    std::int64_t product_id = 0;
    std::string name;
    std::int64_t quantity = 0;
    std::int64_t price_cents = 0;  // the price when it went into the cart
};

struct Cart {
    std::vector<CartLine> items;
    std::int64_t total_cents = 0;
    std::string currency = "USD";
};

struct OrderLine {
    std::int64_t product_id = 0;
    std::string name;
    std::int64_t quantity = 0;
    std::int64_t price_cents = 0;
    std::int64_t seller_id = 0;
};

struct Order {
    std::int64_t id = 0;
    std::int64_t user_id = 0;
    OrderStatus status = OrderStatus::kPlaced;
    std::vector<OrderLine> items;
    std::int64_t total_cents = 0;
    std::string currency = "USD";
    Address shipping_address;
    std::string phone;
    std::string card_brand;
    std::string card_last4;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
};

struct CheckoutInput {
    Address shipping_address;
    std::string phone;
    std::optional<Card> card;  // absent for validation only
};

struct Validation {
    std::int64_t total_cents = 0;
    std::string currency = "USD";
    std::int64_t items = 0;
};

struct OrderPage {
    std::vector<Order> items;
    std::int64_t total = 0;
    std::int64_t page = 1;
    std::int64_t per_page = 24;
};

inline constexpr std::int64_t kMaxQuantity = 100;
inline constexpr std::int64_t kMaxCartLines = 50;

std::vector<db::Migration> Migrations(db::Dialect dialect);

class OrderService {
public:
    OrderService(db::Database& database, accounts::PiiVault& vault, PaymentProvider& payments, const Clock& clock);

    Cart GetCart(std::int64_t user_id);
    // Adds quantity (1 to 100 in all) of a product at its current price. 404 unknown product.
    Result<Cart> AddToCart(std::int64_t user_id, std::int64_t product_id, std::int64_t quantity);
    // Sets the quantity (0 removes) and takes the current price. 404 when not in the cart.
    Result<Cart> SetCartQuantity(std::int64_t user_id, std::int64_t product_id, std::int64_t quantity);
    Result<Cart> RemoveFromCart(std::int64_t user_id, std::int64_t product_id);

    // Checks the cart and the input as checkout will: 422 lists every problem at once (stock,
    // changed prices, address fields, phone, card).
    Result<Validation> Validate(std::int64_t user_id, const CheckoutInput& input);

    // Buys the cart. idempotency_key is required; the same key and request give the same order,
    // another request with the same key gives 409 `idempotency_key_reused`. 409 `out_of_stock`
    // takes nothing; 402 `payment_declined` changes nothing. The bool says whether the order was
    // replayed from an earlier identical request.
    Result<std::pair<Order, bool>> Checkout(std::int64_t user_id, const CheckoutInput& input,
                                            const std::string& idempotency_key, const std::string& request_fingerprint);

    OrderPage ListForUser(std::int64_t user_id, std::int64_t page, std::int64_t per_page);
    OrderPage ListForSeller(std::optional<std::int64_t> seller_id, std::int64_t page, std::int64_t per_page);

    // The order if principal may see it (owner, admin, a seller with items in it); 404 otherwise.
    Result<Order> Get(const Principal& principal, std::int64_t order_id);

    // Moves an order to status if the table allows it for this principal: 404 when they may not
    // see it, 409 `invalid_transition` when the move is not allowed from its status. Cancelling
    // returns the stock; every move writes an `order.<status>` event.
    Result<Order> Move(const Principal& principal, std::int64_t order_id, OrderStatus to);

    // An order for background work (notifications) that acts for the shop itself: no principal
    // check. 404 when unknown.
    Result<Order> Find(std::int64_t order_id);

    // Called after a commit that changed a product's stock, once per product (the catalog's
    // cache listens).
    void OnStockChanged(std::function<void(std::int64_t)> listener);

    // Called after every commit that wrote outbox events (the event dispatcher listens, so that
    // it need not wait for its next poll).
    void OnEventsCommitted(std::function<void()> listener);

    // Drops remembered idempotency keys older than 24 h.
    std::int64_t PurgeIdempotencyKeys();

private:
    Result<Order> Load(db::Connection& c, std::int64_t order_id);
    Cart ReadCart(db::Connection& c, std::int64_t user_id);
    std::vector<FieldError> CheckInput(const CheckoutInput& input);
    void Changed(const std::vector<std::int64_t>& product_ids);

    db::Database& database_;
    accounts::PiiVault& vault_;
    PaymentProvider& payments_;
    const Clock& clock_;
    std::vector<std::function<void(std::int64_t)>> listeners_;  // set at wiring time
    std::vector<std::function<void()>> committed_listeners_;    // set at wiring time
};

}  // namespace emporium::orders
