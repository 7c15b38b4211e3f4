#include "server/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <thread>

namespace loupe {
namespace {

std::string Env(const char* name, std::string def = "") {
  const char* v = std::getenv(name);
  return (v && *v) ? std::string(v) : def;
}

absl::StatusOr<int> EnvInt(const char* name, int def, int min, int max) {
  std::string v = Env(name);
  if (v.empty()) return def;
  int out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < min || out > max) {
    return absl::InvalidArgumentError(std::string(name) + " must be an integer in [" +
                                      std::to_string(min) + ", " + std::to_string(max) +
                                      "], got '" + v + "'");
  }
  return out;
}

}  // namespace

absl::StatusOr<Config> ConfigFromEnv() {
  Config c;
  auto port = EnvInt("PORT", 3000, 0, 65535);
  if (!port.ok()) return port.status();
  c.port = *port;
  auto threads = EnvInt("LOUPE_HTTP_THREADS", 16, 1, 1024);
  if (!threads.ok()) return threads.status();
  c.http_threads = *threads;
  auto io_threads = EnvInt("LOUPE_IO_THREADS", 0, 0, 256);
  if (!io_threads.ok()) return io_threads.status();
  c.io_threads = *io_threads > 0
                     ? *io_threads
                     : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  auto grace = EnvInt("LOUPE_SHUTDOWN_GRACE_SECONDS", 25, 0, 3600);
  if (!grace.ok()) return grace.status();
  c.shutdown_grace_seconds = *grace;
  c.bind_address = Env("LOUPE_BIND_ADDRESS", "0.0.0.0");
  c.data_dir = Env("LOUPE_DATA_DIR", "./data");
  c.salt = Env("SALT");
  c.public_url = Env("NEXTAUTH_URL");
  InitConfig& i = c.init;
  i.org_id = Env("LANGFUSE_INIT_ORG_ID");
  i.org_name = Env("LANGFUSE_INIT_ORG_NAME");
  i.project_id = Env("LANGFUSE_INIT_PROJECT_ID");
  i.project_name = Env("LANGFUSE_INIT_PROJECT_NAME");
  if (!Env("LANGFUSE_INIT_PROJECT_RETENTION").empty()) {
    auto r = EnvInt("LANGFUSE_INIT_PROJECT_RETENTION", 0, 0, 100000);
    if (!r.ok()) return r.status();
    i.project_retention_days = *r;
  }
  i.public_key = Env("LANGFUSE_INIT_PROJECT_PUBLIC_KEY");
  i.secret_key = Env("LANGFUSE_INIT_PROJECT_SECRET_KEY");
  i.user_email = Env("LANGFUSE_INIT_USER_EMAIL");
  i.user_name = Env("LANGFUSE_INIT_USER_NAME");
  i.user_password = Env("LANGFUSE_INIT_USER_PASSWORD");
  i.org_public_key = Env("LOUPE_INIT_ORG_PUBLIC_KEY");
  i.org_secret_key = Env("LOUPE_INIT_ORG_SECRET_KEY");
  if (i.org_public_key.empty() != i.org_secret_key.empty()) {
    return absl::InvalidArgumentError(
        "LOUPE_INIT_ORG_PUBLIC_KEY and LOUPE_INIT_ORG_SECRET_KEY must be set together");
  }
  if (!i.org_public_key.empty() && i.org_id.empty()) {
    return absl::InvalidArgumentError(
        "LOUPE_INIT_ORG_PUBLIC_KEY needs LANGFUSE_INIT_ORG_ID (the organization of the key)");
  }
  c.admin_api_key = Env("ADMIN_API_KEY");
  c.encryption_key = Env("ENCRYPTION_KEY");
  if (!c.encryption_key.empty()) {
    bool hex = c.encryption_key.size() == 64;
    for (char ch : c.encryption_key) hex = hex && std::isxdigit(static_cast<unsigned char>(ch));
    if (!hex) {
      return absl::InvalidArgumentError(
          "ENCRYPTION_KEY must be 256 bits, 64 hex characters (generate one with `openssl rand "
          "-hex 32`)");
    }
  }
  return c;
}

}  // namespace loupe
