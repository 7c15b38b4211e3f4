#include "auth/api_key_auth.h"

#include "common/hash.h"

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

ApiKeyAuthenticator::ApiKeyAuthenticator(MetaStore& meta, std::string salt)
    : meta_(meta), salt_hash_hex_(Sha256Hex(salt)) {}

std::string ApiKeyAuthenticator::HashSecret(std::string_view secret_key) const {
  std::string input(secret_key);
  input += salt_hash_hex_;
  return Sha256Hex(input);
}

std::string ApiKeyAuthenticator::DisplaySecretKey(std::string_view sk) {
  if (sk.size() <= 10) return std::string(sk);
  return std::string(sk.substr(0, 6)) + "..." + std::string(sk.substr(sk.size() - 4));
}

void ApiKeyAuthenticator::Invalidate() {
  std::lock_guard lock(mu_);
  by_secret_hash_.clear();
  by_public_key_.clear();
}

absl::StatusOr<AuthContext> ApiKeyAuthenticator::Authenticate(std::string_view header) {
  if (header.empty()) return Unauthenticated("No authorization header provided");
  auto now = std::chrono::steady_clock::now();
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
    {
      std::lock_guard lock(mu_);
      auto it = by_secret_hash_.find(hash);
      if (it != by_secret_hash_.end() && it->second.expires > now) return it->second.context;
    }
    auto key = meta_.FindApiKeyByHash(hash);
    if (!key.ok()) return absl::UnavailableError("Authentication store unavailable");
    if (!*key) return Unauthenticated("Invalid credentials");
    AuthContext ctx = ContextOf(**key);
    std::lock_guard lock(mu_);
    by_secret_hash_[hash] = CacheEntry{ctx, now + kCacheTtl};
    return ctx;
  }
  if (scheme == "Bearer" || scheme == "bearer") {
    std::string public_key(credentials);
    if (public_key.empty()) return Unauthenticated("Invalid authorization header: empty token");
    {
      std::lock_guard lock(mu_);
      auto it = by_public_key_.find(public_key);
      if (it != by_public_key_.end() && it->second.expires > now) return it->second.context;
    }
    auto key = meta_.FindApiKeyByPublicKey(public_key);
    if (!key.ok()) return absl::UnavailableError("Authentication store unavailable");
    if (!*key || (*key)->scope != "PROJECT") return Unauthenticated("Invalid public key");
    AuthContext ctx = ContextOf(**key);
    ctx.scope = AuthContext::Scope::kScores;
    std::lock_guard lock(mu_);
    by_public_key_[public_key] = CacheEntry{ctx, now + kCacheTtl};
    return ctx;
  }
  return Unauthenticated("Invalid authorization header: expected Basic or Bearer");
}

}  // namespace loupe
