#pragma once

// Transport-neutral request and response values passed between the HTTP
// server and the API layer, so handlers never see Beast types.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loupe {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw target incl. query
  std::string path;    // percent-decoded path
  // Query parameters in order; repeated keys keep every value.
  std::vector<std::pair<std::string, std::string>> query;
  // Header names lowercased; underscores are kept as sent.
  std::map<std::string, std::string> headers;
  std::string body;  // already gunzipped
  std::string remote_address;

  // Returns the header value, accepting both the hyphen and underscore forms
  // of `name` (Python SDK v2 sends x_langfuse_sdk_name).
  std::string Header(std::string_view name) const;
  // First value of a query parameter, or nullptr.
  const std::string* Query(std::string_view key) const;
  std::vector<std::string> QueryAll(std::string_view key) const;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Json(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
};

// Percent-decodes `s` ('+' is kept as is in paths, decoded to space in queries).
std::string PercentDecode(std::string_view s, bool plus_as_space);

}  // namespace loupe
