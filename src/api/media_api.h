#pragma once

// /api/public/media: Langfuse's media upload flow, on S3 or without it.
//
//   POST  /api/public/media               → 201 {mediaId, uploadUrl|null}
//   PUT   /api/public/media/upload/{tok}  the bytes (what an S3 presigned PUT is in Langfuse)
//   PATCH /api/public/media/{mediaId}     → 204, the client's report of its upload
//   GET   /api/public/media/{mediaId}     → {mediaId, contentType, contentLength, uploadedAt,
//                                            url, urlExpiry}; 404 until uploaded
//   GET   /api/public/media/download/{tok} the bytes
//
// Without S3, upload and download URLs point at Loupe itself (NEXTAUTH_URL,
// or the request's Host when unset) and carry an HMAC-signed, expiring token
// (blob/url_signer.h) instead of an API key, so the SDKs use them exactly
// like presigned S3 URLs. The upload checks the bytes against what POST
// declared: Content-Type, length and SHA-256 (x-amz-checksum-sha256 and the
// body itself); bytes are stored once per (project, SHA-256).
//
// With a blob store that has URLs of its own (S3: LANGFUSE_S3_MEDIA_UPLOAD_*),
// POST hands out the store's presigned PUT URL, signed over the declared
// Content-Type, Content-Length and x-amz-checksum-sha256 as Langfuse does,
// and GET its presigned GET URL; the bytes never pass through Loupe. Loupe
// then learns of an upload from the store itself, when the client reports
// it (PATCH) or the media is read or requested again: the object must be
// there with the declared length, and its SHA-256 must match, as reported by
// a server that verified the checksum header or, when the server reports
// none, by reading objects up to 100 MiB back. An object that fails the
// check is deleted.
//
// Settings (environment, read at registration):
//   LANGFUSE_S3_MEDIA_MAX_CONTENT_LENGTH           largest contentLength (default 1e9)
//   LANGFUSE_S3_MEDIA_DOWNLOAD_URL_EXPIRY_SECONDS  download URL lifetime (default 3600)
//   LOUPE_MEDIA_UPLOAD_URL_EXPIRY_SECONDS          upload URL lifetime (default 3600)

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "api/router.h"
#include "auth/api_key_auth.h"
#include "blob/blob_store.h"
#include "storage/media_store.h"

namespace loupe {

struct MediaApiDeps {
  ApiKeyAuthenticator* auth = nullptr;
  // Bytes go to <data_dir>/blobs, records to <data_dir>/meta.db, the URL
  // signing secret to <data_dir>/media_url_secret.
  std::string data_dir;
  // NEXTAUTH_URL; empty means "from the request's Host header".
  std::string public_url;
  // Where the bytes go; null means <data_dir>/blobs.
  std::unique_ptr<BlobStore> blobs;
  // Where the records go; null means <data_dir>/meta.db.
  std::unique_ptr<MediaStore> store;
};

// Opens the media and blob stores (unless given) and adds the routes. The
// stores live as long as the router's handlers.
absl::Status RegisterMediaApi(Router& router, MediaApiDeps deps);

// The upload PUT is the one route whose body is a whole media file; the HTTP
// server's per-path body limit uses these two.
bool IsMediaUploadPath(std::string_view path);
// LANGFUSE_S3_MEDIA_MAX_CONTENT_LENGTH when set, else 1 GiB.
size_t MediaUploadBodyLimit();

}  // namespace loupe
