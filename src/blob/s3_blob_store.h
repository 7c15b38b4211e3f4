#pragma once

// A BlobStore on an S3 bucket (AWS S3 or an S3-compatible server: MinIO,
// RustFS, Ceph RGW, Swift's s3api, ...), over libcurl, every request signed
// with SigV4 (blob/sigv4.h) — the same signer that presigns the URLs handed
// to SDKs.
//
// Objects live at `prefix` + key in `bucket`. Addressing is virtual-host
// style (https://<bucket>.<endpoint host>/<key>) unless force_path_style
// (https://<endpoint host>/<bucket>/<key>, what MinIO and RustFS want).
// Bodies of at least `multipart_threshold` bytes go up as a multipart upload
// of `part_size` parts; an upload that fails midway is aborted, so no parts
// are left behind to be billed.
//
// Failures: a missing object is kNotFound; anything else S3 or the network
// does wrong is kUnavailable with a message naming the operation, the bucket
// and key, and the HTTP status and S3 error code (e.g. "HTTP 403
// SignatureDoesNotMatch"). Requests that fail with a 5xx or a network error
// are retried twice with a short backoff (all requests here are idempotent).
//
// Thread-safe; connections are pooled and reused.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "blob/blob_store.h"

namespace loupe {

struct S3Options {
  std::string bucket;
  // Signing region; "us-east-1" when empty.
  std::string region;
  // "http(s)://host[:port]"; https://s3.<region>.amazonaws.com when empty.
  std::string endpoint;
  // When set, presigned URLs use this endpoint instead (clients reach the
  // store under another address than the server does).
  std::string external_endpoint;
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  bool force_path_style = false;
  // Prepended to every key as is (Langfuse's convention: end it with '/').
  std::string prefix;
  // Server-side encryption asked for by the configuration ("AES256" or
  // "aws:kms", and a KMS key id). Not applied yet: see README.
  std::string sse, sse_kms_key_id;
  size_t multipart_threshold = size_t{64} << 20;
  size_t part_size = size_t{16} << 20;  // S3's minimum part size is 5 MiB
  // Names the settings in startup errors, e.g. "LANGFUSE_S3_MEDIA_UPLOAD_"
  // gives "LANGFUSE_S3_MEDIA_UPLOAD_SECRET_ACCESS_KEY".
  std::string settings_prefix = "S3_";
};

class S3BlobStore : public BlobStore {
 public:
  // Checks the options (bucket and credentials set, endpoint well-formed);
  // does not contact the server: see CheckAccess().
  static absl::StatusOr<std::unique_ptr<S3BlobStore>> Open(S3Options options);
  ~S3BlobStore() override;

  absl::Status Put(std::string_view key, std::string_view data) override;
  absl::StatusOr<std::string> Get(std::string_view key) override;
  absl::StatusOr<bool> Exists(std::string_view key) override;
  absl::StatusOr<BlobInfo> Stat(std::string_view key) override;
  absl::Status Delete(std::string_view key) override;
  // Query-string SigV4 (at most 7 days, S3's limit). The payload is not
  // signed (UNSIGNED-PAYLOAD); bind a PUT to its bytes with an
  // x-amz-checksum-sha256 header.
  absl::StatusOr<std::string> PresignedUrl(
      std::string_view method, std::string_view key, int64_t ttl_s,
      const std::vector<std::pair<std::string, std::string>>& headers) override;

  // One read of a key that does not exist, to find out at start whether the
  // endpoint answers, the bucket exists and the credentials are accepted.
  // The error (kFailedPrecondition or kUnavailable) names the setting to fix
  // (settings_prefix + ENDPOINT, BUCKET, REGION, ACCESS_KEY_ID or
  // SECRET_ACCESS_KEY). A 403 AccessDenied passes: the credentials are
  // valid, only reading absent keys is not allowed without s3:ListBucket.
  absl::Status CheckAccess();

  // The URL of `key` as requests use it (tests and messages).
  std::string ObjectUrl(std::string_view key) const;

  struct Impl;

 private:
  explicit S3BlobStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loupe
