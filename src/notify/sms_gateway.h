// Where text messages go: Twilio's Messages API when credentials are set, else a local outbox
// (the admin area and the log) so that nothing is silently dropped on a machine without them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/client.h"

namespace emporium::notify {

struct SendOutcome {
    enum class Kind {
        kSent,       // accepted; provider_id names it
        kKept,       // kept in the local outbox (no provider configured)
        kRetry,      // a passing failure (429, 5xx, network): try again later
        kPermanent,  // the provider refused it for good (a bad number): never retried
    };
    Kind kind = Kind::kSent;
    std::string provider_id;  // Twilio's message SID
    std::string error;        // for kRetry and kPermanent, safe to show to an admin
    std::optional<std::chrono::seconds> retry_after;
};

// The answer to "did this message already go out?" after a crash between sending and recording.
struct LookupOutcome {
    bool known = false;                      // false: the provider could not be asked
    std::optional<std::string> provider_id;  // set when a matching message exists
};

class SmsGateway {
public:
    virtual ~SmsGateway() = default;
    // Sends body to the E.164 number to. Blocking (network).
    virtual SendOutcome Send(std::string_view to, std::string_view body) = 0;
    // Looks for a message with exactly this body already sent to `to` (bodies name their order,
    // so a match is the same message).
    virtual LookupOutcome FindSent(std::string_view to, std::string_view body) = 0;
    // "twilio" or "local", for logs and the admin area.
    virtual std::string_view name() const = 0;
};

struct TwilioConfig {
    std::string base_url = "https://api.twilio.com";
    std::string account_sid;
    std::string auth_token;             // a secret: from the environment or a file only
    std::string from;                   // a sender number, or
    std::string messaging_service_sid;  // a messaging service (used when set)
    std::chrono::milliseconds timeout{10'000};

    bool complete() const {
        return !account_sid.empty() && !auth_token.empty() && (!from.empty() || !messaging_service_sid.empty());
    }
};

// Twilio's Messages API: POST {base}/2010-04-01/Accounts/{sid}/Messages.json, form-encoded To,
// From (or MessagingServiceSid) and Body, HTTP Basic auth sid:token. 429, 5xx, 401 and network
// failures are retried; other 4xx (21211 invalid number, 21610 unsubscribed, ...) are permanent.
std::unique_ptr<SmsGateway> MakeTwilioGateway(TwilioConfig config);

// How the error of a send that got no answer begins ("network: timeout", say). Such a send may have
// reached the provider, so the courier asks the provider before it sends that text again.
inline constexpr std::string_view kNetworkErrorPrefix = "network: ";

// What Twilio's answer to a send means (kept apart from the network call, for tests and the fuzzer):
// 2xx sent (with the message SID when the body names one); 429, 5xx, 401 and no answer retried;
// any other status permanent. The error text never holds more than 200 characters of Twilio's.
SendOutcome ReadSendAnswer(const http::HttpAnswer& answer);

// What Twilio's answer to a message lookup means: known when the answer is a 200 with a
// `messages` array, with the SID of the first message whose body is exactly body.
LookupOutcome ReadLookupAnswer(const http::HttpAnswer& answer, std::string_view body);

// The local outbox: every message is kept (kKept), nothing leaves the machine.
std::unique_ptr<SmsGateway> MakeLocalGateway();

}  // namespace emporium::notify
