#include "storage/postgres/pg_client.h"

#include <charconv>
#include <cstdlib>
#include <set>

#include "common/log.h"
#include "common/status_macros.h"

namespace loupe::pg {
namespace {

// Key of the advisory lock that serializes migrations ("loupe" in ASCII).
constexpr int64_t kMigrationLockKey = 0x6c6f757065;
constexpr std::string_view kSchema = "loupe";

// libpq's messages span lines ("...failed: Connection refused\n\tIs the
// server running..."); a start failure must be one log line.
std::string OneLine(std::string_view msg) {
  std::string out;
  bool space = false;
  for (char c : msg) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::vector<std::string> SplitQuery(std::string_view query) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    if (end > start) out.emplace_back(query.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::set<std::string> LibpqKeywords() {
  std::set<std::string> out;
  PQconninfoOption* opts = PQconndefaults();
  for (PQconninfoOption* o = opts; o && o->keyword; ++o) out.insert(o->keyword);
  PQconninfoFree(opts);
  return out;
}

struct ParsedUrl {
  std::string conninfo;
  std::optional<int> connection_limit;
};

// Langfuse hands DATABASE_URL to Prisma, whose query parameters libpq would
// reject ("invalid URI query parameter"): connection_limit sizes the pool;
// the other Prisma-only ones (schema, pool_timeout, pgbouncer, ...) are
// ignored, as Loupe's tables have a schema of their own. libpq's own
// parameters (sslmode, connect_timeout, ...) pass on.
absl::StatusOr<ParsedUrl> ParseUrl(const std::string& url) {
  ParsedUrl out;
  const size_t q = url.find('?');
  out.conninfo = url.substr(0, q);
  if (q == std::string::npos) return out;
  static const std::set<std::string> kLibpq = LibpqKeywords();
  char sep = '?';
  for (const std::string& pair : SplitQuery(std::string_view(url).substr(q + 1))) {
    const std::string_view kv = pair;
    const size_t eq = kv.find('=');
    const std::string key(kv.substr(0, eq));
    const std::string_view value = eq == std::string_view::npos ? "" : kv.substr(eq + 1);
    if (key == "connection_limit") {
      int n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size() || n < 1) {
        return absl::InvalidArgumentError(
            "DATABASE_URL: connection_limit must be a positive integer");
      }
      out.connection_limit = n;
    } else if (kLibpq.count(key)) {
      out.conninfo += sep + std::string(kv);
      sep = '&';
    } else {
      LogWarn("DATABASE_URL parameter ignored", {{"parameter", key}});
    }
  }
  return out;
}

}  // namespace

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const size_t start = scheme + 3;
    const size_t end = out.find_first_of("/?", start);
    const size_t at = out.rfind('@', end == std::string::npos ? out.size() : end);
    if (at != std::string::npos && at > start) {
      const size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.erase(colon, at - colon);
    }
  }
  // A password may also come as a query parameter.
  const size_t q = out.find('?');
  if (q == std::string::npos) return out;
  std::string query;
  for (const std::string& kv : SplitQuery(std::string_view(out).substr(q + 1))) {
    if (kv.rfind("password=", 0) == 0) continue;
    query += (query.empty() ? "" : "&") + kv;
  }
  return out.substr(0, q) + (query.empty() ? "" : "?" + query);
}

std::string Row::Text(int col) const { return PQgetvalue(r_, row_, col); }

std::optional<std::string> Row::OptText(int col) const {
  if (PQgetisnull(r_, row_, col)) return std::nullopt;
  return Text(col);
}

int64_t Row::Int(int col) const { return std::strtoll(PQgetvalue(r_, row_, col), nullptr, 10); }

std::optional<int64_t> Row::OptInt(int col) const {
  if (PQgetisnull(r_, row_, col)) return std::nullopt;
  return Int(col);
}

int64_t Result::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return (n && *n) ? std::strtoll(n, nullptr, 10) : 0;
}

absl::StatusOr<Result> Conn::Exec(std::string_view sql, const Params& params) {
  const auto& values = params.values();
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v ? v->c_str() : nullptr);
  Result r(PQexecParams(c_, std::string(sql).c_str(), static_cast<int>(ptrs.size()), nullptr,
                        ptrs.data(), nullptr, nullptr, 0));
  RETURN_IF_ERROR(Check(r));
  return r;
}

absl::Status Conn::ExecScript(std::string_view sql) {
  return Check(Result(PQexec(c_, std::string(sql).c_str())));
}

absl::Status Conn::Check(const Result& r) {
  const PGresult* raw = r.raw();
  const ExecStatusType st = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return absl::OkStatus();
  const std::string msg =
      "PostgreSQL: " + OneLine(raw ? PQresultErrorMessage(raw) : PQerrorMessage(c_));
  const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  if (state && std::string_view(state) == "23505") return absl::AlreadyExistsError(msg);
  if (!healthy()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

absl::Status Conn::InTransaction(const std::function<absl::Status()>& body) {
  RETURN_IF_ERROR(Exec("BEGIN").status());
  absl::Status s = body();
  if (s.ok()) s = Exec("COMMIT").status();
  if (!s.ok()) (void)Exec("ROLLBACK");  // a broken connection is dropped by the pool
  return s;
}

absl::StatusOr<std::unique_ptr<Pool>> Pool::Open(const PoolOptions& options) {
  ASSIGN_OR_RETURN(ParsedUrl parsed, ParseUrl(options.url));
  std::unique_ptr<Pool> pool(new Pool(parsed.conninfo, RedactUrl(options.url),
                                      parsed.connection_limit.value_or(options.max_connections)));
  ASSIGN_OR_RETURN(std::unique_ptr<Conn> first, pool->Connect());
  pool->idle_.push_back(std::move(first));
  pool->open_ = 1;
  return pool;
}

Pool::~Pool() { Close(); }

absl::StatusOr<std::unique_ptr<Conn>> Pool::Connect() {
  PGconn* c = PQconnectdb(conninfo_.c_str());
  if (!c) return absl::UnavailableError("PostgreSQL: out of memory");
  auto conn = std::make_unique<Conn>(c);
  if (PQstatus(c) != CONNECTION_OK) {
    return absl::UnavailableError("PostgreSQL at " + redacted_ +
                                  " (DATABASE_URL): " + OneLine(PQerrorMessage(c)));
  }
  // Loupe's tables live in a schema of their own, so a database that
  // Langfuse also uses (whose tables have the same names) is not disturbed.
  // (ApplyMigrations creates it.)
  RETURN_IF_ERROR(conn->ExecScript("SET search_path TO " + std::string(kSchema)));
  return conn;
}

absl::Status Pool::With(const std::function<absl::Status(Conn&)>& fn) {
  std::unique_ptr<Conn> conn;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !idle_.empty() || open_ < max_; });
    if (closed_) return absl::FailedPreconditionError("PostgreSQL pool is closed");
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;
    }
  }
  // An idle connection the server has closed meanwhile (a restart, a
  // failover, an idle timeout) is replaced before use rather than failing
  // the call: its slot in open_ passes to the new one.
  if (conn && !conn->Alive()) conn.reset();
  if (!conn) {
    auto fresh = Connect();
    if (!fresh.ok()) {
      std::lock_guard lock(mu_);
      --open_;
      cv_.notify_one();
      return fresh.status();
    }
    conn = *std::move(fresh);
  }
  absl::Status s = fn(*conn);
  {
    std::lock_guard lock(mu_);
    if (conn->healthy() && !closed_) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  cv_.notify_one();
  return s;
}

void Pool::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  open_ -= static_cast<int>(idle_.size());
  idle_.clear();
  cv_.notify_all();
}

absl::Status ApplyMigrations(Pool& pool, std::string_view component,
                             const std::vector<Migration>& migrations) {
  const std::string name(component);
  return pool.With([&](Conn& c) -> absl::Status {
    RETURN_IF_ERROR(
        c.Exec("SELECT pg_advisory_lock($1)", Params().Add(kMigrationLockKey)).status());
    absl::Status s = [&]() -> absl::Status {
      // Under the lock: concurrent CREATE ... IF NOT EXISTS can still collide.
      RETURN_IF_ERROR(c.ExecScript("CREATE SCHEMA IF NOT EXISTS " + std::string(kSchema)));
      RETURN_IF_ERROR(c.Exec("CREATE TABLE IF NOT EXISTS schema_version(component TEXT PRIMARY "
                             "KEY, version INTEGER NOT NULL)")
                          .status());
      ASSIGN_OR_RETURN(Result cur, c.Exec("SELECT version FROM schema_version WHERE "
                                          "component = $1",
                                          Params().Add(name)));
      const int64_t current = cur.rows() ? cur.row(0).Int(0) : 0;
      for (const Migration& m : migrations) {
        if (m.version <= current) continue;
        if (absl::Status done = c.InTransaction([&]() -> absl::Status {
              // Migration scripts hold several statements and no values, which
              // only the simple query protocol runs.
              RETURN_IF_ERROR(c.ExecScript(m.sql));
              return c
                  .Exec(
                      "INSERT INTO schema_version(component, version) VALUES ($1, $2) ON "
                      "CONFLICT(component) DO UPDATE SET version = excluded.version",
                      Params().Add(name).Add(static_cast<int64_t>(m.version)))
                  .status();
            });
            !done.ok())
          return done;
        LogInfo("applied PostgreSQL schema migration",
                {{"component", name}, {"version", m.version}});
      }
      return absl::OkStatus();
    }();
    absl::Status unlock =
        c.Exec("SELECT pg_advisory_unlock($1)", Params().Add(kMigrationLockKey)).status();
    return s.ok() ? unlock : s;
  });
}

}  // namespace loupe::pg
