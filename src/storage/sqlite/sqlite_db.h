#pragma once

// A thin RAII layer over the SQLite C API that turns result codes into
// absl::Status. One Db is one connection and is not thread-safe: the stores
// give each thread its own (one writer, a pool of readers).

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loupe::sqlite {

class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Binding is 1-based like SQLite's; chained for brevity.
  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, double v);
  Stmt& Bind(int i, std::string_view v);
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Stmt& BindBlob(int i, std::string_view v);
  Stmt& BindNull(int i);
  Stmt& Bind(int i, const std::optional<std::string>& v);
  Stmt& Bind(int i, const std::optional<int64_t>& v);
  Stmt& Bind(int i, const std::optional<double>& v);

  // Returns true while a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Runs a statement that returns no rows.
  absl::Status Run();
  void Reset();

  bool IsNull(int col) const;
  bool IsText(int col) const;
  int64_t Int(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;
  std::string_view Blob(int col) const;
  std::optional<std::string> OptText(int col) const;
  std::optional<int64_t> OptInt(int col) const;
  std::optional<double> OptDouble(int col) const;

 private:
  sqlite3_stmt* stmt_;
};

class Db {
 public:
  // Opens (creating if needed) a database file in WAL mode, through the VFS
  // named `vfs` (nullptr: SQLite's default).
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& path, bool read_only,
                                                  const char* vfs = nullptr);
  ~Db();

  absl::Status Exec(std::string_view sql);
  // Returns a statement from this connection's cache, reset and unbound.
  absl::StatusOr<Stmt*> Prepare(const std::string& sql);
  int64_t LastInsertRowId() const;
  int Changes() const;
  sqlite3* raw() { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, std::pair<sqlite3_stmt*, std::unique_ptr<Stmt>>> cache_;
};

// Maps an SQLite result code to a Status with context.
absl::Status SqliteError(sqlite3* db, int rc, std::string_view what);

// A transaction that rolls back unless committed.
class Transaction {
 public:
  static absl::StatusOr<std::unique_ptr<Transaction>> Begin(Db& db, bool immediate);
  ~Transaction();
  absl::Status Commit();

 private:
  explicit Transaction(Db& db) : db_(db) {}
  Db& db_;
  bool done_ = false;
};

}  // namespace loupe::sqlite
