#include "storage/sqlite/sqlite_db.h"

#include "common/log.h"

namespace loupe::sqlite {
namespace {

// SQLite counts every allocation under one process-wide mutex unless told
// otherwise; with a writer and many request threads on their own connections
// that mutex was contended (threads blocked in sqlite3Malloc and
// sqlite3_free under load). Nothing here reads those counts. It can only be
// set before SQLite initializes, hence at program start, before any
// connection or VFS exists.
[[maybe_unused]] const bool kAllocationCountsOff =
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;

}  // namespace

absl::Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return absl::UnavailableError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(msg);
    default:
      return absl::InternalError(msg);
  }
}

Stmt& Stmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindBlob(int i, std::string_view v) {
  sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindNull(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}
Stmt& Stmt::Bind(int i, const std::optional<std::string>& v) {
  return v ? Bind(i, std::string_view(*v)) : BindNull(i);
}
Stmt& Stmt::Bind(int i, const std::optional<int64_t>& v) { return v ? Bind(i, *v) : BindNull(i); }
Stmt& Stmt::Bind(int i, const std::optional<double>& v) { return v ? Bind(i, *v) : BindNull(i); }

absl::StatusOr<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(sqlite3_db_handle(stmt_), rc, "step");
}

absl::Status Stmt::Run() {
  auto r = Step();
  if (!r.ok()) return r.status();
  return absl::OkStatus();
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
bool Stmt::IsText(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_TEXT; }
int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
double Stmt::Double(int col) const { return sqlite3_column_double(stmt_, col); }
std::string Stmt::Text(int col) const {
  const unsigned char* t = sqlite3_column_text(stmt_, col);
  if (!t) return "";
  return std::string(reinterpret_cast<const char*>(t),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}
std::string_view Stmt::Blob(int col) const {
  const void* b = sqlite3_column_blob(stmt_, col);
  if (!b) return {};
  return std::string_view(static_cast<const char*>(b),
                          static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}
std::optional<std::string> Stmt::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}
std::optional<int64_t> Stmt::OptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}
std::optional<double> Stmt::OptDouble(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Double(col);
}

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path, bool read_only,
                                             const char* vfs) {
  sqlite3* raw = nullptr;
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs);
  if (rc != SQLITE_OK) {
    absl::Status s = SqliteError(raw, rc, "open " + path);
    sqlite3_close(raw);
    return s;
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 10000);
  if (!read_only) {
    // WAL lets readers run beside the single writer; FULL makes every commit
    // durable before the request that caused it is acknowledged. Group commit
    // amortizes the fsync across every request of a commit.
    auto s = db->Exec(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;"
        "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-131072; PRAGMA wal_autocheckpoint=4000;");
    if (!s.ok()) return s;
  } else {
    auto s = db->Exec("PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;");
    if (!s.ok()) return s;
  }
  return db;
}

Db::~Db() {
  for (auto& [sql, entry] : cache_) sqlite3_finalize(entry.first);
  cache_.clear();
  sqlite3_close(db_);
}

absl::Status Db::Exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : "";
    sqlite3_free(err);
    return SqliteError(nullptr, rc, "exec: " + msg);
  }
  return absl::OkStatus();
}

absl::StatusOr<Stmt*> Db::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second.second->Reset();
    return it->second.second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare");
  auto wrapper = std::make_unique<Stmt>(stmt);
  Stmt* out = wrapper.get();
  // List queries vary only by which filters are present, so the number of
  // distinct statements per connection stays small and all of them are cached.
  cache_.emplace(sql, std::make_pair(stmt, std::move(wrapper)));
  return out;
}

int64_t Db::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int Db::Changes() const { return sqlite3_changes(db_); }

absl::StatusOr<std::unique_ptr<Transaction>> Transaction::Begin(Db& db, bool immediate) {
  auto s = db.Exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!s.ok()) return s;
  return std::unique_ptr<Transaction>(new Transaction(db));
}

Transaction::~Transaction() {
  if (!done_) {
    auto s = db_.Exec("ROLLBACK");
    if (!s.ok()) LogWarn("rollback failed", {{"error", s.ToString()}});
  }
}

absl::Status Transaction::Commit() {
  done_ = true;
  return db_.Exec("COMMIT");
}

}  // namespace loupe::sqlite
