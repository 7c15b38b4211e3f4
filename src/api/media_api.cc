#include "api/media_api.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "api/request_util.h"
#include "api/responses.h"
#include "blob/local_blob_store.h"
#include "blob/url_signer.h"
#include "boost/json.hpp"
#include "common/hash.h"
#include "common/json_parse.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "storage/sqlite/sqlite_media_store.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr std::string_view kUploadPrefix = "/api/public/media/upload/";
constexpr std::string_view kDownloadPrefix = "/api/public/media/download/";
constexpr std::string_view kUploadPurpose = "media-upload";
constexpr std::string_view kDownloadPurpose = "media-download";
constexpr int64_t kDefaultMaxContentLength = 1000000000;  // Langfuse's 1e9
constexpr size_t kDefaultUploadBodyLimit = size_t{1} << 30;
// Direct uploads to a store that reports no checksum are verified by reading
// the object back, up to this size.
constexpr int64_t kMaxReadBackBytes = int64_t{100} << 20;
constexpr int64_t kMaxPresignedTtl = 7 * 24 * 3600;  // S3's limit

// MediaContentType of the OpenAPI spec.
constexpr std::array<std::string_view, 52> kContentTypes = {
    "image/png",
    "image/jpeg",
    "image/jpg",
    "image/webp",
    "image/gif",
    "image/svg+xml",
    "image/tiff",
    "image/bmp",
    "image/avif",
    "image/heic",
    "audio/mpeg",
    "audio/mp3",
    "audio/wav",
    "audio/ogg",
    "audio/oga",
    "audio/aac",
    "audio/mp4",
    "audio/flac",
    "audio/opus",
    "audio/webm",
    "video/mp4",
    "video/webm",
    "video/ogg",
    "video/mpeg",
    "video/quicktime",
    "video/x-msvideo",
    "video/x-matroska",
    "text/plain",
    "text/html",
    "text/css",
    "text/csv",
    "text/markdown",
    "text/x-python",
    "application/javascript",
    "text/x-typescript",
    "application/x-yaml",
    "application/pdf",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/zip",
    "application/json",
    "application/xml",
    "application/octet-stream",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/rtf",
    "application/x-ndjson",
    "application/vnd.apache.parquet",
    "application/gzip",
    "application/x-tar",
    "application/x-7z-compressed",
};

struct MediaSettings {
  int64_t max_content_length = kDefaultMaxContentLength;
  int64_t upload_url_ttl_s = 3600;
  int64_t download_url_ttl_s = 3600;
};

absl::StatusOr<int64_t> EnvInt64(const char* name, int64_t def, int64_t min) {
  const char* v = std::getenv(name);
  if (!v || !*v) return def;
  std::string_view s(v);
  int64_t out = 0;
  // Langfuse's default is written "1e9" in some deployments; accept an
  // integral value in exponent notation too.
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || p != s.data() + s.size()) {
    auto [pd, ecd] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ecd != std::errc() || pd != s.data() + s.size() ||
        d != static_cast<double>(static_cast<int64_t>(d))) {
      return absl::InvalidArgumentError(std::string(name) + " must be an integer, got '" +
                                        std::string(s) + "'");
    }
    out = static_cast<int64_t>(d);
  }
  if (out < min) {
    return absl::InvalidArgumentError(std::string(name) + " must be at least " +
                                      std::to_string(min));
  }
  return out;
}

absl::StatusOr<MediaSettings> SettingsFromEnv() {
  MediaSettings s;
  ASSIGN_OR_RETURN(s.max_content_length,
                   EnvInt64("LANGFUSE_S3_MEDIA_MAX_CONTENT_LENGTH", kDefaultMaxContentLength, 1));
  ASSIGN_OR_RETURN(s.download_url_ttl_s,
                   EnvInt64("LANGFUSE_S3_MEDIA_DOWNLOAD_URL_EXPIRY_SECONDS", 3600, 1));
  ASSIGN_OR_RETURN(s.upload_url_ttl_s, EnvInt64("LOUPE_MEDIA_UPLOAD_URL_EXPIRY_SECONDS", 3600, 1));
  return s;
}

bool SafeSegment(std::string_view s) {
  if (s.empty() || s.size() > 100 || s.front() == '.') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// Project ids are free-form (LANGFUSE_INIT_PROJECT_ID); ones that are not a
// safe path segment are stored under a hash of the id.
std::string BlobKeyFor(const std::string& project_id, const std::string& media_id) {
  std::string dir =
      SafeSegment(project_id) ? project_id : "h" + Sha256Hex(project_id).substr(0, 32);
  return "media/" + dir + "/" + media_id;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

const json::string* StringMember(const json::object* o, std::string_view key) {
  const json::value* v = o ? o->if_contains(key) : nullptr;
  return v ? v->if_string() : nullptr;
}

// S3 answers refused presigned requests with 403; the SDKs only look at the
// status, so the body is Loupe's usual error shape.
HttpResponse AccessDenied(const absl::Status& s) {
  return ErrorResponse(403, "AccessDenied",
                       s.code() == absl::StatusCode::kDeadlineExceeded
                           ? "Request has expired"
                           : "The request signature is invalid");
}

class MediaApi {
 public:
  MediaApi(MediaApiDeps deps, MediaSettings settings, std::unique_ptr<MediaStore> store,
           std::unique_ptr<BlobStore> blobs, bool direct, std::string secret)
      : d_(std::move(deps)),
        settings_(settings),
        store_(std::move(store)),
        blobs_(std::move(blobs)),
        direct_(direct),
        signer_(std::move(secret)) {
    while (!d_.public_url.empty() && d_.public_url.back() == '/') d_.public_url.pop_back();
  }

  HttpResponse CreateUploadUrl(HttpRequest& req) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req);
    if (!body.ok()) return StatusResponse(body.status());
    BodyFields f(*body);
    MediaLink link;
    link.trace_id = f.String("traceId", false, 1);
    link.observation_id = f.String("observationId", false, 1);
    link.dataset_id = f.String("datasetId", false, 1);
    link.dataset_item_id = f.String("datasetItemId", false, 1);
    std::optional<std::string> content_type = f.String("contentType", true);
    if (content_type && std::find(kContentTypes.begin(), kContentTypes.end(), *content_type) ==
                            kContentTypes.end()) {
      f.Fail("contentType",
             "Invalid enum value. Expected a supported media type (image/png, "
             "image/jpeg, audio/mpeg, application/pdf, ...), received '" +
                 *content_type + "'");
    }
    std::optional<int64_t> length =
        f.Integer("contentLength", true, 1, std::numeric_limits<int64_t>::max());
    if (length && *length > settings_.max_content_length) {
      f.Fail("contentLength", "File size must be less than or equal to " +
                                  std::to_string(settings_.max_content_length) + " bytes");
    }
    std::optional<std::string> sha = f.String("sha256Hash", true);
    std::string raw_sha;
    if (sha && (sha->size() != 44 || !Base64Decode(*sha, &raw_sha) || raw_sha.size() != 32)) {
      f.Fail("sha256Hash", "Must be the base64-encoded SHA-256 of the content (44 characters)");
    }
    link.field = f.String("field", true).value_or("");
    if (f.ok()) CheckContext(f, link);
    if (!f.ok()) return StatusResponse(f.status());

    MediaRecord declared;
    // Standard base64 and base64url agree up to the alphabet, and the first
    // 22 characters never include padding.
    declared.id = Base64UrlEncode(raw_sha).substr(0, 22);
    declared.project_id = auth->project_id;
    declared.sha256_hash = *sha;
    declared.content_type = *content_type;
    declared.content_length = *length;
    declared.blob_key = BlobKeyFor(auth->project_id, declared.id);
    declared.created_at_ms = NowMillis();
    auto media = store_->CreateOrGet(declared);
    if (!media.ok()) return StatusResponse(media.status());
    link.project_id = auth->project_id;
    link.media_id = media->id;
    if (absl::Status s = store_->Link(link); !s.ok()) return StatusResponse(s);

    auto current = Current(*std::move(media));
    if (!current.ok()) return StatusResponse(current.status());
    const auto& [m, uploaded] = *current;
    json::object out;
    out["mediaId"] = m.id;
    if (uploaded && m.content_type == declared.content_type) {
      out["uploadUrl"] = nullptr;
    } else if (direct_) {
      // The signed headers bind the upload to what was declared, as
      // Langfuse's presigned PUT does; the SDKs send exactly these.
      auto url = blobs_->PresignedUrl("PUT", m.blob_key, settings_.upload_url_ttl_s,
                                      {{"Content-Type", declared.content_type},
                                       {"Content-Length", std::to_string(declared.content_length)},
                                       {"x-amz-checksum-sha256", declared.sha256_hash}});
      if (!url.ok()) return StatusResponse(url.status());
      out["uploadUrl"] = *url;
    } else {
      json::object payload;
      payload["p"] = auth->project_id;
      payload["m"] = m.id;
      payload["t"] = declared.content_type;
      payload["l"] = declared.content_length;
      payload["h"] = declared.sha256_hash;
      const int64_t expires = NowMillis() / 1000 + settings_.upload_url_ttl_s;
      out["uploadUrl"] = BaseUrl(req) + std::string(kUploadPrefix) +
                         signer_.Sign(kUploadPurpose, json::serialize(payload), expires);
    }
    return JsonResponse(201, out);
  }

  HttpResponse Upload(HttpRequest& req, const PathParams& p) {
    auto payload = signer_.Verify(kUploadPurpose, p.at("token"), NowMillis() / 1000);
    if (!payload.ok()) return AccessDenied(payload.status());
    boost::system::error_code ec;
    json::value v = ParseJson(*payload, ec);
    const json::object* o = ec ? nullptr : v.if_object();
    const json::string* project = StringMember(o, "p");
    const json::string* media_id = StringMember(o, "m");
    const json::string* type = StringMember(o, "t");
    const json::value* length_value = o ? o->if_contains("l") : nullptr;
    const int64_t* length = length_value ? length_value->if_int64() : nullptr;
    const json::string* hash = StringMember(o, "h");
    if (!project || !media_id || !type || !length || !hash) {
      // Only this server signs tokens, so this is a bug, not client input.
      return StatusResponse(absl::InternalError("malformed media upload token payload"));
    }

    std::string sent_type = Trim(req.Header("content-type"));
    if (Lower(sent_type) != Lower(*type)) {
      return InvalidRequest("Content-Type '" + sent_type +
                            "' does not match the declared contentType '" + std::string(*type) +
                            "'");
    }
    if (static_cast<int64_t>(req.body.size()) != *length) {
      return InvalidRequest("Body has " + std::to_string(req.body.size()) +
                            " bytes, the declared contentLength is " + std::to_string(*length));
    }
    std::string declared_raw, header_raw;
    Base64Decode(std::string_view(*hash), &declared_raw);
    std::string header = Trim(req.Header("x-amz-checksum-sha256"));
    if (!header.empty() && (!Base64Decode(header, &header_raw) || header_raw != declared_raw)) {
      return InvalidRequest("x-amz-checksum-sha256 does not match the declared sha256Hash");
    }
    if (Sha256Raw(req.body) != declared_raw) {
      return InvalidRequest("The SHA-256 of the body does not match the declared sha256Hash");
    }
    auto media = store_->Get(std::string(*project), std::string(*media_id));
    if (!media.ok()) return StatusResponse(media.status());
    if (!*media) return ErrorResponse(404, "LangfuseNotFoundError", "Media not found");
    if (absl::Status s = blobs_->Put((*media)->blob_key, req.body); !s.ok()) {
      return StatusResponse(s);
    }
    if (absl::Status s = store_->MarkUploaded(std::string(*project), std::string(*media_id),
                                              std::string(*type), *length, NowMillis());
        !s.ok()) {
      return StatusResponse(s);
    }
    HttpResponse res;
    res.status = 200;
    res.content_type.clear();
    res.headers.emplace_back("x-amz-checksum-sha256", std::string(*hash));
    return res;
  }

  HttpResponse Patch(HttpRequest& req, const PathParams& p) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req);
    if (!body.ok()) return StatusResponse(body.status());
    BodyFields f(*body);
    MediaUploadReport r;
    r.uploaded_at_ms = f.DateTime("uploadedAt", true).value_or(0);
    r.http_status = f.Integer("uploadHttpStatus", true, std::numeric_limits<int32_t>::min(),
                              std::numeric_limits<int32_t>::max())
                        .value_or(0);
    r.http_error = f.String("uploadHttpError", false);
    r.time_ms = f.Integer("uploadTimeMs", false, 0, std::numeric_limits<int64_t>::max());
    if (!f.ok()) return StatusResponse(f.status());
    absl::Status s = store_->RecordUploadReport(auth->project_id, p.at("mediaId"), r);
    if (absl::IsNotFound(s)) {
      return ErrorResponse(404, "LangfuseNotFoundError", "Media not found");
    }
    if (!s.ok()) return StatusResponse(s);
    if (direct_ && r.http_status >= 200 && r.http_status < 300) {
      // The client says its upload to the store succeeded: check and record
      // it now. A failure here is not the client's: the report is kept and
      // the next read checks again.
      auto media = store_->Get(auth->project_id, p.at("mediaId"));
      absl::Status synced = media.status();
      if (media.ok() && *media) synced = Current(**std::move(media)).status();
      if (!synced.ok()) {
        LogWarn("media upload report kept; checking the stored object failed",
                {{"media_id", p.at("mediaId")}, {"error", synced.ToString()}});
      }
    }
    return NoContentResponse();
  }

  HttpResponse Get(HttpRequest& req, const PathParams& p) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto media = store_->Get(auth->project_id, p.at("mediaId"));
    if (!media.ok()) return StatusResponse(media.status());
    if (!*media) return ErrorResponse(404, "LangfuseNotFoundError", "Media not found");
    auto current = Current(**std::move(media));
    if (!current.ok()) return StatusResponse(current.status());
    const auto& [m, uploaded] = *current;
    if (!uploaded) {
      const bool failed = m.upload_http_status && *m.upload_http_status != 200;
      return ErrorResponse(404, "LangfuseNotFoundError",
                           failed ? "Media upload failed" : "Media not yet uploaded");
    }
    const int64_t expires = NowMillis() / 1000 + settings_.download_url_ttl_s;
    std::string url;
    if (direct_) {
      auto presigned = blobs_->PresignedUrl("GET", m.blob_key, settings_.download_url_ttl_s, {});
      if (!presigned.ok()) return StatusResponse(presigned.status());
      url = *std::move(presigned);
    } else {
      json::object payload;
      payload["p"] = m.project_id;
      payload["m"] = m.id;
      url = BaseUrl(req) + std::string(kDownloadPrefix) +
            signer_.Sign(kDownloadPurpose, json::serialize(payload), expires);
    }
    json::object out;
    out["mediaId"] = m.id;
    out["contentType"] = m.content_type;
    out["contentLength"] = m.content_length;
    out["uploadedAt"] = FormatIsoMillis(*m.uploaded_at_ms);
    out["url"] = url;
    out["urlExpiry"] = FormatIsoMillis(expires * 1000);
    return JsonResponse(200, out);
  }

  HttpResponse Download(HttpRequest& req, const PathParams& p) {
    auto payload = signer_.Verify(kDownloadPurpose, p.at("token"), NowMillis() / 1000);
    if (!payload.ok()) return AccessDenied(payload.status());
    boost::system::error_code ec;
    json::value v = ParseJson(*payload, ec);
    const json::object* o = ec ? nullptr : v.if_object();
    const json::string* project = StringMember(o, "p");
    const json::string* media_id = StringMember(o, "m");
    if (!project || !media_id) {
      return StatusResponse(absl::InternalError("malformed media download token payload"));
    }
    auto media = store_->Get(std::string(*project), std::string(*media_id));
    if (!media.ok()) return StatusResponse(media.status());
    if (!*media || !(*media)->uploaded_at_ms) {
      return ErrorResponse(404, "LangfuseNotFoundError", "Media not found");
    }
    auto bytes = blobs_->Get((*media)->blob_key);
    if (absl::IsNotFound(bytes.status())) {
      return ErrorResponse(404, "LangfuseNotFoundError", "Media not found");
    }
    if (!bytes.ok()) return StatusResponse(bytes.status());
    HttpResponse res;
    res.status = 200;
    res.content_type = (*media)->content_type;
    res.body = *std::move(bytes);
    res.headers.emplace_back("Cache-Control", "private, max-age=3600");
    return res;
  }

 private:
  // Exactly one context: a trace (observation optional) or a dataset item;
  // `field` must be one of that context's fields.
  static void CheckContext(BodyFields& f, const MediaLink& l) {
    const bool trace = l.trace_id.has_value();
    const bool dataset = l.dataset_id || l.dataset_item_id;
    if (trace == dataset) {
      f.Fail("traceId",
             "Provide exactly one context: traceId (with optional observationId) or "
             "datasetId with datasetItemId");
      return;
    }
    if (trace) {
      if (l.field != "input" && l.field != "output" && l.field != "metadata") {
        f.Fail("field", "Invalid enum value. Expected 'input' | 'output' | 'metadata', received '" +
                            l.field + "'");
      }
      return;
    }
    if (l.observation_id) f.Fail("observationId", "Not allowed with a dataset item context");
    if (!l.dataset_id) f.Fail("datasetId", "Required with datasetItemId");
    if (!l.dataset_item_id) f.Fail("datasetItemId", "Required with datasetId");
    if (l.field != "input" && l.field != "expectedOutput" && l.field != "metadata") {
      f.Fail("field",
             "Invalid enum value. Expected 'input' | 'expectedOutput' | 'metadata', "
             "received '" +
                 l.field + "'");
    }
  }

  // Uploaded means the server verified and stored the bytes, and they are
  // still there (a blob removed behind the store's back can be re-uploaded).
  absl::StatusOr<bool> IsUploaded(const MediaRecord& m) {
    if (!m.uploaded_at_ms) return false;
    return blobs_->Exists(m.blob_key);
  }

  // The record as it stands and whether its bytes are uploaded. With direct
  // uploads the store is the authority: an object the record does not
  // reflect yet (a first upload, or a new one with another content type) is
  // verified and recorded here.
  absl::StatusOr<std::pair<MediaRecord, bool>> Current(MediaRecord m) {
    if (!direct_) {
      ASSIGN_OR_RETURN(bool uploaded, IsUploaded(m));
      return std::make_pair(std::move(m), uploaded);
    }
    auto info = blobs_->Stat(m.blob_key);
    if (absl::IsNotFound(info.status())) return std::make_pair(std::move(m), false);
    if (!info.ok()) return info.status();
    const std::string type = info->content_type.empty() ? m.content_type : info->content_type;
    if (m.uploaded_at_ms && type == m.content_type && info->size == m.content_length) {
      return std::make_pair(std::move(m), true);
    }
    ASSIGN_OR_RETURN(bool intact, VerifyObject(m, *info));
    if (!intact) return std::make_pair(std::move(m), false);
    RETURN_IF_ERROR(store_->MarkUploaded(m.project_id, m.id, type, info->size, NowMillis()));
    ASSIGN_OR_RETURN(std::optional<MediaRecord> fresh, store_->Get(m.project_id, m.id));
    if (!fresh) return absl::NotFoundError("media " + m.id + " disappeared");
    return std::make_pair(*std::move(fresh), true);
  }

  // Whether a directly uploaded object holds the bytes the media id stands
  // for. The presigned PUT was signed over the declared length and SHA-256;
  // servers that verify x-amz-checksum-sha256 report the checksum back,
  // others get the object read back and hashed here (up to
  // kMaxReadBackBytes). An object that fails is deleted so that a new upload
  // URL is handed out.
  absl::StatusOr<bool> VerifyObject(const MediaRecord& m, const BlobInfo& info) {
    std::string problem;
    if (info.size != m.content_length) {
      problem = "length " + std::to_string(info.size) + " is not the declared " +
                std::to_string(m.content_length);
    } else if (!info.checksum_sha256.empty()) {
      if (info.checksum_sha256 != m.sha256_hash) problem = "SHA-256 reported by the store differs";
    } else if (info.size <= kMaxReadBackBytes) {
      auto bytes = blobs_->Get(m.blob_key);
      if (absl::IsNotFound(bytes.status())) return false;
      if (!bytes.ok()) return bytes.status();
      std::string declared;
      Base64Decode(m.sha256_hash, &declared);
      if (Sha256Raw(*bytes) != declared) problem = "SHA-256 of the stored bytes differs";
    }
    if (problem.empty()) return true;
    LogWarn("uploaded media does not match its declaration; deleting it",
            {{"project_id", m.project_id}, {"media_id", m.id}, {"problem", problem}});
    RETURN_IF_ERROR(blobs_->Delete(m.blob_key));
    return false;
  }

  std::string BaseUrl(const HttpRequest& req) const {
    if (!d_.public_url.empty()) return d_.public_url;
    std::string proto = Trim(req.Header("x-forwarded-proto"));
    proto = proto.substr(0, proto.find(','));
    if (proto != "https") proto = "http";
    std::string host = Trim(req.Header("host"));
    return proto + "://" + (host.empty() ? std::string("localhost") : host);
  }

  MediaApiDeps d_;
  const MediaSettings settings_;
  std::unique_ptr<MediaStore> store_;
  std::unique_ptr<BlobStore> blobs_;
  // The store hands out URLs of its own (S3): uploads and downloads go to it
  // directly.
  const bool direct_;
  const UrlSigner signer_;
};

}  // namespace

bool IsMediaUploadPath(std::string_view path) { return path.rfind(kUploadPrefix, 0) == 0; }

size_t MediaUploadBodyLimit() {
  static const size_t limit = [] {
    auto v = EnvInt64("LANGFUSE_S3_MEDIA_MAX_CONTENT_LENGTH", 0, 1);
    return v.ok() && *v > 0 ? static_cast<size_t>(*v) : kDefaultUploadBodyLimit;
  }();
  return limit;
}

absl::Status RegisterMediaApi(Router& router, MediaApiDeps deps) {
  if (deps.auth == nullptr) return absl::InvalidArgumentError("media API needs an authenticator");
  ASSIGN_OR_RETURN(MediaSettings settings, SettingsFromEnv());
  std::unique_ptr<MediaStore> store = std::move(deps.store);
  if (!store) {
    ASSIGN_OR_RETURN(store, OpenSqliteMediaStore(deps.data_dir + "/meta.db"));
  }
  std::unique_ptr<BlobStore> blobs = std::move(deps.blobs);
  if (!blobs) {
    ASSIGN_OR_RETURN(blobs, OpenLocalBlobStore(deps.data_dir + "/blobs"));
  }
  // Stores without URLs of their own say so (kUnimplemented); asked once.
  const bool direct = blobs->PresignedUrl("GET", "media/url-check", 60, {}).status().code() !=
                      absl::StatusCode::kUnimplemented;
  if (direct && settings.upload_url_ttl_s > kMaxPresignedTtl) {
    return absl::InvalidArgumentError(
        "LOUPE_MEDIA_UPLOAD_URL_EXPIRY_SECONDS must be at most 604800 (7 days, S3's limit)");
  }
  if (direct && settings.download_url_ttl_s > kMaxPresignedTtl) {
    return absl::InvalidArgumentError(
        "LANGFUSE_S3_MEDIA_DOWNLOAD_URL_EXPIRY_SECONDS must be at most 604800 (7 days, S3's "
        "limit)");
  }
  ASSIGN_OR_RETURN(std::string secret, LoadOrCreateSecretFile(deps.data_dir + "/media_url_secret"));
  auto api = std::make_shared<MediaApi>(std::move(deps), settings, std::move(store),
                                        std::move(blobs), direct, std::move(secret));
  router.Add("POST", "/api/public/media",
             [api](HttpRequest& r, const PathParams&) { return api->CreateUploadUrl(r); });
  router.Add("PUT", "/api/public/media/upload/{token}",
             [api](HttpRequest& r, const PathParams& p) { return api->Upload(r, p); });
  router.Add("GET", "/api/public/media/download/{token}",
             [api](HttpRequest& r, const PathParams& p) { return api->Download(r, p); });
  router.Add("GET", "/api/public/media/{mediaId}",
             [api](HttpRequest& r, const PathParams& p) { return api->Get(r, p); });
  router.Add("PATCH", "/api/public/media/{mediaId}",
             [api](HttpRequest& r, const PathParams& p) { return api->Patch(r, p); });
  return absl::OkStatus();
}

}  // namespace loupe
