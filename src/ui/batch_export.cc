#include "ui/batch_export.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <utility>

#include "api/responses.h"
#include "common/hash.h"
#include "common/json_parse.h"
#include "common/status_macros.h"
#include "common/time_util.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr std::string_view kDownloadPrefix = "/api/ui/batch-exports/download/";
constexpr std::string_view kDownloadPurpose = "batch-export-download";
constexpr int64_t kMaxPresignedTtl = 7 * 24 * 3600;  // S3's limit

absl::StatusOr<int64_t> EnvInt64(const char* name, int64_t def, int64_t min, int64_t max) {
  const char* v = std::getenv(name);
  if (!v || !*v) return def;
  std::string_view s(v);
  int64_t out = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || p != s.data() + s.size() || out < min || out > max) {
    return absl::InvalidArgumentError(std::string(name) + " must be an integer from " +
                                      std::to_string(min) + " to " + std::to_string(max) +
                                      ", got '" + std::string(s) + "'");
  }
  return out;
}

bool SafeSegment(std::string_view s) {
  if (s.empty() || s.size() > 100 || s.front() == '.') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

std::string Number(double d) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  return ec == std::errc() ? std::string(buf, p) : std::string();
}

std::string OptText(const std::optional<std::string>& s) { return s ? *s : std::string(); }

// Strings as they are, other values as compact JSON, absent ones empty.
std::string ValueText(const json::value& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return std::string(v.as_string());
  return json::serialize(v);
}

const json::string* StringMember(const json::object* o, std::string_view key) {
  const json::value* v = o ? o->if_contains(key) : nullptr;
  return v ? v->if_string() : nullptr;
}

}  // namespace

namespace {

template <size_t N>
std::string CsvLine(const std::string (&fields)[N]) {
  std::string row;
  for (size_t i = 0; i < N; ++i) {
    if (i) row += ',';
    row += CsvField(fields[i]);
  }
  row += "\r\n";
  return row;
}

}  // namespace

BatchExportStorage::BatchExportStorage(std::unique_ptr<BlobStore> blobs, bool direct,
                                       std::string secret, std::string public_url,
                                       BatchExportSettings settings)
    : blobs_(std::move(blobs)),
      direct_(direct),
      signer_(std::move(secret)),
      public_url_(std::move(public_url)),
      settings_(settings) {
  while (!public_url_.empty() && public_url_.back() == '/') public_url_.pop_back();
}

absl::StatusOr<std::unique_ptr<BatchExportStorage>> BatchExportStorage::Open(
    std::unique_ptr<BlobStore> blobs, std::string secret, std::string public_url) {
  if (!blobs) return absl::InvalidArgumentError("batch exports need a blob store");
  BatchExportSettings s;
  ASSIGN_OR_RETURN(s.row_limit, EnvInt64("BATCH_EXPORT_ROW_LIMIT", s.row_limit, 1, 100000000));
  // Stores without URLs of their own say so (kUnimplemented); asked once.
  const bool direct = blobs->PresignedUrl("GET", "exports/url-check", 60, {}).status().code() !=
                      absl::StatusCode::kUnimplemented;
  ASSIGN_OR_RETURN(int64_t hours, EnvInt64("BATCH_EXPORT_DOWNLOAD_LINK_EXPIRATION_HOURS", 24, 1,
                                           direct ? kMaxPresignedTtl / 3600 : 24 * 365));
  s.url_ttl_s = hours * 3600;
  return std::unique_ptr<BatchExportStorage>(new BatchExportStorage(
      std::move(blobs), direct, std::move(secret), std::move(public_url), s));
}

std::string BatchExportStorage::KeyFor(const std::string& project_id, const std::string& export_id,
                                       std::string_view extension) {
  std::string dir =
      SafeSegment(project_id) ? project_id : "h" + Sha256Hex(project_id).substr(0, 32);
  return "exports/" + dir + "/" + export_id + "." + std::string(extension);
}

std::string BatchExportStorage::BaseUrl(const HttpRequest& req) const {
  if (!public_url_.empty()) return public_url_;
  std::string proto = Trim(req.Header("x-forwarded-proto"));
  proto = proto.substr(0, proto.find(','));
  if (proto != "https") proto = "http";
  std::string host = Trim(req.Header("host"));
  return proto + "://" + (host.empty() ? std::string("localhost") : host);
}

absl::StatusOr<BatchExportLink> BatchExportStorage::Link(const HttpRequest& req,
                                                         const std::string& key,
                                                         const std::string& file_name) const {
  BatchExportLink link;
  link.expires_at_s = NowMillis() / 1000 + settings_.url_ttl_s;
  if (direct_) {
    ASSIGN_OR_RETURN(link.url, blobs_->PresignedUrl("GET", key, settings_.url_ttl_s, {}));
    return link;
  }
  json::object payload;
  payload["k"] = key;
  payload["f"] = file_name;
  link.url = BaseUrl(req) + std::string(kDownloadPrefix) +
             signer_.Sign(kDownloadPurpose, json::serialize(payload), link.expires_at_s);
  return link;
}

HttpResponse BatchExportStorage::Download(HttpRequest&, const PathParams& p) const {
  auto payload = signer_.Verify(kDownloadPurpose, p.at("token"), NowMillis() / 1000);
  if (!payload.ok()) {
    return ErrorResponse(403, "AccessDenied",
                         payload.status().code() == absl::StatusCode::kDeadlineExceeded
                             ? "The download link has expired"
                             : "The download link is invalid");
  }
  boost::system::error_code ec;
  json::value v = ParseJson(*payload, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  const json::string* key = StringMember(o, "k");
  const json::string* file = StringMember(o, "f");
  if (!key || !file) {
    return StatusResponse(absl::InternalError("malformed batch export token payload"));
  }
  auto bytes = blobs_->Get(std::string_view(*key));
  if (absl::IsNotFound(bytes.status())) {
    return ErrorResponse(404, "NotFound", "The export file no longer exists");
  }
  if (!bytes.ok()) return StatusResponse(bytes.status());
  const std::string name(*file);
  HttpResponse res;
  res.status = 200;
  res.content_type = name.ends_with(".csv") ? "text/csv; charset=utf-8" : "application/x-ndjson";
  res.body = *std::move(bytes);
  // The file name is chosen by the server: [A-Za-z0-9._-] only.
  res.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
  return res;
}

std::string CsvField(std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(value);
  std::string out;
  out.reserve(value.size() + 2);
  out += '"';
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string TraceCsvHeader() {
  return "id,timestamp,name,userId,sessionId,release,version,environment,tags,latency,"
         "totalCost,input,output,metadata\r\n";
}

std::string TraceCsvRow(const TraceRecord& t) {
  json::array tags;
  for (const auto& tag : t.tags) tags.emplace_back(tag);
  std::string latency;
  if (t.min_start_ms && t.max_end_ms) {
    latency =
        Number(static_cast<double>(std::max<int64_t>(0, *t.max_end_ms - *t.min_start_ms)) / 1000.0);
  }
  const std::string fields[] = {t.id,
                                FormatIsoMillis(t.timestamp_ms),
                                OptText(t.name),
                                OptText(t.user_id),
                                OptText(t.session_id),
                                OptText(t.release),
                                OptText(t.version),
                                t.environment,
                                json::serialize(tags),
                                latency,
                                Number(t.total_cost),
                                ValueText(t.input),
                                ValueText(t.output),
                                json::serialize(t.metadata)};
  return CsvLine(fields);
}

std::string ScoreCsvHeader() {
  return "id,timestamp,name,value,stringValue,dataType,source,traceId,observationId,sessionId,"
         "datasetRunId,environment,comment,configId,metadata\r\n";
}

std::string ScoreCsvRow(const ScoreRecord& s) {
  const std::string fields[] = {s.id,
                                FormatIsoMillis(s.timestamp_ms),
                                s.name,
                                s.value ? Number(*s.value) : std::string(),
                                OptText(s.string_value),
                                s.data_type,
                                s.source,
                                OptText(s.trace_id),
                                OptText(s.observation_id),
                                OptText(s.session_id),
                                OptText(s.dataset_run_id),
                                s.environment,
                                OptText(s.comment),
                                OptText(s.config_id),
                                json::serialize(s.metadata)};
  return CsvLine(fields);
}

}  // namespace loupe
