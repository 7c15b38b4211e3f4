#include "api/public_api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <future>
#include <map>
#include <unordered_map>

#include "api/json_views.h"
#include "api/metrics_api.h"
#include "api/responses.h"
#include "api/v2_reads_api.h"
#include "common/hash.h"
#include "common/json_parse.h"
#include "common/log.h"
#include "common/time_util.h"
#include "ingest/batch_decoder.h"
#include "query/filter.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr int kMaxPageLimit = 100;
constexpr size_t kMaxDeleteTraceIds = 1000;

// ---------------------------------------------------------------- helpers

// Authenticates a project-scoped route. `allow_scores` admits Bearer
// (public-key) callers, which Langfuse allows only where scores are written.
absl::StatusOr<AuthContext> RequireProject(const PublicApiDeps& d, const HttpRequest& req,
                                           bool allow_scores) {
  auto ctx = d.auth->Authenticate(req.Header("authorization"));
  if (!ctx.ok()) return ctx.status();
  if (ctx->scope == AuthContext::Scope::kOrganization) {
    return absl::PermissionDeniedError(
        "Project ID not found for API token. Are you using an organization key?");
  }
  if (ctx->scope == AuthContext::Scope::kScores && !allow_scores) {
    return absl::PermissionDeniedError(
        "Access denied - insufficient permissions for this endpoint");
  }
  return ctx;
}

// Query parameter parsing that reports what is wrong, zod-style.
class QueryParser {
 public:
  explicit QueryParser(const HttpRequest& req) : req_(req) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  std::optional<std::string> String(std::string_view key) {
    const std::string* v = req_.Query(key);
    if (!v) return std::nullopt;
    return *v;
  }

  // Repeated params or a single value; a single comma list is not split
  // (Langfuse treats it as one value) except where `split_commas`.
  std::vector<std::string> Array(std::string_view key, bool split_commas = false) {
    std::vector<std::string> out;
    for (const std::string& v : req_.QueryAll(key)) {
      if (!split_commas) {
        if (!v.empty()) out.push_back(v);
        continue;
      }
      size_t i = 0;
      while (i <= v.size()) {
        size_t j = v.find(',', i);
        if (j == std::string::npos) j = v.size();
        std::string part = v.substr(i, j - i);
        if (!part.empty()) out.push_back(part);
        i = j + 1;
      }
    }
    return out;
  }

  int Int(std::string_view key, int def, int min, int max) {
    const std::string* v = req_.Query(key);
    if (!v || v->empty()) return def;  // Langfuse treats "" as absent
    int out = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || p != v->data() + v->size()) {
      Fail(key, "Expected integer, received '" + *v + "'");
      return def;
    }
    if (out < min) Fail(key, "Number must be greater than or equal to " + std::to_string(min));
    if (out > max) Fail(key, "Number must be less than or equal to " + std::to_string(max));
    return out;
  }

  std::optional<int64_t> Time(std::string_view key) {
    const std::string* v = req_.Query(key);
    if (!v || v->empty()) return std::nullopt;
    auto us = ParseIsoMicros(*v);
    if (!us) {
      Fail(key, "Invalid datetime '" + *v + "'");
      return std::nullopt;
    }
    return *us / 1000;
  }

  std::vector<FilterCondition> Filters(const std::vector<FilterColumn>& columns) {
    const std::string* v = req_.Query("filter");
    if (!v || v->empty()) return {};
    auto parsed = ParseFilterParam(*v, columns);
    if (!parsed.ok()) {
      Fail("filter", std::string(parsed.status().message()));
      return {};
    }
    return std::move(*parsed);
  }

  PageRequest Page() {
    PageRequest p;
    p.page = Int("page", 1, 1, 1 << 30);
    p.limit = Int("limit", 50, 1, kMaxPageLimit);
    return p;
  }

  void Fail(std::string_view key, std::string_view what) {
    if (error_.empty()) error_ = std::string(key) + ": " + std::string(what);
  }

 private:
  const HttpRequest& req_;
  std::string error_;
};

HttpResponse InvalidQuery(const QueryParser& q) {
  return ErrorResponse(400, "InvalidRequestError", "Invalid request data: " + q.error());
}

std::string SdkName(const HttpRequest& req) { return req.Header("x-langfuse-sdk-name"); }
std::string SdkVersion(const HttpRequest& req) { return req.Header("x-langfuse-sdk-version"); }

// The batch response body: successes with 201, errors with their status.
json::object MultiStatusBody(const DecodedBatch& batch) {
  json::array successes;
  for (const auto& id : batch.successes) {
    json::object s;
    s["id"] = id;
    s["status"] = 201;
    successes.push_back(std::move(s));
  }
  json::array errors;
  for (const auto& e : batch.errors) {
    json::object o;
    o["id"] = e.id;
    o["status"] = e.status;
    o["message"] = e.message;
    if (!e.error.empty()) o["error"] = e.error;
    errors.push_back(std::move(o));
  }
  json::object body;
  body["successes"] = std::move(successes);
  body["errors"] = std::move(errors);
  return body;
}

absl::StatusOr<json::object> ParseJsonObject(const std::string& body) {
  boost::system::error_code ec;
  json::value v = ParseJson(body, ec);
  if (ec) {
    return absl::InvalidArgumentError("Invalid JSON in request body: " + JsonErrorMessage(ec));
  }
  if (!v.is_object()) return absl::InvalidArgumentError("Request body must be a JSON object");
  return std::move(v.as_object());
}

// ---------------------------------------------------------------- handlers

class PublicApi {
 public:
  explicit PublicApi(PublicApiDeps deps) : d_(deps) {}

  HttpResponse Health(HttpRequest& req) {
    json::object body;
    body["version"] = kCompatibleLangfuseVersion;
    const std::string* db_check = req.Query("failIfDatabaseUnavailable");
    if (db_check && *db_check == "true") {
      if (!d_.meta->Ping().ok() || !d_.events->Ping().ok()) {
        body["status"] = "Database not available";
        return JsonResponse(503, body);
      }
    }
    body["status"] = "OK";
    return JsonResponse(200, body);
  }

  HttpResponse Ready(HttpRequest&) {
    json::object body;
    body["version"] = kCompatibleLangfuseVersion;
    if (d_.shutting_down && d_.shutting_down->load()) {
      body["status"] = "Server is shutting down";
      return JsonResponse(500, body);
    }
    body["status"] = "OK";
    return JsonResponse(200, body);
  }

  HttpResponse Ingestion(HttpRequest& req) {
    auto auth = d_.auth->Authenticate(req.Header("authorization"));
    if (!auth.ok()) return StatusResponse(auth.status());
    if (auth->scope == AuthContext::Scope::kOrganization) {
      json::object o;
      o["message"] = "Missing projectId in scope. Are you using an organization key?";
      return JsonResponse(401, o);
    }
    DecodeOptions opts;
    opts.scores_only = auth->scope == AuthContext::Scope::kScores;
    opts.sdk_name = SdkName(req);
    opts.sdk_version = SdkVersion(req);
    auto batch = DecodeIngestionBatch(req.body, opts);
    if (!batch.ok()) {
      json::object o;
      o["message"] = "Invalid request data";
      json::array errors;
      errors.emplace_back(std::string(batch.status().message()));
      o["errors"] = std::move(errors);
      return JsonResponse(400, o);
    }
    if (d_.score_configs) {
      absl::Status checked = d_.score_configs->ValidateBatch(auth->project_id, &*batch);
      if (!checked.ok()) return StatusResponse(checked);
    }
    size_t n = batch->events.size();
    absl::Status s = d_.ingest->Accept(auth->project_id, std::move(batch->events));
    if (!s.ok()) return StatusResponse(s);
    LogDebug("ingested batch",
             {{"project", auth->project_id}, {"events", n}, {"errors", batch->errors.size()}});
    return JsonResponse(207, MultiStatusBody(*batch));
  }

  // Legacy single-entity routes (pre-batch SDKs): wrap the body in one event.
  HttpResponse LegacyEvent(HttpRequest& req, const char* event_type, const char* id_field,
                           bool generation_fields) {
    auto auth = RequireProject(d_, req, false);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) return StatusResponse(body.status());
    if (id_field) {
      if (json::value* v = body->if_contains(id_field)) {
        (*body)["id"] = *v;
        body->erase(id_field);
      }
    }
    if (generation_fields) {
      for (auto [from, to] : {std::pair{"prompt", "input"}, std::pair{"completion", "output"}}) {
        if (json::value* v = body->if_contains(from); v && !body->contains(to)) {
          (*body)[to] = *v;
          body->erase(from);
        }
      }
    }
    const json::value* idv = body->if_contains("id");
    if (!idv || !idv->is_string() || idv->as_string().empty()) {
      if (id_field) return InvalidRequest(std::string(id_field) + ": Required");
      (*body)["id"] = NewUuid();
    }
    return WriteSingle(*auth, req, event_type, std::move(*body), 200);
  }

  HttpResponse PostScore(HttpRequest& req) {
    auto auth = RequireProject(d_, req, true);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) return StatusResponse(body.status());
    const json::value* idv = body->if_contains("id");
    if (!idv || !idv->is_string() || idv->as_string().empty()) (*body)["id"] = NewUuid();
    return WriteSingle(*auth, req, "score-create", std::move(*body), 200);
  }

  HttpResponse WriteSingle(const AuthContext& auth, const HttpRequest& req, const char* type,
                           json::object body, int success_status) {
    std::string entity_id(body.at("id").as_string());
    json::object envelope;
    envelope["id"] = NewUuid();
    envelope["type"] = type;
    envelope["timestamp"] = FormatIsoMillis(NowMillis());
    envelope["body"] = std::move(body);
    DecodeOptions opts;
    opts.sdk_name = SdkName(req);
    opts.sdk_version = SdkVersion(req);
    DecodedBatch batch;
    DecodeEvent(envelope, opts, &batch);
    if (d_.score_configs) {
      absl::Status checked = d_.score_configs->ValidateBatch(auth.project_id, &batch);
      if (!checked.ok()) return StatusResponse(checked);
    }
    if (!batch.errors.empty()) {
      const EventError& e = batch.errors.front();
      json::object o;
      o["message"] = e.message + ": " + e.error;
      return JsonResponse(e.status, o);
    }
    absl::Status s = d_.ingest->Accept(auth.project_id, std::move(batch.events));
    if (!s.ok()) return StatusResponse(s);
    json::object o;
    o["id"] = entity_id;
    return JsonResponse(success_status, o);
  }

  HttpResponse ListTraces(HttpRequest& req) {
    auto auth = RequireProject(d_, req, false);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryParser q(req);
    TraceQuery tq;
    tq.page = q.Page();
    tq.user_id = q.String("userId");
    tq.name = q.String("name");
    tq.session_id = q.String("sessionId");
    tq.release = q.String("release");
    tq.version = q.String("version");
    tq.environments = q.Array("environment");
    tq.tags = q.Array("tags");
    tq.from_ms = q.Time("fromTimestamp");
    tq.to_ms = q.Time("toTimestamp");
    tq.filters = q.Filters(TraceFilterColumns());
    if (auto order = q.String("orderBy"); order && !order->empty()) {
      size_t dot = order->rfind('.');
      std::string col = order->substr(0, dot);
      std::string dir = dot == std::string::npos ? "" : order->substr(dot + 1);
      static const char* kColumns[] = {"id",        "timestamp",   "name",      "userId",
                                       "release",   "version",     "public",    "bookmarked",
                                       "sessionId", "environment", "createdAt", "updatedAt",
                                       "totalCost", "latency"};
      bool known = std::find_if(std::begin(kColumns), std::end(kColumns),
                                [&](const char* c) { return col == c; }) != std::end(kColumns);
      if (!known || (dir != "asc" && dir != "desc")) {
        q.Fail("orderBy", "Invalid orderBy '" + *order +
                              "', expected <column>.<asc|desc> with a trace column");
      }
      tq.order_by = col;
      tq.descending = dir == "desc";
    }
    if (!q.ok()) return InvalidQuery(q);
    // Field groups: core, io, scores, observations, metrics (default all).
    bool io = true, scores = true, observations = true, metrics = true;
    if (auto fields = q.String("fields"); fields && !fields->empty()) {
      io = scores = observations = metrics = false;
      for (const std::string& f : q.Array("fields", true)) {
        io |= f == "io";
        scores |= f == "scores";
        observations |= f == "observations";
        metrics |= f == "metrics";
      }
    }
    auto page = d_.events->ListTraces(auth->project_id, tq);
    if (!page.ok()) return StatusResponse(page.status());
    std::vector<std::string> trace_ids;
    for (const TraceRecord& t : page->items) trace_ids.push_back(t.id);
    std::map<std::string, std::vector<std::string>> obs_of, scores_of;
    if (observations) {
      auto ids = d_.events->ObservationIdsOfTraces(auth->project_id, trace_ids);
      if (!ids.ok()) return StatusResponse(ids.status());
      obs_of = std::move(*ids);
    }
    if (scores) {
      auto s = d_.events->ScoresOfTraces(auth->project_id, trace_ids);
      if (!s.ok()) return StatusResponse(s.status());
      for (const auto& [trace_id, list] : *s) {
        for (const auto& sc : list) scores_of[trace_id].push_back(sc.id);
      }
    }
    json::array data;
    for (const TraceRecord& t : page->items) {
      data.push_back(TraceWithDetailsJson(t, obs_of[t.id], scores_of[t.id], io, metrics));
    }
    json::object body;
    body["data"] = std::move(data);
    body["meta"] = MetaJson(tq.page.page, tq.page.limit, page->total_items);
    return JsonResponse(200, body);
  }

  HttpResponse GetTrace(HttpRequest& req, const PathParams& p) {
    auto auth = RequireProject(d_, req, false);
    if (!auth.ok()) return StatusResponse(auth.status());
    const std::string& id = p.at("traceId");
    QueryParser q(req);
    bool io = true, with_scores = true, with_observations = true, metrics = true;
    if (auto fields = q.String("fields"); fields && !fields->empty()) {
      io = with_scores = with_observations = metrics = false;
      for (const std::string& f : q.Array("fields", true)) {
        io |= f == "io";
        with_scores |= f == "scores";
        with_observations |= f == "observations";
        metrics |= f == "metrics";
      }
    }
    auto trace = d_.events->GetTrace(auth->project_id, id);
    if (!trace.ok()) return StatusResponse(trace.status());
    if (!*trace) {
      return ErrorResponse(404, "LangfuseNotFoundError",
                           "Trace " + id + " not found within authorized project");
    }
    std::vector<std::string> none;
    json::object o = TraceWithDetailsJson(**trace, none, none, io, metrics);
    // The observations and the scores side by side: on a remote store each
    // read is a round trip, and the response waits for the slower one only.
    std::future<absl::StatusOr<std::vector<ObservationRecord>>> observations;
    if (with_observations) {
      observations = std::async(
          std::launch::async, [&] { return d_.events->ObservationsOfTrace(auth->project_id, id); });
    }
    json::array sc;
    absl::Status scores_status = absl::OkStatus();
    if (with_scores) {
      auto scores = d_.events->ScoresOfTrace(auth->project_id, id);
      if (scores.ok()) {
        for (const auto& s : *scores) sc.push_back(ScoreJson(s));
      } else {
        scores_status = scores.status();
      }
    }
    json::array obs;
    if (with_observations) {
      auto observations_read = observations.get();
      if (!observations_read.ok()) return StatusResponse(observations_read.status());
      for (const auto& r : *observations_read) obs.push_back(ObservationJson(r));
    }
    if (!scores_status.ok()) return StatusResponse(scores_status);
    o["observations"] = std::move(obs);
    o["scores"] = std::move(sc);
    return JsonResponse(200, o);
  }

  HttpResponse DeleteTrace(HttpRequest& req, const PathParams& p) {
    auto auth = RequireProject(d_, req, false);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto n = d_.events->DeleteTraces(auth->project_id, {p.at("traceId")});
    if (!n.ok()) return StatusResponse(n.status());
    json::object o;
    o["message"] = "Trace deleted successfully";
    return JsonResponse(200, o);
  }

  HttpResponse DeleteTraces(HttpRequest& req) {
    auto auth = RequireProject(d_, req, false);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObject(req.body);
    if (!body.ok()) return StatusResponse(body.status());
    for (const auto& kv : *body) {
      if (kv.key() != "traceIds") {
        return InvalidRequest("Unrecognized key in body: '" + std::string(kv.key()) + "'");
      }
    }
    const json::value* ids = body->if_contains("traceIds");
    if (!ids || !ids->is_array()) return InvalidRequest("traceIds: Required array of strings");
    const json::array& arr = ids->as_array();
    if (arr.empty() || arr.size() > kMaxDeleteTraceIds) {
      return InvalidRequest("traceIds: must contain 1 to 1000 ids");
    }
    std::vector<std::string> list;
    for (const auto& v : arr) {
      if (!v.is_string() || v.as_string().empty()) {
        return InvalidRequest("traceIds: Expected array of non-empty strings");
      }
      list.emplace_back(v.as_string());
    }
    auto n = d_.events->DeleteTraces(auth->project_id, list);
    if (!n.ok()) return StatusResponse(n.status());
    json::object o;
    o["message"] = "Traces deleted successfully";
    return JsonResponse(200, o);
  }

  HttpResponse ListObservations(HttpRequest& req) {
    auto auth = RequireProject(d_, req, false);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryParser q(req);
    ObservationQuery oq;
    oq.page = q.Page();
    oq.name = q.String("name");
    oq.user_id = q.String("userId");
    oq.type = q.String("type");
    oq.trace_id = q.String("traceId");
    oq.level = q.String("level");
    oq.parent_observation_id = q.String("parentObservationId");
    oq.version = q.String("version");
    oq.environments = q.Array("environment");
    oq.from_start_ms = q.Time("fromStartTime");
    oq.to_start_ms = q.Time("toStartTime");
    oq.filters = q.Filters(ObservationFilterColumns());
    if (oq.level && *oq.level != "DEBUG" && *oq.level != "DEFAULT" && *oq.level != "WARNING" &&
        *oq.level != "ERROR") {
      q.Fail("level", "Invalid enum value. Expected 'DEBUG' | 'DEFAULT' | 'WARNING' | 'ERROR'");
    }
    if (!q.ok()) return InvalidQuery(q);
    auto page = d_.events->ListObservations(auth->project_id, oq);
    if (!page.ok()) return StatusResponse(page.status());
    json::array data;
    for (const auto& o : page->items) data.push_back(ObservationJson(o));
    json::object body;
    body["data"] = std::move(data);
    body["meta"] = MetaJson(oq.page.page, oq.page.limit, page->total_items);
    return JsonResponse(200, body);
  }

  HttpResponse GetObservation(HttpRequest& req, const PathParams& p) {
    auto auth = RequireProject(d_, req, false);
    if (!auth.ok()) return StatusResponse(auth.status());
    const std::string& id = p.at("observationId");
    auto obs = d_.events->GetObservation(auth->project_id, id);
    if (!obs.ok()) return StatusResponse(obs.status());
    if (!*obs) {
      return ErrorResponse(404, "LangfuseNotFoundError",
                           "Observation " + id + " not found within authorized project");
    }
    return JsonResponse(200, ObservationJson(**obs));
  }

  HttpResponse ListSessions(HttpRequest& req) {
    auto auth = RequireProject(d_, req, false);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryParser q(req);
    SessionQuery sq;
    sq.page = q.Page();
    sq.from_ms = q.Time("fromTimestamp");
    sq.to_ms = q.Time("toTimestamp");
    sq.environments = q.Array("environment");
    if (!q.ok()) return InvalidQuery(q);
    auto page = d_.events->ListSessions(auth->project_id, sq);
    if (!page.ok()) return StatusResponse(page.status());
    json::array data;
    for (const auto& s : page->items) data.push_back(SessionJson(s));
    json::object body;
    body["data"] = std::move(data);
    body["meta"] = MetaJson(sq.page.page, sq.page.limit, page->total_items);
    return JsonResponse(200, body);
  }

  HttpResponse GetSession(HttpRequest& req, const PathParams& p) {
    auto auth = RequireProject(d_, req, false);
    if (!auth.ok()) return StatusResponse(auth.status());
    const std::string& id = p.at("sessionId");
    auto session = d_.events->GetSession(auth->project_id, id);
    if (!session.ok()) return StatusResponse(session.status());
    if (!*session) {
      return ErrorResponse(404, "LangfuseNotFoundError",
                           "Session " + id + " not found within authorized project");
    }
    auto traces = d_.events->TracesOfSession(auth->project_id, id);
    if (!traces.ok()) return StatusResponse(traces.status());
    json::object o = SessionJson(**session);
    json::array arr;
    for (const auto& t : *traces) arr.push_back(TraceJson(t));
    o["traces"] = std::move(arr);
    return JsonResponse(200, o);
  }

  HttpResponse ListScores(HttpRequest& req, bool trace_scores_only) {
    auto auth = RequireProject(d_, req, false);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryParser q(req);
    ScoreQuery sq;
    sq.page = q.Page();
    sq.user_id = q.String("userId");
    sq.name = q.String("name");
    sq.from_ms = q.Time("fromTimestamp");
    sq.to_ms = q.Time("toTimestamp");
    sq.environments = q.Array("environment");
    sq.source = q.String("source");
    sq.config_id = q.String("configId");
    sq.session_id = q.String("sessionId");
    sq.dataset_run_id = q.String("datasetRunId");
    sq.trace_id = q.String("traceId");
    sq.observation_id = q.String("observationId");
    sq.queue_id = q.String("queueId");
    sq.data_type = q.String("dataType");
    sq.score_ids = q.Array("scoreIds", true);
    sq.trace_tags = q.Array("traceTags");
    sq.filters = q.Filters(ScoreFilterColumns());
    if (auto v = q.String("value"); v && !v->empty()) {
      char* end = nullptr;
      double d = std::strtod(v->c_str(), &end);
      if (end != v->c_str() + v->size()) {
        q.Fail("value", "Expected number, received '" + *v + "'");
      } else {
        sq.value = d;
      }
    }
    if (auto op = q.String("operator"); op && !op->empty()) {
      static const char* kOps[] = {"<", ">", "<=", ">=", "!=", "="};
      bool known = std::find_if(std::begin(kOps), std::end(kOps),
                                [&](const char* o) { return *op == o; }) != std::end(kOps);
      if (!known)
        q.Fail("operator", "Invalid enum value. Expected '<' | '>' | '<=' | '>=' | '!=' | '='");
      sq.value_operator = *op == "!=" ? "<>" : *op;
    }
    if (sq.source && *sq.source != "API" && *sq.source != "EVAL" && *sq.source != "ANNOTATION") {
      q.Fail("source", "Invalid enum value. Expected 'API' | 'EVAL' | 'ANNOTATION'");
    }
    // Field groups: score, trace (default both).
    bool with_trace = true;
    if (auto fields = q.String("fields"); fields && !fields->empty()) {
      with_trace = false;
      for (const std::string& f : q.Array("fields", true)) with_trace |= f == "trace";
    }
    if (!q.ok()) return InvalidQuery(q);
    auto page = d_.events->ListScores(auth->project_id, sq);
    if (!page.ok()) return StatusResponse(page.status());
    json::array data;
    std::unordered_map<std::string, std::optional<TraceRecord>> traces;
    for (const auto& s : page->items) {
      if (trace_scores_only && !s.trace_id) continue;
      json::object o = ScoreJson(s);
      if (s.trace_id && with_trace) {
        auto it = traces.find(*s.trace_id);
        if (it == traces.end()) {
          auto t = d_.events->GetTrace(auth->project_id, *s.trace_id);
          if (!t.ok()) return StatusResponse(t.status());
          it = traces.emplace(*s.trace_id, std::move(*t)).first;
        }
        if (it->second) {
          const TraceRecord& t = *it->second;
          json::object tj;
          tj["userId"] = t.user_id ? json::value(*t.user_id) : json::value(nullptr);
          json::array tags;
          for (const auto& tag : t.tags) tags.emplace_back(tag);
          tj["tags"] = std::move(tags);
          tj["environment"] = t.environment;
          tj["sessionId"] = t.session_id ? json::value(*t.session_id) : json::value(nullptr);
          o["trace"] = std::move(tj);
        }
      }
      data.push_back(std::move(o));
    }
    json::object body;
    body["data"] = std::move(data);
    body["meta"] = MetaJson(sq.page.page, sq.page.limit, page->total_items);
    return JsonResponse(200, body);
  }

  HttpResponse GetScore(HttpRequest& req, const PathParams& p) {
    auto auth = RequireProject(d_, req, false);
    if (!auth.ok()) return StatusResponse(auth.status());
    const std::string& id = p.at("scoreId");
    auto score = d_.events->GetScore(auth->project_id, id);
    if (!score.ok()) return StatusResponse(score.status());
    if (!*score) {
      return ErrorResponse(404, "LangfuseNotFoundError",
                           "Score " + id + " not found within authorized project");
    }
    return JsonResponse(200, ScoreJson(**score));
  }

  HttpResponse DeleteScore(HttpRequest& req, const PathParams& p) {
    auto auth = RequireProject(d_, req, false);
    if (!auth.ok()) return StatusResponse(auth.status());
    const std::string& id = p.at("scoreId");
    auto found = d_.events->DeleteScore(auth->project_id, id);
    if (!found.ok()) return StatusResponse(found.status());
    if (!*found) {
      return ErrorResponse(404, "LangfuseNotFoundError",
                           "Score " + id + " not found within authorized project");
    }
    json::object o;
    o["message"] = "Score deleted successfully";
    return JsonResponse(202, o);
  }

  HttpResponse ListProjects(HttpRequest& req) {
    auto auth = d_.auth->Authenticate(req.Header("authorization"));
    if (!auth.ok()) return StatusResponse(auth.status());
    if (auth->scope != AuthContext::Scope::kProject) {
      return StatusResponse(absl::PermissionDeniedError(
          "Access denied - insufficient permissions for this endpoint"));
    }
    auto project = d_.meta->GetProject(auth->project_id);
    if (!project.ok()) return StatusResponse(project.status());
    json::array data;
    if (*project) {
      const ProjectRecord& p = **project;
      json::object o;
      o["id"] = p.id;
      o["name"] = p.name;
      json::object org;
      org["id"] = p.org_id;
      auto org_rec = d_.meta->GetOrganization(p.org_id);
      org["name"] = (org_rec.ok() && *org_rec) ? (*org_rec)->name : "";
      o["organization"] = std::move(org);
      boost::system::error_code ec;
      json::value meta = ParseStoredJson(p.metadata_json, ec);
      o["metadata"] = (!ec && meta.is_object()) ? meta : json::value(json::object());
      if (p.retention_days && *p.retention_days > 0) o["retentionDays"] = *p.retention_days;
      data.push_back(std::move(o));
    }
    json::object body;
    body["data"] = std::move(data);
    return JsonResponse(200, body);
  }

 private:
  PublicApiDeps d_;
};

}  // namespace

void RegisterPublicApi(Router& r, PublicApiDeps deps) {
  auto api = std::make_shared<PublicApi>(deps);
  auto simple = [api](HttpResponse (PublicApi::*fn)(HttpRequest&)) {
    return [api, fn](HttpRequest& req, const PathParams&) { return ((*api).*fn)(req); };
  };
  auto with_params = [api](HttpResponse (PublicApi::*fn)(HttpRequest&, const PathParams&)) {
    return [api, fn](HttpRequest& req, const PathParams& p) { return ((*api).*fn)(req, p); };
  };
  r.Add("GET", "/api/public/health", simple(&PublicApi::Health));
  r.Add("GET", "/api/public/ready", simple(&PublicApi::Ready));
  r.Add("POST", "/api/public/ingestion", simple(&PublicApi::Ingestion));

  r.Add("POST", "/api/public/traces", [api](HttpRequest& req, const PathParams&) {
    return api->LegacyEvent(req, "trace-create", nullptr, false);
  });
  r.Add("POST", "/api/public/generations", [api](HttpRequest& req, const PathParams&) {
    return api->LegacyEvent(req, "generation-create", nullptr, true);
  });
  r.Add("PATCH", "/api/public/generations", [api](HttpRequest& req, const PathParams&) {
    return api->LegacyEvent(req, "generation-update", "generationId", true);
  });
  r.Add("POST", "/api/public/spans", [api](HttpRequest& req, const PathParams&) {
    return api->LegacyEvent(req, "span-create", nullptr, false);
  });
  r.Add("PATCH", "/api/public/spans", [api](HttpRequest& req, const PathParams&) {
    return api->LegacyEvent(req, "span-update", "spanId", false);
  });
  r.Add("POST", "/api/public/events", [api](HttpRequest& req, const PathParams&) {
    return api->LegacyEvent(req, "event-create", nullptr, false);
  });

  r.Add("GET", "/api/public/traces", simple(&PublicApi::ListTraces));
  r.Add("DELETE", "/api/public/traces", simple(&PublicApi::DeleteTraces));
  r.Add("GET", "/api/public/traces/{traceId}", with_params(&PublicApi::GetTrace));
  r.Add("DELETE", "/api/public/traces/{traceId}", with_params(&PublicApi::DeleteTrace));
  r.Add("GET", "/api/public/observations", simple(&PublicApi::ListObservations));
  r.Add("GET", "/api/public/observations/{observationId}", with_params(&PublicApi::GetObservation));
  r.Add("GET", "/api/public/sessions", simple(&PublicApi::ListSessions));
  r.Add("GET", "/api/public/sessions/{sessionId}", with_params(&PublicApi::GetSession));

  r.Add("POST", "/api/public/scores", simple(&PublicApi::PostScore));
  r.Add("GET", "/api/public/v2/scores",
        [api](HttpRequest& req, const PathParams&) { return api->ListScores(req, false); });
  r.Add("GET", "/api/public/scores",
        [api](HttpRequest& req, const PathParams&) { return api->ListScores(req, true); });
  r.Add("GET", "/api/public/v2/scores/{scoreId}", with_params(&PublicApi::GetScore));
  r.Add("GET", "/api/public/scores/{scoreId}", with_params(&PublicApi::GetScore));
  r.Add("DELETE", "/api/public/scores/{scoreId}", with_params(&PublicApi::DeleteScore));

  r.Add("GET", "/api/public/projects", simple(&PublicApi::ListProjects));
  RegisterMetricsApi(r, deps);
  RegisterV2ReadsApi(r, deps);
}

}  // namespace loupe
