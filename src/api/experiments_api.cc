#include "api/experiments_api.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "api/cursor.h"
#include "api/handler_support.h"
#include "api/json_views.h"
#include "api/responses.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "query/filter.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr int kDefaultLimit = 50;
constexpr int kMaxLimit = 100;
constexpr int kMaxScoreLimit = 50;

// A place in a listing ordered newest first: by start time, then trace id,
// id and experiment id, all descending (Langfuse's order). Experiments are
// placed by start time and experiment id only.
struct Position {
  int64_t start_ms = 0;
  std::string trace_id, id, experiment_id;
};

// True when `a` is listed before `b`.
bool Precedes(const Position& a, const Position& b) {
  return std::tie(b.start_ms, b.trace_id, b.id, b.experiment_id) <
         std::tie(a.start_ms, a.trace_id, a.id, a.experiment_id);
}

// Versioned like Langfuse's: {v: 1, lastStartTimeTo, lastTraceId, lastId,
// lastExperimentId}.
std::string EncodePosition(const Position& p) {
  json::object o;
  o["v"] = 1;
  o["lastStartTimeTo"] = FormatIsoMillis(p.start_ms);
  o["lastTraceId"] = p.trace_id;
  o["lastId"] = p.id;
  o["lastExperimentId"] = p.experiment_id;
  return EncodeCursorObject(o);
}

std::optional<Position> DecodePosition(std::string_view cursor) {
  std::optional<json::object> o = DecodeCursorObject(cursor);
  if (!o) return std::nullopt;
  auto text = [&](std::string_view key) -> std::optional<std::string> {
    const json::value* v = o->if_contains(key);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  const json::value* version = o->if_contains("v");
  std::optional<std::string> time = text("lastStartTimeTo"), trace = text("lastTraceId"),
                             id = text("lastId"), experiment = text("lastExperimentId");
  if (!version || !version->is_int64() || version->as_int64() != 1 || !time || !trace || !id ||
      !experiment) {
    return std::nullopt;
  }
  std::optional<int64_t> us = ParseIsoMicros(*time);
  if (!us) return std::nullopt;
  return Position{*us / 1000, *trace, *id, *experiment};
}

// Metadata fields are objects in the API: null stays null, other values are
// wrapped as {"metadata": value}, as run metadata is when it is written.
json::value MetadataObject(const json::value& v) {
  if (v.is_null() || v.is_object()) return v;
  return json::object{{"metadata", v}};
}

// The `fields` parameter: the groups asked for (the defaults when absent).
std::set<std::string> ReadFieldGroups(QueryReader& q, const std::vector<std::string>& allowed,
                                      std::set<std::string> defaults) {
  std::optional<std::string> given = q.String("fields");
  if (!given) return defaults;
  std::set<std::string> groups;
  for (const std::string& g : SplitCommas(*given)) {
    if (std::find(allowed.begin(), allowed.end(), g) == allowed.end()) {
      std::string expected;
      for (const std::string& a : allowed) expected += (expected.empty() ? "" : ", ") + a;
      q.Fail("fields", "Invalid field group '" + g + "'. Expected " + expected);
      break;
    }
    groups.insert(g);
  }
  return groups;
}

// The parameters both endpoints share.
struct ListParams {
  int limit = kDefaultLimit;
  int score_limit = kMaxScoreLimit;
  std::optional<Position> after;
  int64_t from_ms = 0;
  std::optional<int64_t> to_ms;
  std::vector<FilterCondition> filters;
};

ListParams ReadListParams(QueryReader& q, const HttpRequest& req,
                          const std::vector<FilterColumn>& filter_columns) {
  ListParams p;
  p.limit = static_cast<int>(q.Int("limit", 1, kMaxLimit).value_or(kDefaultLimit));
  p.score_limit = static_cast<int>(q.Int("scoreLimit", 1, kMaxScoreLimit).value_or(kMaxScoreLimit));
  if (std::optional<std::string> c = q.String("cursor")) {
    p.after = DecodePosition(*c);
    if (!p.after) q.Fail("cursor", "Invalid cursor format");
  }
  std::optional<int64_t> from = q.Time("fromStartTime");
  if (!from && q.ok()) q.Fail("fromStartTime", "Required");
  p.from_ms = from.value_or(0);
  p.to_ms = q.Time("toStartTime");
  if (const std::string* filter = req.Query("filter"); filter && !filter->empty()) {
    auto parsed = ParseFilterParam(*filter, filter_columns);
    if (!parsed.ok()) {
      q.Fail("filter", std::string(parsed.status().message()));
    } else {
      p.filters = std::move(*parsed);
    }
  }
  return p;
}

// A run item with what its trace or observation says about it.
struct ItemRow {
  const DatasetRunRecord* run = nullptr;
  const DatasetRunItemRecord* run_item = nullptr;
  std::string id;  // the observation's id, else the trace's
  int64_t start_ms = 0;
  std::optional<int64_t> end_ms;
  std::string level = "DEFAULT";
  std::string environment = "default";
  const ObservationRecord* observation = nullptr;  // set when it is stored
  const TraceRecord* trace = nullptr;              // set when it is stored

  Position position() const { return {start_ms, run_item->trace_id, id, run->id}; }
};

// Loads the traces and observations run items link to, each once per
// request.
class ItemResolver {
 public:
  ItemResolver(EventStore& events, const std::string& project_id)
      : events_(events), project_id_(project_id) {}

  absl::StatusOr<ItemRow> Resolve(const DatasetRunRecord& run, const DatasetRunItemRecord& ri) {
    ItemRow row;
    row.run = &run;
    row.run_item = &ri;
    row.id = ri.observation_id.value_or(ri.trace_id);
    if (ri.observation_id) {
      ASSIGN_OR_RETURN(row.observation, Observation(*ri.observation_id));
    }
    ASSIGN_OR_RETURN(row.trace, Trace(ri.trace_id));
    if (const ObservationRecord* o = row.observation) {
      row.start_ms = o->start_time_ms;
      row.end_ms = o->end_time_ms;
      row.level = o->level;
      row.environment = o->environment;
    } else if (const TraceRecord* t = row.trace) {
      row.start_ms = t->timestamp_ms;
      row.end_ms = t->max_end_ms;
      row.environment = t->environment;
    } else {
      row.start_ms = ri.created_at_ms;
    }
    return row;
  }

  // The trace's scores, for the scores field group.
  absl::StatusOr<const std::vector<ScoreRecord>*> ScoresOfTrace(const std::string& trace_id) {
    auto it = scores_.find(trace_id);
    if (it == scores_.end()) {
      ASSIGN_OR_RETURN(std::vector<ScoreRecord> scores,
                       events_.ScoresOfTrace(project_id_, trace_id));
      it = scores_.emplace(trace_id, std::move(scores)).first;
    }
    return &it->second;
  }

 private:
  // Element addresses of unordered_map are stable, so rows may point into it.
  absl::StatusOr<const TraceRecord*> Trace(const std::string& id) {
    auto it = traces_.find(id);
    if (it == traces_.end()) {
      ASSIGN_OR_RETURN(std::optional<TraceRecord> t, events_.GetTrace(project_id_, id));
      it = traces_.emplace(id, std::move(t)).first;
    }
    return it->second ? &*it->second : nullptr;
  }

  absl::StatusOr<const ObservationRecord*> Observation(const std::string& id) {
    auto it = observations_.find(id);
    if (it == observations_.end()) {
      ASSIGN_OR_RETURN(std::optional<ObservationRecord> o, events_.GetObservation(project_id_, id));
      it = observations_.emplace(id, std::move(o)).first;
    }
    return it->second ? &*it->second : nullptr;
  }

  EventStore& events_;
  const std::string& project_id_;
  std::unordered_map<std::string, std::optional<TraceRecord>> traces_;
  std::unordered_map<std::string, std::optional<ObservationRecord>> observations_;
  std::unordered_map<std::string, std::vector<ScoreRecord>> scores_;
};

// Whether a run passes the filter conditions on its columns (named as the
// experiments API names them, "id", or as the items API does,
// "experimentId").
bool RunMatches(const DatasetRunRecord& run, const std::vector<FilterCondition>& filters) {
  for (const FilterCondition& f : filters) {
    std::optional<std::string> value;
    if (f.column == "id" || f.column == "experimentId") {
      value = run.id;
    } else if (f.column == "name" || f.column == "experimentName") {
      value = run.name;
    } else if (f.column == "datasetId") {
      value = run.dataset_id;
    } else {
      continue;  // a condition on the items
    }
    if (!MatchesStringCondition(f, value)) return false;
  }
  return true;
}

bool RunItemMatches(const DatasetRunItemRecord& ri, const std::vector<FilterCondition>& filters) {
  for (const FilterCondition& f : filters) {
    if (f.column == "experimentItemId" &&
        !MatchesStringCondition(f, std::optional<std::string>(ri.dataset_item_id))) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> CommaList(const QueryReader& q, std::string_view key) {
  std::optional<std::string> v = q.String(key);
  return v ? SplitCommas(*v) : std::vector<std::string>();
}

HttpResponse BadQuery(const QueryReader& q) {
  return InvalidRequest("Invalid request data: " + q.error());
}

class ExperimentsApi {
 public:
  explicit ExperimentsApi(DatasetApiDeps deps) : d_(deps) {}

  HttpResponse ListExperiments(HttpRequest& req) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryReader q(req);
    std::set<std::string> fields = ReadFieldGroups(q, {"core", "metadata", "scores"}, {"core"});
    ListParams p = ReadListParams(q, req, ExperimentFilterColumns());
    RunSelection selection;
    selection.run_ids = CommaList(q, "id");
    selection.run_names = CommaList(q, "name");
    selection.dataset_ids = CommaList(q, "datasetId");
    if (!q.ok()) return BadQuery(q);

    ItemResolver resolver(*d_.events, auth->project_id);
    auto loaded = LoadRows(auth->project_id, selection, {}, p, resolver);
    if (!loaded.ok()) return StatusResponse(loaded.status());

    // One summary per run: its items in the window, when they started and
    // ended.
    struct Summary {
      const DatasetRunRecord* run = nullptr;
      int64_t count = 0;
      int64_t start_ms = 0;
      int64_t end_ms = 0;
    };
    std::map<std::string, Summary> by_run;
    for (const ItemRow& row : loaded->rows) {
      Summary& s = by_run[row.run->id];
      int64_t end = std::max(row.start_ms, row.end_ms.value_or(row.start_ms));
      if (s.count == 0) {
        s.run = row.run;
        s.start_ms = row.start_ms;
        s.end_ms = end;
      } else {
        s.start_ms = std::min(s.start_ms, row.start_ms);
        s.end_ms = std::max(s.end_ms, end);
      }
      ++s.count;
    }
    std::vector<const Summary*> listed;
    for (const auto& [id, s] : by_run) {
      if (!p.after || Precedes(*p.after, Position{s.start_ms, "", "", id})) listed.push_back(&s);
    }
    std::sort(listed.begin(), listed.end(), [](const Summary* a, const Summary* b) {
      return Precedes({a->start_ms, "", "", a->run->id}, {b->start_ms, "", "", b->run->id});
    });
    bool more = static_cast<int>(listed.size()) > p.limit;
    if (more) listed.resize(p.limit);

    json::array data;
    for (const Summary* s : listed) {
      const DatasetRunRecord& run = *s->run;
      json::object o;
      o["id"] = run.id;
      o["name"] = run.name;
      o["description"] = StringOrNull(run.description);
      o["startTime"] = FormatIsoMillis(s->start_ms);
      o["endTime"] = FormatIsoMillis(s->end_ms);
      o["itemCount"] = s->count;
      o["datasetId"] = run.dataset_id;
      if (fields.contains("metadata")) o["metadata"] = MetadataObject(run.metadata);
      if (fields.contains("scores")) {
        ScoreQuery sq;
        sq.dataset_run_id = run.id;
        sq.page.limit = p.score_limit;
        auto scores = d_.events->ListScores(auth->project_id, sq);
        if (!scores.ok()) return StatusResponse(scores.status());
        json::array arr;
        for (const ScoreRecord& score : scores->items) {
          arr.push_back(ScoreV3Json(score, false, true, false));
        }
        o["scores"] = std::move(arr);
      }
      data.push_back(std::move(o));
    }
    json::object meta;
    if (more) {
      const Summary* last = listed.back();
      meta["cursor"] = EncodePosition({last->start_ms, "", "", last->run->id});
    }
    return JsonResponse(200, json::object{{"data", std::move(data)}, {"meta", std::move(meta)}});
  }

  HttpResponse ListItems(HttpRequest& req) {
    auto auth = RequireProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    QueryReader q(req);
    std::set<std::string> fields = ReadFieldGroups(
        q, {"core", "dataset", "io", "metadata", "itemMetadata", "experimentMetadata", "scores"},
        {"core", "dataset"});
    ListParams p = ReadListParams(q, req, ExperimentItemFilterColumns());
    RunSelection selection;
    selection.run_ids = CommaList(q, "experimentId");
    selection.run_names = CommaList(q, "experimentName");
    selection.dataset_ids = CommaList(q, "datasetId");
    std::vector<std::string> item_ids = CommaList(q, "experimentItemId");
    if (!q.ok()) return BadQuery(q);

    ItemResolver resolver(*d_.events, auth->project_id);
    auto loaded = LoadRows(auth->project_id, selection, item_ids, p, resolver);
    if (!loaded.ok()) return StatusResponse(loaded.status());
    std::vector<const ItemRow*> listed;
    for (const ItemRow& row : loaded->rows) {
      if (!p.after || Precedes(*p.after, row.position())) listed.push_back(&row);
    }
    std::sort(listed.begin(), listed.end(), [](const ItemRow* a, const ItemRow* b) {
      return Precedes(a->position(), b->position());
    });
    bool more = static_cast<int>(listed.size()) > p.limit;
    if (more) listed.resize(p.limit);

    json::array data;
    for (const ItemRow* row : listed) {
      auto item = ItemJson(auth->project_id, *row, fields, p.score_limit, resolver);
      if (!item.ok()) return StatusResponse(item.status());
      data.push_back(std::move(*item));
    }
    json::object meta;
    if (more) meta["cursor"] = EncodePosition(listed.back()->position());
    return JsonResponse(200, json::object{{"data", std::move(data)}, {"meta", std::move(meta)}});
  }

 private:
  // The run items of the selected runs that pass the filters and started in
  // the window, resolved, in no particular order. The rows point into the
  // runs and run items held beside them (a move keeps those in place).
  struct Loaded {
    std::vector<DatasetRunRecord> runs;
    std::vector<DatasetRunItemRecord> run_items;
    std::vector<ItemRow> rows;
  };

  absl::StatusOr<Loaded> LoadRows(const std::string& project_id, const RunSelection& selection,
                                  const std::vector<std::string>& item_ids, const ListParams& p,
                                  ItemResolver& resolver) {
    Loaded loaded;
    ASSIGN_OR_RETURN(loaded.runs, d_.datasets->FindRuns(project_id, selection));
    std::erase_if(loaded.runs,
                  [&](const DatasetRunRecord& r) { return !RunMatches(r, p.filters); });
    std::unordered_map<std::string, const DatasetRunRecord*> runs;
    std::vector<std::string> run_ids;
    for (const DatasetRunRecord& r : loaded.runs) {
      runs[r.id] = &r;
      run_ids.push_back(r.id);
    }
    ASSIGN_OR_RETURN(loaded.run_items, d_.datasets->RunItemsOfRuns(project_id, run_ids, item_ids));
    for (const DatasetRunItemRecord& ri : loaded.run_items) {
      if (!RunItemMatches(ri, p.filters)) continue;
      ASSIGN_OR_RETURN(ItemRow row, resolver.Resolve(*runs.at(ri.dataset_run_id), ri));
      if (row.start_ms < p.from_ms || (p.to_ms && row.start_ms >= *p.to_ms)) continue;
      loaded.rows.push_back(std::move(row));
    }
    return loaded;
  }

  absl::StatusOr<json::object> ItemJson(const std::string& project_id, const ItemRow& row,
                                        const std::set<std::string>& fields, int score_limit,
                                        ItemResolver& resolver) {
    const DatasetRunItemRecord& ri = *row.run_item;
    json::object o;
    o["id"] = row.id;
    o["traceId"] = ri.trace_id;
    o["startTime"] = FormatIsoMillis(row.start_ms);
    o["endTime"] = row.end_ms ? json::value(FormatIsoMillis(*row.end_ms)) : json::value(nullptr);
    o["level"] = row.level;
    o["environment"] = row.environment;
    o["experimentId"] = row.run->id;
    o["experimentName"] = row.run->name;
    o["experimentItemId"] = ri.dataset_item_id;
    if (fields.contains("dataset")) {
      o["experimentDatasetId"] = row.run->dataset_id;
      o["experimentItemVersion"] = FormatIsoMillis(ri.dataset_item_version_ms);
    }
    std::optional<DatasetItemRecord> item;
    if (fields.contains("io") || fields.contains("itemMetadata")) {
      // The item as the experiment ran it.
      ASSIGN_OR_RETURN(
          item, d_.datasets->GetItem(project_id, ri.dataset_item_id, ri.dataset_item_version_ms));
    }
    if (fields.contains("io")) {
      json::value input = nullptr, output = nullptr;
      if (row.observation) {
        input = row.observation->input;
        output = row.observation->output;
      } else if (row.trace) {
        input = row.trace->input;
        output = row.trace->output;
      }
      o["input"] = ParseIfJson(input);
      o["output"] = ParseIfJson(output);
      o["expectedOutput"] = item ? item->expected_output : json::value(nullptr);
    }
    if (fields.contains("metadata")) {
      if (row.observation) {
        o["metadata"] = row.observation->metadata;
      } else if (row.trace) {
        o["metadata"] = row.trace->metadata;
      } else {
        o["metadata"] = nullptr;
      }
    }
    if (fields.contains("itemMetadata")) {
      o["experimentItemMetadata"] = item ? MetadataObject(item->metadata) : json::value(nullptr);
    }
    if (fields.contains("experimentMetadata")) {
      o["experimentMetadata"] = MetadataObject(row.run->metadata);
      o["experimentDescription"] = StringOrNull(row.run->description);
    }
    if (fields.contains("scores")) {
      // Scores on the item's observation and on its trace as a whole.
      ASSIGN_OR_RETURN(const std::vector<ScoreRecord>* scores, resolver.ScoresOfTrace(ri.trace_id));
      json::array arr;
      for (const ScoreRecord& s : *scores) {
        if (static_cast<int>(arr.size()) >= score_limit) break;
        if (s.observation_id ? *s.observation_id == row.id : true) {
          arr.push_back(ScoreV3Json(s, false, true, false));
        }
      }
      o["scores"] = std::move(arr);
    }
    return o;
  }

  DatasetApiDeps d_;
};

}  // namespace

void RegisterExperimentsApi(Router& r, DatasetApiDeps deps) {
  auto api = std::make_shared<ExperimentsApi>(deps);
  r.Add("GET", "/api/public/experiments",
        [api](HttpRequest& req, const PathParams&) { return api->ListExperiments(req); });
  r.Add("GET", "/api/public/experiment-items",
        [api](HttpRequest& req, const PathParams&) { return api->ListItems(req); });
}

}  // namespace loupe
