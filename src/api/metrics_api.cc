#include "api/metrics_api.h"

#include <charconv>

#include "api/json_views.h"
#include "api/responses.h"
#include "common/time_util.h"
#include "query/metrics.h"

namespace loupe {
namespace {

namespace json = boost::json;

absl::StatusOr<AuthContext> Authenticate(const PublicApiDeps& d, const HttpRequest& req) {
  auto ctx = d.auth->Authenticate(req.Header("authorization"));
  if (!ctx.ok()) return ctx.status();
  if (ctx->scope == AuthContext::Scope::kOrganization) {
    return absl::PermissionDeniedError(
        "Project ID not found for API token. Are you using an organization key?");
  }
  if (ctx->scope != AuthContext::Scope::kProject) {
    return absl::PermissionDeniedError(
        "Access denied - insufficient permissions for this endpoint");
  }
  return ctx;
}

HttpResponse Metrics(const PublicApiDeps& d, HttpRequest& req, bool v2) {
  auto auth = Authenticate(d, req);
  if (!auth.ok()) return StatusResponse(auth.status());
  const std::string* query = req.Query("query");
  auto parsed = ParseMetricsQuery(query ? *query : "", v2);
  if (!parsed.ok())
    return InvalidRequest("Invalid query: " + std::string(parsed.status().message()));
  auto rows = d.events->QueryMetrics(auth->project_id, *parsed);
  if (!rows.ok()) return StatusResponse(rows.status());
  json::object body;
  body["data"] = std::move(*rows);
  return JsonResponse(200, body);
}

bool ParseInt(const std::string* v, int min, int max, int* out) {
  if (!v || v->empty()) return true;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), *out);
  return ec == std::errc() && p == v->data() + v->size() && *out >= min && *out <= max;
}

HttpResponse Daily(const PublicApiDeps& d, HttpRequest& req) {
  auto auth = Authenticate(d, req);
  if (!auth.ok()) return StatusResponse(auth.status());
  DailyMetricsQuery q;
  if (!ParseInt(req.Query("page"), 1, 1 << 30, &q.page.page)) {
    return InvalidRequest("page: must be a positive integer");
  }
  if (!ParseInt(req.Query("limit"), 1, 100, &q.page.limit)) {
    return InvalidRequest("limit: must be an integer from 1 to 100");
  }
  if (const std::string* v = req.Query("traceName"); v && !v->empty()) q.trace_name = *v;
  if (const std::string* v = req.Query("userId"); v && !v->empty()) q.user_id = *v;
  for (const auto& t : req.QueryAll("tags")) {
    if (!t.empty()) q.tags.push_back(t);
  }
  for (const auto& e : req.QueryAll("environment")) {
    if (!e.empty()) q.environments.push_back(e);
  }
  for (const char* key : {"fromTimestamp", "toTimestamp"}) {
    const std::string* v = req.Query(key);
    if (!v || v->empty()) continue;
    auto us = ParseIsoMicros(*v);
    if (!us) return InvalidRequest(std::string(key) + ": invalid date-time '" + *v + "'");
    (key[0] == 'f' ? q.from_ms : q.to_ms) = *us / 1000;
  }
  auto page = d.events->DailyMetrics(auth->project_id, q);
  if (!page.ok()) return StatusResponse(page.status());
  json::array data;
  for (const DailyMetricsRow& r : page->items) {
    json::object o;
    o["date"] = r.date;
    o["countTraces"] = r.count_traces;
    o["countObservations"] = r.count_observations;
    o["totalCost"] = r.total_cost;
    json::array usage;
    for (const DailyModelUsage& u : r.usage) {
      json::object m;
      m["model"] = u.model;
      m["inputUsage"] = u.input_usage;
      m["outputUsage"] = u.output_usage;
      m["totalUsage"] = u.total_usage;
      m["countObservations"] = u.count_observations;
      m["countTraces"] = u.count_traces;
      m["totalCost"] = u.total_cost;
      usage.push_back(std::move(m));
    }
    o["usage"] = std::move(usage);
    data.push_back(std::move(o));
  }
  json::object body;
  body["data"] = std::move(data);
  body["meta"] = MetaJson(q.page.page, q.page.limit, page->total_items);
  return JsonResponse(200, body);
}

}  // namespace

void RegisterMetricsApi(Router& router, PublicApiDeps deps) {
  router.Add("GET", "/api/public/metrics",
             [deps](HttpRequest& req, const PathParams&) { return Metrics(deps, req, false); });
  router.Add("GET", "/api/public/v2/metrics",
             [deps](HttpRequest& req, const PathParams&) { return Metrics(deps, req, true); });
  router.Add("GET", "/api/public/metrics/daily",
             [deps](HttpRequest& req, const PathParams&) { return Daily(deps, req); });
}

}  // namespace loupe
