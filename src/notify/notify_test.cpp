#include "notify/notify.h"

#include <gtest/gtest.h>

#include "events/rabbitmq.h"

namespace emporium::notify {
namespace {

orders::Order SampleOrder() {
    orders::Order o;
    o.id = 1042;
    o.total_cents = 12345;
    o.currency = "USD";
    return o;
}

TEST(FormatMoneyTest, DollarsAndOtherCurrencies) {
    EXPECT_EQ(FormatMoney(12345, "USD"), "$123.45");
    EXPECT_EQ(FormatMoney(5, "USD"), "$0.05");
    EXPECT_EQ(FormatMoney(-250, "USD"), "-$2.50");
    EXPECT_EQ(FormatMoney(100000, "EUR"), "1000.00 EUR");
}

TEST(RenderSmsTest, EachTemplateNamesTheShopAndTheOrder) {
    orders::Order o = SampleOrder();
    EXPECT_EQ(RenderSms("order_placed", "Git Goods", o).value(),
              "Git Goods: thank you! Order #1042 is placed, total $123.45. We'll text you when it ships.");
    EXPECT_EQ(RenderSms("order_shipped", "Git Goods", o).value(), "Git Goods: order #1042 is on its way.");
    EXPECT_NE(RenderSms("order_cancelled", "GoMart", o).value().find("GoMart: order #1042 is cancelled"),
              std::string::npos);
    EXPECT_EQ(RenderSms("order_shipped", "", o).value(), "Emporium: order #1042 is on its way.");
    EXPECT_FALSE(RenderSms("order_lost", "Git Goods", o).has_value());
}

TEST(RenderSmsTest, TextsFitOneOrTwoSegments) {
    orders::Order o = SampleOrder();
    o.total_cents = 999'999'999;
    for (const char* t : {"order_placed", "order_shipped", "order_cancelled"}) {
        EXPECT_LE(RenderSms(t, "A Rather Long Shop Name Here", o)->size(), 153U * 2) << t;
    }
}

TEST(WebhookSignatureTest, MatchesAnHmacSha256OverTimestampAndBody) {
    // Reference computed with Python: hmac.new(b"whsec_test", b"1700000000.{\"a\":1}", sha256).hexdigest()
    const std::string a = WebhookSignature("whsec_test", 1'700'000'000, R"({"a":1})");
    EXPECT_EQ(a, "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
    EXPECT_NE(a, WebhookSignature("whsec_other", 1'700'000'000, R"({"a":1})"));
    EXPECT_NE(a, WebhookSignature("whsec_test", 1'700'000'001, R"({"a":1})"));
    EXPECT_NE(a, WebhookSignature("whsec_test", 1'700'000'000, R"({"a":2})"));
}

TEST(EventCodecTest, RoundTripsAndRejectsGarbage) {
    events::Event e{7, "order.placed", "42", R"({"order_id":42,"user_id":3})", 1'800'000'000};
    std::optional<events::Event> back = events::DecodeEvent(events::EncodeEvent(e));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->id, 7);
    EXPECT_EQ(back->type, "order.placed");
    EXPECT_EQ(back->aggregate_id, "42");
    EXPECT_EQ(back->payload_json, e.payload_json);
    EXPECT_EQ(back->created_at, e.created_at);
    EXPECT_FALSE(events::DecodeEvent("not json").has_value());
    EXPECT_FALSE(events::DecodeEvent(R"({"id":"7","type":"x","payload":{}})").has_value());
    EXPECT_FALSE(events::DecodeEvent(R"({"id":7,"type":"x","payload":[]})").has_value());
}

}  // namespace
}  // namespace emporium::notify
