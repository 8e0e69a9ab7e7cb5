#include "analytics/analytics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>

#include "catalog/seed.h"
#include "db/testing.h"
#include "events/dispatcher.h"
#include "events/outbox.h"
#include "orders/orders.h"

namespace emporium::analytics {
namespace {

std::vector<db::Migration> AllMigrations() {
    const db::Dialect d = db::TestDialect();  // the same tests on SQLite and PostgreSQL
    std::vector<db::Migration> all = catalog::Migrations(d);
    for (auto& m : events::Migrations(d)) all.push_back(m);
    for (auto& m : orders::Migrations(d)) all.push_back(m);
    for (auto& m : Migrations(d)) all.push_back(m);
    return all;
}

constexpr std::int64_t kSellerA = 7;      // New York
constexpr std::int64_t kSellerB = 8;      // Berlin
constexpr std::int64_t kT0 = 1772884800;  // 2026-03-07T12:00:00Z
constexpr std::int64_t kHour = 3600;

std::int64_t Day(const char* text) {
    return *ParseDay(text);
}

// The proof fixture: 62 orders over two sellers in two time zones (America/New_York, whose
// clocks go forward on 2026-03-08, and Europe/Berlin), the shop in UTC; shared orders, a shop
// code and a seller's code, two cancellations, partial refunds by units and by amount, and a
// whole refund. Every expected figure below was worked out by hand (see the comments), not by
// the code under test.
//
// Orders k = 0..59 are placed hourly from 2026-03-07T12:00Z by customer 1000 + k % 20:
//   every order: 1 x A1 ($100.00, seller A); k even: also 2 x B1 ($40.00, seller B);
//   k % 4 == 1: also 3 x A2 ($25.00, seller A);
//   k % 10 == 0: code SAVE10 (the shop's, 10% off every line); k % 10 == 5: code ASALE25 (A's,
//   25% off A's lines).
// Two earlier orders (2026-03-04, new customers, 1 x A1 each) make the previous period.
// Afterwards: k=3 cancelled 17:30Z Mar 7; k=33 cancelled 02:30Z Mar 9 (22:30 Mar 8 in New York);
// k=10: admin refunds 1 unit of B1 at 12:10Z Mar 9; k=20: A refunds $15.00 of A1 at 12:20Z Mar 9;
// k=50: both ship, admin refunds it whole at 22:30Z Mar 9; k=4: B refunds 1 unit of B1 at
// 10:00Z Mar 10.
class ProofFixtureTest : public ::testing::Test {
protected:
    void SetUp() override {
        catalog_ = std::make_unique<catalog::CatalogService>(*database_, clock_);
        ASSERT_TRUE(catalog::SeedCatalog(*database_, *catalog_, {"games", 3, 5, {99}}, nullptr).ok());
        std::vector<catalog::Category> categories = catalog_->Categories().value();
        ASSERT_GE(categories.size(), 3U);
        a1_ = Product("A1", "Arcade Cabinet", categories[0], 10000, kSellerA);
        a2_ = Product("A2", "=SUM(A1:A9) Joystick", categories[1], 2500, kSellerA);
        b1_ = Product("B1", "Board Game, \"Deluxe\"", categories[2], 4000, kSellerB);
        cat_a1_ = categories[0].id;
        cat_a2_ = categories[1].id;
        cat_b1_ = categories[2].id;
        vault_ = accounts::PiiVault::Open({"", "", (database_.dir() / "pii.keys").string()});
        orders_ = std::make_unique<orders::OrderService>(*database_, *vault_, payments_, clock_);
        analytics_ = std::make_unique<AnalyticsService>(*database_, *catalog_, clock_);
        orders_->OnCartAdded([this](std::int64_t id) { analytics_->CountCart(id); });
        dispatcher_ =
            std::make_unique<events::Dispatcher>(*database_, clock_, MakeLogger("error"), events::DispatcherOptions{});
        dispatcher_->Add({"analytics", {"order.*"}, [this](const events::Event& e) { return analytics_->OnEvent(e); }});
        ASSERT_TRUE(analytics_->SetTimeZone(kSellerA, "America/New_York").ok());
        ASSERT_TRUE(analytics_->SetTimeZone(kSellerB, "Europe/Berlin").ok());
        ASSERT_TRUE(orders_->CreateCoupon(admin_, "SAVE10", 10).ok());
        ASSERT_TRUE(orders_->CreateCoupon(Seller(kSellerA), "asale25", 25).ok());
        Play();
    }

    std::int64_t Product(const char* sku, const char* name, const catalog::Category& category, std::int64_t price,
                         std::int64_t seller) {
        catalog::ProductDraft d;
        d.sku = sku;
        d.name = name;
        d.category = category.slug;
        d.price_cents = price;
        d.stock = 1000;
        Result<catalog::Product> p = catalog_->Create(d, seller);
        EXPECT_TRUE(p.ok());
        return p->id;
    }

    static Principal Seller(std::int64_t id) { return Principal{id, Role::kSeller, 0, {}, false}; }
    static Principal Customer(std::int64_t id) { return Principal{id, Role::kCustomer, 0, {}, false}; }

    void At(std::int64_t unix_seconds) {
        const std::int64_t now = UnixSeconds(clock_.Now());
        ASSERT_GE(unix_seconds, now);
        clock_.Advance(std::chrono::seconds(unix_seconds - now));
    }

    std::int64_t Place(std::int64_t user, const std::vector<std::pair<std::int64_t, std::int64_t>>& lines,
                       std::string coupon) {
        for (auto [product, quantity] : lines) EXPECT_TRUE(orders_->AddToCart(user, product, quantity).ok());
        orders::CheckoutInput in{Address{"Ada", "1 Main Street", "", "Singapore", "123456", "SG"}, "+6591234567",
                                 orders::Card{"4242424242424242", 12, 2031, "123"}, std::move(coupon)};
        const std::int64_t key = ++keys_;
        auto placed = orders_->Checkout(user, in, "key-" + std::to_string(key), "fp-" + std::to_string(key));
        EXPECT_TRUE(placed.ok()) << (placed.ok() ? "" : placed.error().message);
        dispatcher_->Pump();
        return placed.ok() ? placed->first.id : 0;
    }

    void Play() {
        At(kT0 - 72 * kHour);  // 2026-03-04T12:00Z
        Place(2000, {{a1_, 1}}, "");
        At(kT0 - 72 * kHour + kHour);
        Place(2001, {{a1_, 1}}, "");
        struct Later {
            std::int64_t at;
            std::function<void()> act;
        };
        std::vector<Later> later = {
            {kT0 + 5 * kHour + 1800,
             [&] { Expect(orders_->Move(Customer(1003), ids_[3], orders::OrderStatus::kCancelled)); }},
            {kT0 + 38 * kHour + 1800,
             [&] { Expect(orders_->Move(Customer(1013), ids_[33], orders::OrderStatus::kCancelled)); }},
            {kT0 + 48 * kHour + 600,
             [&] {
                 Expect(orders_->RefundLines(admin_, ids_[10], {{b1_, 1, std::nullopt}}));
             }},
            {kT0 + 48 * kHour + 1200,
             [&] {
                 Expect(orders_->RefundLines(Seller(kSellerA), ids_[20], {{a1_, 0, 1500}}));
             }},
            {kT0 + 56 * kHour, [&] { Expect(orders_->Ship(Seller(kSellerA), ids_[50])); }},
            {kT0 + 57 * kHour, [&] { Expect(orders_->Ship(Seller(kSellerB), ids_[50])); }},
            {kT0 + 58 * kHour + 1800, [&] { Expect(orders_->Move(admin_, ids_[50], orders::OrderStatus::kRefunded)); }},
            {kT0 + 70 * kHour,
             [&] {
                 Expect(orders_->RefundLines(Seller(kSellerB), ids_[4], {{b1_, 1, std::nullopt}}));
             }},
        };
        std::size_t next = 0;
        for (int k = 0; k < 60; ++k) {
            const std::int64_t placed_at = kT0 + k * kHour;
            for (; next < later.size() && later[next].at < placed_at; ++next) Run(later[next]);
            At(placed_at);
            std::vector<std::pair<std::int64_t, std::int64_t>> lines{{a1_, 1}};
            if (k % 2 == 0) lines.push_back({b1_, 2});
            if (k % 4 == 1) lines.push_back({a2_, 3});
            ids_.push_back(Place(1000 + k % 20, lines, k % 10 == 0 ? "SAVE10" : k % 10 == 5 ? "ASALE25" : ""));
        }
        for (; next < later.size(); ++next) Run(later[next]);
        for (int i = 0; i < 200; ++i) analytics_->CountView(a1_);
        for (int i = 0; i < 100; ++i) analytics_->CountView(a2_);
        for (int i = 0; i < 50; ++i) analytics_->CountView(b1_);
        analytics_->CountView(987654);  // no such product: counted nowhere
        analytics_->Flush();
    }
    template <typename L>
    void Run(const L& l) {
        At(l.at);
        l.act();
        dispatcher_->Pump();
    }
    template <typename R>
    static void Expect(const R& r) {
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    }

    Figures Sum(std::int64_t seller, const char* from, const char* to) {
        return analytics_->Summary({seller, "USD"}, {Day(from), Day(to)});
    }

    // Every rollup row, in key order: what the incremental run and a rebuild must agree on.
    std::vector<std::string> Rows() {
        std::vector<std::string> out;
        const std::pair<const char*, int> tables[] = {
            {"SELECT * FROM analytics_days ORDER BY 1, 2, 3", 11},
            {"SELECT * FROM analytics_hours ORDER BY 1, 2, 3", 11},
            {"SELECT * FROM analytics_products ORDER BY 1, 2, 3, 4, 5", 13},
            {"SELECT * FROM analytics_product_weeks ORDER BY 1, 2, 3, 4, 5", 13},
            {"SELECT * FROM analytics_product_months ORDER BY 1, 2, 3, 4, 5", 13},
            {"SELECT * FROM analytics_product_totals ORDER BY 1, 2, 3, 4", 12},
            {"SELECT * FROM analytics_totals ORDER BY 1", 9},
            {"SELECT * FROM analytics_customers ORDER BY 1, 2", 3}};
        database_->Read([&](db::Connection& c) {
            for (const auto& [sql, columns] : tables) {
                c.Query(sql, {}, [&, sql = sql, columns = columns](const db::Row& r) {
                    std::string line = sql;
                    for (int i = 0; i < columns; ++i) line += "|" + std::string(r.Text(i));
                    out.push_back(line);
                });
            }
        });
        return out;
    }

    ManualClock clock_{std::chrono::system_clock::from_time_t(1'772'000'000)};
    db::TempDatabase database_{AllMigrations()};
    orders::TestPaymentProvider payments_{clock_};
    std::unique_ptr<accounts::PiiVault> vault_;
    std::unique_ptr<catalog::CatalogService> catalog_;
    std::unique_ptr<orders::OrderService> orders_;
    std::unique_ptr<AnalyticsService> analytics_;
    std::unique_ptr<events::Dispatcher> dispatcher_;
    Principal admin_{1, Role::kAdmin, 0, {}, false};
    std::int64_t a1_ = 0, a2_ = 0, b1_ = 0, cat_a1_ = 0, cat_a2_ = 0, cat_b1_ = 0;
    std::vector<std::int64_t> ids_;
    int keys_ = 0;
};

TEST_F(ProofFixtureTest, SellerAInNewYorkMatchesTheHandCount) {
    // 60 x A1 = 600,000; 15 x 3 x A2 = 112,500. Discounts: SAVE10 on A1 six times (6,000),
    // ASALE25 on A1 six times (15,000) and on A2 three times (3 x 1,875). Refunds: k=3 10,000;
    // k=33 10,000 + 7,500; k=20 1,500; k=50 what was left of A1 (9,000).
    Figures a = Sum(kSellerA, "2026-03-07", "2026-03-10");
    EXPECT_EQ(a.gross_cents, 712500);
    EXPECT_EQ(a.discounts_cents, 26625);
    EXPECT_EQ(a.refunds_cents, 38000);
    EXPECT_EQ(a.net_cents(), 647875);
    EXPECT_EQ(a.orders, 60);
    EXPECT_EQ(a.returning_orders, 40);  // each customer's orders 2 and 3
    EXPECT_EQ(a.units_sold, 105);
    EXPECT_EQ(a.units_refunded, 6);
    EXPECT_EQ(a.units(), 99);
    EXPECT_EQ(a.refunds, 5);
    EXPECT_EQ(a.average_order_cents(), 10798);  // 647,875 / 60 = 10,797.92
    EXPECT_NEAR(a.returning_rate(), 40.0 / 60.0, 1e-12);

    // New York days: Mar 7 holds k=0..16 (its midnight is 05:00Z); Mar 8 has 23 hours, k=17..39;
    // Mar 9 holds k=40..59; Mar 10 is empty and still listed.
    std::vector<Period> days =
        analytics_->Sales({kSellerA, "USD"}, {Day("2026-03-07"), Day("2026-03-10")}, Granularity::kDay);
    ASSERT_EQ(days.size(), 4U);
    EXPECT_EQ(days[0].label, "2026-03-07");
    EXPECT_EQ(days[0].figures.orders, 17);
    EXPECT_EQ(days[0].figures.gross_cents, 200000);
    EXPECT_EQ(days[0].figures.discounts_cents, 8875);
    EXPECT_EQ(days[0].figures.refunds_cents, 10000);
    EXPECT_EQ(days[0].figures.net_cents(), 181125);
    EXPECT_EQ(days[0].figures.units(), 28);
    EXPECT_EQ(days[1].figures.orders, 23);
    EXPECT_EQ(days[1].figures.gross_cents, 275000);
    EXPECT_EQ(days[1].figures.refunds_cents, 17500);  // k=33's cancellation, on New York's Mar 8
    EXPECT_EQ(days[1].figures.net_cents(), 248625);
    EXPECT_EQ(days[1].figures.units(), 37);
    EXPECT_EQ(days[2].figures.orders, 20);
    EXPECT_EQ(days[2].figures.net_cents(), 218125);
    EXPECT_EQ(days[2].figures.units(), 34);
    EXPECT_EQ(days[3].label, "2026-03-10");
    EXPECT_EQ(days[3].figures, Figures{});

    // Mar 8 in hours: 23 of them, 02:00 never happened; their sum is the day's.
    std::vector<Period> hours =
        analytics_->Sales({kSellerA, "USD"}, {Day("2026-03-08"), Day("2026-03-08")}, Granularity::kHour);
    ASSERT_EQ(hours.size(), 23U);
    EXPECT_EQ(hours[0].label, "2026-03-08T00:00:00-05:00");
    EXPECT_EQ(hours[1].label, "2026-03-08T01:00:00-05:00");
    EXPECT_EQ(hours[2].label, "2026-03-08T03:00:00-04:00");
    std::int64_t net = 0, orders = 0;
    for (const Period& h : hours) {
        net += h.figures.net_cents();
        orders += h.figures.orders;
        EXPECT_LE(h.figures.orders, 1);
    }
    EXPECT_EQ(net, 248625);
    EXPECT_EQ(orders, 23);
}

TEST_F(ProofFixtureTest, SellerBInBerlinSeesOnlyTheirLinesOfSharedOrders) {
    // 30 orders x 2 x B1 = 240,000; SAVE10 six times 800; refunds k=4 4,000, k=10 3,600 (half
    // of 7,200), k=50 7,200.
    Figures b = Sum(kSellerB, "2026-03-07", "2026-03-10");
    EXPECT_EQ(b.gross_cents, 240000);
    EXPECT_EQ(b.discounts_cents, 4800);
    EXPECT_EQ(b.refunds_cents, 14800);
    EXPECT_EQ(b.net_cents(), 220400);
    EXPECT_EQ(b.orders, 30);
    EXPECT_EQ(b.returning_orders, 20);
    EXPECT_EQ(b.units(), 56);
    EXPECT_EQ(b.average_order_cents(), 7347);  // 220,400 / 30 = 7,346.67
    std::vector<Period> days =
        analytics_->Sales({kSellerB, "USD"}, {Day("2026-03-07"), Day("2026-03-10")}, Granularity::kDay);
    ASSERT_EQ(days.size(), 4U);
    // Berlin's midnights are 23:00Z: Mar 7 holds k=0..10, Mar 8 k=11..34, Mar 9 k=35..58.
    EXPECT_EQ(days[0].figures.orders, 6);
    EXPECT_EQ(days[0].figures.net_cents(), 46400);
    EXPECT_EQ(days[1].figures.orders, 12);
    EXPECT_EQ(days[1].figures.net_cents(), 94400);
    EXPECT_EQ(days[2].figures.orders, 12);
    EXPECT_EQ(days[2].figures.net_cents(), 83600);
    EXPECT_EQ(days[2].figures.units(), 21);
    // The refund of k=4 sits on its own day, a negative entry; the sale's day is untouched.
    EXPECT_EQ(days[3].figures.orders, 0);
    EXPECT_EQ(days[3].figures.net_cents(), -4000);
    EXPECT_EQ(days[3].figures.units(), -1);
    // Products and categories: B's only.
    std::vector<ProductFigures> top =
        analytics_->Products({kSellerB, "USD"}, {Day("2026-03-07"), Day("2026-03-10")}, 10, ProductOrder::kNet);
    ASSERT_EQ(top.size(), 1U);
    EXPECT_EQ(top[0].product_id, b1_);
    EXPECT_EQ(top[0].figures.net_cents(), 220400);
    EXPECT_EQ(Sum(kSellerB, "2026-03-04", "2026-03-06"), Figures{});
}

TEST_F(ProofFixtureTest, TheShopInUtcCountsSharedOrdersOnce) {
    Figures s = Sum(kShop, "2026-03-07", "2026-03-10");
    EXPECT_EQ(s.gross_cents, 952500);
    EXPECT_EQ(s.discounts_cents, 31425);
    EXPECT_EQ(s.refunds_cents, 52800);
    EXPECT_EQ(s.net_cents(), 868275);
    EXPECT_EQ(s.orders, 60);
    EXPECT_EQ(s.returning_orders, 40);
    EXPECT_EQ(s.units(), 155);
    EXPECT_EQ(s.refunds, 8);
    EXPECT_EQ(s.average_order_cents(), 14471);  // 868,275 / 60 = 14,471.25
    std::vector<Period> days =
        analytics_->Sales({kShop, "USD"}, {Day("2026-03-07"), Day("2026-03-10")}, Granularity::kDay);
    ASSERT_EQ(days.size(), 4U);
    EXPECT_EQ(days[0].figures.net_cents(), 172525);
    EXPECT_EQ(days[1].figures.net_cents(), 368025);
    EXPECT_EQ(days[2].figures.net_cents(), 331725);  // k=33's cancellation is Mar 9 in UTC
    EXPECT_EQ(days[3].figures.net_cents(), -4000);
    // One month, one ISO week from Monday Mar 9 (Mar 7-8 are the week before), one quarter, one year.
    EXPECT_EQ(analytics_->Sales({kShop, "USD"}, {Day("2026-03-07"), Day("2026-03-10")}, Granularity::kMonth).size(),
              1U);
    std::vector<Period> weeks =
        analytics_->Sales({kShop, "USD"}, {Day("2026-03-07"), Day("2026-03-10")}, Granularity::kWeek);
    ASSERT_EQ(weeks.size(), 2U);
    EXPECT_EQ(weeks[0].label, "2026-03-02");
    EXPECT_EQ(weeks[0].figures.net_cents(), 172525 + 368025);
    EXPECT_EQ(weeks[1].label, "2026-03-09");
    EXPECT_EQ(analytics_->Sales({kShop, "USD"}, {Day("2026-03-07"), Day("2026-03-10")}, Granularity::kHour).size(),
              96U);
    // Categories add up to the shop: A1's, A2's and B1's.
    std::vector<CategoryFigures> cats = analytics_->Categories({kShop, "USD"}, {Day("2026-03-07"), Day("2026-03-10")});
    ASSERT_EQ(cats.size(), 3U);
    EXPECT_EQ(cats[0].category_id, cat_a1_);
    EXPECT_EQ(cats[0].figures.net_cents(), 548500);
    EXPECT_EQ(cats[1].category_id, cat_b1_);
    EXPECT_EQ(cats[1].figures.net_cents(), 220400);
    EXPECT_EQ(cats[2].category_id, cat_a2_);
    EXPECT_EQ(cats[2].figures.net_cents(), 99375);
    // Another currency has nothing.
    EXPECT_EQ(analytics_->Summary({kShop, "EUR"}, {Day("2026-03-07"), Day("2026-03-10")}), Figures{});
    EXPECT_EQ(analytics_->Currencies(kShop, {Day("2026-03-07"), Day("2026-03-10")}), std::vector<std::string>{"USD"});
}

TEST_F(ProofFixtureTest, ProductsSellThroughFunnelAndThePreviousPeriod) {
    std::vector<ProductFigures> top =
        analytics_->Products({kSellerA, "USD"}, {Day("2026-03-07"), Day("2026-03-10")}, 10, ProductOrder::kNet);
    ASSERT_EQ(top.size(), 2U);
    EXPECT_EQ(top[0].product_id, a1_);
    EXPECT_EQ(top[0].name, "Arcade Cabinet");
    EXPECT_EQ(top[0].figures.net_cents(), 548500);
    EXPECT_EQ(top[0].figures.units(), 57);
    EXPECT_EQ(top[0].figures.orders, 60);
    EXPECT_EQ(top[1].product_id, a2_);
    EXPECT_EQ(top[1].figures.net_cents(), 99375);
    EXPECT_EQ(top[1].figures.units(), 42);
    // Ranges past the days with figures: Mar 5 to Apr 30 is the products' lifetime less Mar 4
    // (the two early orders, 20,000).
    std::vector<ProductFigures> spring =
        analytics_->Products({kSellerA, "USD"}, {Day("2026-03-05"), Day("2026-04-30")}, 10, ProductOrder::kNet);
    ASSERT_EQ(spring.size(), 2U);
    EXPECT_EQ(spring[0].figures.net_cents(), 548500);
    EXPECT_EQ(spring[1].figures.net_cents(), 99375);
    std::vector<ProductFigures> march =
        analytics_->Products({kSellerA, "USD"}, {Day("2026-03-02"), Day("2026-03-31")}, 10, ProductOrder::kNet);
    EXPECT_EQ(march.at(0).figures.net_cents(), 548500 + 20000);
    EXPECT_EQ(march.at(0).figures.units(), 57 + 2);
    EXPECT_TRUE(analytics_->Products({kSellerA, "USD"}, {Day("2026-03-11"), Day("2026-04-30")}, 10, ProductOrder::kNet)
                    .empty());
    // Refunded products: A1 (30,500) before A2 (7,500).
    std::vector<ProductFigures> refunded =
        analytics_->Products({kSellerA, "USD"}, {Day("2026-03-07"), Day("2026-03-10")}, 10, ProductOrder::kRefunds);
    ASSERT_EQ(refunded.size(), 2U);
    EXPECT_EQ(refunded[0].figures.refunds_cents, 30500);
    EXPECT_EQ(refunded[1].figures.refunds_cents, 7500);
    // Stock now: A1 1000 - 62 sold + 2 back from cancellations; A2 1000 - 45 + 3.
    std::vector<SellThrough> st =
        analytics_->SellThroughOf({kSellerA, "USD"}, {Day("2026-03-07"), Day("2026-03-10")}, 10);
    ASSERT_EQ(st.size(), 2U);
    EXPECT_EQ(st[0].units, 57);
    EXPECT_EQ(st[0].stock, 940);
    EXPECT_NEAR(st[0].rate, 57.0 / 997.0, 1e-12);
    EXPECT_EQ(st[1].units, 42);
    EXPECT_EQ(st[1].stock, 958);
    // The funnel's counts were flushed on Mar 10 (New York): 300 views of A's products, 77 adds
    // (62 x A1, 15 x A2), 60 orders in the range.
    Funnel f = analytics_->FunnelOf(kSellerA, {Day("2026-03-07"), Day("2026-03-10")});
    EXPECT_EQ(f.views, 300);
    EXPECT_EQ(f.carts, 77);
    EXPECT_EQ(f.orders, 60);
    Funnel shop = analytics_->FunnelOf(kShop, {Day("2026-03-07"), Day("2026-03-10")});
    EXPECT_EQ(shop.views, 350);
    EXPECT_EQ(shop.carts, 107);
    // The previous four days hold the two early orders.
    Figures before = Sum(kSellerA, "2026-03-03", "2026-03-06");
    EXPECT_EQ(before.orders, 2);
    EXPECT_EQ(before.net_cents(), 20000);
    EXPECT_EQ(before.returning_orders, 0);
}

// The whole shop's product reports are read from the shop's own rows, not added up from the
// sellers': over a range holding every figure (so that the sellers' time zones and the shop's
// bucket the same facts), they are the sum of the sellers' reports.
TEST_F(ProofFixtureTest, TheWholeShopsProductReportsAreTheSumOfTheSellers) {
    const DayRange all{Day("2026-02-01"), Day("2026-04-30")};
    std::map<std::int64_t, Figures> sellers;
    std::map<std::int64_t, Figures> seller_categories;
    std::map<std::int64_t, std::int64_t> seller_sold;
    for (std::int64_t seller : {kSellerA, kSellerB}) {
        for (const ProductFigures& p : analytics_->Products({seller, "USD"}, all, 100, ProductOrder::kNet)) {
            EXPECT_TRUE(sellers.emplace(p.product_id, p.figures).second) << "a product of two sellers";
        }
        for (const CategoryFigures& k : analytics_->Categories({seller, "USD"}, all)) {
            seller_categories[k.category_id] += k.figures;
        }
        for (const SellThrough& s : analytics_->SellThroughOf({seller, "USD"}, all, 100))
            seller_sold[s.product_id] = s.units;
    }
    ASSERT_EQ(sellers.size(), 3U);
    std::map<std::int64_t, Figures> shop;
    for (const ProductFigures& p : analytics_->Products({kShop, "USD"}, all, 100, ProductOrder::kNet)) {
        shop[p.product_id] = p.figures;
    }
    EXPECT_EQ(shop, sellers);
    std::map<std::int64_t, Figures> shop_categories;
    for (const CategoryFigures& k : analytics_->Categories({kShop, "USD"}, all))
        shop_categories[k.category_id] = k.figures;
    EXPECT_EQ(shop_categories, seller_categories);
    std::map<std::int64_t, std::int64_t> shop_sold;
    for (const SellThrough& s : analytics_->SellThroughOf({kShop, "USD"}, all, 100)) shop_sold[s.product_id] = s.units;
    EXPECT_EQ(shop_sold, seller_sold);
    // And the sum is the hand count: A1 62 units sold less 5 back, A2 45 less 3, B1 60 less 4.
    EXPECT_EQ(shop[a1_].units(), 57 + 2);
    EXPECT_EQ(shop[a2_].units(), 42);
    EXPECT_EQ(shop[b1_].units(), 56);
}

// The lag as the database tells it (what a web node reports when a worker applies the events):
// the oldest order event past the newest applied one.
TEST_F(ProofFixtureTest, TheOldestUnappliedEventIsReadFromTheDatabase) {
    EXPECT_EQ(analytics_->OldestUnapplied(), std::nullopt);  // the fixture's events are all applied
    const std::int64_t placed_at = kT0 + 80 * kHour;         // Mar 10 in UTC
    At(placed_at);
    const std::int64_t before = Sum(kShop, "2026-03-10", "2026-03-10").gross_cents;
    ASSERT_TRUE(orders_->AddToCart(3000, a1_, 1).ok());
    orders::CheckoutInput in{Address{"Ada", "1 Main Street", "", "Singapore", "123456", "SG"}, "+6591234567",
                             orders::Card{"4242424242424242", 12, 2031, "123"}, ""};
    ASSERT_TRUE(orders_->Checkout(3000, in, "key-lag", "fp-lag").ok());  // not delivered yet
    At(placed_at + 30);
    // An event without figures (as a cancellation before payment would be) waits as well, and a
    // type the reports never read does not.
    const std::int64_t empty_id = database_->Write([&](db::Connection& c) {
        events::Append(c, "order.shipped", "1", "{}", placed_at + 30);
        return events::Append(c, "order.cancelled", "1", "{}", placed_at + 30);
    });
    EXPECT_EQ(analytics_->OldestUnapplied(), placed_at);
    dispatcher_->Pump();
    EXPECT_EQ(analytics_->OldestUnapplied(), std::nullopt);
    EXPECT_EQ(Sum(kShop, "2026-03-10", "2026-03-10").gross_cents, before + 10000);
    std::vector<events::Event> empty =
        database_->Read([&](db::Connection& c) { return events::ReadAfter(c, empty_id - 1, 1); });
    ASSERT_EQ(empty.size(), 1U);
    EXPECT_EQ(empty[0].type, "order.cancelled");
    EXPECT_EQ(database_->Read([&](db::Connection& c) {
        return c.QueryInt("SELECT COUNT(*) FROM analytics_applied WHERE event_id = ?", {empty_id});
    }),
              1);
}

// The demo seed's funnel: views >= adds to cart >= orders on each day, for the shop and for each
// seller; the sellers' counts add up to the shop's; the same seed gives the same rows.
TEST_F(ProofFixtureTest, TheSeededFunnelNarrowsFromViewsToOrders) {
    auto funnel_rows = [&] {
        std::vector<std::string> out;
        database_->Read([&](db::Connection& c) {
            c.Query("SELECT seller_id, day, product_id, views, carts FROM analytics_funnel ORDER BY 1, 2, 3", {},
                    [&](const db::Row& r) {
                        std::string line;
                        for (int i = 0; i < 5; ++i) line += std::string(r.Text(i)) + " ";
                        out.push_back(line);
                    });
        });
        return out;
    };
    analytics_->SeedFunnel(5);
    const std::vector<std::string> seeded = funnel_rows();
    ASSERT_FALSE(seeded.empty());
    std::int64_t days_with_orders = 0;
    for (std::int64_t seller : {kShop, kSellerA, kSellerB}) {
        for (std::int64_t day = Day("2026-03-03"); day <= Day("2026-03-11"); ++day) {
            const Funnel f = analytics_->FunnelOf(seller, {day, day});
            EXPECT_GE(f.views, f.carts) << seller << " " << FormatDay(day);
            EXPECT_GE(f.carts, f.orders) << seller << " " << FormatDay(day);
            if (f.orders > 0) {
                ++days_with_orders;
                EXPECT_GT(f.views, f.carts);
            }
        }
    }
    // Days with orders: the shop (UTC) and A (New York) Mar 4, 7, 8, 9; B (Berlin, B1 only in
    // even k, the last at 23:00 Mar 9) Mar 7, 8, 9.
    EXPECT_EQ(days_with_orders, 4 + 4 + 3);
    const DayRange all{Day("2026-03-01"), Day("2026-03-31")};
    const Funnel shop = analytics_->FunnelOf(kShop, all);
    EXPECT_EQ(shop.orders, 62);
    EXPECT_EQ(shop.views, analytics_->FunnelOf(kSellerA, all).views + analytics_->FunnelOf(kSellerB, all).views);
    EXPECT_EQ(shop.carts, analytics_->FunnelOf(kSellerA, all).carts + analytics_->FunnelOf(kSellerB, all).carts);
    analytics_->SeedFunnel(5);
    EXPECT_EQ(funnel_rows(), seeded);
    analytics_->SeedFunnel(6);
    EXPECT_NE(funnel_rows(), seeded);
}

TEST_F(ProofFixtureTest, ReplayingEveryEventChangesNothing) {
    const std::vector<std::string> once = Rows();
    ASSERT_FALSE(once.empty());
    std::vector<events::Event> all = database_->Read([](db::Connection& c) { return events::ReadAfter(c, 0, 100000); });
    ASSERT_GT(all.size(), 62U);
    for (const events::Event& e : all) EXPECT_EQ(analytics_->OnEvent(e).kind, events::Outcome::Kind::kDone);
    EXPECT_EQ(Rows(), once);
}

TEST_F(ProofFixtureTest, RebuildGivesExactlyTheIncrementalRows) {
    const std::vector<std::string> incremental = Rows();
    RebuildReport r = analytics_->Rebuild();
    EXPECT_EQ(r.sale_lines, 62 + 30 + 15);
    EXPECT_EQ(r.refund_lines, 8);
    EXPECT_EQ(Rows(), incremental);
    // Events delivered again after the rebuild are counted by it already.
    std::vector<events::Event> all = database_->Read([](db::Connection& c) { return events::ReadAfter(c, 0, 100000); });
    database_->Write([](db::Connection& c) { c.Execute("DELETE FROM analytics_applied"); });
    for (const events::Event& e : all) analytics_->OnEvent(e);
    EXPECT_EQ(Rows(), incremental);
    // New orders after it go on as usual.
    At(kT0 + 80 * kHour);
    Place(3000, {{a1_, 2}}, "");
    EXPECT_EQ(Sum(kSellerA, "2026-03-10", "2026-03-10").gross_cents, 20000);
}

TEST_F(ProofFixtureTest, ANewTimeZoneRebucketsTheSellersRowsOnly) {
    const Figures shop = Sum(kShop, "2026-03-07", "2026-03-10");
    ASSERT_TRUE(analytics_->SetTimeZone(kSellerA, "Asia/Tokyo").ok());
    // Tokyo is UTC+9 all year: Mar 7 runs 15:00Z Mar 6 to 15:00Z Mar 7, holding k=0..2.
    std::vector<Period> days =
        analytics_->Sales({kSellerA, "USD"}, {Day("2026-03-07"), Day("2026-03-10")}, Granularity::kDay);
    EXPECT_EQ(days[0].figures.orders, 3);
    EXPECT_EQ(Sum(kSellerA, "2026-03-07", "2026-03-10").net_cents(), 647875);  // the same money, other days
    EXPECT_EQ(Sum(kShop, "2026-03-07", "2026-03-10"), shop);
    EXPECT_EQ(Sum(kSellerB, "2026-03-07", "2026-03-10").net_cents(), 220400);
    EXPECT_FALSE(analytics_->SetTimeZone(kSellerA, "Mars/Olympus_Mons").ok());
    EXPECT_EQ(analytics_->TimeZoneOf(kSellerA), "Asia/Tokyo");
    // And the rows equal a rebuild's.
    const std::vector<std::string> rows = Rows();
    analytics_->Rebuild();
    EXPECT_EQ(Rows(), rows);
}

TEST(TimeZoneTest, DaylightSavingDaysHaveTheirOwnLength) {
    std::optional<Zone> ny = Zone::Find("America/New_York");
    ASSERT_TRUE(ny);
    EXPECT_EQ(ny->DayStart(Day("2026-03-09")) - ny->DayStart(Day("2026-03-08")), 23 * 3600);
    EXPECT_EQ(ny->DayStart(Day("2026-11-02")) - ny->DayStart(Day("2026-11-01")), 25 * 3600);
    EXPECT_EQ(ny->DayStart(Day("2026-03-08")), 1772946000);  // 05:00Z
    // The two 01:00 hours of the night that falls back are two hours.
    const std::int64_t first = ny->DayStart(Day("2026-11-01")) + 3600;
    EXPECT_EQ(ny->FormatLocal(first), "2026-11-01T01:00:00-04:00");
    EXPECT_EQ(ny->FormatLocal(first + 3600), "2026-11-01T01:00:00-05:00");
    EXPECT_EQ(ny->HourStart(first + 3600 + 1799), first + 3600);
    EXPECT_EQ(ny->LocalDay(1772946000 - 1), Day("2026-03-07"));
    std::optional<Zone> kolkata = Zone::Find("Asia/Kolkata");  // +05:30: hours start at :30 UTC
    EXPECT_EQ(kolkata->HourStart(1772884800) % 3600, 1800);
    EXPECT_FALSE(Zone::Find("Not/AZone"));
    EXPECT_FALSE(Zone::Find(""));
    EXPECT_FALSE(ParseDay("2026-02-30"));
    EXPECT_FALSE(ParseDay("2026-2-3"));
    EXPECT_EQ(FormatDay(Day("2024-02-29")), "2024-02-29");
    EXPECT_EQ(Weekday(Day("2026-03-09")), 0);  // a Monday
}

TEST(FiguresTest, AverageOrderValueRoundsHalfAwayFromZero) {
    Figures f;
    f.orders = 4;
    f.gross_cents = 10;  // 2.5
    EXPECT_EQ(f.average_order_cents(), 3);
    f.gross_cents = -10;
    EXPECT_EQ(f.average_order_cents(), -3);
    f.gross_cents = 9;  // 2.25
    EXPECT_EQ(f.average_order_cents(), 2);
    EXPECT_EQ(Figures{}.average_order_cents(), 0);
    EXPECT_EQ(Figures{}.returning_rate(), 0);
}

}  // namespace
}  // namespace emporium::analytics

namespace emporium::analytics {
namespace {

TEST_F(ProofFixtureTest, AnOrderShowsInTheProductReportsAtOnce) {
    const DayRange range{Day("2026-03-07"), Day("2026-03-10")};
    // Asked twice in a row, the products' figures are read once (and are the same).
    EXPECT_EQ(analytics_->Products({kSellerA, "USD"}, range, 10, ProductOrder::kUnits).at(0).figures.units(), 57);
    EXPECT_EQ(analytics_->Categories({kSellerA, "USD"}, range).at(0).figures.units(), 57);
    At(kT0 + 80 * kHour);  // 16:00 on Mar 10 in New York
    Place(3000, {{a1_, 2}}, "");
    // The applied event retires the kept figures: the next report has the order.
    EXPECT_EQ(analytics_->Products({kSellerA, "USD"}, range, 10, ProductOrder::kUnits).at(0).figures.units(), 59);
    EXPECT_EQ(analytics_->Categories({kSellerA, "USD"}, range).at(0).figures.units(), 59);
}

}  // namespace
}  // namespace emporium::analytics
