#pragma once

// Propagation helpers for absl::Status / absl::StatusOr, matching the names of
// later abseil releases (the packaged abseil predates them).

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LOUPE_STATUS_CONCAT_INNER(a, b) a##b
#define LOUPE_STATUS_CONCAT(a, b) LOUPE_STATUS_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` yields a non-OK status.
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::absl::Status loupe_status_ = (expr);         \
    if (!loupe_status_.ok()) return loupe_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, Foo());` unwraps a StatusOr or returns its status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(LOUPE_STATUS_CONCAT(loupe_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
