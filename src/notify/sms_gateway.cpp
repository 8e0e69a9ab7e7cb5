#include "notify/sms_gateway.h"

#include <boost/json.hpp>

#include "core/contact.h"
#include "core/text.h"
#include "http/client.h"

namespace emporium::notify {
namespace {

namespace json = boost::json;

// Twilio's error body: {"code": 21211, "message": "...", "more_info": "...", "status": 400}.
std::string DescribeError(const http::HttpAnswer& answer) {
    boost::system::error_code ec;
    json::value v = json::parse(answer.body, ec);
    std::string out = "HTTP " + std::to_string(answer.status);
    if (!ec && v.is_object()) {
        const json::object& o = v.as_object();
        if (auto* code = o.if_contains("code"); code && code->is_int64())
            out += " code " + std::to_string(code->as_int64());
        if (auto* message = o.if_contains("message"); message && message->is_string()) {
            // Twilio quotes the number in some messages (21211): masked at this boundary, before
            // anything stores or logs it, and before the cut, which must not leave half a number.
            const json::string& text = message->as_string();
            const std::string masked = MaskPhonesIn(std::string(text.data(), text.size()));
            out += ": " + std::string(Utf8Prefix(masked, 200));
        }
    }
    return out;
}

class TwilioGateway final : public SmsGateway {
public:
    explicit TwilioGateway(TwilioConfig config) : config_(std::move(config)) {
        while (!config_.base_url.empty() && config_.base_url.back() == '/') config_.base_url.pop_back();
    }

    SendOutcome Send(std::string_view to, std::string_view body) override {
        http::HttpCall call;
        call.url = MessagesUrl();
        call.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
        call.body = "To=" + http::FormEncode(to);
        call.body += config_.messaging_service_sid.empty()
                         ? "&From=" + http::FormEncode(config_.from)
                         : "&MessagingServiceSid=" + http::FormEncode(config_.messaging_service_sid);
        call.body += "&Body=" + http::FormEncode(body);
        call.basic_user = config_.account_sid;
        call.basic_password = config_.auth_token;
        call.timeout = config_.timeout;
        return ReadSendAnswer(http::Perform(call));
    }

    LookupOutcome FindSent(std::string_view to, std::string_view body) override {
        http::HttpCall call;
        call.method = "GET";
        call.url = MessagesUrl() + "?To=" + http::FormEncode(to) + "&PageSize=50";
        call.headers = {"Accept: application/json"};
        call.basic_user = config_.account_sid;
        call.basic_password = config_.auth_token;
        call.timeout = config_.timeout;
        return ReadLookupAnswer(http::Perform(call), body);
    }

    std::string_view name() const override { return "twilio"; }

private:
    std::string MessagesUrl() const {
        return config_.base_url + "/2010-04-01/Accounts/" + http::FormEncode(config_.account_sid) + "/Messages.json";
    }

    TwilioConfig config_;
};

class LocalGateway final : public SmsGateway {
public:
    SendOutcome Send(std::string_view, std::string_view) override { return {SendOutcome::Kind::kKept, "", "", {}}; }
    LookupOutcome FindSent(std::string_view, std::string_view) override { return {true, std::nullopt}; }
    std::string_view name() const override { return "local"; }
};

}  // namespace

SendOutcome ReadSendAnswer(const http::HttpAnswer& answer) {
    SendOutcome out;
    if (answer.status == 0) {
        out.kind = SendOutcome::Kind::kRetry;
        out.error = std::string(kNetworkErrorPrefix) + MaskPhonesIn(answer.error);
    } else if (answer.status >= 200 && answer.status < 300) {
        out.kind = SendOutcome::Kind::kSent;
        boost::system::error_code ec;
        json::value v = json::parse(answer.body, ec);
        if (!ec && v.is_object()) {
            if (auto* sid = v.as_object().if_contains("sid"); sid && sid->is_string()) {
                out.provider_id = std::string(sid->as_string());
            }
        }
    } else if (answer.status == 429 || answer.status >= 500 || answer.status == 401) {
        // 401: the credentials are wrong or rotated; retrying lets the operator fix them without losing texts.
        out.kind = SendOutcome::Kind::kRetry;
        out.error = DescribeError(answer);
        out.retry_after = answer.retry_after;
    } else {
        out.kind = SendOutcome::Kind::kPermanent;
        out.error = DescribeError(answer);
    }
    return out;
}

LookupOutcome ReadLookupAnswer(const http::HttpAnswer& answer, std::string_view body) {
    LookupOutcome out;
    if (answer.status != 200) return out;
    boost::system::error_code ec;
    json::value v = json::parse(answer.body, ec);
    if (ec || !v.is_object()) return out;
    const json::value* messages = v.as_object().if_contains("messages");
    if (!messages || !messages->is_array()) return out;
    out.known = true;
    for (const json::value& m : messages->as_array()) {
        if (!m.is_object()) continue;
        const json::object& o = m.as_object();
        const json::value* b = o.if_contains("body");
        const json::value* sid = o.if_contains("sid");
        if (b && b->is_string() && b->as_string() == body && sid && sid->is_string()) {
            out.provider_id = std::string(sid->as_string());
            break;
        }
    }
    return out;
}

std::unique_ptr<SmsGateway> MakeTwilioGateway(TwilioConfig config) {
    return std::make_unique<TwilioGateway>(std::move(config));
}

std::unique_ptr<SmsGateway> MakeLocalGateway() {
    return std::make_unique<LocalGateway>();
}

}  // namespace emporium::notify
