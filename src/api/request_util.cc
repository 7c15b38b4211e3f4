#include "api/request_util.h"

#include <charconv>
#include <cmath>

#include "api/responses.h"
#include "common/json_parse.h"
#include "common/time_util.h"

namespace loupe {

namespace json = boost::json;

absl::StatusOr<AuthContext> AuthenticateProjectKey(ApiKeyAuthenticator& auth,
                                                   const HttpRequest& req) {
  auto ctx = auth.Authenticate(req.Header("authorization"));
  if (!ctx.ok()) return ctx.status();
  if (ctx->scope == AuthContext::Scope::kOrganization) {
    return absl::PermissionDeniedError(
        "Project ID not found for API token. Are you using an organization key?");
  }
  if (ctx->scope == AuthContext::Scope::kScores) {
    return absl::PermissionDeniedError(
        "Access denied - insufficient permissions for this endpoint");
  }
  return ctx;
}

absl::StatusOr<AuthContext> AuthenticateOrganizationKey(ApiKeyAuthenticator& auth,
                                                        const HttpRequest& req) {
  auto ctx = auth.Authenticate(req.Header("authorization"));
  if (!ctx.ok()) return ctx.status();
  if (ctx->scope != AuthContext::Scope::kOrganization || ctx->org_id.empty()) {
    return absl::PermissionDeniedError(
        "Invalid API key. Organization-scoped API key required for this operation.");
  }
  return ctx;
}

namespace {

absl::StatusOr<int> QueryInt(const HttpRequest& req, std::string_view key, int def, int min,
                             int max) {
  const std::string* v = req.Query(key);
  if (!v || v->empty()) return def;  // Langfuse treats "" as absent
  int out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  std::string name(key);
  if (ec != std::errc() || p != v->data() + v->size()) {
    return absl::InvalidArgumentError("Invalid request data: " + name +
                                      ": Expected integer, received '" + *v + "'");
  }
  if (out < min) {
    return absl::InvalidArgumentError("Invalid request data: " + name +
                                      ": Number must be greater than or equal to " +
                                      std::to_string(min));
  }
  if (out > max) {
    return absl::InvalidArgumentError("Invalid request data: " + name +
                                      ": Number must be less than or equal to " +
                                      std::to_string(max));
  }
  return out;
}

}  // namespace

absl::StatusOr<PageParams> ParsePageParams(const HttpRequest& req, int default_limit) {
  PageParams p;
  auto page = QueryInt(req, "page", 1, 1, 1 << 30);
  if (!page.ok()) return page.status();
  auto limit = QueryInt(req, "limit", default_limit, 1, 100);
  if (!limit.ok()) return limit.status();
  p.page = *page;
  p.limit = *limit;
  return p;
}

absl::StatusOr<json::object> ParseJsonObjectBody(const HttpRequest& req) {
  boost::system::error_code ec;
  json::value v = ParseJson(req.body, ec);
  if (ec) {
    return absl::InvalidArgumentError("Invalid JSON in request body: " + JsonErrorMessage(ec));
  }
  if (!v.is_object()) return absl::InvalidArgumentError("Request body must be a JSON object");
  return std::move(v.as_object());
}

std::string BodyFields::TypeName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "number";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "unknown";
}

absl::Status BodyFields::status() const {
  if (ok()) return absl::OkStatus();
  return absl::InvalidArgumentError("Invalid request data: " + error_);
}

void BodyFields::Fail(std::string_view key, std::string_view what) {
  if (error_.empty()) error_ = std::string(key) + ": " + std::string(what);
}

bool BodyFields::Present(std::string_view key) const {
  const json::value* v = body_.if_contains(key);
  return v && !v->is_null();
}

const json::value* BodyFields::Get(std::string_view key, bool required) {
  const json::value* v = body_.if_contains(key);
  if (!v || v->is_null()) {
    if (required) Fail(key, "Required");
    return nullptr;
  }
  return v;
}

std::optional<std::string> BodyFields::String(std::string_view key, bool required, size_t min_len,
                                              size_t max_len) {
  const json::value* v = Get(key, required);
  if (!v) return std::nullopt;
  const json::string* s = v->if_string();
  if (!s) {
    Fail(key, "Expected string, received " + TypeName(*v));
    return std::nullopt;
  }
  if (s->size() < min_len) {
    Fail(key, "String must contain at least " + std::to_string(min_len) + " character(s)");
    return std::nullopt;
  }
  if (s->size() > max_len) {
    Fail(key, "String must contain at most " + std::to_string(max_len) + " character(s)");
    return std::nullopt;
  }
  return std::string(*s);
}

std::optional<double> JsonAsDouble(const json::value& v) {
  if (const double* d = v.if_double()) return *d;
  if (const int64_t* i = v.if_int64()) return static_cast<double>(*i);
  if (const uint64_t* u = v.if_uint64()) return static_cast<double>(*u);
  return std::nullopt;
}

std::optional<double> BodyFields::Number(std::string_view key, bool required) {
  const json::value* v = Get(key, required);
  if (!v) return std::nullopt;
  std::optional<double> d = JsonAsDouble(*v);
  if (!d || !std::isfinite(*d)) {
    Fail(key, "Expected number, received " + TypeName(*v));
    return std::nullopt;
  }
  return d;
}

std::optional<int64_t> BodyFields::Integer(std::string_view key, bool required, int64_t min,
                                           int64_t max) {
  std::optional<double> d = Number(key, required);
  if (!d) return std::nullopt;
  if (std::trunc(*d) != *d) {
    Fail(key, "Expected integer, received float");
    return std::nullopt;
  }
  if (*d < static_cast<double>(min)) {
    Fail(key, "Number must be greater than or equal to " + std::to_string(min));
    return std::nullopt;
  }
  if (*d > static_cast<double>(max)) {
    Fail(key, "Number must be less than or equal to " + std::to_string(max));
    return std::nullopt;
  }
  return static_cast<int64_t>(*d);
}

std::optional<bool> BodyFields::Bool(std::string_view key, bool required) {
  const json::value* v = Get(key, required);
  if (!v) return std::nullopt;
  if (!v->is_bool()) {
    Fail(key, "Expected boolean, received " + TypeName(*v));
    return std::nullopt;
  }
  return v->get_bool();
}

std::optional<std::string> BodyFields::Enum(std::string_view key,
                                            std::initializer_list<const char*> values,
                                            bool required) {
  const json::value* v = Get(key, required);
  if (!v) return std::nullopt;
  if (const json::string* s = v->if_string()) {
    for (const char* allowed : values) {
      if (*s == allowed) return std::string(*s);
    }
  }
  std::string list;
  for (const char* allowed : values) {
    if (!list.empty()) list += " | ";
    list += "'" + std::string(allowed) + "'";
  }
  std::string received = v->is_string() ? "'" + std::string(v->get_string()) + "'" : TypeName(*v);
  Fail(key, "Invalid enum value. Expected " + list + ", received " + received);
  return std::nullopt;
}

const json::object* BodyFields::Object(std::string_view key, bool required) {
  const json::value* v = Get(key, required);
  if (!v) return nullptr;
  if (!v->is_object()) {
    Fail(key, "Expected object, received " + TypeName(*v));
    return nullptr;
  }
  return &v->get_object();
}

const json::array* BodyFields::Array(std::string_view key, bool required) {
  const json::value* v = Get(key, required);
  if (!v) return nullptr;
  if (!v->is_array()) {
    Fail(key, "Expected array, received " + TypeName(*v));
    return nullptr;
  }
  return &v->get_array();
}

std::optional<std::vector<std::string>> BodyFields::StringArray(std::string_view key, bool required,
                                                                size_t min_items) {
  const json::array* arr = Array(key, required);
  if (!arr) return std::nullopt;
  std::vector<std::string> out;
  for (size_t i = 0; i < arr->size(); ++i) {
    const json::string* s = (*arr)[i].if_string();
    if (!s) {
      Fail(std::string(key) + "." + std::to_string(i),
           "Expected string, received " + TypeName((*arr)[i]));
      return std::nullopt;
    }
    out.emplace_back(*s);
  }
  if (out.size() < min_items) {
    Fail(key, "Array must contain at least " + std::to_string(min_items) + " element(s)");
    return std::nullopt;
  }
  return out;
}

std::optional<int64_t> BodyFields::DateTime(std::string_view key, bool required) {
  const json::value* v = Get(key, required);
  if (!v) return std::nullopt;
  const json::string* s = v->if_string();
  if (!s) {
    Fail(key, "Expected date-time string, received " + TypeName(*v));
    return std::nullopt;
  }
  std::optional<int64_t> us = ParseIsoMicros(std::string_view(s->data(), s->size()));
  if (!us) {
    Fail(key, "Invalid datetime");
    return std::nullopt;
  }
  return *us / 1000;
}

HttpResponse InvalidRequestData(std::string_view problem) {
  return InvalidRequest("Invalid request data: " + std::string(problem));
}

HttpResponse NoContentResponse() {
  HttpResponse res;
  res.status = 204;
  res.content_type.clear();
  return res;
}

json::value JsonNumber(double v) {
  constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53
  if (std::isfinite(v) && std::trunc(v) == v && std::fabs(v) <= kMaxExactInteger) {
    return static_cast<int64_t>(v);
  }
  return v;
}

json::value OptionalJson(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::value OptionalJson(const std::optional<double>& v) {
  return v ? JsonNumber(*v) : json::value(nullptr);
}

json::value ParseStoredJson(const std::string& text) {
  if (text.empty()) return nullptr;
  boost::system::error_code ec;
  json::value v = loupe::ParseStoredJson(text, ec);
  return ec ? json::value(nullptr) : v;
}

}  // namespace loupe
