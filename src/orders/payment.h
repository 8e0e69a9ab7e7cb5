// Payment providers. Checkout asks one to authorize an amount on a card; the card number goes no
// further than this call: orders keep only the brand and the last four digits.
#pragma once

#include <cstdint>
#include <string>

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
    std::string id;     // the provider's reference
    std::string brand;  // "visa", "mastercard", "amex", "card"
    std::string last4;
};

class PaymentProvider {
public:
    virtual ~PaymentProvider() = default;
    // Reserves amount on the card. 402 `payment_declined` when the issuer says no; 422 for a
    // card that cannot be valid (checked before asking anyone).
    virtual Result<Authorization> Authorize(const Card& card, std::int64_t amount_cents,
                                            const std::string& currency) = 0;
    // Releases an authorization that will not be captured (the order failed after all).
    virtual void Void(const std::string& authorization_id) = 0;
};

// The default provider: checks Luhn, expiry and CVC, declines 4000000000000002 (as the big
// providers' test cards do) and authorizes everything else. Nothing leaves the process.
class TestPaymentProvider final : public PaymentProvider {
public:
    explicit TestPaymentProvider(const Clock& clock) : clock_(clock) {}
    Result<Authorization> Authorize(const Card& card, std::int64_t amount_cents, const std::string& currency) override;
    void Void(const std::string&) override {}

private:
    const Clock& clock_;
};

// Card checks shared by every provider: 422 with one entry per bad field (payment.card_number...).
std::vector<FieldError> ValidateCard(const Card& card, const Clock& clock);
bool LuhnValid(const std::string& digits);
std::string CardBrand(const std::string& digits);

}  // namespace emporium::orders
