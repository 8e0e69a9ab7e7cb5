#include "orders/orders.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "catalog/catalog.h"
#include "catalog/seed.h"
#include "db/testing.h"
#include "events/outbox.h"

namespace emporium::orders {
namespace {

std::vector<db::Migration> AllMigrations() {
    const db::Dialect dialect = db::TestDialect();
    std::vector<db::Migration> all = catalog::Migrations(dialect);
    for (auto& m : events::Migrations(dialect)) all.push_back(m);
    for (auto& m : Migrations(dialect)) all.push_back(m);
    return all;
}

class OrdersTest : public ::testing::Test {
protected:
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
                             Card{std::move(card), 12, 2031, "123"}};
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

TEST_F(OrdersTest, ConcurrentRetriesWithOneKeyPlaceOneOrder) {
    // Several rounds: each is a race that a missing guard loses only now and then.
    for (int round = 0; round < 5; ++round) {
        ASSERT_TRUE(service_->AddToCart(1, product_.id, 1).ok());
        const std::string key = "one-key-" + std::to_string(round);
        std::vector<Result<std::pair<Order, bool>>> results(8, Error::Conflict("unset", ""));
        std::vector<std::thread> retries;
        retries.reserve(results.size());
        for (std::size_t i = 0; i < results.size(); ++i) {
            retries.emplace_back([&, i] {
                try {
                    results[i] = service_->Checkout(1, Input(), key, "fp");
                } catch (const db::DbError& e) {
                    results[i] = Error::Conflict("database_error", e.what());
                }
            });
        }
        for (auto& t : retries) t.join();
        std::set<std::int64_t> orders;
        int first_answers = 0;
        for (const auto& r : results) {
            ASSERT_TRUE(r.ok()) << r.error().message;
            orders.insert(r->first.id);
            first_answers += r->second ? 0 : 1;
        }
        EXPECT_EQ(orders.size(), 1U);
        EXPECT_EQ(first_answers, 1);
        EXPECT_EQ(Stock(), 10 - round - 1);
    }
}

TEST_F(OrdersTest, ConcurrentCheckoutsOfOneCartPlaceOneOrder) {
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 2).ok());
    // A loser either reads the cart after the winner emptied it (empty cart) or read it before and
    // finds it changed when it comes to write (cart_changed); either way it places nothing.
    std::atomic<int> placed{0}, refused{0};
    std::vector<std::thread> checkouts;
    checkouts.reserve(8);
    for (int i = 0; i < 8; ++i) {
        checkouts.emplace_back([&, i] {
            try {
                auto r = service_->Checkout(1, Input(), "key-" + std::to_string(i), "fp-" + std::to_string(i));
                if (r.ok())
                    ++placed;
                else if ((r.error().code == "validation_failed" && r.error().fields[0].field == "cart") ||
                         r.error().code == "cart_changed")
                    ++refused;
            } catch (const db::DbError& e) {
                ADD_FAILURE() << e.what();
            }
        });
    }
    for (auto& t : checkouts) t.join();
    EXPECT_EQ(placed.load(), 1);
    EXPECT_EQ(refused.load(), 7);
    EXPECT_EQ(Stock(), 8);
}

TEST_F(OrdersTest, ConcurrentAddsOfOneProductSumInOneLine) {
    std::vector<std::thread> adds;
    adds.reserve(8);
    std::atomic<int> ok{0};
    for (int i = 0; i < 8; ++i) {
        adds.emplace_back([&] {
            try {
                ok += service_->AddToCart(1, product_.id, 1).ok() ? 1 : 0;
            } catch (const db::DbError& e) {
                ADD_FAILURE() << e.what();
            }
        });
    }
    for (auto& t : adds) t.join();
    EXPECT_EQ(ok.load(), 8);
    Cart cart = service_->GetCart(1);
    ASSERT_EQ(cart.items.size(), 1U);
    EXPECT_EQ(cart.items[0].quantity, 8);
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

catalog::Product MakeProduct(catalog::CatalogService& catalog, std::string sku, std::int64_t seller,
                             std::string currency = "USD") {
    catalog::ProductDraft d;
    d.sku = std::move(sku);
    d.name = "Product " + *d.sku;
    d.category = "consoles";
    d.price_cents = 1000;
    d.stock = 10;
    d.currency = std::move(currency);
    return catalog.Create(d, seller).value();
}

std::vector<std::string> EventTypes(db::Database& database) {
    auto events = database.Read([](db::Connection& c) { return events::ReadAfter(c, 0, 1000); });
    std::vector<std::string> out;
    for (const auto& e : events) {
        if (e.type.starts_with("order.")) out.push_back(e.type);
    }
    return out;
}

TEST_F(OrdersTest, CartHoldsOneCurrency) {
    catalog::Product euro = MakeProduct(*catalog_, "EURO-1", 7, "EUR");
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 1).ok());
    Result<Cart> mixed = service_->AddToCart(1, euro.id, 1);
    ASSERT_FALSE(mixed.ok());
    EXPECT_EQ(mixed.error().kind, ErrorKind::kConflict);
    EXPECT_EQ(mixed.error().code, "currency_mismatch");
    EXPECT_NE(mixed.error().message.find("EUR"), std::string::npos);
    EXPECT_EQ(service_->GetCart(1).items.size(), 1u);  // nothing added
    EXPECT_EQ(service_->AddToCart(2, euro.id, 2)->currency, "EUR");

    // A seller changing a product's currency afterwards cannot make a mixed checkout either.
    ASSERT_TRUE(service_->AddToCart(1, MakeProduct(*catalog_, "USD-2", 7).id, 1).ok());
    catalog::ProductDraft change;
    change.currency = "EUR";
    ASSERT_TRUE(catalog_->Update(product_.id, change, std::nullopt).ok());
    Cart cart = service_->GetCart(1);
    EXPECT_TRUE(cart.mixed_currencies);
    EXPECT_EQ(cart.total_cents, 49999);  // the EUR line alone: never a sum across currencies
    EXPECT_EQ(service_->Validate(1, Input()).error().code, "currency_mismatch");
    EXPECT_EQ(service_->Checkout(1, Input(), "k", "fp").error().code, "currency_mismatch");
    EXPECT_EQ(Stock(), 10);
}

TEST_F(OrdersTest, CartProblemsCarryCodesAndNumbers) {
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 11).ok());
    Result<Validation> v = service_->Validate(1, Input());
    ASSERT_FALSE(v.ok());
    ASSERT_EQ(v.error().fields.size(), 1u);
    const FieldError& stock = v.error().fields[0];
    EXPECT_EQ(stock.code, "insufficient_stock");
    ASSERT_EQ(stock.params.size(), 1u);
    EXPECT_EQ((std::pair(stock.params[0].name, stock.params[0].value)),
              (std::pair(std::string("available"), std::int64_t{10})));
    ASSERT_TRUE(service_->SetCartQuantity(1, product_.id, 1).ok());
    catalog::ProductDraft change;
    change.price_cents = 45000;
    ASSERT_TRUE(catalog_->Update(product_.id, change, std::nullopt).ok());
    const FieldError price = service_->Validate(1, Input()).error().fields.at(0);
    EXPECT_EQ(price.code, "price_changed");
    ASSERT_EQ(price.params.size(), 2u);
    EXPECT_EQ(price.params[0].value, 49999);
    EXPECT_EQ(price.params[1].value, 45000);
    EXPECT_EQ(service_->Validate(2, Input()).error().fields.at(0).code, "empty");
}

TEST_F(OrdersTest, SellersSeeAndShipOnlyTheirOwnLines) {
    catalog::Product other = MakeProduct(*catalog_, "SELLER-8", 8);
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 1).ok());
    ASSERT_TRUE(service_->AddToCart(1, other.id, 2).ok());
    Order o = service_->Checkout(1, Input(), "k", "fp")->first;
    Principal owner{1, Role::kCustomer}, seller7{7, Role::kSeller}, seller8{8, Role::kSeller};

    Order mine = service_->Get(seller7, o.id).value();
    ASSERT_EQ(mine.items.size(), 1u);
    EXPECT_EQ(mine.items[0].product_id, product_.id);
    EXPECT_EQ(mine.total_cents, 49999);
    EXPECT_EQ(mine.card_last4, "");
    EXPECT_EQ(mine.seller_view, 7);
    EXPECT_EQ(service_->ListForSeller(8, 1, 10).items.at(0).items.size(), 1u);
    EXPECT_EQ(service_->Get(owner, o.id)->items.size(), 2u);

    Order half = service_->Ship(seller7, o.id).value();
    EXPECT_EQ(half.status, OrderStatus::kPlaced);  // seller 8 has not shipped yet
    EXPECT_TRUE(half.items.at(0).shipped_at.has_value());
    EXPECT_EQ(service_->Ship(seller7, o.id).error().code, "invalid_transition");  // not twice
    EXPECT_EQ(service_->Move(owner, o.id, OrderStatus::kCancelled).error().code, "invalid_transition");
    EXPECT_EQ(EventTypes(*database_), (std::vector<std::string>{"order.placed", "order.seller_shipped"}));

    EXPECT_EQ(service_->Move(seller8, o.id, OrderStatus::kShipped)->status, OrderStatus::kShipped);
    EXPECT_EQ(EventTypes(*database_),
              (std::vector<std::string>{"order.placed", "order.seller_shipped", "order.shipped"}));
    Order whole = service_->Get(owner, o.id).value();
    for (const OrderLine& l : whole.items) EXPECT_TRUE(l.shipped_at.has_value());
}

TEST_F(OrdersTest, ReadOnlyStaffCannotMoveOrders) {
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 1).ok());
    Order o = service_->Checkout(1, Input(), "k", "fp")->first;
    Principal read_only{99, Role::kAdmin, 5, {"orders:read"}, true};
    EXPECT_TRUE(service_->Get(read_only, o.id).ok());
    EXPECT_EQ(service_->Move(read_only, o.id, OrderStatus::kCancelled).error().kind, ErrorKind::kNotFound);
    EXPECT_EQ(service_->Ship(read_only, o.id).error().kind, ErrorKind::kNotFound);
    Principal writer{99, Role::kAdmin, 6, {"orders:write"}, true};
    EXPECT_EQ(service_->Move(writer, o.id, OrderStatus::kCancelled)->status, OrderStatus::kCancelled);
}

// The test provider, with a hook that runs inside Authorize (another buyer, a crash, a stall).
class HookedProvider final : public PaymentProvider {
public:
    explicit HookedProvider(const Clock& clock) : inner_(clock) {}
    Result<Authorization> Authorize(const Card& card, std::int64_t amount, const std::string& currency,
                                    const std::string& reference) override {
        last_reference = reference;
        Result<Authorization> auth = inner_.Authorize(card, amount, currency, reference);
        if (hook && card.number == "5555555555554444") hook();
        return auth;
    }
    Status Capture(const std::string& reference) override { return inner_.Capture(reference); }
    Status Void(const std::string& reference) override { return inner_.Void(reference); }
    std::optional<TestPaymentProvider::State> StateOf(const std::string& r) const { return inner_.StateOf(r); }

    std::function<void()> hook;
    std::string last_reference;

private:
    TestPaymentProvider inner_;
};

class PaymentFlowTest : public OrdersTest {
protected:
    void SetUp() override {
        OrdersTest::SetUp();
        service_ = std::make_unique<OrderService>(*database_, *vault_, hooked_, clock_);
    }
    std::string PaymentStatus(const std::string& reference) {
        return database_->Read([&](db::Connection& c) {
            std::string status;
            c.Query("SELECT status FROM payments WHERE reference = ?", {reference},
                    [&](const db::Row& r) { status = r.Text(0); });
            return status;
        });
    }
    HookedProvider hooked_{clock_};
};

TEST_F(PaymentFlowTest, CapturedAfterTheOrderCommits) {
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 1).ok());
    ASSERT_TRUE(service_->Checkout(1, Input(), "k", "fp").ok());
    EXPECT_EQ(hooked_.StateOf(hooked_.last_reference), TestPaymentProvider::State::kCaptured);
    EXPECT_EQ(PaymentStatus(hooked_.last_reference), "captured");
}

TEST_F(PaymentFlowTest, StockGoneWhilePayingVoidsTheAuthorization) {
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 10).ok());
    // While this buyer's card is being authorized, someone else buys the last units.
    hooked_.hook = [&] {
        database_->Write([&](db::Connection& c) { ASSERT_TRUE(catalog::TakeStock(c, product_.id, 5)); });
    };
    auto r = service_->Checkout(1, Input("5555555555554444"), "k", "fp");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "out_of_stock");
    EXPECT_EQ(hooked_.StateOf(hooked_.last_reference), TestPaymentProvider::State::kVoided);
    EXPECT_EQ(PaymentStatus(hooked_.last_reference), "voided");
    EXPECT_EQ(Stock(), 5);  // only the other buyer's take
}

TEST_F(PaymentFlowTest, AFailedCommitVoidsTheAuthorization) {
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 1).ok());
    // The order cannot be written (a broken table: the transaction throws and rolls back).
    hooked_.hook = [&] { database_->Write([](db::Connection& c) { c.Execute("DROP TABLE order_lines"); }); };
    EXPECT_THROW((void)service_->Checkout(1, Input("5555555555554444"), "k", "fp"), db::DbError);
    EXPECT_EQ(hooked_.StateOf(hooked_.last_reference), TestPaymentProvider::State::kVoided);
    EXPECT_EQ(Stock(), 10);
}

TEST_F(PaymentFlowTest, TheCartChangingWhilePayingVoidsTheAuthorization) {
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 1).ok());
    hooked_.hook = [&] { ASSERT_TRUE(service_->AddToCart(1, product_.id, 1).ok()); };
    auto r = service_->Checkout(1, Input("5555555555554444"), "k", "fp");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "cart_changed");
    EXPECT_EQ(hooked_.StateOf(hooked_.last_reference), TestPaymentProvider::State::kVoided);
    EXPECT_EQ(Stock(), 10);
}

TEST_F(PaymentFlowTest, ASlowProviderHoldsUpOnlyItsOwnBuyer) {
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 1).ok());
    ASSERT_TRUE(service_->AddToCart(2, product_.id, 1).ok());
    std::promise<void> entered, release;
    std::shared_future<void> released = release.get_future().share();
    hooked_.hook = [&] {
        entered.set_value();
        released.wait();  // the issuer takes its time
    };
    auto slow =
        std::async(std::launch::async, [&] { return service_->Checkout(1, Input("5555555555554444"), "a", "fa"); });
    entered.get_future().wait();
    // Buyer 1's authorization is in flight: buyer 2 checks out meanwhile, start to finish.
    auto fast = service_->Checkout(2, Input(), "b", "fb");
    ASSERT_TRUE(fast.ok()) << fast.error().message;
    EXPECT_EQ(slow.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
    release.set_value();
    ASSERT_TRUE(slow.get().ok());
    EXPECT_EQ(Stock(), 8);
}

TEST_F(PaymentFlowTest, ReconcilerVoidsOrphansAndFinishesCaptures) {
    // A crash between authorizing and committing: an authorization with no order.
    const std::string orphan = "pay_orphan";
    database_->Write([&](db::Connection& c) {
        c.Execute(
            "INSERT INTO payments (reference, user_id, amount_cents, currency, status, created_at, updated_at)"
            " VALUES (?, 1, 100, 'USD', 'authorizing', ?, ?)",
            {orphan, UnixSeconds(clock_.Now()), UnixSeconds(clock_.Now())});
    });
    ASSERT_TRUE(hooked_.Authorize(Input().card.value(), 100, "USD", orphan).ok());
    // A crash between committing and capturing: an order whose payment is only authorized.
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 1).ok());
    ASSERT_TRUE(service_->Checkout(1, Input(), "k", "fp").ok());
    const std::string committed = hooked_.last_reference;
    database_->Write([&](db::Connection& c) {
        c.Execute("UPDATE payments SET status = 'authorized' WHERE reference = ?", {committed});
    });
    ReconcileReport early = service_->ReconcilePayments(std::chrono::minutes(10));
    EXPECT_EQ(early.voided + early.captured, 0);  // within the grace period: maybe still in flight
    clock_.Advance(std::chrono::minutes(11));
    ReconcileReport report = service_->ReconcilePayments(std::chrono::minutes(10));
    EXPECT_EQ(report.voided, 1);
    EXPECT_EQ(report.captured, 1);
    EXPECT_EQ(hooked_.StateOf(orphan), TestPaymentProvider::State::kVoided);
    EXPECT_EQ(PaymentStatus(orphan), "voided");
    EXPECT_EQ(PaymentStatus(committed), "captured");
    EXPECT_EQ(service_->ReconcilePayments(std::chrono::minutes(10)).voided, 0);
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

namespace emporium::orders {
namespace {

TEST_F(OrdersTest, ASellersCodeTakesItsPercentOffThatSellersLinesOnly) {
    catalog::Product other = MakeProduct(*catalog_, "CODE-8", 8);  // 1,000 cents, seller 8
    Principal seller7{7, Role::kSeller}, admin{1, Role::kAdmin};
    ASSERT_TRUE(service_->CreateCoupon(seller7, "spring-15", 15).ok());
    EXPECT_EQ(service_->CreateCoupon(admin, "SPRING-15", 5).error().code, "duplicate_code");
    Result<Coupon> bad = service_->CreateCoupon(seller7, "x", 95);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().fields.size(), 2u);                  // code and percent_off
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 2).ok());  // 2 x 49,999 = 99,998
    ASSERT_TRUE(service_->AddToCart(1, other.id, 3).ok());     // 3,000, not seller 7's
    CheckoutInput in = Input();
    in.coupon_code = "Spring-15";
    Result<Validation> v = service_->Validate(1, in);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->discount_cents, 15000);  // 14,999.7 rounded half up
    EXPECT_EQ(v->total_cents, 99998 + 3000 - 15000);
    Order o = service_->Checkout(1, in, "code-key", "fp")->first;
    EXPECT_EQ(o.total_cents, 87998);
    EXPECT_EQ(o.coupon_code, "SPRING-15");
    EXPECT_EQ(o.items.at(0).discount_cents + o.items.at(1).discount_cents, 15000);
    // The card was asked for the discounted total.
    EXPECT_EQ(database_->Read([](db::Connection& c) { return c.QueryInt("SELECT amount_cents FROM payments"); }),
              87998);
    // A retired code is refused; someone else's code cannot be retired.
    EXPECT_EQ(service_->RetireCoupon(Principal{8, Role::kSeller}, "SPRING-15").error().kind, ErrorKind::kNotFound);
    ASSERT_TRUE(service_->RetireCoupon(seller7, "spring-15").ok());
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 1).ok());
    Result<Validation> retired = service_->Validate(1, in);
    ASSERT_FALSE(retired.ok());
    EXPECT_EQ(retired.error().fields.at(0).code, "unknown_coupon");
    EXPECT_EQ(LineDiscount(1000, 25), 250);
    EXPECT_EQ(LineDiscount(999, 10), 100);  // 99.9
    EXPECT_EQ(LineDiscount(994, 10), 99);   // 99.4
}

TEST_F(OrdersTest, PartialRefundsPayBackUnitsOrAmountsAndNeverMoreThanWasPaid) {
    catalog::Product other = MakeProduct(*catalog_, "REFUND-8", 8);
    ASSERT_TRUE(service_->AddToCart(1, product_.id, 3).ok());  // 3 x 49,999
    ASSERT_TRUE(service_->AddToCart(1, other.id, 1).ok());
    Order o = service_->Checkout(1, Input(), "refund-key", "fp")->first;
    Principal seller7{7, Role::kSeller}, seller8{8, Role::kSeller}, owner{1, Role::kCustomer}, admin{2, Role::kAdmin};

    // One unit of three: a third of the line, rounded down; the last unit takes the remainder.
    Order after = service_->RefundLines(seller7, o.id, {{product_.id, 1, std::nullopt}}).value();
    EXPECT_EQ(after.items.at(0).refunded_cents, 49999);
    EXPECT_EQ(after.items.at(0).refunded_quantity, 1);
    Result<Order> too_many = service_->RefundLines(seller7, o.id, {{product_.id, 3, std::nullopt}});
    ASSERT_FALSE(too_many.ok());
    EXPECT_EQ(too_many.error().fields.at(0).code, "too_many");
    EXPECT_EQ(service_->RefundLines(seller7, o.id, {{product_.id, 0, 99999}}).error().fields.at(0).code, "too_much");
    // A seller cannot refund another seller's line; the owner cannot refund at all.
    EXPECT_EQ(service_->RefundLines(seller8, o.id, {{product_.id, 1, std::nullopt}}).error().fields.at(0).code,
              "not_in_order");
    EXPECT_EQ(service_->RefundLines(owner, o.id, {{product_.id, 1, std::nullopt}}).error().kind, ErrorKind::kNotFound);
    EXPECT_EQ(service_->RefundLines(seller7, o.id, {{product_.id, 0, std::nullopt}}).error().fields.at(0).code,
              "nothing_to_refund");
    // An amount without units.
    after = service_->RefundLines(admin, o.id, {{product_.id, 0, 1}}).value();
    EXPECT_EQ(after.items.at(0).refunded_cents, 50000);
    // Cancelling pays back what is left of every line: 149,997 - 50,000 on the first, 1,000 on the other.
    ASSERT_TRUE(service_->Move(owner, o.id, OrderStatus::kCancelled).ok());
    std::vector<RefundFact> refunds = database_->Read([](db::Connection& c) { return ReadRefundFacts(c, {}); });
    ASSERT_EQ(refunds.size(), 4u);
    EXPECT_EQ(refunds[2].kind, "cancel");
    EXPECT_EQ(refunds[2].amount_cents + refunds[3].amount_cents, 99997 + 1000);
    EXPECT_EQ(refunds[2].quantity + refunds[3].quantity, 2 + 1);
    std::int64_t paid_back = 0;
    for (const RefundFact& r : refunds) paid_back += r.amount_cents;
    EXPECT_EQ(paid_back, o.total_cents);
    EXPECT_EQ(service_->RefundLines(admin, o.id, {{other.id, 0, 1}}).error().code, "invalid_transition");
    // The events carry the same facts as the tables.
    std::vector<events::Event> all = database_->Read([](db::Connection& c) { return events::ReadAfter(c, 0, 100); });
    std::vector<RefundFact> from_events;
    for (const events::Event& e : all) {
        for (RefundFact& r : RefundFactsOf(e.type, e.payload_json, e.created_at)) from_events.push_back(r);
    }
    ASSERT_EQ(from_events.size(), refunds.size());
    for (std::size_t i = 0; i < refunds.size(); ++i) {
        EXPECT_EQ(from_events[i].refund_id, refunds[i].refund_id);
        EXPECT_EQ(from_events[i].amount_cents, refunds[i].amount_cents);
        EXPECT_EQ(from_events[i].category_id, refunds[i].category_id);
        EXPECT_EQ(from_events[i].at, refunds[i].at);
    }
    auto placed = std::find_if(all.begin(), all.end(), [](const events::Event& e) { return e.type == "order.placed"; });
    ASSERT_NE(placed, all.end());
    std::vector<SaleFact> sold = SaleFactsOf(placed->type, placed->payload_json, placed->created_at);
    std::vector<SaleFact> stored = database_->Read([](db::Connection& c) { return ReadSaleFacts(c, {}); });
    ASSERT_EQ(sold.size(), stored.size());
    for (std::size_t i = 0; i < sold.size(); ++i) {
        EXPECT_EQ(sold[i].gross_cents, stored[i].gross_cents);
        EXPECT_EQ(sold[i].category_id, stored[i].category_id);
        EXPECT_NE(sold[i].category_id, 0);
        EXPECT_EQ(sold[i].name, stored[i].name);
    }
}

}  // namespace
}  // namespace emporium::orders
