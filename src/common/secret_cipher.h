#pragma once

// AES-256-GCM for secrets kept at rest (LLM connection keys), in Langfuse's
// format so that values move between the servers unchanged:
//   hex(iv, 12 bytes) ":" hex(ciphertext) ":" hex(auth tag, 16 bytes)
// under the 32-byte key given as ENCRYPTION_KEY (64 hex characters).
//
// Each Encrypt() draws a fresh random IV. Decrypt() authenticates before it
// returns anything: a changed IV, ciphertext or tag, or another key, fails
// with kDataLoss; malformed input with kInvalidArgument. Immutable after
// construction, so safe to share between threads.

#include <array>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace loupe {

class SecretCipher {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr size_t kIvBytes = 12;
  static constexpr size_t kTagBytes = 16;

  // `hex_key`: 64 hex characters (either case).
  static absl::StatusOr<SecretCipher> FromHexKey(std::string_view hex_key);

  absl::StatusOr<std::string> Encrypt(std::string_view plaintext) const;
  absl::StatusOr<std::string> Decrypt(std::string_view stored) const;

 private:
  SecretCipher() = default;
  std::array<unsigned char, kKeyBytes> key_{};
};

}  // namespace loupe
