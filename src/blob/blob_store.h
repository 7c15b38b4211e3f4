#pragma once

// BlobStore: opaque byte objects addressed by key (media uploads today; the
// same interface can front S3 later without touching the API layer).
//
// Contract:
//  - Keys are relative, '/'-separated paths whose segments are 1..200
//    characters of [A-Za-z0-9._-] and do not start with '.'; anything else is
//    kInvalidArgument (so a key can never escape the store's root or collide
//    with the store's own temporary files). ValidateBlobKey() checks this.
//  - Put is atomic and durable: when it returns OK, a reader sees either the
//    whole new object or (on a concurrent Put of the same key) another whole
//    object, never a partial one, and the object survives a crash. A crash
//    during Put leaves the previous object (or none).
//  - Get of a missing key is kNotFound; Delete of a missing key is OK.
//  - Storage failures are kUnavailable (disk full, I/O errors).
//  - Every method is thread-safe; concurrent Puts of one key end with one of
//    the written values.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loupe {

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  virtual absl::Status Put(std::string_view key, std::string_view data) = 0;
  virtual absl::StatusOr<std::string> Get(std::string_view key) = 0;
  virtual absl::StatusOr<bool> Exists(std::string_view key) = 0;
  virtual absl::Status Delete(std::string_view key) = 0;
};

// OK when `key` satisfies the key rules above.
absl::Status ValidateBlobKey(std::string_view key);

}  // namespace loupe
