// Field-by-field encryption of personal data (names, emails, phones, addresses) with
// XChaCha20-Poly1305 from libsodium. Each ciphertext names the key that made it, so keys can be
// rotated while the shop runs: new writes use the newest key, old rows stay readable until
// re-encrypted. Emails are found through a keyed hash (a blind index), never stored in clear.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "db/database.h"

namespace emporium::accounts {

// A table that holds the vault's ciphertext, described by the module that owns it. Each module
// registers its own tables (PiiVault::Register) when its service is built, so that a key rotation
// reaches every encrypted column of every module without a list kept in one place.
struct SealedTable {
    struct Column {
        std::string column;  // SQL column
        std::string field;   // the field name bound into its ciphertext (Encrypt's first argument)
    };
    std::string table;      // also its name in rotation reports
    std::string id_column;  // a unique key of the table
    std::vector<Column> columns;
    std::string only_where;  // optional: which rows hold ciphertext ("channel = 'sms'")
    // Optional, for a table that keeps more than ciphertext per key: an SQL condition with one `?`
    // (the active key id) that also makes a row stale ("key_id <> ?"), and the extra columns to
    // write when a row is re-sealed, computed from its plaintexts (in `columns` order; nullopt for
    // an empty column).
    std::string also_stale_when;
    std::function<std::vector<std::pair<std::string, db::Value>>(const std::vector<std::optional<std::string>>&)>
        extra_values;
};

// What a rotation pass found or did in one table.
struct TableRotation {
    std::string table;
    std::int64_t rows = 0;  // re-sealed by a pass, or still on older keys for a count
};

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

    // Rotation, step two. Register is called by each module for each of its tables (registering a
    // table name again replaces it); database must outlive the vault's use of it.
    void Register(db::Database& database, SealedTable table);
    // Re-seals, with the active key, up to batch rows of each registered table that have any
    // column on an older key; one short write transaction per table. Throws std::runtime_error
    // when a value cannot be decrypted (a missing key): rotation must never skip a row silently.
    std::vector<TableRotation> ReencryptBatch(std::int64_t batch);
    // Rows of each registered table with any column still on an older key.
    std::vector<TableRotation> CountOnOldKeys();

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

    struct Registered {
        db::Database* database;
        SealedTable table;
    };
    std::vector<Registered> Tables();
    std::mutex tables_mutex_;  // guards tables_
    std::vector<Registered> tables_;
};

}  // namespace emporium::accounts
