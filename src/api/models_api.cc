#include "api/models_api.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "api/json_views.h"
#include "api/request_util.h"
#include "api/responses.h"
#include "common/hash.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "re2/re2.h"
#include "storage/pricing_tier_json.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr size_t kMaxConditionPatternLength = 200;
constexpr size_t kMaxTierNameLength = 100;
constexpr int kMaxTierPriority = 999;

// The regexes are evaluated with RE2 at ingestion (cost/price_table.cc), so
// RE2 decides what is valid; it also rules out catastrophic backtracking.
std::string RegexError(const std::string& pattern, bool case_sensitive) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_case_sensitive(case_sensitive);
  RE2 re(pattern, options);
  return re.ok() ? std::string() : re.error();
}

json::value TokenizerConfigJson(const std::string& text) {
  return text.empty() ? json::value(nullptr) : ParseStoredJson(text);
}

json::object ModelJson(const ModelPrice& m) {
  const PricingTier* default_tier = nullptr;
  for (const PricingTier& t : m.tiers) {
    if (t.is_default && !default_tier) default_tier = &t;
  }
  auto flat = [&](const char* usage_type) -> json::value {
    if (!default_tier) return nullptr;
    auto it = default_tier->prices.find(usage_type);
    return it == default_tier->prices.end() ? json::value(nullptr) : JsonNumber(it->second);
  };
  json::object o;
  o["id"] = m.id;
  o["modelName"] = m.model_name;
  o["matchPattern"] = m.match_pattern;
  o["startDate"] =
      m.start_date_ms ? json::value(FormatIsoMillis(*m.start_date_ms)) : json::value(nullptr);
  o["unit"] = m.unit.empty() ? json::value(nullptr) : json::value(m.unit);
  o["inputPrice"] = flat("input");
  o["outputPrice"] = flat("output");
  o["totalPrice"] = flat("total");
  o["tokenizerId"] = m.tokenizer_id.empty() ? json::value(nullptr) : json::value(m.tokenizer_id);
  o["tokenizerConfig"] = TokenizerConfigJson(m.tokenizer_config_json);
  o["isLangfuseManaged"] = m.project_id.empty();
  o["createdAt"] = FormatIsoMillis(m.created_at_ms);
  json::object prices;
  if (default_tier) {
    for (const auto& [usage_type, price] : default_tier->prices) {
      json::object p;
      p["price"] = JsonNumber(price);
      prices[usage_type] = std::move(p);
    }
  }
  o["prices"] = std::move(prices);
  o["pricingTiers"] = PricingTiersToJson(m.tiers);
  return o;
}

// Langfuse's list order: model name, unit, newest start date first (models
// without one last).
bool ListOrder(const ModelPrice* a, const ModelPrice* b) {
  if (a->model_name != b->model_name) return a->model_name < b->model_name;
  // Postgres sorts NULL (no unit) after every value.
  if (a->unit != b->unit) {
    if (a->unit.empty()) return false;
    if (b->unit.empty()) return true;
    return a->unit < b->unit;
  }
  if (a->start_date_ms.has_value() != b->start_date_ms.has_value()) {
    return a->start_date_ms.has_value();
  }
  if (a->start_date_ms && *a->start_date_ms != *b->start_date_ms) {
    return *a->start_date_ms > *b->start_date_ms;
  }
  return a->id < b->id;
}

// One element of `pricingTiers` (PricingTierInput).
absl::StatusOr<PricingTier> ParseTierInput(const json::value& v, size_t index) {
  const std::string where = "pricingTiers." + std::to_string(index);
  const json::object* o = v.if_object();
  if (!o) {
    return absl::InvalidArgumentError("Invalid request data: " + where +
                                      ": Expected object, received " + BodyFields::TypeName(v));
  }
  BodyFields f(*o);
  PricingTier t;
  std::string name = f.String("name", true).value_or("");
  // Trimmed first, so names differing only in spaces count as duplicates.
  name.erase(0, name.find_first_not_of(" \t\n\r"));
  name.erase(name.find_last_not_of(" \t\n\r") + 1);
  if (f.ok() && name.empty()) f.Fail("name", "Name cannot be empty");
  if (name.size() > kMaxTierNameLength) {
    f.Fail("name", "Name exceeds maximum length of 100 characters");
  }
  t.name = name;
  t.is_default = f.Bool("isDefault", false).value_or(false);
  t.priority = static_cast<int>(f.Integer("priority", true, 0, kMaxTierPriority).value_or(0));
  const json::array* conditions = f.Array("conditions", true);
  const json::object* prices = f.Object("prices", true);
  if (!f.ok())
    return absl::InvalidArgumentError("Invalid request data: " + where + "." + f.error());
  for (size_t i = 0; i < conditions->size(); ++i) {
    const std::string cwhere = where + ".conditions." + std::to_string(i);
    const json::object* co = (*conditions)[i].if_object();
    if (!co)
      return absl::InvalidArgumentError("Invalid request data: " + cwhere + ": Expected object");
    BodyFields cf(*co);
    PricingCondition c;
    c.usage_detail_pattern =
        cf.String("usageDetailPattern", true, 1, kMaxConditionPatternLength).value_or("");
    std::string op =
        cf.Enum("operator", {"gt", "gte", "lt", "lte", "eq", "neq"}, true).value_or("");
    std::optional<double> value = cf.Number("value", true);
    if (value && *value < 0) cf.Fail("value", "Number must be greater than or equal to 0");
    c.case_sensitive = cf.Bool("caseSensitive", false).value_or(false);
    if (!cf.ok()) {
      return absl::InvalidArgumentError("Invalid request data: " + cwhere + "." + cf.error());
    }
    ParsePricingOperator(op, &c.op);
    c.value = *value;
    if (std::string err = RegexError(c.usage_detail_pattern, c.case_sensitive); !err.empty()) {
      return absl::InvalidArgumentError("Invalid request data: " + cwhere +
                                        ".usageDetailPattern: Invalid regex pattern in tier \"" +
                                        t.name + "\": " + err);
    }
    t.conditions.push_back(std::move(c));
  }
  for (const auto& entry : *prices) {
    std::optional<double> price = JsonAsDouble(entry.value());
    if (!price) {
      return absl::InvalidArgumentError("Invalid request data: " + where + ".prices." +
                                        std::string(entry.key()) + ": Expected number, received " +
                                        BodyFields::TypeName(entry.value()));
    }
    if (*price < 0) {
      return absl::InvalidArgumentError("Invalid request data: " + where + ".prices." +
                                        std::string(entry.key()) + ": Price must be non-negative");
    }
    t.prices[std::string(entry.key())] = *price;
  }
  return t;
}

// Langfuse's validatePricingTiers.
absl::Status ValidateTiers(const std::vector<PricingTier>& tiers) {
  auto invalid = [](const std::string& what) {
    return absl::InvalidArgumentError("Invalid request data: pricingTiers: " + what);
  };
  int defaults = 0;
  const PricingTier* default_tier = nullptr;
  for (const PricingTier& t : tiers) {
    if (t.is_default) {
      ++defaults;
      default_tier = &t;
    }
  }
  if (defaults == 0) return invalid("Exactly one pricing tier must have isDefault: true");
  if (defaults > 1) {
    return invalid("Only one pricing tier can have isDefault: true, found " +
                   std::to_string(defaults));
  }
  if (default_tier->priority != 0) return invalid("Default pricing tier must have priority: 0");
  if (!default_tier->conditions.empty()) {
    return invalid("Default pricing tier must have empty conditions array");
  }
  std::set<int> priorities;
  std::set<std::string> names;
  for (const PricingTier& t : tiers) {
    if (!t.is_default && t.conditions.empty()) {
      return invalid("Non-default pricing tier \"" + t.name +
                     "\" must have at least one condition");
    }
    if (!priorities.insert(t.priority).second) {
      return invalid("Pricing tier priorities must be unique within a model");
    }
    if (!names.insert(t.name).second) return invalid("Pricing tier names must be unique");
    if (t.prices.empty()) {
      return invalid("Pricing tier \"" + t.name + "\" must have at least one price defined");
    }
  }
  for (const PricingTier& t : tiers) {
    bool same_keys = t.prices.size() == default_tier->prices.size() &&
                     std::equal(t.prices.begin(), t.prices.end(), default_tier->prices.begin(),
                                [](const auto& a, const auto& b) { return a.first == b.first; });
    if (!same_keys) {
      return invalid("Pricing tier \"" + t.name +
                     "\" must have the same usage keys as the default tier");
    }
  }
  return absl::OkStatus();
}

// POST /models body → a model of `project_id` (ids and timestamps set).
absl::StatusOr<ModelPrice> ParseCreateModel(const json::object& body,
                                            const std::string& project_id) {
  BodyFields f(body);
  ModelPrice m;
  m.model_name = f.String("modelName", true, 1).value_or("");
  m.match_pattern = f.String("matchPattern", true, 1).value_or("");
  m.start_date_ms = f.DateTime("startDate", false);
  m.unit = f.Enum("unit", {"TOKENS", "CHARACTERS", "MILLISECONDS", "SECONDS", "REQUESTS", "IMAGES"},
                  false)
               .value_or("");
  std::optional<double> input = f.Number("inputPrice", false);
  std::optional<double> output = f.Number("outputPrice", false);
  std::optional<double> total = f.Number("totalPrice", false);
  for (auto [key, price] : {std::pair{"inputPrice", input}, std::pair{"outputPrice", output},
                            std::pair{"totalPrice", total}}) {
    if (price && *price < 0) f.Fail(key, "Number must be greater than or equal to 0");
  }
  m.tokenizer_id = f.Enum("tokenizerId", {"openai", "claude"}, false).value_or("");
  if (const json::value* tc = body.if_contains("tokenizerConfig"); tc && !tc->is_null()) {
    m.tokenizer_config_json = json::serialize(*tc);
  }
  const json::array* tiers = f.Array("pricingTiers", false);
  RETURN_IF_ERROR(f.status());
  if (std::string err = RegexError(m.match_pattern, true); !err.empty()) {
    return absl::InvalidArgumentError("matchPattern is not a valid regex pattern: " + err);
  }

  const bool has_flat = input || output || total;
  const bool has_tiers = tiers && !tiers->empty();
  if (has_flat && has_tiers) {
    return absl::InvalidArgumentError(
        "Invalid request data: Must provide either flat prices (inputPrice/outputPrice/totalPrice) "
        "OR pricingTiers, not both");
  }
  if (!has_flat && !has_tiers) {
    return absl::InvalidArgumentError(
        "Invalid request data: Must provide either flat prices (inputPrice/outputPrice/totalPrice) "
        "OR pricingTiers");
  }
  m.id = NewUuid();
  m.project_id = project_id;
  if (has_flat) {
    if ((input || output) && total) {
      return absl::InvalidArgumentError(
          "Invalid request data: totalPrice: If input and/or output price is set, total price "
          "must be null");
    }
    // Flat prices become the single default tier, as Langfuse stores them.
    PricingTier t;
    t.id = m.id + "_tier_default";
    t.name = "Standard";
    t.is_default = true;
    t.priority = 0;
    if (input) t.prices["input"] = *input;
    if (output) t.prices["output"] = *output;
    if (total) t.prices["total"] = *total;
    m.tiers.push_back(std::move(t));
  } else {
    for (size_t i = 0; i < tiers->size(); ++i) {
      ASSIGN_OR_RETURN(PricingTier t, ParseTierInput((*tiers)[i], i));
      t.id = NewUuid();
      m.tiers.push_back(std::move(t));
    }
    RETURN_IF_ERROR(ValidateTiers(m.tiers));
    std::stable_sort(
        m.tiers.begin(), m.tiers.end(),
        [](const PricingTier& a, const PricingTier& b) { return a.priority < b.priority; });
  }
  m.created_at_ms = m.updated_at_ms = NowMillis();
  return m;
}

// Serializes a change with the reload that follows it, so that concurrent
// changes cannot leave an older model list in the price table.
std::mutex& WriteMutex() {
  static std::mutex mu;
  return mu;
}

absl::Status Reload(const ModelsApiDeps& d, const std::string& project_id) {
  ASSIGN_OR_RETURN(std::vector<ModelPrice> models, d.models->ListProject(project_id));
  d.prices->SetProjectModels(project_id, std::move(models));
  return absl::OkStatus();
}

class ModelsApi {
 public:
  explicit ModelsApi(ModelsApiDeps deps) : d_(deps) {}

  HttpResponse Create(HttpRequest& req) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req);
    if (!body.ok()) return StatusResponse(body.status());
    return CreateModelInProject(d_, auth->project_id, *body);
  }

  HttpResponse List(HttpRequest& req) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto page = ParsePageParams(req);
    if (!page.ok()) return StatusResponse(page.status());
    return ListModelsOfProject(d_, auth->project_id, page->page, page->limit);
  }

  HttpResponse Get(HttpRequest& req, const PathParams& p) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    const std::string& id = p.at("id");
    auto custom = d_.models->Get(auth->project_id, id);
    if (!custom.ok()) return StatusResponse(custom.status());
    if (*custom) return JsonResponse(200, ModelJson(**custom));
    for (const ModelPrice* m : d_.prices->DefaultModels()) {
      if (m->id == id) return JsonResponse(200, ModelJson(*m));
    }
    return ErrorResponse(404, "LangfuseNotFoundError", "No model with this id found.");
  }

  HttpResponse Delete(HttpRequest& req, const PathParams& p) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    return DeleteModelOfProject(d_, auth->project_id, p.at("id"));
  }

 private:
  ModelsApiDeps d_;
};

}  // namespace

absl::Status LoadCustomModelPrices(ModelStore& models, PriceTable& prices) {
  ASSIGN_OR_RETURN(std::vector<std::string> projects, models.ProjectsWithModels());
  for (const std::string& project : projects) {
    ASSIGN_OR_RETURN(std::vector<ModelPrice> list, models.ListProject(project));
    prices.SetProjectModels(project, std::move(list));
  }
  return absl::OkStatus();
}

absl::Status CustomModelSync::Refresh() {
  ASSIGN_OR_RETURN(std::vector<std::string> projects, models_->ProjectsWithModels());
  std::map<std::string, std::string> seen;
  for (const std::string& project : projects) {
    ASSIGN_OR_RETURN(std::vector<ModelPrice> list, models_->ListProject(project));
    std::string fingerprint;
    for (const ModelPrice& m : list) {
      absl::StrAppend(&fingerprint, m.id, "@", m.updated_at_ms, ";");
    }
    auto it = fingerprints_.find(project);
    if (it == fingerprints_.end() || it->second != fingerprint) {
      prices_->SetProjectModels(project, std::move(list));
    }
    seen[project] = std::move(fingerprint);
  }
  for (const auto& [project, unused] : fingerprints_) {
    if (!seen.count(project)) prices_->SetProjectModels(project, {});
  }
  fingerprints_ = std::move(seen);
  return absl::OkStatus();
}

HttpResponse ListModelsOfProject(const ModelsApiDeps& d, const std::string& project_id, int page,
                                 int limit) {
  auto custom = d.models->ListProject(project_id);
  if (!custom.ok()) return StatusResponse(custom.status());
  std::vector<const ModelPrice*> all = d.prices->DefaultModels();
  for (const ModelPrice& m : *custom) all.push_back(&m);
  std::sort(all.begin(), all.end(), ListOrder);
  json::array data;
  const size_t begin = static_cast<size_t>(page - 1) * static_cast<size_t>(limit);
  for (size_t i = begin; i < all.size() && i < begin + static_cast<size_t>(limit); ++i) {
    data.push_back(ModelJson(*all[i]));
  }
  json::object out;
  out["data"] = std::move(data);
  out["meta"] = MetaJson(page, limit, static_cast<int64_t>(all.size()));
  return JsonResponse(200, out);
}

HttpResponse CreateModelInProject(const ModelsApiDeps& d, const std::string& project_id,
                                  const json::object& body) {
  auto model = ParseCreateModel(body, project_id);
  if (!model.ok()) return StatusResponse(model.status());
  std::lock_guard lock(WriteMutex());
  absl::Status s = d.models->Create(*model);
  if (s.code() == absl::StatusCode::kAlreadyExists) {
    // Langfuse answers a duplicate name as invalid input.
    return InvalidRequest(std::string(s.message()));
  }
  if (!s.ok()) return StatusResponse(s);
  if (absl::Status r = Reload(d, project_id); !r.ok()) return StatusResponse(r);
  return JsonResponse(200, ModelJson(*model));
}

HttpResponse DeleteModelOfProject(const ModelsApiDeps& d, const std::string& project_id,
                                  const std::string& id) {
  std::lock_guard lock(WriteMutex());
  auto deleted = d.models->Delete(project_id, id);
  if (!deleted.ok()) return StatusResponse(deleted.status());
  if (!*deleted) {
    return ErrorResponse(404, "LangfuseNotFoundError",
                         "No model with this id found. Note: You cannot delete built-in models, "
                         "override them with a model with the same name.");
  }
  if (absl::Status r = Reload(d, project_id); !r.ok()) return StatusResponse(r);
  return NoContentResponse();
}

void RegisterModelsApi(Router& r, ModelsApiDeps deps) {
  auto api = std::make_shared<ModelsApi>(deps);
  r.Add("POST", "/api/public/models",
        [api](HttpRequest& req, const PathParams&) { return api->Create(req); });
  r.Add("GET", "/api/public/models",
        [api](HttpRequest& req, const PathParams&) { return api->List(req); });
  r.Add("GET", "/api/public/models/{id}",
        [api](HttpRequest& req, const PathParams& p) { return api->Get(req, p); });
  r.Add("DELETE", "/api/public/models/{id}",
        [api](HttpRequest& req, const PathParams& p) { return api->Delete(req, p); });
}

}  // namespace loupe
