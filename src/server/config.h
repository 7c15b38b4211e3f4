#pragma once

// Process configuration, read from the same environment variables a Langfuse
// deployment uses (plus LOUPE_* for what only Loupe has).

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "blob/s3_blob_store.h"
#include "queue/redis_client.h"
#include "storage/clickhouse/ch_client.h"

namespace loupe {

struct InitConfig {
  std::string org_id, org_name;
  std::string project_id, project_name;
  std::optional<int> project_retention_days;
  std::string public_key, secret_key;
  // LOUPE_INIT_ORG_PUBLIC_KEY / _SECRET_KEY: an organization key of org_id.
  std::string org_public_key, org_secret_key;
  std::string user_email, user_name, user_password;
};

// What one process does (`loupe serve|web|worker`).
enum class Role {
  kServe,   // the API and the web UI, and storing ingested events (the default)
  kWeb,     // the API and the web UI; ingested events go to the queue only
  kWorker,  // stores queued events; serves only its health check
};

struct Config {
  Role role = Role::kServe;
  int port = 3000;                       // PORT (3030 for the worker, as Langfuse's)
  std::string bind_address = "0.0.0.0";  // LOUPE_BIND_ADDRESS
  std::string data_dir = "./data";       // LOUPE_DATA_DIR
  int http_threads = 16;                 // LOUPE_HTTP_THREADS: workers for blocking requests
  int io_threads = 0;                    // LOUPE_IO_THREADS: socket threads (0 = one per core)
  std::string salt;                      // SALT (generated and kept in the data dir if unset)
  std::string public_url;                // NEXTAUTH_URL, for printed links
  int shutdown_grace_seconds = 25;       // LOUPE_SHUTDOWN_GRACE_SECONDS
  InitConfig init;                       // LANGFUSE_INIT_*
  // ENCRYPTION_KEY: 64 hex characters (32 bytes) for AES-256-GCM of stored
  // secrets (LLM connection keys); empty when not configured.
  std::string encryption_key;
  // ADMIN_API_KEY: bearer token of the instance admin API (/api/admin/...);
  // that API is closed when empty.
  std::string admin_api_key;
  // DATABASE_URL (postgresql://user:pass@host:port/db?...): organizations,
  // projects, API keys, users and sessions in PostgreSQL instead of meta.db.
  std::string database_url;
  // LANGFUSE_S3_MEDIA_UPLOAD_{BUCKET,REGION,ENDPOINT,ACCESS_KEY_ID,
  // SECRET_ACCESS_KEY,FORCE_PATH_STYLE,PREFIX,SSE,SSE_KMS_KEY_ID}: media
  // bytes in S3 instead of the data dir. Set when the bucket is.
  std::optional<S3Options> s3_media;
  // LANGFUSE_S3_EVENT_UPLOAD_*: with Redis, every accepted batch is kept
  // there (the queue's durable copy). LANGFUSE_S3_BATCH_EXPORT_* (with
  // LANGFUSE_S3_BATCH_EXPORT_ENABLED=true, plus EXTERNAL_ENDPOINT): read and
  // checked for form, not used yet.
  std::optional<S3Options> s3_events;
  std::optional<S3Options> s3_batch_export;
  // REDIS_CONNECTION_STRING, or REDIS_HOST / REDIS_PORT / REDIS_AUTH /
  // REDIS_USERNAME. With s3_events, ingestion goes through the durable queue
  // (queue/ingest_queue.h).
  std::optional<RedisOptions> redis;
  int ingest_partitions = 8;  // LOUPE_INGEST_PARTITIONS
  // CLICKHOUSE_URL / CLICKHOUSE_USER / CLICKHOUSE_PASSWORD / CLICKHOUSE_DB:
  // traces, observations and scores in ClickHouse instead of events.db.
  std::optional<ClickHouseOptions> clickhouse;
  // LOUPE_METADATA_REFRESH_SECONDS: how often a process whose metadata is
  // shared (PostgreSQL) reloads what it caches from it (custom model prices).
  int metadata_refresh_seconds = 30;
};

// Reads the environment; fails on malformed values (e.g. a non-numeric PORT)
// and on a role without the services it needs.
absl::StatusOr<Config> ConfigFromEnv(Role role = Role::kServe);

}  // namespace loupe
