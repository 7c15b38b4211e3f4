#include "blob/s3_blob_store.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "blob/sigv4.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/time_util.h"

namespace loupe {
namespace {

constexpr int64_t kMaxPresignSeconds = 7 * 24 * 3600;  // S3 refuses longer X-Amz-Expires
constexpr size_t kMinPartSize = size_t{5} << 20;
constexpr int kAttempts = 3;
constexpr size_t kMaxIdleHandles = 8;
constexpr std::string_view kObjectContentType = "application/octet-stream";
// Read at start by CheckAccess(); no valid blob key starts with '.', so it
// never names a real object.
constexpr std::string_view kAccessCheckKey = ".loupe-access-check";

// Where requests go: scheme, host[:port] and an optional base path.
struct Endpoint {
  std::string scheme;     // "http" or "https"
  std::string host;       // without port; IPv6 literals keep their brackets
  std::string port;       // empty for the scheme's default
  std::string base_path;  // "" or "/path" without a trailing '/'

  std::string HostHeader(std::string_view host_name) const {
    return port.empty() ? std::string(host_name) : std::string(host_name) + ":" + port;
  }
  std::string Display() const { return scheme + "://" + HostHeader(host) + base_path; }
};

absl::StatusOr<Endpoint> ParseEndpoint(std::string_view url, const std::string& setting) {
  Endpoint e;
  std::string_view rest = url;
  if (size_t p = rest.find("://"); p != std::string_view::npos) {
    e.scheme = std::string(rest.substr(0, p));
    for (char& c : e.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    rest.remove_prefix(p + 3);
  } else {
    e.scheme = "https";
  }
  const auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(setting + " must look like http(s)://host[:port], got '" +
                                      std::string(url) + "' (" + std::string(why) + ")");
  };
  if (e.scheme != "http" && e.scheme != "https") return bad("unsupported scheme");
  const size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (!path.empty() && path.front() != '/') return bad("query or fragment");
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  e.base_path = std::string(path);
  if (authority.find('@') != std::string_view::npos) return bad("credentials in the URL");
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    e.port = std::string(authority.substr(colon + 1));
    authority = authority.substr(0, colon);
    int port = 0;
    auto [p, ec] = std::from_chars(e.port.data(), e.port.data() + e.port.size(), port);
    if (ec != std::errc() || p != e.port.data() + e.port.size() || port <= 0 || port > 65535) {
      return bad("invalid port");
    }
    if ((e.scheme == "http" && port == 80) || (e.scheme == "https" && port == 443)) e.port.clear();
  }
  if (authority.empty()) return bad("no host");
  e.host = std::string(authority);
  return e;
}

// The text of the first <tag>...</tag> in an S3 XML body; empty if none.
std::string XmlElement(std::string_view xml, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  size_t b = xml.find(open);
  if (b == std::string_view::npos) return "";
  b += open.size();
  size_t e = xml.find(close, b);
  if (e == std::string_view::npos) return "";
  return std::string(xml.substr(b, e - b));
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// One line, bounded: S3 messages go into single-line logs.
std::string OneLine(std::string_view s, size_t max = 300) {
  std::string out;
  for (char c : s.substr(0, max)) out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
  if (s.size() > max) out += "...";
  return out;
}

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

struct ReadState {
  std::string_view body;
  size_t offset = 0;
};

size_t ReadBody(char* buffer, size_t size, size_t n, void* user) {
  auto* st = static_cast<ReadState*>(user);
  const size_t len = std::min(size * n, st->body.size() - st->offset);
  std::copy_n(st->body.data() + st->offset, len, buffer);
  st->offset += len;
  return len;
}

// Rewinds the body when libcurl resends it (a redirect, a reused connection
// that was closed under it).
int SeekBody(void* user, curl_off_t offset, int origin) {
  auto* st = static_cast<ReadState*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > st->body.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  st->offset = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

using Headers = std::vector<std::pair<std::string, std::string>>;

size_t CollectHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<Headers*>(user);
  std::string_view line(data, size * n);
  // A new status line (after 100 Continue or a redirect) starts a new set.
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  headers->emplace_back(std::move(name), std::string(value));
  return size * n;
}

struct Response {
  long status = 0;
  std::string body;
  Headers headers;
  // Set when no HTTP response arrived (connection refused, DNS, timeout).
  CURLcode curl_code = CURLE_OK;
  std::string curl_error;

  std::string Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return "";
  }
  // The S3 error code of a failed response ("NoSuchKey", ...); bodiless
  // answers (HEAD) get one from the status.
  std::string ErrorCode() const {
    std::string code = XmlElement(body, "Code");
    if (!code.empty()) return code;
    if (status == 404) return "NotFound";
    if (status == 403) return "Forbidden";
    return "";
  }
};

bool Retryable(const Response& r) {
  if (r.curl_code != CURLE_OK) {
    return r.curl_code != CURLE_URL_MALFORMAT && r.curl_code != CURLE_UNSUPPORTED_PROTOCOL &&
           r.curl_code != CURLE_COULDNT_RESOLVE_HOST;
  }
  return r.status == 500 || r.status == 502 || r.status == 503 || r.status == 504;
}

void GlobalInitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

struct S3BlobStore::Impl {
  S3Options options;
  Endpoint endpoint;
  std::optional<Endpoint> external;  // for presigned URLs
  SigV4Signer signer;

  std::mutex mu;
  std::vector<CURL*> idle;  // guarded by mu

  Impl(S3Options o, Endpoint e, std::optional<Endpoint> ext)
      : options(std::move(o)),
        endpoint(std::move(e)),
        external(std::move(ext)),
        signer(
            AwsCredentials{options.access_key_id, options.secret_access_key, options.session_token},
            options.region) {}

  ~Impl() {
    std::lock_guard<std::mutex> lock(mu);
    for (CURL* h : idle) curl_easy_cleanup(h);
  }

  std::string Setting(std::string_view name) const {
    return options.settings_prefix + std::string(name);
  }

  // Host header and percent-encoded path of `object_key` (prefix included).
  std::pair<std::string, std::string> Address(const Endpoint& e,
                                              std::string_view object_key) const {
    const std::string key = UriEncode(object_key, true);
    if (options.force_path_style) {
      return {e.HostHeader(e.host), e.base_path + "/" + options.bucket + "/" + key};
    }
    return {e.HostHeader(options.bucket + "." + e.host), e.base_path + "/" + key};
  }

  std::string Url(const Endpoint& e, std::string_view object_key) const {
    auto [host, path] = Address(e, object_key);
    return e.scheme + "://" + host + path;
  }

  std::string Describe(std::string_view op, std::string_view object_key) const {
    return "S3 " + std::string(op) + " s3://" + options.bucket + "/" + std::string(object_key) +
           " at " + endpoint.Display();
  }

  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* h) {
    std::lock_guard<std::mutex> lock(mu);
    if (idle.size() < kMaxIdleHandles) {
      idle.push_back(h);
    } else {
      curl_easy_cleanup(h);
    }
  }

  // One signed request on `object_key` (already prefixed), retried on 5xx
  // and network errors. The Response carries whatever came back (any HTTP
  // status) or, when nothing did, the network error; callers judge it.
  Response Send(std::string_view method, std::string_view object_key, const SigV4Params& query,
                const SigV4Params& extra_headers, std::string_view body, long timeout_ms = 0) {
    Response r;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 << (2 * attempt)));
      r = SendOnce(method, object_key, query, extra_headers, body, timeout_ms);
      if (!Retryable(r)) break;
    }
    return r;
  }

  Response SendOnce(std::string_view method, std::string_view object_key, const SigV4Params& query,
                    const SigV4Params& extra_headers, std::string_view body, long timeout_ms) {
    auto [host, path] = Address(endpoint, object_key);
    SigV4Request req;
    req.method = std::string(method);
    req.path = path;
    req.query = query;
    req.payload_hash = Sha256Hex(body);
    req.headers.emplace_back("Host", host);
    req.headers.emplace_back("x-amz-content-sha256", req.payload_hash);
    for (const auto& h : extra_headers) req.headers.push_back(h);
    const std::string authorization = signer.SignHeaders(&req, NowMillis() / 1000);

    std::string url = endpoint.scheme + "://" + host + path;
    if (!req.query.empty()) url += "?" + CanonicalQuery(req.query);

    curl_slist* list = nullptr;
    for (const auto& [name, value] : req.headers) {
      list = curl_slist_append(list, (name + ": " + value).c_str());
    }
    list = curl_slist_append(list, ("Authorization: " + authorization).c_str());
    // S3 answers a 100-continue wait with nothing useful; send bodies at once.
    list = curl_slist_append(list, "Expect:");

    Response r;
    ReadState read{body, 0};
    char error[CURL_ERROR_SIZE] = {0};
    CURL* h = Acquire();
    if (h == nullptr) {
      curl_slist_free_all(list);
      r.curl_code = CURLE_OUT_OF_MEMORY;
      r.curl_error = "cannot create a libcurl handle";
      return r;
    }
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    // Abort transfers that stall (under 1 byte/s for a minute) rather than
    // bounding their total time: a large object may take long legitimately.
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    if (timeout_ms > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, CollectHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    if (method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (method == "PUT" || method == "POST") {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body.size()));
      curl_easy_setopt(h, CURLOPT_READFUNCTION, ReadBody);
      curl_easy_setopt(h, CURLOPT_READDATA, &read);
      curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, SeekBody);
      curl_easy_setopt(h, CURLOPT_SEEKDATA, &read);
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    } else if (method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    r.curl_code = curl_easy_perform(h);
    if (r.curl_code == CURLE_OK) {
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    } else {
      r.curl_error = error[0] ? std::string(error) : curl_easy_strerror(r.curl_code);
    }
    // The handle keeps pointers to this call's buffers; drop them before reuse.
    curl_easy_reset(h);
    Release(h);
    curl_slist_free_all(list);
    return r;
  }

  // kUnavailable describing a failed response.
  absl::Status Failure(std::string_view op, std::string_view object_key, const Response& r) const {
    if (r.curl_code != CURLE_OK) {
      return absl::UnavailableError(Describe(op, object_key) + ": " + OneLine(r.curl_error));
    }
    std::string msg = Describe(op, object_key) + ": HTTP " + std::to_string(r.status);
    const std::string code = r.ErrorCode();
    if (!code.empty()) msg += " " + OneLine(code, 100);
    const std::string message = XmlElement(r.body, "Message");
    if (!message.empty()) msg += ": " + OneLine(message);
    return absl::UnavailableError(msg);
  }

  absl::Status PutSingle(const std::string& object_key, std::string_view data) {
    Response r =
        Send("PUT", object_key, {}, {{"Content-Type", std::string(kObjectContentType)}}, data);
    if (r.curl_code != CURLE_OK || r.status != 200) return Failure("PUT", object_key, r);
    return absl::OkStatus();
  }

  absl::Status PutMultipart(const std::string& object_key, std::string_view data) {
    Response created = Send("POST", object_key, {{"uploads", ""}},
                            {{"Content-Type", std::string(kObjectContentType)}}, "");
    const std::string upload_id = XmlElement(created.body, "UploadId");
    if (created.curl_code != CURLE_OK || created.status != 200 || upload_id.empty()) {
      return Failure("CreateMultipartUpload", object_key, created);
    }
    absl::Status status = UploadParts(object_key, upload_id, data);
    if (!status.ok()) {
      Response aborted = Send("DELETE", object_key, {{"uploadId", upload_id}}, {}, "");
      if (aborted.curl_code != CURLE_OK || (aborted.status != 204 && aborted.status != 200)) {
        LogWarn(
            "could not abort a failed S3 multipart upload; its parts stay until a "
            "lifecycle rule removes them",
            {{"key", object_key},
             {"upload_id", upload_id},
             {"error", Failure("AbortMultipartUpload", object_key, aborted).ToString()}});
      }
    }
    return status;
  }

  absl::Status UploadParts(const std::string& object_key, const std::string& upload_id,
                           std::string_view data) {
    const size_t part_size = std::max(options.part_size, kMinPartSize);
    std::string complete = "<CompleteMultipartUpload>";
    int number = 1;
    for (size_t offset = 0; offset < data.size(); offset += part_size, ++number) {
      std::string_view part = data.substr(offset, part_size);
      Response r =
          Send("PUT", object_key, {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}},
               {}, part);
      const std::string etag = r.Header("etag");
      if (r.curl_code != CURLE_OK || r.status != 200 || etag.empty()) {
        return Failure("UploadPart " + std::to_string(number), object_key, r);
      }
      complete += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" +
                  XmlEscape(etag) + "</ETag></Part>";
    }
    complete += "</CompleteMultipartUpload>";
    Response r = Send("POST", object_key, {{"uploadId", upload_id}},
                      {{"Content-Type", "application/xml"}}, complete);
    // CompleteMultipartUpload can fail after answering 200: the error is then
    // in the body.
    if (r.curl_code != CURLE_OK || r.status != 200 || r.body.find("<Error>") != std::string::npos) {
      return Failure("CompleteMultipartUpload", object_key, r);
    }
    return absl::OkStatus();
  }
};

S3BlobStore::S3BlobStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
S3BlobStore::~S3BlobStore() = default;

absl::StatusOr<std::unique_ptr<S3BlobStore>> S3BlobStore::Open(S3Options o) {
  const std::string& p = o.settings_prefix;
  if (o.bucket.empty()) return absl::InvalidArgumentError(p + "BUCKET is not set");
  if (o.region.empty()) o.region = "us-east-1";
  if (o.access_key_id.empty() || o.secret_access_key.empty()) {
    return absl::InvalidArgumentError(
        p + "ACCESS_KEY_ID and " + p +
        "SECRET_ACCESS_KEY must be set (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); "
        "instance and pod roles are not supported");
  }
  if (o.part_size < kMinPartSize) o.part_size = kMinPartSize;
  if (o.multipart_threshold < o.part_size) o.multipart_threshold = o.part_size;
  const std::string endpoint_url =
      o.endpoint.empty() ? "https://s3." + o.region + ".amazonaws.com" : o.endpoint;
  ASSIGN_OR_RETURN(Endpoint endpoint, ParseEndpoint(endpoint_url, p + "ENDPOINT"));
  std::optional<Endpoint> external;
  if (!o.external_endpoint.empty()) {
    ASSIGN_OR_RETURN(external, ParseEndpoint(o.external_endpoint, p + "EXTERNAL_ENDPOINT"));
  }
  GlobalInitCurl();
  return std::unique_ptr<S3BlobStore>(new S3BlobStore(
      std::make_unique<Impl>(std::move(o), std::move(endpoint), std::move(external))));
}

absl::Status S3BlobStore::Put(std::string_view key, std::string_view data) {
  RETURN_IF_ERROR(ValidateBlobKey(key));
  const std::string object_key = impl_->options.prefix + std::string(key);
  if (data.size() >= impl_->options.multipart_threshold) {
    return impl_->PutMultipart(object_key, data);
  }
  return impl_->PutSingle(object_key, data);
}

absl::StatusOr<std::string> S3BlobStore::Get(std::string_view key) {
  RETURN_IF_ERROR(ValidateBlobKey(key));
  const std::string object_key = impl_->options.prefix + std::string(key);
  Response r = impl_->Send("GET", object_key, {}, {}, "");
  if (r.curl_code == CURLE_OK && r.status == 200) return std::move(r.body);
  if (r.curl_code == CURLE_OK && r.status == 404 && r.ErrorCode() == "NoSuchKey") {
    return absl::NotFoundError("no blob " + std::string(key));
  }
  return impl_->Failure("GET", object_key, r);
}

absl::StatusOr<BlobInfo> S3BlobStore::Stat(std::string_view key) {
  RETURN_IF_ERROR(ValidateBlobKey(key));
  const std::string object_key = impl_->options.prefix + std::string(key);
  // Checksum mode asks the server for the SHA-256 it verified at upload
  // (x-amz-checksum-sha256); servers that keep none simply omit it.
  Response r = impl_->Send("HEAD", object_key, {}, {{"x-amz-checksum-mode", "ENABLED"}}, "");
  if (r.curl_code == CURLE_OK && r.status == 404) {
    return absl::NotFoundError("no blob " + std::string(key));
  }
  if (r.curl_code != CURLE_OK || r.status != 200) return impl_->Failure("HEAD", object_key, r);
  BlobInfo info;
  const std::string length = r.Header("content-length");
  std::from_chars(length.data(), length.data() + length.size(), info.size);
  info.content_type = r.Header("content-type");
  info.checksum_sha256 = r.Header("x-amz-checksum-sha256");
  return info;
}

absl::StatusOr<bool> S3BlobStore::Exists(std::string_view key) {
  auto info = Stat(key);
  if (info.ok()) return true;
  if (absl::IsNotFound(info.status())) return false;
  return info.status();
}

absl::Status S3BlobStore::Delete(std::string_view key) {
  RETURN_IF_ERROR(ValidateBlobKey(key));
  const std::string object_key = impl_->options.prefix + std::string(key);
  Response r = impl_->Send("DELETE", object_key, {}, {}, "");
  if (r.curl_code == CURLE_OK && (r.status == 204 || r.status == 200)) return absl::OkStatus();
  // S3 answers 204 for missing keys; some compatible servers answer 404.
  if (r.curl_code == CURLE_OK && r.status == 404 && r.ErrorCode() == "NoSuchKey") {
    return absl::OkStatus();
  }
  return impl_->Failure("DELETE", object_key, r);
}

absl::StatusOr<std::string> S3BlobStore::PresignedUrl(
    std::string_view method, std::string_view key, int64_t ttl_s,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  RETURN_IF_ERROR(ValidateBlobKey(key));
  if (method != "GET" && method != "PUT" && method != "HEAD") {
    return absl::InvalidArgumentError("presigned URLs are for GET, HEAD and PUT, not " +
                                      std::string(method));
  }
  if (ttl_s < 1 || ttl_s > kMaxPresignSeconds) {
    return absl::InvalidArgumentError("presigned URLs live 1 s to 7 days, not " +
                                      std::to_string(ttl_s) + " s");
  }
  const Endpoint& e = impl_->external ? *impl_->external : impl_->endpoint;
  const std::string object_key = impl_->options.prefix + std::string(key);
  auto [host, path] = impl_->Address(e, object_key);
  SigV4Request req;
  req.method = std::string(method);
  req.path = path;
  req.payload_hash = "UNSIGNED-PAYLOAD";
  req.headers.emplace_back("Host", host);
  for (const auto& h : headers) req.headers.push_back(h);
  impl_->signer.Presign(&req, NowMillis() / 1000, ttl_s);
  return e.scheme + "://" + host + path + "?" + CanonicalQuery(req.query);
}

std::string S3BlobStore::ObjectUrl(std::string_view key) const {
  return impl_->Url(impl_->endpoint, impl_->options.prefix + std::string(key));
}

absl::Status S3BlobStore::CheckAccess() {
  const S3Options& o = impl_->options;
  const std::string object_key = o.prefix + std::string(kAccessCheckKey);
  Response r = impl_->Send("GET", object_key, {}, {}, "", 15000);
  const std::string where = "S3 at " + impl_->endpoint.Display() + ", bucket '" + o.bucket + "'";
  if (r.curl_code != CURLE_OK) {
    std::string hint;
    if (r.curl_code == CURLE_COULDNT_RESOLVE_HOST && !o.force_path_style) {
      hint =
          " (virtual-host style addresses the bucket as a host name; MinIO, RustFS and "
          "most self-hosted servers need " +
          impl_->Setting("FORCE_PATH_STYLE") + "=true)";
    }
    return absl::UnavailableError("cannot reach " + where + ": " + OneLine(r.curl_error) +
                                  "; check " + impl_->Setting("ENDPOINT") + hint);
  }
  const std::string code = r.ErrorCode();
  const std::string answer = "HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code);
  if (r.status == 200 || (r.status == 404 && code == "NoSuchKey")) return absl::OkStatus();
  if (r.status == 403 && code == "AccessDenied") {
    LogWarn(
        "S3 credentials accepted, but reading a missing key is denied (no s3:ListBucket); "
        "continuing",
        {{"bucket", o.bucket}, {"endpoint", impl_->endpoint.Display()}});
    return absl::OkStatus();
  }
  std::string fault;
  if (code == "NoSuchBucket") {
    fault = impl_->Setting("BUCKET") + " names a bucket that does not exist";
  } else if (code == "SignatureDoesNotMatch") {
    fault = impl_->Setting("SECRET_ACCESS_KEY") + " is not the secret of " +
            impl_->Setting("ACCESS_KEY_ID") + " '" + o.access_key_id + "'";
  } else if (code == "InvalidAccessKeyId") {
    fault = impl_->Setting("ACCESS_KEY_ID") + " '" + o.access_key_id + "' is unknown";
  } else if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" ||
             code == "IllegalLocationConstraintException" || r.status == 301) {
    fault = impl_->Setting("REGION") + " '" + o.region + "' is not the bucket's region";
    const std::string region = XmlElement(r.body, "Region");
    if (!region.empty()) fault += " (the server expects '" + OneLine(region, 60) + "')";
  } else {
    fault = "unexpected answer; check " + impl_->Setting("ENDPOINT") + " and " +
            impl_->Setting("BUCKET");
  }
  const std::string message = XmlElement(r.body, "Message");
  return absl::FailedPreconditionError(where + ": " + fault + " (" + answer +
                                       (message.empty() ? "" : ": " + OneLine(message)) + ")");
}

}  // namespace loupe
