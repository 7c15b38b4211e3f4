#include "storage/clickhouse/ch_client.h"

#include <curl/curl.h>

#include <charconv>
#include <cstdlib>
#include <mutex>
#include <utility>

#include "common/json_parse.h"
#include "common/status_macros.h"

namespace loupe {
namespace {

namespace json = boost::json;

void GlobalInitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// The URL without "user:password@".
std::string RedactUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t end = url.find_first_of("/?#", start);
  const size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + url.substr(at + 1);
}

std::string Escape(CURL* h, std::string_view s) {
  char* e = curl_easy_escape(h, s.data(), static_cast<int>(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

// The error code of a ClickHouse error answer ("Code: 62. DB::Exception..."),
// or 0.
int ErrorCode(std::string_view body) {
  const size_t at = body.find("Code: ");
  if (at == std::string_view::npos) return 0;
  int code = 0;
  const char* first = body.data() + at + 6;
  std::from_chars(first, body.data() + body.size(), code);
  return code;
}

std::string OneLine(std::string_view s) {
  std::string out(s);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) {
    out.pop_back();
  }
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (out.size() > 2000) out = out.substr(0, 2000) + "...";
  return out;
}

const json::value* Find(const json::object& row, std::string_view key) {
  auto it = row.find(key);
  if (it == row.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

}  // namespace

absl::StatusOr<std::optional<ClickHouseOptions>> ClickHouseOptionsFromEnv() {
  ClickHouseOptions o;
  o.url = Env("CLICKHOUSE_URL");
  if (o.url.empty()) return std::optional<ClickHouseOptions>();
  if (o.url.rfind("http://", 0) != 0 && o.url.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError(
        "CLICKHOUSE_URL must be the http(s)://host:port of ClickHouse's HTTP interface, not '" +
        RedactUrl(o.url) + "'");
  }
  if (std::string user = Env("CLICKHOUSE_USER"); !user.empty()) o.user = user;
  o.password = Env("CLICKHOUSE_PASSWORD");
  if (std::string db = Env("CLICKHOUSE_DB"); !db.empty()) o.database = db;
  return std::optional<ClickHouseOptions>(std::move(o));
}

std::string SqlQuote(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out += '\'';
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

std::string SqlIdentifier(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '\\' || c == '`') out += '\\';
    out += c;
  }
  out += '`';
  return out;
}

std::string SqlList(const std::vector<std::string>& values) {
  std::string out = "(";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += SqlQuote(values[i]);
  }
  if (values.empty()) out += "''";
  out += ')';
  return out;
}

std::optional<int64_t> ChOptInt(const json::object& row, std::string_view key) {
  const json::value* v = Find(row, key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->as_double());
  if (v->is_string()) {
    const json::string& s = v->as_string();
    int64_t out = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc()) return out;
    uint64_t u = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), u);
    if (r.ec == std::errc()) return static_cast<int64_t>(u);
  }
  return std::nullopt;
}

int64_t ChInt(const json::object& row, std::string_view key) {
  return ChOptInt(row, key).value_or(0);
}

std::optional<double> ChOptDouble(const json::object& row, std::string_view key) {
  const json::value* v = Find(row, key);
  if (!v) return std::nullopt;
  if (v->is_number()) return v->to_number<double>();
  if (v->is_string()) {
    const json::string& s = v->as_string();
    char* end = nullptr;
    std::string text(s.data(), s.size());
    double d = std::strtod(text.c_str(), &end);
    if (end && *end == '\0' && !text.empty()) return d;
  }
  return std::nullopt;
}

double ChDouble(const json::object& row, std::string_view key) {
  return ChOptDouble(row, key).value_or(0);
}

std::optional<std::string> ChOptString(const json::object& row, std::string_view key) {
  const json::value* v = Find(row, key);
  if (!v) return std::nullopt;
  if (v->is_string()) return std::string(v->as_string());
  return json::serialize(*v);
}

std::string ChString(const json::object& row, std::string_view key) {
  return ChOptString(row, key).value_or("");
}

struct ClickHouseClient::Pool {
  std::mutex mu;
  std::vector<CURL*> idle;  // guarded by mu

  ~Pool() {
    for (CURL* h : idle) curl_easy_cleanup(h);
  }
  CURL* Take() {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* h) {
    std::lock_guard lock(mu);
    if (idle.size() < 16) {
      idle.push_back(h);
      return;
    }
    curl_easy_cleanup(h);
  }
};

ClickHouseClient::ClickHouseClient(ClickHouseOptions options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>()) {
  GlobalInitCurl();
}

ClickHouseClient::~ClickHouseClient() = default;

std::string ClickHouseClient::Describe() const {
  return "ClickHouse at " + RedactUrl(options_.url);
}

absl::StatusOr<std::string> ClickHouseClient::Post(std::string_view query_param,
                                                   std::string_view body, bool with_database,
                                                   bool buffer_result) {
  CURL* h = pool_->Take();
  if (!h) return absl::UnavailableError(Describe() + ": cannot create a libcurl handle");
  std::string url = options_.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/?";
  bool first = true;
  auto add_param = [&](std::string_view name, std::string_view value) {
    if (!first) url += '&';
    first = false;
    url += name;
    url += '=';
    url += Escape(h, value);
  };
  if (with_database) add_param("database", options_.database);
  if (!query_param.empty()) add_param("query", query_param);
  // Buffer a result before answering, so that a failure is an error status
  // rather than a truncated 200.
  if (buffer_result) add_param("wait_end_of_query", "1");

  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("X-ClickHouse-User: " + options_.user).c_str());
  headers = curl_slist_append(headers, ("X-ClickHouse-Key: " + options_.password).c_str());
  headers = curl_slist_append(headers, "Content-Type: text/plain; charset=UTF-8");
  headers = curl_slist_append(headers, "Expect:");

  std::string response;
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  if (options_.request_timeout_ms > 0) {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout_ms));
  }
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_reset(h);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    // The handle may hold a broken connection: do not reuse it.
    curl_easy_cleanup(h);
    const std::string why = error[0] ? std::string(error) : curl_easy_strerror(rc);
    return absl::UnavailableError(Describe() + " (CLICKHOUSE_URL) did not answer: " + OneLine(why));
  }
  pool_->Give(h);
  if (status == 200) return response;

  const int code = ErrorCode(response);
  const std::string message =
      OneLine(response.empty() ? "HTTP " + std::to_string(status) : response);
  if (status == 401 || code == 516 || code == 192 || code == 193 || code == 194) {
    return absl::UnauthenticatedError(Describe() + " rejected CLICKHOUSE_USER '" + options_.user +
                                      "' with CLICKHOUSE_PASSWORD: " + message);
  }
  if (code == 497) return absl::PermissionDeniedError(Describe() + ": " + message);
  // Overload and transient answers: the caller may retry.
  if (status == 503 || code == 202 || code == 203 || code == 241 || code == 159 || code == 209 ||
      code == 210 || code == 252) {
    return absl::UnavailableError(Describe() + ": " + message);
  }
  return absl::InternalError(Describe() + ": " + message);
}

absl::Status ClickHouseClient::Execute(std::string_view sql) {
  return Post("", sql, true, false).status();
}

absl::Status ClickHouseClient::ExecuteWithoutDatabase(std::string_view sql) {
  return Post("", sql, false, false).status();
}

absl::StatusOr<std::vector<json::object>> ClickHouseClient::Query(std::string_view sql) {
  return QueryRows(sql, true);
}

absl::StatusOr<std::vector<json::object>> ClickHouseClient::QueryWithoutDatabase(
    std::string_view sql) {
  return QueryRows(sql, false);
}

absl::StatusOr<std::vector<json::object>> ClickHouseClient::QueryRows(std::string_view sql,
                                                                      bool with_database) {
  std::string text(sql);
  text += "\nFORMAT JSONEachRow";
  ASSIGN_OR_RETURN(std::string body, Post("", text, with_database, true));
  std::vector<json::object> rows;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string::npos) end = body.size();
    std::string_view line(body.data() + pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    boost::system::error_code ec;
    json::value v = ParseStoredJson(line, ec);
    if (ec || !v.is_object()) {
      // An error after the answer began streaming arrives as its tail.
      if (size_t code = body.find("Code: ", pos - line.size() - 1); code != std::string::npos) {
        return absl::InternalError(Describe() + ": " + OneLine(body.substr(code)));
      }
      return absl::InternalError(Describe() +
                                 ": unreadable answer: " + OneLine(line.substr(0, 300)));
    }
    rows.push_back(std::move(v.as_object()));
  }
  return rows;
}

absl::Status ClickHouseClient::Insert(std::string_view table, std::string_view rows) {
  if (rows.empty()) return absl::OkStatus();
  return Post("INSERT INTO " + SqlIdentifier(table) + " FORMAT JSONEachRow", rows, true, false)
      .status();
}

}  // namespace loupe
