#pragma once

// API key authentication for the public API, as Langfuse does it:
//  - Basic base64(publicKey:secretKey): the key is found by the salted fast
//    hash of the secret (sha256_hex(secret || sha256_hex(SALT))), never by a
//    stored secret; full project (or organization) scope.
//  - Bearer <publicKey>: "scores" scope, accepted only where scores are sent.
// Successful lookups are cached in memory for kCacheTtl; a key's cache entry
// is dropped when the key changes through Invalidate().
//
// Thread-safe.

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "storage/meta_store.h"

namespace loupe {

struct AuthContext {
  enum class Scope { kProject, kOrganization, kScores };
  Scope scope = Scope::kProject;
  std::string project_id;  // empty for organization keys
  std::string org_id;
  std::string public_key;
  std::string api_key_id;
};

class ApiKeyAuthenticator {
 public:
  ApiKeyAuthenticator(MetaStore& meta, std::string salt);

  // Returns the caller's context, or kUnauthenticated with a message meant for
  // the client, or kUnavailable when the store cannot be reached.
  absl::StatusOr<AuthContext> Authenticate(std::string_view authorization_header);

  // The stored form of a secret key.
  std::string HashSecret(std::string_view secret_key) const;

  // Drops every cached entry (after keys are created, changed or revoked).
  void Invalidate();

  // "sk-lf-1234...abcd"
  static std::string DisplaySecretKey(std::string_view secret_key);

 private:
  static constexpr std::chrono::seconds kCacheTtl{300};

  struct CacheEntry {
    AuthContext context;
    std::chrono::steady_clock::time_point expires;
  };

  MetaStore& meta_;
  const std::string salt_hash_hex_;  // sha256_hex(SALT)

  std::mutex mu_;
  std::unordered_map<std::string, CacheEntry> by_secret_hash_;  // guarded by mu_
  std::unordered_map<std::string, CacheEntry> by_public_key_;   // guarded by mu_
};

}  // namespace loupe
