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

absl::StatusOr<bool> EnvBool(const std::string& name, bool def) {
  std::string v = Env(name.c_str());
  if (v.empty()) return def;
  if (v == "true") return true;
  if (v == "false") return false;
  return absl::InvalidArgumentError(name + " must be true or false, got '" + v + "'");
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

// DATABASE_URL, or, as Langfuse's container builds it when that is unset,
// postgresql://DATABASE_USERNAME:DATABASE_PASSWORD@DATABASE_HOST/DATABASE_NAME
// with DATABASE_ARGS as the query (user and password percent-encoded here,
// so that any character works).
absl::StatusOr<std::string> DatabaseUrlFromEnv() {
  std::string url = Env("DATABASE_URL");
  if (url.empty() && !Env("DATABASE_HOST").empty()) {
    std::string missing;
    for (const char* name : {"DATABASE_USERNAME", "DATABASE_PASSWORD", "DATABASE_NAME"}) {
      if (Env(name).empty()) missing += std::string(missing.empty() ? "" : ", ") + name;
    }
    if (!missing.empty()) {
      return absl::InvalidArgumentError("DATABASE_HOST is set without " + missing +
                                        " (or set DATABASE_URL)");
    }
    url = "postgresql://" + PercentEncode(Env("DATABASE_USERNAME")) + ":" +
          PercentEncode(Env("DATABASE_PASSWORD")) + "@" + Env("DATABASE_HOST") + "/" +
          Env("DATABASE_NAME");
    if (!Env("DATABASE_ARGS").empty()) url += "?" + Env("DATABASE_ARGS");
  }
  return url;
}

// One S3 use of Langfuse's configuration: `prefix` is e.g.
// "LANGFUSE_S3_MEDIA_UPLOAD_". Unset when its bucket is. Credentials and the
// region fall back to the AWS SDK's variables, as Langfuse's client does.
absl::StatusOr<std::optional<S3Options>> S3FromEnv(const std::string& prefix,
                                                   bool external_endpoint) {
  const auto var = [&](const char* name) { return Env((prefix + name).c_str()); };
  S3Options o;
  o.bucket = var("BUCKET");
  if (o.bucket.empty()) return std::nullopt;
  o.settings_prefix = prefix;
  o.region = var("REGION");
  if (o.region.empty()) o.region = Env("AWS_REGION");
  o.endpoint = var("ENDPOINT");
  if (external_endpoint) o.external_endpoint = var("EXTERNAL_ENDPOINT");
  o.access_key_id = var("ACCESS_KEY_ID");
  o.secret_access_key = var("SECRET_ACCESS_KEY");
  if (o.access_key_id.empty() && o.secret_access_key.empty()) {
    o.access_key_id = Env("AWS_ACCESS_KEY_ID");
    o.secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
    o.session_token = Env("AWS_SESSION_TOKEN");
  }
  auto path_style = EnvBool(prefix + "FORCE_PATH_STYLE", false);
  if (!path_style.ok()) return path_style.status();
  o.force_path_style = *path_style;
  o.prefix = var("PREFIX");
  o.sse = var("SSE");
  o.sse_kms_key_id = var("SSE_KMS_KEY_ID");
  if (!o.sse.empty() && o.sse != "AES256" && o.sse != "aws:kms") {
    return absl::InvalidArgumentError(prefix + "SSE must be AES256 or aws:kms, got '" + o.sse +
                                      "'");
  }
  return o;
}

}  // namespace

absl::StatusOr<Config> ConfigFromEnv(Role role) {
  Config c;
  c.role = role;
  auto port = EnvInt("PORT", role == Role::kWorker ? 3030 : 3000, 0, 65535);
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
  auto database_url = DatabaseUrlFromEnv();
  if (!database_url.ok()) return database_url.status();
  c.database_url = *std::move(database_url);
  if (!c.database_url.empty() && c.database_url.rfind("postgresql://", 0) != 0 &&
      c.database_url.rfind("postgres://", 0) != 0) {
    return absl::InvalidArgumentError(
        "DATABASE_URL must be a PostgreSQL URL (postgresql://user:password@host:port/db)");
  }
  auto s3_media = S3FromEnv("LANGFUSE_S3_MEDIA_UPLOAD_", false);
  if (!s3_media.ok()) return s3_media.status();
  c.s3_media = *std::move(s3_media);
  auto s3_events = S3FromEnv("LANGFUSE_S3_EVENT_UPLOAD_", false);
  if (!s3_events.ok()) return s3_events.status();
  c.s3_events = *std::move(s3_events);
  auto export_enabled = EnvBool("LANGFUSE_S3_BATCH_EXPORT_ENABLED", false);
  if (!export_enabled.ok()) return export_enabled.status();
  if (*export_enabled) {
    auto s3_export = S3FromEnv("LANGFUSE_S3_BATCH_EXPORT_", true);
    if (!s3_export.ok()) return s3_export.status();
    c.s3_batch_export = *std::move(s3_export);
  }
  auto redis = RedisOptionsFromEnv();
  if (!redis.ok()) return redis.status();
  c.redis = *std::move(redis);
  auto partitions = EnvInt("LOUPE_INGEST_PARTITIONS", 8, 1, 1024);
  if (!partitions.ok()) return partitions.status();
  c.ingest_partitions = *partitions;
  auto clickhouse = ClickHouseOptionsFromEnv();
  if (!clickhouse.ok()) return clickhouse.status();
  c.clickhouse = *std::move(clickhouse);
  auto refresh = EnvInt("LOUPE_METADATA_REFRESH_SECONDS", 30, 1, 86400);
  if (!refresh.ok()) return refresh.status();
  c.metadata_refresh_seconds = *refresh;
  if (role != Role::kServe) {
    // Separate web and worker processes share everything through services.
    std::string missing;
    const auto need = [&](bool set, const char* what) {
      if (!set) missing += std::string(missing.empty() ? "" : ", ") + what;
    };
    need(!c.database_url.empty(), "DATABASE_URL");
    need(c.clickhouse.has_value(), "CLICKHOUSE_URL");
    need(c.redis.has_value(), "REDIS_CONNECTION_STRING (or REDIS_HOST)");
    need(c.s3_events.has_value(), "LANGFUSE_S3_EVENT_UPLOAD_BUCKET");
    if (!missing.empty()) {
      return absl::InvalidArgumentError(
          std::string("loupe ") + (role == Role::kWeb ? "web" : "worker") +
          " shares its data with the other processes through services; missing: " + missing +
          " (or run `loupe serve`, which needs none of them)");
    }
  }
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
