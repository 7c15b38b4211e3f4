#pragma once

// Request plumbing shared by the prompt and dataset handlers: project-key
// authentication, JSON body parsing, query parameter parsing with messages
// that say what is wrong, and Langfuse's offset pagination.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "auth/api_key_auth.h"
#include "boost/json.hpp"
#include "http/http_types.h"

namespace loupe {

// Basic auth with a project key; Bearer (public key only) and organization
// keys are refused with 403, as on every Langfuse route outside scoring.
absl::StatusOr<AuthContext> RequireProjectKey(ApiKeyAuthenticator& auth, const HttpRequest& req);

// The body as a JSON object, or kInvalidArgument saying why not.
absl::StatusOr<boost::json::object> ParseJsonObjectBody(const std::string& body);

// Reads query parameters, remembering the first problem. Empty values count
// as absent (Langfuse preprocesses "" to undefined).
class QueryReader {
 public:
  explicit QueryReader(const HttpRequest& req) : req_(req) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  std::optional<std::string> String(std::string_view key) const;
  std::optional<int64_t> Int(std::string_view key, int64_t min, int64_t max);
  // Milliseconds since the epoch of an ISO-8601 date-time with offset.
  std::optional<int64_t> Time(std::string_view key);
  std::optional<bool> Bool(std::string_view key);

  void Fail(std::string_view key, std::string_view what);

 private:
  const HttpRequest& req_;
  std::string error_;
};

struct Paging {
  int page = 1;
  int limit = 50;
};

// page >= min_page (1, or 0 on a legacy route), limit 1..100.
Paging ReadPaging(QueryReader& q, int default_limit, int min_page = 1);

// 204 with no body.
HttpResponse NoContent();

// The non-empty items of a comma-separated list ("a, b,,c" → a, b, c), as
// the list-valued query parameters take them.
std::vector<std::string> SplitCommas(std::string_view v);

// Optional string member: absent or null → nullopt; other non-strings set
// `*error`.
std::optional<std::string> OptionalStringMember(const boost::json::object& o, std::string_view key,
                                                std::string* error);

}  // namespace loupe
