#include "api/datasets_api.h"

#include <algorithm>
#include <climits>
#include <map>
#include <memory>

#include "api/experiments_api.h"
#include "api/handler_support.h"
#include "api/json_schema.h"
#include "api/json_views.h"
#include "api/responses.h"
#include "common/time_util.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr size_t kMaxItemIdLength = 255;

json::object DatasetJson(const DatasetRecord& d) {
  json::object o;
  o["id"] = d.id;
  o["name"] = d.name;
  o["description"] = StringOrNull(d.description);
  o["metadata"] = d.metadata;
  o["inputSchema"] = d.input_schema;
  o["expectedOutputSchema"] = d.expected_output_schema;
  o["projectId"] = d.project_id;
  o["createdAt"] = FormatIsoMillis(d.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(d.updated_at_ms);
  return o;
}

json::object ItemJson(const DatasetItemRecord& i) {
  json::object o;
  o["id"] = i.id;
  o["status"] = i.status;
  o["input"] = i.input;
  o["expectedOutput"] = i.expected_output;
  o["metadata"] = i.metadata;
  o["sourceTraceId"] = StringOrNull(i.source_trace_id);
  o["sourceObservationId"] = StringOrNull(i.source_observation_id);
  o["datasetId"] = i.dataset_id;
  o["datasetName"] = i.dataset_name;
  o["createdAt"] = FormatIsoMillis(i.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(i.updated_at_ms);
  // Media references are resolved by the media API; Loupe's dataset items
  // carry none of their own.
  o["mediaReferences"] = json::array();
  return o;
}

json::object RunJson(const DatasetRunRecord& r) {
  json::object o;
  o["id"] = r.id;
  o["name"] = r.name;
  o["description"] = StringOrNull(r.description);
  o["metadata"] = r.metadata;
  o["datasetId"] = r.dataset_id;
  o["datasetName"] = r.dataset_name;
  o["createdAt"] = FormatIsoMillis(r.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(r.updated_at_ms);
  return o;
}

json::object RunItemJson(const DatasetRunItemRecord& i) {
  json::object o;
  o["id"] = i.id;
  o["datasetRunId"] = i.dataset_run_id;
  o["datasetRunName"] = i.dataset_run_name;
  o["datasetItemId"] = i.dataset_item_id;
  o["traceId"] = i.trace_id;
  o["observationId"] = StringOrNull(i.observation_id);
  o["createdAt"] = FormatIsoMillis(i.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(i.updated_at_ms);
  return o;
}

json::object PageJson(json::array data, const Paging& p, int64_t total) {
  json::object body;
  body["data"] = std::move(data);
  body["meta"] = MetaJson(p.page, p.limit, total);
  return body;
}

HttpResponse NotFound(std::string_view message) {
  return ErrorResponse(404, "LangfuseNotFoundError", message);
}

HttpResponse BadQuery(const QueryReader& q) {
  return InvalidRequest("Invalid request data: " + q.error());
}

// A JSON value member that may be absent or null (both → nullopt).
std::optional<json::value> OptionalJson(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  return *v;
}

absl::StatusOr<DatasetUpsert> ParseDatasetBody(const json::object& body) {
  DatasetUpsert u;
  const json::value* name = body.if_contains("name");
  if (!name || !name->is_string()) return absl::InvalidArgumentError("name: Required string");
  if (name->as_string().empty()) return absl::InvalidArgumentError("name: Must not be empty");
  u.name = std::string(name->as_string());
  std::string error;
  u.description = OptionalStringMember(body, "description", &error);
  u.metadata = OptionalJson(body, "metadata");
  for (const char* key : {"inputSchema", "expectedOutputSchema"}) {
    std::optional<json::value> schema = OptionalJson(body, key);
    if (schema && !schema->is_object() && !schema->is_bool()) {
      if (error.empty()) error = std::string(key) + ": Expected a JSON Schema (object)";
    } else if (schema && error.empty()) {
      auto compiled = JsonSchema::Compile(*schema);
      if (!compiled.ok()) {
        error = std::string(key) +
                ": Must be a valid JSON Schema: " + std::string(compiled.status().message());
      }
    }
    (std::string_view(key) == "inputSchema" ? u.input_schema : u.expected_output_schema) = schema;
  }
  if (!error.empty()) return absl::InvalidArgumentError(error);
  return u;
}

// Enforces a dataset's inputSchema / expectedOutputSchema on its items,
// compiling each schema once per request. `on_schema_change` words the
// error for a dataset whose new schemas an existing item fails.
DatasetItemCheck SchemaCheck(bool on_schema_change) {
  struct Compiled {
    bool done = false;
    json::value source;
    absl::StatusOr<std::unique_ptr<JsonSchema>> schema;
  };
  auto cache = std::make_shared<std::map<std::string, Compiled>>();
  return [cache, on_schema_change](const DatasetRecord& d,
                                   const DatasetItemRecord& item) -> absl::Status {
    struct Field {
      const char* schema_key;
      const char* value_key;
      const json::value& schema;
      const json::value& value;
    };
    for (const Field& f : {Field{"inputSchema", "input", d.input_schema, item.input},
                           Field{"expectedOutputSchema", "expectedOutput", d.expected_output_schema,
                                 item.expected_output}}) {
      if (f.schema.is_null()) continue;
      Compiled& c = (*cache)[f.schema_key];
      if (!c.done || c.source != f.schema) {
        c.done = true;
        c.source = f.schema;
        c.schema = JsonSchema::Compile(f.schema);
      }
      if (!c.schema.ok()) {
        return absl::InvalidArgumentError(
            std::string(f.schema_key) + " of dataset '" + d.name +
            "' cannot be enforced: " + std::string(c.schema.status().message()));
      }
      absl::Status s = (*c.schema)->Validate(f.value);
      if (s.ok()) continue;
      if (on_schema_change) {
        return absl::InvalidArgumentError(std::string(f.schema_key) + ": dataset item " + item.id +
                                          " does not match it: " + std::string(s.message()));
      }
      return absl::InvalidArgumentError(std::string(f.value_key) + " does not match the " +
                                        f.schema_key + " of dataset '" + d.name +
                                        "': " + std::string(s.message()));
    }
    return absl::OkStatus();
  };
}

class DatasetApi {
 public:
  explicit DatasetApi(DatasetApiDeps deps) : d_(deps) {}

  // ------------------------------------------------------------ datasets

  HttpResponse CreateDataset(HttpRequest& req, bool legacy) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req.body);
    if (!body.ok()) return StatusResponse(body.status());
    auto upsert = ParseDatasetBody(*body);
    if (!upsert.ok()) return StatusResponse(upsert.status());
    upsert->check = SchemaCheck(/*on_schema_change=*/true);
    auto dataset = d_.datasets->UpsertDataset(auth->project_id, *upsert);
    if (!dataset.ok()) return StatusResponse(dataset.status());
    json::object o = DatasetJson(*dataset);
    if (legacy) {
      o["items"] = json::array();
      o["runs"] = json::array();
    }
    return JsonResponse(200, o);
  }

  HttpResponse GetDataset(HttpRequest& req, const std::string& name, bool legacy) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto dataset = d_.datasets->GetDataset(auth->project_id, name);
    if (!dataset.ok()) return StatusResponse(dataset.status());
    if (!*dataset) return NotFound("Dataset not found");
    json::object o = DatasetJson(**dataset);
    if (legacy) {
      auto items = d_.datasets->ItemsOfDataset(auth->project_id, (*dataset)->id);
      if (!items.ok()) return StatusResponse(items.status());
      json::array arr;
      for (const DatasetItemRecord& i : *items) {
        if (i.status == "ACTIVE") arr.push_back(ItemJson(i));
      }
      auto runs = RunNames(auth->project_id, (*dataset)->id);
      if (!runs.ok()) return StatusResponse(runs.status());
      o["items"] = std::move(arr);
      o["runs"] = std::move(*runs);
    }
    return JsonResponse(200, o);
  }

  HttpResponse ListDatasets(HttpRequest& req, bool legacy) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryReader q(req);
    // The v1 route accepts page 0 (served as the first page).
    Paging p = ReadPaging(q, 50, legacy ? 0 : 1);
    if (!q.ok()) return BadQuery(q);
    auto page = d_.datasets->ListDatasets(auth->project_id, p.page, p.limit);
    if (!page.ok()) return StatusResponse(page.status());
    json::array data;
    for (const DatasetRecord& d : page->items) {
      json::object o = DatasetJson(d);
      if (legacy) {
        auto items = d_.datasets->ItemsOfDataset(auth->project_id, d.id);
        if (!items.ok()) return StatusResponse(items.status());
        json::array ids;
        for (const DatasetItemRecord& i : *items) ids.emplace_back(i.id);
        auto runs = RunNames(auth->project_id, d.id);
        if (!runs.ok()) return StatusResponse(runs.status());
        o["items"] = std::move(ids);
        o["runs"] = std::move(*runs);
      }
      data.push_back(std::move(o));
    }
    return JsonResponse(200, PageJson(std::move(data), p, page->total_items));
  }

  // ------------------------------------------------------------ items

  HttpResponse CreateItem(HttpRequest& req) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req.body);
    if (!body.ok()) return StatusResponse(body.status());
    DatasetItemUpsert u;
    const json::value* name = body->if_contains("datasetName");
    if (!name || !name->is_string()) return InvalidRequest("datasetName: Required string");
    u.dataset_name = std::string(name->as_string());
    std::string error;
    u.id = OptionalStringMember(*body, "id", &error);
    if (u.id && (u.id->empty() || u.id->size() > kMaxItemIdLength)) {
      return InvalidRequest("id: Must be 1 to 255 characters long");
    }
    u.input = OptionalJson(*body, "input");
    u.expected_output = OptionalJson(*body, "expectedOutput");
    u.metadata = OptionalJson(*body, "metadata");
    u.source_trace_id = OptionalStringMember(*body, "sourceTraceId", &error);
    u.source_observation_id = OptionalStringMember(*body, "sourceObservationId", &error);
    u.status = OptionalStringMember(*body, "status", &error);
    if (!error.empty()) return InvalidRequest(error);
    if (u.status && *u.status != "ACTIVE" && *u.status != "ARCHIVED") {
      return InvalidRequest(
          "status: Invalid enum value. Expected 'ACTIVE' | 'ARCHIVED', received '" + *u.status +
          "'");
    }
    u.check = SchemaCheck(/*on_schema_change=*/false);
    auto item = d_.datasets->UpsertItem(auth->project_id, u);
    if (!item.ok()) return StatusResponse(item.status());
    return JsonResponse(200, ItemJson(*item));
  }

  HttpResponse GetItem(HttpRequest& req, const std::string& id) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto item = d_.datasets->GetItem(auth->project_id, id);
    if (!item.ok()) return StatusResponse(item.status());
    if (!*item) return NotFound("Dataset item not found");
    return JsonResponse(200, ItemJson(**item));
  }

  HttpResponse ListItems(HttpRequest& req) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryReader q(req);
    DatasetItemQuery dq;
    dq.dataset_name = q.String("datasetName");
    dq.source_trace_id = q.String("sourceTraceId");
    dq.source_observation_id = q.String("sourceObservationId");
    dq.as_of_ms = q.Time("version");
    Paging p = ReadPaging(q, 50);
    if (!q.ok()) return BadQuery(q);
    if (dq.as_of_ms && !dq.dataset_name) {
      return InvalidRequest("datasetName is required when version is given");
    }
    dq.page = p.page;
    dq.limit = p.limit;
    auto page = d_.datasets->ListItems(auth->project_id, dq);
    if (!page.ok()) return StatusResponse(page.status());
    json::array data;
    for (const DatasetItemRecord& i : page->items) data.push_back(ItemJson(i));
    return JsonResponse(200, PageJson(std::move(data), p, page->total_items));
  }

  HttpResponse DeleteItem(HttpRequest& req, const std::string& id) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto found = d_.datasets->DeleteItem(auth->project_id, id);
    if (!found.ok()) return StatusResponse(found.status());
    if (!*found) return NotFound("Dataset item not found");
    return JsonResponse(200, json::object{{"message", "Dataset item successfully deleted"}});
  }

  // ------------------------------------------------------------ runs

  HttpResponse CreateRunItem(HttpRequest& req) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req.body);
    if (!body.ok()) return StatusResponse(body.status());
    static const char* kKeys[] = {"runName",        "runDescription", "metadata",
                                  "datasetItemId",  "observationId",  "traceId",
                                  "datasetVersion", "createdAt"};
    for (const auto& kv : *body) {
      bool known = std::any_of(std::begin(kKeys), std::end(kKeys),
                               [&](const char* k) { return kv.key() == k; });
      if (!known)
        return InvalidRequest("Unrecognized key in body: '" + std::string(kv.key()) + "'");
    }
    NewDatasetRunItem n;
    const json::value* run = body->if_contains("runName");
    if (!run || !run->is_string() || run->as_string().empty()) {
      return InvalidRequest("runName: Required string");
    }
    n.run_name = std::string(run->as_string());
    const json::value* item = body->if_contains("datasetItemId");
    if (!item || !item->is_string() || item->as_string().empty()) {
      return InvalidRequest("datasetItemId: Required string");
    }
    n.dataset_item_id = std::string(item->as_string());
    std::string error;
    n.run_description = OptionalStringMember(*body, "runDescription", &error);
    std::optional<std::string> trace_id = OptionalStringMember(*body, "traceId", &error);
    n.observation_id = OptionalStringMember(*body, "observationId", &error);
    std::optional<std::string> version = OptionalStringMember(*body, "datasetVersion", &error);
    std::optional<std::string> created_at = OptionalStringMember(*body, "createdAt", &error);
    if (!error.empty()) return InvalidRequest(error);
    if ((!trace_id || trace_id->empty()) && (!n.observation_id || n.observation_id->empty())) {
      return InvalidRequest("observationId or traceId must be provided");
    }
    if (version) {
      auto us = ParseIsoMicrosStrict(*version);
      if (!us) return InvalidRequest("datasetVersion: Invalid datetime '" + *version + "'");
      n.dataset_version_ms = *us / 1000;
    }
    if (created_at) {
      auto us = ParseIsoMicrosStrict(*created_at);
      if (!us) return InvalidRequest("createdAt: Invalid datetime '" + *created_at + "'");
      n.created_at_ms = *us / 1000;
    }
    // Run metadata: the given object (a non-object is wrapped), plus the
    // dataset version the run was evaluated on.
    json::object metadata;
    if (std::optional<json::value> m = OptionalJson(*body, "metadata")) {
      if (m->is_object()) {
        metadata = m->as_object();
      } else {
        metadata["metadata"] = *m;
      }
    }
    if (n.dataset_version_ms) metadata["dataset_version"] = FormatIsoMillis(*n.dataset_version_ms);
    n.run_metadata = std::move(metadata);

    // As on Langfuse: the item first, then the trace of an observation.
    auto found = d_.datasets->GetItem(auth->project_id, n.dataset_item_id, n.dataset_version_ms);
    if (!found.ok()) return StatusResponse(found.status());
    if (!*found || (*found)->status != "ACTIVE") return NotFound("Dataset item not found");
    if (trace_id && !trace_id->empty()) {
      n.trace_id = *trace_id;
    } else {
      auto obs = d_.events->GetObservation(auth->project_id, *n.observation_id);
      if (!obs.ok()) return StatusResponse(obs.status());
      if (!*obs) return NotFound("Observation not found");
      n.trace_id = (*obs)->trace_id;
    }
    auto created = d_.datasets->CreateRunItem(auth->project_id, n);
    if (!created.ok()) return StatusResponse(created.status());
    return JsonResponse(200, RunItemJson(*created));
  }

  HttpResponse ListRunItems(HttpRequest& req) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryReader q(req);
    std::optional<std::string> dataset_id = q.String("datasetId");
    std::optional<std::string> run_name = q.String("runName");
    if (!dataset_id) q.Fail("datasetId", "Required");
    if (!run_name) q.Fail("runName", "Required");
    Paging p = ReadPaging(q, 50);
    if (!q.ok()) return BadQuery(q);
    auto run = d_.datasets->GetRun(auth->project_id, *dataset_id, *run_name);
    if (!run.ok()) return StatusResponse(run.status());
    if (!*run) return NotFound("Dataset run not found for the given project and dataset id");
    auto page = d_.datasets->ListRunItems(auth->project_id, (*run)->id, p.page, p.limit);
    if (!page.ok()) return StatusResponse(page.status());
    json::array data;
    for (const DatasetRunItemRecord& i : page->items) data.push_back(RunItemJson(i));
    return JsonResponse(200, PageJson(std::move(data), p, page->total_items));
  }

  HttpResponse ListRuns(HttpRequest& req, const std::string& dataset_name) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryReader q(req);
    Paging p = ReadPaging(q, 50);
    if (!q.ok()) return BadQuery(q);
    auto dataset = d_.datasets->GetDataset(auth->project_id, dataset_name);
    if (!dataset.ok()) return StatusResponse(dataset.status());
    if (!*dataset) return NotFound("Dataset not found");
    auto page = d_.datasets->ListRuns(auth->project_id, (*dataset)->id, p.page, p.limit);
    if (!page.ok()) return StatusResponse(page.status());
    json::array data;
    for (const DatasetRunRecord& r : page->items) data.push_back(RunJson(r));
    return JsonResponse(200, PageJson(std::move(data), p, page->total_items));
  }

  HttpResponse GetRun(HttpRequest& req, const std::string& dataset_name,
                      const std::string& run_name) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto run = FindRun(auth->project_id, dataset_name, run_name);
    if (!run.ok()) return StatusResponse(run.status());
    auto items = d_.datasets->RunItemsOfRun(auth->project_id, run->id);
    if (!items.ok()) return StatusResponse(items.status());
    json::object o = RunJson(*run);
    json::array arr;
    for (const DatasetRunItemRecord& i : *items) arr.push_back(RunItemJson(i));
    o["datasetRunItems"] = std::move(arr);
    return JsonResponse(200, o);
  }

  HttpResponse DeleteRun(HttpRequest& req, const std::string& dataset_name,
                         const std::string& run_name) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto run = FindRun(auth->project_id, dataset_name, run_name);
    if (!run.ok()) return StatusResponse(run.status());
    auto deleted = d_.datasets->DeleteRun(auth->project_id, run->id);
    if (!deleted.ok()) return StatusResponse(deleted.status());
    if (!*deleted) return NotFound("Dataset run not found");
    return JsonResponse(200, json::object{{"message", "Dataset run successfully deleted"}});
  }

 private:
  // kNotFound "Dataset run not found" when the dataset or the run is missing.
  absl::StatusOr<DatasetRunRecord> FindRun(const std::string& project_id,
                                           const std::string& dataset_name,
                                           const std::string& run_name) {
    auto dataset = d_.datasets->GetDataset(project_id, dataset_name);
    if (!dataset.ok()) return dataset.status();
    if (!*dataset) return absl::NotFoundError("Dataset run not found");
    auto run = d_.datasets->GetRun(project_id, (*dataset)->id, run_name);
    if (!run.ok()) return run.status();
    if (!*run) return absl::NotFoundError("Dataset run not found");
    return std::move(**run);
  }

  absl::StatusOr<json::array> RunNames(const std::string& project_id,
                                       const std::string& dataset_id) {
    auto runs = d_.datasets->ListRuns(project_id, dataset_id, 1, INT_MAX / 2);
    if (!runs.ok()) return runs.status();
    json::array names;
    for (const DatasetRunRecord& r : runs->items) names.emplace_back(r.name);
    return names;
  }

  DatasetApiDeps d_;
};

}  // namespace

void RegisterDatasetApi(Router& r, DatasetApiDeps deps) {
  RegisterExperimentsApi(r, deps);
  auto api = std::make_shared<DatasetApi>(deps);
  r.Add("POST", "/api/public/v2/datasets",
        [api](HttpRequest& req, const PathParams&) { return api->CreateDataset(req, false); });
  r.Add("GET", "/api/public/v2/datasets",
        [api](HttpRequest& req, const PathParams&) { return api->ListDatasets(req, false); });
  r.Add("GET", "/api/public/v2/datasets/{datasetName}",
        [api](HttpRequest& req, const PathParams& p) {
          return api->GetDataset(req, p.at("datasetName"), false);
        });
  r.Add("POST", "/api/public/datasets",
        [api](HttpRequest& req, const PathParams&) { return api->CreateDataset(req, true); });
  r.Add("GET", "/api/public/datasets",
        [api](HttpRequest& req, const PathParams&) { return api->ListDatasets(req, true); });
  r.Add("GET", "/api/public/datasets/{datasetName}", [api](HttpRequest& req, const PathParams& p) {
    return api->GetDataset(req, p.at("datasetName"), true);
  });

  r.Add("POST", "/api/public/dataset-items",
        [api](HttpRequest& req, const PathParams&) { return api->CreateItem(req); });
  r.Add("GET", "/api/public/dataset-items",
        [api](HttpRequest& req, const PathParams&) { return api->ListItems(req); });
  r.Add("GET", "/api/public/dataset-items/{id}",
        [api](HttpRequest& req, const PathParams& p) { return api->GetItem(req, p.at("id")); });
  r.Add("DELETE", "/api/public/dataset-items/{id}",
        [api](HttpRequest& req, const PathParams& p) { return api->DeleteItem(req, p.at("id")); });

  r.Add("POST", "/api/public/dataset-run-items",
        [api](HttpRequest& req, const PathParams&) { return api->CreateRunItem(req); });
  r.Add("GET", "/api/public/dataset-run-items",
        [api](HttpRequest& req, const PathParams&) { return api->ListRunItems(req); });
  r.Add("GET", "/api/public/datasets/{datasetName}/runs",
        [api](HttpRequest& req, const PathParams& p) {
          return api->ListRuns(req, p.at("datasetName"));
        });
  r.Add("GET", "/api/public/datasets/{datasetName}/runs/{runName}",
        [api](HttpRequest& req, const PathParams& p) {
          return api->GetRun(req, p.at("datasetName"), p.at("runName"));
        });
  r.Add("DELETE", "/api/public/datasets/{datasetName}/runs/{runName}",
        [api](HttpRequest& req, const PathParams& p) {
          return api->DeleteRun(req, p.at("datasetName"), p.at("runName"));
        });
}

}  // namespace loupe
