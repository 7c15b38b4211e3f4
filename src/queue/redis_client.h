#pragma once

// A small Redis client over hiredis: connection settings as Langfuse takes
// them (REDIS_CONNECTION_STRING, or REDIS_HOST / REDIS_PORT / REDIS_AUTH /
// REDIS_USERNAME), a thread-safe pool of blocking connections, commands as
// argument vectors (values are never spliced into command text) and
// pipelines that take one round trip.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct redisContext;

namespace loupe {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username;  // ACL user; empty for the default user
  std::string password;
  int database = 0;
  // What the settings came from, for error messages (never holds the password).
  std::string source = "REDIS_CONNECTION_STRING";
  std::chrono::milliseconds connect_timeout{3000};
  // Longest a command may take, blocking reads included.
  std::chrono::milliseconds command_timeout{10000};
  int max_connections = 16;
};

// redis://[[username]:password@]host[:port][/database]. rediss:// (TLS) is
// refused with a message saying so.
absl::StatusOr<RedisOptions> ParseRedisUrl(std::string_view url);

// Settings from the environment; nullopt when Redis is not configured.
absl::StatusOr<std::optional<RedisOptions>> RedisOptionsFromEnv();

// A reply, copied out of hiredis so it outlives the connection.
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  int64_t integer = 0;
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

class RedisClient {
 public:
  // Connects once (and authenticates) so that a wrong address or password
  // fails here, naming Redis and the setting it came from.
  static absl::StatusOr<std::unique_ptr<RedisClient>> Open(const RedisOptions& options);
  ~RedisClient();

  // Runs one command. Network failures are kUnavailable; an error reply is
  // returned as a reply of type kError, not as a failed status, because some
  // (BUSYGROUP) are expected.
  absl::StatusOr<RedisReply> Command(const std::vector<std::string>& args);
  // Sends every command, then reads every reply: one round trip.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

  const RedisOptions& options() const { return options_; }

 private:
  struct Conn;
  explicit RedisClient(RedisOptions options);
  absl::StatusOr<std::unique_ptr<Conn>> Connect();
  // `reused` says whether the connection came from the idle pool.
  absl::StatusOr<std::unique_ptr<Conn>> Acquire(bool* reused);
  absl::StatusOr<std::vector<RedisReply>> RunPipeline(
      Conn& conn, const std::vector<std::vector<std::string>>& commands);
  void Release(std::unique_ptr<Conn> conn, bool healthy);
  absl::Status Unavailable(std::string_view what) const;

  const RedisOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace loupe
