#include "orders/orders_routes.h"

#include <algorithm>
#include <boost/json.hpp>

#include "core/contact.h"
#include "http/errors.h"
#include "http/json_body.h"
#include "http/reply.h"

namespace emporium::orders {
namespace {

namespace json = boost::json;
using http::Need;
using http::Request;
using http::Response;

json::object CartJson(const Cart& cart) {
    json::array items;
    for (const CartLine& l : cart.items) {
        items.push_back(json::object{{"product_id", l.product_id},
                                     {"name", l.name},
                                     {"quantity", l.quantity},
                                     {"price_cents", l.price_cents},
                                     {"currency", l.currency},
                                     {"image_url", l.image_url}});
    }
    return json::object{{"items", std::move(items)},
                        {"total_cents", cart.total_cents},
                        {"currency", cart.currency},
                        {"mixed_currencies", cart.mixed_currencies}};
}

json::value TimeOrNull(const std::optional<std::int64_t>& t) {
    return t ? json::value(FormatRfc3339(*t)) : json::value(nullptr);
}

// Owners and admins see the whole order; a seller sees their own lines, their subtotal and their
// own shipping state, with personal data masked and no card.
json::object OrderJson(const Order& o, bool full) {
    json::array items;
    std::int64_t discount = 0, refunded = 0;
    for (const OrderLine& l : o.items) {
        items.push_back(json::object{{"product_id", l.product_id},
                                     {"name", l.name},
                                     {"quantity", l.quantity},
                                     {"price_cents", l.price_cents},
                                     {"seller_id", l.seller_id},
                                     {"shipped_at", TimeOrNull(l.shipped_at)},
                                     {"discount_cents", l.discount_cents},
                                     {"refunded_cents", l.refunded_cents},
                                     {"refunded_quantity", l.refunded_quantity}});
        discount += l.discount_cents;
        refunded += l.refunded_cents;
    }
    const Address& a = o.shipping_address;
    json::object address = full ? http::AddressToJson(a)
                                : json::object{{"name", MaskName(a.name)}, {"city", a.city}, {"country", a.country}};
    json::object out{{"id", o.id},
                     {"status", StatusName(o.status)},
                     {"items", std::move(items)},
                     {"total_cents", o.total_cents},
                     {"currency", o.currency},
                     {"shipping_address", std::move(address)},
                     {"phone", full ? o.phone : MaskPhone(o.phone)},
                     {"created_at", FormatRfc3339(o.created_at)},
                     {"updated_at", FormatRfc3339(o.updated_at)},
                     {"discount_cents", discount},
                     {"refunded_cents", refunded},
                     {"coupon_code", o.coupon_code}};
    if (o.seller_view) {
        // Shipped when every one of the seller's lines is.
        std::optional<std::int64_t> shipped_at;
        for (const OrderLine& l : o.items) {
            if (!l.shipped_at) {
                shipped_at.reset();
                break;
            }
            shipped_at = std::max(shipped_at.value_or(0), *l.shipped_at);
        }
        out["seller_shipped_at"] = TimeOrNull(shipped_at);
    } else {
        out["payment"] = json::object{{"brand", o.card_brand}, {"last4", o.card_last4}};
    }
    return out;
}

// The checkout body: {shipping_address, phone, payment?}.
CheckoutInput ReadCheckout(http::JsonReader& f, Need payment) {
    CheckoutInput in;
    in.shipping_address = http::ReadAddress(f, "shipping_address", Need::kRequired).value_or(Address{});
    in.phone = f.Text("phone", Need::kRequired).value_or("");
    in.coupon_code = f.Text("coupon_code", Need::kOptional).value_or("");
    std::optional<http::JsonReader> p = f.Object("payment", payment);
    if (!p) return in;
    std::optional<std::string> method = p->Text("method", Need::kRequired);
    if (method && *method != "card") p->Fail(FieldError::Invalid("method", "must be \"card\""));
    Card card;
    for (char ch : p->Text("card_number", Need::kRequired).value_or("")) {
        if (ch >= '0' && ch <= '9') {
            card.number += ch;
        } else if (ch != ' ' && ch != '-') {
            card.number = "x";  // fails Luhn: reported as an invalid number
            break;
        }
    }
    card.exp_month = static_cast<int>(p->Integer("exp_month", Need::kRequired).value_or(0) % 1000);
    card.exp_year = static_cast<int>(p->Integer("exp_year", Need::kRequired).value_or(0) % 100000);
    card.cvc = p->Text("cvc", Need::kRequired).value_or("");
    in.card = std::move(card);
    return in;
}

class Handlers {
public:
    Handlers(OrderService& service, http::Authenticator authenticate, accounts::PiiVault& vault)
        : service_(service), authenticate_(std::move(authenticate)), vault_(vault) {}

    Response GetCart(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kProfile);
        if (!who.ok()) return http::PrivateError(who.error());
        return http::PrivateJson(200, CartJson(service_.GetCart(who->user_id)));
    }

    Response AddItem(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kProfile);
        if (!who.ok()) return http::PrivateError(who.error());
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        http::JsonReader f(body.value());
        std::optional<std::int64_t> product_id = f.Integer("product_id", Need::kRequired);
        std::optional<std::int64_t> quantity = f.Integer("quantity", Need::kRequired);
        if (auto e = f.Finish()) return http::PrivateError(*e);
        Result<Cart> cart = service_.AddToCart(who->user_id, *product_id, *quantity);
        if (!cart.ok()) return http::PrivateError(cart.error());
        return http::PrivateJson(200, CartJson(cart.value()));
    }

    Response SetItem(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kProfile);
        if (!who.ok()) return http::PrivateError(who.error());
        auto product_id = http::ParseId(request.PathParam("product_id"));
        if (!product_id) return http::PrivateError(Error::NotFound("That product is not in the cart."));
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        http::JsonReader f(body.value());
        std::optional<std::int64_t> quantity = f.Integer("quantity", Need::kRequired);
        if (auto e = f.Finish()) return http::PrivateError(*e);
        Result<Cart> cart = service_.SetCartQuantity(who->user_id, *product_id, *quantity);
        if (!cart.ok()) return http::PrivateError(cart.error());
        return http::PrivateJson(200, CartJson(cart.value()));
    }

    Response RemoveItem(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kProfile);
        if (!who.ok()) return http::PrivateError(who.error());
        auto product_id = http::ParseId(request.PathParam("product_id"));
        if (!product_id) return http::PrivateError(Error::NotFound("That product is not in the cart."));
        Result<Cart> cart = service_.RemoveFromCart(who->user_id, *product_id);
        if (!cart.ok()) return http::PrivateError(cart.error());
        return http::PrivateJson(200, CartJson(cart.value()));
    }

    Response Validate(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kProfile);
        if (!who.ok()) return http::PrivateError(who.error());
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        http::JsonReader f(body.value());
        CheckoutInput input = ReadCheckout(f, Need::kOptional);
        Result<Validation> v = service_.Validate(who->user_id, input);
        if (!v.ok() && v.error().kind != ErrorKind::kValidation) return http::PrivateError(v.error());
        if (!v.ok()) f.Merge(v.error().fields);
        if (auto e = f.Finish()) return http::PrivateError(*e);
        return http::PrivateJson(200, json::object{{"valid", true},
                                                   {"total_cents", v->total_cents},
                                                   {"currency", v->currency},
                                                   {"items", v->items},
                                                   {"discount_cents", v->discount_cents}});
    }

    Response Checkout(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kProfile);
        if (!who.ok()) return http::PrivateError(who.error());
        std::string_view key = request.Header("idempotency-key");
        if (key.empty() || key.size() > 200 ||
            !std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
            return http::PrivateError(
                Error::BadRequest("Send an Idempotency-Key header (1 to 200 visible characters) with every checkout.",
                                  "idempotency_key_required"));
        }
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        http::JsonReader f(body.value());
        CheckoutInput input = ReadCheckout(f, Need::kRequired);
        if (auto e = f.Finish()) return http::PrivateError(*e);
        // Keyed, so that the stored fingerprint says nothing about the card number in the body.
        std::string fingerprint = vault_.BlindIndexes("checkout:" + request.body).back();
        Result<std::pair<Order, bool>> placed = service_.Checkout(who->user_id, input, std::string(key), fingerprint);
        if (!placed.ok()) return http::PrivateError(placed.error());
        Response r = http::PrivateJson(201, OrderJson(placed->first, true));
        r.headers.emplace_back("Location", "/api/orders/" + std::to_string(placed->first.id));
        if (placed->second) r.headers.emplace_back("Idempotent-Replayed", "true");
        return r;
    }

    Response List(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kProfile);
        if (!who.ok()) return http::PrivateError(who.error());
        OrderPage page = service_.ListForUser(who->user_id, http::PageParam(request, "page", 1, 1'000'000),
                                              http::PageParam(request, "per_page", 24, 100));
        return http::PrivateJson(200, PageJson(page, true));
    }

    Response SellerOrders(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kOrdersWrite);
        if (!who.ok()) return http::PrivateError(who.error());
        std::optional<std::int64_t> seller = who->ActsForEveryone() ? std::nullopt : std::optional(who->user_id);
        OrderPage page = service_.ListForSeller(seller, http::PageParam(request, "page", 1, 1'000'000),
                                                http::PageParam(request, "per_page", 24, 100));
        return http::PrivateJson(200, PageJson(page, who->ActsForEveryone()));
    }

    Response Get(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kOrdersRead);
        if (!who.ok()) return http::PrivateError(who.error());
        auto id = http::ParseId(request.PathParam("id"));
        if (!id) return http::PrivateError(Error::NotFound("There is no such order."));
        Result<Order> order = service_.Get(who.value(), *id);
        if (!order.ok()) return http::PrivateError(order.error());
        return http::PrivateJson(200, OrderJson(order.value(), Full(who.value(), order.value())));
    }

    // The owner cancels in person (profile); staff need orders:write. A read-only token cannot.
    Response Cancel(const Request& r) { return MoveTo(r, OrderStatus::kCancelled, scope::kProfile); }
    Response Ship(const Request& r) { return MoveTo(r, OrderStatus::kShipped); }
    Response Deliver(const Request& r) { return MoveTo(r, OrderStatus::kDelivered); }
    Response Refund(const Request& r) { return MoveTo(r, OrderStatus::kRefunded); }
    Response MarkPaid(const Request& r) { return MoveTo(r, OrderStatus::kPaid); }

    // Staff pay back part of an order: {items: [{product_id, quantity?, amount_cents?}]}.
    Response RefundLines(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kOrdersWrite);
        if (!who.ok()) return http::PrivateError(who.error());
        auto id = http::ParseId(request.PathParam("id"));
        if (!id) return http::PrivateError(Error::NotFound("There is no such order."));
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        http::JsonReader f(body.value());
        std::vector<RefundRequest> lines;
        std::optional<std::vector<http::JsonReader>> items = f.Objects("items", Need::kRequired);
        if (!items) items.emplace();
        for (http::JsonReader& item : *items) {
            RefundRequest r;
            r.product_id = item.Integer("product_id", Need::kRequired).value_or(0);
            r.quantity = item.Integer("quantity", Need::kOptional).value_or(0);
            r.amount_cents = item.Integer("amount_cents", Need::kOptional);
            lines.push_back(r);
        }
        if (auto e = f.Finish()) return http::PrivateError(*e);
        Result<Order> order = service_.RefundLines(who.value(), *id, lines);
        if (!order.ok()) return http::PrivateError(order.error());
        return http::PrivateJson(201, OrderJson(order.value(), Full(who.value(), order.value())));
    }

    Response ListCoupons(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kCatalogWrite);
        if (!who.ok()) return http::PrivateError(who.error());
        json::array items;
        for (const Coupon& c : service_.ListCoupons(who.value())) items.push_back(CouponJson(c));
        return http::PrivateJson(200, json::object{{"items", std::move(items)}});
    }

    Response CreateCoupon(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kCatalogWrite);
        if (!who.ok()) return http::PrivateError(who.error());
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        http::JsonReader f(body.value());
        std::optional<std::string> code = f.Text("code", Need::kRequired);
        std::optional<std::int64_t> percent = f.Integer("percent_off", Need::kRequired);
        if (auto e = f.Finish()) return http::PrivateError(*e);
        Result<Coupon> coupon = service_.CreateCoupon(who.value(), *code, *percent);
        if (!coupon.ok()) return http::PrivateError(coupon.error());
        return http::PrivateJson(201, CouponJson(coupon.value()));
    }

    Response RetireCoupon(const Request& request) {
        Result<Principal> who = http::Require(authenticate_, request, scope::kCatalogWrite);
        if (!who.ok()) return http::PrivateError(who.error());
        Status done = service_.RetireCoupon(who.value(), std::string(request.PathParam("code")));
        if (!done.ok()) return http::PrivateError(done.error());
        return http::NoStore(Response::NoContent());
    }

private:
    static json::object CouponJson(const Coupon& c) {
        return json::object{{"code", c.code},
                            {"seller_id", c.seller_id == 0 ? json::value(nullptr) : json::value(c.seller_id)},
                            {"percent_off", c.percent_off},
                            {"active", c.active},
                            {"created_at", FormatRfc3339(c.created_at)}};
    }

    // Personal fields in clear: for the owner and admins, never in a seller's view.
    static bool Full(const Principal& who, const Order& o) {
        return !o.seller_view && (who.ActsForEveryone() || (!who.staff_token && o.user_id == who.user_id));
    }

    static json::object PageJson(const OrderPage& page, bool full) {
        json::array items;
        for (const Order& o : page.items) items.push_back(OrderJson(o, full && !o.seller_view));
        return json::object{
            {"items", std::move(items)}, {"total", page.total}, {"page", page.page}, {"per_page", page.per_page}};
    }

    // Every move changes state: it needs orders:write, or `also` (the owner's own scope) when set.
    Response MoveTo(const Request& request, OrderStatus to, std::string_view also = {}) {
        Result<Principal> who = authenticate_(request);
        if (!who.ok()) return http::PrivateError(who.error());
        if (!who->Can(scope::kOrdersWrite) && (also.empty() || !who->Can(also))) {
            return http::PrivateError(Error::Forbidden(who->staff_token ? "This token does not carry orders:write."
                                                                        : "Your account may not do this."));
        }
        auto id = http::ParseId(request.PathParam("id"));
        if (!id) return http::PrivateError(Error::NotFound("There is no such order."));
        Result<Order> order = service_.Move(who.value(), *id, to);
        if (!order.ok()) return http::PrivateError(order.error());
        return http::PrivateJson(200, OrderJson(order.value(), Full(who.value(), order.value())));
    }

    OrderService& service_;
    http::Authenticator authenticate_;
    accounts::PiiVault& vault_;
};

}  // namespace

void AddRoutes(http::Router& router, OrderService& service, http::Authenticator authenticate,
               accounts::PiiVault& fingerprint_key) {
    auto h = std::make_shared<Handlers>(service, std::move(authenticate), fingerprint_key);
    auto bind = [h](Response (Handlers::*m)(const Request&)) {
        return [h, m](const Request& r) { return ((*h).*m)(r); };
    };
    router.Get("/api/cart", bind(&Handlers::GetCart));
    router.Post("/api/cart/items", bind(&Handlers::AddItem));
    router.Patch("/api/cart/items/{product_id}", bind(&Handlers::SetItem));
    router.Delete("/api/cart/items/{product_id}", bind(&Handlers::RemoveItem));
    router.Post("/api/orders/validate", bind(&Handlers::Validate));
    router.Post("/api/checkout", bind(&Handlers::Checkout));
    router.Get("/api/orders", bind(&Handlers::List));
    router.Get("/api/orders/{id}", bind(&Handlers::Get));
    router.Post("/api/orders/{id}/cancel", bind(&Handlers::Cancel));
    router.Post("/api/orders/{id}/deliver", bind(&Handlers::Deliver));
    router.Post("/api/orders/{id}/refund", bind(&Handlers::Refund));
    router.Post("/api/orders/{id}/pay", bind(&Handlers::MarkPaid));
    router.Post("/api/orders/{id}/refunds", bind(&Handlers::RefundLines));
    router.Get("/api/seller/coupons", bind(&Handlers::ListCoupons));
    router.Post("/api/seller/coupons", bind(&Handlers::CreateCoupon));
    router.Delete("/api/seller/coupons/{code}", bind(&Handlers::RetireCoupon));
    router.Get("/api/seller/orders", bind(&Handlers::SellerOrders));
    router.Post("/api/seller/orders/{id}/ship", bind(&Handlers::Ship));
}

}  // namespace emporium::orders
