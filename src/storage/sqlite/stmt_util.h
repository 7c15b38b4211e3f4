#pragma once

// Small helpers for the cached statements of sqlite_db.h: statements are
// reused, so each use must end with a Reset, including early returns.

#include "absl/status/status.h"
#include "storage/sqlite/sqlite_db.h"

namespace loupe::sqlite {

// Resets the statement when the scope ends.
class ResetOnExit {
 public:
  explicit ResetOnExit(Stmt* stmt) : stmt_(stmt) {}
  ~ResetOnExit() { stmt_->Reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Stmt* stmt_;
};

// Runs a statement that returns no rows and resets it.
inline absl::Status RunAndReset(Stmt* stmt) {
  absl::Status s = stmt->Run();
  stmt->Reset();
  return s;
}

}  // namespace loupe::sqlite
