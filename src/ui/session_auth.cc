#include "ui/session_auth.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "common/hash.h"
#include "common/log.h"
#include "common/time_util.h"

namespace loupe {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::optional<int64_t> EnvInt(const char* name) {
  std::string v = Env(name);
  if (v.empty()) return std::nullopt;
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (end == v.c_str() || *end != '\0' || n <= 0) {
    LogWarn("ignoring malformed setting", {{"name", name}, {"value", v}});
    return std::nullopt;
  }
  return n;
}

// Like SALT: a zero-configuration start must still sign cookies with a
// secret that survives restarts, so one is generated and kept next to the data.
absl::StatusOr<std::string> LoadOrCreateSecret(const std::string& data_dir) {
  std::string path = data_dir + "/nextauth_secret";
  std::ifstream in(path);
  std::string secret;
  if (in && std::getline(in, secret) && !secret.empty()) return secret;
  secret = RandomHex(32);
  std::ofstream out(path, std::ios::trunc);
  out << secret << "\n";
  out.close();
  if (!out) return absl::UnavailableError("cannot write " + path);
  ::chmod(path.c_str(), 0600);
  LogWarn("NEXTAUTH_SECRET is not set; generated one and stored it in the data directory",
          {{"path", path}});
  return secret;
}

}  // namespace

absl::StatusOr<UiAuthOptions> UiAuthOptionsFromEnv(const std::string& data_dir,
                                                   const std::string& public_url) {
  UiAuthOptions o;
  o.secret = Env("NEXTAUTH_SECRET");
  if (o.secret.empty()) {
    auto s = LoadOrCreateSecret(data_dir);
    if (!s.ok()) return s.status();
    o.secret = *s;
  }
  o.secure_cookies = public_url.rfind("https://", 0) == 0;
  if (auto m = EnvInt("AUTH_SESSION_MAX_AGE")) o.session_max_age_ms = *m * 60 * 1000;
  if (auto s = EnvInt("LOUPE_UI_SESSION_SECONDS")) o.session_max_age_ms = *s * 1000;
  o.signup_disabled = Env("AUTH_DISABLE_SIGNUP") == "true";
  if (auto n = EnvInt("LOUPE_SIGNIN_MAX_FAILURES")) o.max_failures = static_cast<int>(*n);
  if (auto w = EnvInt("LOUPE_SIGNIN_WINDOW_SECONDS")) o.failure_window_ms = *w * 1000;
  return o;
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 15]);
  }
  return out;
}

std::string HashNewPassword(const std::string& password) {
  constexpr uint32_t kTime = 2, kMemoryKiB = 19456, kLanes = 1, kHashLen = 32, kSaltLen = 16;
  std::string salt = RandomHex(kSaltLen / 2);  // 16 hex characters = 16 salt bytes
  size_t len = argon2_encodedlen(kTime, kMemoryKiB, kLanes, kSaltLen, kHashLen, Argon2_id);
  std::string out(len, '\0');
  int rc = argon2id_hash_encoded(kTime, kMemoryKiB, kLanes, password.data(), password.size(),
                                 salt.data(), kSaltLen, kHashLen, out.data(), out.size());
  if (rc != ARGON2_OK) return "";
  out.resize(std::strlen(out.c_str()));
  return out;
}

bool VerifyPassword(const std::string& encoded_hash, const std::string& password) {
  argon2_type type = Argon2_id;
  if (encoded_hash.rfind("$argon2i$", 0) == 0) type = Argon2_i;
  if (encoded_hash.rfind("$argon2d$", 0) == 0) type = Argon2_d;
  return argon2_verify(encoded_hash.c_str(), password.data(), password.size(), type) == ARGON2_OK;
}

SessionManager::SessionManager(MetaStore& meta, UiAuthOptions options)
    : meta_(meta), options_(std::move(options)) {}

std::string SessionManager::cookie_name() const {
  return options_.secure_cookies ? "__Host-loupe-session" : "loupe-session";
}

absl::StatusOr<std::string> SessionManager::Create(const std::string& user_id) {
  const std::string token = RandomHex(32);
  UserSessionRecord rec;
  rec.token_hash = Sha256Hex(token);
  rec.user_id = user_id;
  rec.created_at_ms = NowMillis();
  rec.expires_at_ms = rec.created_at_ms + options_.session_max_age_ms;
  if (absl::Status s = meta_.CreateUserSession(rec); !s.ok()) return s;
  return token + "." + HmacSha256Hex(options_.secret, token);
}

std::optional<std::string> SessionManager::VerifiedToken(std::string_view value) const {
  size_t dot = value.find('.');
  if (dot == std::string_view::npos || dot != 64 || value.size() != 64 + 1 + 64) {
    return std::nullopt;
  }
  std::string token(value.substr(0, dot));
  std::string expected = HmacSha256Hex(options_.secret, token);
  std::string_view given = value.substr(dot + 1);
  // Constant time, so the signature cannot be found byte by byte.
  if (CRYPTO_memcmp(expected.data(), given.data(), expected.size()) != 0) return std::nullopt;
  return token;
}

absl::StatusOr<std::optional<UserSessionRecord>> SessionManager::Validate(
    std::string_view cookie_value) {
  std::optional<std::string> token = VerifiedToken(cookie_value);
  if (!token) return std::optional<UserSessionRecord>();
  const std::string hash = Sha256Hex(*token);
  auto rec = meta_.GetUserSession(hash);
  if (!rec.ok()) return rec.status();
  if (!*rec) return std::optional<UserSessionRecord>();
  if ((*rec)->expires_at_ms <= NowMillis()) {
    (void)meta_.DeleteUserSession(hash);
    return std::optional<UserSessionRecord>();
  }
  return rec;
}

absl::Status SessionManager::Revoke(std::string_view cookie_value) {
  std::optional<std::string> token = VerifiedToken(cookie_value);
  if (!token) return absl::OkStatus();
  return meta_.DeleteUserSession(Sha256Hex(*token));
}

std::string SessionManager::SetCookie(const std::string& value) const {
  std::string c = cookie_name() + "=" + value + "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" +
                  std::to_string(options_.session_max_age_ms / 1000);
  if (options_.secure_cookies) c += "; Secure";
  return c;
}

std::string SessionManager::ClearCookie() const {
  std::string c = cookie_name() + "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0";
  if (options_.secure_cookies) c += "; Secure";
  return c;
}

std::string SessionManager::CookieFrom(std::string_view header) const {
  const std::string name = cookie_name();
  size_t i = 0;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ';')) ++i;
    size_t end = header.find(';', i);
    if (end == std::string_view::npos) end = header.size();
    std::string_view pair = header.substr(i, end - i);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      return std::string(pair.substr(eq + 1));
    }
    i = end;
  }
  return "";
}

void AttemptLimiter::Prune(std::deque<int64_t>& times, int64_t now_ms) const {
  while (!times.empty() && times.front() <= now_ms - window_ms_) times.pop_front();
}

int64_t AttemptLimiter::RetryAfterMs(const std::string& key, int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = attempts_.find(key);
  if (it == attempts_.end()) return 0;
  Prune(it->second, now_ms);
  if (it->second.empty()) {
    attempts_.erase(it);
    return 0;
  }
  if (static_cast<int>(it->second.size()) < max_attempts_) return 0;
  return it->second.front() + window_ms_ - now_ms;
}

void AttemptLimiter::Record(const std::string& key, int64_t now_ms) {
  std::lock_guard lock(mu_);
  // Bounded memory under a flood of distinct keys: drop idle keys first.
  if (attempts_.size() > 100000) {
    for (auto it = attempts_.begin(); it != attempts_.end();) {
      Prune(it->second, now_ms);
      it = it->second.empty() ? attempts_.erase(it) : std::next(it);
    }
  }
  auto& times = attempts_[key];
  Prune(times, now_ms);
  times.push_back(now_ms);
  // More than max_attempts_ entries are never needed to answer RetryAfterMs.
  while (static_cast<int>(times.size()) > max_attempts_) times.pop_front();
}

void AttemptLimiter::Clear(const std::string& key) {
  std::lock_guard lock(mu_);
  attempts_.erase(key);
}

}  // namespace loupe
