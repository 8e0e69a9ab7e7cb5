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

}  // namespace
}  // namespace emporium::accounts
