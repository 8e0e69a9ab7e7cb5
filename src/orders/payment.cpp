#include "orders/payment.h"

#include <sodium.h>

#include <algorithm>
#include <ctime>

namespace emporium::orders {

bool LuhnValid(const std::string& digits) {
    if (digits.size() < 12 || digits.size() > 19) return false;
    int sum = 0;
    bool twice = false;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
        if (*it < '0' || *it > '9') return false;
        int d = *it - '0';
        if (twice) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
        twice = !twice;
    }
    return sum % 10 == 0;
}

std::string CardBrand(const std::string& d) {
    if (d.starts_with("4")) return "visa";
    if (d.size() >= 2 && ((d[0] == '5' && d[1] >= '1' && d[1] <= '5') || d.starts_with("22") || d.starts_with("27"))) {
        return "mastercard";
    }
    if (d.starts_with("34") || d.starts_with("37")) return "amex";
    return "card";
}

std::vector<FieldError> ValidateCard(const Card& card, const Clock& clock) {
    std::vector<FieldError> errors;
    if (!LuhnValid(card.number)) errors.push_back({"payment.card_number", "is not a valid card number"});
    std::time_t now = std::chrono::system_clock::to_time_t(clock.Now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    const int year = tm.tm_year + 1900, month = tm.tm_mon + 1;
    if (card.exp_month < 1 || card.exp_month > 12) {
        errors.push_back({"payment.exp_month", "must be 1 to 12"});
    } else if (card.exp_year < year || (card.exp_year == year && card.exp_month < month) || card.exp_year > year + 25) {
        errors.push_back({"payment.exp_year", "the card has expired"});
    }
    bool cvc_ok = (card.cvc.size() == 3 || card.cvc.size() == 4) &&
                  std::all_of(card.cvc.begin(), card.cvc.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!cvc_ok) errors.push_back({"payment.cvc", "must be 3 or 4 digits"});
    return errors;
}

Result<Authorization> TestPaymentProvider::Authorize(const Card& card, std::int64_t amount_cents,
                                                     const std::string& currency) {
    std::vector<FieldError> errors = ValidateCard(card, clock_);
    if (!errors.empty()) return Error::Validation(std::move(errors));
    if (card.number == "4000000000000002") {
        return Error{ErrorKind::kPaymentDeclined, "payment_declined", "The card was declined; try another card.", {}};
    }
    unsigned char id[12];
    randombytes_buf(id, sizeof id);
    char hex[sizeof id * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, id, sizeof id);
    return Authorization{std::string("test_auth_") + hex, CardBrand(card.number),
                         card.number.substr(card.number.size() - 4)};
}

}  // namespace emporium::orders
