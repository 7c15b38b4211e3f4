#include "api/admin_api.h"

#include <openssl/crypto.h>

#include <memory>

#include "api/request_util.h"
#include "api/responses.h"
#include "common/hash.h"
#include "common/status_macros.h"
#include "common/time_util.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr size_t kMinNameLength = 3;
constexpr size_t kMaxNameLength = 60;
constexpr const char* kOrgNotFound = "Organization not found";

json::value MetadataJson(const std::string& text) {
  json::value v = ParseStoredJson(text);
  return v.is_object() ? v : json::value(json::object());
}

std::string Trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\n\r"));
  s.erase(s.find_last_not_of(" \t\n\r") + 1);
  return s;
}

class AdminApi {
 public:
  explicit AdminApi(AdminApiDeps deps) : d_(std::move(deps)) {}

  HttpResponse ListOrganizations(HttpRequest& req) {
    if (auto denied = Authorize(req)) return *denied;
    auto orgs = d_.meta->ListOrganizations();
    if (!orgs.ok()) return StatusResponse(orgs.status());
    json::array arr;
    for (const OrganizationRecord& org : *orgs) {
      auto o = OrganizationJson(org);
      if (!o.ok()) return StatusResponse(o.status());
      arr.push_back(std::move(*o));
    }
    json::object out;
    out["organizations"] = std::move(arr);
    return JsonResponse(200, out);
  }

  HttpResponse CreateOrganization(HttpRequest& req) {
    if (auto denied = Authorize(req)) return *denied;
    auto body = ParseJsonObjectBody(req);
    if (!body.ok()) return StatusResponse(body.status());
    OrganizationRecord org;
    if (absl::Status s = ParseOrganizationFields(*body, &org); !s.ok()) return StatusResponse(s);
    org.id = NewUuid();
    org.created_at_ms = NowMillis();
    if (absl::Status s = d_.meta->UpsertOrganization(org); !s.ok()) return StatusResponse(s);
    return Respond(201, org);
  }

  HttpResponse GetOrganization(HttpRequest& req, const PathParams& p) {
    if (auto denied = Authorize(req)) return *denied;
    auto org = FindOrganization(p);
    if (!org.ok()) return StatusResponse(org.status());
    return Respond(200, *org);
  }

  HttpResponse UpdateOrganization(HttpRequest& req, const PathParams& p) {
    if (auto denied = Authorize(req)) return *denied;
    auto body = ParseJsonObjectBody(req);
    if (!body.ok()) return StatusResponse(body.status());
    auto org = FindOrganization(p);
    if (!org.ok()) return StatusResponse(org.status());
    if (absl::Status s = ParseOrganizationFields(*body, &*org); !s.ok()) return StatusResponse(s);
    if (absl::Status s = d_.meta->UpdateOrganization(*org); !s.ok()) return StatusResponse(s);
    return Respond(200, *org);
  }

  HttpResponse DeleteOrganization(HttpRequest& req, const PathParams& p) {
    if (auto denied = Authorize(req)) return *denied;
    auto deleted = d_.meta->DeleteOrganization(p.at("organizationId"));
    if (!deleted.ok()) {
      // Langfuse answers an organization that still has projects with 400.
      if (deleted.status().code() == absl::StatusCode::kFailedPrecondition) {
        return InvalidRequest(std::string(deleted.status().message()));
      }
      return StatusResponse(deleted.status());
    }
    if (!*deleted) return ErrorResponse(404, "LangfuseNotFoundError", kOrgNotFound);
    d_.auth->Invalidate();  // its keys are gone
    json::object o;
    o["success"] = true;
    return JsonResponse(200, o);
  }

  HttpResponse ListApiKeys(HttpRequest& req, const PathParams& p) {
    if (auto denied = Authorize(req)) return *denied;
    auto org = FindOrganization(p);
    if (!org.ok()) return StatusResponse(org.status());
    auto keys = d_.meta->ListOrganizationApiKeys(org->id);
    if (!keys.ok()) return StatusResponse(keys.status());
    json::array arr;
    for (const ApiKeyRecord& k : *keys) {
      json::object o;
      o["id"] = k.id;
      o["createdAt"] = FormatIsoMillis(k.created_at_ms);
      o["expiresAt"] =
          k.expires_at_ms ? json::value(FormatIsoMillis(*k.expires_at_ms)) : json::value(nullptr);
      o["lastUsedAt"] = k.last_used_at_ms ? json::value(FormatIsoMillis(*k.last_used_at_ms))
                                          : json::value(nullptr);
      o["note"] = OptionalJson(k.note);
      o["publicKey"] = k.public_key;
      o["displaySecretKey"] = k.display_secret_key;
      arr.push_back(std::move(o));
    }
    json::object out;
    out["apiKeys"] = std::move(arr);
    return JsonResponse(200, out);
  }

  HttpResponse CreateApiKey(HttpRequest& req, const PathParams& p) {
    if (auto denied = Authorize(req)) return *denied;
    json::object empty;
    absl::StatusOr<json::object> body = empty;
    if (!req.body.empty()) body = ParseJsonObjectBody(req);
    if (!body.ok()) return StatusResponse(body.status());
    BodyFields f(*body);
    std::optional<std::string> note = f.String("note", false);
    if (!f.ok()) return StatusResponse(f.status());
    auto org = FindOrganization(p);
    if (!org.ok()) return StatusResponse(org.status());
    const std::string sk = "sk-lf-" + NewUuid();
    ApiKeyRecord k;
    k.id = NewUuid();
    k.public_key = "pk-lf-" + NewUuid();
    k.fast_hashed_secret_key = d_.auth->HashSecret(sk);
    k.display_secret_key = ApiKeyAuthenticator::DisplaySecretKey(sk);
    k.scope = "ORGANIZATION";
    k.org_id = org->id;
    k.note = note;
    k.created_at_ms = NowMillis();
    if (absl::Status s = d_.meta->CreateApiKey(k); !s.ok()) return StatusResponse(s);
    json::object o;
    o["id"] = k.id;
    o["createdAt"] = FormatIsoMillis(k.created_at_ms);
    o["publicKey"] = k.public_key;
    o["secretKey"] = sk;
    o["displaySecretKey"] = k.display_secret_key;
    o["note"] = OptionalJson(note);
    return JsonResponse(201, o);
  }

  HttpResponse DeleteApiKey(HttpRequest& req, const PathParams& p) {
    if (auto denied = Authorize(req)) return *denied;
    auto deleted = d_.meta->DeleteOrganizationApiKey(p.at("organizationId"), p.at("apiKeyId"));
    if (!deleted.ok()) return StatusResponse(deleted.status());
    if (!*deleted) return ErrorResponse(404, "LangfuseNotFoundError", "API key not found");
    d_.auth->Invalidate();
    json::object o;
    o["success"] = true;
    return JsonResponse(200, o);
  }

 private:
  // Bearer $ADMIN_API_KEY, compared in constant time. Langfuse answers 401
  // for a missing or wrong token and 403 when the admin API is not set up.
  std::optional<HttpResponse> Authorize(const HttpRequest& req) const {
    if (d_.admin_api_key.empty()) {
      return ErrorResponse(403, "ForbiddenError",
                           "ADMIN_API_KEY is not set: the admin API is disabled");
    }
    const std::string header = req.Header("authorization");
    if (header.empty()) {
      return ErrorResponse(401, "UnauthorizedError",
                           "Unauthorized: No authorization header provided");
    }
    const std::string prefix = "Bearer ";
    const std::string token = header.rfind(prefix, 0) == 0 ? header.substr(prefix.size()) : "";
    const std::string& expected = d_.admin_api_key;
    if (token.size() != expected.size() ||
        CRYPTO_memcmp(token.data(), expected.data(), expected.size()) != 0) {
      return ErrorResponse(401, "UnauthorizedError", "Unauthorized: Invalid token");
    }
    return std::nullopt;
  }

  absl::StatusOr<OrganizationRecord> FindOrganization(const PathParams& p) {
    ASSIGN_OR_RETURN(std::optional<OrganizationRecord> org,
                     d_.meta->GetOrganization(p.at("organizationId")));
    if (!org) return absl::NotFoundError(kOrgNotFound);
    return *org;
  }

  // name (3..60 characters, required) and metadata (an object, or a string
  // holding one; absent keeps the current value).
  static absl::Status ParseOrganizationFields(const json::object& body, OrganizationRecord* org) {
    BodyFields f(body);
    std::string name = Trim(f.String("name", true).value_or(""));
    if (!f.ok() || name.size() < kMinNameLength || name.size() > kMaxNameLength) {
      return absl::InvalidArgumentError(
          "Invalid organization name. Should be between 3 and 60 characters.");
    }
    org->name = name;
    const json::value* metadata = body.if_contains("metadata");
    if (!metadata || metadata->is_null()) return absl::OkStatus();
    json::value parsed =
        metadata->is_string() ? ParseStoredJson(std::string(metadata->get_string())) : *metadata;
    if (!parsed.is_object()) {
      return absl::InvalidArgumentError("Invalid metadata. Should be a valid JSON object.");
    }
    org->metadata_json = json::serialize(parsed);
    return absl::OkStatus();
  }

  // Organization: {id, name, createdAt, metadata, projects: [...]}.
  absl::StatusOr<json::object> OrganizationJson(const OrganizationRecord& org) {
    ASSIGN_OR_RETURN(std::vector<ProjectRecord> projects,
                     d_.meta->ListProjectsOfOrganization(org.id));
    json::object o;
    o["id"] = org.id;
    o["name"] = org.name;
    o["createdAt"] = FormatIsoMillis(org.created_at_ms);
    o["metadata"] = MetadataJson(org.metadata_json);
    json::array arr;
    for (const ProjectRecord& p : projects) {
      json::object po;
      po["id"] = p.id;
      po["name"] = p.name;
      po["metadata"] = MetadataJson(p.metadata_json);
      po["createdAt"] = FormatIsoMillis(p.created_at_ms);
      po["updatedAt"] = FormatIsoMillis(p.updated_at_ms);
      arr.push_back(std::move(po));
    }
    o["projects"] = std::move(arr);
    return o;
  }

  HttpResponse Respond(int status, const OrganizationRecord& org) {
    auto o = OrganizationJson(org);
    if (!o.ok()) return StatusResponse(o.status());
    return JsonResponse(status, *o);
  }

  AdminApiDeps d_;
};

}  // namespace

void RegisterAdminApi(Router& r, AdminApiDeps deps) {
  auto api = std::make_shared<AdminApi>(std::move(deps));
  const std::string base = "/api/admin/organizations";
  r.Add("GET", base,
        [api](HttpRequest& req, const PathParams&) { return api->ListOrganizations(req); });
  r.Add("POST", base,
        [api](HttpRequest& req, const PathParams&) { return api->CreateOrganization(req); });
  r.Add("GET", base + "/{organizationId}",
        [api](HttpRequest& req, const PathParams& p) { return api->GetOrganization(req, p); });
  r.Add("PUT", base + "/{organizationId}",
        [api](HttpRequest& req, const PathParams& p) { return api->UpdateOrganization(req, p); });
  r.Add("DELETE", base + "/{organizationId}",
        [api](HttpRequest& req, const PathParams& p) { return api->DeleteOrganization(req, p); });
  r.Add("GET", base + "/{organizationId}/apiKeys",
        [api](HttpRequest& req, const PathParams& p) { return api->ListApiKeys(req, p); });
  r.Add("POST", base + "/{organizationId}/apiKeys",
        [api](HttpRequest& req, const PathParams& p) { return api->CreateApiKey(req, p); });
  r.Add("DELETE", base + "/{organizationId}/apiKeys/{apiKeyId}",
        [api](HttpRequest& req, const PathParams& p) { return api->DeleteApiKey(req, p); });
}

}  // namespace loupe
