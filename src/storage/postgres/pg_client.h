#pragma once

// A small libpq layer: DATABASE_URL handling, a thread-safe connection pool,
// parameterized queries (values always travel as parameters, never inside
// the SQL text) and schema migrations guarded by an advisory lock.

#include <libpq-fe.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loupe::pg {

// DATABASE_URL as Langfuse takes it (postgresql://user:pass@host:port/db?...),
// without the password, for log lines.
std::string RedactUrl(std::string_view url);

// Query parameters, sent as text; nullopt is SQL NULL.
class Params {
 public:
  Params& Add(std::string v) {
    values_.emplace_back(std::move(v));
    return *this;
  }
  Params& Add(const char* v) { return Add(std::string(v)); }
  Params& Add(int64_t v) { return Add(std::to_string(v)); }
  Params& Add(const std::optional<std::string>& v) {
    values_.push_back(v);
    return *this;
  }
  Params& Add(const std::optional<int64_t>& v) {
    values_.push_back(v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt);
    return *this;
  }
  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

class Result;

// One row of a Result, with the accessors the shared record mapping uses.
class Row {
 public:
  Row(const PGresult* r, int row) : r_(r), row_(row) {}
  std::string Text(int col) const;
  std::optional<std::string> OptText(int col) const;
  int64_t Int(int col) const;
  std::optional<int64_t> OptInt(int col) const;

 private:
  const PGresult* r_;
  int row_;
};

class Result {
 public:
  explicit Result(PGresult* r) : r_(r, &PQclear) {}
  int rows() const { return PQntuples(r_.get()); }
  Row row(int i) const { return Row(r_.get(), i); }
  // Rows changed by an INSERT, UPDATE or DELETE.
  int64_t affected() const;
  const PGresult* raw() const { return r_.get(); }

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> r_;
};

// A pooled connection; used by one thread at a time.
class Conn {
 public:
  explicit Conn(PGconn* c) : c_(c) {}
  ~Conn() { PQfinish(c_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs one statement. A unique violation is kAlreadyExists, a lost
  // connection kUnavailable.
  absl::StatusOr<Result> Exec(std::string_view sql, const Params& params = Params());
  // Runs a script of statements without parameters (migrations).
  absl::Status ExecScript(std::string_view sql);
  // Runs `body` inside BEGIN/COMMIT; rolls back when it fails.
  absl::Status InTransaction(const std::function<absl::Status()>& body);
  bool healthy() const { return PQstatus(c_) == CONNECTION_OK; }
  // Reads what the server sent while the connection was idle (without
  // blocking) and says whether it is still open. Twice: a server that ends a
  // session sends a message and then closes, and libpq sees the close only
  // on the read after the one that took the message.
  bool Alive() { return PQconsumeInput(c_) == 1 && PQconsumeInput(c_) == 1 && healthy(); }

 private:
  absl::Status Check(const Result& r);
  PGconn* c_;
};

struct PoolOptions {
  std::string url;  // DATABASE_URL
  int max_connections = 10;
};

class Pool {
 public:
  // Connects once to check the URL, credentials and reachability; the error
  // names PostgreSQL and DATABASE_URL (without the password).
  static absl::StatusOr<std::unique_ptr<Pool>> Open(const PoolOptions& options);
  ~Pool();

  // Runs `fn` on a connection of the pool, waiting while all are busy. A
  // connection that broke is dropped and replaced on the next use.
  absl::Status With(const std::function<absl::Status(Conn&)>& fn);
  void Close();

 private:
  Pool(std::string conninfo, std::string redacted, int max)
      : conninfo_(std::move(conninfo)), redacted_(std::move(redacted)), max_(max) {}
  absl::StatusOr<std::unique_ptr<Conn>> Connect();

  const std::string conninfo_;
  const std::string redacted_;
  const int max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // connections idle and in use
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// Runs `attempt` (returning a Status or StatusOr) again, up to three more
// times, while it fails with kAlreadyExists. For upserts racing on two unique
// indexes (an id derived from the conflict target's key): the loser may fail
// on the index that is not the conflict target, although the row exists once
// the winner commits; a second try takes the upsert path.
template <typename F>
auto RetryUniqueRace(F attempt) -> decltype(attempt()) {
  auto result = attempt();
  for (int i = 0; i < 3; ++i) {
    absl::Status status;
    if constexpr (std::is_same_v<decltype(result), absl::Status>) {
      status = result;
    } else {
      status = result.status();
    }
    if (status.code() != absl::StatusCode::kAlreadyExists) break;
    result = attempt();
  }
  return result;
}

struct Migration {
  int version;
  std::string_view sql;
};

// Brings `component`'s tables up to the last version in `migrations`, each
// version once, in its own transaction, recorded in schema_version. Holds a
// cluster-wide advisory lock meanwhile, so processes starting together
// migrate one after the other (the later ones find nothing to do).
absl::Status ApplyMigrations(Pool& pool, std::string_view component,
                             const std::vector<Migration>& migrations);

}  // namespace loupe::pg
