#pragma once

// API key authentication for the public API, as Langfuse does it:
//  - Basic base64(publicKey:secretKey): the key is found by the salted fast
//    hash of the secret (sha256_hex(secret || sha256_hex(SALT))), never by a
//    stored secret; full project (or organization) scope.
//  - Bearer <publicKey>: "scores" scope, accepted only where scores are sent.
// Successful lookups are cached in memory for kCacheTtl; a key's cache entry
// is dropped when the key changes through Invalidate(). A key past its
// expiresAt is refused (cached or not). Each key's lastUsedAt is recorded at
// most once per kLastUsedInterval, so authentication stays a memory lookup.
//
// Thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "common/shared_epoch.h"
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
  // `now_ms` is the wall clock (epoch milliseconds); tests pass their own.
  ApiKeyAuthenticator(MetaStore& meta, std::string salt, std::function<int64_t()> now_ms = nullptr);

  // Returns the caller's context, or kUnauthenticated with a message meant for
  // the client, or kUnavailable when the store cannot be reached.
  absl::StatusOr<AuthContext> Authenticate(std::string_view authorization_header);

  // The stored form of a secret key.
  std::string HashSecret(std::string_view secret_key) const;

  // Drops every cached entry (after keys are created, changed or revoked),
  // here and, through the shared epoch, in the other processes.
  void Invalidate();

  // Processes sharing a MetaStore share invalidations through `epoch` (not
  // owned): a key revoked through one stops working on every other within
  // kEpochCheckInterval. Set before the first request.
  void SetSharedEpoch(SharedEpoch* epoch) { epoch_ = epoch; }

  // "sk-lf-1234...abcd"
  static std::string DisplaySecretKey(std::string_view secret_key);

 private:
  static constexpr std::chrono::seconds kCacheTtl{300};
  static constexpr int64_t kLastUsedIntervalMs = 60'000;
  static constexpr std::chrono::seconds kEpochCheckInterval{1};

  // Drops the caches when the shared epoch moved since the last look; looks
  // at most once per kEpochCheckInterval.
  void CheckSharedEpoch(std::chrono::steady_clock::time_point now);

  struct CacheEntry {
    AuthContext context;
    std::optional<int64_t> key_expires_at_ms;  // the key's expiresAt
    std::chrono::steady_clock::time_point expires;
  };

  // What a request with a known key gets: its context or the expiry error,
  // and whether this use is to be written (record_use implies an OK result).
  struct Admission {
    absl::StatusOr<AuthContext> result;
    bool record_use = false;
  };
  // Requires mu_. Checks expiry and claims the write of this use unless one
  // was claimed less than kLastUsedIntervalMs before. `stored_last_used` is
  // the stored lastUsedAt of a key just loaded from the store.
  Admission AdmitLocked(const CacheEntry& entry, int64_t now_ms,
                        std::optional<int64_t> stored_last_used);

  // A key found in the store, with the context it gives.
  struct LoadedKey {
    AuthContext context;
    ApiKeyRecord record;
  };
  // The outcome for the key cached in `table` under `cache_key`, or loaded
  // by `load` (which may also answer with the error to return) and cached;
  // writes the use when AdmitLocked() claimed it.
  absl::StatusOr<AuthContext> Lookup(std::unordered_map<std::string, CacheEntry>& table,
                                     const std::string& cache_key,
                                     std::chrono::steady_clock::time_point now,
                                     const std::function<absl::StatusOr<LoadedKey>()>& load);

  MetaStore& meta_;
  const std::string salt_hash_hex_;  // sha256_hex(SALT)
  const std::function<int64_t()> now_ms_;

  std::mutex mu_;
  std::unordered_map<std::string, CacheEntry> by_secret_hash_;  // guarded by mu_
  std::unordered_map<std::string, CacheEntry> by_public_key_;   // guarded by mu_
  // Key id → when its use was last recorded; kept across Invalidate().
  std::unordered_map<std::string, int64_t> last_recorded_ms_;  // guarded by mu_

  SharedEpoch* epoch_ = nullptr;
  std::mutex epoch_mu_;                                       // one reader of the epoch at a time
  std::chrono::steady_clock::time_point next_epoch_check_{};  // guarded by epoch_mu_
  std::optional<int64_t> seen_epoch_;                         // guarded by epoch_mu_
};

}  // namespace loupe
