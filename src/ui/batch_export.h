#pragma once

// Batch exports of the web UI: a table (traces, scores) under its list's filters,
// written as one CSV or JSON Lines file to the batch-export object store and
// handed to the user as an expiring download link.
//
// Where the files go: with LANGFUSE_S3_BATCH_EXPORT_ENABLED=true the bucket of
// LANGFUSE_S3_BATCH_EXPORT_*, and the link is an S3 presigned GET URL; else
// the data dir's blob directory, and the link is a signed URL the server
// answers itself (GET /api/ui/batch-exports/download/{token}, no session
// needed: the token is the authorization, as a presigned URL is). Objects are
// keyed exports/<projectId>/<exportId>.<csv|jsonl>; no export record is kept.
//
// Settings (Langfuse's names): BATCH_EXPORT_ROW_LIMIT (rows per file, default
// 1,000,000) and BATCH_EXPORT_DOWNLOAD_LINK_EXPIRATION_HOURS (default 24; at
// most 168 with S3, its presigned URL limit).
//
// Thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "api/router.h"
#include "blob/blob_store.h"
#include "blob/url_signer.h"
#include "boost/json.hpp"
#include "http/http_types.h"
#include "model/records.h"

namespace loupe {

struct BatchExportSettings {
  int64_t row_limit = 1000000;
  // A file stops growing past this many bytes (it is built in memory).
  int64_t byte_limit = int64_t{1} << 30;
  int64_t url_ttl_s = 24 * 3600;
};

// An exported file: where it is and its download link.
struct BatchExportLink {
  std::string url;
  int64_t expires_at_s = 0;
};

class BatchExportStorage {
 public:
  // `blobs` is the batch-export store; `secret` signs the links of stores
  // without URLs of their own. Fails on an invalid setting.
  static absl::StatusOr<std::unique_ptr<BatchExportStorage>> Open(std::unique_ptr<BlobStore> blobs,
                                                                  std::string secret,
                                                                  std::string public_url);

  const BatchExportSettings& settings() const { return settings_; }

  // exports/<projectId>/<exportId>.<extension>; project ids that are not a
  // safe key segment are replaced by a hash of the id.
  static std::string KeyFor(const std::string& project_id, const std::string& export_id,
                            std::string_view extension);

  absl::Status Put(std::string_view key, std::string_view data) { return blobs_->Put(key, data); }

  // A fresh, expiring link to the object at `key`, downloaded as `file_name`.
  absl::StatusOr<BatchExportLink> Link(const HttpRequest& req, const std::string& key,
                                       const std::string& file_name) const;

  // GET /api/ui/batch-exports/download/{token}
  HttpResponse Download(HttpRequest& req, const PathParams& p) const;

 private:
  BatchExportStorage(std::unique_ptr<BlobStore> blobs, bool direct, std::string secret,
                     std::string public_url, BatchExportSettings settings);

  std::string BaseUrl(const HttpRequest& req) const;

  std::unique_ptr<BlobStore> blobs_;
  const bool direct_;  // the store presigns its own URLs (S3)
  const UrlSigner signer_;
  std::string public_url_;
  const BatchExportSettings settings_;
};

// RFC 4180: the field quoted when it holds a comma, quote, CR or LF, with
// quotes doubled.
std::string CsvField(std::string_view value);

// The CSV header line and one row per trace: id, timestamp, name, userId,
// sessionId, release, version, environment, tags (JSON array), latency
// (seconds), totalCost, input, output (strings as they are, other values as
// JSON), metadata (JSON). Lines end with CRLF.
std::string TraceCsvHeader();
std::string TraceCsvRow(const TraceRecord& t);

// Likewise for scores: id, timestamp, name, value, stringValue, dataType,
// source, traceId, observationId, sessionId, datasetRunId, environment,
// comment, configId, metadata (JSON).
std::string ScoreCsvHeader();
std::string ScoreCsvRow(const ScoreRecord& s);

}  // namespace loupe
