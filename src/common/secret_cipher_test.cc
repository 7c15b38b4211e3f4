#include "common/secret_cipher.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

namespace loupe {
namespace {

constexpr const char* kKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

TEST(SecretCipherTest, RoundTripInLangfuseFormat) {
  auto cipher = SecretCipher::FromHexKey(kKey);
  ASSERT_TRUE(cipher.ok()) << cipher.status();
  for (std::string plain : {std::string("sk-proj-abcdef1234567890"), std::string(),
                            std::string(5000, 'x'), std::string("{\"ü\":\"\\u0000\"}")}) {
    auto stored = cipher->Encrypt(plain);
    ASSERT_TRUE(stored.ok()) << stored.status();
    // hex(iv12):hex(ciphertext):hex(tag16)
    size_t a = stored->find(':');
    size_t b = stored->find(':', a + 1);
    ASSERT_NE(b, std::string::npos);
    EXPECT_EQ(a, 24u);
    EXPECT_EQ(b - a - 1, plain.size() * 2);
    EXPECT_EQ(stored->size() - b - 1, 32u);
    EXPECT_EQ(stored->find_first_not_of("0123456789abcdef:"), std::string::npos);
    auto back = cipher->Decrypt(*stored);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, plain);
  }
}

TEST(SecretCipherTest, FreshIvEachTime) {
  auto cipher = SecretCipher::FromHexKey(kKey);
  ASSERT_TRUE(cipher.ok());
  EXPECT_NE(*cipher->Encrypt("same"), *cipher->Encrypt("same"));
}

TEST(SecretCipherTest, DetectsTamperingAndWrongKeys) {
  auto cipher = SecretCipher::FromHexKey(kKey);
  ASSERT_TRUE(cipher.ok());
  std::string stored = *cipher->Encrypt("sk-secret-value");
  // Flip one hex digit in each part: IV, ciphertext, tag.
  for (size_t pos : {size_t{0}, stored.find(':') + 1, stored.size() - 1}) {
    std::string tampered = stored;
    tampered[pos] = tampered[pos] == '0' ? '1' : '0';
    auto r = cipher->Decrypt(tampered);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << pos;
  }
  auto other = SecretCipher::FromHexKey(std::string(64, 'a'));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->Decrypt(stored).status().code(), absl::StatusCode::kDataLoss);
}

TEST(SecretCipherTest, RejectsMalformedInput) {
  EXPECT_FALSE(SecretCipher::FromHexKey("abc").ok());
  EXPECT_FALSE(SecretCipher::FromHexKey(std::string(64, 'g')).ok());
  auto cipher = SecretCipher::FromHexKey(kKey);
  ASSERT_TRUE(cipher.ok());
  for (const char* bad :
       {"", "abc", "00:11", "zz:11:22", "00:11:22:33", "000000000000000000000000:00:00"}) {
    EXPECT_EQ(cipher->Decrypt(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

// A value produced the way Langfuse's Node code does it (createCipheriv with
// the same key, IV and plaintext), computed here independently with the raw
// EVP API, decrypts to the same plaintext.
TEST(SecretCipherTest, ReadsValuesEncryptedElsewhere) {
  unsigned char key[32];
  for (int i = 0; i < 32; ++i) key[i] = static_cast<unsigned char>(i);
  unsigned char iv[12] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
  const std::string plain = "sk-ant-api03-test";
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, iv);
  unsigned char ct[64];
  int len = 0;
  EVP_EncryptUpdate(ctx, ct, &len, reinterpret_cast<const unsigned char*>(plain.data()),
                    static_cast<int>(plain.size()));
  int fin = 0;
  EVP_EncryptFinal_ex(ctx, ct + len, &fin);
  unsigned char tag[16];
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
  EVP_CIPHER_CTX_free(ctx);
  auto hex = [](const unsigned char* p, size_t n) {
    std::string s;
    char buf[3];
    for (size_t i = 0; i < n; ++i) {
      std::snprintf(buf, sizeof(buf), "%02x", p[i]);
      s += buf;
    }
    return s;
  };
  std::string stored =
      hex(iv, 12) + ":" + hex(ct, static_cast<size_t>(len + fin)) + ":" + hex(tag, 16);
  auto cipher = SecretCipher::FromHexKey(kKey);
  ASSERT_TRUE(cipher.ok());
  auto back = cipher->Decrypt(stored);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, plain);
}

}  // namespace
}  // namespace loupe
