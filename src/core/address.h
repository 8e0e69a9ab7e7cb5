// A postal address as shoppers type it, and its checks; shared by accounts (the saved address)
// and orders (the shipping address).
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace emporium {

struct Address {
    std::string name;
    std::string line1;
    std::string line2;  // optional
    std::string city;
    std::string postal_code;
    std::string country;  // ISO 3166-1 alpha-2, upper case
};

// One FieldError per bad part, named prefix + "." + part (e.g. "shipping_address.city").
std::vector<FieldError> ValidateAddress(const Address& address, const std::string& prefix);

}  // namespace emporium
