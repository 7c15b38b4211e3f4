#include "ui/ui_api.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "api/json_views.h"
#include "api/responses.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/time_util.h"
#include "query/filter.h"
#include "query/metrics.h"
#include "ui/session_auth.h"
#include "ui/static_assets.h"

namespace loupe {
namespace {

namespace json = boost::json;

enum class Role { kNone = 0, kViewer = 1, kMember = 2, kAdmin = 3, kOwner = 4 };

Role ParseRole(std::string_view r) {
  if (r == "OWNER") return Role::kOwner;
  if (r == "ADMIN") return Role::kAdmin;
  if (r == "MEMBER") return Role::kMember;
  if (r == "VIEWER") return Role::kViewer;
  return Role::kNone;
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kOwner:
      return "OWNER";
    case Role::kAdmin:
      return "ADMIN";
    case Role::kMember:
      return "MEMBER";
    case Role::kViewer:
      return "VIEWER";
    case Role::kNone:
      break;
  }
  return "NONE";
}

HttpResponse UiError(int status, std::string_view error, std::string_view message) {
  return ErrorResponse(status, error, message);
}

HttpResponse UiStatus(const absl::Status& s) {
  if (s.code() == absl::StatusCode::kInvalidArgument) {
    return UiError(400, "InvalidRequest", std::string(s.message()));
  }
  if (s.code() == absl::StatusCode::kNotFound)
    return UiError(404, "NotFound", std::string(s.message()));
  LogError("ui api storage error", {{"error", s.ToString()}});
  return StatusResponse(s);
}

json::value Opt(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

// A short, display-only preview of an input/output value for list rows:
// strings as they are, anything else as compact JSON, cut at a UTF-8
// character boundary.
json::value Preview(const json::value& v, size_t max_bytes = 240) {
  if (v.is_null()) return nullptr;
  std::string s = v.is_string() ? std::string(v.as_string()) : json::serialize(v);
  if (s.size() > max_bytes) {
    size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
    s += "…";
  }
  return json::value(s);
}

json::value LatencySeconds(const TraceRecord& t) {
  if (!t.min_start_ms || !t.max_end_ms) return nullptr;
  return static_cast<double>(*t.max_end_ms - *t.min_start_ms) / 1000.0;
}

json::object TraceRowJson(const TraceRecord& t) {
  json::object o;
  o["id"] = t.id;
  o["timestamp"] = FormatIsoMillis(t.timestamp_ms);
  o["name"] = Opt(t.name);
  o["userId"] = Opt(t.user_id);
  o["sessionId"] = Opt(t.session_id);
  o["release"] = Opt(t.release);
  o["version"] = Opt(t.version);
  o["environment"] = t.environment;
  json::array tags;
  for (const auto& tag : t.tags) tags.emplace_back(tag);
  o["tags"] = std::move(tags);
  o["latency"] = LatencySeconds(t);
  o["totalCost"] = t.total_cost;
  o["observationCount"] = t.observation_count;
  o["bookmarked"] = t.bookmarked;
  o["input"] = Preview(t.input);
  o["output"] = Preview(t.output);
  return o;
}

std::optional<json::object> ParseBody(const HttpRequest& req) {
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.as_object();
}

std::string StringField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool PlausibleEmail(const std::string& e) {
  size_t at = e.find('@');
  return e.size() <= 254 && at != std::string::npos && at > 0 &&
         e.find('.', at) != std::string::npos &&
         e.find_first_of(" \t\r\n<>\"") == std::string::npos;
}

std::optional<int> IntParam(const HttpRequest& req, std::string_view key, int lo, int hi) {
  const std::string* v = req.Query(key);
  if (!v || v->empty()) return std::nullopt;
  char* end = nullptr;
  long n = std::strtol(v->c_str(), &end, 10);
  if (*end != '\0') return std::nullopt;
  return static_cast<int>(std::clamp<long>(n, lo, hi));
}

double Ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

struct Caller {
  UserRecord user;
  std::string cookie;
};

struct ProjectAccess {
  ProjectRecord project;
  Role role = Role::kNone;
};

class UiApi {
 public:
  UiApi(const UiDeps& deps, UiAuthOptions options)
      : d_(deps),
        sessions_(*deps.meta, std::move(options)),
        email_failures_(sessions_.options().max_failures, sessions_.options().failure_window_ms),
        ip_failures_(sessions_.options().max_failures * 4, sessions_.options().failure_window_ms),
        ip_signups_(20, 60 * 60 * 1000) {
    const char* org = std::getenv("LANGFUSE_DEFAULT_ORG_ID");
    const char* role = std::getenv("LANGFUSE_DEFAULT_ORG_ROLE");
    if (org && *org) default_org_ = org;
    default_org_role_ = role && ParseRole(role) != Role::kNone ? role : "VIEWER";
    // Argon2 costs ~50 ms; an unknown email is checked against this hash so
    // that the answer time does not reveal whether the account exists.
    dummy_hash_ = HashNewPassword(RandomHex(16));
  }

  void Register(Router& r, std::shared_ptr<UiApi> self) {
    auto route = [&r, self](const char* method, const char* pattern,
                            HttpResponse (UiApi::*fn)(HttpRequest&, const PathParams&)) {
      r.Add(method, pattern, [self, fn](HttpRequest& req, const PathParams& p) {
        HttpResponse res = ((*self).*fn)(req, p);
        res.headers.emplace_back("Cache-Control", "no-store");
        AddUiSecurityHeaders(res);
        return res;
      });
    };
    route("GET", "/api/ui/auth/config", &UiApi::AuthConfig);
    route("POST", "/api/ui/auth/sign-in", &UiApi::SignIn);
    route("POST", "/api/ui/auth/sign-up", &UiApi::SignUp);
    route("POST", "/api/ui/auth/sign-out", &UiApi::SignOut);
    route("GET", "/api/ui/auth/session", &UiApi::Session);
    route("POST", "/api/ui/organizations", &UiApi::CreateOrganization);
    route("POST", "/api/ui/organizations/{orgId}/projects", &UiApi::CreateProject);
    route("GET", "/api/ui/projects/{projectId}/api-keys", &UiApi::ListApiKeys);
    route("POST", "/api/ui/projects/{projectId}/api-keys", &UiApi::CreateApiKey);
    route("DELETE", "/api/ui/projects/{projectId}/api-keys/{keyId}", &UiApi::DeleteApiKey);
    route("GET", "/api/ui/projects/{projectId}/members", &UiApi::ListMembers);
    route("POST", "/api/ui/projects/{projectId}/members", &UiApi::AddMember);
    route("DELETE", "/api/ui/projects/{projectId}/members/{userId}", &UiApi::RemoveMember);
    route("GET", "/api/ui/projects/{projectId}/traces", &UiApi::ListTraces);
    route("GET", "/api/ui/projects/{projectId}/traces/{traceId}", &UiApi::GetTrace);
    route("GET", "/api/ui/projects/{projectId}/observations/{observationId}",
          &UiApi::GetObservation);
    route("GET", "/api/ui/projects/{projectId}/sessions", &UiApi::ListSessions);
    route("GET", "/api/ui/projects/{projectId}/sessions/{sessionId}", &UiApi::GetSession);
    route("GET", "/api/ui/projects/{projectId}/users", &UiApi::ListUsers);
    route("GET", "/api/ui/projects/{projectId}/metrics", &UiApi::Metrics);
    r.SetFallback([self](HttpRequest& req, const PathParams&) { return self->Page(req); });
  }

 private:
  // ---- plumbing

  // Pages: every GET outside the APIs is the app (or one of its files).
  HttpResponse Page(HttpRequest& req) {
    const bool api = req.path.rfind("/api/", 0) == 0 || req.path == "/api";
    if (api || (req.method != "GET" && req.method != "HEAD")) {
      HttpResponse res =
          ErrorResponse(404, "LangfuseNotFoundError", "Route not found: " + req.path);
      if (req.path.rfind("/api/ui/", 0) == 0) AddUiSecurityHeaders(res);
      return res;
    }
    return assets_.Serve(req);
  }

  // A write must come from this site: browsers always send Origin on
  // cross-origin requests, so a foreign Origin is refused.
  bool SameOrigin(const HttpRequest& req) const {
    std::string origin = req.Header("origin");
    if (origin.empty() || origin == "null") return origin.empty();
    std::string host = req.Header("host");
    if (origin == "http://" + host || origin == "https://" + host) return true;
    if (!d_.public_url.empty()) {
      std::string pub = d_.public_url;
      size_t scheme = pub.find("://");
      size_t slash = scheme == std::string::npos ? std::string::npos : pub.find('/', scheme + 3);
      if (slash != std::string::npos) pub.resize(slash);
      if (origin == pub) return true;
    }
    return false;
  }

  // The signed-in user, or nullopt (the handler answers 401).
  absl::StatusOr<std::optional<Caller>> Authenticate(const HttpRequest& req) {
    std::string cookie = sessions_.CookieFrom(req.Header("cookie"));
    if (cookie.empty()) return std::optional<Caller>();
    auto session = sessions_.Validate(cookie);
    if (!session.ok()) return session.status();
    if (!*session) return std::optional<Caller>();
    auto user = d_.meta->GetUser((*session)->user_id);
    if (!user.ok()) return user.status();
    if (!*user) return std::optional<Caller>();
    return std::optional<Caller>(Caller{std::move(**user), std::move(cookie)});
  }

  static HttpResponse Unauthenticated() {
    return UiError(401, "Unauthenticated", "Sign in to continue.");
  }

  // The caller's role in the project; Role::kNone when not a member (or no
  // such project).
  absl::StatusOr<ProjectAccess> Access(const Caller& c, const std::string& project_id) {
    ProjectAccess a;
    auto project = d_.meta->GetProject(project_id);
    if (!project.ok()) return project.status();
    if (!*project) return a;
    a.project = std::move(**project);
    auto pm = d_.meta->GetProjectMembership(project_id, c.user.id);
    if (!pm.ok()) return pm.status();
    if (*pm) {
      a.role = ParseRole((*pm)->role);
      return a;
    }
    auto om = d_.meta->GetOrgMembership(a.project.org_id, c.user.id);
    if (!om.ok()) return om.status();
    if (*om) a.role = ParseRole((*om)->role);
    return a;
  }

  // Runs `fn(caller, access)` when the caller is signed in and holds at least
  // `min_role` in the path's project. Non-members get 404 rather than 403.
  template <typename Fn>
  HttpResponse WithProject(HttpRequest& req, const PathParams& p, Role min_role, Fn fn) {
    if (req.method != "GET" && !SameOrigin(req)) {
      return UiError(403, "Forbidden", "Cross-site request refused.");
    }
    auto caller = Authenticate(req);
    if (!caller.ok()) return UiStatus(caller.status());
    if (!*caller) return Unauthenticated();
    auto access = Access(**caller, p.at("projectId"));
    if (!access.ok()) return UiStatus(access.status());
    if (access->role == Role::kNone) {
      return UiError(404, "NotFound", "Project not found.");
    }
    if (access->role < min_role) {
      return UiError(403, "Forbidden",
                     std::string("Your role (") + RoleName(access->role) +
                         ") does not allow this in this project.");
    }
    return fn(**caller, *access);
  }

  // ---- auth

  HttpResponse AuthConfig(HttpRequest&, const PathParams&) {
    json::object o;
    o["signUpDisabled"] = sessions_.options().signup_disabled;
    return JsonResponse(200, o);
  }

  HttpResponse RateLimited(int64_t retry_ms) {
    int64_t secs = std::max<int64_t>(1, (retry_ms + 999) / 1000);
    HttpResponse res =
        UiError(429, "TooManyRequests",
                "Too many sign-in attempts. Try again in " + std::to_string(secs) + " seconds.");
    res.headers.emplace_back("Retry-After", std::to_string(secs));
    return res;
  }

  HttpResponse SignIn(HttpRequest& req, const PathParams&) {
    if (!SameOrigin(req)) return UiError(403, "Forbidden", "Cross-site request refused.");
    auto body = ParseBody(req);
    if (!body) return UiError(400, "InvalidRequest", "Expected a JSON object body.");
    const std::string email = Lower(Trim(StringField(*body, "email")));
    const std::string password = StringField(*body, "password");
    if (email.empty() || password.empty()) {
      return UiError(400, "InvalidRequest", "Email and password are required.");
    }
    const int64_t now = NowMillis();
    const std::string email_key = "email:" + email;
    const std::string ip_key = "ip:" + req.remote_address;
    int64_t wait = std::max(email_failures_.RetryAfterMs(email_key, now),
                            ip_failures_.RetryAfterMs(ip_key, now));
    if (wait > 0) return RateLimited(wait);

    auto user = d_.meta->FindUserByEmail(email);
    if (!user.ok()) return UiStatus(user.status());
    const bool ok = *user && !(*user)->password_hash.empty()
                        ? VerifyPassword((*user)->password_hash, password)
                        : (VerifyPassword(dummy_hash_, password), false);
    if (!ok) {
      email_failures_.Record(email_key, now);
      ip_failures_.Record(ip_key, now);
      LogInfo("ui sign-in failed", {{"remote", req.remote_address}});
      return UiError(401, "InvalidCredentials", "Invalid email or password.");
    }
    email_failures_.Clear(email_key);
    (void)d_.meta->DeleteExpiredUserSessions(now);
    return StartSession((*user)->id);
  }

  HttpResponse StartSession(const std::string& user_id) {
    auto cookie = sessions_.Create(user_id);
    if (!cookie.ok()) return UiStatus(cookie.status());
    HttpRequest fake;
    fake.headers["cookie"] = sessions_.cookie_name() + "=" + *cookie;
    HttpResponse res = Session(fake, {});
    res.headers.emplace_back("Set-Cookie", sessions_.SetCookie(*cookie));
    return res;
  }

  HttpResponse SignUp(HttpRequest& req, const PathParams&) {
    if (!SameOrigin(req)) return UiError(403, "Forbidden", "Cross-site request refused.");
    if (sessions_.options().signup_disabled) {
      return UiError(403, "SignUpDisabled", "Sign-up is disabled on this server.");
    }
    auto body = ParseBody(req);
    if (!body) return UiError(400, "InvalidRequest", "Expected a JSON object body.");
    UserRecord u;
    u.email = Lower(Trim(StringField(*body, "email")));
    u.name = Trim(StringField(*body, "name"));
    const std::string password = StringField(*body, "password");
    if (!PlausibleEmail(u.email)) return UiError(400, "InvalidRequest", "Enter a valid email.");
    if (u.name.empty() || u.name.size() > 200) {
      return UiError(400, "InvalidRequest", "Enter your name (at most 200 characters).");
    }
    if (password.size() < 8 || password.size() > 1024) {
      return UiError(400, "InvalidRequest", "The password needs at least 8 characters.");
    }
    const int64_t now = NowMillis();
    const std::string ip_key = "signup:" + req.remote_address;
    if (int64_t wait = ip_signups_.RetryAfterMs(ip_key, now); wait > 0) return RateLimited(wait);
    ip_signups_.Record(ip_key, now);
    u.id = NewUuid();
    u.password_hash = HashNewPassword(password);
    if (u.password_hash.empty()) return UiError(500, "InternalError", "Password hashing failed.");
    if (absl::Status s = d_.meta->CreateUser(u); !s.ok()) {
      if (s.code() == absl::StatusCode::kAlreadyExists) {
        return UiError(409, "UserExists", "An account with this email already exists.");
      }
      return UiStatus(s);
    }
    if (!default_org_.empty()) {
      auto org = d_.meta->GetOrganization(default_org_);
      if (org.ok() && *org) {
        (void)d_.meta->UpsertOrgMembership(default_org_, u.id, default_org_role_);
      }
    } else {
      // A zero-configuration first start creates an organization, project
      // and key pair but no user; the first account made here owns them, so
      // that the traces sent with the printed keys can be seen at all.
      auto orphans = d_.meta->ListOrganizationsWithoutMembers();
      if (orphans.ok()) {
        for (const auto& org : *orphans) {
          if (d_.meta->UpsertOrgMembership(org.id, u.id, "OWNER").ok()) {
            LogInfo("organization without members given to the first account",
                    {{"org", org.id}, {"user", u.email}});
          }
        }
      }
    }
    HttpResponse res = StartSession(u.id);
    if (res.status == 200) res.status = 201;
    return res;
  }

  HttpResponse SignOut(HttpRequest& req, const PathParams&) {
    if (!SameOrigin(req)) return UiError(403, "Forbidden", "Cross-site request refused.");
    std::string cookie = sessions_.CookieFrom(req.Header("cookie"));
    if (!cookie.empty()) {
      if (absl::Status s = sessions_.Revoke(cookie); !s.ok()) return UiStatus(s);
    }
    json::object o;
    o["ok"] = true;
    HttpResponse res = JsonResponse(200, o);
    res.headers.emplace_back("Set-Cookie", sessions_.ClearCookie());
    return res;
  }

  HttpResponse Session(HttpRequest& req, const PathParams&) {
    auto caller = Authenticate(req);
    if (!caller.ok()) return UiStatus(caller.status());
    if (!*caller) return Unauthenticated();
    const UserRecord& u = (*caller)->user;
    auto orgs = d_.meta->ListOrgMembershipsOfUser(u.id);
    if (!orgs.ok()) return UiStatus(orgs.status());
    auto overrides = d_.meta->ListProjectMembershipsOfUser(u.id);
    if (!overrides.ok()) return UiStatus(overrides.status());
    std::map<std::string, std::string> project_roles(overrides->begin(), overrides->end());
    json::array orgs_json;
    for (const auto& m : *orgs) {
      json::object oj;
      oj["id"] = m.org.id;
      oj["name"] = m.org.name;
      oj["role"] = m.role;
      auto projects = d_.meta->ListProjectsOfOrganization(m.org.id);
      if (!projects.ok()) return UiStatus(projects.status());
      json::array pj;
      for (const auto& p : *projects) {
        auto it = project_roles.find(p.id);
        std::string role = it != project_roles.end() ? it->second : m.role;
        if (ParseRole(role) == Role::kNone) continue;
        json::object po;
        po["id"] = p.id;
        po["name"] = p.name;
        po["role"] = role;
        pj.push_back(std::move(po));
      }
      oj["projects"] = std::move(pj);
      orgs_json.push_back(std::move(oj));
    }
    json::object user;
    user["id"] = u.id;
    user["email"] = u.email;
    user["name"] = u.name;
    json::object o;
    o["user"] = std::move(user);
    o["organizations"] = std::move(orgs_json);
    o["signUpDisabled"] = sessions_.options().signup_disabled;
    return JsonResponse(200, o);
  }

  // ---- organizations and projects

  HttpResponse CreateOrganization(HttpRequest& req, const PathParams&) {
    if (!SameOrigin(req)) return UiError(403, "Forbidden", "Cross-site request refused.");
    auto caller = Authenticate(req);
    if (!caller.ok()) return UiStatus(caller.status());
    if (!*caller) return Unauthenticated();
    auto body = ParseBody(req);
    if (!body) return UiError(400, "InvalidRequest", "Expected a JSON object body.");
    std::string name = Trim(StringField(*body, "name"));
    if (name.size() < 2 || name.size() > 60) {
      return UiError(400, "InvalidRequest", "The name needs 2 to 60 characters.");
    }
    OrganizationRecord org{"cl" + RandomHex(12), name, NowMillis()};
    if (absl::Status s = d_.meta->UpsertOrganization(org); !s.ok()) return UiStatus(s);
    if (absl::Status s = d_.meta->UpsertOrgMembership(org.id, (*caller)->user.id, "OWNER");
        !s.ok()) {
      return UiStatus(s);
    }
    json::object o;
    o["id"] = org.id;
    o["name"] = org.name;
    o["role"] = "OWNER";
    o["projects"] = json::array();
    return JsonResponse(201, o);
  }

  HttpResponse CreateProject(HttpRequest& req, const PathParams& p) {
    if (!SameOrigin(req)) return UiError(403, "Forbidden", "Cross-site request refused.");
    auto caller = Authenticate(req);
    if (!caller.ok()) return UiStatus(caller.status());
    if (!*caller) return Unauthenticated();
    const std::string& org_id = p.at("orgId");
    auto m = d_.meta->GetOrgMembership(org_id, (*caller)->user.id);
    if (!m.ok()) return UiStatus(m.status());
    if (!*m || ParseRole((*m)->role) == Role::kNone) {
      return UiError(404, "NotFound", "Organization not found.");
    }
    if (ParseRole((*m)->role) < Role::kAdmin) {
      return UiError(403, "Forbidden", "Only owners and admins can create projects.");
    }
    auto body = ParseBody(req);
    if (!body) return UiError(400, "InvalidRequest", "Expected a JSON object body.");
    std::string name = Trim(StringField(*body, "name"));
    if (name.size() < 2 || name.size() > 60) {
      return UiError(400, "InvalidRequest", "The name needs 2 to 60 characters.");
    }
    auto existing = d_.meta->FindProjectByName(org_id, name);
    if (!existing.ok()) return UiStatus(existing.status());
    if (*existing) {
      return UiError(409, "ProjectExists", "A project with this name exists in the organization.");
    }
    ProjectRecord project;
    project.id = "cl" + RandomHex(12);
    project.org_id = org_id;
    project.name = name;
    project.created_at_ms = NowMillis();
    if (absl::Status s = d_.meta->UpsertProject(project); !s.ok()) return UiStatus(s);
    json::object o;
    o["id"] = project.id;
    o["name"] = project.name;
    o["orgId"] = org_id;
    o["role"] = (*m)->role;
    return JsonResponse(201, o);
  }

  // ---- API keys

  static json::object KeyJson(const ApiKeyRecord& k) {
    json::object o;
    o["id"] = k.id;
    o["publicKey"] = k.public_key;
    o["displaySecretKey"] = k.display_secret_key;
    o["note"] = Opt(k.note);
    o["createdAt"] = FormatIsoMillis(k.created_at_ms);
    o["lastUsedAt"] =
        k.last_used_at_ms ? json::value(FormatIsoMillis(*k.last_used_at_ms)) : json::value(nullptr);
    return o;
  }

  HttpResponse ListApiKeys(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kAdmin, [&](const Caller&, const ProjectAccess& a) {
      auto keys = d_.meta->ListProjectApiKeys(a.project.id);
      if (!keys.ok()) return UiStatus(keys.status());
      json::array arr;
      for (const auto& k : *keys) arr.push_back(KeyJson(k));
      json::object o;
      o["data"] = std::move(arr);
      return JsonResponse(200, o);
    });
  }

  HttpResponse CreateApiKey(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kAdmin, [&](const Caller&, const ProjectAccess& a) {
      std::optional<std::string> note;
      if (!req.body.empty()) {
        auto body = ParseBody(req);
        if (!body) return UiError(400, "InvalidRequest", "Expected a JSON object body.");
        std::string n = Trim(StringField(*body, "note"));
        if (n.size() > 200) return UiError(400, "InvalidRequest", "The note is too long.");
        if (!n.empty()) note = n;
      }
      const std::string sk = "sk-lf-" + NewUuid();
      ApiKeyRecord k;
      k.id = NewUuid();
      k.public_key = "pk-lf-" + NewUuid();
      k.fast_hashed_secret_key = d_.auth->HashSecret(sk);
      k.display_secret_key = ApiKeyAuthenticator::DisplaySecretKey(sk);
      k.scope = "PROJECT";
      k.project_id = a.project.id;
      k.org_id = a.project.org_id;
      k.note = note;
      k.created_at_ms = NowMillis();
      if (absl::Status s = d_.meta->CreateApiKey(k); !s.ok()) return UiStatus(s);
      json::object o = KeyJson(k);
      o["secretKey"] = sk;  // shown this once; only its hash is stored
      return JsonResponse(201, o);
    });
  }

  HttpResponse DeleteApiKey(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kAdmin, [&](const Caller&, const ProjectAccess& a) {
      auto deleted = d_.meta->DeleteProjectApiKey(a.project.id, p.at("keyId"));
      if (!deleted.ok()) return UiStatus(deleted.status());
      if (!*deleted) return UiError(404, "NotFound", "API key not found.");
      d_.auth->Invalidate();  // a revoked key must stop working at once
      json::object o;
      o["ok"] = true;
      return JsonResponse(200, o);
    });
  }

  // ---- members (of the project's organization)

  HttpResponse ListMembers(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kMember, [&](const Caller&, const ProjectAccess& a) {
      auto members = d_.meta->ListOrgMemberships(a.project.org_id);
      if (!members.ok()) return UiStatus(members.status());
      auto overrides = d_.meta->ListProjectMemberships(a.project.id);
      if (!overrides.ok()) return UiStatus(overrides.status());
      std::map<std::string, std::string> project_roles;
      for (const auto& m : *overrides) project_roles[m.user_id] = m.role;
      json::array arr;
      for (const auto& m : *members) {
        json::object o;
        o["userId"] = m.user_id;
        o["email"] = m.email;
        o["name"] = m.name;
        o["orgRole"] = m.role;
        auto it = project_roles.find(m.user_id);
        o["projectRole"] =
            it == project_roles.end() ? json::value(nullptr) : json::value(it->second);
        arr.push_back(std::move(o));
      }
      json::object o;
      o["data"] = std::move(arr);
      return JsonResponse(200, o);
    });
  }

  // Adds an existing account to the organization, or changes its role.
  // Nobody grants a role above their own.
  HttpResponse AddMember(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kAdmin, [&](const Caller& c, const ProjectAccess& a) {
      auto body = ParseBody(req);
      if (!body) return UiError(400, "InvalidRequest", "Expected a JSON object body.");
      const std::string email = Lower(Trim(StringField(*body, "email")));
      const std::string role_name = StringField(*body, "role");
      const Role role = ParseRole(role_name);
      if (role == Role::kNone) {
        return UiError(400, "InvalidRequest", "role: one of OWNER, ADMIN, MEMBER, VIEWER");
      }
      if (role > a.role) {
        return UiError(403, "Forbidden", "You cannot grant a role above your own.");
      }
      auto user = d_.meta->FindUserByEmail(email);
      if (!user.ok()) return UiStatus(user.status());
      if (!*user) {
        return UiError(404, "NotFound",
                       "No account uses this email. Ask them to sign up first, then add them.");
      }
      if ((*user)->id == c.user.id) {
        return UiError(400, "InvalidRequest", "You cannot change your own role.");
      }
      auto existing = d_.meta->GetOrgMembership(a.project.org_id, (*user)->id);
      if (!existing.ok()) return UiStatus(existing.status());
      if (*existing && ParseRole((*existing)->role) > a.role) {
        return UiError(403, "Forbidden", "You cannot change the role of someone above you.");
      }
      if (absl::Status s = d_.meta->UpsertOrgMembership(a.project.org_id, (*user)->id, role_name);
          !s.ok()) {
        return UiStatus(s);
      }
      json::object o;
      o["userId"] = (*user)->id;
      o["email"] = (*user)->email;
      o["name"] = (*user)->name;
      o["orgRole"] = role_name;
      return JsonResponse(200, o);
    });
  }

  HttpResponse RemoveMember(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kAdmin, [&](const Caller& c, const ProjectAccess& a) {
      const std::string& user_id = p.at("userId");
      if (user_id == c.user.id) {
        return UiError(400, "InvalidRequest", "You cannot remove yourself.");
      }
      auto existing = d_.meta->GetOrgMembership(a.project.org_id, user_id);
      if (!existing.ok()) return UiStatus(existing.status());
      if (!*existing) return UiError(404, "NotFound", "Not a member.");
      if (ParseRole((*existing)->role) > a.role) {
        return UiError(403, "Forbidden", "You cannot remove someone above you.");
      }
      auto deleted = d_.meta->DeleteOrgMembership(a.project.org_id, user_id);
      if (!deleted.ok()) return UiStatus(deleted.status());
      json::object o;
      o["ok"] = true;
      return JsonResponse(200, o);
    });
  }

  // ---- traces

  // Splits the UI's filter list into conditions on the trace columns (for
  // the store) and on its observations' level and model, which become an
  // "id any of" condition through the observations metrics view (it scans
  // narrow columns only). At most kMaxTraceMatches traces are matched that way.
  static constexpr int kMaxTraceMatches = 10000;

  absl::StatusOr<std::vector<FilterCondition>> TraceFilters(const std::string& project_id,
                                                            const std::string& filter_json,
                                                            bool* truncated) {
    std::vector<FilterCondition> out;
    if (Trim(filter_json).empty()) return out;
    boost::system::error_code ec;
    json::value v = json::parse(filter_json, ec);
    if (ec || !v.is_array()) return absl::InvalidArgumentError("filter: expected a JSON array");
    json::array trace_conds, obs_conds;
    for (auto& c : v.as_array()) {
      std::string col = c.is_object() ? StringField(c.as_object(), "column") : "";
      if (col == "level" || col == "Level") {
        json::object o = c.as_object();
        o["column"] = "level";
        obs_conds.push_back(o);
      } else if (col == "model" || col == "Model") {
        json::object o = c.as_object();
        o["column"] = "providedModelName";
        obs_conds.push_back(o);
      } else {
        trace_conds.push_back(c);
      }
    }
    auto parsed = ParseFilterParam(json::serialize(trace_conds), TraceFilterColumns());
    if (!parsed.ok()) return parsed.status();
    out = std::move(*parsed);
    if (obs_conds.empty()) return out;

    MetricsQuery mq;
    mq.view = MetricsView::kObservations;
    mq.dimensions = {"traceId"};
    mq.metrics = {{"count", "count"}};
    auto obs = ParseFilterParam(json::serialize(obs_conds),
                                MetricsFilterColumns(MetricsView::kObservations));
    if (!obs.ok()) return obs.status();
    mq.filters = std::move(*obs);
    // Observations start around their trace's timestamp; a day of slack on
    // either side of the trace range keeps the scan bounded yet complete.
    constexpr int64_t kDay = 24 * 3600 * 1000;
    mq.from_ms = 0;
    mq.to_ms = NowMillis() + kDay;
    for (const auto& f : out) {
      if (f.column != "timestamp") continue;
      if (f.op == ">" || f.op == ">=") mq.from_ms = std::max(mq.from_ms, f.time_ms - kDay);
      if (f.op == "<" || f.op == "<=") mq.to_ms = std::min(mq.to_ms, f.time_ms + kDay);
    }
    mq.row_limit = kMaxTraceMatches;
    auto rows = d_.events->QueryMetrics(project_id, mq);
    if (!rows.ok()) return rows.status();
    FilterCondition ids;
    ids.column = "id";
    ids.type = FilterType::kStringOptions;
    ids.op = "any of";
    for (const auto& r : *rows) {
      const json::value* id = r.as_object().if_contains("traceId");
      if (id && id->is_string()) ids.values.emplace_back(id->as_string());
    }
    *truncated = static_cast<int>(rows->size()) >= kMaxTraceMatches;
    out.push_back(std::move(ids));
    return out;
  }

  HttpResponse ListTraces(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      auto t0 = std::chrono::steady_clock::now();
      TraceQuery q;
      q.page.page = IntParam(req, "page", 1, 1000000).value_or(1);
      q.page.limit = IntParam(req, "limit", 1, 100).value_or(50);
      if (const std::string* ob = req.Query("orderBy"); ob && !ob->empty()) q.order_by = *ob;
      static const std::unordered_set<std::string> kOrder = {
          "timestamp",   "name",      "userId",    "sessionId", "release", "version",
          "environment", "createdAt", "updatedAt", "totalCost", "latency", "id"};
      if (!kOrder.count(q.order_by)) {
        return UiError(400, "InvalidRequest", "orderBy: unknown column " + q.order_by);
      }
      const std::string* order = req.Query("order");
      q.descending = !(order && *order == "asc");
      bool truncated = false;
      const std::string* filter = req.Query("filter");
      auto filters = TraceFilters(a.project.id, filter ? *filter : "", &truncated);
      if (!filters.ok()) return UiStatus(filters.status());
      q.filters = std::move(*filters);
      auto page = d_.events->ListTraces(a.project.id, q);
      if (!page.ok()) return UiStatus(page.status());
      json::array rows;
      for (const auto& t : page->items) rows.push_back(TraceRowJson(t));
      json::object o;
      o["data"] = std::move(rows);
      json::object meta = MetaJson(q.page.page, q.page.limit, page->total_items);
      meta["observationFilterTruncated"] = truncated;
      o["meta"] = std::move(meta);
      HttpResponse res = JsonResponse(200, o);
      res.headers.emplace_back("Server-Timing", "db;dur=" + std::to_string(Ms(t0)));
      return res;
    });
  }

  static json::value OptMs(const std::optional<int64_t>& ms) {
    return ms ? json::value(*ms) : json::value(nullptr);
  }

  // The observations of a trace as parallel arrays (one entry per
  // observation, parents as indexes), without input/output: compact enough
  // for 10,000+ observations in one response; details load on selection.
  static json::object ObservationColumns(const std::vector<ObservationRecord>& obs) {
    std::unordered_map<std::string_view, int64_t> index;
    index.reserve(obs.size());
    for (size_t i = 0; i < obs.size(); ++i) index.emplace(obs[i].id, static_cast<int64_t>(i));
    json::array id, parent, type, name, start, end, cst, level, model, usage, cost, status;
    for (auto* a :
         {&id, &parent, &type, &name, &start, &end, &cst, &level, &model, &usage, &cost, &status}) {
      a->reserve(obs.size());
    }
    for (const auto& o : obs) {
      id.emplace_back(o.id);
      int64_t parent_index = -1;
      if (o.parent_observation_id) {
        auto it = index.find(*o.parent_observation_id);
        if (it != index.end()) parent_index = it->second;
      }
      parent.emplace_back(parent_index);
      type.emplace_back(o.type);
      name.push_back(Opt(o.name));
      start.emplace_back(o.start_time_ms);
      end.push_back(OptMs(o.end_time_ms));
      cst.push_back(OptMs(o.completion_start_time_ms));
      level.emplace_back(o.level);
      model.push_back(Opt(o.model));
      if (o.usage_details.empty()) {
        usage.emplace_back(nullptr);
      } else {
        auto get = [&](const char* k) -> int64_t {
          auto it = o.usage_details.find(k);
          return it == o.usage_details.end() ? 0 : it->second;
        };
        int64_t in = get("input"), out = get("output"), total = get("total");
        if (total == 0) total = in + out;
        usage.emplace_back(json::array{in, out, total});
      }
      cost.push_back(o.total_cost ? json::value(*o.total_cost) : json::value(nullptr));
      status.push_back(Opt(o.status_message));
    }
    json::object c;
    c["count"] = obs.size();
    c["id"] = std::move(id);
    c["parent"] = std::move(parent);
    c["type"] = std::move(type);
    c["name"] = std::move(name);
    c["start"] = std::move(start);
    c["end"] = std::move(end);
    c["completionStart"] = std::move(cst);
    c["level"] = std::move(level);
    c["model"] = std::move(model);
    c["usage"] = std::move(usage);
    c["cost"] = std::move(cost);
    c["statusMessage"] = std::move(status);
    return c;
  }

  HttpResponse GetTrace(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      auto t0 = std::chrono::steady_clock::now();
      auto trace = d_.events->GetTrace(a.project.id, p.at("traceId"));
      if (!trace.ok()) return UiStatus(trace.status());
      if (!*trace) return UiError(404, "NotFound", "Trace not found.");
      // The tree and timeline need no payloads; an observation's input and
      // output are fetched when it is opened.
      auto obs = d_.events->ObservationOutlinesOfTrace(a.project.id, (*trace)->id);
      if (!obs.ok()) return UiStatus(obs.status());
      auto t_obs = Ms(t0);
      auto scores = d_.events->ScoresOfTrace(a.project.id, (*trace)->id);
      if (!scores.ok()) return UiStatus(scores.status());
      json::object tj = TraceJson(**trace);
      tj["latency"] = LatencySeconds(**trace);
      tj["totalCost"] = (*trace)->total_cost;
      tj["observationCount"] = (*trace)->observation_count;
      json::array sj;
      for (const auto& s : *scores) sj.push_back(ScoreJson(s));
      json::object o;
      o["trace"] = std::move(tj);
      o["observations"] = ObservationColumns(*obs);
      o["scores"] = std::move(sj);
      HttpResponse res = JsonResponse(200, o);
      res.headers.emplace_back("Server-Timing", "db;dur=" + std::to_string(t_obs) +
                                                    ", total;dur=" + std::to_string(Ms(t0)));
      return res;
    });
  }

  HttpResponse GetObservation(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      auto obs = d_.events->GetObservation(a.project.id, p.at("observationId"));
      if (!obs.ok()) return UiStatus(obs.status());
      if (!*obs) return UiError(404, "NotFound", "Observation not found.");
      return JsonResponse(200, ObservationJson(**obs));
    });
  }

  // ---- sessions and users

  HttpResponse ListSessions(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      SessionQuery q;
      q.page.page = IntParam(req, "page", 1, 1000000).value_or(1);
      q.page.limit = IntParam(req, "limit", 1, 100).value_or(50);
      auto page = d_.events->ListSessions(a.project.id, q);
      if (!page.ok()) return UiStatus(page.status());
      // Per-session counts and cost for this page only, from the traces'
      // narrow columns.
      std::map<std::string, json::object> stats;
      if (!page->items.empty()) {
        MetricsQuery mq;
        mq.view = MetricsView::kTraces;
        mq.dimensions = {"sessionId"};
        mq.metrics = {{"count", "count"}, {"totalCost", "sum"}, {"uniqueUserIds", "uniq"}};
        FilterCondition ids;
        ids.column = "sessionId";
        ids.type = FilterType::kStringOptions;
        ids.op = "any of";
        for (const auto& s : page->items) ids.values.push_back(s.id);
        mq.filters.push_back(std::move(ids));
        mq.from_ms = 0;
        mq.to_ms = NowMillis() + int64_t{365} * 24 * 3600 * 1000;
        mq.row_limit = q.page.limit;
        auto rows = d_.events->QueryMetrics(a.project.id, mq);
        if (!rows.ok()) return UiStatus(rows.status());
        for (const auto& r : *rows) {
          const json::object& ro = r.as_object();
          const json::value* sid = ro.if_contains("sessionId");
          if (sid && sid->is_string()) stats[std::string(sid->as_string())] = ro;
        }
      }
      json::array rows;
      for (const auto& s : page->items) {
        json::object o;
        o["id"] = s.id;
        o["createdAt"] = FormatIsoMillis(s.created_at_ms);
        o["environment"] = s.environment;
        auto it = stats.find(s.id);
        const json::object* st = it == stats.end() ? nullptr : &it->second;
        auto num = [&](const char* k) -> json::value {
          const json::value* v = st ? st->if_contains(k) : nullptr;
          return v ? *v : json::value(0);
        };
        o["traceCount"] = num("count_count");
        o["totalCost"] = num("sum_totalCost");
        o["userCount"] = num("uniq_uniqueUserIds");
        rows.push_back(std::move(o));
      }
      json::object o;
      o["data"] = std::move(rows);
      o["meta"] = MetaJson(q.page.page, q.page.limit, page->total_items);
      return JsonResponse(200, o);
    });
  }

  HttpResponse GetSession(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      const std::string& sid = p.at("sessionId");
      auto session = d_.events->GetSession(a.project.id, sid);
      if (!session.ok()) return UiStatus(session.status());
      auto traces = d_.events->TracesOfSession(a.project.id, sid);
      if (!traces.ok()) return UiStatus(traces.status());
      if (!*session && traces->empty()) return UiError(404, "NotFound", "Session not found.");
      // A replay of thousands of turns is not readable anyway; keep the
      // response bounded.
      constexpr size_t kMaxTraces = 1000;
      json::array tj;
      double cost = 0;
      for (size_t i = 0; i < traces->size(); ++i) {
        const TraceRecord& t = (*traces)[i];
        cost += t.total_cost;
        if (i >= kMaxTraces) continue;
        json::object o = TraceJson(t);
        o["latency"] = LatencySeconds(t);
        o["totalCost"] = t.total_cost;
        o["observationCount"] = t.observation_count;
        tj.push_back(std::move(o));
      }
      json::object o;
      o["id"] = sid;
      o["createdAt"] =
          *session ? json::value(FormatIsoMillis((*session)->created_at_ms)) : json::value(nullptr);
      o["environment"] = *session ? json::value((*session)->environment) : json::value(nullptr);
      o["traceCount"] = traces->size();
      o["totalCost"] = cost;
      o["truncated"] = traces->size() > kMaxTraces;
      o["traces"] = std::move(tj);
      return JsonResponse(200, o);
    });
  }

  HttpResponse ListUsers(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      int page = IntParam(req, "page", 1, 10000).value_or(1);
      int limit = IntParam(req, "limit", 1, 100).value_or(50);
      MetricsQuery mq;
      mq.view = MetricsView::kTraces;
      mq.dimensions = {"userId"};
      // Distinct sessions per user would double the cost of this scan.
      mq.metrics = {{"count", "count"}, {"totalCost", "sum"}, {"observationsCount", "sum"}};
      FilterCondition has_user;
      has_user.column = "userId";
      has_user.type = FilterType::kNull;
      has_user.op = "is not null";
      mq.filters.push_back(has_user);
      mq.from_ms = 0;
      mq.to_ms = NowMillis() + int64_t{365} * 24 * 3600 * 1000;
      mq.order_by = {{"count_count", true}};
      // One more row than the page needs tells whether another page exists.
      mq.row_limit = page * limit + 1;
      auto rows = d_.events->QueryMetrics(a.project.id, mq);
      if (!rows.ok()) return UiStatus(rows.status());
      json::array out;
      for (size_t i = static_cast<size_t>((page - 1) * limit);
           i < rows->size() && out.size() < static_cast<size_t>(limit); ++i) {
        const json::object& r = (*rows)[i].as_object();
        json::object o;
        o["userId"] = r.contains("userId") ? r.at("userId") : json::value(nullptr);
        o["traceCount"] = r.contains("count_count") ? r.at("count_count") : json::value(0);
        o["totalCost"] = r.contains("sum_totalCost") ? r.at("sum_totalCost") : json::value(0);
        o["observationCount"] =
            r.contains("sum_observationsCount") ? r.at("sum_observationsCount") : json::value(0);
        out.push_back(std::move(o));
      }
      json::object meta;
      meta["page"] = page;
      meta["limit"] = limit;
      meta["hasMore"] = rows->size() > static_cast<size_t>(page * limit);
      json::object o;
      o["data"] = std::move(out);
      o["meta"] = std::move(meta);
      return JsonResponse(200, o);
    });
  }

  // ---- dashboards

  HttpResponse Metrics(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      auto t0 = std::chrono::steady_clock::now();
      const std::string* query = req.Query("query");
      if (!query) return UiError(400, "InvalidRequest", "query: required");
      auto mq = ParseMetricsQuery(*query, false);
      if (!mq.ok()) return UiStatus(mq.status());
      auto rows = d_.events->QueryMetrics(a.project.id, *mq);
      if (!rows.ok()) return UiStatus(rows.status());
      json::object o;
      o["data"] = std::move(*rows);
      HttpResponse res = JsonResponse(200, o);
      res.headers.emplace_back("Server-Timing", "db;dur=" + std::to_string(Ms(t0)));
      return res;
    });
  }

  UiDeps d_;
  SessionManager sessions_;
  AttemptLimiter email_failures_;
  AttemptLimiter ip_failures_;
  AttemptLimiter ip_signups_;
  StaticAssets assets_;
  std::string default_org_;
  std::string default_org_role_;
  std::string dummy_hash_;
};

}  // namespace

absl::Status RegisterUi(Router& router, const UiDeps& deps) {
  auto options = UiAuthOptionsFromEnv(deps.data_dir, deps.public_url);
  if (!options.ok()) return options.status();
  auto api = std::make_shared<UiApi>(deps, std::move(*options));
  api->Register(router, api);
  if (!kUiAssetsBuilt) {
    LogWarn("the web UI was not built into this binary; / serves a page saying so");
  }
  return absl::OkStatus();
}

}  // namespace loupe
