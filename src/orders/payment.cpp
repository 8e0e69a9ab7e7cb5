#include "orders/payment.h"

#include <algorithm>
#include <ctime>
#include <thread>

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
    if (card.number.empty()) {
        errors.push_back(FieldError::Required("payment.card_number"));
    } else if (!LuhnValid(card.number)) {
        errors.push_back(FieldError::Coded("payment.card_number", "invalid_card", "is not a valid card number"));
    }
    std::time_t now = std::chrono::system_clock::to_time_t(clock.Now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    const int year = tm.tm_year + 1900, month = tm.tm_mon + 1;
    if (card.exp_month < 1 || card.exp_month > 12) {
        errors.push_back(FieldError::Invalid("payment.exp_month", "must be 1 to 12").With("min", 1).With("max", 12));
    } else if (card.exp_year < year || (card.exp_year == year && card.exp_month < month)) {
        errors.push_back(FieldError::Coded("payment.exp_year", "card_expired", "the card has expired"));
    } else if (card.exp_year > year + 25) {
        errors.push_back(FieldError::Invalid("payment.exp_year", "is too far in the future").With("max", year + 25));
    }
    bool cvc_ok = (card.cvc.size() == 3 || card.cvc.size() == 4) &&
                  std::all_of(card.cvc.begin(), card.cvc.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!cvc_ok) errors.push_back(FieldError::Invalid("payment.cvc", "must be 3 or 4 digits"));
    return errors;
}

Result<Authorization> TestPaymentProvider::Authorize(const Card& card, std::int64_t, const std::string&,
                                                     const std::string& reference) {
    std::vector<FieldError> errors = ValidateCard(card, clock_);
    if (!errors.empty()) return Error::Validation(std::move(errors));
    if (card.number == "4000000000000002") {
        return Error{ErrorKind::kPaymentDeclined, "payment_declined", "The card was declined; try another card.", {}};
    }
    if (slow_card_delay_.count() > 0 && card.number == kSlowTestCard) std::this_thread::sleep_for(slow_card_delay_);
    {
        std::lock_guard lock(mutex_);
        // A reference voided before its authorization arrived stays void, as at real providers.
        if (!states_.try_emplace(reference, State::kAuthorized).second && states_[reference] == State::kVoided) {
            return Error{ErrorKind::kPaymentDeclined, "payment_declined", "This payment was cancelled.", {}};
        }
    }
    return Authorization{reference, CardBrand(card.number), card.number.substr(card.number.size() - 4)};
}

Status TestPaymentProvider::Capture(const std::string& reference) {
    std::lock_guard lock(mutex_);
    auto it = states_.find(reference);
    if (it == states_.end() || it->second == State::kVoided) {
        return Error::Conflict("not_authorized", "There is no live authorization " + reference + ".");
    }
    it->second = State::kCaptured;
    return Ok{};
}

Status TestPaymentProvider::Void(const std::string& reference) {
    std::lock_guard lock(mutex_);
    auto [it, fresh] = states_.try_emplace(reference, State::kVoided);
    if (fresh) return Ok{};
    if (it->second == State::kCaptured) {
        return Error::Conflict("already_captured", "Authorization " + reference + " was captured; refund it instead.");
    }
    it->second = State::kVoided;
    return Ok{};
}

std::optional<TestPaymentProvider::State> TestPaymentProvider::StateOf(const std::string& reference) const {
    std::lock_guard lock(mutex_);
    auto it = states_.find(reference);
    if (it == states_.end()) return std::nullopt;
    return it->second;
}

}  // namespace emporium::orders
