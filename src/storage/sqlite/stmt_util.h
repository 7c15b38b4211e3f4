#pragma once

// Small helpers for the cached statements of sqlite_db.h: statements are
// reused, so each use must end with a Reset, including early returns.

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/status_macros.h"
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

// Reads every row of `st` with `read` (called with the statement positioned
// on the row) and resets the statement, also when a step fails.
template <typename T, typename Read>
absl::StatusOr<std::vector<T>> CollectRows(Stmt* st, Read read) {
  ResetOnExit reset(st);
  std::vector<T> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out.push_back(read(*st));
  }
  return out;
}

}  // namespace loupe::sqlite
