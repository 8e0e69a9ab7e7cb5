#include "notify/sms_gateway.h"

#include <gtest/gtest.h>

#include "core/text.h"

namespace emporium::notify {
namespace {

http::HttpAnswer Answer(long status, std::string body) {
    http::HttpAnswer a;
    a.status = status;
    a.body = std::move(body);
    return a;
}

TEST(ReadSendAnswer, SortsTwiliosAnswersIntoSentRetryAndPermanent) {
    SendOutcome sent = ReadSendAnswer(Answer(201, R"({"sid":"SM123","status":"queued"})"));
    EXPECT_EQ(sent.kind, SendOutcome::Kind::kSent);
    EXPECT_EQ(sent.provider_id, "SM123");

    http::HttpAnswer throttled = Answer(429, R"({"code":20429,"message":"Too Many Requests"})");
    throttled.retry_after = std::chrono::seconds(7);
    SendOutcome retry = ReadSendAnswer(throttled);
    EXPECT_EQ(retry.kind, SendOutcome::Kind::kRetry);
    EXPECT_EQ(retry.retry_after, std::chrono::seconds(7));
    EXPECT_EQ(retry.error, "HTTP 429 code 20429: Too Many Requests");

    EXPECT_EQ(ReadSendAnswer(Answer(400, R"({"code":21610})")).kind, SendOutcome::Kind::kPermanent);
    EXPECT_EQ(ReadSendAnswer(Answer(502, "<html>")).kind, SendOutcome::Kind::kRetry);
    EXPECT_EQ(ReadSendAnswer(Answer(0, "")).kind, SendOutcome::Kind::kRetry);
}

TEST(ReadSendAnswer, ALongMessageIsCutBetweenCharacters) {
    // Found by tests/fuzz (twilio_answer): Twilio's message was cut at byte 200, inside an "é",
    // and the broken UTF-8 went on to the log and the admin area's JSON.
    std::string accents;
    for (int i = 0; i < 150; ++i) accents += "\u00e9";
    SendOutcome out = ReadSendAnswer(Answer(400, R"({"code":21610,"message":")" + accents + R"("})"));
    EXPECT_TRUE(IsValidUtf8(out.error)) << out.error;
    EXPECT_EQ(out.error, "HTTP 400 code 21610: " + accents.substr(0, 200));
}

TEST(ReadLookupAnswer, FindsTheMessageWithTheSameBody) {
    const std::string list =
        R"({"messages":[{"sid":"SM1","body":"Order 11 has shipped."},{"sid":"SM2","body":"Order 12 has shipped."}]})";
    LookupOutcome found = ReadLookupAnswer(Answer(200, list), "Order 12 has shipped.");
    EXPECT_TRUE(found.known);
    EXPECT_EQ(found.provider_id, "SM2");
    EXPECT_FALSE(ReadLookupAnswer(Answer(200, list), "Order 13 has shipped.").provider_id.has_value());
    EXPECT_FALSE(ReadLookupAnswer(Answer(500, list), "Order 12 has shipped.").known);
    EXPECT_FALSE(ReadLookupAnswer(Answer(200, "[]"), "Order 12 has shipped.").known);
}

}  // namespace
}  // namespace emporium::notify
