#include "server/server.h"

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "absl/strings/str_cat.h"
#include "api/admin_api.h"
#include "api/annotation_queues_api.h"
#include "api/comments_api.h"
#include "api/datasets_api.h"
#include "api/llm_connections_api.h"
#include "api/media_api.h"
#include "api/models_api.h"
#include "api/organizations_api.h"
#include "api/otel_api.h"
#include "api/prompts_api.h"
#include "api/public_api.h"
#include "api/responses.h"
#include "api/router.h"
#include "api/score_config_validator.h"
#include "api/score_configs_api.h"
#include "auth/api_key_auth.h"
#include "blob/local_blob_store.h"
#include "blob/s3_blob_store.h"
#include "blob/url_signer.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "cost/price_table.h"
#include "http/http_server.h"
#include "otlp/grpc_receiver.h"
#include "queue/ingest_queue.h"
#include "queue/ingest_sinks.h"
#include "queue/redis_client.h"
#include "queue/redis_epoch.h"
#include "server/bootstrap.h"
#include "storage/clickhouse/ch_event_store.h"
#include "storage/postgres/pg_admin_stores.h"
#include "storage/postgres/pg_client.h"
#include "storage/postgres/pg_dataset_store.h"
#include "storage/postgres/pg_meta_store.h"
#include "storage/postgres/pg_prompt_store.h"
#include "storage/sqlite/sqlite_annotation_queue_store.h"
#include "storage/sqlite/sqlite_comment_store.h"
#include "storage/sqlite/sqlite_dataset_store.h"
#include "storage/sqlite/sqlite_event_store.h"
#include "storage/sqlite/sqlite_llm_connection_store.h"
#include "storage/sqlite/sqlite_media_store.h"
#include "storage/sqlite/sqlite_meta_store.h"
#include "storage/sqlite/sqlite_model_store.h"
#include "storage/sqlite/sqlite_prompt_store.h"
#include "storage/sqlite/sqlite_score_config_store.h"
#include "ui/ui_api.h"

namespace loupe {
namespace {

namespace json = boost::json;

// Langfuse's body limits: 4.5 MB ("4.5mb" in Next.js, binary megabytes) for
// ingestion and dataset items; OTLP has no parser limit there, Loupe caps it
// generously; everything else 1 MB.
size_t BodyLimitFor(std::string_view path) {
  constexpr size_t kMiB = 1024 * 1024;
  if (path == "/api/public/ingestion" || path == "/api/public/dataset-items") {
    return kMiB * 9 / 2;
  }
  if (path.rfind("/api/public/otel", 0) == 0 || path == "/v1/traces") return 64 * kMiB;
  if (IsMediaUploadPath(path)) return MediaUploadBodyLimit();  // a whole media file
  return kMiB;
}

// SALT is required by Langfuse; for a zero-configuration start Loupe creates
// one and keeps it in the data directory so keys survive restarts.
absl::StatusOr<std::string> LoadOrCreateSalt(const std::string& data_dir) {
  std::string path = data_dir + "/salt";
  std::ifstream in(path);
  std::string salt;
  if (in && std::getline(in, salt) && !salt.empty()) return salt;
  salt = RandomHex(32);
  std::ofstream out(path, std::ios::trunc);
  out << salt << "\n";
  out.close();
  if (!out) return absl::UnavailableError("cannot write " + path);
  ::chmod(path.c_str(), 0600);
  LogWarn("SALT is not set; generated one and stored it in the data directory", {{"path", path}});
  return salt;
}

// Opens the bucket of `variables`_* (e.g. LANGFUSE_S3_MEDIA_UPLOAD) and
// checks access before the server starts, so that a wrong setting stops it
// with one line that starts with `what` ("media storage (S3)").
absl::StatusOr<std::unique_ptr<S3BlobStore>> OpenCheckedBucket(const S3Options& options,
                                                               const char* what,
                                                               const char* variables) {
  const auto with_context = [what](const absl::Status& s) {
    return absl::Status(s.code(), std::string(what) + ": " + std::string(s.message()));
  };
  auto store = S3BlobStore::Open(options);
  if (!store.ok()) return with_context(store.status());
  if (absl::Status s = (*store)->CheckAccess(); !s.ok()) return with_context(s);
  if (!options.sse.empty()) {
    LogWarn(std::string(variables) + "_SSE is not applied; the bucket's default encryption is");
  }
  return store;
}

// The S3 bucket of LANGFUSE_S3_MEDIA_UPLOAD_*; null when media stays in the
// data dir.
absl::StatusOr<std::unique_ptr<BlobStore>> OpenMediaBlobStore(const Config& config) {
  if (!config.s3_media) return nullptr;
  ASSIGN_OR_RETURN(auto store, OpenCheckedBucket(*config.s3_media, "media storage (S3)",
                                                 "LANGFUSE_S3_MEDIA_UPLOAD"));
  LogInfo("media stored in S3",
          {{"bucket", config.s3_media->bucket}, {"objects", store->ObjectUrl("media/")}});
  return std::unique_ptr<BlobStore>(std::move(store));
}

// Where batch exports are written: the bucket of LANGFUSE_S3_BATCH_EXPORT_*
// when enabled (checked before the server starts), else the data dir's blob
// directory, whose files the server serves through signed links.
absl::StatusOr<std::shared_ptr<BatchExportStorage>> OpenBatchExportStorage(const Config& config) {
  std::unique_ptr<BlobStore> blobs;
  if (config.s3_batch_export) {
    ASSIGN_OR_RETURN(auto store,
                     OpenCheckedBucket(*config.s3_batch_export, "batch export storage (S3)",
                                       "LANGFUSE_S3_BATCH_EXPORT"));
    LogInfo("batch exports stored in S3", {{"bucket", config.s3_batch_export->bucket},
                                           {"objects", store->ObjectUrl("exports/")}});
    blobs = std::move(store);
  } else {
    ASSIGN_OR_RETURN(blobs, OpenLocalBlobStore(config.data_dir + "/blobs"));
  }
  ASSIGN_OR_RETURN(std::string secret,
                   LoadOrCreateSecretFile(config.data_dir + "/batch_export_url_secret"));
  auto storage = BatchExportStorage::Open(std::move(blobs), std::move(secret), config.public_url);
  if (!storage.ok()) return storage.status();
  return std::shared_ptr<BatchExportStorage>(*std::move(storage));
}

// The ingestion path and what it runs on.
struct Ingestion {
  // Scale-out mode only (REDIS_* with LANGFUSE_S3_EVENT_UPLOAD_*).
  std::unique_ptr<RedisClient> redis;
  std::unique_ptr<BlobStore> event_blobs;
  std::unique_ptr<IngestQueue> queue;
  std::unique_ptr<IngestWorker> worker;
  std::unique_ptr<IngestSink> sink;
};

// ClickHouse when CLICKHOUSE_URL is set (checked before the server starts,
// so a wrong URL or login stops it with one line), else events.db.
absl::StatusOr<std::unique_ptr<EventStore>> OpenEventStore(const Config& config,
                                                           const PriceTable* prices) {
  if (!config.clickhouse) {
    SqliteEventStoreOptions eopts;
    eopts.path = config.data_dir + "/events.db";
    return OpenSqliteEventStore(eopts, prices);
  }
  auto store = OpenClickHouseEventStore(*config.clickhouse, prices);
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        "event storage (ClickHouse): " + std::string(store.status().message()));
  }
  LogInfo("traces, observations and scores stored in ClickHouse",
          {{"database", config.clickhouse->database}});
  // Variables of a Langfuse deployment that Loupe does not act on: say so
  // rather than let a cluster setting look honored.
  const char* cluster = std::getenv("CLICKHOUSE_CLUSTER_ENABLED");
  if (cluster && std::string_view(cluster) == "true") {
    LogWarn(
        "CLICKHOUSE_CLUSTER_ENABLED=true is not supported: tables are created on the node "
        "CLICKHOUSE_URL names, without ON CLUSTER or replicated engines");
  }
  if (const char* m = std::getenv("CLICKHOUSE_MIGRATION_URL"); m && *m) {
    LogInfo("CLICKHOUSE_MIGRATION_URL is not used: migrations run over CLICKHOUSE_URL");
  }
  return store;
}

// Reloads, every `interval`, what this process caches from metadata that
// other processes also change (custom model prices), until stopped.
class MetadataRefresher {
 public:
  MetadataRefresher(ModelStore* models, PriceTable* prices, std::chrono::seconds interval)
      : sync_(models, prices), interval_(interval) {}
  ~MetadataRefresher() { Stop(); }

  absl::Status Start() {
    RETURN_IF_ERROR(sync_.Refresh());
    thread_ = std::thread([this] {
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
        lock.unlock();
        if (absl::Status st = sync_.Refresh(); !st.ok()) {
          LogWarn("custom model prices not refreshed", {{"error", st.ToString()}});
        }
        lock.lock();
      }
    });
    return absl::OkStatus();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  CustomModelSync sync_;
  const std::chrono::seconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

// Worker health, as Langfuse's worker answers it on /api/health: 200 while
// the queue is being drained, 503 with the last error when it is not.
HttpResponse WorkerHealth(const IngestWorker& worker) {
  IngestWorker::Health h = worker.health();
  json::object body;
  body["status"] = h.healthy ? "OK" : "Unhealthy";
  body["version"] = kCompatibleLangfuseVersion;
  body["partitions"] = h.partitions_owned;
  body["entriesDone"] = h.entries_done;
  body["eventsWritten"] = h.events_written;
  if (!h.healthy && !h.last_error.empty()) body["error"] = h.last_error;
  return JsonResponse(h.healthy ? 200 : 503, body);
}

// The durable queue when both Redis and the event bucket are configured
// (each checked before the server starts, so a wrong setting stops it with
// one line naming the service and the variable), else straight into the
// EventStore.
absl::StatusOr<Ingestion> OpenIngestion(const Config& config, EventStore* events) {
  const bool run_worker = config.role != Role::kWeb;
  Ingestion in;
  if (!config.redis || !config.s3_events) {
    if (config.redis) {
      LogWarn(
          "REDIS_* is set without LANGFUSE_S3_EVENT_UPLOAD_BUCKET; events are written "
          "straight to the event store");
    } else if (config.s3_events) {
      LogWarn(
          "LANGFUSE_S3_EVENT_UPLOAD_BUCKET is set without REDIS_*; events are written "
          "straight to the event store");
    }
    in.sink = std::make_unique<EventStoreSink>(events);
    return in;
  }
  const auto with_context = [](const char* what, const absl::Status& st) {
    return absl::Status(st.code(), absl::StrCat(what, ": ", st.message()));
  };
  auto redis = RedisClient::Open(*config.redis);
  if (!redis.ok()) return with_context("ingestion queue", redis.status());
  in.redis = *std::move(redis);
  ASSIGN_OR_RETURN(in.event_blobs, OpenCheckedBucket(*config.s3_events, "event storage (S3)",
                                                     "LANGFUSE_S3_EVENT_UPLOAD"));
  IngestQueueOptions qopts;
  qopts.partitions = config.ingest_partitions;
  in.queue = std::make_unique<IngestQueue>(in.redis.get(), in.event_blobs.get(), qopts);
  if (run_worker) {
    in.worker = std::make_unique<IngestWorker>(in.queue.get(), events, IngestWorkerOptions{});
    if (absl::Status st = in.worker->Start(); !st.ok()) return with_context("ingestion queue", st);
  }
  in.sink = std::make_unique<QueueSink>(in.queue.get());
  LogInfo("ingestion through the queue: events kept in S3, referenced in Redis",
          {{"bucket", config.s3_events->bucket},
           {"redis", absl::StrCat(config.redis->host, ":", config.redis->port)},
           {"partitions", config.ingest_partitions}});
  return in;
}

// The PostgreSQL connection pool every metadata store shares when
// DATABASE_URL is set (null otherwise), checked before the server starts so
// that a wrong URL or login stops it with one line.
absl::StatusOr<std::shared_ptr<pg::Pool>> OpenMetadataPool(const Config& config) {
  if (config.database_url.empty()) return std::shared_ptr<pg::Pool>();
  auto pool = pg::Pool::Open({config.database_url});
  if (!pool.ok()) {
    return absl::Status(pool.status().code(),
                        "metadata storage: " + std::string(pool.status().message()));
  }
  LogInfo(
      "metadata (organizations, projects, keys, users, prompts, datasets, ...) stored in "
      "PostgreSQL");
  return std::shared_ptr<pg::Pool>(*std::move(pool));
}

// A store on PostgreSQL when the pool is set, else in the embedded meta.db.
template <typename Store>
absl::StatusOr<std::unique_ptr<Store>> OpenMetadataStore(
    const std::shared_ptr<pg::Pool>& pool,
    absl::StatusOr<std::unique_ptr<Store>> (*on_postgres)(std::shared_ptr<pg::Pool>),
    absl::StatusOr<std::unique_ptr<Store>> (*on_sqlite)(const std::string&),
    const std::string& meta_path) {
  if (!pool) return on_sqlite(meta_path);
  auto store = on_postgres(pool);
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        "metadata storage: " + std::string(store.status().message()));
  }
  return store;
}

HttpResponse WithCors(const HttpRequest& req, HttpResponse res) {
  std::string origin = req.Header("origin");
  if (!origin.empty()) {
    res.headers.emplace_back("Access-Control-Allow-Origin", origin);
    res.headers.emplace_back("Vary", "Origin");
  }
  return res;
}

HttpResponse Preflight(const HttpRequest& req) {
  HttpResponse res;
  res.status = 204;
  res.content_type.clear();
  std::string origin = req.Header("origin");
  res.headers.emplace_back("Access-Control-Allow-Origin", origin.empty() ? "*" : origin);
  res.headers.emplace_back("Vary", "Origin");
  res.headers.emplace_back("Access-Control-Allow-Methods",
                           "GET, POST, PUT, PATCH, DELETE, OPTIONS");
  std::string requested = req.Header("access-control-request-headers");
  res.headers.emplace_back("Access-Control-Allow-Headers",
                           requested.empty() ? "authorization, content-type, x-langfuse-sdk-name, "
                                               "x-langfuse-sdk-version, x-langfuse-public-key"
                                             : requested);
  res.headers.emplace_back("Access-Control-Max-Age", "86400");
  return res;
}

}  // namespace

struct Server::Impl {
  Config config;
  Ingestion ingestion;
  std::unique_ptr<RedisEpoch> api_key_epoch;  // shared API key invalidation (with Redis)
  std::unique_ptr<MetadataRefresher> metadata_refresher;  // with metadata on PostgreSQL
  std::unique_ptr<PriceTable> prices;
  std::unique_ptr<MetaStore> meta;
  std::unique_ptr<EventStore> events;
  std::unique_ptr<PromptStore> prompts;
  std::unique_ptr<DatasetStore> datasets;
  std::unique_ptr<ScoreConfigStore> score_configs;
  std::unique_ptr<ScoreConfigValidator> score_validator;
  std::unique_ptr<ModelStore> models;
  std::unique_ptr<CommentStore> comments;
  std::unique_ptr<AnnotationQueueStore> annotation_queues;
  std::unique_ptr<LlmConnectionStore> llm_connections;
  std::optional<SecretCipher> cipher;  // set when ENCRYPTION_KEY is configured
  std::unique_ptr<ApiKeyAuthenticator> auth;
  Router router;
  std::unique_ptr<HttpServer> http;
  std::unique_ptr<OtlpGrpcReceiver> otlp_grpc;
  std::atomic<bool> shutting_down{false};
  std::atomic<bool> stopped{false};
};

absl::StatusOr<std::unique_ptr<Server>> Server::Create(const Config& config) {
  // The HTTP listener in front of the router (started by the caller).
  const auto make_http_server = [](Impl& impl_state) {
    const Config& cfg = impl_state.config;
    HttpServerOptions hopts;
    hopts.bind_address = cfg.bind_address;
    hopts.port = cfg.port;
    hopts.worker_threads = cfg.http_threads;
    hopts.io_threads = cfg.io_threads;
    hopts.body_limit = BodyLimitFor;
    Impl* impl = &impl_state;
    impl_state.http = std::make_unique<HttpServer>(hopts, [impl](HttpRequest& req) -> HttpResponse {
      if (req.method == "OPTIONS") return Preflight(req);
      try {
        return WithCors(req, impl->router.Dispatch(req));
      } catch (const std::exception& e) {
        // Handlers return Statuses; this is the last line of defence against a
        // bug, which must not take the process down.
        LogError("unhandled exception in handler", {{"path", req.path}, {"error", e.what()}});
        return WithCors(req, ErrorResponse(500, "InternalServerError", "Internal Server Error"));
      }
    });
  };
  std::unique_ptr<Server> server(new Server());
  server->impl_ = std::make_unique<Impl>();
  Impl& s = *server->impl_;
  s.config = config;
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec)
    return absl::UnavailableError("cannot create data dir " + config.data_dir + ": " +
                                  ec.message());
  if (s.config.salt.empty()) {
    ASSIGN_OR_RETURN(s.config.salt, LoadOrCreateSalt(config.data_dir));
  }
  ASSIGN_OR_RETURN(s.prices, PriceTable::FromEmbeddedDefaults());
  const std::string meta_path = config.data_dir + "/meta.db";
  ASSIGN_OR_RETURN(std::shared_ptr<pg::Pool> pg_pool, OpenMetadataPool(config));
  ASSIGN_OR_RETURN(s.meta, OpenMetadataStore<MetaStore>(pg_pool, &OpenPostgresMetaStore,
                                                        &OpenSqliteMetaStore, meta_path));
  ASSIGN_OR_RETURN(s.prompts, OpenMetadataStore<PromptStore>(pg_pool, &OpenPostgresPromptStore,
                                                             &OpenSqlitePromptStore, meta_path));
  ASSIGN_OR_RETURN(s.datasets, OpenMetadataStore<DatasetStore>(pg_pool, &OpenPostgresDatasetStore,
                                                               &OpenSqliteDatasetStore, meta_path));
  ASSIGN_OR_RETURN(s.events, OpenEventStore(config, s.prices.get()));
  s.auth = std::make_unique<ApiKeyAuthenticator>(*s.meta, s.config.salt);
  ASSIGN_OR_RETURN(s.score_configs,
                   OpenMetadataStore<ScoreConfigStore>(pg_pool, &OpenPostgresScoreConfigStore,
                                                       &OpenSqliteScoreConfigStore, meta_path));
  s.score_validator = std::make_unique<ScoreConfigValidator>(*s.score_configs);
  ASSIGN_OR_RETURN(s.models, OpenMetadataStore<ModelStore>(pg_pool, &OpenPostgresModelStore,
                                                           &OpenSqliteModelStore, meta_path));
  if (pg_pool) {
    // Other processes create and delete models too: keep their prices current.
    s.metadata_refresher = std::make_unique<MetadataRefresher>(
        s.models.get(), s.prices.get(), std::chrono::seconds(config.metadata_refresh_seconds));
    RETURN_IF_ERROR(s.metadata_refresher->Start());
  } else {
    RETURN_IF_ERROR(LoadCustomModelPrices(*s.models, *s.prices));
  }
  ASSIGN_OR_RETURN(s.comments, OpenMetadataStore<CommentStore>(pg_pool, &OpenPostgresCommentStore,
                                                               &OpenSqliteCommentStore, meta_path));
  ASSIGN_OR_RETURN(s.annotation_queues, OpenMetadataStore<AnnotationQueueStore>(
                                            pg_pool, &OpenPostgresAnnotationQueueStore,
                                            &OpenSqliteAnnotationQueueStore, meta_path));
  ASSIGN_OR_RETURN(s.llm_connections,
                   OpenMetadataStore<LlmConnectionStore>(pg_pool, &OpenPostgresLlmConnectionStore,
                                                         &OpenSqliteLlmConnectionStore, meta_path));
  if (!config.encryption_key.empty()) {
    ASSIGN_OR_RETURN(s.cipher, SecretCipher::FromHexKey(config.encryption_key));
  }

  ASSIGN_OR_RETURN(s.ingestion, OpenIngestion(config, s.events.get()));
  if (s.ingestion.redis) {
    s.api_key_epoch = std::make_unique<RedisEpoch>(s.ingestion.redis.get(), "loupe:cache:api-keys");
    s.auth->SetSharedEpoch(s.api_key_epoch.get());
  }
  if (config.role == Role::kWorker) {
    // No API: the queue's health, where Langfuse's worker answers it.
    IngestWorker* worker = s.ingestion.worker.get();
    s.router.Add("GET", "/api/health",
                 [worker](HttpRequest&, const PathParams&) { return WorkerHealth(*worker); });
    make_http_server(s);
    RETURN_IF_ERROR(s.http->Start());
    LogInfo("loupe worker listening", {{"port", s.http->port()}});
    return server;
  }
  PublicApiDeps deps;
  deps.events = s.events.get();
  deps.ingest = s.ingestion.sink.get();
  deps.meta = s.meta.get();
  deps.auth = s.auth.get();
  deps.shutting_down = &s.shutting_down;
  deps.score_configs = s.score_validator.get();
  RegisterPublicApi(s.router, deps);
  RegisterScoreConfigsApi(s.router, {s.auth.get(), s.score_configs.get()});
  RegisterModelsApi(s.router, {s.auth.get(), s.models.get(), s.prices.get()});
  RegisterOrganizationsApi(s.router, {s.auth.get(), s.meta.get()});
  RegisterAdminApi(s.router, {s.auth.get(), s.meta.get(), config.admin_api_key});
  PromptStore* prompts = s.prompts.get();
  RegisterCommentsApi(s.router, {s.auth.get(), s.comments.get(), s.events.get(), s.meta.get(),
                                 [prompts](const std::string& project_id,
                                           const std::string& prompt_id) -> absl::StatusOr<bool> {
                                   ASSIGN_OR_RETURN(auto prompt,
                                                    prompts->GetById(project_id, prompt_id));
                                   return prompt.has_value();
                                 }});
  RegisterAnnotationQueuesApi(
      s.router, {s.auth.get(), s.annotation_queues.get(), s.score_configs.get(), s.meta.get()});
  RegisterLlmConnectionsApi(
      s.router, {s.auth.get(), s.llm_connections.get(), s.cipher ? &*s.cipher : nullptr});
  RegisterPromptApi(s.router, {s.prompts.get(), s.auth.get()});
  RegisterDatasetApi(s.router, {s.datasets.get(), s.events.get(), s.auth.get()});
  RegisterOtelApi(s.router, deps);
  ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> media_blobs, OpenMediaBlobStore(config));
  MediaApiDeps media;
  media.auth = s.auth.get();
  media.data_dir = config.data_dir;
  media.public_url = s.config.public_url;
  media.blobs = std::move(media_blobs);
  ASSIGN_OR_RETURN(media.store, OpenMetadataStore<MediaStore>(pg_pool, &OpenPostgresMediaStore,
                                                              &OpenSqliteMediaStore, meta_path));
  RETURN_IF_ERROR(RegisterMediaApi(s.router, std::move(media)));
  ASSIGN_OR_RETURN(std::shared_ptr<BatchExportStorage> exports, OpenBatchExportStorage(config));
  RETURN_IF_ERROR(RegisterUi(
      s.router,
      {s.meta.get(), s.events.get(), s.auth.get(), config.data_dir, config.public_url,
       s.prompts.get(), s.datasets.get(), s.score_configs.get(), s.models.get(), s.prices.get(),
       s.llm_connections.get(), s.cipher ? &*s.cipher : nullptr, std::move(exports)}));

  make_http_server(s);
  // Keys must exist before the first request can arrive.
  RETURN_IF_ERROR(Bootstrap(s.config, *s.meta, *s.auth, config.port));
  RETURN_IF_ERROR(s.http->Start());
  LogInfo("loupe listening", {{"port", s.http->port()}, {"data_dir", config.data_dir}});
  // OTLP/gRPC beside HTTP. A port set in OTLP_GRPC_PORT must be served; the
  // default one is best effort, so a second local instance still starts.
  ASSIGN_OR_RETURN(OtlpGrpcPortSetting grpc_port, OtlpGrpcPortFromEnv());
  if (grpc_port.port != 0) {
    OtlpGrpcOptions gopts;
    gopts.bind_address = config.bind_address;
    gopts.port = grpc_port.port;
    auto receiver = OtlpGrpcReceiver::Start(gopts, s.ingestion.sink.get(), s.auth.get());
    if (receiver.ok()) {
      s.otlp_grpc = *std::move(receiver);
      LogInfo("otlp grpc listening", {{"port", s.otlp_grpc->port()}});
    } else if (grpc_port.from_env) {
      return receiver.status();
    } else {
      LogWarn("OTLP/gRPC receiver not started", {{"error", receiver.status().ToString()}});
    }
  }
  return server;
}

Server::~Server() { Shutdown(); }

int Server::port() const { return impl_->http->port(); }

void Server::RunUntilSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  LogInfo("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  Shutdown();
}

void Server::Shutdown() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  impl_->shutting_down = true;
  // A Create() that failed midway leaves the later members unset.
  if (impl_->otlp_grpc) impl_->otlp_grpc->Shutdown(impl_->config.shutdown_grace_seconds);
  if (impl_->http) impl_->http->Shutdown(impl_->config.shutdown_grace_seconds);
  // After the listeners: what was acknowledged is in the queue, and the
  // worker finishes the round it is in before the store closes.
  if (impl_->ingestion.worker) impl_->ingestion.worker->Stop();
  if (impl_->metadata_refresher) impl_->metadata_refresher->Stop();
  if (impl_->events) impl_->events->Close();
  if (impl_->prompts) impl_->prompts->Close();
  if (impl_->datasets) impl_->datasets->Close();
  if (impl_->meta) impl_->meta->Close();
  if (impl_->http) LogInfo("shutdown complete");
}

}  // namespace loupe
