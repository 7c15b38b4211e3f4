#include "api/organizations_api.h"

#include <memory>

#include "api/request_util.h"
#include "api/responses.h"
#include "common/hash.h"
#include "common/status_macros.h"
#include "common/time_util.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr size_t kMinProjectNameLength = 3;
constexpr size_t kMaxProjectNameLength = 60;
constexpr int kMinRetentionDays = 3;

constexpr const char* kProjectNotFound = "Project not found or you don't have access to it";

json::value MetadataJson(const std::string& text) {
  json::value v = ParseStoredJson(text);
  return v.is_object() ? v : json::value(json::object());
}

json::value OptionalTime(const std::optional<int64_t>& ms) {
  return ms ? json::value(FormatIsoMillis(*ms)) : json::value(nullptr);
}

// Langfuse's API key summary (ApiKeySummary / OrganizationApiKey).
json::object ApiKeyJson(const ApiKeyRecord& k) {
  json::object o;
  o["id"] = k.id;
  o["createdAt"] = FormatIsoMillis(k.created_at_ms);
  o["expiresAt"] = OptionalTime(k.expires_at_ms);
  o["lastUsedAt"] = OptionalTime(k.last_used_at_ms);
  o["note"] = OptionalJson(k.note);
  o["publicKey"] = k.public_key;
  o["displaySecretKey"] = k.display_secret_key;
  return o;
}

json::object MembershipJson(const MembershipRecord& m) {
  json::object o;
  o["userId"] = m.user_id;
  o["role"] = m.role;
  o["email"] = m.email;
  o["name"] = m.name;
  return o;
}

std::string Trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\n\r"));
  s.erase(s.find_last_not_of(" \t\n\r") + 1);
  return s;
}

// `metadata` may be an object or a string holding one, as Langfuse accepts;
// absent or null leaves it unchanged (nullopt).
absl::StatusOr<std::optional<std::string>> ParseMetadata(const json::object& body) {
  const json::value* v = body.if_contains("metadata");
  if (!v || v->is_null()) return std::optional<std::string>();
  if (v->is_object()) return std::optional<std::string>(json::serialize(*v));
  if (v->is_string()) {
    json::value parsed = ParseStoredJson(std::string(v->get_string()));
    if (parsed.is_object()) return std::optional<std::string>(json::serialize(parsed));
  }
  return absl::InvalidArgumentError("Invalid metadata. Should be a valid JSON object.");
}

class OrganizationsApi {
 public:
  explicit OrganizationsApi(OrganizationsApiDeps deps) : d_(deps) {}

  // ------------------------------------------------------------- projects

  HttpResponse CreateProject(HttpRequest& req) {
    auto auth = AuthenticateOrganizationKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req);
    if (!body.ok()) return StatusResponse(body.status());
    ProjectRecord p;
    auto fields = ParseProjectFields(*body, &p, /*creating=*/true);
    if (!fields.ok()) return StatusResponse(fields);
    auto existing = d_.meta->FindProjectByName(auth->org_id, p.name);
    if (!existing.ok()) return StatusResponse(existing.status());
    if (*existing) {
      return ErrorResponse(409, "LangfuseConflictError",
                           "A project with this name already exists in your organization");
    }
    p.id = NewUuid();
    p.org_id = auth->org_id;
    if (absl::Status s = d_.meta->UpsertProject(p); !s.ok()) return StatusResponse(s);
    return RespondWithProject(201, auth->org_id, p.id);
  }

  HttpResponse UpdateProject(HttpRequest& req, const PathParams& params) {
    auto auth = AuthenticateOrganizationKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req);
    if (!body.ok()) return StatusResponse(body.status());
    auto project = OwnProject(*auth, params.at("projectId"));
    if (!project.ok()) return StatusResponse(project.status());
    ProjectRecord p = *project;
    auto fields = ParseProjectFields(*body, &p, /*creating=*/false);
    if (!fields.ok()) return StatusResponse(fields);
    if (p.name != project->name) {
      auto existing = d_.meta->FindProjectByName(auth->org_id, p.name);
      if (!existing.ok()) return StatusResponse(existing.status());
      if (*existing) {
        return ErrorResponse(409, "LangfuseConflictError",
                             "A project with this name already exists in your organization");
      }
    }
    if (absl::Status s = d_.meta->UpsertProject(p); !s.ok()) return StatusResponse(s);
    return RespondWithProject(200, auth->org_id, p.id);
  }

  HttpResponse DeleteProject(HttpRequest& req, const PathParams& params) {
    auto auth = AuthenticateOrganizationKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto deleted = d_.meta->SoftDeleteProject(auth->org_id, params.at("projectId"));
    if (!deleted.ok()) return StatusResponse(deleted.status());
    if (!*deleted) return ErrorResponse(404, "LangfuseNotFoundError", kProjectNotFound);
    d_.auth->Invalidate();  // its keys are gone
    json::object o;
    o["success"] = true;
    o["message"] = "Project deletion has been initiated and is being processed asynchronously";
    return JsonResponse(202, o);
  }

  HttpResponse ListOrganizationProjects(HttpRequest& req) {
    auto auth = AuthenticateOrganizationKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto projects = d_.meta->ListProjectsOfOrganization(auth->org_id);
    if (!projects.ok()) return StatusResponse(projects.status());
    json::array arr;
    for (const ProjectRecord& p : *projects) {
      json::object o;
      o["id"] = p.id;
      o["name"] = p.name;
      o["metadata"] = MetadataJson(p.metadata_json);
      o["createdAt"] = FormatIsoMillis(p.created_at_ms);
      o["updatedAt"] = FormatIsoMillis(p.updated_at_ms);
      arr.push_back(std::move(o));
    }
    json::object out;
    out["projects"] = std::move(arr);
    return JsonResponse(200, out);
  }

  // ------------------------------------------------------------- API keys

  HttpResponse ListProjectApiKeys(HttpRequest& req, const PathParams& params) {
    auto auth = AuthenticateOrganizationKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto project = OwnProject(*auth, params.at("projectId"));
    if (!project.ok()) return StatusResponse(project.status());
    auto keys = d_.meta->ListProjectApiKeys(project->id);
    if (!keys.ok()) return StatusResponse(keys.status());
    return KeysResponse(*keys);
  }

  HttpResponse CreateProjectApiKey(HttpRequest& req, const PathParams& params) {
    auto auth = AuthenticateOrganizationKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    // An empty body is allowed: every field is optional.
    json::object empty;
    absl::StatusOr<json::object> body = empty;
    if (!req.body.empty()) body = ParseJsonObjectBody(req);
    if (!body.ok()) return StatusResponse(body.status());
    BodyFields f(*body);
    std::optional<std::string> note = f.String("note", false);
    std::optional<std::string> public_key = f.String("publicKey", false);
    std::optional<std::string> secret_key = f.String("secretKey", false);
    // Not in Langfuse's request schema: lets a key be issued for a limited
    // time; authentication refuses it afterwards.
    std::optional<int64_t> expires_at = f.DateTime("expiresAt", false);
    if (!f.ok()) return StatusResponse(f.status());
    if (expires_at && *expires_at <= NowMillis()) {
      return InvalidRequest("expiresAt: Must be in the future");
    }
    if (public_key.has_value() != secret_key.has_value()) {
      return InvalidRequest(
          "Both publicKey and secretKey must be provided together when specifying predefined "
          "keys");
    }
    if (public_key && public_key->rfind("pk-lf-", 0) != 0) {
      return InvalidRequest("publicKey must start with 'pk-lf-'");
    }
    if (secret_key && secret_key->rfind("sk-lf-", 0) != 0) {
      return InvalidRequest("secretKey must start with 'sk-lf-'");
    }
    auto project = OwnProject(*auth, params.at("projectId"));
    if (!project.ok()) return StatusResponse(project.status());

    const std::string pk = public_key.value_or("pk-lf-" + NewUuid());
    const std::string sk = secret_key.value_or("sk-lf-" + NewUuid());
    ApiKeyRecord k;
    k.id = NewUuid();
    k.public_key = pk;
    k.fast_hashed_secret_key = d_.auth->HashSecret(sk);
    k.display_secret_key = ApiKeyAuthenticator::DisplaySecretKey(sk);
    k.scope = "PROJECT";
    k.project_id = project->id;
    k.org_id = auth->org_id;
    k.note = note;
    k.created_at_ms = NowMillis();
    k.expires_at_ms = expires_at;
    if (absl::Status s = d_.meta->CreateApiKey(k); !s.ok()) return StatusResponse(s);
    json::object o;
    o["id"] = k.id;
    o["createdAt"] = FormatIsoMillis(k.created_at_ms);
    o["publicKey"] = pk;
    o["secretKey"] = sk;
    o["displaySecretKey"] = k.display_secret_key;
    o["note"] = OptionalJson(note);
    if (expires_at) o["expiresAt"] = FormatIsoMillis(*expires_at);
    return JsonResponse(201, o);
  }

  HttpResponse DeleteProjectApiKey(HttpRequest& req, const PathParams& params) {
    auto auth = AuthenticateOrganizationKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto project = OwnProject(*auth, params.at("projectId"));
    if (!project.ok()) return StatusResponse(project.status());
    auto deleted = d_.meta->DeleteProjectApiKey(project->id, params.at("apiKeyId"));
    if (!deleted.ok()) return StatusResponse(deleted.status());
    if (!*deleted) return ErrorResponse(404, "LangfuseNotFoundError", "API key not found");
    d_.auth->Invalidate();
    json::object o;
    o["success"] = true;
    return JsonResponse(200, o);
  }

  HttpResponse ListOrganizationApiKeys(HttpRequest& req) {
    auto auth = AuthenticateOrganizationKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto keys = d_.meta->ListOrganizationApiKeys(auth->org_id);
    if (!keys.ok()) return StatusResponse(keys.status());
    return KeysResponse(*keys);
  }

  // ------------------------------------------------------------- memberships

  HttpResponse ListOrgMemberships(HttpRequest& req) {
    auto auth = AuthenticateOrganizationKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    return MembershipsResponse(d_.meta->ListOrgMemberships(auth->org_id));
  }

  HttpResponse UpsertOrgMembership(HttpRequest& req) {
    auto auth = AuthenticateOrganizationKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto request = ParseMembershipRequest(req, /*with_role=*/true);
    if (!request.ok()) return StatusResponse(request.status());
    auto user = d_.meta->GetUser(request->user_id);
    if (!user.ok()) return StatusResponse(user.status());
    if (!*user) return ErrorResponse(404, "LangfuseNotFoundError", "User not found");
    absl::Status s = d_.meta->UpsertOrgMembership(auth->org_id, request->user_id, request->role);
    if (!s.ok()) return StatusResponse(s);
    return JsonResponse(
        200, MembershipJson({request->user_id, request->role, (*user)->email, (*user)->name}));
  }

  HttpResponse DeleteOrgMembership(HttpRequest& req) {
    auto auth = AuthenticateOrganizationKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto request = ParseMembershipRequest(req, /*with_role=*/false);
    if (!request.ok()) return StatusResponse(request.status());
    // Like Langfuse, deleting a membership that does not exist succeeds.
    auto deleted = d_.meta->DeleteOrgMembership(auth->org_id, request->user_id);
    if (!deleted.ok()) return StatusResponse(deleted.status());
    json::object o;
    o["message"] = "Membership deleted successfully";
    o["userId"] = request->user_id;
    return JsonResponse(200, o);
  }

  HttpResponse ListProjectMemberships(HttpRequest& req, const PathParams& params) {
    auto auth = AuthenticateOrganizationKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto project = OwnProject(*auth, params.at("projectId"));
    if (!project.ok()) return StatusResponse(project.status());
    return MembershipsResponse(d_.meta->ListProjectMemberships(project->id));
  }

  HttpResponse UpsertProjectMembership(HttpRequest& req, const PathParams& params) {
    auto auth = AuthenticateOrganizationKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto request = ParseMembershipRequest(req, /*with_role=*/true);
    if (!request.ok()) return StatusResponse(request.status());
    auto project = OwnProject(*auth, params.at("projectId"));
    if (!project.ok()) return StatusResponse(project.status());
    auto member = d_.meta->GetOrgMembership(auth->org_id, request->user_id);
    if (!member.ok()) return StatusResponse(member.status());
    if (!*member) {
      return ErrorResponse(404, "LangfuseNotFoundError",
                           "User is not a member of this organization");
    }
    absl::Status s = d_.meta->UpsertProjectMembership(project->id, request->user_id, request->role);
    if (!s.ok()) return StatusResponse(s);
    return JsonResponse(
        200, MembershipJson({request->user_id, request->role, (*member)->email, (*member)->name}));
  }

  HttpResponse DeleteProjectMembership(HttpRequest& req, const PathParams& params) {
    auto auth = AuthenticateOrganizationKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto request = ParseMembershipRequest(req, /*with_role=*/false);
    if (!request.ok()) return StatusResponse(request.status());
    auto project = OwnProject(*auth, params.at("projectId"));
    if (!project.ok()) return StatusResponse(project.status());
    auto deleted = d_.meta->DeleteProjectMembership(project->id, request->user_id);
    if (!deleted.ok()) return StatusResponse(deleted.status());
    if (!*deleted) {
      return ErrorResponse(404, "LangfuseNotFoundError", "Project membership not found");
    }
    json::object o;
    o["message"] = "Project membership deleted successfully";
    o["userId"] = request->user_id;
    return JsonResponse(200, o);
  }

 private:
  struct MembershipRequest {
    std::string user_id;
    std::string role;
  };

  absl::StatusOr<MembershipRequest> ParseMembershipRequest(const HttpRequest& req, bool with_role) {
    ASSIGN_OR_RETURN(json::object body, ParseJsonObjectBody(req));
    BodyFields f(body);
    MembershipRequest m;
    m.user_id = f.String("userId", true, 1).value_or("");
    if (with_role) {
      m.role = f.Enum("role", {"OWNER", "ADMIN", "MEMBER", "VIEWER"}, true).value_or("");
    }
    RETURN_IF_ERROR(f.status());
    return m;
  }

  // The live project `id` of the caller's organization, else kNotFound.
  absl::StatusOr<ProjectRecord> OwnProject(const AuthContext& auth, const std::string& id) {
    ASSIGN_OR_RETURN(std::optional<ProjectRecord> p, d_.meta->GetProject(id));
    if (!p || p->org_id != auth.org_id) return absl::NotFoundError(kProjectNotFound);
    return *p;
  }

  // name (3..60 characters, required), retention (0 or >= 3 days) and
  // metadata, applied to `p`.
  absl::Status ParseProjectFields(const json::object& body, ProjectRecord* p, bool creating) {
    BodyFields f(body);
    std::optional<std::string> name = f.String("name", true);
    std::optional<int64_t> retention = f.Integer("retention", false, 0, 1 << 30);
    if (!f.ok()) {
      if (!name) {
        return absl::InvalidArgumentError(
            "Invalid project name. Should be between 3 and 60 characters.");
      }
      return absl::InvalidArgumentError("Invalid retention value. Must be 0 or at least 3 days.");
    }
    std::string trimmed = Trim(*name);
    if (trimmed.size() < kMinProjectNameLength || trimmed.size() > kMaxProjectNameLength) {
      return absl::InvalidArgumentError(
          "Invalid project name. Should be between 3 and 60 characters.");
    }
    if (retention && *retention != 0 && *retention < kMinRetentionDays) {
      return absl::InvalidArgumentError("Invalid retention value. Must be 0 or at least 3 days.");
    }
    ASSIGN_OR_RETURN(std::optional<std::string> metadata, ParseMetadata(body));
    p->name = trimmed;
    if (retention) p->retention_days = static_cast<int>(*retention);
    if (metadata) p->metadata_json = *metadata;
    if (creating && !metadata) p->metadata_json = "{}";
    return absl::OkStatus();
  }

  // Project: {id, name, organization: {id, name}, metadata, retentionDays?}.
  HttpResponse RespondWithProject(int status, const std::string& org_id,
                                  const std::string& project_id) {
    auto project = d_.meta->GetProject(project_id);
    if (!project.ok()) return StatusResponse(project.status());
    if (!*project) return ErrorResponse(404, "LangfuseNotFoundError", kProjectNotFound);
    auto org = d_.meta->GetOrganization(org_id);
    if (!org.ok()) return StatusResponse(org.status());
    const ProjectRecord& p = **project;
    json::object o;
    o["id"] = p.id;
    o["name"] = p.name;
    json::object org_json;
    org_json["id"] = org_id;
    org_json["name"] = *org ? (*org)->name : "";
    o["organization"] = std::move(org_json);
    o["metadata"] = MetadataJson(p.metadata_json);
    // Omitted when null or 0, as Langfuse does.
    if (p.retention_days && *p.retention_days > 0) o["retentionDays"] = *p.retention_days;
    return JsonResponse(status, o);
  }

  static HttpResponse KeysResponse(const std::vector<ApiKeyRecord>& keys) {
    json::array arr;
    for (const ApiKeyRecord& k : keys) arr.push_back(ApiKeyJson(k));
    json::object out;
    out["apiKeys"] = std::move(arr);
    return JsonResponse(200, out);
  }

  static HttpResponse MembershipsResponse(
      const absl::StatusOr<std::vector<MembershipRecord>>& members) {
    if (!members.ok()) return StatusResponse(members.status());
    json::array arr;
    for (const MembershipRecord& m : *members) arr.push_back(MembershipJson(m));
    json::object out;
    out["memberships"] = std::move(arr);
    return JsonResponse(200, out);
  }

  OrganizationsApiDeps d_;
};

}  // namespace

void RegisterOrganizationsApi(Router& r, OrganizationsApiDeps deps) {
  auto api = std::make_shared<OrganizationsApi>(deps);
  auto simple = [api](HttpResponse (OrganizationsApi::*fn)(HttpRequest&)) {
    return [api, fn](HttpRequest& req, const PathParams&) { return ((*api).*fn)(req); };
  };
  auto with_params = [api](HttpResponse (OrganizationsApi::*fn)(HttpRequest&, const PathParams&)) {
    return [api, fn](HttpRequest& req, const PathParams& p) { return ((*api).*fn)(req, p); };
  };
  r.Add("POST", "/api/public/projects", simple(&OrganizationsApi::CreateProject));
  r.Add("PUT", "/api/public/projects/{projectId}", with_params(&OrganizationsApi::UpdateProject));
  r.Add("DELETE", "/api/public/projects/{projectId}",
        with_params(&OrganizationsApi::DeleteProject));
  r.Add("GET", "/api/public/projects/{projectId}/apiKeys",
        with_params(&OrganizationsApi::ListProjectApiKeys));
  r.Add("POST", "/api/public/projects/{projectId}/apiKeys",
        with_params(&OrganizationsApi::CreateProjectApiKey));
  r.Add("DELETE", "/api/public/projects/{projectId}/apiKeys/{apiKeyId}",
        with_params(&OrganizationsApi::DeleteProjectApiKey));
  r.Add("GET", "/api/public/projects/{projectId}/memberships",
        with_params(&OrganizationsApi::ListProjectMemberships));
  r.Add("PUT", "/api/public/projects/{projectId}/memberships",
        with_params(&OrganizationsApi::UpsertProjectMembership));
  r.Add("DELETE", "/api/public/projects/{projectId}/memberships",
        with_params(&OrganizationsApi::DeleteProjectMembership));
  r.Add("GET", "/api/public/organizations/projects",
        simple(&OrganizationsApi::ListOrganizationProjects));
  r.Add("GET", "/api/public/organizations/apiKeys",
        simple(&OrganizationsApi::ListOrganizationApiKeys));
  r.Add("GET", "/api/public/organizations/memberships",
        simple(&OrganizationsApi::ListOrgMemberships));
  r.Add("PUT", "/api/public/organizations/memberships",
        simple(&OrganizationsApi::UpsertOrgMembership));
  r.Add("DELETE", "/api/public/organizations/memberships",
        simple(&OrganizationsApi::DeleteOrgMembership));
}

}  // namespace loupe
