// Argon2id password hashes (libsodium's crypto_pwhash_str). Hashing is deliberately slow and
// memory-hard; the server runs it on a small pool of its own so a flood of sign-ins cannot take
// every worker or all the memory.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace emporium::accounts {

struct HashCost {
    unsigned long long ops = 2;                  // crypto_pwhash_OPSLIMIT_INTERACTIVE
    std::size_t memory = 64ULL * 1024 * 1024;    // crypto_pwhash_MEMLIMIT_INTERACTIVE
    static HashCost Minimal();                   // for tests: libsodium's minimums
};

class PasswordHasher {
public:
    explicit PasswordHasher(HashCost cost);

    // An encoded Argon2id hash with its own salt and parameters.
    std::string Hash(std::string_view password) const;

    // True when password matches hash.
    bool Verify(std::string_view hash, std::string_view password) const;

    // Spends the time of one Verify without a real hash, so that an unknown email answers as
    // slowly as a wrong password.
    void VerifyDummy(std::string_view password) const;

private:
    HashCost cost_;
    std::string dummy_hash_;
};

}  // namespace emporium::accounts
