#include "api/handler_support.h"

#include <charconv>

#include "common/json_parse.h"
#include "common/time_util.h"

namespace loupe {

namespace json = boost::json;

absl::StatusOr<AuthContext> RequireProjectKey(ApiKeyAuthenticator& auth, const HttpRequest& req) {
  auto ctx = auth.Authenticate(req.Header("authorization"));
  if (!ctx.ok()) return ctx.status();
  if (ctx->scope == AuthContext::Scope::kOrganization) {
    return absl::PermissionDeniedError(
        "Project ID not found for API token. Are you using an organization key?");
  }
  if (ctx->scope != AuthContext::Scope::kProject) {
    return absl::PermissionDeniedError(
        "Access denied - insufficient permissions for this endpoint");
  }
  return ctx;
}

absl::StatusOr<json::object> ParseJsonObjectBody(const std::string& body) {
  boost::system::error_code ec;
  json::value v = ParseJson(body, ec);
  if (ec) {
    return absl::InvalidArgumentError("Invalid JSON in request body: " + JsonErrorMessage(ec));
  }
  if (!v.is_object()) return absl::InvalidArgumentError("Request body must be a JSON object");
  return std::move(v.as_object());
}

std::optional<std::string> QueryReader::String(std::string_view key) const {
  const std::string* v = req_.Query(key);
  if (!v || v->empty()) return std::nullopt;
  return *v;
}

std::optional<int64_t> QueryReader::Int(std::string_view key, int64_t min, int64_t max) {
  const std::string* v = req_.Query(key);
  if (!v || v->empty()) return std::nullopt;
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size()) {
    Fail(key, "Expected integer, received '" + *v + "'");
    return std::nullopt;
  }
  if (out < min) {
    Fail(key, "Number must be greater than or equal to " + std::to_string(min));
    return std::nullopt;
  }
  if (out > max) {
    Fail(key, "Number must be less than or equal to " + std::to_string(max));
    return std::nullopt;
  }
  return out;
}

std::optional<int64_t> QueryReader::Time(std::string_view key) {
  const std::string* v = req_.Query(key);
  if (!v || v->empty()) return std::nullopt;
  auto us = ParseIsoMicrosStrict(*v);
  if (!us) {
    Fail(key, "Invalid datetime '" + *v + "', expected ISO 8601 with a time zone");
    return std::nullopt;
  }
  return *us / 1000;
}

std::optional<bool> QueryReader::Bool(std::string_view key) {
  const std::string* v = req_.Query(key);
  if (!v || v->empty()) return std::nullopt;
  if (*v == "true") return true;
  if (*v == "false") return false;
  Fail(key, "Expected 'true' or 'false', received '" + *v + "'");
  return std::nullopt;
}

void QueryReader::Fail(std::string_view key, std::string_view what) {
  if (error_.empty()) error_ = std::string(key) + ": " + std::string(what);
}

Paging ReadPaging(QueryReader& q, int default_limit, int min_page) {
  Paging p;
  p.page = static_cast<int>(q.Int("page", min_page, 1 << 30).value_or(1));
  p.limit = static_cast<int>(q.Int("limit", 1, 100).value_or(default_limit));
  return p;
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

std::vector<std::string> SplitCommas(std::string_view v) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= v.size()) {
    size_t j = v.find(',', i);
    if (j == std::string_view::npos) j = v.size();
    std::string part(v.substr(i, j - i));
    // Surrounding blanks are accidental ("a, b") and never part of a name.
    size_t b = part.find_first_not_of(' ');
    size_t e = part.find_last_not_of(' ');
    part = b == std::string::npos ? "" : part.substr(b, e - b + 1);
    if (!part.empty()) out.push_back(std::move(part));
    i = j + 1;
  }
  return out;
}

std::optional<std::string> OptionalStringMember(const json::object& o, std::string_view key,
                                                std::string* error) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (const json::string* s = v->if_string()) return std::string(*s);
  if (error->empty()) *error = std::string(key) + ": Expected string";
  return std::nullopt;
}

}  // namespace loupe
