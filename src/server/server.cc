#include "server/server.h"

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "api/public_api.h"
#include "api/responses.h"
#include "api/router.h"
#include "auth/api_key_auth.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "cost/price_table.h"
#include "http/http_server.h"
#include "server/bootstrap.h"
#include "storage/sqlite/sqlite_event_store.h"
#include "storage/sqlite/sqlite_meta_store.h"

namespace loupe {
namespace {

// Langfuse's body limits: 4.5 MB ("4.5mb" in Next.js, binary megabytes) for
// ingestion and dataset items; OTLP has no parser limit there, Loupe caps it
// generously; everything else 1 MB.
size_t BodyLimitFor(std::string_view path) {
  constexpr size_t kMiB = 1024 * 1024;
  if (path == "/api/public/ingestion" || path == "/api/public/dataset-items") {
    return kMiB * 9 / 2;
  }
  if (path.rfind("/api/public/otel", 0) == 0 || path == "/v1/traces") return 64 * kMiB;
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
  std::unique_ptr<PriceTable> prices;
  std::unique_ptr<MetaStore> meta;
  std::unique_ptr<EventStore> events;
  std::unique_ptr<ApiKeyAuthenticator> auth;
  Router router;
  std::unique_ptr<HttpServer> http;
  std::atomic<bool> shutting_down{false};
  std::atomic<bool> stopped{false};
};

absl::StatusOr<std::unique_ptr<Server>> Server::Create(const Config& config) {
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
  ASSIGN_OR_RETURN(s.meta, OpenSqliteMetaStore(config.data_dir + "/meta.db"));
  SqliteEventStoreOptions eopts;
  eopts.path = config.data_dir + "/events.db";
  ASSIGN_OR_RETURN(s.events, OpenSqliteEventStore(eopts, s.prices.get()));
  s.auth = std::make_unique<ApiKeyAuthenticator>(*s.meta, s.config.salt);

  PublicApiDeps deps;
  deps.events = s.events.get();
  deps.meta = s.meta.get();
  deps.auth = s.auth.get();
  deps.shutting_down = &s.shutting_down;
  RegisterPublicApi(s.router, deps);

  HttpServerOptions hopts;
  hopts.bind_address = config.bind_address;
  hopts.port = config.port;
  hopts.threads = config.http_threads;
  hopts.body_limit = BodyLimitFor;
  Impl* impl = &s;
  s.http = std::make_unique<HttpServer>(hopts, [impl](HttpRequest& req) -> HttpResponse {
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
  // Keys must exist before the first request can arrive.
  RETURN_IF_ERROR(Bootstrap(s.config, *s.meta, *s.auth, config.port));
  RETURN_IF_ERROR(s.http->Start());
  LogInfo("loupe listening", {{"port", s.http->port()}, {"data_dir", config.data_dir}});
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
  impl_->http->Shutdown(impl_->config.shutdown_grace_seconds);
  impl_->events->Close();
  impl_->meta->Close();
  LogInfo("shutdown complete");
}

}  // namespace loupe
