#pragma once

// MediaStore: media objects of a project (Langfuse's `media` table) and the
// traces, observations and dataset items whose fields reference them. The
// bytes live in a BlobStore under `blob_key`; this store only knows about
// them.
//
// A media object is identified per project by its SHA-256 (mediaId is
// derived from it), so the same bytes uploaded twice are stored once.
// `uploaded_at_ms` is set only when the server itself has received and
// verified the bytes; the client's own account of its upload (PATCH) is
// kept beside it as reported.
//
// Contract: everything is durable on return and all methods are
// thread-safe. "Not found" is an empty optional (reads) or kNotFound
// (updates); storage failures are kUnavailable / kInternal.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loupe {

struct MediaRecord {
  std::string id;  // base64url(sha256)[:22]
  std::string project_id;
  std::string sha256_hash;  // standard base64, as sent by the SDKs
  std::string content_type;
  int64_t content_length = 0;
  std::string blob_key;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  // Set when the bytes were received, checked and stored.
  std::optional<int64_t> uploaded_at_ms;
  // As reported by the client (PATCH /api/public/media/{id}).
  std::optional<int64_t> reported_uploaded_at_ms;
  std::optional<int64_t> upload_http_status;
  std::optional<std::string> upload_http_error;
  std::optional<int64_t> upload_time_ms;
};

// Where a media reference appears. Exactly one of the trace and the dataset
// item context is set; observation_id is optional within a trace.
struct MediaLink {
  std::string project_id;
  std::string media_id;
  std::optional<std::string> trace_id, observation_id;
  std::optional<std::string> dataset_id, dataset_item_id;
  std::string field;  // input | output | metadata | expectedOutput
};

struct MediaUploadReport {
  int64_t uploaded_at_ms = 0;
  int64_t http_status = 0;
  std::optional<std::string> http_error;
  std::optional<int64_t> time_ms;
};

class MediaStore {
 public:
  virtual ~MediaStore() = default;

  // Creates the media row for (project, sha256) if there is none. An existing
  // row that has not been uploaded yet takes the declared content type and
  // length; an uploaded one keeps what was uploaded. Returns the row as
  // stored afterwards.
  virtual absl::StatusOr<MediaRecord> CreateOrGet(const MediaRecord& declared) = 0;

  virtual absl::StatusOr<std::optional<MediaRecord>> Get(const std::string& project_id,
                                                         const std::string& media_id) = 0;

  // Records that the bytes (of this type and length) are now in the blob store.
  virtual absl::Status MarkUploaded(const std::string& project_id, const std::string& media_id,
                                    const std::string& content_type, int64_t content_length,
                                    int64_t uploaded_at_ms) = 0;

  virtual absl::Status RecordUploadReport(const std::string& project_id,
                                          const std::string& media_id,
                                          const MediaUploadReport& report) = 0;

  // Idempotent: linking the same field twice keeps one link.
  virtual absl::Status Link(const MediaLink& link) = 0;

  // Links of one media object, in the order they were first made.
  virtual absl::StatusOr<std::vector<MediaLink>> ListLinks(const std::string& project_id,
                                                           const std::string& media_id) = 0;
};

}  // namespace loupe
