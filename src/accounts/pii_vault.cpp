#include "accounts/pii_vault.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace emporium::accounts {
namespace {

constexpr std::string_view kPrefix = "p1.";

std::string Base64(std::string_view bytes, int variant) {
    std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                      variant);
    out.resize(std::strlen(out.c_str()));
    return out;
}

std::optional<std::string> FromBase64(std::string_view text, int variant) {
    std::string out(text.size(), '\0');
    size_t len = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                          &len, nullptr, variant) != 0) {
        return std::nullopt;
    }
    out.resize(len);
    return out;
}

std::string Hex(std::string_view bytes) {
    std::string out(bytes.size() * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    out.pop_back();
    return out;
}

std::string KeyIdFor(std::string_view secret) {
    unsigned char id[4];
    static constexpr std::string_view kContext = "emporium-pii-key-id";
    crypto_generichash(id, sizeof id, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                       reinterpret_cast<const unsigned char*>(kContext.data()), kContext.size());
    return Hex(std::string_view(reinterpret_cast<char*>(id), sizeof id));
}

std::string DeriveIndexKey(std::string_view secret) {
    std::string out(32, '\0');
    crypto_kdf_derive_from_key(reinterpret_cast<unsigned char*>(out.data()), out.size(), 1, "emp-bidx",
                               reinterpret_cast<const unsigned char*>(secret.data()));
    return out;
}

std::string DecodeKey(std::string_view b64) {
    auto key = FromBase64(b64, sodium_base64_VARIANT_ORIGINAL);
    if (!key || key->size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES) {
        throw std::runtime_error("a PII key must be the base64 of 32 bytes");
    }
    return *key;
}

long long MtimeOf(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return 0;
    return static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000LL + st.st_mtim.tv_nsec;
}

// Creates the key file with one fresh key, readable by the owner only. O_EXCL: two processes
// starting at once cannot both write one.
void CreateKeyFile(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return;
        throw std::runtime_error("cannot create the PII key file " + path + ": " + std::strerror(errno));
    }
    std::string secret(32, '\0');
    randombytes_buf(secret.data(), secret.size());
    std::string text =
        "# Emporium PII keys: one per line, '<id> <base64>'; the last is the active one.\n"
        "# Keep this file secret and back it up apart from the database (docs/OPERATIONS.md).\n" +
        KeyIdFor(secret) + " " + Base64(secret, sodium_base64_VARIANT_ORIGINAL) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    sodium_memzero(secret.data(), secret.size());
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write the PII key file " + path);
}

}  // namespace

PiiVault::PiiVault(Source source) : source_(std::move(source)) {}

PiiVault::~PiiVault() {
    for (Key& k : keys_) {
        sodium_memzero(k.secret.data(), k.secret.size());
        sodium_memzero(k.index_key.data(), k.index_key.size());
    }
}

std::unique_ptr<PiiVault> PiiVault::Open(const Source& source) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not start");
    auto vault = std::unique_ptr<PiiVault>(new PiiVault(source));
    if (source.env_key.empty()) CreateKeyFile(source.key_file);
    std::unique_lock lock(vault->mutex_);
    vault->LoadLocked();
    return vault;
}

void PiiVault::LoadLocked() {
    std::vector<std::string> secrets;
    if (!source_.env_key.empty()) {
        std::stringstream previous(source_.env_previous_keys);
        std::string item;
        while (std::getline(previous, item, ',')) {
            if (!item.empty()) secrets.push_back(DecodeKey(item));
        }
        secrets.push_back(DecodeKey(source_.env_key));
    } else {
        struct stat st {};
        if (stat(source_.key_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
            throw std::runtime_error("the PII key file " + source_.key_file +
                                     " must be readable by its owner only (chmod 600)");
        }
        file_mtime_ = MtimeOf(source_.key_file);
        std::ifstream in(source_.key_file);
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#') continue;
            std::istringstream fields(line);
            std::string id, b64;
            fields >> id >> b64;
            std::string secret = DecodeKey(b64);
            if (KeyIdFor(secret) != id)
                throw std::runtime_error("PII key file: key id " + id + " does not match its key");
            secrets.push_back(std::move(secret));
        }
    }
    if (secrets.empty()) throw std::runtime_error("no PII key: set EMPORIUM_PII_KEY or keep the key file");
    std::vector<Key> keys;
    keys.reserve(secrets.size());
    for (std::string& s : secrets) keys.push_back({KeyIdFor(s), s, DeriveIndexKey(s)});
    keys_ = std::move(keys);
}

void PiiVault::MaybeReload() {
    if (!source_.env_key.empty()) return;
    {
        std::lock_guard lock(reload_mutex_);
        auto now = std::chrono::steady_clock::now();
        if (now - last_check_ < std::chrono::seconds(1)) return;
        last_check_ = now;
    }
    if (MtimeOf(source_.key_file) == file_mtime_) return;
    std::unique_lock lock(mutex_);
    LoadLocked();
}

const PiiVault::Key* PiiVault::FindLocked(std::string_view id) const {
    for (const Key& k : keys_) {
        if (k.id == id) return &k;
    }
    return nullptr;
}

std::string PiiVault::Encrypt(std::string_view field, std::string_view plaintext) {
    MaybeReload();
    std::shared_lock lock(mutex_);
    const Key& key = keys_.back();
    std::string sealed(
        crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES,
        '\0');
    auto* nonce = reinterpret_cast<unsigned char*>(sealed.data());
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &len,
                                               reinterpret_cast<const unsigned char*>(plaintext.data()),
                                               plaintext.size(), reinterpret_cast<const unsigned char*>(field.data()),
                                               field.size(), nullptr, nonce,
                                               reinterpret_cast<const unsigned char*>(key.secret.data()));
    return std::string(kPrefix) + key.id + "." + Base64(sealed, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::string PiiVault::KeyIdOf(std::string_view ciphertext) {
    if (!ciphertext.starts_with(kPrefix)) return "";
    std::string_view rest = ciphertext.substr(kPrefix.size());
    size_t dot = rest.find('.');
    return dot == std::string_view::npos ? "" : std::string(rest.substr(0, dot));
}

Result<std::string> PiiVault::Decrypt(std::string_view field, std::string_view ciphertext) {
    std::string id = KeyIdOf(ciphertext);
    if (id.empty()) return Error{ErrorKind::kInternal, "pii_malformed", "a stored personal field is malformed", {}};
    auto sealed =
        FromBase64(ciphertext.substr(kPrefix.size() + id.size() + 1), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (!sealed ||
        sealed->size() < crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES) {
        return Error{ErrorKind::kInternal, "pii_malformed", "a stored personal field is malformed", {}};
    }
    const std::string& box = *sealed;  // nonce, then ciphertext and tag
    for (int attempt = 0; attempt < 2; ++attempt) {
        {
            std::shared_lock lock(mutex_);
            if (const Key* key = FindLocked(id)) {
                const auto* nonce = reinterpret_cast<const unsigned char*>(box.data());
                std::string plain(box.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES -
                                      crypto_aead_xchacha20poly1305_ietf_ABYTES,
                                  '\0');
                unsigned long long len = 0;
                if (crypto_aead_xchacha20poly1305_ietf_decrypt(
                        reinterpret_cast<unsigned char*>(plain.data()), &len, nullptr,
                        nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                        box.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                        reinterpret_cast<const unsigned char*>(field.data()), field.size(), nonce,
                        reinterpret_cast<const unsigned char*>(key->secret.data())) != 0) {
                    return Error{
                        ErrorKind::kInternal, "pii_tampered", "a stored personal field fails authentication", {}};
                }
                plain.resize(len);
                return plain;
            }
        }
        if (source_.env_key.empty() && attempt == 0) {
            std::unique_lock lock(mutex_);  // a rotation elsewhere may have added the key
            LoadLocked();
        }
    }
    return Error{ErrorKind::kInternal, "pii_unknown_key", "a stored personal field uses a key that is not loaded", {}};
}

std::string PiiVault::BlindIndex(std::string_view normalized_email) {
    return BlindIndexes(normalized_email).front();
}

std::vector<std::string> PiiVault::BlindIndexes(std::string_view normalized_email) {
    MaybeReload();
    std::shared_lock lock(mutex_);
    std::vector<std::string> out;
    for (auto it = keys_.rbegin(); it != keys_.rend(); ++it) {
        unsigned char mac[32];
        crypto_generichash(mac, sizeof mac, reinterpret_cast<const unsigned char*>(normalized_email.data()),
                           normalized_email.size(), reinterpret_cast<const unsigned char*>(it->index_key.data()),
                           it->index_key.size());
        out.push_back(it->id + ":" + Hex(std::string_view(reinterpret_cast<char*>(mac), sizeof mac)));
    }
    return out;
}

std::string PiiVault::ActiveKeyId() {
    MaybeReload();
    std::shared_lock lock(mutex_);
    return keys_.back().id;
}

Result<std::string> PiiVault::AddKey() {
    if (!source_.env_key.empty()) {
        return Error::Conflict("keys_from_environment",
                               "The PII key comes from EMPORIUM_PII_KEY: set a new key there, list the old one in "
                               "EMPORIUM_PII_PREVIOUS_KEYS, restart, then run `emporium keys rotate`.");
    }
    std::string secret(32, '\0');
    randombytes_buf(secret.data(), secret.size());
    std::string id = KeyIdFor(secret);
    std::string line = id + " " + Base64(secret, sodium_base64_VARIANT_ORIGINAL) + "\n";
    sodium_memzero(secret.data(), secret.size());
    int fd = ::open(source_.key_file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open the PII key file " + source_.key_file);
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write the PII key file " + source_.key_file);
    std::unique_lock lock(mutex_);
    LoadLocked();
    return id;
}

// --- rotation across modules ------------------------------------------------------------------

void PiiVault::Register(db::Database& database, SealedTable table) {
    std::lock_guard lock(tables_mutex_);
    for (Registered& r : tables_) {
        if (r.table.table == table.table) {
            r = {&database, std::move(table)};
            return;
        }
    }
    tables_.push_back({&database, std::move(table)});
}

std::vector<PiiVault::Registered> PiiVault::Tables() {
    std::lock_guard lock(tables_mutex_);
    return tables_;
}

namespace {

// The SQL condition of a row with any column sealed by a key other than the active one, and its
// parameters. Column and table names come from the modules' own registrations, never from input.
std::pair<std::string, db::Params> StaleCondition(const SealedTable& t, const std::string& active) {
    const std::string sealed_now = std::string(kPrefix) + active + ".%";
    std::string sql;
    db::Params params;
    for (const SealedTable::Column& c : t.columns) {
        if (!sql.empty()) sql += " OR ";
        sql += "(" + c.column + " IS NOT NULL AND " + c.column + " <> '' AND " + c.column + " NOT LIKE ?)";
        params.emplace_back(sealed_now);
    }
    if (!t.also_stale_when.empty()) {
        sql += " OR (" + t.also_stale_when + ")";
        params.emplace_back(active);
    }
    std::string where = "(" + sql + ")";
    if (!t.only_where.empty()) where = "(" + t.only_where + ") AND " + where;
    return {where, params};
}

}  // namespace

std::vector<TableRotation> PiiVault::CountOnOldKeys() {
    const std::string active = ActiveKeyId();
    std::vector<TableRotation> out;
    for (const Registered& r : Tables()) {
        const auto stale = StaleCondition(r.table, active);
        std::int64_t n = r.database->Read([&](db::Connection& c) {
            return c.QueryInt("SELECT COUNT(*) FROM " + r.table.table + " WHERE " + stale.first, stale.second);
        });
        out.push_back({r.table.table, n});
    }
    return out;
}

std::vector<TableRotation> PiiVault::ReencryptBatch(std::int64_t batch) {
    const std::string active = ActiveKeyId();
    std::vector<TableRotation> out;
    for (const Registered& r : Tables()) {
        const SealedTable& t = r.table;
        // Named, not structured bindings: clang 14 (the sanitizer builds) cannot capture those.
        auto stale = StaleCondition(t, active);
        const std::string& where = stale.first;
        db::Params& params = stale.second;
        params.emplace_back(batch);
        std::string columns = t.id_column;
        for (const SealedTable::Column& c : t.columns) columns += ", " + c.column;
        std::int64_t changed = r.database->Write([&](db::Connection& c) {
            struct Row {
                db::Value id;
                std::vector<std::optional<std::string>> sealed;
            };
            std::vector<Row> rows;
            std::string sql = "SELECT ";
            sql.append(columns).append(" FROM ").append(t.table).append(" WHERE ").append(where).append(" LIMIT ?");
            c.Query(sql, params, [&](const db::Row& row) {
                Row one{row.Int(0), {}};
                for (std::size_t i = 0; i < t.columns.size(); ++i) {
                    const int col = static_cast<int>(i) + 1;
                    one.sealed.push_back(row.IsNull(col) || row.Text(col).empty()
                                             ? std::nullopt
                                             : std::optional<std::string>(row.Text(col)));
                }
                rows.push_back(std::move(one));
            });
            for (const Row& row : rows) {
                std::vector<std::optional<std::string>> plain;
                std::string sql;
                db::Params values;
                for (std::size_t i = 0; i < t.columns.size(); ++i) {
                    if (!row.sealed[i]) {
                        plain.emplace_back();  // NULL or empty: nothing sealed, left as it is
                        continue;
                    }
                    Result<std::string> opened = Decrypt(t.columns[i].field, *row.sealed[i]);
                    if (!opened.ok()) {
                        throw std::runtime_error(t.table + " " + std::to_string(std::get<std::int64_t>(row.id)) + " " +
                                                 t.columns[i].column + ": " + opened.error().message);
                    }
                    sql += (sql.empty() ? "" : ", ") + t.columns[i].column + " = ?";
                    values.emplace_back(Encrypt(t.columns[i].field, opened.value()));
                    plain.push_back(std::move(opened.value()));
                }
                if (t.extra_values) {
                    for (auto& [column, value] : t.extra_values(plain)) {
                        sql += (sql.empty() ? "" : ", ") + column + " = ?";
                        values.push_back(std::move(value));
                    }
                }
                if (sql.empty()) continue;
                values.push_back(row.id);
                c.Execute("UPDATE " + t.table + " SET " + sql + " WHERE " + t.id_column + " = ?", values);
            }
            return static_cast<std::int64_t>(rows.size());
        });
        out.push_back({t.table, changed});
    }
    return out;
}

}  // namespace emporium::accounts
