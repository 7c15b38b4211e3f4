#include "queue/redis_client.h"

#include <hiredis/hiredis.h>

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace loupe {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string PercentDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    int hi = 0, lo = 0;
    auto hex = [](char c, int* v) {
      if (c >= '0' && c <= '9')
        *v = c - '0';
      else if (c >= 'a' && c <= 'f')
        *v = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        *v = c - 'A' + 10;
      else
        return false;
      return true;
    };
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1], &hi) && hex(in[i + 2], &lo)) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv;
  tv.tv_sec = ms.count() / 1000;
  tv.tv_usec = (ms.count() % 1000) * 1000;
  return tv;
}

RedisReply CopyReply(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(CopyReply(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

}  // namespace

struct RedisClient::Conn {
  explicit Conn(redisContext* c) : ctx(c) {}
  ~Conn() { redisFree(ctx); }
  redisContext* ctx;
};

absl::StatusOr<RedisOptions> ParseRedisUrl(std::string_view url) {
  RedisOptions o;
  constexpr std::string_view kScheme = "redis://";
  if (url.rfind("rediss://", 0) == 0) {
    return absl::InvalidArgumentError(
        "REDIS_CONNECTION_STRING: rediss:// (TLS) is not supported; use redis:// on a trusted "
        "network or a TLS-terminating proxy");
  }
  if (url.rfind(kScheme, 0) != 0) {
    return absl::InvalidArgumentError(
        "REDIS_CONNECTION_STRING must look like redis://[:password@]host[:port][/db]");
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      o.password = PercentDecode(userinfo);  // redis://password@host, as some clients accept
    } else {
      o.username = PercentDecode(userinfo.substr(0, colon));
      o.password = PercentDecode(userinfo.substr(colon + 1));
    }
  }
  std::string_view host = authority;
  if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    if (!absl::SimpleAtoi(std::string(authority.substr(colon + 1)), &o.port) || o.port <= 0 ||
        o.port > 65535) {
      return absl::InvalidArgumentError("REDIS_CONNECTION_STRING has an invalid port");
    }
  }
  if (host.empty()) return absl::InvalidArgumentError("REDIS_CONNECTION_STRING has no host");
  o.host = std::string(host);
  if (!path.empty() && (!absl::SimpleAtoi(std::string(path), &o.database) || o.database < 0)) {
    return absl::InvalidArgumentError(
        "REDIS_CONNECTION_STRING: the path must be a database number");
  }
  return o;
}

absl::StatusOr<std::optional<RedisOptions>> RedisOptionsFromEnv() {
  const std::string tls = Env("REDIS_TLS_ENABLED");
  if (tls == "true" || tls == "1") {
    return absl::InvalidArgumentError(
        "REDIS_TLS_ENABLED: TLS connections to Redis are not supported; use a trusted network or "
        "a TLS-terminating proxy");
  }
  const std::string url = Env("REDIS_CONNECTION_STRING");
  if (!url.empty()) {
    absl::StatusOr<RedisOptions> o = ParseRedisUrl(url);
    if (!o.ok()) return o.status();
    return std::optional<RedisOptions>(*std::move(o));
  }
  if (Env("REDIS_HOST").empty()) return std::optional<RedisOptions>();
  RedisOptions o;
  o.source = "REDIS_HOST/REDIS_PORT/REDIS_AUTH";
  o.host = Env("REDIS_HOST");
  if (std::string port = Env("REDIS_PORT"); !port.empty()) {
    if (!absl::SimpleAtoi(port, &o.port) || o.port <= 0 || o.port > 65535) {
      return absl::InvalidArgumentError("REDIS_PORT must be a port number");
    }
  }
  o.username = Env("REDIS_USERNAME");
  o.password = Env("REDIS_AUTH");
  return std::optional<RedisOptions>(std::move(o));
}

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Open(const RedisOptions& options) {
  std::unique_ptr<RedisClient> client(new RedisClient(options));
  absl::StatusOr<std::unique_ptr<Conn>> conn = client->Connect();
  if (!conn.ok()) return conn.status();
  {
    std::lock_guard<std::mutex> lock(client->mu_);
    client->open_ = 1;
  }
  client->Release(*std::move(conn), true);
  return client;
}

RedisClient::RedisClient(RedisOptions options) : options_(std::move(options)) {}

RedisClient::~RedisClient() = default;

absl::Status RedisClient::Unavailable(std::string_view what) const {
  return absl::UnavailableError(absl::StrCat("Redis at ", options_.host, ":", options_.port, " (",
                                             options_.source, "): ", std::string(what)));
}

absl::StatusOr<std::unique_ptr<RedisClient::Conn>> RedisClient::Connect() {
  redisContext* c = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                            ToTimeval(options_.connect_timeout));
  if (c == nullptr) return Unavailable("cannot allocate a connection");
  auto conn = std::make_unique<Conn>(c);
  if (c->err) return Unavailable(c->errstr);
  redisSetTimeout(c, ToTimeval(options_.command_timeout));
  auto run = [&](std::vector<std::string> args) -> absl::StatusOr<RedisReply> {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) return Unavailable(c->errstr);
    RedisReply out = CopyReply(r);
    freeReplyObject(r);
    return out;
  };
  if (!options_.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!options_.username.empty()) auth.push_back(options_.username);
    auth.push_back(options_.password);
    absl::StatusOr<RedisReply> r = run(auth);
    if (!r.ok()) return r.status();
    if (r->is_error()) {
      return absl::UnauthenticatedError(absl::StrCat("Redis at ", options_.host, ":", options_.port,
                                                     " rejected the password (", options_.source,
                                                     "): ", r->str));
    }
  }
  if (options_.database != 0) {
    absl::StatusOr<RedisReply> r = run({"SELECT", std::to_string(options_.database)});
    if (!r.ok()) return r.status();
    if (r->is_error())
      return Unavailable("SELECT " + std::to_string(options_.database) + ": " + r->str);
  }
  absl::StatusOr<RedisReply> pong = run({"PING"});
  if (!pong.ok()) return pong.status();
  if (pong->is_error()) {
    // NOAUTH: the server wants a password that was not given.
    return absl::UnauthenticatedError(absl::StrCat("Redis at ", options_.host, ":", options_.port,
                                                   " (", options_.source, "): ", pong->str));
  }
  return conn;
}

absl::StatusOr<std::unique_ptr<RedisClient::Conn>> RedisClient::Acquire(bool* reused) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < options_.max_connections; });
    *reused = !idle_.empty();
    if (!idle_.empty()) {
      std::unique_ptr<Conn> c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    ++open_;
  }
  absl::StatusOr<std::unique_ptr<Conn>> c = Connect();
  if (!c.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    cv_.notify_one();
  }
  return c;
}

void RedisClient::Release(std::unique_ptr<Conn> conn, bool healthy) {
  std::lock_guard<std::mutex> lock(mu_);
  if (healthy && conn->ctx->err == 0) {
    idle_.push_back(std::move(conn));
  } else {
    conn.reset();
    --open_;
  }
  cv_.notify_one();
}

absl::StatusOr<RedisReply> RedisClient::Command(const std::vector<std::string>& args) {
  absl::StatusOr<std::vector<RedisReply>> r = Pipeline({args});
  if (!r.ok()) return r.status();
  return std::move(r->front());
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  // A pooled connection may have been closed by the server meanwhile (a
  // restart, an idle timeout); that shows only when it is used, so a failure
  // on one is retried once on a fresh connection. Commands here are safe to
  // repeat (queue entries and events are idempotent by id).
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    absl::StatusOr<std::unique_ptr<Conn>> conn = Acquire(&reused);
    if (!conn.ok()) return conn.status();
    absl::StatusOr<std::vector<RedisReply>> replies = RunPipeline(**conn, commands);
    Release(*std::move(conn), replies.ok());
    if (replies.ok() || !reused || attempt > 0) return replies;
  }
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::RunPipeline(
    Conn& conn, const std::vector<std::vector<std::string>>& commands) {
  redisContext* c = conn.ctx;
  for (const auto& args : commands) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK) {
      return Unavailable(c->errstr);
    }
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
      return Unavailable(c->errstr[0] ? c->errstr : "connection lost");
    }
    auto* r = static_cast<redisReply*>(raw);
    replies.push_back(CopyReply(r));
    freeReplyObject(r);
  }
  return replies;
}

}  // namespace loupe
