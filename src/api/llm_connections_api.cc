#include "api/llm_connections_api.h"

#include <memory>

#include "api/json_views.h"
#include "api/request_util.h"
#include "api/responses.h"
#include "common/hash.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "common/utf8.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr const char* kNoEncryptionKey =
    "LLM connections store their secret key encrypted, and no encryption key is configured. Set "
    "ENCRYPTION_KEY to 64 hex characters (generate one with `openssl rand -hex 32`) in Loupe's "
    "environment and restart it.";

// Langfuse shows "..." and the last four characters; for a JSON credential
// (a Vertex AI service account) the four before the closing `"}`.
std::string DisplaySecretKey(const std::string& secret) {
  std::string_view s = secret;
  if (s.size() >= 6 && s.substr(s.size() - 2) == "\"}") s.remove_suffix(2);
  return "..." + std::string(Utf8Suffix(s, 4));
}

json::object ConnectionJson(const LlmConnectionRecord& c) {
  json::object o;
  o["id"] = c.id;
  o["provider"] = c.provider;
  o["adapter"] = c.adapter;
  o["displaySecretKey"] = c.display_secret_key;
  o["baseURL"] = OptionalJson(c.base_url);
  json::array models;
  for (const std::string& m : c.custom_models) models.emplace_back(m);
  o["customModels"] = std::move(models);
  o["withDefaultModels"] = c.with_default_models;
  json::array keys;
  for (const std::string& k : c.extra_header_keys) keys.emplace_back(k);
  o["extraHeaderKeys"] = std::move(keys);
  json::value config = c.config_json ? ParseStoredJson(*c.config_json) : json::value(nullptr);
  o["config"] = config.is_object() ? config : json::value(nullptr);
  o["createdAt"] = FormatIsoMillis(c.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(c.updated_at_ms);
  return o;
}

// The adapter-specific `config` rules of the API: Bedrock requires
// {region}, Vertex AI allows {location}, OpenAI allows {useResponsesApi};
// the other adapters take none.
absl::Status ValidateConfig(const std::string& adapter, const json::object* config) {
  auto invalid = [](const std::string& what) {
    return absl::InvalidArgumentError("Invalid request data: config: " + what);
  };
  auto only_key = [&](const char* key, json::kind kind, const char* expected) -> absl::Status {
    for (const auto& entry : *config) {
      if (entry.key() != key) {
        return invalid("Unrecognized key '" + std::string(entry.key()) +
                       "'. Expected: " + expected);
      }
      if (entry.value().kind() != kind) return invalid(std::string("Expected: ") + expected);
    }
    return absl::OkStatus();
  };
  if (adapter == "bedrock") {
    if (!config)
      return invalid("Config is required for Bedrock adapter. Expected: { region: string }");
    if (!config->contains("region")) {
      return invalid("Invalid Bedrock config: region is required. Expected: { region: string }");
    }
    return only_key("region", json::kind::string, "{ region: string }");
  }
  if (!config) return absl::OkStatus();
  if (adapter == "google-vertex-ai") {
    return only_key("location", json::kind::string, "{ location: string }");
  }
  if (adapter == "openai")
    return only_key("useResponsesApi", json::kind::bool_, "{ useResponsesApi: boolean }");
  if (!config->empty()) {
    return invalid("Config is not supported for " + adapter + " adapter. Remove the config field.");
  }
  return absl::OkStatus();
}

bool LooksLikeUrl(const std::string& s) {
  for (const char* scheme : {"http://", "https://"}) {
    size_t n = std::char_traits<char>::length(scheme);
    if (s.size() > n && s.compare(0, n, scheme) == 0) return true;
  }
  return false;
}

class LlmConnectionsApi {
 public:
  explicit LlmConnectionsApi(LlmConnectionsApiDeps deps) : d_(deps) {}

  HttpResponse Upsert(HttpRequest& req) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req);
    if (!body.ok()) return StatusResponse(body.status());
    return UpsertLlmConnectionInProject(d_, auth->project_id, *body);
  }

  HttpResponse List(HttpRequest& req) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto page = ParsePageParams(req);
    if (!page.ok()) return StatusResponse(page.status());
    return ListLlmConnectionsOfProject(d_, auth->project_id, page->page, page->limit);
  }

  HttpResponse Delete(HttpRequest& req, const PathParams& p) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    return DeleteLlmConnectionOfProject(d_, auth->project_id, p.at("id"));
  }

 private:
  LlmConnectionsApiDeps d_;
};

}  // namespace

HttpResponse UpsertLlmConnectionInProject(const LlmConnectionsApiDeps& d,
                                          const std::string& project_id, const json::object& body) {
  BodyFields f(body);
  LlmConnectionRecord c;
  c.provider = f.String("provider", true, 1).value_or("");
  c.adapter =
      f.Enum("adapter",
             {"anthropic", "openai", "azure", "bedrock", "google-vertex-ai", "google-ai-studio"},
             true)
          .value_or("");
  std::string secret = f.String("secretKey", true, 1).value_or("");
  c.base_url = f.String("baseURL", false);
  if (c.base_url && !LooksLikeUrl(*c.base_url)) f.Fail("baseURL", "Invalid url");
  c.custom_models = f.StringArray("customModels", false).value_or(std::vector<std::string>());
  for (const std::string& m : c.custom_models) {
    if (m.empty()) f.Fail("customModels", "String must contain at least 1 character(s)");
  }
  c.with_default_models = f.Bool("withDefaultModels", false).value_or(true);
  const json::object* headers = f.Object("extraHeaders", false);
  if (headers) {
    for (const auto& entry : *headers) {
      if (!entry.value().is_string()) {
        f.Fail("extraHeaders." + std::string(entry.key()),
               "Expected string, received " + BodyFields::TypeName(entry.value()));
      }
      c.extra_header_keys.emplace_back(entry.key());
    }
  }
  const json::object* config = f.Object("config", false);
  if (!f.ok()) return StatusResponse(f.status());
  if (absl::Status s = ValidateConfig(c.adapter, config); !s.ok()) return StatusResponse(s);
  if (!d.cipher) return StatusResponse(absl::FailedPreconditionError(kNoEncryptionKey));

  auto encrypted = d.cipher->Encrypt(secret);
  if (!encrypted.ok()) return StatusResponse(encrypted.status());
  c.encrypted_secret_key = *encrypted;
  c.display_secret_key = DisplaySecretKey(secret);
  if (headers) {
    auto encrypted_headers = d.cipher->Encrypt(json::serialize(*headers));
    if (!encrypted_headers.ok()) return StatusResponse(encrypted_headers.status());
    c.encrypted_extra_headers = *encrypted_headers;
  }
  if (config) c.config_json = json::serialize(*config);
  c.id = NewUuid();
  c.project_id = project_id;
  c.created_at_ms = c.updated_at_ms = NowMillis();
  auto stored = d.connections->Upsert(c);
  if (!stored.ok()) return StatusResponse(stored.status());
  // Langfuse answers 201 when the provider's connection is new.
  return JsonResponse(stored->created ? 201 : 200, ConnectionJson(stored->connection));
}

HttpResponse ListLlmConnectionsOfProject(const LlmConnectionsApiDeps& d,
                                         const std::string& project_id, int page, int limit) {
  auto result = d.connections->List(project_id, {page, limit});
  if (!result.ok()) return StatusResponse(result.status());
  json::array data;
  for (const LlmConnectionRecord& c : result->items) data.push_back(ConnectionJson(c));
  json::object out;
  out["data"] = std::move(data);
  out["meta"] = MetaJson(page, limit, result->total_items);
  return JsonResponse(200, out);
}

HttpResponse DeleteLlmConnectionOfProject(const LlmConnectionsApiDeps& d,
                                          const std::string& project_id, const std::string& id) {
  auto deleted = d.connections->Delete(project_id, id);
  if (!deleted.ok()) return StatusResponse(deleted.status());
  if (!*deleted) return ErrorResponse(404, "LangfuseNotFoundError", "LLM connection not found");
  json::object o;
  o["message"] = "LLM connection successfully deleted";
  return JsonResponse(200, o);
}

void RegisterLlmConnectionsApi(Router& r, LlmConnectionsApiDeps deps) {
  auto api = std::make_shared<LlmConnectionsApi>(deps);
  r.Add("PUT", "/api/public/llm-connections",
        [api](HttpRequest& req, const PathParams&) { return api->Upsert(req); });
  r.Add("GET", "/api/public/llm-connections",
        [api](HttpRequest& req, const PathParams&) { return api->List(req); });
  r.Add("DELETE", "/api/public/llm-connections/{id}",
        [api](HttpRequest& req, const PathParams& p) { return api->Delete(req, p); });
}

}  // namespace loupe
