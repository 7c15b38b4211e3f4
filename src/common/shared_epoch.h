#pragma once

// SharedEpoch: a counter the processes of one deployment share, bumped by
// whichever process changes something the others cache (API keys, ...).
// A process that sees the counter move drops its cached copies. In the
// scale-out mode it lives in Redis (queue/redis_epoch.h); without one, each
// process's caches expire by time alone.

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loupe {

class SharedEpoch {
 public:
  virtual ~SharedEpoch() = default;
  // The current value; kUnavailable when it cannot be read (callers keep
  // their caches and try again later).
  virtual absl::StatusOr<int64_t> Read() = 0;
  // Moves the counter on, so that every process drops its copies.
  virtual absl::Status Bump() = 0;
};

}  // namespace loupe
