// Field-by-field encryption of personal data (names, emails, phones, addresses) with
// XChaCha20-Poly1305 from libsodium. Each ciphertext names the key that made it, so keys can be
// rotated while the shop runs: new writes use the newest key, old rows stay readable until
// re-encrypted. Emails are found through a keyed hash (a blind index), never stored in clear.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace emporium::accounts {

class PiiVault {
public:
    struct Source {
        std::string env_key;            // base64 of 32 bytes (EMPORIUM_PII_KEY); empty: use the file
        std::string env_previous_keys;  // comma-separated base64 keys still needed to read old rows
        std::string key_file;           // used when env_key is empty; created (mode 0600) when missing
    };

    // Loads the key ring. Throws std::runtime_error when a key is malformed or the file cannot be
    // created: the shop must not start without its keys.
    static std::unique_ptr<PiiVault> Open(const Source& source);

    ~PiiVault();

    // Encrypts plaintext for the named field with the newest key. field is bound into the
    // ciphertext: a value moved to another field does not decrypt.
    std::string Encrypt(std::string_view field, std::string_view plaintext);

    // Decrypts a value made by Encrypt for the same field; an error for tampered data or a key
    // that is not in the ring (after reloading the key file once).
    Result<std::string> Decrypt(std::string_view field, std::string_view ciphertext);

    // The blind index of a normalised email under the newest key, and under every key in the
    // ring (newest first) for lookups during a rotation.
    std::string BlindIndex(std::string_view normalized_email);
    std::vector<std::string> BlindIndexes(std::string_view normalized_email);

    // The id of the key new writes use.
    std::string ActiveKeyId();

    // The key id a ciphertext names ("" when malformed).
    static std::string KeyIdOf(std::string_view ciphertext);

    // Rotation, step one: makes a new key, appends it to the key file, and makes it active.
    // Keys from the environment cannot be rotated here (the operator sets new ones): 409.
    Result<std::string> AddKey();

private:
    struct Key {
        std::string id;
        std::string secret;     // 32 bytes
        std::string index_key;  // 32 bytes, derived
    };
    explicit PiiVault(Source source);
    void LoadLocked();  // needs mutex_ held exclusively
    void MaybeReload();
    const Key* FindLocked(std::string_view id) const;

    const Source source_;
    std::shared_mutex mutex_;  // guards keys_ and file_mtime_
    std::vector<Key> keys_;    // oldest first; the last one is active
    long long file_mtime_ = 0;
    std::mutex reload_mutex_;  // guards last_check_
    std::chrono::steady_clock::time_point last_check_;
};

}  // namespace emporium::accounts
