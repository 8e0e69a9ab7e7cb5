#include "accounts/password_hasher.h"

#include <sodium.h>

#include <stdexcept>

namespace emporium::accounts {

HashCost HashCost::Minimal() {
    return HashCost{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

PasswordHasher::PasswordHasher(HashCost cost) : cost_(cost) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not start");
    dummy_hash_ = Hash("emporium dummy password for timing");
}

std::string PasswordHasher::Hash(std::string_view password) const {
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost_.ops, cost_.memory,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        throw std::runtime_error("out of memory while hashing a password");
    }
    return out;
}

bool PasswordHasher::Verify(std::string_view hash, std::string_view password) const {
    std::string terminated(hash);
    return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

void PasswordHasher::VerifyDummy(std::string_view password) const {
    Verify(dummy_hash_, password);
}

}  // namespace emporium::accounts
