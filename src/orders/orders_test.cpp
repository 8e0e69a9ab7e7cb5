#include "orders/orders.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "catalog/catalog.h"
#include "catalog/seed.h"
#include "db/testing.h"
#include "events/outbox.h"

namespace emporium::orders {
namespace {

class OrdersTest : public ::testing::Test {
protected:
    static std::vector<db::Migration> AllMigrations() {
        std::vector<db::Migration> all = catalog::Migrations(db::Dialect::kSqlite);
        for (auto& m : events::Migrations(db::Dialect::kSqlite)) all.push_back(m);
        for (auto& m : Migrations(db::Dialect::kSqlite)) all.push_back(m);
        return all;
    }
    void SetUp() override {
        vault_ = accounts::PiiVault::Open({"", "", (database_.dir() / "pii.keys").string()});
        catalog_ = std::make_unique<catalog::CatalogService>(*database_, clock_);
        ASSERT_TRUE(catalog::SeedCatalog(*database_, *catalog_, {"games", 20, 3, {7, 8}}, nullptr).ok());
        catalog::ProductDraft d;
        d.sku = "LAST-ONES";
        d.name = "Limited Edition Console";
        d.category = "consoles";
        d.price_cents = 49999;
        d.stock = 10;
        product_ = catalog_->Create(d, 7).value();
        service_ = std::make_unique<OrderService>(*database_, *vault_, payments_, clock_);
    }
    CheckoutInput Input(std::string card = "4242424242424242") {
        return CheckoutInput{Address{"Ada", "1 Main Street", "", "Singapore", "123456", "SG"}, "+6591234567",
                             Card{card, 12, 2031, "123"}};
    }
    std::int64_t Stock() { return catalog_->Get(product_.id)->stock; }

    ManualClock clock_{std::chrono::system_clock::from_time_t(1'800'000'000)};
    TestPaymentProvider payments_{clock_};
    db::TempDatabase database_{AllMigrations()};
    std::unique_ptr<accounts::PiiVault> vault_;
    std::unique_ptr<catalog::CatalogService> catalog_;
    std::unique_ptr<OrderService> service_;
    catalog::Product product_;
};

TEST_F(OrdersTest, CartAddsSetsAndRemoves) {
    EXPECT_EQ(service_->AddToCart(1, product_.id, 2)->total_cents, 2 * 49999);
    EXPECT_EQ(service_->AddToCart(1, product_.id, 1)->items[0].quantity, 3);
    EXPECT_EQ(service_->SetCartQuantity(1, product_.id, 1)->total_cents, 49999);
    EXPECT_TRUE(service_->GetCart(2).items.empty());  // carts are per user
    EXPECT_TRUE(service_->RemoveFromCart(1, product_.id)->items.empty());
    EXPECT_EQ(service_->AddToCart(1, 999999, 1).error().kind, ErrorKind::kNotFound);
    EXPECT_EQ(service_->AddToCart(1, product_.id, 0).error().kind, ErrorKind::kValidation);
    EXPECT_EQ(service_->AddToCart(1, product_.id, 101).error().kind, ErrorKind::kValidation);
    EXPECT_EQ(service_->SetCartQuantity(1, product_.id, 2).error().kind, ErrorKind::kNotFound);
}

TEST_F(OrdersTest, ValidationListsEveryProblemAtOnce) {
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 11).ok());
    CheckoutInput bad{Address{"", "", "", "", "", "sg"}, "91234567", Card{"4242424242424241", 13, 2020, "1"}};
    Result<Validation> v = service_->Validate(1, bad);
    ASSERT_FALSE(v.ok());
    std::set<std::string> fields;
    for (const auto& f : v.error().fields) fields.insert(f.field);
    EXPECT_EQ(fields, (std::set<std::string>{"shipping_address.name", "shipping_address.line1", "shipping_address.city",
                                             "shipping_address.postal_code", "shipping_address.country", "phone",
                                             "payment.card_number", "payment.exp_month", "payment.cvc",
                                             "items." + std::to_string(product_.id)}));
    ASSERT_TRUE(service_->SetCartQuantity(1, product_.id, 2).ok());
    catalog::ProductDraft change;
    change.price_cents = 45000;
    ASSERT_TRUE(catalog_->Update(product_.id, change, std::nullopt).ok());
    v = service_->Validate(1, Input());
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().fields[0].field, "items." + std::to_string(product_.id) + ".price_cents");
    ASSERT_TRUE(service_->SetCartQuantity(1, product_.id, 2).ok());  // takes the new price
    EXPECT_EQ(service_->Validate(1, Input())->total_cents, 90000);
}

TEST_F(OrdersTest, CheckoutTakesStockWritesOrderEventAndEmptiesCart) {
    std::vector<std::int64_t> changed;
    service_->OnStockChanged([&](std::int64_t id) { changed.push_back(id); });
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 3).ok());
    auto placed = service_->Checkout(1, Input(), "key-1", "fp-1");
    ASSERT_TRUE(placed.ok()) << placed.error().message;
    const Order& o = placed->first;
    EXPECT_FALSE(placed->second);
    EXPECT_EQ(o.status, OrderStatus::kPlaced);
    EXPECT_EQ(o.total_cents, 3 * 49999);
    EXPECT_EQ(o.items[0].seller_id, 7);
    EXPECT_EQ(o.card_brand, "visa");
    EXPECT_EQ(o.card_last4, "4242");
    EXPECT_EQ(o.shipping_address.city, "Singapore");
    EXPECT_EQ(Stock(), 7);
    EXPECT_TRUE(service_->GetCart(1).items.empty());
    EXPECT_EQ(changed, std::vector<std::int64_t>{product_.id});
    auto events = database_->Read([](db::Connection& c) { return events::ReadAfter(c, 0, 100); });
    std::erase_if(events, [](const events::Event& e) { return e.type != "order.placed"; });
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, "order.placed");
    EXPECT_NE(events[0].payload_json.find("\"order_id\":" + std::to_string(o.id)), std::string::npos);
}

TEST_F(OrdersTest, SameKeyReplaysAndAnotherBodyConflicts) {
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 1).ok());
    auto first = service_->Checkout(1, Input(), "k", "fp");
    ASSERT_TRUE(first.ok());
    auto again = service_->Checkout(1, Input(), "k", "fp");
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->second);
    EXPECT_EQ(again->first.id, first->first.id);
    EXPECT_EQ(Stock(), 9);
    EXPECT_EQ(service_->Checkout(1, Input(), "k", "other").error().code, "idempotency_key_reused");
    EXPECT_EQ(service_->Checkout(2, Input(), "k", "fp").error().code,
              "validation_failed");  // other user: own key space, empty cart
    clock_.Advance(std::chrono::hours(25));
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 1).ok());
    auto later = service_->Checkout(1, Input(), "k", "fp");  // the key was forgotten after 24 h
    ASSERT_TRUE(later.ok());
    EXPECT_NE(later->first.id, first->first.id);
}

TEST_F(OrdersTest, DeclinedCardChangesNothing) {
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 2).ok());
    auto r = service_->Checkout(1, Input("4000000000000002"), "k", "fp");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::kPaymentDeclined);
    EXPECT_EQ(r.error().code, "payment_declined");
    EXPECT_EQ(Stock(), 10);
    EXPECT_EQ(service_->GetCart(1).items.size(), 1u);
    EXPECT_TRUE(service_->Checkout(1, Input(), "k", "fp2").ok());  // a failed attempt does not burn the key
}

TEST_F(OrdersTest, OutOfStockTakesNothing) {
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 11).ok());
    auto r = service_->Checkout(1, Input(), "k", "fp");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "out_of_stock");
    EXPECT_EQ(Stock(), 10);
}

TEST_F(OrdersTest, ConcurrentBuyersNeverOversell) {
    for (std::int64_t user = 1; user <= 30; ++user) ASSERT_TRUE(service_->AddToCart(user, product_.id, 1).ok());
    std::atomic<int> placed{0}, out_of_stock{0};
    std::vector<std::thread> buyers;
    for (std::int64_t user = 1; user <= 30; ++user) {
        buyers.emplace_back([&, user] {
            auto r = service_->Checkout(user, Input(), "k", "fp");
            if (r.ok())
                ++placed;
            else if (r.error().code == "out_of_stock")
                ++out_of_stock;
        });
    }
    for (auto& b : buyers) b.join();
    EXPECT_EQ(placed.load(), 10);
    EXPECT_EQ(out_of_stock.load(), 20);
    EXPECT_EQ(Stock(), 0);
}

TEST_F(OrdersTest, MovesFollowTheTable) {
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 2).ok());
    Order o = service_->Checkout(1, Input(), "k", "fp")->first;
    Principal owner{1, Role::kCustomer}, stranger{2, Role::kCustomer}, seller{7, Role::kSeller},
        other_seller{8, Role::kSeller}, admin{99, Role::kAdmin};
    EXPECT_EQ(service_->Get(stranger, o.id).error().kind, ErrorKind::kNotFound);
    EXPECT_EQ(service_->Get(other_seller, o.id).error().kind, ErrorKind::kNotFound);
    EXPECT_TRUE(service_->Get(seller, o.id).ok());
    EXPECT_EQ(service_->Move(owner, o.id, OrderStatus::kShipped).error().code, "invalid_transition");
    EXPECT_EQ(service_->Move(stranger, o.id, OrderStatus::kCancelled).error().kind, ErrorKind::kNotFound);
    EXPECT_EQ(service_->Move(seller, o.id, OrderStatus::kShipped)->status, OrderStatus::kShipped);
    EXPECT_EQ(service_->Move(owner, o.id, OrderStatus::kCancelled).error().code, "invalid_transition");  // too late
    EXPECT_EQ(service_->Move(seller, o.id, OrderStatus::kDelivered)->status, OrderStatus::kDelivered);
    EXPECT_EQ(service_->Move(seller, o.id, OrderStatus::kRefunded).error().code, "invalid_transition");
    EXPECT_EQ(service_->Move(admin, o.id, OrderStatus::kRefunded)->status, OrderStatus::kRefunded);
}

TEST_F(OrdersTest, CancellingReturnsTheStock) {
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 4).ok());
    Order o = service_->Checkout(1, Input(), "k", "fp")->first;
    EXPECT_EQ(Stock(), 6);
    EXPECT_EQ(service_->Move(Principal{1, Role::kCustomer}, o.id, OrderStatus::kCancelled)->status,
              OrderStatus::kCancelled);
    EXPECT_EQ(Stock(), 10);
    EXPECT_EQ(service_->Move(Principal{1, Role::kCustomer}, o.id, OrderStatus::kCancelled).error().code,
              "invalid_transition");  // not twice
    EXPECT_EQ(Stock(), 10);
}

TEST(Payment, LuhnBrandsAndExpiry) {
    EXPECT_TRUE(LuhnValid("4242424242424242"));
    EXPECT_TRUE(LuhnValid("4000000000000002"));
    EXPECT_FALSE(LuhnValid("4242424242424241"));
    EXPECT_FALSE(LuhnValid("42"));
    EXPECT_EQ(CardBrand("5555555555554444"), "mastercard");
    EXPECT_EQ(CardBrand("378282246310005"), "amex");
    ManualClock clock(std::chrono::system_clock::from_time_t(1'800'000'000));  // 2027-01-15
    EXPECT_TRUE(ValidateCard({"4242424242424242", 1, 2027, "123"}, clock).empty());
    EXPECT_EQ(ValidateCard({"4242424242424242", 12, 2026, "123"}, clock).size(), 1u);
}

TEST(OrderStatus, TableOfMoves) {
    EXPECT_TRUE(MayMove(OrderStatus::kPlaced, OrderStatus::kCancelled, Actor::kOwner));
    EXPECT_FALSE(MayMove(OrderStatus::kShipped, OrderStatus::kCancelled, Actor::kOwner));
    EXPECT_FALSE(MayMove(OrderStatus::kPlaced, OrderStatus::kShipped, Actor::kOwner));
    EXPECT_TRUE(MayMove(OrderStatus::kPlaced, OrderStatus::kShipped, Actor::kSeller));
    EXPECT_FALSE(MayMove(OrderStatus::kDelivered, OrderStatus::kRefunded, Actor::kSeller));
    EXPECT_TRUE(MayMove(OrderStatus::kDelivered, OrderStatus::kRefunded, Actor::kAdmin));
    EXPECT_FALSE(MayMove(OrderStatus::kCancelled, OrderStatus::kPlaced, Actor::kAdmin));
}

}  // namespace
}  // namespace emporium::orders
