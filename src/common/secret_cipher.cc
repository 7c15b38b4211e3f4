#include "common/secret_cipher.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <vector>

namespace loupe {
namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherCtx NewCtx() { return CipherCtx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free); }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool HexDecode(std::string_view hex, std::vector<unsigned char>* out) {
  if (hex.size() % 2 != 0) return false;
  out->clear();
  out->reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexDigit(hex[i]);
    int lo = HexDigit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<unsigned char>(hi * 16 + lo));
  }
  return true;
}

std::string HexEncode(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

absl::Status CryptoError(const char* what) {
  return absl::InternalError(std::string("AES-256-GCM: ") + what + " failed");
}

}  // namespace

absl::StatusOr<SecretCipher> SecretCipher::FromHexKey(std::string_view hex_key) {
  std::vector<unsigned char> key;
  if (hex_key.size() != kKeyBytes * 2 || !HexDecode(hex_key, &key)) {
    return absl::InvalidArgumentError(
        "ENCRYPTION_KEY must be 256 bits, 64 hex characters (generate one with `openssl rand "
        "-hex 32`)");
  }
  SecretCipher cipher;
  std::copy(key.begin(), key.end(), cipher.key_.begin());
  return cipher;
}

absl::StatusOr<std::string> SecretCipher::Encrypt(std::string_view plaintext) const {
  unsigned char iv[kIvBytes];
  if (RAND_bytes(iv, sizeof(iv)) != 1) return CryptoError("random IV");
  CipherCtx ctx = NewCtx();
  if (!ctx) return CryptoError("context allocation");
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kIvBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), iv) != 1) {
    return CryptoError("encryption setup");
  }
  std::vector<unsigned char> out(plaintext.size() + kTagBytes);
  int len = 0;
  if (EVP_EncryptUpdate(ctx.get(), out.data(), &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1) {
    return CryptoError("encryption");
  }
  int total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + total, &len) != 1) {
    return CryptoError("encryption");
  }
  total += len;
  unsigned char tag[kTagBytes];
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, tag) != 1) {
    return CryptoError("tag");
  }
  return HexEncode(iv, kIvBytes) + ":" + HexEncode(out.data(), static_cast<size_t>(total)) + ":" +
         HexEncode(tag, kTagBytes);
}

absl::StatusOr<std::string> SecretCipher::Decrypt(std::string_view stored) const {
  size_t first = stored.find(':');
  size_t second = first == std::string_view::npos ? first : stored.find(':', first + 1);
  if (second == std::string_view::npos || stored.find(':', second + 1) != std::string_view::npos) {
    return absl::InvalidArgumentError("encrypted value: expected iv:ciphertext:tag");
  }
  std::vector<unsigned char> iv, ciphertext, tag;
  if (!HexDecode(stored.substr(0, first), &iv) ||
      !HexDecode(stored.substr(first + 1, second - first - 1), &ciphertext) ||
      !HexDecode(stored.substr(second + 1), &tag) || iv.size() != kIvBytes ||
      tag.size() != kTagBytes) {
    return absl::InvalidArgumentError("encrypted value: malformed hex parts");
  }
  CipherCtx ctx = NewCtx();
  if (!ctx) return CryptoError("context allocation");
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kIvBytes, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), iv.data()) != 1) {
    return CryptoError("decryption setup");
  }
  std::string out(ciphertext.size(), '\0');
  int len = 0;
  if (!ciphertext.empty() &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                        ciphertext.data(), static_cast<int>(ciphertext.size())) != 1) {
    return CryptoError("decryption");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1) {
    return CryptoError("tag");
  }
  int final_len = 0;
  // The tag is verified here; nothing is returned unless it matches.
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len,
                          &final_len) != 1) {
    return absl::DataLossError("encrypted value: authentication failed (wrong key or tampered)");
  }
  out.resize(static_cast<size_t>(len + final_len));
  return out;
}

}  // namespace loupe
