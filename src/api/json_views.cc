#include "api/json_views.h"

#include <algorithm>

#include "common/json_parse.h"
#include "common/time_util.h"

namespace loupe {
namespace {

namespace json = boost::json;

json::value Opt(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}
json::value OptTime(const std::optional<int64_t>& ms) {
  return ms ? json::value(FormatIsoMillis(*ms)) : json::value(nullptr);
}
json::value OptNum(const std::optional<double>& d) {
  return d ? json::value(*d) : json::value(nullptr);
}

json::object MetadataJson(const json::object& m) {
  json::object out;
  for (const auto& kv : m) out[kv.key()] = ParseIfJson(kv.value());
  return out;
}

int64_t PrefixSum(const std::map<std::string, int64_t>& m, std::string_view prefix) {
  int64_t sum = 0;
  for (const auto& [k, v] : m) {
    if (k.rfind(prefix, 0) == 0) sum += v;
  }
  return sum;
}

double PrefixSum(const std::map<std::string, double>& m, std::string_view prefix) {
  double sum = 0;
  for (const auto& [k, v] : m) {
    if (k.rfind(prefix, 0) == 0) sum += v;
  }
  return sum;
}

}  // namespace

json::value ParseIfJson(const json::value& v) {
  if (!v.is_string()) return v;
  const json::string& s = v.as_string();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
  if (i == s.size() || (s[i] != '{' && s[i] != '[')) return v;
  // A string that does not parse, or nests deeper than kMaxJsonDepth (the
  // most a client could have sent as a value), is answered as the string.
  boost::system::error_code ec;
  json::value parsed = ParseJson(std::string_view(s.data(), s.size()), ec);
  return ec ? v : parsed;
}

json::object TraceJson(const TraceRecord& t) {
  json::object o;
  o["id"] = t.id;
  o["timestamp"] = FormatIsoMillis(t.timestamp_ms);
  o["name"] = Opt(t.name);
  o["input"] = ParseIfJson(t.input);
  o["output"] = ParseIfJson(t.output);
  o["sessionId"] = Opt(t.session_id);
  o["release"] = Opt(t.release);
  o["version"] = Opt(t.version);
  o["userId"] = Opt(t.user_id);
  o["metadata"] = MetadataJson(t.metadata);
  json::array tags;
  for (const auto& tag : t.tags) tags.emplace_back(tag);
  o["tags"] = std::move(tags);
  o["public"] = t.is_public;
  o["environment"] = t.environment;
  o["externalId"] = Opt(t.external_id);
  o["bookmarked"] = t.bookmarked;
  o["projectId"] = t.project_id;
  o["createdAt"] = FormatIsoMillis(t.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(t.updated_at_ms);
  return o;
}

json::object TraceWithDetailsJson(const TraceRecord& t,
                                  const std::vector<std::string>& observation_ids,
                                  const std::vector<std::string>& score_ids, bool include_io,
                                  bool include_metrics) {
  json::object o = TraceJson(t);
  if (!include_io) {
    o["input"] = nullptr;
    o["output"] = nullptr;
    o["metadata"] = nullptr;
  }
  o["htmlPath"] = "/project/" + t.project_id + "/traces/" + t.id;
  if (include_metrics) {
    double latency = 0;
    if (t.min_start_ms && t.max_end_ms) {
      latency = static_cast<double>(std::max<int64_t>(0, *t.max_end_ms - *t.min_start_ms)) / 1000.0;
    }
    o["latency"] = latency;
    o["totalCost"] = t.total_cost;
  } else {
    o["latency"] = -1;
    o["totalCost"] = -1;
  }
  json::array obs;
  for (const auto& id : observation_ids) obs.emplace_back(id);
  o["observations"] = std::move(obs);
  json::array scores;
  for (const auto& id : score_ids) scores.emplace_back(id);
  o["scores"] = std::move(scores);
  return o;
}

json::object ObservationJson(const ObservationRecord& r) {
  json::object o;
  o["id"] = r.id;
  o["projectId"] = r.project_id;
  o["traceId"] = r.trace_id;
  o["type"] = r.type;
  o["name"] = Opt(r.name);
  o["startTime"] = FormatIsoMillis(r.start_time_ms);
  o["endTime"] = OptTime(r.end_time_ms);
  o["completionStartTime"] = OptTime(r.completion_start_time_ms);
  o["model"] = Opt(r.model);
  o["modelParameters"] =
      r.model_parameters.is_null() ? json::value(json::object()) : r.model_parameters;
  o["input"] = ParseIfJson(r.input);
  o["output"] = ParseIfJson(r.output);
  o["version"] = Opt(r.version);
  o["metadata"] = MetadataJson(r.metadata);
  o["level"] = r.level;
  o["statusMessage"] = Opt(r.status_message);
  o["parentObservationId"] = Opt(r.parent_observation_id);
  o["environment"] = r.environment;
  o["promptId"] = nullptr;
  o["promptName"] = Opt(r.prompt_name);
  o["promptVersion"] = r.prompt_version ? json::value(*r.prompt_version) : json::value(nullptr);
  json::object usage_details;
  for (const auto& [k, v] : r.usage_details) usage_details[k] = v;
  json::object cost_details;
  for (const auto& [k, v] : r.cost_details) cost_details[k] = v;
  o["usageDetails"] = std::move(usage_details);
  o["costDetails"] = std::move(cost_details);
  // Legacy usage fields: sums over keys by prefix, as Langfuse computes them.
  int64_t input = PrefixSum(r.usage_details, "input");
  int64_t output = PrefixSum(r.usage_details, "output");
  auto total_it = r.usage_details.find("total");
  int64_t total = total_it != r.usage_details.end() ? total_it->second : 0;
  json::object usage;
  usage["input"] = input;
  usage["output"] = output;
  usage["total"] = total;
  usage["unit"] = "TOKENS";
  usage["inputCost"] = nullptr;
  usage["outputCost"] = nullptr;
  usage["totalCost"] = nullptr;
  o["usage"] = std::move(usage);
  o["unit"] = "TOKENS";
  o["promptTokens"] = input;
  o["completionTokens"] = output;
  o["totalTokens"] = total;
  o["usagePricingTierName"] = Opt(r.pricing_tier_name);
  o["usagePricingTierId"] = Opt(r.pricing_tier_id);
  o["modelId"] = Opt(r.internal_model_id);
  o["inputPrice"] = OptNum(r.input_price);
  o["outputPrice"] = OptNum(r.output_price);
  o["totalPrice"] = OptNum(r.total_price);
  bool has_cost = !r.cost_details.empty();
  o["calculatedInputCost"] =
      has_cost ? json::value(PrefixSum(r.cost_details, "input")) : json::value(nullptr);
  o["calculatedOutputCost"] =
      has_cost ? json::value(PrefixSum(r.cost_details, "output")) : json::value(nullptr);
  o["calculatedTotalCost"] = OptNum(r.total_cost);
  if (r.end_time_ms) {
    o["latency"] = static_cast<double>(*r.end_time_ms - r.start_time_ms) / 1000.0;
  } else {
    o["latency"] = nullptr;
  }
  if (r.completion_start_time_ms) {
    o["timeToFirstToken"] =
        static_cast<double>(*r.completion_start_time_ms - r.start_time_ms) / 1000.0;
  } else {
    o["timeToFirstToken"] = nullptr;
  }
  o["createdAt"] = FormatIsoMillis(r.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(r.updated_at_ms);
  return o;
}

json::object ScoreJson(const ScoreRecord& s) {
  json::object o;
  o["id"] = s.id;
  o["projectId"] = s.project_id;
  o["traceId"] = Opt(s.trace_id);
  o["sessionId"] = Opt(s.session_id);
  o["observationId"] = Opt(s.observation_id);
  o["datasetRunId"] = Opt(s.dataset_run_id);
  o["name"] = s.name;
  o["source"] = s.source;
  o["timestamp"] = FormatIsoMillis(s.timestamp_ms);
  o["createdAt"] = FormatIsoMillis(s.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(s.updated_at_ms);
  o["authorUserId"] = Opt(s.author_user_id);
  o["comment"] = Opt(s.comment);
  o["metadata"] = MetadataJson(s.metadata);
  o["configId"] = Opt(s.config_id);
  o["queueId"] = Opt(s.queue_id);
  o["environment"] = s.environment;
  o["dataType"] = s.data_type;
  if (s.data_type == "NUMERIC") {
    o["value"] = OptNum(s.value);
  } else if (s.data_type == "BOOLEAN") {
    o["value"] = OptNum(s.value);
    o["stringValue"] = Opt(s.string_value);
  } else if (s.data_type == "TEXT") {
    o["stringValue"] = Opt(s.string_value);
  } else {
    // CATEGORICAL / CORRECTION: the numeric value is the config category's
    // value when there is one, else 0 (Langfuse stores 0 for string scores).
    o["value"] = s.value ? json::value(*s.value) : json::value(0);
    o["stringValue"] = Opt(s.string_value);
  }
  return o;
}

json::object ScoreV3Json(const ScoreRecord& s, bool details, bool subject, bool annotation) {
  json::object o;
  o["id"] = s.id;
  o["projectId"] = s.project_id;
  o["name"] = s.name;
  o["dataType"] = s.data_type;
  // The value's JSON type follows the data type.
  if (s.data_type == "NUMERIC") {
    o["value"] = s.value.value_or(0);
  } else if (s.data_type == "BOOLEAN") {
    o["value"] = s.value.value_or(0) != 0;
  } else {
    o["value"] = s.string_value.value_or("");
  }
  o["source"] = s.source;
  o["timestamp"] = FormatIsoMillis(s.timestamp_ms);
  o["environment"] = s.environment;
  o["createdAt"] = FormatIsoMillis(s.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(s.updated_at_ms);
  if (details) {
    o["comment"] = Opt(s.comment);
    o["configId"] = Opt(s.config_id);
    o["metadata"] = s.metadata;
  }
  if (annotation) {
    o["authorUserId"] = Opt(s.author_user_id);
    o["queueId"] = Opt(s.queue_id);
  }
  if (subject) {
    json::object sub;
    if (s.observation_id) {
      sub["kind"] = "observation";
      sub["id"] = *s.observation_id;
      sub["traceId"] = Opt(s.trace_id);
    } else if (s.trace_id) {
      sub["kind"] = "trace";
      sub["id"] = *s.trace_id;
    } else if (s.session_id) {
      sub["kind"] = "session";
      sub["id"] = *s.session_id;
    } else if (s.dataset_run_id) {
      sub["kind"] = "experiment";
      sub["id"] = *s.dataset_run_id;
    }
    o["subject"] = sub.empty() ? json::value(nullptr) : json::value(std::move(sub));
  }
  return o;
}

json::object SessionJson(const SessionRecord& s) {
  json::object o;
  o["id"] = s.id;
  o["createdAt"] = FormatIsoMillis(s.created_at_ms);
  o["projectId"] = s.project_id;
  o["environment"] = s.environment;
  return o;
}

json::value StringOrNull(const std::optional<std::string>& s) { return Opt(s); }

json::object MetaJson(int page, int limit, int64_t total_items) {
  json::object m;
  m["page"] = page;
  m["limit"] = limit;
  m["totalItems"] = total_items;
  m["totalPages"] = limit > 0 ? (total_items + limit - 1) / limit : 0;
  return m;
}

}  // namespace loupe
