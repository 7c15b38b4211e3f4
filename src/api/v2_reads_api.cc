#include "api/v2_reads_api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/cursor.h"
#include "api/handler_support.h"
#include "api/json_views.h"
#include "api/responses.h"
#include "common/time_util.h"
#include "query/filter.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr int kMaxObservationsLimit = 1000;
constexpr int kMaxScoresLimit = 100;
constexpr int kDefaultLimit = 50;
// Metadata values longer than this are cut unless named in expandMetadata,
// as Langfuse does to keep list pages small.
constexpr size_t kMetadataTruncateChars = 200;

// ---------------------------------------------------------------- cursors

// The cursor is base64 of a JSON object holding the last row's time (ISO)
// and id under the given keys; extra keys (e.g. lastTraceId) are carried for
// Langfuse's shape but not needed for the position.
std::string EncodeCursor(const ListPosition& p, std::string_view time_key, std::string_view id_key,
                         json::object extra = {}) {
  extra[time_key] = FormatIsoMillis(p.time_ms);
  extra[id_key] = p.id;
  return EncodeCursorObject(extra);
}

std::optional<ListPosition> DecodeCursor(std::string_view cursor, std::string_view time_key,
                                         std::string_view id_key) {
  std::optional<json::object> fields = DecodeCursorObject(cursor);
  if (!fields) return std::nullopt;
  const json::value* t = fields->if_contains(time_key);
  const json::value* id = fields->if_contains(id_key);
  if (!t || !t->is_string() || !id || !id->is_string()) return std::nullopt;
  auto us = ParseIsoMicros(t->as_string());
  if (!us) return std::nullopt;
  return ListPosition{*us / 1000, std::string(id->as_string())};
}

// ---------------------------------------------------------------- helpers

json::value Opt(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

json::value OptTime(const std::optional<int64_t>& ms) {
  return ms ? json::value(FormatIsoMillis(*ms)) : json::value(nullptr);
}

json::value OptNum(const std::optional<double>& d) {
  return d ? json::value(*d) : json::value(nullptr);
}

// Prices are decimal strings in the v2 API ("0.0000025", never "2.5e-06").
json::value DecimalString(const std::optional<double>& d) {
  if (!d || !std::isfinite(*d)) return nullptr;
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), *d, std::chars_format::fixed);
  if (ec != std::errc()) return nullptr;
  return json::value(std::string(buf, p));
}

// v2 returns IO as the stored text: strings unchanged, structured values as
// their JSON serialization.
json::value RawIo(const json::value& v) {
  if (v.is_null()) return nullptr;
  if (v.is_string()) return v;
  return json::value(json::serialize(v));
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::optional<double> ParseFiniteDouble(const std::string& v) {
  double d = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc() || p != v.data() + v.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

HttpResponse InvalidQuery(const QueryReader& q) {
  return ErrorResponse(400, "InvalidRequestError", "Invalid request data: " + q.error());
}

// An "any of" condition on a score column, for the comma-list filters.
FilterCondition AnyOf(std::string column, std::vector<std::string> values) {
  FilterCondition f;
  f.column = std::move(column);
  f.type = FilterType::kStringOptions;
  f.op = "any of";
  f.values = std::move(values);
  return f;
}

// ---------------------------------------------------------------- handlers

struct ObservationFields {
  bool basic = true, time = false, io = false, metadata = false, model = false, usage = false,
       prompt = false, metrics = false, trace_context = false;
};

class V2ReadsApi {
 public:
  explicit V2ReadsApi(PublicApiDeps deps) : d_(deps) {}

  HttpResponse ListObservations(HttpRequest& req) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryReader q(req);
    ObservationQuery oq;
    oq.keyset.enabled = true;
    int limit = static_cast<int>(q.Int("limit", 1, kMaxObservationsLimit).value_or(kDefaultLimit));
    // One extra row tells whether another page follows without a count.
    oq.page.limit = limit + 1;
    if (auto c = q.String("cursor")) {
      oq.keyset.after = DecodeCursor(*c, "lastStartTimeTo", "lastId");
      if (!oq.keyset.after) q.Fail("cursor", "Invalid cursor");
    }
    // IO is always raw text here; asking for parsed JSON is refused so that
    // callers notice rather than silently getting strings.
    if (const std::string* p = req.Query("parseIoAsJson"); p && !p->empty() && *p != "false") {
      q.Fail("parseIoAsJson",
             *p == "true" ? "parseIoAsJson=true is no longer supported; input and output are "
                            "returned as raw strings"
                          : "Expected 'false', received '" + *p + "'");
    }
    ObservationFields fields;
    if (auto f = q.String("fields")) {
      fields.basic = false;
      for (const std::string& g : SplitCommas(*f)) {
        if (g == "core") continue;
        bool* flag = g == "basic"           ? &fields.basic
                     : g == "time"          ? &fields.time
                     : g == "io"            ? &fields.io
                     : g == "metadata"      ? &fields.metadata
                     : g == "model"         ? &fields.model
                     : g == "usage"         ? &fields.usage
                     : g == "prompt"        ? &fields.prompt
                     : g == "metrics"       ? &fields.metrics
                     : g == "trace_context" ? &fields.trace_context
                                            : nullptr;
        if (!flag) {
          q.Fail("fields", "Invalid field group '" + g +
                               "'. Expected core, basic, time, io, metadata, model, usage, "
                               "prompt, metrics, trace_context");
          break;
        }
        *flag = true;
      }
    }
    std::set<std::string> expand;
    if (auto e = q.String("expandMetadata")) {
      for (auto& k : SplitCommas(*e)) expand.insert(std::move(k));
    }
    if (const std::string* filter = req.Query("filter"); filter && !filter->empty()) {
      // The structured filter replaces the individual filter parameters.
      auto parsed = ParseFilterParam(*filter, ObservationFilterColumns());
      if (!parsed.ok()) {
        q.Fail("filter", std::string(parsed.status().message()));
      } else {
        oq.filters = std::move(*parsed);
      }
    } else {
      oq.name = q.String("name");
      oq.user_id = q.String("userId");
      oq.type = q.String("type");
      oq.trace_id = q.String("traceId");
      oq.level = q.String("level");
      oq.parent_observation_id = q.String("parentObservationId");
      oq.version = q.String("version");
      for (const std::string& env : req.QueryAll("environment")) {
        if (!env.empty()) oq.environments.push_back(env);
      }
      oq.from_start_ms = q.Time("fromStartTime");
      oq.to_start_ms = q.Time("toStartTime");
      if (oq.level && *oq.level != "DEBUG" && *oq.level != "DEFAULT" && *oq.level != "WARNING" &&
          *oq.level != "ERROR") {
        q.Fail("level", "Invalid enum value. Expected 'DEBUG' | 'DEFAULT' | 'WARNING' | 'ERROR'");
      }
    }
    if (!q.ok()) return InvalidQuery(q);

    auto page = d_.events->ListObservations(auth->project_id, oq);
    if (!page.ok()) return StatusResponse(page.status());
    bool more = static_cast<int>(page->items.size()) > limit;
    if (more) page->items.resize(limit);

    std::unordered_map<std::string, std::optional<TraceRecord>> traces;
    json::array data;
    for (const ObservationRecord& r : page->items) {
      const TraceRecord* trace = nullptr;
      if (fields.basic || fields.trace_context) {
        auto it = traces.find(r.trace_id);
        if (it == traces.end()) {
          auto t = d_.events->GetTrace(auth->project_id, r.trace_id);
          if (!t.ok()) return StatusResponse(t.status());
          it = traces.emplace(r.trace_id, std::move(*t)).first;
        }
        if (it->second) trace = &*it->second;
      }
      data.push_back(ObservationV2Json(r, trace, fields, expand));
    }
    json::object meta;
    if (more) {
      const ObservationRecord& last = page->items.back();
      json::object extra;
      extra["lastTraceId"] = last.trace_id;
      meta["cursor"] = EncodeCursor({last.start_time_ms, last.id}, "lastStartTimeTo", "lastId",
                                    std::move(extra));
    }
    json::object body;
    body["data"] = std::move(data);
    body["meta"] = std::move(meta);
    return JsonResponse(200, body);
  }

  HttpResponse ListScoresV3(HttpRequest& req) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryReader q(req);
    ScoreQuery sq;
    sq.keyset.enabled = true;
    int limit = static_cast<int>(q.Int("limit", 1, kMaxScoresLimit).value_or(kDefaultLimit));
    sq.page.limit = limit + 1;
    if (auto c = q.String("cursor")) {
      sq.keyset.after = DecodeCursor(*c, "lastTimestamp", "lastId");
      if (!sq.keyset.after) q.Fail("cursor", "Invalid cursor");
    }
    bool details = false, subject = false, annotation = false;
    if (auto f = q.String("fields")) {
      for (const std::string& g : SplitCommas(*f)) {
        bool* flag = g == "details"      ? &details
                     : g == "subject"    ? &subject
                     : g == "annotation" ? &annotation
                                         : nullptr;
        if (!flag) {
          q.Fail("fields",
                 "Invalid field group '" + g + "'. Expected details, subject, annotation");
          break;
        }
        *flag = true;
      }
    }
    auto list = [&](std::string_view key) {
      auto v = q.String(key);
      return v ? SplitCommas(*v) : std::vector<std::string>();
    };
    std::vector<std::string> sources = list("source");
    for (auto& s : sources) {
      s = Upper(s);
      if (s != "API" && s != "EVAL" && s != "ANNOTATION") {
        q.Fail("source", "Invalid enum value '" + s + "'. Expected 'API' | 'EVAL' | 'ANNOTATION'");
      }
    }
    std::vector<std::string> data_types = list("dataType");
    for (auto& t : data_types) {
      t = Upper(t);
      if (t != "NUMERIC" && t != "BOOLEAN" && t != "CATEGORICAL" && t != "TEXT" &&
          t != "CORRECTION") {
        q.Fail("dataType", "Invalid enum value '" + t +
                               "'. Expected 'NUMERIC' | 'BOOLEAN' | 'CATEGORICAL' | 'TEXT' | "
                               "'CORRECTION'");
      }
    }
    std::vector<std::string> trace_ids = list("traceId");
    std::vector<std::string> session_ids = list("sessionId");
    std::vector<std::string> observation_ids = list("observationId");
    std::vector<std::string> experiment_ids = list("experimentId");
    if (!session_ids.empty() &&
        (!trace_ids.empty() || !observation_ids.empty() || !experiment_ids.empty())) {
      q.Fail("sessionId", "Cannot be combined with traceId, observationId or experimentId");
    }
    if (!experiment_ids.empty() && (!trace_ids.empty() || !observation_ids.empty())) {
      q.Fail("experimentId", "Cannot be combined with traceId or observationId");
    }
    if (!observation_ids.empty() && trace_ids.empty()) {
      q.Fail("observationId", "Requires traceId, because observation ids are scoped to a trace");
    }

    // Value filters need exactly one data type to know how to read values.
    std::vector<std::string> values = list("value");
    std::optional<double> value_min, value_max;
    for (const char* key : {"valueMin", "valueMax"}) {
      if (auto v = q.String(key)) {
        auto d = ParseFiniteDouble(*v);
        if (!d) q.Fail(key, "Expected a finite number, received '" + *v + "'");
        (std::string_view(key) == "valueMin" ? value_min : value_max) = d;
      }
    }
    std::string single_type = data_types.size() == 1 ? data_types[0] : "";
    if (!values.empty()) {
      if (single_type != "NUMERIC" && single_type != "BOOLEAN" && single_type != "CATEGORICAL") {
        q.Fail("value", "Requires a single dataType of NUMERIC, BOOLEAN or CATEGORICAL");
      } else if (single_type == "NUMERIC") {
        for (auto& v : values) {
          auto d = ParseFiniteDouble(v);
          if (!d) {
            q.Fail("value", "Expected a finite number, received '" + v + "'");
            break;
          }
          // Canonical text: SQLite converts it back to a number when
          // comparing with the REAL value column.
          char buf[64];
          auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), *d);
          v.assign(buf, p);
        }
        sq.filters.push_back(AnyOf("value", values));
      } else if (single_type == "BOOLEAN") {
        for (auto& v : values) {
          if (v != "true" && v != "false") {
            q.Fail("value", "Expected 'true' or 'false', received '" + v + "'");
            break;
          }
          v = v == "true" ? "1" : "0";
        }
        sq.filters.push_back(AnyOf("value", values));
      } else {
        sq.filters.push_back(AnyOf("stringValue", values));
      }
    }
    if ((value_min || value_max) && single_type != "NUMERIC") {
      q.Fail(value_min ? "valueMin" : "valueMax", "Requires dataType=NUMERIC as a single value");
    }
    for (auto [bound, op] : {std::pair{value_min, ">="}, std::pair{value_max, "<="}}) {
      if (!bound) continue;
      FilterCondition f;
      f.column = "value";
      f.type = FilterType::kNumber;
      f.op = op;
      f.number_value = *bound;
      sq.filters.push_back(std::move(f));
    }
    auto add = [&](const char* column, std::vector<std::string> v) {
      if (!v.empty()) sq.filters.push_back(AnyOf(column, std::move(v)));
    };
    add("id", list("id"));
    add("name", list("name"));
    add("source", std::move(sources));
    add("dataType", std::move(data_types));
    add("environment", list("environment"));
    add("configId", list("configId"));
    add("queueId", list("queueId"));
    add("authorUserId", list("authorUserId"));
    add("traceId", std::move(trace_ids));
    add("sessionId", std::move(session_ids));
    add("observationId", std::move(observation_ids));
    add("datasetRunId", std::move(experiment_ids));
    sq.from_ms = q.Time("fromTimestamp");
    sq.to_ms = q.Time("toTimestamp");
    if (!q.ok()) return InvalidQuery(q);

    auto page = d_.events->ListScores(auth->project_id, sq);
    if (!page.ok()) return StatusResponse(page.status());
    bool more = static_cast<int>(page->items.size()) > limit;
    if (more) page->items.resize(limit);
    json::array data;
    for (const ScoreRecord& s : page->items) {
      data.push_back(ScoreV3Json(s, details, subject, annotation));
    }
    json::object meta;
    meta["limit"] = limit;
    if (more) {
      const ScoreRecord& last = page->items.back();
      meta["cursor"] = EncodeCursor({last.timestamp_ms, last.id}, "lastTimestamp", "lastId");
    }
    json::object body;
    body["data"] = std::move(data);
    body["meta"] = std::move(meta);
    return JsonResponse(200, body);
  }

 private:
  static json::object ObservationV2Json(const ObservationRecord& r, const TraceRecord* trace,
                                        const ObservationFields& f,
                                        const std::set<std::string>& expand) {
    json::object o;
    o["id"] = r.id;
    o["traceId"] = r.trace_id;
    o["startTime"] = FormatIsoMillis(r.start_time_ms);
    o["endTime"] = OptTime(r.end_time_ms);
    o["projectId"] = r.project_id;
    o["parentObservationId"] = Opt(r.parent_observation_id);
    o["type"] = r.type;
    if (f.basic) {
      o["name"] = Opt(r.name);
      o["level"] = r.level;
      o["statusMessage"] = Opt(r.status_message);
      o["version"] = Opt(r.version);
      o["environment"] = r.environment;
      o["bookmarked"] = trace ? json::value(trace->bookmarked) : json::value(false);
      o["public"] = trace ? json::value(trace->is_public) : json::value(false);
      o["userId"] = trace ? Opt(trace->user_id) : json::value(nullptr);
      o["sessionId"] = trace ? Opt(trace->session_id) : json::value(nullptr);
    }
    if (f.time) {
      o["completionStartTime"] = OptTime(r.completion_start_time_ms);
      o["createdAt"] = FormatIsoMillis(r.created_at_ms);
      o["updatedAt"] = FormatIsoMillis(r.updated_at_ms);
    }
    if (f.io) {
      o["input"] = RawIo(r.input);
      o["output"] = RawIo(r.output);
    }
    if (f.metadata) {
      json::object m;
      for (const auto& kv : r.metadata) {
        const json::value& v = kv.value();
        if (v.is_string() && v.as_string().size() > kMetadataTruncateChars &&
            !expand.contains(std::string(kv.key()))) {
          m[kv.key()] = std::string_view(v.as_string()).substr(0, kMetadataTruncateChars);
        } else {
          m[kv.key()] = v;
        }
      }
      o["metadata"] = std::move(m);
    }
    // Required by the schema in every response; null unless `model` is asked.
    o["modelId"] = nullptr;
    o["inputPrice"] = nullptr;
    o["outputPrice"] = nullptr;
    o["totalPrice"] = nullptr;
    if (f.model) {
      o["providedModelName"] = Opt(r.model);
      o["internalModelId"] = Opt(r.internal_model_id);
      o["modelParameters"] = r.model_parameters;
      o["modelId"] = Opt(r.internal_model_id);
      o["inputPrice"] = DecimalString(r.input_price);
      o["outputPrice"] = DecimalString(r.output_price);
      o["totalPrice"] = DecimalString(r.total_price);
    }
    if (f.usage) {
      json::object usage;
      for (const auto& [k, v] : r.usage_details) usage[k] = v;
      json::object cost;
      for (const auto& [k, v] : r.cost_details) cost[k] = v;
      o["usageDetails"] = std::move(usage);
      o["costDetails"] = std::move(cost);
      o["totalCost"] = OptNum(r.total_cost);
      o["usagePricingTierName"] = Opt(r.pricing_tier_name);
    }
    if (f.prompt) {
      o["promptId"] = nullptr;
      o["promptName"] = Opt(r.prompt_name);
      o["promptVersion"] = r.prompt_version ? json::value(*r.prompt_version) : json::value(nullptr);
    }
    if (f.metrics) {
      o["latency"] = r.end_time_ms
                         ? json::value(static_cast<double>(*r.end_time_ms - r.start_time_ms) / 1e3)
                         : json::value(nullptr);
      o["timeToFirstToken"] =
          r.completion_start_time_ms
              ? json::value(static_cast<double>(*r.completion_start_time_ms - r.start_time_ms) /
                            1e3)
              : json::value(nullptr);
    }
    if (f.trace_context) {
      json::array tags;
      if (trace) {
        for (const auto& t : trace->tags) tags.emplace_back(t);
      }
      o["tags"] = std::move(tags);
      o["release"] = trace ? Opt(trace->release) : json::value(nullptr);
      o["traceName"] = trace ? Opt(trace->name) : json::value(nullptr);
    }
    return o;
  }

  PublicApiDeps d_;
};

}  // namespace

void RegisterV2ReadsApi(Router& r, PublicApiDeps deps) {
  auto api = std::make_shared<V2ReadsApi>(deps);
  r.Add("GET", "/api/public/v2/observations",
        [api](HttpRequest& req, const PathParams&) { return api->ListObservations(req); });
  r.Add("GET", "/api/public/v3/scores",
        [api](HttpRequest& req, const PathParams&) { return api->ListScoresV3(req); });
}

}  // namespace loupe
