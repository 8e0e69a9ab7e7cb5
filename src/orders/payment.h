// Payment providers. Checkout authorizes the amount on the card before it opens its write
// transaction, commits the order, then captures; whenever the order does not commit it voids the
// authorization (and a reconciler voids any that a crash left without an order). The card number
// goes no further than Authorize: orders keep only the brand and the last four digits.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace emporium::orders {

struct Card {
    std::string number;  // digits only
    int exp_month = 0;
    int exp_year = 0;
    std::string cvc;
};

struct Authorization {
    std::string reference;  // ours, given to Authorize: the provider's idempotency key
    std::string brand;      // "visa", "mastercard", "amex", "card"
    std::string last4;
};

// A provider's three steps. Every call is keyed by our reference, which the provider treats as
// an idempotency key: asking twice does it once, and an authorization whose answer was lost (a
// crash, a timeout) can still be voided by its reference. Each call may block on the network, so
// none is made inside a database transaction.
class PaymentProvider {
public:
    virtual ~PaymentProvider() = default;
    // Reserves amount on the card. 402 `payment_declined` when the issuer says no; 422 for a
    // card that cannot be valid (checked before asking anyone).
    virtual Result<Authorization> Authorize(const Card& card, std::int64_t amount_cents, const std::string& currency,
                                            const std::string& reference) = 0;
    // Takes the reserved money, once the order is committed. An error is retried later by the
    // reconciler.
    virtual Status Capture(const std::string& reference) = 0;
    // Releases an authorization that will not be captured; voiding an unknown or already voided
    // reference succeeds (nothing is reserved). An error is retried later by the reconciler.
    virtual Status Void(const std::string& reference) = 0;
};

// The default provider: checks Luhn, expiry and CVC, declines 4000000000000002 (as the big
// providers' test cards do) and authorizes everything else. Nothing leaves the process. It keeps
// what it authorized, captured and voided in memory, for tests and the reconciler's log.
//
// A test hook, off unless the operator sets it: with slow_card_delay above zero, authorizing the
// card kSlowTestCard takes that long (a slow issuer). With the hook off the card is an ordinary
// test card, so a shopper typing it gains nothing.
class TestPaymentProvider final : public PaymentProvider {
public:
    static constexpr std::string_view kSlowTestCard = "4000000000000259";

    explicit TestPaymentProvider(const Clock& clock, std::chrono::milliseconds slow_card_delay = {})
        : clock_(clock), slow_card_delay_(slow_card_delay) {}
    Result<Authorization> Authorize(const Card& card, std::int64_t amount_cents, const std::string& currency,
                                    const std::string& reference) override;
    Status Capture(const std::string& reference) override;
    Status Void(const std::string& reference) override;

    enum class State { kAuthorized, kCaptured, kVoided };
    // The state of an authorization by reference; nullopt when never authorized.
    std::optional<State> StateOf(const std::string& reference) const;

private:
    const Clock& clock_;
    const std::chrono::milliseconds slow_card_delay_;
    mutable std::mutex mutex_;  // guards states_
    std::map<std::string, State> states_;
};

// The one card check every provider and the checkout validation use: 422 with one entry per
// bad field (payment.card_number `invalid_card`, payment.exp_year `card_expired`...).
std::vector<FieldError> ValidateCard(const Card& card, const Clock& clock);
// The one Luhn check: 12 to 19 digits whose Luhn sum is a multiple of 10.
bool LuhnValid(const std::string& digits);
std::string CardBrand(const std::string& digits);

}  // namespace emporium::orders
