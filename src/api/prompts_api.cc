#include "api/prompts_api.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <memory>
#include <set>
#include <shared_mutex>
#include <unordered_map>

#include "api/handler_support.h"
#include "api/json_views.h"
#include "api/responses.h"
#include "common/time_util.h"
#include "storage/prompt_rules.h"

namespace loupe {
namespace {

namespace json = boost::json;

// Folder depth accepted for names sent as plain path segments.
constexpr int kMaxNameSegments = 8;

// Validates a chat message list and returns it in the stored shape: role
// messages {role, content[, type: "chatmessage"]}, placeholders
// {type: "placeholder", name}; other members are dropped.
absl::StatusOr<json::array> ValidateChatMessages(const json::array& messages) {
  json::array out;
  std::set<std::string> placeholders, variables;
  for (size_t i = 0; i < messages.size(); ++i) {
    std::string where = "prompt[" + std::to_string(i) + "]";
    const json::object* m = messages[i].if_object();
    if (!m) return absl::InvalidArgumentError(where + ": Expected object");
    const json::value* type = m->if_contains("type");
    if (type && type->is_string() && type->as_string() == "placeholder") {
      const json::value* name = m->if_contains("name");
      if (!name || !name->is_string() || !IsPromptIdentifier(name->as_string())) {
        return absl::InvalidArgumentError(
            where +
            ".name: Placeholder name must start with a letter and contain only alphanumeric "
            "characters and underscores");
      }
      placeholders.emplace(name->as_string());
      out.push_back(json::object{{"type", "placeholder"}, {"name", *name}});
      continue;
    }
    const json::value* role = m->if_contains("role");
    const json::value* content = m->if_contains("content");
    if (!role || !role->is_string()) {
      return absl::InvalidArgumentError(where + ".role: Required string");
    }
    if (!content || !content->is_string()) {
      return absl::InvalidArgumentError(where + ".content: Required string");
    }
    std::set<std::string> vars = PromptVariables(content->as_string());
    variables.insert(vars.begin(), vars.end());
    json::object stored{{"role", *role}, {"content", *content}};
    if (type && type->is_string() && type->as_string() == "chatmessage") {
      stored["type"] = "chatmessage";
    }
    out.push_back(std::move(stored));
  }
  std::string conflicts;
  for (const std::string& v : variables) {
    if (placeholders.count(v)) conflicts += (conflicts.empty() ? "" : ", ") + v;
  }
  if (!conflicts.empty()) {
    return absl::InvalidArgumentError(
        "Cannot create prompt, variables and placeholders must be unique, the following are "
        "not: " +
        conflicts);
  }
  return out;
}

// Reads a create body (v2, or the legacy v1 one when `legacy`, which has no
// commitMessage and requires isActive).
absl::StatusOr<NewPromptVersion> ParseCreateBody(const json::object& body, bool legacy) {
  NewPromptVersion v;
  const json::value* name = body.if_contains("name");
  if (!name || !name->is_string()) return absl::InvalidArgumentError("name: Required string");
  v.name = std::string(name->as_string());
  if (std::string e = PromptNameError(v.name); !e.empty()) {
    return absl::InvalidArgumentError("name: " + e);
  }

  const json::value* type = body.if_contains("type");
  if (type && !type->is_null()) {
    if (!type->is_string() || (type->as_string() != "text" && type->as_string() != "chat")) {
      return absl::InvalidArgumentError("type: Invalid enum value. Expected 'text' | 'chat'");
    }
    v.type = std::string(type->as_string());
  }
  const json::value* prompt = body.if_contains("prompt");
  if (!prompt || prompt->is_null()) return absl::InvalidArgumentError("prompt: Required");
  if (v.type == "chat") {
    if (!prompt->is_array()) {
      return absl::InvalidArgumentError("prompt: Expected an array of chat messages");
    }
    auto messages = ValidateChatMessages(prompt->as_array());
    if (!messages.ok()) return messages.status();
    v.prompt = std::move(*messages);
  } else {
    if (!prompt->is_string()) {
      return absl::InvalidArgumentError(
          "prompt: Expected string for a text prompt (a list of messages needs type 'chat')");
    }
    v.prompt = *prompt;
  }

  if (const json::value* config = body.if_contains("config"); config && !config->is_null()) {
    v.config = *config;
  }

  if (const json::value* labels = body.if_contains("labels"); labels && !labels->is_null()) {
    if (!labels->is_array()) return absl::InvalidArgumentError("labels: Expected array");
    for (const json::value& l : labels->as_array()) {
      if (!l.is_string()) return absl::InvalidArgumentError("labels: Expected array of strings");
      if (std::string e = PromptLabelError(l.as_string()); !e.empty()) {
        return absl::InvalidArgumentError("labels: " + e + " ('" + std::string(l.as_string()) +
                                          "')");
      }
      v.labels.emplace_back(l.as_string());
    }
  }

  if (const json::value* tags = body.if_contains("tags"); tags && !tags->is_null()) {
    if (!tags->is_array()) return absl::InvalidArgumentError("tags: Expected array");
    std::vector<std::string> list;
    for (const json::value& t : tags->as_array()) {
      if (!t.is_string()) return absl::InvalidArgumentError("tags: Expected array of strings");
      list.emplace_back(t.as_string());
    }
    v.tags = std::move(list);
  }

  if (legacy) {
    const json::value* active = body.if_contains("isActive");
    if (!active || !active->is_bool()) {
      return absl::InvalidArgumentError("isActive: Required boolean");
    }
    if (active->as_bool()) v.labels.push_back(kProductionPromptLabel);
  } else if (const json::value* msg = body.if_contains("commitMessage"); msg && !msg->is_null()) {
    if (!msg->is_string()) return absl::InvalidArgumentError("commitMessage: Expected string");
    if (msg->as_string().size() > kMaxPromptCommitMessageLength) {
      return absl::InvalidArgumentError(
          "commitMessage: String must contain at most 500 character(s)");
    }
    v.commit_message = std::string(msg->as_string());
  }
  return v;
}

json::array StringArray(const std::vector<std::string>& values) {
  json::array arr;
  arr.reserve(values.size());
  for (const std::string& s : values) arr.emplace_back(s);
  return arr;
}

json::object NodeJson(const PromptNode& n, bool id_first) {
  json::object o;
  if (id_first) o["id"] = n.id;
  o["name"] = n.name;
  o["version"] = n.version;
  if (!id_first) o["id"] = n.id;
  return o;
}

json::value GraphJson(const std::optional<PromptResolutionGraph>& graph) {
  if (!graph) return nullptr;
  json::object deps;
  for (const auto& [parent, children] : graph->dependencies) {
    json::array arr;
    for (const PromptNode& c : children) arr.push_back(NodeJson(c, true));
    deps[parent] = std::move(arr);
  }
  return json::object{{"root", NodeJson(graph->root, false)}, {"dependencies", std::move(deps)}};
}

// Langfuse's Prompt object, in the server's key order. `is_active` is null on
// the v2 routes (the legacy column is not set by them) and computed on v1.
json::object PromptJson(const PromptRecord& p, const std::optional<PromptResolutionGraph>& graph,
                        json::value is_active) {
  json::object o;
  o.reserve(15);
  o["id"] = p.id;
  o["createdAt"] = FormatIsoMillis(p.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(p.updated_at_ms);
  o["projectId"] = p.project_id;
  o["createdBy"] = p.created_by;
  o["name"] = p.name;
  o["version"] = p.version;
  o["type"] = p.type;
  o["prompt"] = p.prompt;
  o["config"] = p.config;
  o["labels"] = StringArray(p.labels);
  o["tags"] = StringArray(p.tags);
  o["commitMessage"] = p.commit_message ? json::value(*p.commit_message) : json::value(nullptr);
  o["isActive"] = std::move(is_active);
  o["resolutionGraph"] = GraphJson(graph);
  return o;
}

json::value LegacyIsActive(const PromptRecord& p) {
  return std::find(p.labels.begin(), p.labels.end(), kProductionPromptLabel) != p.labels.end();
}

// The legacy v1 route orders error bodies {error, message}.
HttpResponse LegacyError(int status, std::string_view error, std::string_view message) {
  json::object o;
  o["error"] = error;
  o["message"] = message;
  return JsonResponse(status, o);
}

// Serialized v2 GET bodies of the store's cached reads. The store hands out
// the same immutable object until a change in the project replaces it, so a
// body rendered once serves every later read of that object; the weak
// reference tells a live entry from one whose object is gone (even if a new
// object reuses the address).
class RenderedPromptCache {
 public:
  std::string Body(const std::shared_ptr<const ResolvedPrompt>& p) {
    {
      std::shared_lock lock(mu_);
      auto it = bodies_.find(p.get());
      if (it != bodies_.end() && it->second.source.lock() == p) return it->second.body;
    }
    std::string body = json::serialize(PromptJson(p->record, p->graph, nullptr));
    std::unique_lock lock(mu_);
    if (bodies_.size() >= kMaxEntries) bodies_.clear();
    bodies_[p.get()] = Entry{p, body};
    return body;
  }

 private:
  static constexpr size_t kMaxEntries = 20000;
  struct Entry {
    std::weak_ptr<const ResolvedPrompt> source;
    std::string body;
  };
  std::shared_mutex mu_;
  std::unordered_map<const ResolvedPrompt*, Entry> bodies_;  // guarded by mu_
};

class PromptApi {
 public:
  explicit PromptApi(PromptApiDeps deps) : d_(deps) {}

  HttpResponse Create(HttpRequest& req) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req.body);
    if (!body.ok()) return StatusResponse(body.status());
    auto version = ParseCreateBody(*body, false);
    if (!version.ok()) return StatusResponse(version.status());
    auto created = d_.prompts->CreateVersion(auth->project_id, *version);
    if (!created.ok()) return StatusResponse(created.status());
    return JsonResponse(201, PromptJson(*created, std::nullopt, nullptr));
  }

  HttpResponse Get(HttpRequest& req, const std::string& name) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryReader q(req);
    std::optional<int64_t> version = q.Int("version", INT32_MIN, INT32_MAX);
    std::optional<std::string> label = q.String("label");
    bool resolve = q.Bool("resolve").value_or(true);
    if (!q.ok()) return InvalidRequest("Invalid request data: " + q.error());
    // Langfuse treats version 0 like no version.
    if (version == 0) version.reset();
    if (version && label) return InvalidRequest("Cannot specify both version and label");
    PromptSelector selector = version
                                  ? PromptSelector::Version(static_cast<int>(*version))
                                  : PromptSelector::Label(label.value_or(kProductionPromptLabel));
    auto found = d_.prompts->Get(auth->project_id, name, selector, resolve);
    if (!found.ok()) return StatusResponse(found.status());
    if (!*found) {
      std::string message = "Prompt not found: '" + name + "'";
      message += selector.version ? " with version " + std::to_string(*selector.version)
                                  : " with label '" + selector.label.value_or("") + "'";
      return ErrorResponse(404, "LangfuseNotFoundError", message);
    }
    return HttpResponse::Json(200, rendered_.Body(*found));
  }

  HttpResponse List(HttpRequest& req) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryReader q(req);
    PromptListQuery lq;
    lq.name = q.String("name");
    lq.label = q.String("label");
    lq.tag = q.String("tag");
    if (auto v = q.Int("version", INT32_MIN, INT32_MAX)) lq.version = static_cast<int>(*v);
    lq.from_updated_ms = q.Time("fromUpdatedAt");
    lq.to_updated_ms = q.Time("toUpdatedAt");
    Paging paging = ReadPaging(q, 10);
    if (!q.ok()) return InvalidRequest("Invalid request data: " + q.error());
    lq.page = paging.page;
    lq.limit = paging.limit;
    auto page = d_.prompts->List(auth->project_id, lq);
    if (!page.ok()) return StatusResponse(page.status());
    json::array data;
    for (const PromptMetaRecord& m : page->items) {
      json::array versions;
      for (int v : m.versions) versions.emplace_back(v);
      data.push_back(json::object{{"name", m.name},
                                  {"type", m.type},
                                  {"versions", std::move(versions)},
                                  {"labels", StringArray(m.labels)},
                                  {"tags", StringArray(m.tags)},
                                  {"lastUpdatedAt", FormatIsoMillis(m.last_updated_at_ms)},
                                  {"lastConfig", m.last_config}});
    }
    json::object meta = MetaJson(lq.page, lq.limit, page->total_items);
    json::object body;
    body["data"] = std::move(data);
    body["meta"] = meta;
    body["pagination"] = std::move(meta);  // Langfuse keeps this duplicate for old clients
    return JsonResponse(200, body);
  }

  HttpResponse PatchLabels(HttpRequest& req, const std::string& name, const std::string& version) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    int v = 0;
    auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), v);
    if (ec != std::errc() || end != version.data() + version.size()) {
      return InvalidRequest("version: Expected integer, received '" + version + "'");
    }
    auto body = ParseJsonObjectBody(req.body);
    if (!body.ok()) return StatusResponse(body.status());
    const json::value* labels = body->if_contains("newLabels");
    if (!labels || !labels->is_array()) return InvalidRequest("newLabels: Required array");
    std::vector<std::string> list;
    for (const json::value& l : labels->as_array()) {
      if (!l.is_string()) return InvalidRequest("newLabels: Expected array of strings");
      if (l.as_string() == kLatestPromptLabel) {
        return InvalidRequest(
            "newLabels: The 'latest' label is reserved and assigned automatically");
      }
      if (std::string e = PromptLabelError(l.as_string()); !e.empty()) {
        return InvalidRequest("newLabels: " + e + " ('" + std::string(l.as_string()) + "')");
      }
      list.emplace_back(l.as_string());
    }
    auto updated = d_.prompts->AddLabels(auth->project_id, name, v, list);
    if (!updated.ok()) return StatusResponse(updated.status());
    return JsonResponse(200, PromptJson(*updated, std::nullopt, nullptr));
  }

  HttpResponse Delete(HttpRequest& req, const std::string& name) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryReader q(req);
    std::optional<int64_t> version = q.Int("version", INT32_MIN, INT32_MAX);
    std::optional<std::string> label = q.String("label");
    if (!q.ok()) return InvalidRequest("Invalid request data: " + q.error());
    if (version == 0) version.reset();
    if (version && label) return InvalidRequest("Cannot specify both version and label");
    std::optional<int> v;
    if (version) v = static_cast<int>(*version);
    absl::Status s = d_.prompts->Delete(auth->project_id, name, v, label);
    if (!s.ok()) return StatusResponse(s);
    return NoContent();
  }

  HttpResponse LegacyGet(HttpRequest& req) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryReader q(req);
    std::optional<std::string> name = q.String("name");
    std::optional<int64_t> version = q.Int("version", INT32_MIN, INT32_MAX);
    if (!name) q.Fail("name", "Required");
    if (!q.ok()) return InvalidRequest("Invalid request data: " + q.error());
    PromptSelector selector = version && *version != 0
                                  ? PromptSelector::Version(static_cast<int>(*version))
                                  : PromptSelector::Label(kProductionPromptLabel);
    auto found = d_.prompts->Get(auth->project_id, *name, selector, true);
    if (!found.ok()) return StatusResponse(found.status());
    if (!*found) return LegacyError(404, "LangfuseNotFoundError", "Prompt not found");
    const ResolvedPrompt& p = **found;
    return JsonResponse(200, PromptJson(p.record, p.graph, LegacyIsActive(p.record)));
  }

  HttpResponse LegacyCreate(HttpRequest& req) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req.body);
    if (!body.ok())
      return LegacyError(400, "InvalidRequestError", std::string(body.status().message()));
    auto version = ParseCreateBody(*body, true);
    if (!version.ok())
      return LegacyError(400, "InvalidRequestError", std::string(version.status().message()));
    auto created = d_.prompts->CreateVersion(auth->project_id, *version);
    if (!created.ok()) return StatusResponse(created.status());
    return JsonResponse(201, PromptJson(*created, std::nullopt, LegacyIsActive(*created)));
  }

 private:
  PromptApiDeps d_;
  RenderedPromptCache rendered_;
};

// "/{n0}/{n1}/..." with `segments` name parts.
std::string NamePattern(int segments) {
  std::string out;
  for (int i = 0; i < segments; ++i) out += "/{n" + std::to_string(i) + "}";
  return out;
}

std::string JoinName(const PathParams& p, int segments) {
  std::string name;
  for (int i = 0; i < segments; ++i) {
    if (i) name += '/';
    name += p.at("n" + std::to_string(i));
  }
  return name;
}

}  // namespace

void RegisterPromptApi(Router& r, PromptApiDeps deps) {
  auto api = std::make_shared<PromptApi>(deps);
  const std::string base = "/api/public/v2/prompts";
  r.Add("POST", base, [api](HttpRequest& req, const PathParams&) { return api->Create(req); });
  r.Add("GET", base, [api](HttpRequest& req, const PathParams&) { return api->List(req); });
  // A name with folders may arrive as one %2F-encoded segment or as several
  // segments (the Python SDK v2 leaves '/' unencoded); as on Langfuse, a
  // PATCH ending in /versions/{v} addresses a version, anything else a name.
  for (int n = 1; n <= kMaxNameSegments; ++n) {
    std::string pattern = base + NamePattern(n);
    r.Add("GET", pattern, [api, n](HttpRequest& req, const PathParams& p) {
      return api->Get(req, JoinName(p, n));
    });
    r.Add("DELETE", pattern, [api, n](HttpRequest& req, const PathParams& p) {
      return api->Delete(req, JoinName(p, n));
    });
    r.Add("PATCH", pattern + "/versions/{version}",
          [api, n](HttpRequest& req, const PathParams& p) {
            return api->PatchLabels(req, JoinName(p, n), p.at("version"));
          });
  }
  r.Add("GET", "/api/public/prompts",
        [api](HttpRequest& req, const PathParams&) { return api->LegacyGet(req); });
  r.Add("POST", "/api/public/prompts",
        [api](HttpRequest& req, const PathParams&) { return api->LegacyCreate(req); });
}

}  // namespace loupe
