#include "orders/orders_routes.h"

#include <boost/json.hpp>

#include "core/contact.h"
#include "http/errors.h"
#include "http/json_body.h"
#include "http/reply.h"

namespace emporium::orders {
namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

json::object CartJson(const Cart& cart) {
    json::array items;
    for (const CartLine& l : cart.items) {
        items.push_back(json::object{{"product_id", l.product_id},
                                     {"name", l.name},
                                     {"quantity", l.quantity},
                                     {"price_cents", l.price_cents},
                                     {"image_url", "/api/products/" + std::to_string(l.product_id) + "/image.svg"}});
    }
    return json::object{{"items", std::move(items)}, {"total_cents", cart.total_cents}, {"currency", cart.currency}};
}

// Owners and admins see the whole order; sellers see what they need to ship, with personal data
// masked.
json::object OrderJson(const Order& o, bool full) {
    json::array items;
    for (const OrderLine& l : o.items) {
        items.push_back(json::object{{"product_id", l.product_id},
                                     {"name", l.name},
                                     {"quantity", l.quantity},
                                     {"price_cents", l.price_cents},
                                     {"seller_id", l.seller_id}});
    }
    const Address& a = o.shipping_address;
    json::object address = full ? json::object{{"name", a.name},
                                               {"line1", a.line1},
                                               {"line2", a.line2},
                                               {"city", a.city},
                                               {"postal_code", a.postal_code},
                                               {"country", a.country}}
                                : json::object{{"name", MaskName(a.name)}, {"city", a.city}, {"country", a.country}};
    return json::object{{"id", o.id},
                        {"status", StatusName(o.status)},
                        {"items", std::move(items)},
                        {"total_cents", o.total_cents},
                        {"currency", o.currency},
                        {"shipping_address", std::move(address)},
                        {"phone", full ? o.phone : MaskPhone(o.phone)},
                        {"payment", json::object{{"brand", o.card_brand}, {"last4", o.card_last4}}},
                        {"created_at", FormatRfc3339(o.created_at)},
                        {"updated_at", FormatRfc3339(o.updated_at)}};
}

// Reads {field: integer} members; every problem is listed.
std::optional<std::int64_t> Integer(const json::object& o, const char* key, std::vector<FieldError>& errors,
                                    bool required = true) {
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) {
        if (required) errors.push_back({key, "is required"});
        return std::nullopt;
    }
    if (it->value().is_int64()) return it->value().as_int64();
    errors.push_back({key, "must be a whole number"});
    return std::nullopt;
}

std::string Text(const json::object& o, const char* key, const std::string& prefix, std::vector<FieldError>& errors) {
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) return "";
    if (it->value().is_string()) return std::string(it->value().as_string());
    errors.push_back({prefix + key, "must be a string"});
    return "";
}

// The checkout body: {shipping_address, phone, payment?}. Unknown fields are refused.
CheckoutInput ReadCheckout(const json::object& body, bool want_payment, std::vector<FieldError>& errors) {
    CheckoutInput in;
    for (const auto& [key, value] : body) {
        if (key != "shipping_address" && key != "phone" && !(key == "payment" && want_payment)) {
            errors.push_back({std::string(key), "is not a known field"});
        }
    }
    auto addr = body.find("shipping_address");
    if (addr == body.end() || !addr->value().is_object()) {
        errors.push_back({"shipping_address", "must be an object with name, line1, city, postal_code, country"});
    } else {
        const auto& a = addr->value().as_object();
        for (const auto& [key, value] : a) {
            if (key != "name" && key != "line1" && key != "line2" && key != "city" && key != "postal_code" &&
                key != "country") {
                errors.push_back({"shipping_address." + std::string(key), "is not a known field"});
            }
        }
        in.shipping_address = Address{
            Text(a, "name", "shipping_address.", errors),        Text(a, "line1", "shipping_address.", errors),
            Text(a, "line2", "shipping_address.", errors),       Text(a, "city", "shipping_address.", errors),
            Text(a, "postal_code", "shipping_address.", errors), Text(a, "country", "shipping_address.", errors)};
    }
    in.phone = Text(body, "phone", "", errors);
    if (want_payment) {
        auto pay = body.find("payment");
        if (pay == body.end() || !pay->value().is_object()) {
            errors.push_back({"payment", "must be an object with method, card_number, exp_month, exp_year, cvc"});
        } else {
            const auto& p = pay->value().as_object();
            std::string method = Text(p, "method", "payment.", errors);
            if (method != "card") errors.push_back({"payment.method", "must be \"card\""});
            Card card;
            std::string number = Text(p, "card_number", "payment.", errors);
            for (char ch : number) {
                if (ch >= '0' && ch <= '9')
                    card.number += ch;
                else if (ch != ' ' && ch != '-') {
                    card.number = "x";  // fails Luhn: reported as an invalid number
                    break;
                }
            }
            std::vector<FieldError> ints;
            card.exp_month = static_cast<int>(Integer(p, "exp_month", ints).value_or(0) % 1000);
            card.exp_year = static_cast<int>(Integer(p, "exp_year", ints).value_or(0) % 100000);
            for (auto& e : ints) errors.push_back({"payment." + e.field, e.message});
            card.cvc = Text(p, "cvc", "payment.", errors);
            in.card = std::move(card);
        }
    }
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
        std::vector<FieldError> errors;
        auto product_id = Integer(body.value(), "product_id", errors);
        auto quantity = Integer(body.value(), "quantity", errors);
        for (const auto& [key, value] : body.value()) {
            if (key != "product_id" && key != "quantity") errors.push_back({std::string(key), "is not a known field"});
        }
        if (!errors.empty()) return http::PrivateError(Error::Validation(std::move(errors)));
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
        std::vector<FieldError> errors;
        auto quantity = Integer(body.value(), "quantity", errors);
        for (const auto& [key, value] : body.value()) {
            if (key != "quantity") errors.push_back({std::string(key), "is not a known field"});
        }
        if (!errors.empty()) return http::PrivateError(Error::Validation(std::move(errors)));
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
        std::vector<FieldError> errors;
        CheckoutInput input = ReadCheckout(body.value(), /*want_payment=*/body.value().contains("payment"), errors);
        Result<Validation> v = service_.Validate(who->user_id, input);
        if (!v.ok()) {
            errors.insert(errors.end(), v.error().fields.begin(), v.error().fields.end());
            return http::PrivateError(Error::Validation(std::move(errors)));
        }
        if (!errors.empty()) return http::PrivateError(Error::Validation(std::move(errors)));
        return http::PrivateJson(
            200, json::object{
                     {"valid", true}, {"total_cents", v->total_cents}, {"currency", v->currency}, {"items", v->items}});
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
        std::vector<FieldError> errors;
        CheckoutInput input = ReadCheckout(body.value(), /*want_payment=*/true, errors);
        if (!errors.empty()) return http::PrivateError(Error::Validation(std::move(errors)));
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

    Response Cancel(const Request& r) { return MoveTo(r, OrderStatus::kCancelled, scope::kOrdersRead); }
    Response Ship(const Request& r) { return MoveTo(r, OrderStatus::kShipped, scope::kOrdersWrite); }
    Response Deliver(const Request& r) { return MoveTo(r, OrderStatus::kDelivered, scope::kOrdersWrite); }
    Response Refund(const Request& r) { return MoveTo(r, OrderStatus::kRefunded, scope::kOrdersWrite); }
    Response MarkPaid(const Request& r) { return MoveTo(r, OrderStatus::kPaid, scope::kOrdersWrite); }

private:
    static bool Full(const Principal& who, const Order& o) {
        return who.ActsForEveryone() || (!who.staff_token && o.user_id == who.user_id);
    }

    static json::object PageJson(const OrderPage& page, bool full) {
        json::array items;
        for (const Order& o : page.items) items.push_back(OrderJson(o, full));
        return json::object{
            {"items", std::move(items)}, {"total", page.total}, {"page", page.page}, {"per_page", page.per_page}};
    }

    Response MoveTo(const Request& request, OrderStatus to, std::string_view needed) {
        Result<Principal> who = http::Require(authenticate_, request, needed);
        if (!who.ok()) return http::PrivateError(who.error());
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
    router.Get("/api/seller/orders", bind(&Handlers::SellerOrders));
    router.Post("/api/seller/orders/{id}/ship", bind(&Handlers::Ship));
}

}  // namespace emporium::orders
