// Argon2id password hashes (libsodium's crypto_pwhash_str). Hashing is deliberately slow and
// memory-hard; the server runs it on a small pool of its own so a flood of sign-ins cannot take
// every worker or all the memory.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace emporium::accounts {

// The default is OWASP's Argon2id setting of 19 MiB and 2 passes: about 45 ms on one core here,
// so two hashing threads take some 40 sign-ins a second while using at most 38 MiB.
struct HashCost {
    unsigned long long ops = 2;
    std::size_t memory = 19ULL * 1024 * 1024;
    static HashCost Minimal();  // for tests: libsodium's minimums
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
