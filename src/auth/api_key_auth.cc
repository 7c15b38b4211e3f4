#include "auth/api_key_auth.h"

#include "common/hash.h"
#include "common/log.h"
#include "common/time_util.h"
#include "common/utf8.h"

namespace loupe {
namespace {

absl::Status Unauthenticated(std::string_view what) {
  return absl::UnauthenticatedError(std::string(what) +
                                    ". Confirm that you've configured the correct host.");
}

AuthContext ContextOf(const ApiKeyRecord& key) {
  AuthContext ctx;
  ctx.scope = key.scope == "ORGANIZATION" ? AuthContext::Scope::kOrganization
                                          : AuthContext::Scope::kProject;
  ctx.project_id = key.project_id;
  ctx.org_id = key.org_id;
  ctx.public_key = key.public_key;
  ctx.api_key_id = key.id;
  return ctx;
}

}  // namespace

ApiKeyAuthenticator::ApiKeyAuthenticator(MetaStore& meta, std::string salt,
                                         std::function<int64_t()> now_ms)
    : meta_(meta),
      salt_hash_hex_(Sha256Hex(salt)),
      now_ms_(now_ms ? std::move(now_ms) : std::function<int64_t()>(NowMillis)) {}

std::string ApiKeyAuthenticator::HashSecret(std::string_view secret_key) const {
  std::string input(secret_key);
  input += salt_hash_hex_;
  return Sha256Hex(input);
}

std::string ApiKeyAuthenticator::DisplaySecretKey(std::string_view sk) {
  if (Utf8Length(sk) <= 10) return std::string(sk);
  return std::string(Utf8Prefix(sk, 6)) + "..." + std::string(Utf8Suffix(sk, 4));
}

void ApiKeyAuthenticator::Invalidate() {
  {
    std::lock_guard lock(mu_);
    by_secret_hash_.clear();
    by_public_key_.clear();
  }
  if (epoch_) {
    if (absl::Status s = epoch_->Bump(); !s.ok()) {
      LogWarn(
          "API key change not announced to other processes; their caches expire within 5 "
          "minutes",
          {{"error", s.ToString()}});
    }
  }
}

void ApiKeyAuthenticator::CheckSharedEpoch(std::chrono::steady_clock::time_point now) {
  if (!epoch_) return;
  std::unique_lock epoch_lock(epoch_mu_, std::try_to_lock);
  // Another request is looking already; this one goes on with the cache.
  if (!epoch_lock.owns_lock() || now < next_epoch_check_) return;
  next_epoch_check_ = now + kEpochCheckInterval;
  absl::StatusOr<int64_t> current = epoch_->Read();
  if (!current.ok()) return;  // keep the cache; it still expires by time
  if (seen_epoch_ && *seen_epoch_ != *current) {
    std::lock_guard lock(mu_);
    by_secret_hash_.clear();
    by_public_key_.clear();
  }
  seen_epoch_ = *current;
}

absl::StatusOr<AuthContext> ApiKeyAuthenticator::Authenticate(std::string_view header) {
  if (header.empty()) return Unauthenticated("No authorization header provided");
  auto now = std::chrono::steady_clock::now();
  CheckSharedEpoch(now);
  size_t space = header.find(' ');
  std::string_view scheme = header.substr(0, space);
  std::string_view credentials =
      space == std::string_view::npos ? std::string_view() : header.substr(space + 1);
  while (!credentials.empty() && credentials.front() == ' ') credentials.remove_prefix(1);

  if (scheme == "Basic" || scheme == "basic") {
    std::string decoded;
    if (!Base64Decode(credentials, &decoded)) {
      return Unauthenticated("Invalid authorization header: malformed Basic credentials");
    }
    size_t colon = decoded.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == decoded.size()) {
      return Unauthenticated("Invalid authorization header: expected publicKey:secretKey");
    }
    std::string hash = HashSecret(std::string_view(decoded).substr(colon + 1));
    return Lookup(by_secret_hash_, hash, now, [&]() -> absl::StatusOr<LoadedKey> {
      auto key = meta_.FindApiKeyByHash(hash);
      if (!key.ok()) return absl::UnavailableError("Authentication store unavailable");
      if (!*key) return Unauthenticated("Invalid credentials");
      return LoadedKey{ContextOf(**key), **key};
    });
  }
  if (scheme == "Bearer" || scheme == "bearer") {
    std::string public_key(credentials);
    if (public_key.empty()) return Unauthenticated("Invalid authorization header: empty token");
    return Lookup(by_public_key_, public_key, now, [&]() -> absl::StatusOr<LoadedKey> {
      auto key = meta_.FindApiKeyByPublicKey(public_key);
      if (!key.ok()) return absl::UnavailableError("Authentication store unavailable");
      if (!*key || (*key)->scope != "PROJECT") return Unauthenticated("Invalid public key");
      LoadedKey loaded{ContextOf(**key), **key};
      loaded.context.scope = AuthContext::Scope::kScores;
      return loaded;
    });
  }
  return Unauthenticated("Invalid authorization header: expected Basic or Bearer");
}

absl::StatusOr<AuthContext> ApiKeyAuthenticator::Lookup(
    std::unordered_map<std::string, CacheEntry>& table, const std::string& cache_key,
    std::chrono::steady_clock::time_point now,
    const std::function<absl::StatusOr<LoadedKey>()>& load) {
  const int64_t now_ms = now_ms_();
  std::optional<Admission> admission;
  {
    std::lock_guard lock(mu_);
    auto it = table.find(cache_key);
    if (it != table.end() && it->second.expires > now) {
      admission = AdmitLocked(it->second, now_ms, std::nullopt);
    }
  }
  if (!admission) {
    absl::StatusOr<LoadedKey> loaded = load();
    if (!loaded.ok()) return loaded.status();
    CacheEntry entry{std::move(loaded->context), loaded->record.expires_at_ms, now + kCacheTtl};
    std::lock_guard lock(mu_);
    admission = AdmitLocked(entry, now_ms, loaded->record.last_used_at_ms);
    table[cache_key] = std::move(entry);
  }
  // One small write per key and minute, outside the lock; a failure only
  // loses the stamp.
  if (admission->record_use) {
    const std::string& key_id = admission->result->api_key_id;
    if (absl::Status s = meta_.TouchApiKey(key_id, now_ms); !s.ok()) {
      LogWarn("could not record API key use", {{"key_id", key_id}, {"error", s.ToString()}});
    }
  }
  return std::move(admission->result);
}

ApiKeyAuthenticator::Admission ApiKeyAuthenticator::AdmitLocked(
    const CacheEntry& entry, int64_t now_ms, std::optional<int64_t> stored_last_used) {
  Admission a{entry.context, false};
  if (entry.key_expires_at_ms && *entry.key_expires_at_ms <= now_ms) {
    a.result = Unauthenticated("API key " + entry.context.public_key + " expired at " +
                               FormatIsoMillis(*entry.key_expires_at_ms));
    return a;
  }
  auto [it, inserted] =
      last_recorded_ms_.try_emplace(entry.context.api_key_id, stored_last_used.value_or(INT64_MIN));
  if (!inserted && stored_last_used && *stored_last_used > it->second) {
    it->second = *stored_last_used;
  }
  if (it->second == INT64_MIN || now_ms - it->second >= kLastUsedIntervalMs) {
    it->second = now_ms;  // claimed under the lock: one writer per key and interval
    a.record_use = true;
  }
  return a;
}

}  // namespace loupe
