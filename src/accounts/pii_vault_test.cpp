#include "accounts/pii_vault.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace emporium::accounts {
namespace {

class PiiVaultTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("emporium-vault-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string KeyFile() const { return (dir_ / "pii.keys").string(); }

    std::filesystem::path dir_;
};

TEST_F(PiiVaultTest, RoundTripsAndHidesThePlaintext) {
    auto vault = PiiVault::Open({"", "", KeyFile()});
    std::string sealed = vault->Encrypt("email", "jane@example.com");
    EXPECT_EQ(sealed.find("jane"), std::string::npos);
    EXPECT_NE(vault->Encrypt("email", "jane@example.com"), sealed);  // fresh nonce each time
    EXPECT_EQ(vault->Decrypt("email", sealed).value(), "jane@example.com");
    EXPECT_EQ(PiiVault::KeyIdOf(sealed), vault->ActiveKeyId());
}

TEST_F(PiiVaultTest, CreatesItsKeyFileOwnerOnly) {
    PiiVault::Open({"", "", KeyFile()});
    struct stat st {};
    ASSERT_EQ(stat(KeyFile().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600);
    chmod(KeyFile().c_str(), 0644);
    EXPECT_THROW(PiiVault::Open({"", "", KeyFile()}), std::runtime_error);
}

TEST_F(PiiVaultTest, BindsTheFieldAndDetectsTampering) {
    auto vault = PiiVault::Open({"", "", KeyFile()});
    std::string sealed = vault->Encrypt("phone", "+6591234567");
    EXPECT_FALSE(vault->Decrypt("email", sealed).ok());  // moved to another field
    std::string tampered = sealed;
    tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(vault->Decrypt("phone", tampered).ok());
    EXPECT_FALSE(vault->Decrypt("phone", "p1.deadbeef.AAAA").ok());
    EXPECT_FALSE(vault->Decrypt("phone", "not a ciphertext").ok());
}

TEST_F(PiiVaultTest, BlindIndexIsStableAndKeyed) {
    auto a = PiiVault::Open({"", "", KeyFile()});
    EXPECT_EQ(a->BlindIndex("jane@example.com"), a->BlindIndex("jane@example.com"));
    EXPECT_NE(a->BlindIndex("jane@example.com"), a->BlindIndex("john@example.com"));
    EXPECT_EQ(a->BlindIndex("jane@example.com").find("jane"), std::string::npos);
    auto other = PiiVault::Open({"", "", (dir_ / "other.keys").string()});
    EXPECT_NE(a->BlindIndex("jane@example.com"), other->BlindIndex("jane@example.com"));
}

TEST_F(PiiVaultTest, RotationKeepsOldValuesReadableAndAnotherProcessSeesTheNewKey) {
    auto server = PiiVault::Open({"", "", KeyFile()});
    std::string old_key = server->ActiveKeyId();
    std::string old_sealed = server->Encrypt("name", "Jane Doe");
    std::vector<std::string> old_indexes = server->BlindIndexes("jane@example.com");

    auto rotator = PiiVault::Open({"", "", KeyFile()});  // as `emporium keys rotate` would
    std::string new_key = rotator->AddKey().value();
    EXPECT_NE(new_key, old_key);
    std::string new_sealed = rotator->Encrypt("name", "Jane Doe");
    EXPECT_EQ(PiiVault::KeyIdOf(new_sealed), new_key);
    EXPECT_EQ(rotator->Decrypt("name", old_sealed).value(), "Jane Doe");

    // The server has not reloaded yet, but a value under the unknown key makes it look.
    EXPECT_EQ(server->Decrypt("name", new_sealed).value(), "Jane Doe");
    EXPECT_EQ(server->ActiveKeyId(), new_key);
    std::vector<std::string> indexes = server->BlindIndexes("jane@example.com");
    ASSERT_EQ(indexes.size(), 2u);
    EXPECT_EQ(indexes[1], old_indexes[0]);  // old lookups still work during the rotation
}

TEST_F(PiiVaultTest, EnvironmentKeys) {
    const std::string key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const std::string next = "HxwdHhobGBkaFRYXEhMUEQ4PEA0KCwwJBgcIBQIDBAE=";
    auto before = PiiVault::Open({key, "", KeyFile()});
    std::string sealed = before->Encrypt("email", "a@b.co");
    EXPECT_FALSE(std::filesystem::exists(KeyFile()));  // no file when the key comes from the environment
    auto after = PiiVault::Open({next, key, KeyFile()});
    EXPECT_EQ(after->Decrypt("email", sealed).value(), "a@b.co");
    EXPECT_NE(after->ActiveKeyId(), before->ActiveKeyId());
    EXPECT_FALSE(after->AddKey().ok());
    EXPECT_THROW(PiiVault::Open({"too short", "", KeyFile()}), std::runtime_error);
}

TEST_F(PiiVaultTest, RotationCoversEveryRegisteredTableAndEveryColumn) {
    auto database = db::OpenSqlite({(dir_ / "shop.db").string(), 2, 1000, true, nullptr});
    auto vault = PiiVault::Open({"", "", KeyFile()});
    database->Write([&](db::Connection& c) {
        c.ExecuteScript(
            "CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT, y TEXT);"
            "CREATE TABLE b (id INTEGER PRIMARY KEY, kind TEXT, z TEXT NOT NULL);");
        for (int i = 0; i < 5; ++i) {
            c.Execute("INSERT INTO a (x, y) VALUES (?, ?)",
                      {vault->Encrypt("fx", "x" + std::to_string(i)),
                       i % 2 ? db::Value(nullptr) : db::Value(vault->Encrypt("fy", "y"))});
        }
        c.Execute("INSERT INTO b (kind, z) VALUES ('sealed', ?)", {vault->Encrypt("fz", "secret")});
        c.Execute("INSERT INTO b (kind, z) VALUES ('clear', 'https://example.org')");  // not ciphertext
    });
    // Two modules, two registrations; nothing in the vault names them.
    vault->Register(*database, SealedTable{"a", "id", {{"x", "fx"}, {"y", "fy"}}});
    SealedTable b{"b", "id", {{"z", "fz"}}};
    b.only_where = "kind = 'sealed'";
    vault->Register(*database, b);
    auto rows = [](const std::vector<TableRotation>& report) {
        std::vector<std::pair<std::string, std::int64_t>> out;
        out.reserve(report.size());
        for (const TableRotation& t : report) out.emplace_back(t.table, t.rows);
        return out;
    };
    using Rows = std::vector<std::pair<std::string, std::int64_t>>;
    EXPECT_EQ(rows(vault->CountOnOldKeys()), (Rows{{"a", 0}, {"b", 0}}));
    const std::string old_key = vault->ActiveKeyId();
    ASSERT_TRUE(vault->AddKey().ok());
    EXPECT_EQ(rows(vault->CountOnOldKeys()), (Rows{{"a", 5}, {"b", 1}}));
    EXPECT_EQ(rows(vault->ReencryptBatch(3)), (Rows{{"a", 3}, {"b", 1}}));
    EXPECT_EQ(rows(vault->ReencryptBatch(100)), (Rows{{"a", 2}, {"b", 0}}));
    EXPECT_EQ(rows(vault->CountOnOldKeys()), (Rows{{"a", 0}, {"b", 0}}));

    // One column left on the old key (a server that had not reloaded yet wrote it) is found even
    // though the row's other columns are new.
    std::string stale;
    {
        auto writer = PiiVault::Open({"", "", (dir_ / "old.keys").string()});  // a different, unknown key
        stale = writer->Encrypt("fy", "y");
    }
    database->Write([&](db::Connection& c) { c.Execute("UPDATE a SET y = ? WHERE id = 2", {stale}); });
    EXPECT_EQ(rows(vault->CountOnOldKeys()), (Rows{{"a", 1}, {"b", 0}}));
    // Its key is not in the ring: rotation says so instead of skipping the row.
    EXPECT_THROW(vault->ReencryptBatch(100), std::runtime_error);

    // Every value still reads with the new key alone, and the clear row was left as it was.
    database->Write([&](db::Connection& c) { c.Execute("UPDATE a SET y = NULL WHERE id = 2"); });
    database->Read([&](db::Connection& c) {
        c.Query("SELECT x FROM a", {}, [&](const db::Row& r) {
            EXPECT_NE(PiiVault::KeyIdOf(r.Text(0)), old_key);
            EXPECT_TRUE(vault->Decrypt("fx", r.Text(0)).ok());
        });
        EXPECT_EQ(c.QueryInt("SELECT COUNT(*) FROM b WHERE z = 'https://example.org'"), 1);
    });
}

}  // namespace
}  // namespace emporium::accounts
