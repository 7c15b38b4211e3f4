#include "ui/ui_api.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "api/json_views.h"
#include "api/llm_connections_api.h"
#include "api/models_api.h"
#include "api/responses.h"
#include "common/hash.h"
#include "common/json_parse.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "query/filter.h"
#include "query/metrics.h"
#include "storage/prompt_rules.h"
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

absl::StatusOr<json::object> ParseBody(const HttpRequest& req) {
  boost::system::error_code ec;
  json::value v = ParseJson(req.body, ec);
  if (ec == boost::json::error::too_deep) {
    return absl::InvalidArgumentError("Expected a JSON object body: " + JsonErrorMessage(ec) + ".");
  }
  if (ec || !v.is_object()) return absl::InvalidArgumentError("Expected a JSON object body.");
  return std::move(v.as_object());
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

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string UrlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
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

// ---- prompts, datasets and scores: validation and JSON shapes

// A chat prompt in the stored shape: {role, content} messages and
// {type: "placeholder", name} placeholders.
absl::StatusOr<json::array> ChatMessages(const json::array& messages) {
  json::array out;
  std::set<std::string> placeholders, variables;
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string where = "Message " + std::to_string(i + 1);
    const json::object* m = messages[i].if_object();
    if (!m) return absl::InvalidArgumentError(where + ": expected an object");
    if (StringField(*m, "type") == "placeholder") {
      std::string name = Trim(StringField(*m, "name"));
      if (!IsPromptIdentifier(name)) {
        return absl::InvalidArgumentError(
            where +
            ": a placeholder name must start with a letter and contain only letters, digits "
            "and underscores");
      }
      placeholders.insert(name);
      out.push_back(json::object{{"type", "placeholder"}, {"name", name}});
      continue;
    }
    const json::value* role = m->if_contains("role");
    const json::value* content = m->if_contains("content");
    if (!role || !role->is_string() || role->as_string().empty()) {
      return absl::InvalidArgumentError(where + ": the role is required");
    }
    if (!content || !content->is_string()) {
      return absl::InvalidArgumentError(where + ": the content must be text");
    }
    std::set<std::string> vars = PromptVariables(content->as_string());
    variables.insert(vars.begin(), vars.end());
    out.push_back(json::object{{"role", *role}, {"content", *content}});
  }
  if (out.empty()) return absl::InvalidArgumentError("A chat prompt needs at least one message");
  std::string conflicts;
  for (const std::string& v : variables) {
    if (placeholders.count(v)) conflicts += (conflicts.empty() ? "" : ", ") + v;
  }
  if (!conflicts.empty()) {
    return absl::InvalidArgumentError("Variables and placeholders must have different names: " +
                                      conflicts);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> StringList(const json::object& body,
                                                    std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = body.if_contains(key);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) return absl::InvalidArgumentError(std::string(key) + ": expected a list");
  for (const json::value& x : v->as_array()) {
    if (!x.is_string()) {
      return absl::InvalidArgumentError(std::string(key) + ": expected a list of strings");
    }
    std::string s = Trim(std::string(x.as_string()));
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> PromptLabels(const json::object& body) {
  auto labels = StringList(body, "labels");
  if (!labels.ok()) return labels.status();
  std::vector<std::string> out;
  for (const std::string& l : *labels) {
    if (l == kLatestPromptLabel) continue;  // the store keeps `latest` itself
    if (std::string e = PromptLabelError(l); !e.empty()) {
      return absl::InvalidArgumentError(e + " ('" + l + "')");
    }
    out.push_back(l);
  }
  return out;
}

absl::StatusOr<NewPromptVersion> ParseNewPromptVersion(const json::object& body,
                                                       const std::string& author) {
  NewPromptVersion v;
  v.name = Trim(StringField(body, "name"));
  if (std::string e = PromptNameError(v.name); !e.empty()) {
    return absl::InvalidArgumentError("Name: " + e);
  }
  v.type = StringField(body, "type");
  if (v.type.empty()) v.type = "text";
  if (v.type != "text" && v.type != "chat") {
    return absl::InvalidArgumentError("The type is 'text' or 'chat'");
  }
  const json::value* prompt = body.if_contains("prompt");
  if (v.type == "chat") {
    if (!prompt || !prompt->is_array()) {
      return absl::InvalidArgumentError("A chat prompt is a list of messages");
    }
    auto messages = ChatMessages(prompt->as_array());
    if (!messages.ok()) return messages.status();
    v.prompt = std::move(*messages);
  } else {
    if (!prompt || !prompt->is_string() || prompt->as_string().empty()) {
      return absl::InvalidArgumentError("Enter the prompt text");
    }
    v.prompt = *prompt;
  }
  if (const json::value* config = body.if_contains("config"); config && !config->is_null()) {
    if (!config->is_object()) return absl::InvalidArgumentError("The config must be a JSON object");
    v.config = *config;
  }
  auto labels = PromptLabels(body);
  if (!labels.ok()) return labels.status();
  v.labels = std::move(*labels);
  if (const json::value* tags = body.if_contains("tags"); tags && !tags->is_null()) {
    auto list = StringList(body, "tags");
    if (!list.ok()) return list.status();
    v.tags = std::move(*list);
  }
  std::string msg = Trim(StringField(body, "commitMessage"));
  if (msg.size() > kMaxPromptCommitMessageLength) {
    return absl::InvalidArgumentError("The commit message can have at most 500 characters");
  }
  if (!msg.empty()) v.commit_message = std::move(msg);
  v.created_by = author;
  return v;
}

json::array StringsJson(const std::vector<std::string>& values) {
  json::array a;
  for (const auto& s : values) a.emplace_back(s);
  return a;
}

json::object PromptVersionJson(const PromptRecord& p) {
  json::object o;
  o["id"] = p.id;
  o["name"] = p.name;
  o["version"] = p.version;
  o["type"] = p.type;
  o["prompt"] = p.prompt;
  o["config"] = p.config;
  o["labels"] = StringsJson(p.labels);
  o["tags"] = StringsJson(p.tags);
  o["commitMessage"] = Opt(p.commit_message);
  o["createdBy"] = p.created_by;
  o["createdAt"] = FormatIsoMillis(p.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(p.updated_at_ms);
  return o;
}

json::object DatasetRowJson(const DatasetRecord& d) {
  json::object o;
  o["id"] = d.id;
  o["name"] = d.name;
  o["description"] = Opt(d.description);
  o["metadata"] = d.metadata;
  o["createdAt"] = FormatIsoMillis(d.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(d.updated_at_ms);
  return o;
}

json::object DatasetItemJson(const DatasetItemRecord& i) {
  json::object o;
  o["id"] = i.id;
  o["status"] = i.status;
  o["input"] = i.input;
  o["expectedOutput"] = i.expected_output;
  o["metadata"] = i.metadata;
  o["sourceTraceId"] = Opt(i.source_trace_id);
  o["sourceObservationId"] = Opt(i.source_observation_id);
  o["createdAt"] = FormatIsoMillis(i.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(i.updated_at_ms);
  return o;
}

json::object ScoreConfigJson(const ScoreConfigRecord& c) {
  json::object o;
  o["id"] = c.id;
  o["name"] = c.name;
  o["dataType"] = c.data_type;
  o["isArchived"] = c.is_archived;
  o["minValue"] = c.min_value ? json::value(*c.min_value) : json::value(nullptr);
  o["maxValue"] = c.max_value ? json::value(*c.max_value) : json::value(nullptr);
  if (c.categories) {
    json::array cats;
    for (const auto& cat : *c.categories) {
      cats.push_back(json::object{{"value", cat.value}, {"label", cat.label}});
    }
    o["categories"] = std::move(cats);
  } else {
    o["categories"] = nullptr;
  }
  o["description"] = Opt(c.description);
  o["createdAt"] = FormatIsoMillis(c.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(c.updated_at_ms);
  return o;
}

// Average of the numeric (and boolean) scores per name, the count of every
// score per name, and the distinct values of categorical ones.
json::object ScoreAverages(const std::vector<ScoreRecord>& scores) {
  std::map<std::string, std::pair<double, int>> sums;
  std::map<std::string, int> counts;
  std::map<std::string, std::set<std::string>> categories;
  for (const auto& s : scores) {
    ++counts[s.name];
    if (s.data_type == "CATEGORICAL") {
      if (s.string_value) categories[s.name].insert(*s.string_value);
    } else if (s.value) {
      auto& [sum, n] = sums[s.name];
      sum += *s.value;
      ++n;
    }
  }
  json::object o;
  for (const auto& [name, count] : counts) {
    json::object e;
    e["count"] = count;
    auto it = sums.find(name);
    e["average"] = it != sums.end() && it->second.second > 0
                       ? json::value(it->second.first / it->second.second)
                       : json::value(nullptr);
    if (auto c = categories.find(name); c != categories.end()) {
      e["values"] = StringsJson(std::vector<std::string>(c->second.begin(), c->second.end()));
    }
    o[name] = std::move(e);
  }
  return o;
}

struct Caller {
  UserRecord user;
  std::string cookie;
  std::string session_hash;  // of the session this request came with
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
    if (const char* rows = std::getenv("LOUPE_UI_SEARCH_ROWS"); rows && *rows) {
      search_row_budget_ = std::clamp(std::atoi(rows), 1, 10000000);
    }
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
    route("DELETE", "/api/ui/projects/{projectId}/invitations/{invitationId}",
          &UiApi::DeleteInvitation);
    route("POST", "/api/ui/account", &UiApi::UpdateAccount);
    route("POST", "/api/ui/account/password", &UiApi::ChangePassword);
    route("GET", "/api/ui/projects/{projectId}/traces", &UiApi::ListTraces);
    route("GET", "/api/ui/projects/{projectId}/score-names", &UiApi::ListScoreNames);
    route("GET", "/api/ui/projects/{projectId}/traces/{traceId}", &UiApi::GetTrace);
    route("GET", "/api/ui/projects/{projectId}/observations/{observationId}",
          &UiApi::GetObservation);
    route("GET", "/api/ui/projects/{projectId}/sessions", &UiApi::ListSessions);
    route("GET", "/api/ui/projects/{projectId}/sessions/{sessionId}", &UiApi::GetSession);
    route("GET", "/api/ui/projects/{projectId}/users", &UiApi::ListUsers);
    route("GET", "/api/ui/projects/{projectId}/metrics", &UiApi::Metrics);
    route("GET", "/api/ui/projects/{projectId}/prompts", &UiApi::ListPrompts);
    route("POST", "/api/ui/projects/{projectId}/prompts", &UiApi::CreatePromptVersion);
    route("GET", "/api/ui/projects/{projectId}/prompts/{name}", &UiApi::GetPrompt);
    route("POST", "/api/ui/projects/{projectId}/prompts/{name}/versions/{version}/labels",
          &UiApi::SetPromptLabels);
    route("GET", "/api/ui/projects/{projectId}/datasets", &UiApi::ListDatasets);
    route("GET", "/api/ui/projects/{projectId}/datasets/{datasetId}", &UiApi::GetDataset);
    route("GET", "/api/ui/projects/{projectId}/datasets/{datasetId}/runs/{runName}",
          &UiApi::GetDatasetRun);
    route("GET", "/api/ui/projects/{projectId}/scores", &UiApi::ListScores);
    route("GET", "/api/ui/projects/{projectId}/score-configs", &UiApi::ListScoreConfigs);
    route("GET", "/api/ui/projects/{projectId}/models", &UiApi::ListModels);
    route("POST", "/api/ui/projects/{projectId}/models", &UiApi::CreateModel);
    route("DELETE", "/api/ui/projects/{projectId}/models/{modelId}", &UiApi::DeleteModel);
    route("GET", "/api/ui/projects/{projectId}/llm-connections", &UiApi::ListLlmConnections);
    route("POST", "/api/ui/projects/{projectId}/llm-connections", &UiApi::UpsertLlmConnection);
    route("DELETE", "/api/ui/projects/{projectId}/llm-connections/{connectionId}",
          &UiApi::DeleteLlmConnection);
    route("POST", "/api/ui/projects/{projectId}/batch-exports", &UiApi::CreateBatchExport);
    route("GET", "/api/ui/batch-exports/download/{token}", &UiApi::DownloadBatchExport);
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
    return std::optional<Caller>(
        Caller{std::move(**user), std::move(cookie), std::move((*session)->token_hash)});
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
    if (!body.ok()) return UiError(400, "InvalidRequest", std::string(body.status().message()));
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
    if (!body.ok()) return UiError(400, "InvalidRequest", std::string(body.status().message()));
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
    // Invitations sent to this email become memberships now.
    auto invited = d_.meta->AcceptInvitations(u.email, u.id);
    if (!invited.ok()) {
      LogError("ui invitations not applied", {{"error", invited.status().ToString()}});
    } else if (!invited->empty()) {
      LogInfo("ui invitations accepted", {{"user", u.email}, {"count", invited->size()}});
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

  // ---- the signed-in user's own account

  // Runs `fn(caller)` for a signed-in caller of a same-site write.
  template <typename Fn>
  HttpResponse WithCaller(HttpRequest& req, Fn fn) {
    if (!SameOrigin(req)) return UiError(403, "Forbidden", "Cross-site request refused.");
    auto caller = Authenticate(req);
    if (!caller.ok()) return UiStatus(caller.status());
    if (!*caller) return Unauthenticated();
    return fn(**caller);
  }

  HttpResponse UpdateAccount(HttpRequest& req, const PathParams&) {
    return WithCaller(req, [&](const Caller& c) {
      auto body = ParseBody(req);
      if (!body.ok()) return UiError(400, "InvalidRequest", std::string(body.status().message()));
      UserRecord u = c.user;
      u.name = Trim(StringField(*body, "name"));
      if (u.name.empty() || u.name.size() > 200) {
        return UiError(400, "InvalidRequest", "Enter your name (at most 200 characters).");
      }
      if (absl::Status s = d_.meta->UpdateUser(u); !s.ok()) return UiStatus(s);
      json::object o;
      o["id"] = u.id;
      o["email"] = u.email;
      o["name"] = u.name;
      return JsonResponse(200, o);
    });
  }

  // Needs the current password (failures count toward the sign-in limit of
  // the account); ends the account's other sessions.
  HttpResponse ChangePassword(HttpRequest& req, const PathParams&) {
    return WithCaller(req, [&](const Caller& c) {
      auto body = ParseBody(req);
      if (!body.ok()) return UiError(400, "InvalidRequest", std::string(body.status().message()));
      const std::string current = StringField(*body, "currentPassword");
      const std::string next = StringField(*body, "newPassword");
      if (next.size() < 8 || next.size() > 1024) {
        return UiError(400, "InvalidRequest", "The new password needs at least 8 characters.");
      }
      const int64_t now = NowMillis();
      const std::string email_key = "email:" + Lower(c.user.email);
      if (int64_t wait = email_failures_.RetryAfterMs(email_key, now); wait > 0) {
        return RateLimited(wait);
      }
      if (c.user.password_hash.empty() || !VerifyPassword(c.user.password_hash, current)) {
        email_failures_.Record(email_key, now);
        return UiError(400, "InvalidCredentials", "The current password is not correct.");
      }
      UserRecord u = c.user;
      u.password_hash = HashNewPassword(next);
      if (u.password_hash.empty()) return UiError(500, "InternalError", "Password hashing failed.");
      if (absl::Status s = d_.meta->UpdateUser(u); !s.ok()) return UiStatus(s);
      auto ended = d_.meta->DeleteOtherUserSessions(u.id, c.session_hash);
      if (!ended.ok()) return UiStatus(ended.status());
      LogInfo("ui password changed", {{"user", u.email}, {"sessions_ended", *ended}});
      json::object o;
      o["ok"] = true;
      o["otherSessionsEnded"] = *ended;
      return JsonResponse(200, o);
    });
  }

  // ---- organizations and projects

  HttpResponse CreateOrganization(HttpRequest& req, const PathParams&) {
    if (!SameOrigin(req)) return UiError(403, "Forbidden", "Cross-site request refused.");
    auto caller = Authenticate(req);
    if (!caller.ok()) return UiStatus(caller.status());
    if (!*caller) return Unauthenticated();
    auto body = ParseBody(req);
    if (!body.ok()) return UiError(400, "InvalidRequest", std::string(body.status().message()));
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
    if (!body.ok()) return UiError(400, "InvalidRequest", std::string(body.status().message()));
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
        if (!body.ok()) return UiError(400, "InvalidRequest", std::string(body.status().message()));
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
      auto invitations = d_.meta->ListInvitations(a.project.org_id);
      if (!invitations.ok()) return UiStatus(invitations.status());
      json::array inv;
      for (const auto& i : *invitations) inv.push_back(InvitationJson(i));
      json::object o;
      o["data"] = std::move(arr);
      o["invitations"] = std::move(inv);
      return JsonResponse(200, o);
    });
  }

  json::object InvitationJson(const InvitationRecord& i) const {
    json::object o;
    o["id"] = i.id;
    o["email"] = i.email;
    o["role"] = i.role;
    o["createdAt"] = FormatIsoMillis(i.created_at_ms);
    // No mail is sent from here: the page shows this link to pass on.
    std::string base = d_.public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    o["signUpUrl"] = base + "/auth/sign-up?email=" + UrlEncode(i.email);
    return o;
  }

  // Adds an existing account to the organization, or changes its role; an
  // email without an account gets an invitation that becomes a membership
  // when that email signs up. Nobody grants a role above their own.
  HttpResponse AddMember(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kAdmin, [&](const Caller& c, const ProjectAccess& a) {
      auto body = ParseBody(req);
      if (!body.ok()) return UiError(400, "InvalidRequest", std::string(body.status().message()));
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
        if (!PlausibleEmail(email)) return UiError(400, "InvalidRequest", "Enter a valid email.");
        InvitationRecord inv;
        inv.id = NewUuid();
        inv.org_id = a.project.org_id;
        inv.email = email;
        inv.role = role_name;
        inv.invited_by_user_id = c.user.id;
        inv.created_at_ms = NowMillis();
        if (absl::Status s = d_.meta->UpsertInvitation(inv); !s.ok()) return UiStatus(s);
        LogInfo("ui member invited", {{"org", inv.org_id}, {"by", c.user.email}});
        json::object o = InvitationJson(inv);
        o["invited"] = true;
        return JsonResponse(201, o);
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

  // Withdraws an invitation; like removing a member, not one above the
  // caller's own role.
  HttpResponse DeleteInvitation(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kAdmin, [&](const Caller&, const ProjectAccess& a) {
      auto invitations = d_.meta->ListInvitations(a.project.org_id);
      if (!invitations.ok()) return UiStatus(invitations.status());
      const std::string& id = p.at("invitationId");
      auto it = std::find_if(invitations->begin(), invitations->end(),
                             [&](const InvitationRecord& i) { return i.id == id; });
      if (it == invitations->end()) return UiError(404, "NotFound", "Invitation not found.");
      if (ParseRole(it->role) > a.role) {
        return UiError(403, "Forbidden", "You cannot withdraw an invitation above your role.");
      }
      auto deleted = d_.meta->DeleteInvitation(a.project.org_id, id);
      if (!deleted.ok()) return UiStatus(deleted.status());
      json::object o;
      o["ok"] = *deleted;
      return JsonResponse(200, o);
    });
  }

  // ---- traces

  // Splits the UI's filter list into conditions on the trace columns (for
  // the store), on its observations' level and model, and on its scores
  // (also for the store). Level and model become an "id any of" condition
  // through the observations metrics view (it scans narrow columns only);
  // at most kMaxTraceMatches traces are matched that way. A score condition
  // is {type: "numberObject" (operators = > < >= <=, a number) or
  // "categoryOptions" (any of / none of, strings), column: "scores", key:
  // the score name, operator, value}.
  static constexpr int kMaxTraceMatches = 10000;

  absl::Status TraceFilters(const std::string& project_id, const std::string& filter_json,
                            TraceQuery* q, bool* truncated) {
    if (Trim(filter_json).empty()) return absl::OkStatus();
    boost::system::error_code ec;
    json::value v = ParseJson(filter_json, ec);
    if (ec == boost::json::error::too_deep) {
      return absl::InvalidArgumentError("filter: " + JsonErrorMessage(ec));
    }
    if (ec || !v.is_array()) return absl::InvalidArgumentError("filter: expected a JSON array");
    json::array trace_conds, obs_conds;
    for (auto& c : v.as_array()) {
      const json::object* co = c.if_object();
      std::string col = co ? StringField(*co, "column") : "";
      std::string type = co ? StringField(*co, "type") : "";
      if (col == "level" || col == "Level") {
        json::object o = *co;
        o["column"] = "level";
        obs_conds.push_back(o);
      } else if (col == "model" || col == "Model") {
        json::object o = *co;
        o["column"] = "providedModelName";
        obs_conds.push_back(o);
      } else if (type == "numberObject" || type == "categoryOptions") {
        auto score = ScoreCondition(*co);
        if (!score.ok()) return score.status();
        q->scores.push_back(std::move(*score));
      } else {
        trace_conds.push_back(c);
      }
    }
    auto parsed = ParseFilterParam(json::serialize(trace_conds), TraceFilterColumns());
    if (!parsed.ok()) return parsed.status();
    q->filters = std::move(*parsed);
    if (obs_conds.empty()) return absl::OkStatus();

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
    for (const auto& f : q->filters) {
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
    q->filters.push_back(std::move(ids));
    return absl::OkStatus();
  }

  static absl::StatusOr<TraceScoreCondition> ScoreCondition(const json::object& c) {
    TraceScoreCondition out;
    out.name = StringField(c, "key");
    if (out.name.empty()) {
      return absl::InvalidArgumentError("filter: a score condition names the score in `key`");
    }
    FilterCondition& value = out.value;
    value.op = StringField(c, "operator");
    const json::value* v = c.if_contains("value");
    if (StringField(c, "type") == "numberObject") {
      static const std::set<std::string> kOps = {"=", ">", "<", ">=", "<="};
      if (!kOps.count(value.op)) {
        return absl::InvalidArgumentError("filter: score operator must be one of = > < >= <=");
      }
      if (!v || !v->is_number()) {
        return absl::InvalidArgumentError("filter: the score value must be a number");
      }
      value.column = "value";
      value.type = FilterType::kNumber;
      value.number_value = v->to_number<double>();
      return out;
    }
    if (value.op != "any of" && value.op != "none of") {
      return absl::InvalidArgumentError("filter: score operator must be 'any of' or 'none of'");
    }
    if (!v || !v->is_array()) {
      return absl::InvalidArgumentError("filter: the score values must be a list");
    }
    for (const json::value& x : v->as_array()) {
      if (!x.is_string()) return absl::InvalidArgumentError("filter: score values are strings");
      value.values.emplace_back(x.as_string());
    }
    value.column = "stringValue";
    value.type = FilterType::kStringOptions;
    return out;
  }

  // The columns the trace list sorts by.
  static bool TraceOrderColumn(const std::string& column) {
    static const std::unordered_set<std::string> kOrder = {
        "timestamp",   "name",      "userId",    "sessionId", "release", "version",
        "environment", "createdAt", "updatedAt", "totalCost", "latency", "id"};
    return kOrder.count(column) > 0;
  }

  HttpResponse ListTraces(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      auto t0 = std::chrono::steady_clock::now();
      TraceQuery q;
      q.page.page = IntParam(req, "page", 1, 1000000).value_or(1);
      q.page.limit = IntParam(req, "limit", 1, 100).value_or(50);
      if (const std::string* ob = req.Query("orderBy"); ob && !ob->empty()) q.order_by = *ob;
      if (!TraceOrderColumn(q.order_by)) {
        return UiError(400, "InvalidRequest", "orderBy: unknown column " + q.order_by);
      }
      const std::string* order = req.Query("order");
      q.descending = !(order && *order == "asc");
      const std::string* search = req.Query("search");
      const std::string text = search ? Trim(*search) : "";
      if (text.size() > 500) {
        return UiError(400, "InvalidRequest", "search: at most 500 characters");
      }
      bool truncated = false;
      const std::string* filter = req.Query("filter");
      if (absl::Status s = TraceFilters(a.project.id, filter ? *filter : "", &q, &truncated);
          !s.ok()) {
        return UiStatus(s);
      }
      PageResult<TraceRecord> page;
      json::object search_meta;
      if (text.empty()) {
        auto list = d_.events->ListTraces(a.project.id, q);
        if (!list.ok()) return UiStatus(list.status());
        page = std::move(*list);
      } else {
        auto found = d_.events->SearchTraces(a.project.id, q, {text, search_row_budget_});
        if (!found.ok()) return UiStatus(found.status());
        page = std::move(found->page);
        search_meta["searched"] = found->searched;
        search_meta["rowBudget"] = search_row_budget_;
        search_meta["budgetReached"] = found->budget_reached;
      }
      std::vector<std::string> ids;
      for (const auto& t : page.items) ids.push_back(t.id);
      auto scores = d_.events->ScoresOfTraces(a.project.id, ids);
      if (!scores.ok()) return UiStatus(scores.status());
      json::array rows;
      for (const auto& t : page.items) {
        json::object row = TraceRowJson(t);
        auto it = scores->find(t.id);
        row["scores"] =
            ScoreAverages(it == scores->end() ? std::vector<ScoreRecord>() : it->second);
        rows.push_back(std::move(row));
      }
      json::object o;
      o["data"] = std::move(rows);
      json::object meta = MetaJson(q.page.page, q.page.limit, page.total_items);
      meta["observationFilterTruncated"] = truncated;
      if (!text.empty()) meta["search"] = std::move(search_meta);
      o["meta"] = std::move(meta);
      HttpResponse res = JsonResponse(200, o);
      res.headers.emplace_back("Server-Timing", "db;dur=" + std::to_string(Ms(t0)));
      return res;
    });
  }

  // Score names for the trace list's columns and filters: those among the
  // newest scores, and those of the score configs.
  HttpResponse ListScoreNames(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      constexpr int kRecentScores = 10000;
      auto recent = d_.events->RecentScoreNames(a.project.id, kRecentScores);
      if (!recent.ok()) return UiStatus(recent.status());
      std::map<std::pair<std::string, std::string>, int64_t> names;
      for (const auto& n : *recent) names[{n.name, n.data_type}] += n.count;
      PageRequest page;
      page.limit = 100;
      auto configs = d_.score_configs->List(a.project.id, page);
      if (!configs.ok()) return UiStatus(configs.status());
      for (const auto& c : configs->items) {
        if (!c.is_archived) names.try_emplace({c.name, c.data_type}, 0);
      }
      json::array rows;
      for (const auto& [key, count] : names) {
        json::object o;
        o["name"] = key.first;
        o["dataType"] = key.second;
        o["count"] = count;
        rows.push_back(std::move(o));
      }
      json::object o;
      o["data"] = std::move(rows);
      return JsonResponse(200, o);
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

  // ---- prompts

  HttpResponse ListPrompts(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      PromptListQuery q;
      q.page = IntParam(req, "page", 1, 1000000).value_or(1);
      q.limit = IntParam(req, "limit", 1, 100).value_or(50);
      const std::string* search = req.Query("name");
      const std::string needle = search ? Lower(Trim(*search)) : "";
      json::array rows;
      int64_t total = 0;
      auto row = [](const PromptMetaRecord& m) {
        json::object o;
        o["name"] = m.name;
        o["type"] = m.type;
        o["versionCount"] = m.versions.size();
        o["latestVersion"] = m.versions.empty() ? 0 : m.versions.back();
        o["labels"] = StringsJson(m.labels);
        o["tags"] = StringsJson(m.tags);
        o["lastUpdatedAt"] = FormatIsoMillis(m.last_updated_at_ms);
        return o;
      };
      if (needle.empty()) {
        auto page = d_.prompts->List(a.project.id, q);
        if (!page.ok()) return UiStatus(page.status());
        for (const auto& m : page->items) rows.push_back(row(m));
        total = page->total_items;
      } else {
        // A substring search over the names: read them all (prompt names
        // per project are few) and page the matches here.
        std::vector<PromptMetaRecord> matches;
        PromptListQuery all;
        all.limit = 100;
        for (all.page = 1;; ++all.page) {
          auto page = d_.prompts->List(a.project.id, all);
          if (!page.ok()) return UiStatus(page.status());
          for (auto& m : page->items) {
            if (Lower(m.name).find(needle) != std::string::npos) matches.push_back(std::move(m));
          }
          if (page->items.empty() || all.page * all.limit >= page->total_items) break;
        }
        total = static_cast<int64_t>(matches.size());
        for (size_t i = static_cast<size_t>((q.page - 1) * q.limit);
             i < matches.size() && rows.size() < static_cast<size_t>(q.limit); ++i) {
          rows.push_back(row(matches[i]));
        }
      }
      json::object o;
      o["data"] = std::move(rows);
      o["meta"] = MetaJson(q.page, q.limit, total);
      return JsonResponse(200, o);
    });
  }

  HttpResponse GetPrompt(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      const std::string& name = p.at("name");
      PromptListQuery q;
      q.name = name;
      q.limit = 1;
      auto meta = d_.prompts->List(a.project.id, q);
      if (!meta.ok()) return UiStatus(meta.status());
      if (meta->items.empty()) return UiError(404, "NotFound", "Prompt not found.");
      const PromptMetaRecord& m = meta->items.front();
      // Newest first; a name with more versions than anyone reads in a page
      // shows its latest ones.
      constexpr size_t kMaxVersions = 500;
      json::array versions;
      for (auto it = m.versions.rbegin(); it != m.versions.rend() && versions.size() < kMaxVersions;
           ++it) {
        auto v = d_.prompts->Get(a.project.id, name, PromptSelector::Version(*it), false);
        if (!v.ok()) return UiStatus(v.status());
        if (*v) versions.push_back(PromptVersionJson((*v)->record));
      }
      json::object o;
      o["name"] = m.name;
      o["type"] = m.type;
      o["tags"] = StringsJson(m.tags);
      o["versionCount"] = m.versions.size();
      o["versions"] = std::move(versions);
      return JsonResponse(200, o);
    });
  }

  HttpResponse CreatePromptVersion(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kMember, [&](const Caller& c, const ProjectAccess& a) {
      auto body = ParseBody(req);
      if (!body.ok()) return UiError(400, "InvalidRequest", std::string(body.status().message()));
      auto v = ParseNewPromptVersion(*body, c.user.email);
      if (!v.ok()) return UiStatus(v.status());
      auto created = d_.prompts->CreateVersion(a.project.id, *v);
      if (!created.ok()) {
        if (created.status().code() == absl::StatusCode::kFailedPrecondition) {
          return UiError(400, "InvalidRequest", std::string(created.status().message()));
        }
        return UiStatus(created.status());
      }
      LogInfo("ui prompt version created",
              {{"project", a.project.id}, {"name", created->name}, {"user", c.user.email}});
      return JsonResponse(201, PromptVersionJson(*created));
    });
  }

  HttpResponse SetPromptLabels(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kMember, [&](const Caller&, const ProjectAccess& a) {
      auto version = IntParamOf(p.at("version"));
      if (!version) return UiError(400, "InvalidRequest", "The version must be a number.");
      auto body = ParseBody(req);
      if (!body.ok()) return UiError(400, "InvalidRequest", std::string(body.status().message()));
      auto labels = PromptLabels(*body);
      if (!labels.ok()) return UiStatus(labels.status());
      if (labels->empty()) return UiError(400, "InvalidRequest", "Name at least one label.");
      auto updated = d_.prompts->AddLabels(a.project.id, p.at("name"), *version, *labels);
      if (!updated.ok()) {
        if (updated.status().code() == absl::StatusCode::kFailedPrecondition) {
          return UiError(400, "InvalidRequest", std::string(updated.status().message()));
        }
        return UiStatus(updated.status());
      }
      return JsonResponse(200, PromptVersionJson(*updated));
    });
  }

  static std::optional<int> IntParamOf(const std::string& s) {
    if (s.empty() || s.size() > 9) return std::nullopt;
    for (char ch : s) {
      if (ch < '0' || ch > '9') return std::nullopt;
    }
    return std::stoi(s);
  }

  // ---- datasets

  // By id (the page paths use ids, as on Langfuse) or by name.
  absl::StatusOr<std::optional<DatasetRecord>> FindDataset(const std::string& project_id,
                                                           const std::string& id_or_name) {
    for (int page = 1;; ++page) {
      auto list = d_.datasets->ListDatasets(project_id, page, 100);
      if (!list.ok()) return list.status();
      for (auto& d : list->items) {
        if (d.id == id_or_name) return std::optional<DatasetRecord>(std::move(d));
      }
      if (list->items.empty() || page * 100 >= list->total_items) break;
    }
    return d_.datasets->GetDataset(project_id, id_or_name);
  }

  HttpResponse ListDatasets(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      int page = IntParam(req, "page", 1, 1000000).value_or(1);
      int limit = IntParam(req, "limit", 1, 100).value_or(50);
      auto list = d_.datasets->ListDatasets(a.project.id, page, limit);
      if (!list.ok()) return UiStatus(list.status());
      json::array rows;
      for (const auto& d : list->items) {
        json::object o = DatasetRowJson(d);
        DatasetItemQuery iq;
        iq.dataset_name = d.name;
        iq.limit = 1;
        auto items = d_.datasets->ListItems(a.project.id, iq);
        if (!items.ok()) return UiStatus(items.status());
        auto runs = d_.datasets->ListRuns(a.project.id, d.id, 1, 1);
        if (!runs.ok()) return UiStatus(runs.status());
        o["itemCount"] = items->total_items;
        o["runCount"] = runs->total_items;
        o["lastRunAt"] = runs->items.empty()
                             ? json::value(nullptr)
                             : json::value(FormatIsoMillis(runs->items.front().created_at_ms));
        rows.push_back(std::move(o));
      }
      json::object o;
      o["data"] = std::move(rows);
      o["meta"] = MetaJson(page, limit, list->total_items);
      return JsonResponse(200, o);
    });
  }

  // The scores of a run: those of its items' traces and those given to the
  // run itself.
  absl::StatusOr<std::vector<ScoreRecord>> RunScores(const std::string& project_id,
                                                     const std::vector<DatasetRunItemRecord>& items,
                                                     const std::string& run_id) {
    std::vector<ScoreRecord> out;
    std::vector<std::string> trace_ids;
    std::unordered_set<std::string> seen_traces;
    for (const auto& it : items) {
      if (seen_traces.insert(it.trace_id).second) trace_ids.push_back(it.trace_id);
    }
    auto scores = d_.events->ScoresOfTraces(project_id, trace_ids);
    if (!scores.ok()) return scores.status();
    for (const std::string& id : trace_ids) {
      auto found = scores->find(id);
      if (found == scores->end()) continue;
      for (auto& s : found->second) out.push_back(std::move(s));
    }
    ScoreQuery q;
    q.dataset_run_id = run_id;
    q.page.limit = 100;
    for (q.page.page = 1; q.page.page <= 10; ++q.page.page) {
      auto page = d_.events->ListScores(project_id, q);
      if (!page.ok()) return page.status();
      for (auto& s : page->items) out.push_back(std::move(s));
      if (page->items.empty() || q.page.page * 100 >= page->total_items) break;
    }
    return out;
  }

  HttpResponse GetDataset(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      auto d = FindDataset(a.project.id, p.at("datasetId"));
      if (!d.ok()) return UiStatus(d.status());
      if (!*d) return UiError(404, "NotFound", "Dataset not found.");
      DatasetItemQuery iq;
      iq.dataset_name = (*d)->name;
      iq.page = IntParam(req, "page", 1, 1000000).value_or(1);
      iq.limit = IntParam(req, "limit", 1, 100).value_or(50);
      auto items = d_.datasets->ListItems(a.project.id, iq);
      if (!items.ok()) return UiStatus(items.status());
      json::array item_rows;
      for (const auto& i : items->items) item_rows.push_back(DatasetItemJson(i));
      // Runs with their scores averaged per name, side by side.
      constexpr int kMaxRuns = 50;
      constexpr size_t kMaxRunItems = 2000;
      auto runs = d_.datasets->ListRuns(a.project.id, (*d)->id, 1, kMaxRuns);
      if (!runs.ok()) return UiStatus(runs.status());
      json::array run_rows;
      std::set<std::string> score_names;
      for (const auto& r : runs->items) {
        auto run_items = d_.datasets->RunItemsOfRun(a.project.id, r.id);
        if (!run_items.ok()) return UiStatus(run_items.status());
        if (run_items->size() > kMaxRunItems) run_items->resize(kMaxRunItems);
        auto scores = RunScores(a.project.id, *run_items, r.id);
        if (!scores.ok()) return UiStatus(scores.status());
        json::object ro;
        ro["id"] = r.id;
        ro["name"] = r.name;
        ro["description"] = Opt(r.description);
        ro["metadata"] = r.metadata;
        ro["createdAt"] = FormatIsoMillis(r.created_at_ms);
        ro["itemCount"] = run_items->size();
        json::object avg = ScoreAverages(*scores);
        for (const auto& kv : avg) score_names.emplace(kv.key());
        ro["scores"] = std::move(avg);
        run_rows.push_back(std::move(ro));
      }
      json::object o;
      o["dataset"] = DatasetRowJson(**d);
      o["items"] = std::move(item_rows);
      o["itemsMeta"] = MetaJson(iq.page, iq.limit, items->total_items);
      o["runs"] = std::move(run_rows);
      o["runCount"] = runs->total_items;
      json::array names;
      for (const auto& n : score_names) names.emplace_back(n);
      o["scoreNames"] = std::move(names);
      return JsonResponse(200, o);
    });
  }

  HttpResponse GetDatasetRun(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      auto d = FindDataset(a.project.id, p.at("datasetId"));
      if (!d.ok()) return UiStatus(d.status());
      if (!*d) return UiError(404, "NotFound", "Dataset not found.");
      auto run = d_.datasets->GetRun(a.project.id, (*d)->id, p.at("runName"));
      if (!run.ok()) return UiStatus(run.status());
      if (!*run) return UiError(404, "NotFound", "Run not found.");
      auto run_items = d_.datasets->RunItemsOfRun(a.project.id, (*run)->id);
      if (!run_items.ok()) return UiStatus(run_items.status());
      constexpr size_t kMaxRunItems = 1000;
      const bool truncated = run_items->size() > kMaxRunItems;
      if (truncated) run_items->resize(kMaxRunItems);
      json::array rows;
      std::set<std::string> score_names;
      for (const auto& it : *run_items) {
        json::object o;
        o["id"] = it.id;
        o["datasetItemId"] = it.dataset_item_id;
        o["traceId"] = it.trace_id;
        o["observationId"] = Opt(it.observation_id);
        o["createdAt"] = FormatIsoMillis(it.created_at_ms);
        auto item = d_.datasets->GetItem(a.project.id, it.dataset_item_id);
        if (!item.ok()) return UiStatus(item.status());
        o["input"] = *item ? Preview((*item)->input) : json::value(nullptr);
        o["expectedOutput"] = *item ? Preview((*item)->expected_output) : json::value(nullptr);
        auto trace = d_.events->GetTrace(a.project.id, it.trace_id);
        if (!trace.ok()) return UiStatus(trace.status());
        o["output"] = *trace ? Preview((*trace)->output) : json::value(nullptr);
        o["latency"] = *trace ? LatencySeconds(**trace) : json::value(nullptr);
        o["totalCost"] = *trace ? json::value((*trace)->total_cost) : json::value(nullptr);
        auto scores = d_.events->ScoresOfTrace(a.project.id, it.trace_id);
        if (!scores.ok()) return UiStatus(scores.status());
        json::array sj;
        for (const auto& s : *scores) {
          if (it.observation_id && s.observation_id && *s.observation_id != *it.observation_id) {
            continue;
          }
          score_names.insert(s.name);
          sj.push_back(ScoreJson(s));
        }
        o["scores"] = std::move(sj);
        rows.push_back(std::move(o));
      }
      json::object ro;
      ro["id"] = (*run)->id;
      ro["name"] = (*run)->name;
      ro["description"] = Opt((*run)->description);
      ro["metadata"] = (*run)->metadata;
      ro["createdAt"] = FormatIsoMillis((*run)->created_at_ms);
      json::array names;
      for (const auto& n : score_names) names.emplace_back(n);
      json::object o;
      o["dataset"] = DatasetRowJson(**d);
      o["run"] = std::move(ro);
      o["items"] = std::move(rows);
      o["truncated"] = truncated;
      o["scoreNames"] = std::move(names);
      return JsonResponse(200, o);
    });
  }

  // ---- scores

  // The scores list's filters (name, source, dataType, traceId,
  // datasetRunId, configId, userId, operator + value), each read by `opt`
  // (absent or blank: nullopt) from the query string or an export's body.
  template <typename Opt>
  static absl::Status ScoreFilters(const Opt& opt, ScoreQuery* q) {
    q->name = opt("name");
    q->source = opt("source");
    q->data_type = opt("dataType");
    q->trace_id = opt("traceId");
    q->dataset_run_id = opt("datasetRunId");
    q->config_id = opt("configId");
    q->user_id = opt("userId");
    if (q->source && *q->source != "API" && *q->source != "EVAL" && *q->source != "ANNOTATION") {
      return absl::InvalidArgumentError("source: API, EVAL or ANNOTATION");
    }
    if (q->data_type && *q->data_type != "NUMERIC" && *q->data_type != "CATEGORICAL" &&
        *q->data_type != "BOOLEAN" && *q->data_type != "TEXT") {
      return absl::InvalidArgumentError("dataType: NUMERIC, CATEGORICAL, BOOLEAN or TEXT");
    }
    if (auto op = opt("operator")) {
      static const std::unordered_set<std::string> kOps = {"=", ">", "<", ">=", "<=", "!="};
      if (!kOps.count(*op)) return absl::InvalidArgumentError("operator: = > < >= <= !=");
      auto value = opt("value");
      if (!value) return absl::InvalidArgumentError("value: a number is required");
      char* end = nullptr;
      double x = std::strtod(value->c_str(), &end);
      if (*end != '\0') return absl::InvalidArgumentError("value: not a number");
      q->value_operator = *op;
      q->value = x;
    }
    return absl::OkStatus();
  }

  HttpResponse ListScores(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      ScoreQuery q;
      q.page.page = IntParam(req, "page", 1, 1000000).value_or(1);
      q.page.limit = IntParam(req, "limit", 1, 100).value_or(50);
      auto opt = [&](const char* key) -> std::optional<std::string> {
        const std::string* v = req.Query(key);
        if (!v || Trim(*v).empty()) return std::nullopt;
        return Trim(*v);
      };
      if (absl::Status s = ScoreFilters(opt, &q); !s.ok()) return UiStatus(s);
      auto page = d_.events->ListScores(a.project.id, q);
      if (!page.ok()) return UiStatus(page.status());
      json::array rows;
      for (const auto& s : page->items) rows.push_back(ScoreJson(s));
      json::object o;
      o["data"] = std::move(rows);
      o["meta"] = MetaJson(q.page.page, q.page.limit, page->total_items);
      return JsonResponse(200, o);
    });
  }

  HttpResponse ListScoreConfigs(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      PageRequest page;
      page.page = IntParam(req, "page", 1, 1000000).value_or(1);
      page.limit = IntParam(req, "limit", 1, 100).value_or(100);
      auto list = d_.score_configs->List(a.project.id, page);
      if (!list.ok()) return UiStatus(list.status());
      json::array rows;
      for (const auto& c : list->items) rows.push_back(ScoreConfigJson(c));
      json::object o;
      o["data"] = std::move(rows);
      o["meta"] = MetaJson(page.page, page.limit, list->total_items);
      return JsonResponse(200, o);
    });
  }

  // ---- models and LLM connections: the public API's own validation and
  // JSON, behind the session and role checks.

  ModelsApiDeps ModelDeps() const { return {d_.auth, d_.models, d_.prices}; }
  LlmConnectionsApiDeps ConnectionDeps() const { return {d_.auth, d_.llm_connections, d_.cipher}; }

  HttpResponse ListModels(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      const int page = IntParam(req, "page", 1, 1000000).value_or(1);
      const int limit = IntParam(req, "limit", 1, 1000).value_or(1000);
      return ListModelsOfProject(ModelDeps(), a.project.id, page, limit);
    });
  }

  HttpResponse CreateModel(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kMember, [&](const Caller&, const ProjectAccess& a) {
      auto body = ParseBody(req);
      if (!body.ok()) return UiError(400, "InvalidRequest", std::string(body.status().message()));
      return CreateModelInProject(ModelDeps(), a.project.id, *body);
    });
  }

  HttpResponse DeleteModel(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kMember, [&](const Caller&, const ProjectAccess& a) {
      return DeleteModelOfProject(ModelDeps(), a.project.id, p.at("modelId"));
    });
  }

  HttpResponse ListLlmConnections(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kViewer, [&](const Caller&, const ProjectAccess& a) {
      const int page = IntParam(req, "page", 1, 1000000).value_or(1);
      const int limit = IntParam(req, "limit", 1, 100).value_or(100);
      return ListLlmConnectionsOfProject(ConnectionDeps(), a.project.id, page, limit);
    });
  }

  HttpResponse UpsertLlmConnection(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kAdmin, [&](const Caller&, const ProjectAccess& a) {
      auto body = ParseBody(req);
      if (!body.ok()) return UiError(400, "InvalidRequest", std::string(body.status().message()));
      return UpsertLlmConnectionInProject(ConnectionDeps(), a.project.id, *body);
    });
  }

  HttpResponse DeleteLlmConnection(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kAdmin, [&](const Caller&, const ProjectAccess& a) {
      return DeleteLlmConnectionOfProject(ConnectionDeps(), a.project.id, p.at("connectionId"));
    });
  }

  // ---- batch exports

  // What an export wrote.
  struct ExportFile {
    std::string data;
    int64_t rows = 0;
    bool truncated = false;         // the row or byte limit cut it
    bool filter_truncated = false;  // the level/model filter matched too many traces
  };

  bool ExportFull(const ExportFile& f) const {
    const BatchExportSettings& limits = d_.exports->settings();
    return f.rows >= limits.row_limit || static_cast<int64_t>(f.data.size()) >= limits.byte_limit;
  }

  // Writes the traces of the list's filters, order and text search, reading
  // them 100 at a time, up to the limits. Rows that a concurrent write moves
  // to a later page are written once.
  absl::Status ExportTraces(const std::string& project_id, const json::object& body, bool csv,
                            ExportFile* out) {
    TraceQuery q;
    if (std::string ob = StringField(body, "orderBy"); !ob.empty()) q.order_by = ob;
    if (!TraceOrderColumn(q.order_by)) {
      return absl::InvalidArgumentError("orderBy: unknown column " + q.order_by);
    }
    q.descending = StringField(body, "order") != "asc";
    const std::string text = Trim(StringField(body, "search"));
    if (text.size() > 500) return absl::InvalidArgumentError("search: at most 500 characters");
    std::string filter;
    if (const json::value* f = body.if_contains("filter"); f && !f->is_null()) {
      filter = f->is_string() ? std::string(f->as_string()) : json::serialize(*f);
    }
    RETURN_IF_ERROR(TraceFilters(project_id, filter, &q, &out->filter_truncated));
    if (csv) out->data = TraceCsvHeader();
    std::unordered_set<std::string> seen;
    constexpr int kPageSize = 100;
    q.page.limit = kPageSize;
    for (int page = 1; !out->truncated; ++page) {
      q.page.page = page;
      PageResult<TraceRecord> batch;
      if (text.empty()) {
        ASSIGN_OR_RETURN(batch, d_.events->ListTraces(project_id, q));
      } else {
        ASSIGN_OR_RETURN(TraceSearchResult found,
                         d_.events->SearchTraces(project_id, q, {text, search_row_budget_}));
        batch = std::move(found.page);
      }
      std::map<std::string, std::vector<std::string>> obs_of, scores_of;
      if (!csv) {
        std::vector<std::string> ids;
        for (const TraceRecord& t : batch.items) ids.push_back(t.id);
        ASSIGN_OR_RETURN(obs_of, d_.events->ObservationIdsOfTraces(project_id, ids));
        ASSIGN_OR_RETURN(auto scores, d_.events->ScoresOfTraces(project_id, ids));
        for (const auto& [trace_id, list] : scores) {
          for (const auto& sc : list) scores_of[trace_id].push_back(sc.id);
        }
      }
      for (const TraceRecord& t : batch.items) {
        if (!seen.insert(t.id).second) continue;
        if (ExportFull(*out)) {
          out->truncated = true;
          break;
        }
        if (csv) {
          out->data += TraceCsvRow(t);
        } else {
          out->data +=
              json::serialize(TraceWithDetailsJson(t, obs_of[t.id], scores_of[t.id], true, true));
          out->data += '\n';
        }
        ++out->rows;
      }
      if (static_cast<int>(batch.items.size()) < kPageSize) break;
    }
    return absl::OkStatus();
  }

  // Writes the scores of the scores list's filters, newest first, 100 at a
  // time through keyset paging (exact while scores are added).
  absl::Status ExportScores(const std::string& project_id, const json::object& body, bool csv,
                            ExportFile* out) {
    ScoreQuery q;
    auto opt = [&](const char* key) -> std::optional<std::string> {
      const json::value* v = body.if_contains(key);
      std::string text;
      if (v && v->is_string()) text = Trim(std::string(v->as_string()));
      if (v && v->is_number()) text = json::serialize(*v);
      if (text.empty()) return std::nullopt;
      return text;
    };
    RETURN_IF_ERROR(ScoreFilters(opt, &q));
    if (csv) out->data = ScoreCsvHeader();
    constexpr int kPageSize = 100;
    q.page.limit = kPageSize;
    q.keyset.enabled = true;
    while (!out->truncated) {
      ASSIGN_OR_RETURN(PageResult<ScoreRecord> batch, d_.events->ListScores(project_id, q));
      for (const ScoreRecord& s : batch.items) {
        if (ExportFull(*out)) {
          out->truncated = true;
          break;
        }
        out->data += csv ? ScoreCsvRow(s) : json::serialize(ScoreJson(s)) + "\n";
        ++out->rows;
      }
      if (static_cast<int>(batch.items.size()) < kPageSize) break;
      ListPosition next{batch.items.back().timestamp_ms, batch.items.back().id};
      if (q.keyset.after && q.keyset.after->time_ms == next.time_ms &&
          q.keyset.after->id == next.id) {
        return absl::InternalError("score listing did not advance past its keyset position");
      }
      q.keyset.after = std::move(next);
    }
    return absl::OkStatus();
  }

  HttpResponse CreateBatchExport(HttpRequest& req, const PathParams& p) {
    return WithProject(req, p, Role::kMember, [&](const Caller&, const ProjectAccess& a) {
      if (!d_.exports) return UiError(503, "Unavailable", "Batch exports are not configured.");
      auto body = ParseBody(req);
      if (!body.ok()) return UiStatus(body.status());
      const std::string table = StringField(*body, "table");
      if (table != "traces" && table != "scores") {
        return UiError(400, "InvalidRequest",
                       "table: expected 'traces' or 'scores', received '" + table + "'");
      }
      const std::string format = StringField(*body, "format");
      if (format != "csv" && format != "jsonl") {
        return UiError(400, "InvalidRequest",
                       "format: expected 'csv' or 'jsonl', received '" + format + "'");
      }
      ExportFile file;
      absl::Status written = table == "traces"
                                 ? ExportTraces(a.project.id, *body, format == "csv", &file)
                                 : ExportScores(a.project.id, *body, format == "csv", &file);
      if (!written.ok()) return UiStatus(written);

      const std::string id = NewUuid();
      const std::string key = BatchExportStorage::KeyFor(a.project.id, id, format);
      const std::string file_name = table + "-" + id + "." + format;
      if (absl::Status s = d_.exports->Put(key, file.data); !s.ok()) return UiStatus(s);
      auto link = d_.exports->Link(req, key, file_name);
      if (!link.ok()) return UiStatus(link.status());
      LogInfo("batch export written", {{"project_id", a.project.id},
                                       {"export_id", id},
                                       {"table", table},
                                       {"format", format},
                                       {"rows", file.rows},
                                       {"bytes", static_cast<int64_t>(file.data.size())}});
      json::object o;
      o["id"] = id;
      o["table"] = table;
      o["format"] = format;
      o["status"] = "completed";
      o["rows"] = file.rows;
      o["rowLimit"] = d_.exports->settings().row_limit;
      o["truncated"] = file.truncated;
      o["observationFilterTruncated"] = file.filter_truncated;
      o["sizeBytes"] = static_cast<int64_t>(file.data.size());
      o["fileName"] = file_name;
      o["url"] = link->url;
      o["expiresAt"] = FormatIsoMillis(link->expires_at_s * 1000);
      return JsonResponse(201, o);
    });
  }

  HttpResponse DownloadBatchExport(HttpRequest& req, const PathParams& p) {
    if (!d_.exports) return UiError(404, "NotFound", "Batch exports are not configured.");
    return d_.exports->Download(req, p);
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
  // Text search reads each candidate's payloads, so it looks at this many
  // traces of a listing at most (the newest ones in the default order).
  int search_row_budget_ = 20000;
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
