#pragma once

// Web UI sign-in sessions: an opaque random token in an HTTP-only cookie,
// signed with NEXTAUTH_SECRET (HMAC-SHA256) and backed by a server-side
// record (MetaStore user sessions), so that signing out or expiry ends the
// session for good, and a copy of the database holds only token hashes.
//
// Also the sign-in rate limiter and the UI's settings from the environment.
//
// Thread-safe.

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "storage/meta_store.h"

namespace loupe {

struct UiAuthOptions {
  // NEXTAUTH_SECRET; when unset, generated once and kept in the data dir.
  std::string secret;
  // Cookies get `Secure` (and the __Host- name) when NEXTAUTH_URL is https.
  bool secure_cookies = false;
  // AUTH_SESSION_MAX_AGE (minutes, Langfuse's default 30 days), or
  // LOUPE_UI_SESSION_SECONDS for finer control.
  int64_t session_max_age_ms = int64_t{30} * 24 * 3600 * 1000;
  // AUTH_DISABLE_SIGNUP=true turns sign-up off (invited users only).
  bool signup_disabled = false;
  // Sign-in failures allowed per email within the window before sign-in is
  // refused with 429 (LOUPE_SIGNIN_MAX_FAILURES, LOUPE_SIGNIN_WINDOW_SECONDS).
  // Each IP address gets four times as many.
  int max_failures = 5;
  int64_t failure_window_ms = 15 * 60 * 1000;
};

// Reads the options from the environment. `public_url` is NEXTAUTH_URL (may
// be empty). Fails only when a generated secret cannot be stored.
absl::StatusOr<UiAuthOptions> UiAuthOptionsFromEnv(const std::string& data_dir,
                                                   const std::string& public_url);

// Lowercase hex HMAC-SHA256.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// An argon2id hash in the PHC string format, with the same parameters as the
// bootstrap's (OWASP baseline); empty on failure.
std::string HashNewPassword(const std::string& password);

// Verifies `password` against an argon2 encoded hash (any argon2 variant).
bool VerifyPassword(const std::string& encoded_hash, const std::string& password);

class SessionManager {
 public:
  SessionManager(MetaStore& meta, UiAuthOptions options);

  const UiAuthOptions& options() const { return options_; }
  // The cookie's name: "__Host-loupe-session" with Secure, else "loupe-session".
  std::string cookie_name() const;

  // Creates a session for the user; returns the cookie value.
  absl::StatusOr<std::string> Create(const std::string& user_id);
  // The live session named by a cookie value; nullopt when the value is
  // malformed, badly signed, unknown or expired (an expired one is deleted).
  absl::StatusOr<std::optional<UserSessionRecord>> Validate(std::string_view cookie_value);
  // Ends the session (no-op for an invalid value).
  absl::Status Revoke(std::string_view cookie_value);

  // Set-Cookie header values that store / clear the session cookie.
  std::string SetCookie(const std::string& value) const;
  std::string ClearCookie() const;

  // The session cookie's value in a Cookie header, or empty.
  std::string CookieFrom(std::string_view cookie_header) const;

 private:
  // token "." hmac(token); returns the token when the signature holds.
  std::optional<std::string> VerifiedToken(std::string_view cookie_value) const;

  MetaStore& meta_;
  const UiAuthOptions options_;
};

// Counts failed attempts per key in a sliding window. Keys are, e.g.,
// "email:a@b.c" and "ip:127.0.0.1".
class AttemptLimiter {
 public:
  AttemptLimiter(int max_attempts, int64_t window_ms)
      : max_attempts_(max_attempts), window_ms_(window_ms) {}

  // Milliseconds until `key` may try again, or 0 when it may now.
  int64_t RetryAfterMs(const std::string& key, int64_t now_ms);
  void Record(const std::string& key, int64_t now_ms);
  void Clear(const std::string& key);

 private:
  void Prune(std::deque<int64_t>& times, int64_t now_ms) const;

  const int max_attempts_;
  const int64_t window_ms_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<int64_t>> attempts_;  // guarded by mu_
};

}  // namespace loupe
