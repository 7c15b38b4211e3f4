#pragma once

// EventStore: where traces, observations and scores live. The embedded
// implementation is SQLite (storage/sqlite); the scale-out one is ClickHouse.
//
// Contract:
//  - Write() merges a batch of validated events into the stored entities and
//    returns only once the result is durable (a crash after it returns loses
//    nothing). Events may arrive in any order and more than once; the stored
//    entity is the same (see ingest/entity_state.h).
//  - Reads see every write that has returned.
//  - All methods are thread-safe. Errors: kUnavailable / kDataLoss /
//    kInternal for storage failures; "not found" is an empty optional, not an
//    error.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ingest/event.h"
#include "model/records.h"
#include "query/filter.h"
#include "query/metrics.h"

namespace loupe {

struct PageRequest {
  int page = 1;    // 1-based
  int limit = 50;  // 1..100
};

// A position in a newest-first listing, for the cursor APIs: the time and id
// of the last row a page returned. Keyset paging stays exact while rows are
// added, which offsets do not.
struct ListPosition {
  int64_t time_ms = 0;
  std::string id;
};

// Cursor paging of a list query. When `enabled`, rows are ordered by
// (time desc, id desc) so that a position identifies one row, only rows
// strictly after `after` are returned, page.page is ignored and total_items
// is left 0 (counting every match would cost as much as reading them).
struct KeysetRequest {
  bool enabled = false;
  std::optional<ListPosition> after;
};

template <typename T>
struct PageResult {
  std::vector<T> items;
  int64_t total_items = 0;
};

// A condition on a trace's scores of one name; a trace matches when one of
// its scores of that name does.
struct TraceScoreCondition {
  std::string name;
  // On "value" (kNumber: =, >, <, >=, <=; numeric and boolean scores) or
  // "stringValue" (kStringOptions: any of, none of; categorical scores).
  FilterCondition value;
};

struct TraceQuery {
  PageRequest page;
  std::optional<std::string> user_id, name, session_id, release, version;
  std::vector<std::string> environments;  // any of
  std::vector<std::string> tags;          // all of
  std::optional<int64_t> from_ms, to_ms;  // timestamp >= from, < to
  // Column of TraceRecord to sort by: timestamp, name, userId, sessionId,
  // release, version, environment, createdAt, updatedAt, totalCost, latency.
  std::string order_by = "timestamp";
  bool descending = true;
  std::vector<FilterCondition> filters;  // validated against TraceFilterColumns()
  std::vector<TraceScoreCondition> scores;
};

// A search of trace input and output text within a trace list. The payloads
// must be read to be searched, so the search is bounded: only the first
// `row_budget` traces of the listing (its filters and order) are searched.
struct TraceTextSearch {
  std::string text;  // matched case-insensitively (ASCII) in the JSON text
  int row_budget = 20000;
};

struct TraceSearchResult {
  PageResult<TraceRecord> page;  // total_items: matches among the searched rows
  int64_t searched = 0;          // rows whose payloads were searched
  bool budget_reached = false;   // more rows matched the filters than were searched
};

// A score name seen in a project, with its data type and how often it
// occurs among the scores looked at.
struct ScoreNameCount {
  std::string name;
  std::string data_type;
  int64_t count = 0;
};

struct ObservationQuery {
  PageRequest page;
  KeysetRequest keyset;  // position on start time
  std::optional<std::string> name, user_id, type, trace_id, level, parent_observation_id, version;
  std::vector<std::string> environments;
  std::optional<int64_t> from_start_ms, to_start_ms;
  std::vector<FilterCondition> filters;  // validated against ObservationFilterColumns()
};

struct ScoreQuery {
  PageRequest page;
  KeysetRequest keyset;  // position on timestamp
  std::optional<std::string> user_id, name, source, config_id, session_id, dataset_run_id, trace_id,
      observation_id, queue_id, data_type;
  std::vector<std::string> environments;
  std::vector<std::string> score_ids;
  std::vector<std::string> trace_tags;
  std::optional<int64_t> from_ms, to_ms;
  std::optional<std::string> value_operator;  // one of = > < >= <= !=
  std::optional<double> value;
  std::vector<FilterCondition> filters;  // validated against ScoreFilterColumns()
};

struct SessionQuery {
  PageRequest page;
  std::optional<int64_t> from_ms, to_ms;
  std::vector<std::string> environments;
};

struct DailyMetricsQuery {
  PageRequest page;
  std::optional<std::string> trace_name, user_id;
  std::vector<std::string> tags;  // all of
  std::vector<std::string> environments;
  std::optional<int64_t> from_ms, to_ms;
};

struct DailyModelUsage {
  std::string model;
  int64_t input_usage = 0, output_usage = 0, total_usage = 0;
  int64_t count_observations = 0, count_traces = 0;
  double total_cost = 0;
};

struct DailyMetricsRow {
  std::string date;  // YYYY-MM-DD (UTC) of the traces' timestamps
  int64_t count_traces = 0;
  int64_t count_observations = 0;
  double total_cost = 0;
  std::vector<DailyModelUsage> usage;
};

// A write in two steps, for a caller that pipelines batches (the ingestion
// worker): when WriteStaged returns, the entities are durable and readable;
// `finish` brings what is derived from them (per-trace summaries) up to
// date. The caller must see `finish` succeed before it treats the batch as
// stored, and may call WriteStaged for the next batch meanwhile.
struct StagedWrite {
  std::function<absl::Status()> finish = [] { return absl::OkStatus(); };
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Durably merges `events` (all of one project). On error nothing of the
  // batch is visible and the caller must not acknowledge it.
  virtual absl::Status Write(const std::string& project_id, std::vector<IngestEvent> events) = 0;

  // Write() as two steps (see StagedWrite). Stores whose Write has nothing to
  // defer do all of it here.
  virtual absl::StatusOr<StagedWrite> WriteStaged(const std::string& project_id,
                                                  std::vector<IngestEvent> events) {
    absl::Status s = Write(project_id, std::move(events));
    if (!s.ok()) return s;
    return StagedWrite{};
  }

  virtual absl::StatusOr<std::optional<TraceRecord>> GetTrace(const std::string& project_id,
                                                              const std::string& id) = 0;
  virtual absl::StatusOr<PageResult<TraceRecord>> ListTraces(const std::string& project_id,
                                                             const TraceQuery& query) = 0;
  // Like ListTraces, but only traces whose input or output contains
  // `search.text`, among the first `search.row_budget` rows of the listing.
  virtual absl::StatusOr<TraceSearchResult> SearchTraces(const std::string& project_id,
                                                         const TraceQuery& query,
                                                         const TraceTextSearch& search) = 0;
  // Deletes traces with their observations and scores. Returns how many existed.
  virtual absl::StatusOr<int64_t> DeleteTraces(const std::string& project_id,
                                               const std::vector<std::string>& ids) = 0;

  virtual absl::StatusOr<std::optional<ObservationRecord>> GetObservation(
      const std::string& project_id, const std::string& id) = 0;
  virtual absl::StatusOr<PageResult<ObservationRecord>> ListObservations(
      const std::string& project_id, const ObservationQuery& query) = 0;
  // All observations of a trace, ordered by start time.
  virtual absl::StatusOr<std::vector<ObservationRecord>> ObservationsOfTrace(
      const std::string& project_id, const std::string& trace_id) = 0;
  // The observations of a trace without their payloads: input, output,
  // metadata and model parameters are left empty, usage holds only input /
  // output / total, status messages are kept. What a tree or timeline needs,
  // cheap enough for traces with tens of thousands of observations.
  virtual absl::StatusOr<std::vector<ObservationRecord>> ObservationOutlinesOfTrace(
      const std::string& project_id, const std::string& trace_id) = 0;
  // Ids only, cheaper for list pages.
  virtual absl::StatusOr<std::vector<std::string>> ObservationIdsOfTrace(
      const std::string& project_id, const std::string& trace_id) = 0;

  // ObservationIdsOfTrace of each of `trace_ids` (a list page's traces),
  // keyed by trace id; traces without observations are absent. The default
  // asks once per trace, which suits a store where a query costs
  // microseconds; a store with a round trip per query answers in one.
  virtual absl::StatusOr<std::map<std::string, std::vector<std::string>>> ObservationIdsOfTraces(
      const std::string& project_id, const std::vector<std::string>& trace_ids) {
    std::map<std::string, std::vector<std::string>> out;
    for (const std::string& id : trace_ids) {
      auto ids = ObservationIdsOfTrace(project_id, id);
      if (!ids.ok()) return ids.status();
      if (!ids->empty()) out[id] = std::move(*ids);
    }
    return out;
  }

  virtual absl::StatusOr<std::optional<ScoreRecord>> GetScore(const std::string& project_id,
                                                              const std::string& id) = 0;
  virtual absl::StatusOr<PageResult<ScoreRecord>> ListScores(const std::string& project_id,
                                                             const ScoreQuery& query) = 0;
  virtual absl::StatusOr<std::vector<ScoreRecord>> ScoresOfTrace(const std::string& project_id,
                                                                 const std::string& trace_id) = 0;
  // ScoresOfTrace of each of `trace_ids`, keyed by trace id (see
  // ObservationIdsOfTraces).
  virtual absl::StatusOr<std::map<std::string, std::vector<ScoreRecord>>> ScoresOfTraces(
      const std::string& project_id, const std::vector<std::string>& trace_ids) {
    std::map<std::string, std::vector<ScoreRecord>> out;
    for (const std::string& id : trace_ids) {
      auto scores = ScoresOfTrace(project_id, id);
      if (!scores.ok()) return scores.status();
      if (!scores->empty()) out[id] = std::move(*scores);
    }
    return out;
  }
  // The names (and data types) among the project's newest `limit` scores,
  // by name.
  virtual absl::StatusOr<std::vector<ScoreNameCount>> RecentScoreNames(
      const std::string& project_id, int limit) = 0;
  // Returns false when the score did not exist.
  virtual absl::StatusOr<bool> DeleteScore(const std::string& project_id,
                                           const std::string& id) = 0;

  virtual absl::StatusOr<PageResult<SessionRecord>> ListSessions(const std::string& project_id,
                                                                 const SessionQuery& query) = 0;
  virtual absl::StatusOr<std::optional<SessionRecord>> GetSession(const std::string& project_id,
                                                                  const std::string& id) = 0;
  // Traces of a session, oldest first.
  virtual absl::StatusOr<std::vector<TraceRecord>> TracesOfSession(
      const std::string& project_id, const std::string& session_id) = 0;

  // Runs a metrics query (see query/metrics.h); returns the response rows.
  virtual absl::StatusOr<boost::json::array> QueryMetrics(const std::string& project_id,
                                                          const MetricsQuery& query) = 0;
  // Per-day trace/observation counts, cost and usage by model, newest day first.
  virtual absl::StatusOr<PageResult<DailyMetricsRow>> DailyMetrics(
      const std::string& project_id, const DailyMetricsQuery& query) = 0;

  // Cheap liveness check of the underlying storage.
  virtual absl::Status Ping() = 0;

  // Flushes and stops background work; later calls fail. Idempotent.
  virtual void Close() = 0;
};

}  // namespace loupe
