// Carts, order validation, checkout and the life of an order.
//
// Checkout never waits on the payment provider while it holds the write lock: it checks the cart
// in a read, records the payment it is about to ask for (table `payments`, status
// `authorizing`), authorizes outside any transaction, then in one short write transaction checks
// again, takes the stock with conditional updates that cannot go below zero, writes the order with
// the prices of the moment, the `order.placed` event and the Idempotency-Key (so a retried
// checkout returns the same order and never makes a second one). After the commit it captures.
// When the order does not commit (stock gone, the cart changed, a constraint, an exception) it
// voids the authorization; ReconcilePayments voids what a crash left behind and captures what a
// crash left uncaptured.
//
// A cart holds one currency, and no total anywhere adds up amounts of different currencies.
//
// An order may hold several sellers' lines. Each seller sees only their own lines (and their own
// subtotal, never the card), and ships only them; the order becomes `shipped`, with its
// `order.shipped` event and the customer's text, when the last seller ships. A seller's partial
// shipment emits `order.seller_shipped` (for webhooks), which sends no text.
//
// Discounts are coupon codes given at checkout: a seller's code takes a whole percentage off that
// seller's lines, an admin's code off every line (Shopify's and WooCommerce's "discount codes",
// the figure their sales reports call discounts). Each line keeps its list price and its own
// discount, rounded per line, so gross sales and discounts are both known exactly and a line's
// net is what the customer paid for it. A seller's sale price would hide the discount inside the
// price; a code keeps it visible.
//
// Money going back is written as refund rows, each a negative amount on its own date: a partial
// refund of some units or an amount of one line (staff), and the remainder of every line when an
// order is cancelled or refunded whole. No refund ever exceeds what a line's customer paid.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
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
    std::string currency;          // the product's
    std::string image_url;         // the product's picture, as product answers give it
};

struct Cart {
    std::vector<CartLine> items;
    std::int64_t total_cents = 0;  // of the lines in `currency` only
    std::string currency = "USD";  // the first line's
    // True when a line is in another currency (a seller changed a product's currency after it
    // went into the cart): checkout refuses such a cart with 409 `currency_mismatch`.
    bool mixed_currencies = false;
};

struct OrderLine {
    std::int64_t product_id = 0;
    std::string name;
    std::int64_t quantity = 0;
    std::int64_t price_cents = 0;  // the unit list price when it was bought
    std::int64_t seller_id = 0;
    std::optional<std::int64_t> shipped_at;  // when its seller shipped it
    std::int64_t discount_cents = 0;         // taken off the whole line (quantity x price)
    std::int64_t category_id = 0;            // the product's category when it was bought
    std::int64_t refunded_cents = 0;         // paid back so far
    std::int64_t refunded_quantity = 0;      // units paid back so far

    std::int64_t Gross() const { return quantity * price_cents; }
    std::int64_t Net() const { return Gross() - discount_cents; }  // what the customer paid for it
};

struct Order {
    std::int64_t id = 0;
    std::int64_t user_id = 0;
    OrderStatus status = OrderStatus::kPlaced;
    std::vector<OrderLine> items;
    std::int64_t total_cents = 0;  // what the customer paid: the lines' nets
    std::string currency = "USD";
    std::string coupon_code;  // empty: none
    Address shipping_address;
    std::string phone;
    std::string card_brand;
    std::string card_last4;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    // Set when this is one seller's view: items and total_cents are that seller's lines only, and
    // the card is not shown (OrderService fills it for sellers; routes mask the personal fields).
    std::optional<std::int64_t> seller_view;
};

// What one ReconcilePayments pass did.
struct ReconcileReport {
    std::int64_t voided = 0;    // authorizations without an order, released
    std::int64_t captured = 0;  // committed orders whose capture a crash interrupted
    std::int64_t failed = 0;    // the provider said no or could not be reached: tried again next time
};

struct CheckoutInput {
    Address shipping_address;
    std::string phone;
    std::optional<Card> card;  // absent for validation only
    std::string coupon_code;   // empty: none
};

struct Validation {
    std::int64_t total_cents = 0;  // after the discount
    std::string currency = "USD";
    std::int64_t items = 0;
    std::int64_t discount_cents = 0;
};

// A discount code: percent_off (1 to 90) off the lines of seller_id, or of every line when
// seller_id is 0 (made by an admin).
struct Coupon {
    std::string code;  // upper case, 3 to 32 of A-Z 0-9 - _
    std::int64_t seller_id = 0;
    std::int64_t percent_off = 0;
    bool active = true;
    std::int64_t created_at = 0;
};

// The discount of one line: percent of its gross, rounded half up to a whole cent.
std::int64_t LineDiscount(std::int64_t gross_cents, std::int64_t percent_off);

// One line of a partial refund: units of a line, an amount of it, or both. With quantity only,
// the amount is those units' share of what is left to refund on the line.
struct RefundRequest {
    std::int64_t product_id = 0;
    std::int64_t quantity = 0;
    std::optional<std::int64_t> amount_cents;
};

// What sales analytics reads: a line sold (at the order's time) or money paid back (at the
// refund's time). The same facts come from the events (as they happen) and from the tables (a
// rebuild), so that both give the same figures.
struct SaleFact {
    std::int64_t order_id = 0;
    std::int64_t user_id = 0;
    std::int64_t at = 0;  // Unix seconds
    std::string currency;
    std::int64_t product_id = 0;
    std::int64_t seller_id = 0;
    std::int64_t category_id = 0;
    std::string name;
    std::int64_t quantity = 0;
    std::int64_t gross_cents = 0;
    std::int64_t discount_cents = 0;
};

struct RefundFact {
    std::int64_t refund_id = 0;
    std::int64_t order_id = 0;
    std::int64_t at = 0;
    std::string currency;
    std::int64_t product_id = 0;
    std::int64_t seller_id = 0;
    std::int64_t category_id = 0;
    std::string name;
    std::int64_t quantity = 0;
    std::int64_t amount_cents = 0;
    std::string kind;  // partial, cancel, refund
};

// The facts an order event carries: an `order.placed` event's lines, and the refunds of
// `order.cancelled`, `order.refunded` and `order.partially_refunded`. Empty for other events and
// for payloads that do not parse.
std::vector<SaleFact> SaleFactsOf(std::string_view event_type, std::string_view payload_json, std::int64_t at);
std::vector<RefundFact> RefundFactsOf(std::string_view event_type, std::string_view payload_json, std::int64_t at);

// Which facts to read from the tables: one seller's or everyone's, and a range of time.
struct FactQuery {
    std::optional<std::int64_t> seller_id;
    std::int64_t from = 0;        // Unix seconds, included
    std::int64_t to = INT64_MAX;  // excluded
    std::int64_t after_id = 0;    // order id (sales) or refund id (refunds): keyset paging
    std::int64_t limit = 5000;    // sales: orders; refunds: rows
};

// Sold lines of orders with id > after_id, in order id (then product id) order, on the caller's
// connection: for a rebuild and the CSV export, which page through a year of lines.
std::vector<SaleFact> ReadSaleFacts(db::Connection& c, const FactQuery& query);
// Refund rows with id > after_id, in id order.
std::vector<RefundFact> ReadRefundFacts(db::Connection& c, const FactQuery& query);

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
    // Registers the orders table with the vault, for key rotation (PiiVault::ReencryptBatch).
    OrderService(db::Database& database, accounts::PiiVault& vault, PaymentProvider& payments, const Clock& clock);
    ~OrderService();
    OrderService(const OrderService&) = delete;
    OrderService& operator=(const OrderService&) = delete;

    Cart GetCart(std::int64_t user_id);
    // Adds quantity (1 to 100 in all) of a product at its current price. 404 unknown product;
    // 409 `currency_mismatch` when the product's currency is not the cart's.
    Result<Cart> AddToCart(std::int64_t user_id, std::int64_t product_id, std::int64_t quantity);
    // Sets the quantity (0 removes) and takes the current price. 404 when not in the cart.
    Result<Cart> SetCartQuantity(std::int64_t user_id, std::int64_t product_id, std::int64_t quantity);
    Result<Cart> RemoveFromCart(std::int64_t user_id, std::int64_t product_id);

    // Checks the cart and the input as checkout will: 422 lists every problem at once (stock,
    // changed prices, address fields, phone, card; codes in docs/ERRORS.md); 409
    // `currency_mismatch` for a cart of two currencies.
    Result<Validation> Validate(std::int64_t user_id, const CheckoutInput& input);

    // Buys the cart. idempotency_key is required; the same key and request give the same order,
    // another request with the same key gives 409 `idempotency_key_reused`. 409 `out_of_stock`
    // takes nothing; 402 `payment_declined` changes nothing; 409 `cart_changed` when the cart
    // changed while the payment was being authorized (the authorization is voided). The bool says
    // whether the order was replayed from an earlier identical request.
    Result<std::pair<Order, bool>> Checkout(std::int64_t user_id, const CheckoutInput& input,
                                            const std::string& idempotency_key, const std::string& request_fingerprint);

    OrderPage ListForUser(std::int64_t user_id, std::int64_t page, std::int64_t per_page);
    // Orders holding the seller's lines, each as that seller's view; every order for nullopt.
    OrderPage ListForSeller(std::optional<std::int64_t> seller_id, std::int64_t page, std::int64_t per_page);

    // The order if principal may see it (owner, admin, a seller with items in it: the seller's
    // view); 404 otherwise.
    Result<Order> Get(const Principal& principal, std::int64_t order_id);

    // Moves an order to status if the table allows it for this principal: 404 when they may not
    // see it, 409 `invalid_transition` when the move is not allowed from its status (also a
    // cancel once any line has shipped). Cancelling returns the stock; every move writes an
    // `order.<status>` event. A seller or admin acts only with orders:write; an owner only in
    // person (not through a staff token).
    Result<Order> Move(const Principal& principal, std::int64_t order_id, OrderStatus to);

    // Ships the principal's lines: a seller's own, or every line not shipped yet for an admin.
    // The order becomes `shipped` (event `order.shipped`) when no line is left unshipped; until
    // then each seller's shipment writes `order.seller_shipped`. 409 `invalid_transition` when the
    // order cannot ship (cancelled, already shipped) or this seller has shipped already.
    Result<Order> Ship(const Principal& principal, std::int64_t order_id);

    // Pays back part of an order: units or amounts of single lines, each a refund row and a
    // negative amount on today's date, in one `order.partially_refunded` event. A seller refunds
    // their own lines, an admin any (orders:write). 404 when they may not see the order; 422 for a
    // line not in the order (or another seller's), a quantity or amount above what is left to
    // refund, or nothing to refund; 409 `invalid_transition` for a cancelled or refunded order.
    Result<Order> RefundLines(const Principal& principal, std::int64_t order_id,
                              const std::vector<RefundRequest>& lines);

    // Discount codes. Sellers make codes for their own lines, admins for every line
    // (catalog:write). 422 for a bad code or percentage, 409 `duplicate_code`.
    Result<Coupon> CreateCoupon(const Principal& principal, const std::string& code, std::int64_t percent_off);
    // The principal's codes (an admin: every code), newest first.
    std::vector<Coupon> ListCoupons(const Principal& principal);
    // Retires a code: checkouts no longer take it. 404 when unknown or another seller's.
    Status RetireCoupon(const Principal& principal, const std::string& code);

    // Voids authorizations that have had no order for longer than grace (a crash between
    // authorizing and committing, a void that failed) and captures committed orders' payments
    // that are still only authorized. Safe to run at any time, from any process.
    ReconcileReport ReconcilePayments(std::chrono::seconds grace);

    // Runs ReconcilePayments(grace) at once and then every interval on a thread of its own, until
    // StopReconciler or destruction; on_pass hears each pass's report (for the log). Start after
    // Stop starts it again.
    void StartReconciler(std::chrono::seconds interval, std::chrono::seconds grace,
                         std::function<void(const ReconcileReport&)> on_pass);
    void StopReconciler();

    // An order for background work (notifications) that acts for the shop itself: no principal
    // check. 404 when unknown.
    Result<Order> Find(std::int64_t order_id);

    // Called after a commit that changed a product's stock, once per product (the catalog's
    // cache listens).
    void OnStockChanged(std::function<void(std::int64_t)> listener);

    // Called after a product went into a cart (the analytics funnel counts them; nothing about who).
    void OnCartAdded(std::function<void(std::int64_t)> listener);

    // Called after every commit that wrote outbox events (the event dispatcher listens, so that
    // it need not wait for its next poll).
    void OnEventsCommitted(std::function<void()> listener);

    // Drops remembered idempotency keys older than 24 h.
    std::int64_t PurgeIdempotencyKeys();

private:
    Result<Order> Load(db::Connection& c, std::int64_t order_id);
    void VoidPayment(const std::string& reference);
    void SetPaymentStatus(const std::string& reference, std::string_view status);
    Cart ReadCart(db::Connection& c, std::int64_t user_id);
    std::vector<FieldError> CheckInput(const CheckoutInput& input);
    void Changed(const std::vector<std::int64_t>& product_ids);

    db::Database& database_;
    accounts::PiiVault& vault_;
    PaymentProvider& payments_;
    const Clock& clock_;
    std::vector<std::function<void(std::int64_t)>> listeners_;       // set at wiring time
    std::vector<std::function<void()>> committed_listeners_;         // set at wiring time
    std::vector<std::function<void(std::int64_t)>> cart_listeners_;  // set at wiring time

    std::mutex reconciler_mutex_;  // guards reconciler_stopping_
    std::condition_variable reconciler_wake_;
    bool reconciler_stopping_ = false;
    std::thread reconciler_;
};

}  // namespace emporium::orders
