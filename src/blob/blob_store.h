#pragma once

// BlobStore: opaque byte objects addressed by key (media uploads today). Two
// implementations: a local directory (local_blob_store.h) and an S3 bucket
// (s3_blob_store.h); the API layer sees only this interface.
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

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loupe {

// What a store knows about one object.
struct BlobInfo {
  int64_t size = 0;
  std::string content_type;     // as uploaded; empty when the store keeps none
  std::string checksum_sha256;  // base64 SHA-256 when the store verified one; else empty
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  virtual absl::Status Put(std::string_view key, std::string_view data) = 0;
  virtual absl::StatusOr<std::string> Get(std::string_view key) = 0;
  virtual absl::StatusOr<bool> Exists(std::string_view key) = 0;
  // kNotFound when there is no such object.
  virtual absl::StatusOr<BlobInfo> Stat(std::string_view key) = 0;
  virtual absl::Status Delete(std::string_view key) = 0;

  // A URL through which anyone may perform `method` ("GET" or "PUT") on
  // `key` for `ttl_s` seconds without credentials (an S3 presigned URL).
  // `headers` (name, value) are signed: the request must carry them with
  // exactly these values, so e.g. a PUT can be bound to a content type,
  // length and checksum. Stores that serve no URLs of their own (the local
  // directory) return kUnimplemented; the caller then serves the bytes itself.
  virtual absl::StatusOr<std::string> PresignedUrl(
      std::string_view method, std::string_view key, int64_t ttl_s,
      const std::vector<std::pair<std::string, std::string>>& headers) {
    return absl::UnimplementedError("this blob store has no URLs of its own");
  }
};

// OK when `key` satisfies the key rules above.
absl::Status ValidateBlobKey(std::string_view key);

}  // namespace loupe
