#pragma once

// Signed, expiring tokens for the blob URLs Loupe serves itself (the role an
// S3 presigned URL plays in Langfuse): whoever holds the token may perform
// the one operation it names until it expires, without an API key.
//
// Token: base64url(payload) "." expiry (Unix seconds, decimal) "."
// base64url(HMAC-SHA256(secret, purpose "\n" expiry "\n" payload)).
// The purpose ("media-upload", "media-download") is signed but not carried,
// so a token minted for one operation never verifies for another. Payloads
// are opaque bytes chosen by the caller; they are signed, not encrypted.
//
// Thread-safe: the signer is immutable after construction.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace loupe {

class UrlSigner {
 public:
  // `secret` should be at least 32 random bytes.
  explicit UrlSigner(std::string secret) : secret_(std::move(secret)) {}

  std::string Sign(std::string_view purpose, std::string_view payload, int64_t expires_at_s) const;

  // The payload of a genuine, unexpired token for `purpose`. Malformed or
  // forged tokens are kPermissionDenied, expired ones kDeadlineExceeded (the
  // signature is checked first, so expiry is only reported for real tokens).
  absl::StatusOr<std::string> Verify(std::string_view purpose, std::string_view token,
                                     int64_t now_s) const;

 private:
  std::string Mac(std::string_view purpose, std::string_view expiry,
                  std::string_view payload) const;

  std::string secret_;
};

// Base64url (RFC 4648 §5) without padding, and its inverse (false on
// characters outside the alphabet).
std::string Base64UrlEncode(std::string_view data);
bool Base64UrlDecode(std::string_view in, std::string* out);

// Loads the secret kept in `path`, creating it (32 random bytes, mode 0600)
// on first use so that URLs stay valid across restarts.
absl::StatusOr<std::string> LoadOrCreateSecretFile(const std::string& path);

}  // namespace loupe
