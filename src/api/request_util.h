#pragma once

// Request plumbing shared by the management APIs (score configs, models,
// comments, annotation queues, LLM connections, organizations): who may
// call a route, page parameters, JSON bodies and field validation whose
// messages name the field and the problem, zod-style ("name: Required").
//
// Contract:
//  - Every function here turns client mistakes into kInvalidArgument,
//    kUnauthenticated or kPermissionDenied with a message meant for the
//    client; StatusResponse() (responses.h) maps them to 400/401/403.
//  - JSON `null` counts as absent for optional fields, as zod's nullish().
//  - Nothing throws: Boost.JSON is used through its non-throwing accessors.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "auth/api_key_auth.h"
#include "boost/json.hpp"
#include "http/http_types.h"

namespace loupe {

// Project routes: Basic auth with a project key. Organization keys and
// Bearer (scores-only) callers get 403 with Langfuse's messages.
absl::StatusOr<AuthContext> AuthenticateProjectKey(ApiKeyAuthenticator& auth,
                                                   const HttpRequest& req);

// Organization routes: Basic auth with an organization key only.
absl::StatusOr<AuthContext> AuthenticateOrganizationKey(ApiKeyAuthenticator& auth,
                                                        const HttpRequest& req);

struct PageParams {
  int page = 1;    // 1-based
  int limit = 50;  // 1..100
};

// `page` (>= 1) and `limit` (1..100); an empty value counts as absent.
absl::StatusOr<PageParams> ParsePageParams(const HttpRequest& req, int default_limit = 50);

// The request body as a JSON object ("Invalid JSON in request body: ..."
// or "Request body must be a JSON object" otherwise).
absl::StatusOr<boost::json::object> ParseJsonObjectBody(const HttpRequest& req);

// Reads and checks the fields of a JSON object, remembering the first
// problem. Accessors return nullopt/nullptr for absent (or null) fields and
// for fields that failed; check ok() before using the results.
class BodyFields {
 public:
  explicit BodyFields(const boost::json::object& body) : body_(body) {}

  bool ok() const { return error_.empty(); }
  // "field: what is wrong"
  const std::string& error() const { return error_; }
  absl::Status status() const;

  // True when the key is present with a non-null value.
  bool Present(std::string_view key) const;

  std::optional<std::string> String(std::string_view key, bool required, size_t min_len = 0,
                                    size_t max_len = 1 << 20);
  std::optional<double> Number(std::string_view key, bool required);
  // A number without a fractional part in [min, max].
  std::optional<int64_t> Integer(std::string_view key, bool required, int64_t min, int64_t max);
  std::optional<bool> Bool(std::string_view key, bool required);
  std::optional<std::string> Enum(std::string_view key, std::initializer_list<const char*> values,
                                  bool required);
  const boost::json::object* Object(std::string_view key, bool required);
  const boost::json::array* Array(std::string_view key, bool required);
  std::optional<std::vector<std::string>> StringArray(std::string_view key, bool required,
                                                      size_t min_items = 0);
  // A date-time string (ISO 8601), as epoch milliseconds.
  std::optional<int64_t> DateTime(std::string_view key, bool required);

  void Fail(std::string_view key, std::string_view what);

  // zod's name of a JSON value's type ("string", "number", "object", ...).
  static std::string TypeName(const boost::json::value& v);

 private:
  const boost::json::value* Get(std::string_view key, bool required);

  const boost::json::object& body_;
  std::string error_;
};

// 400 {"message": "Invalid request data: <field>: <problem>", "error": "InvalidRequestError"}
HttpResponse InvalidRequestData(std::string_view problem);

// A 204 with no body (DELETE /models/{id}).
HttpResponse NoContentResponse();

// A JSON number as double (ints included), or nullopt for non-numbers.
std::optional<double> JsonAsDouble(const boost::json::value& v);

// A number as JavaScript prints it: integral values without an exponent
// (0, not 0E0, which is how a double serializes), others as doubles.
boost::json::value JsonNumber(double v);

// JSON for optional fields: null when absent.
boost::json::value OptionalJson(const std::optional<std::string>& v);
boost::json::value OptionalJson(const std::optional<double>& v);

// Parses stored JSON text; null when empty or malformed.
boost::json::value ParseStoredJson(const std::string& text);

}  // namespace loupe
