#include "ingest/materialize.h"

#include "common/hash.h"

namespace loupe {
namespace {

namespace json = boost::json;

std::optional<std::string> OptString(const EntityState& s, std::string_view f) {
  const json::value* v = s.Get(f);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

std::optional<int64_t> OptInt(const EntityState& s, std::string_view f) {
  const json::value* v = s.Get(f);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->as_double());
  return std::nullopt;
}

json::value ValueOrNull(const EntityState& s, std::string_view f) {
  const json::value* v = s.Get(f);
  return v ? *v : json::value(nullptr);
}

}  // namespace

TraceRecord MaterializeTrace(const std::string& project_id, const std::string& id,
                             const EntityState& s, Payloads payloads) {
  TraceRecord t;
  t.id = id;
  t.project_id = project_id;
  t.timestamp_ms = OptInt(s, "timestamp").value_or(OptInt(s, "_timestampFallback").value_or(0));
  t.name = OptString(s, "name");
  t.user_id = OptString(s, "userId");
  t.session_id = OptString(s, "sessionId");
  t.release = OptString(s, "release");
  t.version = OptString(s, "version");
  t.external_id = OptString(s, "externalId");
  t.environment = OptString(s, "environment").value_or("default");
  if (const json::value* tags = s.Get("tags"); tags && tags->is_array()) {
    for (const auto& tag : tags->as_array()) {
      if (tag.is_string()) t.tags.emplace_back(tag.as_string());
    }
  }
  if (const json::value* p = s.Get("public"); p && p->is_bool()) t.is_public = p->as_bool();
  if (payloads == Payloads::kInclude) {
    t.input = ValueOrNull(s, "input");
    t.output = ValueOrNull(s, "output");
    t.metadata = s.GetObject("metadata");
  }
  return t;
}

ObservationRecord MaterializeObservation(const std::string& project_id, const std::string& id,
                                         EntityState* state, const PriceTable* prices,
                                         Payloads payloads) {
  const EntityState& s = *state;
  ObservationRecord o;
  o.id = id;
  o.project_id = project_id;
  if (auto trace_id = OptString(s, "traceId")) {
    o.trace_id = *trace_id;
  } else {
    // Langfuse gives an observation without a trace a random trace id; keep it
    // stable across merges by deriving it once and remembering it.
    json::object& d = state->derived();
    if (const json::value* t = d.if_contains("traceId"); t && t->is_string()) {
      o.trace_id = std::string(t->as_string());
    } else {
      o.trace_id = NewUuid();
      d["traceId"] = o.trace_id;
    }
  }
  o.type = OptString(s, "type").value_or(OptString(s, "_typeFallback").value_or("SPAN"));
  o.parent_observation_id = OptString(s, "parentObservationId");
  o.name = OptString(s, "name");
  o.environment = OptString(s, "environment").value_or("default");
  o.start_time_ms = OptInt(s, "startTime").value_or(OptInt(s, "_startTimeFallback").value_or(0));
  o.end_time_ms = OptInt(s, "endTime");
  if (o.end_time_ms && *o.end_time_ms < o.start_time_ms) o.end_time_ms = o.start_time_ms;
  o.completion_start_time_ms = OptInt(s, "completionStartTime");
  o.version = OptString(s, "version");
  o.level = OptString(s, "level").value_or("DEFAULT");
  o.status_message = OptString(s, "statusMessage");
  if (payloads == Payloads::kInclude) {
    o.input = ValueOrNull(s, "input");
    o.output = ValueOrNull(s, "output");
    o.metadata = s.GetObject("metadata");
  }
  o.model = OptString(s, "model");
  json::object params = s.GetObject("modelParameters");
  o.model_parameters = params.empty() ? json::value(nullptr) : json::value(std::move(params));
  o.prompt_name = OptString(s, "promptName");
  o.prompt_version = OptInt(s, "promptVersion");

  json::object& d = state->derived();
  if (prices) {
    ProvidedUsage provided;
    for (const auto& kv : s.GetObject("_usage")) {
      if (kv.value().is_int64()) provided.usage[std::string(kv.key())] = kv.value().as_int64();
      if (kv.value().is_uint64()) {
        provided.usage[std::string(kv.key())] = static_cast<int64_t>(kv.value().as_uint64());
      }
    }
    for (const auto& kv : s.GetObject("_cost")) {
      if (kv.value().is_number()) {
        provided.cost[std::string(kv.key())] = kv.value().to_number<double>();
      }
    }
    const ModelPrice* model = o.model ? prices->Match(project_id, *o.model) : nullptr;
    CostResult cost = PriceTable::Compute(model, provided);
    json::object usage;
    for (const auto& [k, v] : cost.usage) usage[k] = v;
    json::object costs;
    for (const auto& [k, v] : cost.cost) costs[k] = v;
    d["usage"] = std::move(usage);
    d["cost"] = std::move(costs);
    d.erase("totalCost");
    d.erase("modelId");
    d.erase("tierId");
    d.erase("tierName");
    d.erase("prices");
    if (cost.total_cost) d["totalCost"] = *cost.total_cost;
    if (!cost.model_id.empty()) d["modelId"] = cost.model_id;
    if (!cost.tier_id.empty()) d["tierId"] = cost.tier_id;
    if (!cost.tier_name.empty()) d["tierName"] = cost.tier_name;
    if (model) {
      for (const auto& tier : model->tiers) {
        if (tier.id != cost.tier_id) continue;
        json::object p;
        for (const char* k : {"input", "output", "total"}) {
          auto it = tier.prices.find(k);
          if (it != tier.prices.end()) p[k] = it->second;
        }
        d["prices"] = std::move(p);
      }
    }
  }
  if (const json::value* u = d.if_contains("usage"); u && u->is_object()) {
    for (const auto& kv : u->as_object()) {
      if (kv.value().is_int64()) o.usage_details[std::string(kv.key())] = kv.value().as_int64();
    }
  }
  if (const json::value* c = d.if_contains("cost"); c && c->is_object()) {
    for (const auto& kv : c->as_object()) {
      if (kv.value().is_number()) {
        o.cost_details[std::string(kv.key())] = kv.value().to_number<double>();
      }
    }
  }
  if (const json::value* tc = d.if_contains("totalCost"); tc && tc->is_number()) {
    o.total_cost = tc->to_number<double>();
  }
  if (const json::value* m = d.if_contains("modelId"); m && m->is_string()) {
    o.internal_model_id = std::string(m->as_string());
  }
  if (const json::value* m = d.if_contains("tierId"); m && m->is_string()) {
    o.pricing_tier_id = std::string(m->as_string());
  }
  if (const json::value* m = d.if_contains("tierName"); m && m->is_string()) {
    o.pricing_tier_name = std::string(m->as_string());
  }
  if (const json::value* p = d.if_contains("prices"); p && p->is_object()) {
    const json::object& po = p->as_object();
    if (auto* v = po.if_contains("input")) o.input_price = v->to_number<double>();
    if (auto* v = po.if_contains("output")) o.output_price = v->to_number<double>();
    if (auto* v = po.if_contains("total")) o.total_price = v->to_number<double>();
  }
  return o;
}

ScoreRecord MaterializeScore(const std::string& project_id, const std::string& id,
                             const EntityState& s) {
  ScoreRecord r;
  r.id = id;
  r.project_id = project_id;
  r.trace_id = OptString(s, "traceId");
  r.observation_id = OptString(s, "observationId");
  r.session_id = OptString(s, "sessionId");
  r.dataset_run_id = OptString(s, "datasetRunId");
  r.name = OptString(s, "name").value_or("");
  r.source = OptString(s, "source").value_or("API");
  r.data_type = OptString(s, "dataType").value_or("NUMERIC");
  if (const json::value* v = s.Get("value"); v && v->is_number()) r.value = v->to_number<double>();
  r.string_value = OptString(s, "stringValue");
  r.comment = OptString(s, "comment");
  r.metadata = [&] {
    const json::value* m = s.Get("metadata");
    return (m && m->is_object()) ? m->as_object() : json::object();
  }();
  r.author_user_id = OptString(s, "authorUserId");
  r.config_id = OptString(s, "configId");
  r.queue_id = OptString(s, "queueId");
  r.execution_trace_id = OptString(s, "executionTraceId");
  r.environment = OptString(s, "environment").value_or("default");
  r.timestamp_ms = OptInt(s, "timestamp").value_or(0);
  return r;
}

}  // namespace loupe
