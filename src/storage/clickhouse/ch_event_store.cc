#include "storage/clickhouse/ch_event_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <utility>

#include "common/log.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "ingest/entity_state.h"
#include "ingest/materialize.h"
#include "storage/clickhouse/state_cache.h"

namespace loupe {
namespace {

namespace json = boost::json;

// ---- schema

// Why the tables look as they do:
//  - ORDER BY (project_id, id): a ReplacingMergeTree collapses the versions
//    of a row only when their sorting keys are equal. Langfuse puts
//    toDate(timestamp) (and type, name) in the key, but those can change with
//    a later event, which would leave two live versions that FINAL cannot
//    collapse. With the entity's identity as the whole key every version
//    collapses, a project's rows stay together, and lookups by id use the
//    primary index.
//  - No PARTITION BY, for the same reason: versions are only collapsed
//    within a partition, and every time column is mutable.
//  - Reads by trace (observations and scores of a trace) and by user or
//    session use bloom filter skip indexes.
//  - Times are Int64 epoch milliseconds, exactly as the records hold them.
//  - row_version orders the versions of an entity (microseconds of the
//    write, strictly above the previous version); is_deleted = 1 rows are
//    deletions, dropped by FINAL.
//  - state is the serialized EntityState: the merge input of the next write
//    and the source of every payload (input, output, metadata, usage).
struct Migration {
  int version;
  const char* description;
  std::vector<const char*> statements;
};

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1,
       "traces, observations and scores",
       {R"(CREATE TABLE IF NOT EXISTS traces (
  project_id String,
  id String,
  timestamp Int64,
  name Nullable(String),
  user_id Nullable(String),
  session_id Nullable(String),
  release Nullable(String),
  version Nullable(String),
  environment LowCardinality(String),
  tags Array(String),
  public UInt8,
  bookmarked UInt8,
  created_at Int64,
  updated_at Int64,
  state String CODEC(ZSTD(3)),
  row_version UInt64,
  is_deleted UInt8,
  INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 1,
  INDEX idx_session_id session_id TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplacingMergeTree(row_version, is_deleted)
ORDER BY (project_id, id))",
        R"(CREATE TABLE IF NOT EXISTS observations (
  project_id String,
  id String,
  trace_id String,
  type LowCardinality(String),
  name Nullable(String),
  start_time Int64,
  end_time Nullable(Int64),
  completion_start_time Nullable(Int64),
  parent_observation_id Nullable(String),
  level LowCardinality(String),
  environment LowCardinality(String),
  model Nullable(String),
  version Nullable(String),
  total_cost Nullable(Float64),
  input_tokens Int64,
  output_tokens Int64,
  total_tokens Int64,
  prompt_name Nullable(String),
  prompt_version Nullable(Int64),
  created_at Int64,
  updated_at Int64,
  state String CODEC(ZSTD(3)),
  row_version UInt64,
  is_deleted UInt8,
  INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = ReplacingMergeTree(row_version, is_deleted)
ORDER BY (project_id, id))",
        R"(CREATE TABLE IF NOT EXISTS scores (
  project_id String,
  id String,
  trace_id Nullable(String),
  observation_id Nullable(String),
  session_id Nullable(String),
  dataset_run_id Nullable(String),
  name String,
  value Nullable(Float64),
  string_value Nullable(String),
  source LowCardinality(String),
  data_type LowCardinality(String),
  timestamp Int64,
  environment LowCardinality(String),
  config_id Nullable(String),
  queue_id Nullable(String),
  author_user_id Nullable(String),
  created_at Int64,
  updated_at Int64,
  state String CODEC(ZSTD(3)),
  row_version UInt64,
  is_deleted UInt8,
  INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = ReplacingMergeTree(row_version, is_deleted)
ORDER BY (project_id, id))"}},
      // The metrics API's input and output cost measures. Rows written
      // before have none (null) until their observation is written again.
      {2,
       "observation input and output cost",
       {"ALTER TABLE observations ADD COLUMN IF NOT EXISTS input_cost Nullable(Float64), ADD "
        "COLUMN IF NOT EXISTS output_cost Nullable(Float64)"}},
      // One narrow row per trace: the columns trace-level metrics filter
      // and group by, with the trace's observation aggregates, kept by the
      // write path (see RefreshTraceMetrics) so that trace lists and
      // dashboards neither join traces to their observations nor aggregate
      // every observation at read time. The backfill gives the traces
      // written before version 0, below any version the write path sets.
      {3,
       "per-trace summaries with observation aggregates",
       {R"(CREATE TABLE IF NOT EXISTS trace_metrics (
  project_id String,
  trace_id String,
  timestamp Int64,
  name Nullable(String),
  user_id Nullable(String),
  session_id Nullable(String),
  release Nullable(String),
  version Nullable(String),
  environment LowCardinality(String),
  tags Array(String),
  observation_count Int64,
  total_cost Float64,
  total_tokens Nullable(Int64),
  min_start Nullable(Int64),
  max_end Nullable(Int64),
  row_version UInt64,
  is_deleted UInt8
) ENGINE = ReplacingMergeTree(row_version, is_deleted)
ORDER BY (project_id, trace_id))",
        R"(INSERT INTO trace_metrics SELECT t.project_id, t.id, t.timestamp, t.name, t.user_id,
  t.session_id, t.release, t.version, t.environment, t.tags, a.n, a.cost, a.tokens, a.min_start,
  a.max_end, 0, 0
FROM traces AS t FINAL LEFT JOIN (SELECT project_id, trace_id, count() AS n,
  sum(ifNull(total_cost, 0)) AS cost, toNullable(sum(total_tokens)) AS tokens,
  toNullable(min(start_time)) AS min_start, toNullable(max(ifNull(end_time, start_time))) AS max_end
  FROM observations FINAL GROUP BY project_id, trace_id) AS a
  ON a.project_id = t.project_id AND a.trace_id = t.id)"}},
      // The observations of each trace, sorted by trace: what the recount
      // of a trace's summary (and deletes by trace) read by primary key,
      // where the observations table offers only a bloom filter index that
      // every query scans whole. An observation that moves to another trace
      // leaves a tombstone under the old one.
      {4,
       "observations by trace",
       {R"(CREATE TABLE IF NOT EXISTS trace_observations (
  project_id String,
  trace_id String,
  id String,
  start_time Int64,
  end_time Nullable(Int64),
  total_cost Nullable(Float64),
  total_tokens Int64,
  row_version UInt64,
  is_deleted UInt8
) ENGINE = ReplacingMergeTree(row_version, is_deleted)
ORDER BY (project_id, trace_id, id))",
        R"(INSERT INTO trace_observations SELECT project_id, trace_id, id, start_time, end_time,
  total_cost, total_tokens, row_version, 0 FROM observations FINAL)"}},
      // Every version of every trace, observation and score, narrow, in
      // small granules and small compressed blocks: what a write looks up
      // for the entities of its batch (their newest version, deleted or
      // not). Ids are random, so in the wide tables a batch of a thousand
      // ids touches most granules and decompresses most of the id column:
      // the lookup grew with the table (~50 ms at 1 M rows, over 100 ms at
      // 10 M). Here it decompresses about one 1,024-row block per id,
      // whatever the size (30 ms at 10 M rows; bench/clickhouse_lookup.py).
      // Tombstones are kept (no is_deleted engine argument): the lookup must
      // see a deletion to version above it. Materialized views fill it from
      // every insert into the three tables, so no writer (deletes and copies
      // included) can leave a version out; they exist before the backfill,
      // so rows inserted meanwhile are not missed (at worst copied twice,
      // which the engine collapses).
      {5,
       "entity versions for the write path",
       {R"(CREATE TABLE IF NOT EXISTS entity_versions (
  project_id String,
  kind UInt8,
  id String,
  row_version UInt64,
  is_deleted UInt8,
  created_at Int64
) ENGINE = ReplacingMergeTree(row_version)
ORDER BY (project_id, kind, id)
SETTINGS index_granularity = 1024, min_compress_block_size = 4096,
  max_compress_block_size = 65536)",
        R"(CREATE MATERIALIZED VIEW IF NOT EXISTS entity_versions_of_traces TO entity_versions
  AS SELECT project_id, toUInt8(0) AS kind, id, row_version, is_deleted, created_at FROM traces)",
        R"(CREATE MATERIALIZED VIEW IF NOT EXISTS entity_versions_of_observations TO entity_versions
  AS SELECT project_id, toUInt8(1) AS kind, id, row_version, is_deleted, created_at
  FROM observations)",
        R"(CREATE MATERIALIZED VIEW IF NOT EXISTS entity_versions_of_scores TO entity_versions
  AS SELECT project_id, toUInt8(2) AS kind, id, row_version, is_deleted, created_at FROM scores)",
        R"(INSERT INTO entity_versions SELECT project_id, 0, id, row_version, is_deleted, created_at
  FROM traces)",
        R"(INSERT INTO entity_versions SELECT project_id, 1, id, row_version, is_deleted, created_at
  FROM observations)",
        R"(INSERT INTO entity_versions SELECT project_id, 2, id, row_version, is_deleted, created_at
  FROM scores)"}},
      // What a write's recount of its traces' summaries reads, in the small
      // granules and blocks of entity_versions, for the same reason: a round
      // asks for a few hundred random traces, which in 8,192-row granules
      // means most of both tables (at 10 M observations the observations
      // part alone took 75 ms, against 20 ms here; bench/clickhouse_lookup.py).
      //  - trace_heads: the trace columns the summary copies, filled by a
      //    view from every insert into traces;
      //  - observations_by_trace: takes over from trace_observations (whose
      //    granules cannot be changed). A view forwards what processes of an
      //    older version still insert there during an upgrade; the view
      //    exists before the copy, so nothing inserted meanwhile is missed.
      {6,
       "small-granule tables for the trace summaries' recount",
       {R"(CREATE TABLE IF NOT EXISTS trace_heads (
  project_id String,
  id String,
  timestamp Int64,
  name Nullable(String),
  user_id Nullable(String),
  session_id Nullable(String),
  release Nullable(String),
  version Nullable(String),
  environment LowCardinality(String),
  tags Array(String),
  row_version UInt64,
  is_deleted UInt8
) ENGINE = ReplacingMergeTree(row_version, is_deleted)
ORDER BY (project_id, id)
SETTINGS index_granularity = 1024, min_compress_block_size = 4096,
  max_compress_block_size = 65536)",
        R"(CREATE MATERIALIZED VIEW IF NOT EXISTS trace_heads_of_traces TO trace_heads
  AS SELECT project_id, id, timestamp, name, user_id, session_id, release, version, environment,
  tags, row_version, is_deleted FROM traces)",
        R"(INSERT INTO trace_heads SELECT project_id, id, timestamp, name, user_id, session_id,
  release, version, environment, tags, row_version, is_deleted FROM traces)",
        R"(CREATE TABLE IF NOT EXISTS observations_by_trace (
  project_id String,
  trace_id String,
  id String,
  start_time Int64,
  end_time Nullable(Int64),
  total_cost Nullable(Float64),
  total_tokens Int64,
  row_version UInt64,
  is_deleted UInt8
) ENGINE = ReplacingMergeTree(row_version, is_deleted)
ORDER BY (project_id, trace_id, id)
SETTINGS index_granularity = 1024, min_compress_block_size = 4096,
  max_compress_block_size = 65536)",
        R"(CREATE MATERIALIZED VIEW IF NOT EXISTS observations_by_trace_of_trace_observations
  TO observations_by_trace AS SELECT project_id, trace_id, id, start_time, end_time, total_cost,
  total_tokens, row_version, is_deleted FROM trace_observations)",
        R"(INSERT INTO observations_by_trace SELECT project_id, trace_id, id, start_time, end_time,
  total_cost, total_tokens, row_version, is_deleted FROM trace_observations)"}},
  };
  return kMigrations;
}

constexpr const char* kTableByKind[] = {"traces", "observations", "scores"};

// A trace's observation aggregates (kept at write time in trace_metrics) as
// a_trace, a_count, a_cost, a_min_start, a_max_end, a_tokens. Every stored
// trace has a row (count 0 and null times without observations);
// observations of a trace not stored have none.
constexpr const char* kTraceMetricsColumns =
    "trace_id AS a_trace, observation_count AS a_count, total_cost AS a_cost, min_start AS "
    "a_min_start, max_end AS a_max_end, total_tokens AS a_tokens";

// What the states of recently written entities may take in memory.
constexpr size_t kStateCacheBytes = 32 << 20;

// IN lists are split so that no query exceeds ClickHouse's default
// max_query_size (256 KiB).
constexpr size_t kMaxListBytes = 128 * 1024;

// `max_bytes` is smaller for queries that name a chunk more than once.
std::vector<std::vector<std::string>> Chunks(const std::vector<std::string>& ids,
                                             size_t max_bytes = kMaxListBytes) {
  std::vector<std::vector<std::string>> out;
  size_t bytes = 0;
  for (const auto& id : ids) {
    if (out.empty() || bytes + id.size() + 4 > max_bytes) {
      out.emplace_back();
      bytes = 0;
    }
    out.back().push_back(id);
    bytes += id.size() + 4;
  }
  return out;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// A comparison operator the API validated, or "=" for anything else.
std::string Comparison(const std::string& op) {
  static const std::set<std::string> kOps = {"=", ">", "<", ">=", "<=", "<>", "!="};
  return kOps.count(op) ? op : "=";
}

int64_t UsageSum(const std::map<std::string, int64_t>& usage, std::string_view prefix) {
  int64_t sum = 0;
  for (const auto& [k, v] : usage) {
    if (k.rfind(prefix, 0) == 0) sum += v;
  }
  return sum;
}

double CostSum(const std::map<std::string, double>& cost, std::string_view prefix) {
  double sum = 0;
  for (const auto& [k, v] : cost) {
    if (k.rfind(prefix, 0) == 0) sum += v;
  }
  return sum;
}

int64_t UsageTotal(const std::map<std::string, int64_t>& usage) {
  auto it = usage.find("total");
  return it != usage.end() ? it->second : 0;
}

json::value OptJson(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}
json::value OptJson(const std::optional<int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}
json::value OptJson(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? json::value(*v) : json::value(nullptr);
}

// A filter column: its SQL expression, and whether it is an Array(String).
struct FilterColumnSql {
  std::string expr;
  bool array = false;
};

const std::map<std::string, FilterColumnSql>& TraceFilterSql() {
  static const std::map<std::string, FilterColumnSql> kMap = {
      {"id", {"id"}},
      {"name", {"name"}},
      {"timestamp", {"timestamp"}},
      {"userId", {"user_id"}},
      {"sessionId", {"session_id"}},
      {"release", {"release"}},
      {"version", {"version"}},
      {"environment", {"environment"}},
      {"tags", {"tags", true}},
      {"bookmarked", {"bookmarked"}},
      {"public", {"public"}},
  };
  return kMap;
}

const std::map<std::string, FilterColumnSql>& ObservationFilterSql() {
  static const std::map<std::string, FilterColumnSql> kMap = {
      {"id", {"id"}},
      {"name", {"name"}},
      {"traceId", {"trace_id"}},
      {"type", {"type"}},
      {"level", {"level"}},
      {"environment", {"environment"}},
      {"model", {"model"}},
      {"providedModelName", {"model"}},
      {"version", {"version"}},
      {"parentObservationId", {"parent_observation_id"}},
      {"startTime", {"start_time"}},
      {"endTime", {"end_time"}},
      {"latency", {"((end_time - start_time) / 1000.0)"}},
      {"totalCost", {"total_cost"}},
      {"inputTokens", {"input_tokens"}},
      {"outputTokens", {"output_tokens"}},
      {"totalTokens", {"total_tokens"}},
  };
  return kMap;
}

const std::map<std::string, FilterColumnSql>& ScoreFilterSql() {
  static const std::map<std::string, FilterColumnSql> kMap = {
      {"id", {"id"}},
      {"name", {"name"}},
      {"value", {"value"}},
      {"stringValue", {"string_value"}},
      {"source", {"source"}},
      {"dataType", {"data_type"}},
      {"timestamp", {"timestamp"}},
      {"environment", {"environment"}},
      {"traceId", {"trace_id"}},
      {"observationId", {"observation_id"}},
      {"sessionId", {"session_id"}},
      {"configId", {"config_id"}},
      {"queueId", {"queue_id"}},
      {"authorUserId", {"author_user_id"}},
      {"datasetRunId", {"dataset_run_id"}},
  };
  return kMap;
}

std::string ArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += SqlQuote(values[i]);
  }
  return out + "]";
}

// SQL for validated filter conditions, with the semantics of the SQLite
// store (NULL never matches a comparison; the negations hold for NULL).
absl::Status AppendFilters(const std::vector<FilterCondition>& filters,
                           const std::map<std::string, FilterColumnSql>& columns,
                           std::string* where) {
  for (const FilterCondition& f : filters) {
    auto it = columns.find(f.column);
    if (it == columns.end()) {
      return absl::UnimplementedError("filtering on " + f.column +
                                      " is not available on ClickHouse yet");
    }
    const std::string& col = it->second.expr;
    switch (f.type) {
      case FilterType::kDatetime:
        *where += " AND " + col + " " + Comparison(f.op) + " " + std::to_string(f.time_ms);
        break;
      case FilterType::kNumber:
        *where += " AND " + col + " " + Comparison(f.op) + " " + Number(f.number_value);
        break;
      case FilterType::kString: {
        const std::string v = SqlQuote(f.string_value);
        if (f.op == "=") {
          *where += " AND " + col + " = " + v;
        } else if (f.op == "contains") {
          *where += " AND position(" + col + ", " + v + ") > 0";
        } else if (f.op == "does not contain") {
          *where += " AND (" + col + " IS NULL OR position(" + col + ", " + v + ") = 0)";
        } else if (f.op == "starts with") {
          *where += " AND startsWith(" + col + ", " + v + ")";
        } else {  // ends with
          *where += " AND endsWith(" + col + ", " + v + ")";
        }
        break;
      }
      case FilterType::kStringOptions:
        if (f.values.empty()) {
          if (f.op == "any of") *where += " AND 0";
          break;
        }
        if (f.op == "any of") {
          *where += " AND " + col + " IN " + SqlList(f.values);
        } else {
          *where += " AND (" + col + " IS NULL OR " + col + " NOT IN " + SqlList(f.values) + ")";
        }
        break;
      case FilterType::kArrayOptions: {
        if (f.values.empty()) {
          if (f.op == "any of") *where += " AND 0";
          break;
        }
        const std::string arr = ArrayLiteral(f.values);
        if (f.op == "any of") {
          *where += " AND hasAny(" + col + ", " + arr + ")";
        } else if (f.op == "none of") {
          *where += " AND NOT hasAny(" + col + ", " + arr + ")";
        } else {  // all of
          *where += " AND hasAll(" + col + ", " + arr + ")";
        }
        break;
      }
      case FilterType::kBoolean:
        *where += " AND " + col + (f.op == "=" ? " = " : " <> ") + (f.bool_value ? "1" : "0");
        break;
      case FilterType::kNull:
        *where += " AND " + col + (f.op == "is null" ? " IS NULL" : " IS NOT NULL");
        break;
    }
  }
  return absl::OkStatus();
}

void AddEquals(const char* column, const std::optional<std::string>& value, std::string* where) {
  if (value) *where += std::string(" AND ") + column + " = " + SqlQuote(*value);
}

void AddInList(const char* column, const std::vector<std::string>& values, std::string* where) {
  if (!values.empty()) *where += std::string(" AND ") + column + " IN " + SqlList(values);
}

// Rows strictly after a keyset position in (time desc, id desc) order.
void AddKeyset(const KeysetRequest& keyset, const char* time_col, std::string* where) {
  if (!keyset.enabled || !keyset.after) return;
  const std::string t = std::to_string(keyset.after->time_ms);
  *where += std::string(" AND (") + time_col + " < " + t + " OR (" + time_col + " = " + t +
            " AND id < " + SqlQuote(keyset.after->id) + "))";
}

std::string Limit(const PageRequest& page, bool keyset) {
  const int64_t offset =
      keyset ? 0 : std::max<int64_t>(0, static_cast<int64_t>(page.page - 1) * page.limit);
  return " LIMIT " + std::to_string(page.limit) + " OFFSET " + std::to_string(offset);
}

// The stored version of an entity, as the write path sees it: the newest
// row, deleted or not.
// A batch's events of one kind, by entity id.
using EventsById = std::map<std::string, std::vector<const IngestEvent*>>;

// The newest stored version of an entity.
struct Stored {
  uint64_t row_version = 0;
  bool deleted = false;
  int64_t created_at = 0;
};

struct TraceAggregate {
  int64_t count = 0;
  double cost = 0;
  std::optional<int64_t> min_start, max_end;
};

// ---- metrics views

// A dimension's SQL expression and how its value reads as the SQLite store
// reports it: text, a JSON array (tags, stored as JSON text there) or a
// REAL cast to text.
struct ChDimension {
  enum Kind { kText, kJsonArray, kReal };
  std::string expr;
  Kind kind = kText;
};

struct ChMeasure {
  std::string expr;
  bool text = false;  // a text value: counted and counted distinct only
};

// A table joined to a metrics view when the query names its alias. Joins
// read only what rows in the query's range can reach; the IN subqueries that
// narrow them read without FINAL, which at most keeps rows that then find no
// partner.
struct ChJoin {
  std::string alias;
  // The JOIN clause; `range` is " AND <view range column> >= .. < .." over
  // the view's own table, to limit what the join reads.
  std::function<std::string(const std::string& project_id, const std::string& range)> sql;
};

// How each metrics view maps onto the tables (see MetricsSqlFor in the
// SQLite store): aliases t (traces), o (observations), s (scores), a
// (per-trace observation aggregates), sc (score counts).
struct ChMetricsView {
  std::string from;
  std::string project_column;
  std::string where;         // view-specific restriction, after the project check
  std::string time;          // time column, epoch ms
  std::string range_column;  // the time column unqualified, for `range`
  std::map<std::string, ChDimension> dims;
  std::map<std::string, ChMeasure> measures;
  std::map<std::string, FilterColumnSql> filters;
  std::vector<ChJoin> joins;
};

std::string ProjectCondition(const std::string& project_id) {
  return "project_id = " + SqlQuote(project_id);
}

std::string MonthOf(const std::string& time) {
  return "formatDateTime(fromUnixTimestamp64Milli(" + time + ", 'UTC'), '%Y-%m')";
}

// Trace name, user and session of the view's trace, as t.t_name,
// t.t_user_id and t.t_session_id; only the traces that `table`'s rows in the
// range name are read.
ChJoin TraceJoin(const std::string& on, const std::string& table) {
  return {"t", [on, table](const std::string& project_id, const std::string& range) {
            return " LEFT JOIN (SELECT trace_id AS t_id, name AS t_name, user_id AS t_user_id, "
                   "session_id AS t_session_id FROM trace_metrics FINAL WHERE " +
                   ProjectCondition(project_id) + " AND trace_id IN (SELECT trace_id FROM " +
                   table + " WHERE " + ProjectCondition(project_id) + range +
                   ")) AS t ON t.t_id = " + on;
          }};
}

const ChMetricsView& ChMetricsViewFor(MetricsView view) {
  static const ChMetricsView kTraces = {
      " FROM trace_metrics AS t FINAL",
      "t.project_id",
      "",
      "t.timestamp",
      "timestamp",
      {{"id", {"t.trace_id"}},
       {"name", {"t.name"}},
       {"tags", {"t.tags", ChDimension::kJsonArray}},
       {"userId", {"t.user_id"}},
       {"sessionId", {"t.session_id"}},
       {"release", {"t.release"}},
       {"version", {"t.version"}},
       {"environment", {"t.environment"}},
       {"timestampMonth", {MonthOf("t.timestamp")}}},
      {{"count", {"1"}},
       {"observationsCount", {"t.observation_count"}},
       {"scoresCount", {"sc.sc_count"}},
       {"uniqueUserIds", {"t.user_id", true}},
       {"uniqueSessionIds", {"t.session_id", true}},
       {"latency", {"(t.max_end - t.min_start)"}},
       {"totalTokens", {"t.total_tokens"}},
       {"totalCost", {"t.total_cost"}}},
      {{"id", {"t.trace_id"}},
       {"name", {"t.name"}},
       {"tags", {"t.tags", true}},
       {"userId", {"t.user_id"}},
       {"sessionId", {"t.session_id"}},
       {"release", {"t.release"}},
       {"version", {"t.version"}},
       {"environment", {"t.environment"}},
       {"timestamp", {"t.timestamp"}}},
      {{"sc", [](const std::string& project_id, const std::string& range) {
          return " LEFT JOIN (SELECT assumeNotNull(trace_id) AS sc_trace, count() AS sc_count "
                 "FROM scores FINAL WHERE " +
                 ProjectCondition(project_id) +
                 " AND trace_id IN (SELECT trace_id FROM trace_metrics WHERE " +
                 ProjectCondition(project_id) + range +
                 ") GROUP BY trace_id) AS sc ON sc.sc_trace = t.trace_id";
        }}}};
  static const ChMetricsView kObservations = {
      " FROM observations AS o FINAL",
      "o.project_id",
      "",
      "o.start_time",
      "start_time",
      {{"id", {"o.id"}},
       {"traceId", {"o.trace_id"}},
       {"traceName", {"t.t_name"}},
       {"environment", {"o.environment"}},
       {"parentObservationId", {"o.parent_observation_id"}},
       {"type", {"o.type"}},
       {"name", {"o.name"}},
       {"level", {"o.level"}},
       {"version", {"o.version"}},
       {"providedModelName", {"o.model"}},
       {"promptName", {"o.prompt_name"}},
       {"promptVersion", {"toString(o.prompt_version)"}},
       {"userId", {"t.t_user_id"}},
       {"sessionId", {"t.t_session_id"}},
       {"startTimeMonth", {MonthOf("o.start_time")}}},
      {{"count", {"1"}},
       {"latency", {"(o.end_time - o.start_time)"}},
       {"streamingLatency", {"(o.end_time - o.completion_start_time)"}},
       {"timeToFirstToken", {"(o.completion_start_time - o.start_time)"}},
       {"inputTokens", {"o.input_tokens"}},
       {"outputTokens", {"o.output_tokens"}},
       {"totalTokens", {"o.total_tokens"}},
       {"outputTokensPerSecond",
        {"(o.output_tokens * 1000.0 / nullIf(o.end_time - o.start_time, 0))"}},
       {"tokensPerSecond", {"(o.total_tokens * 1000.0 / nullIf(o.end_time - o.start_time, 0))"}},
       {"inputCost", {"o.input_cost"}},
       {"outputCost", {"o.output_cost"}},
       {"totalCost", {"o.total_cost"}},
       {"countScores", {"sc.sc_count"}}},
      {{"id", {"o.id"}},
       {"traceId", {"o.trace_id"}},
       {"traceName", {"t.t_name"}},
       {"environment", {"o.environment"}},
       {"parentObservationId", {"o.parent_observation_id"}},
       {"type", {"o.type"}},
       {"name", {"o.name"}},
       {"level", {"o.level"}},
       {"version", {"o.version"}},
       {"providedModelName", {"o.model"}},
       {"promptName", {"o.prompt_name"}},
       {"userId", {"t.t_user_id"}},
       {"sessionId", {"t.t_session_id"}},
       {"startTime", {"o.start_time"}}},
      {TraceJoin("o.trace_id", "observations"),
       {"sc", [](const std::string& project_id, const std::string&) {
          // A score counts for the observation it names within the same trace.
          return " LEFT JOIN (SELECT assumeNotNull(observation_id) AS sc_obs, "
                 "assumeNotNull(trace_id) AS sc_trace, count() AS sc_count FROM scores FINAL "
                 "WHERE " +
                 ProjectCondition(project_id) +
                 " AND observation_id IS NOT NULL AND trace_id IS NOT NULL GROUP BY "
                 "observation_id, trace_id) AS sc ON sc.sc_obs = o.id AND sc.sc_trace = "
                 "o.trace_id";
        }}}};
  auto scores = [](const char* data_type) {
    return ChMetricsView{
        " FROM scores AS s FINAL",
        "s.project_id",
        std::string(" AND s.data_type = '") + data_type + "'",
        "s.timestamp",
        "timestamp",
        {{"id", {"s.id"}},
         {"environment", {"s.environment"}},
         {"name", {"s.name"}},
         {"source", {"s.source"}},
         {"dataType", {"s.data_type"}},
         {"traceId", {"s.trace_id"}},
         {"configId", {"s.config_id"}},
         {"timestampMonth", {MonthOf("s.timestamp")}},
         {"timestampDay",
          {"formatDateTime(fromUnixTimestamp64Milli(s.timestamp, 'UTC'), '%Y-%m-%d')"}},
         {"traceName", {"t.t_name"}},
         {"userId", {"t.t_user_id"}},
         {"sessionId", {"t.t_session_id"}},
         {"observationName", {"o.o_name"}},
         {"observationModelName", {"o.o_model"}},
         {"value", {"s.value", ChDimension::kReal}},
         {"stringValue", {"s.string_value"}}},
        {{"count", {"1"}}, {"value", {"s.value"}}},
        {{"id", {"s.id"}},
         {"environment", {"s.environment"}},
         {"name", {"s.name"}},
         {"source", {"s.source"}},
         {"dataType", {"s.data_type"}},
         {"traceId", {"s.trace_id"}},
         {"configId", {"s.config_id"}},
         {"traceName", {"t.t_name"}},
         {"userId", {"t.t_user_id"}},
         {"sessionId", {"t.t_session_id"}},
         {"value", {"s.value"}},
         {"stringValue", {"s.string_value"}},
         {"timestamp", {"s.timestamp"}}},
        {TraceJoin("s.trace_id", "scores"),
         {"o", [](const std::string& project_id, const std::string& range) {
            return " LEFT JOIN (SELECT id AS o_id, name AS o_name, model AS o_model FROM "
                   "observations FINAL WHERE " +
                   ProjectCondition(project_id) +
                   " AND id IN (SELECT assumeNotNull(observation_id) FROM scores WHERE " +
                   ProjectCondition(project_id) + range +
                   " AND observation_id IS NOT NULL)) AS o ON o.o_id = s.observation_id";
          }}}};
  };
  static const ChMetricsView kNumeric = scores("NUMERIC");
  static const ChMetricsView kCategorical = scores("CATEGORICAL");
  static const ChMetricsView kBoolean = scores("BOOLEAN");
  switch (view) {
    case MetricsView::kTraces:
      return kTraces;
    case MetricsView::kObservations:
      return kObservations;
    case MetricsView::kScoresNumeric:
      return kNumeric;
    case MetricsView::kScoresCategorical:
      return kCategorical;
    case MetricsView::kScoresBoolean:
      return kBoolean;
  }
  return kTraces;
}

// Whether `sql` names a column of table alias `alias` ("t." not preceded by
// an identifier character).
bool UsesAlias(std::string_view sql, std::string_view alias) {
  const std::string needle = std::string(alias) + ".";
  for (size_t at = sql.find(needle); at != std::string_view::npos; at = sql.find(needle, at + 1)) {
    if (at == 0) return true;
    const char before = sql[at - 1];
    if (!std::isalnum(static_cast<unsigned char>(before)) && before != '_') return true;
  }
  return false;
}

// A REAL as SQLite's CAST(x AS TEXT) writes it: 15 significant digits and
// always a decimal point ("1.0", "0.5", "1.0e+20").
std::string SqliteRealText(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  std::string out = buf;
  if (out.find('.') == std::string::npos) {
    const size_t e = out.find('e');
    out.insert(e == std::string::npos ? out.size() : e, ".0");
  }
  return out;
}

// Orders and limits metrics rows as MetricsAggregator::Finish() does: the
// explicit order, else by time bucket and then the first metric descending;
// ties keep the given order.
json::array OrderAndLimit(const MetricsQuery& query, std::vector<json::object> rows) {
  auto cmp_values = [](const json::value* a, const json::value* b) -> int {
    if (!a || a->is_null()) return (!b || b->is_null()) ? 0 : -1;
    if (!b || b->is_null()) return 1;
    if (a->is_number() && b->is_number()) {
      double x = a->to_number<double>(), y = b->to_number<double>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    std::string x = a->is_string() ? std::string(a->as_string()) : json::serialize(*a);
    std::string y = b->is_string() ? std::string(b->as_string()) : json::serialize(*b);
    return x.compare(y) < 0 ? -1 : (x == y ? 0 : 1);
  };
  std::vector<std::pair<std::string, bool>> order = query.order_by;
  for (auto& [field, desc] : order) {
    for (const auto& m : query.metrics) {
      if (m.measure == field) field = m.alias();
    }
  }
  if (order.empty()) {
    if (query.granularity) order.emplace_back("time_dimension", false);
    if (!query.metrics.empty()) order.emplace_back(query.metrics.front().alias(), true);
  }
  std::stable_sort(rows.begin(), rows.end(), [&](const json::object& a, const json::object& b) {
    for (const auto& [field, desc] : order) {
      int c = cmp_values(a.if_contains(field), b.if_contains(field));
      if (c != 0) return desc ? c > 0 : c < 0;
    }
    return false;
  });
  json::array out;
  for (auto& r : rows) {
    if (static_cast<int>(out.size()) >= query.row_limit) break;
    out.push_back(std::move(r));
  }
  return out;
}

class ClickHouseEventStore final : public EventStore {
 public:
  ClickHouseEventStore(const ClickHouseOptions& options, const PriceTable* prices)
      : client_(options), prices_(prices) {}

  ~ClickHouseEventStore() override { Close(); }

  absl::Status Init() {
    RETURN_IF_ERROR(CheckServerVersion());
    RETURN_IF_ERROR(client_.ExecuteWithoutDatabase("CREATE DATABASE IF NOT EXISTS " +
                                                   SqlIdentifier(client_.options().database)));
    RETURN_IF_ERROR(
        client_.Execute("CREATE TABLE IF NOT EXISTS loupe_schema_migrations (version UInt32, "
                        "description String, applied_at Int64) ENGINE = MergeTree ORDER BY "
                        "version"));
    ASSIGN_OR_RETURN(auto rows,
                     client_.Query("SELECT DISTINCT version FROM loupe_schema_migrations"));
    std::set<int64_t> applied;
    for (const auto& r : rows) applied.insert(ChInt(r, "version"));
    // Every statement is idempotent (IF NOT EXISTS), so processes opening
    // the store together may both apply a migration without harm.
    for (const Migration& m : Migrations()) {
      if (applied.count(m.version)) continue;
      for (const char* sql : m.statements) RETURN_IF_ERROR(client_.Execute(sql));
      json::object row{
          {"version", m.version}, {"description", m.description}, {"applied_at", NowMillis()}};
      RETURN_IF_ERROR(client_.Insert("loupe_schema_migrations", json::serialize(row) + "\n"));
      LogInfo("applied ClickHouse schema migration",
              {{"version", m.version}, {"description", m.description}});
    }
    return absl::OkStatus();
  }

  // The tables need ReplacingMergeTree's is_deleted column (23.2): an older
  // server is named with its version instead of failing on the first CREATE.
  absl::Status CheckServerVersion() {
    ASSIGN_OR_RETURN(auto rows, client_.QueryWithoutDatabase("SELECT version() AS v"));
    const std::string version = rows.empty() ? "" : ChString(rows.front(), "v");
    int major = 0, minor = 0;
    if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2) {
      return absl::FailedPreconditionError("cannot read the server's version ('" + version + "')");
    }
    if (major < 23 || (major == 23 && minor < 2)) {
      return absl::FailedPreconditionError("ClickHouse " + version +
                                           " is too old: Loupe needs 23.2 or later");
    }
    return absl::OkStatus();
  }

  // EventStore

  absl::Status Write(const std::string& project_id, std::vector<IngestEvent> events) override {
    ASSIGN_OR_RETURN(StagedWrite staged, WriteStaged(project_id, std::move(events)));
    return staged.finish();
  }

  // The entities are inserted under write_mu_; the recount of the touched
  // traces' summaries is left to `finish`, outside it, so that a pipelining
  // caller's next batch is merged and inserted while this one is recounted
  // (a recount is right whatever writes race with it: see
  // RefreshTraceMetrics).
  absl::StatusOr<StagedWrite> WriteStaged(const std::string& project_id,
                                          std::vector<IngestEvent> events) override {
    RETURN_IF_ERROR(CheckOpen());
    if (events.empty()) return StagedWrite{};
    EventsById by_kind[3];
    for (const IngestEvent& e : events) {
      by_kind[static_cast<int>(e.kind)][e.entity_id].push_back(&e);
    }
    std::lock_guard lock(write_mu_);
    const int64_t now_ms = NowMillis();
    const uint64_t now_us = static_cast<uint64_t>(NowMicros());
    // The newest stored versions are looked up while the entities are merged
    // onto the states this process last wrote (or onto nothing, for entities
    // it has not written): usually the lookup confirms those, and only the
    // others are merged again, so a round waits for the lookup or the merge,
    // not for both.
    std::set<std::string> ids_of[3];
    for (int kind = 0; kind < 3; ++kind) {
      for (const auto& [id, unused] : by_kind[kind]) ids_of[kind].insert(id);
    }
    auto versions_future =
        std::async(std::launch::async, [&] { return LoadVersions(project_id, ids_of); });
    std::vector<MergedEntity> merged;
    for (int kind = 0; kind < 3; ++kind) {
      for (auto& [id, evs] : by_kind[kind]) {
        EntityState state;
        uint64_t base_version = 0;
        if (auto cached = states_.Latest(StateKey(kind, project_id, id))) {
          if (auto parsed = ParseState(cached->state); parsed.ok()) {
            state = *std::move(parsed);
            base_version = cached->row_version;
          }
        }
        merged.push_back(Merge(project_id, kind, id, evs, std::move(state), base_version));
      }
    }
    absl::StatusOr<std::array<std::map<std::string, Stored>, 3>> versions = versions_future.get();
    if (!versions.ok()) return versions.status();
    std::array<std::map<std::string, Stored>, 3>& stored_by_kind = *versions;
    auto stored_of = [&](const MergedEntity& m) -> const Stored* {
      auto it = stored_by_kind[m.kind].find(*m.id);
      return it == stored_by_kind[m.kind].end() ? nullptr : &it->second;
    };
    // The newest live version each merge must start from (0: none).
    auto base_of = [&](const MergedEntity& m) -> uint64_t {
      const Stored* st = stored_of(m);
      return st && !st->deleted ? st->row_version : 0;
    };
    // Entities to merge again, with the cached state of their newest live
    // version when this process has it (none: read back, or a new entity).
    std::vector<std::pair<size_t, std::optional<StateCache::Entry>>> again;
    std::vector<std::string> unread[3];  // states to read back from ClickHouse
    for (size_t i = 0; i < merged.size(); ++i) {
      const uint64_t base = base_of(merged[i]);
      if (base == merged[i].base_version) continue;
      const int kind = merged[i].kind;
      std::optional<StateCache::Entry> hit;
      if (base != 0) {
        hit = states_.Get(StateKey(kind, project_id, *merged[i].id), base);
        if (!hit) unread[kind].push_back(*merged[i].id);
      }
      again.emplace_back(i, std::move(hit));
    }
    ASSIGN_OR_RETURN(auto read_back, LoadStates(project_id, unread));
    for (auto& [i, hit] : again) {
      MergedEntity& m = merged[i];
      const uint64_t base = base_of(m);
      EntityState state;
      if (hit) {
        ASSIGN_OR_RETURN(state, ParseState(hit->state));
      } else if (base != 0) {
        state = std::move(read_back[m.kind][*m.id]);
      }
      m = Merge(project_id, m.kind, *m.id, by_kind[m.kind][*m.id], std::move(state), base);
    }

    std::string rows[3];
    std::string by_trace;                                            // observations_by_trace rows
    std::vector<std::pair<std::string, StateCache::Entry>> written;  // for states_
    std::set<std::string> metric_traces;                             // traces whose summary changes
    for (MergedEntity& m : merged) {
      const Stored* st = stored_of(m);
      const uint64_t version = st ? std::max(now_us, st->row_version + 1) : now_us;
      const int64_t created_at = st && !st->deleted ? st->created_at : now_ms;
      json::object& row = m.row;
      switch (static_cast<EntityKind>(m.kind)) {
        case EntityKind::kTrace:
          metric_traces.insert(*m.id);
          break;
        case EntityKind::kObservation:
          // An observation can move to another trace (its first events had
          // no trace id); the old one loses it.
          if (!m.old_trace.empty()) metric_traces.insert(m.old_trace);
          metric_traces.insert(m.trace_id);
          by_trace += json::serialize(json::object{{"project_id", project_id},
                                                   {"trace_id", m.trace_id},
                                                   {"id", *m.id},
                                                   {"start_time", m.start_time_ms},
                                                   {"end_time", row["end_time"]},
                                                   {"total_cost", row["total_cost"]},
                                                   {"total_tokens", row["total_tokens"]},
                                                   {"row_version", version},
                                                   {"is_deleted", 0}}) +
                      "\n";
          if (!m.old_trace.empty() && m.old_trace != m.trace_id) {
            by_trace += TraceObservationTombstone(project_id, m.old_trace, *m.id, version);
          }
          break;
        case EntityKind::kScore:
          break;
      }
      row["project_id"] = project_id;
      row["id"] = *m.id;
      row["created_at"] = created_at;
      row["updated_at"] = now_ms;
      row["state"] = m.state_text;
      row["row_version"] = version;
      row["is_deleted"] = 0;
      rows[m.kind] += json::serialize(row);
      rows[m.kind] += '\n';
      written.emplace_back(StateKey(m.kind, project_id, *m.id),
                           StateCache::Entry{version, created_at, std::move(m.state_text)});
    }
    // Observations, their rows by trace and scores (side by side) before
    // traces: a trace listed by a reader already has the observations of
    // its batch. Then the summaries of every trace the batch touched. (Each
    // insert also versions its rows in entity_versions, through the views.)
    auto scores = std::async(std::launch::async, [&] { return client_.Insert("scores", rows[2]); });
    auto by_trace_status = std::async(
        std::launch::async, [&] { return client_.Insert("observations_by_trace", by_trace); });
    absl::Status observations = client_.Insert("observations", rows[1]);
    absl::Status scores_status = scores.get();
    absl::Status by_trace_inserted = by_trace_status.get();
    RETURN_IF_ERROR(observations);
    RETURN_IF_ERROR(scores_status);
    RETURN_IF_ERROR(by_trace_inserted);
    RETURN_IF_ERROR(client_.Insert("traces", rows[0]));
    for (auto& [key, entry] : written) states_.Put(key, std::move(entry));
    return StagedWrite{[this, project_id, traces = std::move(metric_traces)] {
      return RefreshTraceMetrics(project_id, traces);
    }};
  }

  // Recomputes the trace_metrics rows of `trace_ids` from their stored
  // trace and observations, after those were written. Whole values rather
  // than deltas, so a batch written twice (a worker's retry) changes
  // nothing. Writers racing on one trace (its trace and observations in
  // different queue partitions) stay right: each takes its version after
  // its own inserts returned, so the highest version is a recount that
  // began after every insert before it, and sees them all. A trace that has
  // no row (deleted, or only observations so far) gets a tombstone.
  absl::Status RefreshTraceMetrics(const std::string& project_id,
                                   const std::set<std::string>& trace_ids) {
    if (trace_ids.empty()) return absl::OkStatus();
    const std::vector<std::string> ids(trace_ids.begin(), trace_ids.end());
    // The chunk is named four times in the query.
    for (const auto& chunk : Chunks(ids, kMaxListBytes / 4)) {
      const std::string version = std::to_string(NowMicros());
      const std::string list = SqlList(chunk);
      RETURN_IF_ERROR(client_.Execute(
          "INSERT INTO trace_metrics SELECT " + SqlQuote(project_id) +
          ", ids.trace_id, t.timestamp, t.name, t.user_id, t.session_id, t.release, t.version, "
          "t.environment, t.tags, a.n, a.cost, a.tokens, a.min_start, a.max_end, " +
          version + ", t.id = '' FROM (SELECT arrayJoin(" + ArrayLiteral(chunk) +
          ") AS trace_id) AS ids LEFT JOIN (" +
          Newest("trace_heads",
                 "id, timestamp, name, user_id, session_id, release, version, environment, tags",
                 project_id, "id IN " + list) +
          ") AS t ON t.id = ids.trace_id LEFT JOIN (SELECT trace_id, count() AS n, "
          "sum(ifNull(total_cost, 0)) AS cost, toNullable(sum(total_tokens)) AS tokens, "
          "toNullable(min(start_time)) AS min_start, toNullable(max(ifNull(end_time, "
          "start_time))) AS max_end FROM (" +
          Newest("observations_by_trace",
                 "trace_id, total_cost, total_tokens, start_time, end_time", project_id,
                 "trace_id IN " + list, "", "trace_id, id") +
          ") GROUP BY trace_id) AS a ON a.trace_id = ids.trace_id"));
    }
    return absl::OkStatus();
  }

  // "SELECT <columns>" of the newest version of each row of `table` that
  // `keys` (a condition on the key column, e.g. "id = 'x'") selects, leaving
  // out deleted rows; `filter` (" AND ...") applies to that newest version,
  // as a WHERE does after FINAL. For reads of a few keys this is several
  // times cheaper than FINAL, which merges every part's granules around
  // them (a trace by id: 10 against 30 ms; a trace's observations: 33
  // against 120 ms). Only the columns used are read.
  static std::string Newest(const char* table, const char* columns, const std::string& project_id,
                            const std::string& keys, const std::string& filter = "",
                            const char* key_column = "id") {
    return std::string("SELECT ") + columns + " FROM (SELECT * FROM " + table + " WHERE " +
           ProjectIs(project_id) + " AND " + keys + " ORDER BY row_version DESC LIMIT 1 BY " +
           key_column + ") WHERE is_deleted = 0" + filter;
  }

  // A condition for Newest(): every version of the rows of `table` that
  // belong, or once belonged, to a trace in `list` (an SqlList). The ids are
  // found first (a superset) so that the versions are read by the primary
  // key rather than through every granule near a match of the trace id index.
  static std::string IdsOfTraces(const char* table, const std::string& project_id,
                                 const std::string& list) {
    // Observations have observations_by_trace, sorted by trace.
    const std::string source =
        std::string_view(table) == "observations" ? "observations_by_trace" : table;
    return "id IN (SELECT id FROM " + source + " WHERE " + ProjectIs(project_id) +
           " AND trace_id IN " + list + ")";
  }

  // Newest() rows of `table` in the traces of `list`.
  static std::string NewestOfTraces(const char* table, const char* columns,
                                    const std::string& project_id, const std::string& list) {
    return Newest(table, columns, project_id, IdsOfTraces(table, project_id, list),
                  " AND trace_id IN " + list);
  }

  // The trace id a stored observation state resolves to ("" if none yet).
  static std::string StoredTraceId(const EntityState& state) {
    std::string id = state.GetString("traceId");
    if (!id.empty()) return id;
    const json::value* derived = state.derived().if_contains("traceId");
    return derived && derived->is_string() ? std::string(derived->as_string()) : std::string();
  }

  absl::StatusOr<std::optional<TraceRecord>> GetTrace(const std::string& project_id,
                                                      const std::string& id) override {
    RETURN_IF_ERROR(CheckOpen());
    ASSIGN_OR_RETURN(auto rows, client_.Query(Newest("traces", kTraceColumns, project_id,
                                                     "id = " + SqlQuote(id))));
    if (rows.empty()) return std::optional<TraceRecord>();
    ASSIGN_OR_RETURN(auto traces, ReadTraces(project_id, rows));
    return std::optional<TraceRecord>(std::move(traces.front()));
  }

  absl::StatusOr<PageResult<TraceRecord>> ListTraces(const std::string& project_id,
                                                     const TraceQuery& q) override {
    RETURN_IF_ERROR(CheckOpen());
    PageResult<TraceRecord> result;
    ASSIGN_OR_RETURN(TraceListing listing, TraceListingSql(project_id, q));
    // The total and the page are independent scans: run them side by side.
    auto count_future = std::async(std::launch::async, [&] {
      return client_.Query("SELECT count() AS n" + listing.count_from_where);
    });
    auto rows = client_.Query(std::string("SELECT ") + kTraceColumns + listing.from_where +
                              listing.order + Limit(q.page, false));
    auto count = count_future.get();
    if (!count.ok()) return count.status();
    if (!rows.ok()) return rows.status();
    result.total_items = count->empty() ? 0 : ChInt(count->front(), "n");
    ASSIGN_OR_RETURN(result.items, ReadTraces(project_id, *rows));
    return result;
  }

  // As the SQLite store: the listing's first `row_budget` rows in its order
  // are searched. ClickHouse rules out the rows whose state does not contain
  // the text (ASCII case-insensitively); the states of the others are read
  // and matched on their input and output here.
  absl::StatusOr<TraceSearchResult> SearchTraces(const std::string& project_id, const TraceQuery& q,
                                                 const TraceTextSearch& search) override {
    RETURN_IF_ERROR(CheckOpen());
    TraceSearchResult result;
    if (search.text.empty() || search.row_budget <= 0) return result;
    // The needle as it appears inside JSON text (quotes and control
    // characters escaped).
    std::string needle = json::serialize(json::string(search.text));
    needle = needle.substr(1, needle.size() - 2);
    ASSIGN_OR_RETURN(TraceListing listing, TraceListingSql(project_id, q));
    ASSIGN_OR_RETURN(auto rows,
                     client_.Query("SELECT id" + listing.from_where + listing.order + " LIMIT " +
                                   std::to_string(static_cast<int64_t>(search.row_budget) + 1)));
    std::vector<std::string> ids;
    for (const auto& r : rows) ids.push_back(ChString(r, "id"));
    if (ids.size() > static_cast<size_t>(search.row_budget)) {
      result.budget_reached = true;
      ids.resize(search.row_budget);
    }
    std::set<std::string> matches;
    for (const auto& chunk : Chunks(ids)) {
      ASSIGN_OR_RETURN(auto hits,
                       client_.Query(Newest(
                           "traces", "id, state", project_id, "id IN " + SqlList(chunk),
                           " AND positionCaseInsensitive(state, " + SqlQuote(needle) + ") > 0")));
      for (const auto& h : hits) {
        ASSIGN_OR_RETURN(EntityState state, ParseState(ChString(h, "state")));
        for (const char* field : {"input", "output"}) {
          const json::value* v = state.Get(field);
          if (v && !v->is_null() &&
              strcasestr(json::serialize(*v).c_str(), needle.c_str()) != nullptr) {
            matches.insert(ChString(h, "id"));
            break;
          }
        }
      }
    }
    const size_t skip = static_cast<size_t>(std::max(0, q.page.page - 1)) * q.page.limit;
    std::vector<std::string> page_ids;
    for (const auto& id : ids) {
      ++result.searched;
      if (!matches.count(id)) continue;
      if (static_cast<size_t>(result.page.total_items) >= skip &&
          page_ids.size() < static_cast<size_t>(q.page.limit)) {
        page_ids.push_back(id);
      }
      ++result.page.total_items;
    }
    if (page_ids.empty()) return result;
    ASSIGN_OR_RETURN(auto page_rows, client_.Query(Newest("traces", kTraceColumns, project_id,
                                                          "id IN " + SqlList(page_ids))));
    ASSIGN_OR_RETURN(auto traces, ReadTraces(project_id, page_rows));
    std::map<std::string, TraceRecord> by_id;
    for (auto& t : traces) by_id.emplace(t.id, std::move(t));
    for (const auto& id : page_ids) {
      auto it = by_id.find(id);
      if (it != by_id.end()) result.page.items.push_back(std::move(it->second));
    }
    return result;
  }

  absl::StatusOr<int64_t> DeleteTraces(const std::string& project_id,
                                       const std::vector<std::string>& ids) override {
    RETURN_IF_ERROR(CheckOpen());
    if (ids.empty()) return int64_t{0};
    std::lock_guard lock(write_mu_);
    const uint64_t now_us = static_cast<uint64_t>(NowMicros());
    int64_t deleted = 0;
    std::string tombstones[3];
    std::string by_trace_tombstones;
    for (const auto& chunk : Chunks(ids)) {
      const std::string list = SqlList(chunk);
      for (int kind = 0; kind < 3; ++kind) {
        const char* table = kTableByKind[kind];
        std::string sql;
        switch (static_cast<EntityKind>(kind)) {
          case EntityKind::kTrace:
            sql = Newest("trace_heads", "id, row_version", project_id, "id IN " + list);
            break;
          case EntityKind::kObservation:
            sql = Newest("observations_by_trace", "trace_id, id, row_version", project_id,
                         "trace_id IN " + list, "", "trace_id, id");
            break;
          case EntityKind::kScore:
            sql = NewestOfTraces(table, "id, row_version", project_id, list);
            break;
        }
        ASSIGN_OR_RETURN(auto rows, client_.Query(sql));
        if (kind == 0) deleted += static_cast<int64_t>(rows.size());
        for (const auto& r : rows) {
          const uint64_t version = std::max<uint64_t>(now_us, ChInt(r, "row_version") + 1);
          tombstones[kind] += Tombstone(project_id, ChString(r, "id"), version);
          if (kind == static_cast<int>(EntityKind::kObservation)) {
            by_trace_tombstones += TraceObservationTombstone(project_id, ChString(r, "trace_id"),
                                                             ChString(r, "id"), version);
          }
        }
      }
    }
    std::string metric_tombstones;
    for (const std::string& id : ids) {
      json::object row{{"project_id", project_id},  {"trace_id", id},
                       {"observation_count", 0},    {"total_cost", 0},
                       {"row_version", now_us + 1}, {"is_deleted", 1}};
      metric_tombstones += json::serialize(row) + "\n";
    }
    // Traces last: until they are gone, a failed delete stays visible.
    for (int kind : {1, 2}) RETURN_IF_ERROR(client_.Insert(kTableByKind[kind], tombstones[kind]));
    RETURN_IF_ERROR(client_.Insert("observations_by_trace", by_trace_tombstones));
    RETURN_IF_ERROR(client_.Insert("trace_metrics", metric_tombstones));
    RETURN_IF_ERROR(client_.Insert("traces", tombstones[0]));
    return deleted;
  }

  absl::StatusOr<std::optional<ObservationRecord>> GetObservation(const std::string& project_id,
                                                                  const std::string& id) override {
    RETURN_IF_ERROR(CheckOpen());
    ASSIGN_OR_RETURN(auto rows, client_.Query(Newest("observations", kEntityColumns, project_id,
                                                     "id = " + SqlQuote(id))));
    if (rows.empty()) return std::optional<ObservationRecord>();
    ASSIGN_OR_RETURN(auto rec, ReadObservation(project_id, rows.front()));
    return std::optional<ObservationRecord>(std::move(rec));
  }

  absl::StatusOr<PageResult<ObservationRecord>> ListObservations(
      const std::string& project_id, const ObservationQuery& q) override {
    RETURN_IF_ERROR(CheckOpen());
    PageResult<ObservationRecord> result;
    std::string where = " WHERE " + ProjectIs(project_id);
    AddEquals("name", q.name, &where);
    AddEquals("type", q.type, &where);
    AddEquals("level", q.level, &where);
    AddEquals("parent_observation_id", q.parent_observation_id, &where);
    AddEquals("version", q.version, &where);
    AddEquals("trace_id", q.trace_id, &where);
    if (q.user_id) {
      where += " AND trace_id IN (SELECT id FROM traces FINAL WHERE " + ProjectIs(project_id) +
               " AND user_id = " + SqlQuote(*q.user_id) + ")";
    }
    AddInList("environment", q.environments, &where);
    if (q.from_start_ms) where += " AND start_time >= " + std::to_string(*q.from_start_ms);
    if (q.to_start_ms) where += " AND start_time < " + std::to_string(*q.to_start_ms);
    RETURN_IF_ERROR(AppendFilters(q.filters, ObservationFilterSql(), &where));
    AddKeyset(q.keyset, "start_time", &where);
    if (!q.keyset.enabled) {
      ASSIGN_OR_RETURN(result.total_items, Count("observations", where));
    }
    const char* order = q.keyset.enabled ? " ORDER BY start_time DESC, id DESC"
                                         : " ORDER BY start_time DESC, created_at DESC, id DESC";
    ASSIGN_OR_RETURN(auto rows, client_.Query(std::string(kObservationSelect) + where + order +
                                              Limit(q.page, q.keyset.enabled)));
    for (const auto& r : rows) {
      ASSIGN_OR_RETURN(auto rec, ReadObservation(project_id, r));
      result.items.push_back(std::move(rec));
    }
    return result;
  }

  absl::StatusOr<std::vector<ObservationRecord>> ObservationsOfTrace(
      const std::string& project_id, const std::string& trace_id) override {
    RETURN_IF_ERROR(CheckOpen());
    ASSIGN_OR_RETURN(auto rows, client_.Query(NewestOfTraces("observations", kEntityColumns,
                                                             project_id, SqlList({trace_id})) +
                                              kTraceOrder));
    std::vector<ObservationRecord> out;
    for (const auto& r : rows) {
      ASSIGN_OR_RETURN(auto rec, ReadObservation(project_id, r));
      out.push_back(std::move(rec));
    }
    return out;
  }

  absl::StatusOr<std::vector<ObservationRecord>> ObservationOutlinesOfTrace(
      const std::string& project_id, const std::string& trace_id) override {
    RETURN_IF_ERROR(CheckOpen());
    // Only warnings and errors need the state (for their status message).
    ASSIGN_OR_RETURN(
        auto rows,
        client_.Query("SELECT id, parent_observation_id, type, name, start_time, end_time, "
                      "completion_start_time, level, model, input_tokens, output_tokens, "
                      "total_tokens, total_cost, environment, version, prompt_name, "
                      "prompt_version, created_at, updated_at, if(level IN ('WARNING', 'ERROR'), "
                      "state, '') AS outline_state FROM (" +
                      NewestOfTraces("observations", "*", project_id, SqlList({trace_id})) + ")" +
                      kTraceOrder));
    std::vector<ObservationRecord> out;
    for (const auto& r : rows) {
      ObservationRecord o;
      o.id = ChString(r, "id");
      o.project_id = project_id;
      o.trace_id = trace_id;
      o.parent_observation_id = ChOptString(r, "parent_observation_id");
      o.type = ChString(r, "type");
      o.name = ChOptString(r, "name");
      o.start_time_ms = ChInt(r, "start_time");
      o.end_time_ms = ChOptInt(r, "end_time");
      o.completion_start_time_ms = ChOptInt(r, "completion_start_time");
      o.level = ChString(r, "level");
      o.model = ChOptString(r, "model");
      const int64_t in = ChInt(r, "input_tokens"), output = ChInt(r, "output_tokens"),
                    total = ChInt(r, "total_tokens");
      if (in || output || total) {
        o.usage_details["input"] = in;
        o.usage_details["output"] = output;
        o.usage_details["total"] = total;
      }
      o.total_cost = ChOptDouble(r, "total_cost");
      o.environment = ChString(r, "environment");
      o.version = ChOptString(r, "version");
      o.prompt_name = ChOptString(r, "prompt_name");
      o.prompt_version = ChOptInt(r, "prompt_version");
      o.created_at_ms = ChInt(r, "created_at");
      o.updated_at_ms = ChInt(r, "updated_at");
      if (std::string text = ChString(r, "outline_state"); !text.empty()) {
        ASSIGN_OR_RETURN(EntityState state, ParseState(text));
        o.status_message =
            MaterializeObservation(project_id, o.id, &state, nullptr, Payloads::kSkip)
                .status_message;
      }
      out.push_back(std::move(o));
    }
    return out;
  }

  absl::StatusOr<std::vector<std::string>> ObservationIdsOfTrace(
      const std::string& project_id, const std::string& trace_id) override {
    RETURN_IF_ERROR(CheckOpen());
    ASSIGN_OR_RETURN(auto rows,
                     client_.Query(NewestOfTraces("observations", "id, start_time, created_at",
                                                  project_id, SqlList({trace_id})) +
                                   kTraceOrder));
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(ChString(r, "id"));
    return out;
  }

  absl::StatusOr<std::map<std::string, std::vector<std::string>>> ObservationIdsOfTraces(
      const std::string& project_id, const std::vector<std::string>& trace_ids) override {
    RETURN_IF_ERROR(CheckOpen());
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& chunk : Chunks(trace_ids, kMaxListBytes / 2)) {
      ASSIGN_OR_RETURN(
          auto rows,
          client_.Query(NewestOfTraces("observations", "trace_id, id, start_time, created_at",
                                       project_id, SqlList(chunk)) +
                        kTraceOrder));
      for (const auto& r : rows) out[ChString(r, "trace_id")].push_back(ChString(r, "id"));
    }
    return out;
  }

  absl::StatusOr<std::optional<ScoreRecord>> GetScore(const std::string& project_id,
                                                      const std::string& id) override {
    RETURN_IF_ERROR(CheckOpen());
    ASSIGN_OR_RETURN(auto rows, client_.Query(Newest("scores", kEntityColumns, project_id,
                                                     "id = " + SqlQuote(id))));
    if (rows.empty()) return std::optional<ScoreRecord>();
    ASSIGN_OR_RETURN(auto rec, ReadScore(project_id, rows.front()));
    return std::optional<ScoreRecord>(std::move(rec));
  }

  absl::StatusOr<PageResult<ScoreRecord>> ListScores(const std::string& project_id,
                                                     const ScoreQuery& q) override {
    RETURN_IF_ERROR(CheckOpen());
    PageResult<ScoreRecord> result;
    std::string where = " WHERE " + ProjectIs(project_id);
    AddEquals("name", q.name, &where);
    AddEquals("source", q.source, &where);
    AddEquals("config_id", q.config_id, &where);
    AddEquals("session_id", q.session_id, &where);
    AddEquals("dataset_run_id", q.dataset_run_id, &where);
    AddEquals("observation_id", q.observation_id, &where);
    AddEquals("queue_id", q.queue_id, &where);
    AddEquals("data_type", q.data_type, &where);
    AddEquals("trace_id", q.trace_id, &where);
    AddInList("environment", q.environments, &where);
    AddInList("id", q.score_ids, &where);
    if (q.from_ms) where += " AND timestamp >= " + std::to_string(*q.from_ms);
    if (q.to_ms) where += " AND timestamp < " + std::to_string(*q.to_ms);
    if (q.value) {
      where += " AND value " + (q.value_operator ? Comparison(*q.value_operator) : "=") + " " +
               Number(*q.value);
    }
    RETURN_IF_ERROR(AppendFilters(q.filters, ScoreFilterSql(), &where));
    if (q.user_id || !q.trace_tags.empty()) {
      std::string traces = " WHERE " + ProjectIs(project_id);
      AddEquals("user_id", q.user_id, &traces);
      if (!q.trace_tags.empty()) traces += " AND hasAll(tags, " + ArrayLiteral(q.trace_tags) + ")";
      where += " AND trace_id IN (SELECT id FROM traces FINAL" + traces + ")";
    }
    AddKeyset(q.keyset, "timestamp", &where);
    if (!q.keyset.enabled) {
      ASSIGN_OR_RETURN(result.total_items, Count("scores", where));
    }
    const char* order = q.keyset.enabled ? " ORDER BY timestamp DESC, id DESC"
                                         : " ORDER BY timestamp DESC, created_at DESC, id DESC";
    ASSIGN_OR_RETURN(auto rows, client_.Query(std::string(kScoreSelect) + where + order +
                                              Limit(q.page, q.keyset.enabled)));
    for (const auto& r : rows) {
      ASSIGN_OR_RETURN(auto rec, ReadScore(project_id, r));
      result.items.push_back(std::move(rec));
    }
    return result;
  }

  absl::StatusOr<std::map<std::string, std::vector<ScoreRecord>>> ScoresOfTraces(
      const std::string& project_id, const std::vector<std::string>& trace_ids) override {
    RETURN_IF_ERROR(CheckOpen());
    std::map<std::string, std::vector<ScoreRecord>> out;
    for (const auto& chunk : Chunks(trace_ids, kMaxListBytes / 2)) {
      ASSIGN_OR_RETURN(
          auto rows,
          client_.Query(NewestOfTraces("scores", "trace_id, id, created_at, updated_at, state",
                                       project_id, SqlList(chunk)) +
                        " ORDER BY timestamp, created_at, id"));
      for (const auto& r : rows) {
        ASSIGN_OR_RETURN(auto rec, ReadScore(project_id, r));
        out[ChString(r, "trace_id")].push_back(std::move(rec));
      }
    }
    return out;
  }

  absl::StatusOr<std::vector<ScoreRecord>> ScoresOfTrace(const std::string& project_id,
                                                         const std::string& trace_id) override {
    RETURN_IF_ERROR(CheckOpen());
    ASSIGN_OR_RETURN(auto rows, client_.Query(NewestOfTraces("scores", kEntityColumns, project_id,
                                                             SqlList({trace_id})) +
                                              " ORDER BY timestamp, created_at, id"));
    std::vector<ScoreRecord> out;
    for (const auto& r : rows) {
      ASSIGN_OR_RETURN(auto rec, ReadScore(project_id, r));
      out.push_back(std::move(rec));
    }
    return out;
  }

  absl::StatusOr<std::vector<ScoreNameCount>> RecentScoreNames(const std::string& project_id,
                                                               int limit) override {
    RETURN_IF_ERROR(CheckOpen());
    std::vector<ScoreNameCount> out;
    if (limit <= 0) return out;
    // Rather than a FINAL merge of every score: the candidates are the
    // newest `take` rows by timestamp of any version, kept when they are
    // their id's newest version and not deleted. A score's newest version
    // is a row itself, so once `limit` candidates survive they are the
    // newest `limit` scores; with fewer, more candidates are taken until
    // the project has no more rows. (One scan of the timestamps and a
    // lookup by id: about 230 against 340 ms for 3 M scores in 6 parts.)
    for (int64_t take = 2 * static_cast<int64_t>(limit);; take *= 4) {
      ASSIGN_OR_RETURN(auto rows,
                       client_.Query("SELECT id, name, data_type, row_version, "
                                     "is_deleted FROM scores WHERE " +
                                     ProjectIs(project_id) + " ORDER BY timestamp DESC LIMIT " +
                                     std::to_string(take)));
      std::set<std::string> ids;
      for (const auto& r : rows) ids.insert(ChString(r, "id"));
      std::map<std::string, int64_t> newest;
      const std::vector<std::string> id_list(ids.begin(), ids.end());
      for (const auto& chunk : Chunks(id_list)) {
        ASSIGN_OR_RETURN(
            auto versions,
            client_.Query("SELECT id, max(row_version) AS v FROM scores WHERE " +
                          ProjectIs(project_id) + " AND id IN " + SqlList(chunk) + " GROUP BY id"));
        for (const auto& v : versions) newest[ChString(v, "id")] = ChInt(v, "v");
      }
      std::map<std::pair<std::string, std::string>, int64_t> counts;
      std::set<std::string> counted;
      int64_t found = 0;
      for (const auto& r : rows) {
        if (found >= limit) break;
        const std::string id = ChString(r, "id");
        if (ChInt(r, "is_deleted") != 0 || ChInt(r, "row_version") != newest[id] ||
            !counted.insert(id).second) {
          continue;
        }
        ++counts[{ChString(r, "name"), ChString(r, "data_type")}];
        ++found;
      }
      if (found >= limit || static_cast<int64_t>(rows.size()) < take) {
        for (const auto& [key, n] : counts) out.push_back({key.first, key.second, n});
        return out;
      }
    }
  }

  absl::StatusOr<bool> DeleteScore(const std::string& project_id, const std::string& id) override {
    RETURN_IF_ERROR(CheckOpen());
    std::lock_guard lock(write_mu_);
    ASSIGN_OR_RETURN(auto rows, client_.Query(Newest("scores", "row_version", project_id,
                                                     "id = " + SqlQuote(id))));
    if (rows.empty()) return false;
    const uint64_t version = std::max<uint64_t>(static_cast<uint64_t>(NowMicros()),
                                                ChInt(rows.front(), "row_version") + 1);
    RETURN_IF_ERROR(client_.Insert("scores", Tombstone(project_id, id, version)));
    return true;
  }

  // Sessions are the session ids of the project's traces: created when the
  // first of their traces was, in that trace's environment.
  absl::StatusOr<PageResult<SessionRecord>> ListSessions(const std::string& project_id,
                                                         const SessionQuery& q) override {
    RETURN_IF_ERROR(CheckOpen());
    PageResult<SessionRecord> result;
    std::string having = " HAVING 1";
    if (q.from_ms) having += " AND s_created >= " + std::to_string(*q.from_ms);
    if (q.to_ms) having += " AND s_created < " + std::to_string(*q.to_ms);
    AddInList("s_env", q.environments, &having);
    const std::string sessions = SessionsSql(project_id, "") + having;
    ASSIGN_OR_RETURN(auto count, client_.Query("SELECT count() AS n FROM (" + sessions + ")"));
    result.total_items = count.empty() ? 0 : ChInt(count.front(), "n");
    ASSIGN_OR_RETURN(auto rows, client_.Query(sessions + " ORDER BY s_created DESC, s_id" +
                                              Limit(q.page, false)));
    for (const auto& r : rows) result.items.push_back(ReadSession(project_id, r));
    return result;
  }

  absl::StatusOr<std::optional<SessionRecord>> GetSession(const std::string& project_id,
                                                          const std::string& id) override {
    RETURN_IF_ERROR(CheckOpen());
    ASSIGN_OR_RETURN(auto rows,
                     client_.Query(SessionsSql(project_id, " AND session_id = " + SqlQuote(id))));
    if (rows.empty()) return std::optional<SessionRecord>();
    return std::optional<SessionRecord>(ReadSession(project_id, rows.front()));
  }

  absl::StatusOr<std::vector<TraceRecord>> TracesOfSession(const std::string& project_id,
                                                           const std::string& session_id) override {
    RETURN_IF_ERROR(CheckOpen());
    ASSIGN_OR_RETURN(
        auto rows,
        client_.Query(Newest("traces", kTraceColumns, project_id,
                             "id IN (SELECT id FROM traces WHERE " + ProjectIs(project_id) +
                                 " AND session_id = " + SqlQuote(session_id) + ")",
                             " AND session_id = " + SqlQuote(session_id)) +
                      " ORDER BY timestamp, created_at, id"));
    return ReadTraces(project_id, rows);
  }

  // Aggregates in ClickHouse, one row per group, with the semantics of
  // MetricsAggregator (query/metrics.cc): percentiles interpolate exactly
  // between the closest ranks, histograms bin between the group's minimum
  // and maximum, and the rows are ordered and limited the same way.
  absl::StatusOr<json::array> QueryMetrics(const std::string& project_id,
                                           const MetricsQuery& q) override {
    RETURN_IF_ERROR(CheckOpen());
    const ChMetricsView& view = ChMetricsViewFor(q.view);
    const std::string time = view.time;
    std::string bucket = "toInt64(0)";
    if (q.granularity) {
      auto floor_to = [&](const std::string& t, int64_t width) {
        const std::string w = std::to_string(width);
        return "(" + t + " - ((" + t + " % " + w + ") + " + w + ") % " + w + ")";
      };
      const std::string& g = *q.granularity;
      if (g == "minute") {
        bucket = floor_to(time, 60000);
      } else if (g == "hour") {
        bucket = floor_to(time, 3600000);
      } else if (g == "day") {
        bucket = floor_to(time, 86400000);
      } else if (g == "week") {
        const std::string day = floor_to(time, 86400000);
        bucket = "(" + day + " - ((intDiv(" + day + ", 86400000) + 3) % 7 + 7) % 7 * 86400000)";
      } else {
        bucket = "(toInt64(toStartOfMonth(toDate32(fromUnixTimestamp64Milli(" + time +
                 ", 'UTC')))) * 86400000)";
      }
    }
    std::string select = "SELECT " + bucket + " AS k_bucket, count() AS k_rows";
    std::string group = " GROUP BY k_bucket";
    for (size_t d = 0; d < q.dimensions.size(); ++d) {
      auto it = view.dims.find(q.dimensions[d]);
      if (it == view.dims.end()) {
        return absl::InvalidArgumentError("unknown dimension " + q.dimensions[d]);
      }
      select += ", " + it->second.expr + " AS k_d" + std::to_string(d);
      group += ", k_d" + std::to_string(d);
    }
    for (size_t i = 0; i < q.metrics.size(); ++i) {
      const MetricSpec& m = q.metrics[i];
      auto it = view.measures.find(m.measure);
      if (it == view.measures.end()) {
        return absl::InvalidArgumentError("unknown measure " + m.measure);
      }
      const std::string raw = it->second.expr;
      // Text measures (unique users/sessions) only count and count distinct.
      const std::string v = it->second.text ? std::string("CAST(NULL AS Nullable(Float64))")
                                            : "CAST(" + raw + " AS Nullable(Float64))";
      const std::string k = "m" + std::to_string(i);
      const std::string& agg = m.aggregation;
      if (agg == "count") {
        select += ", count(" + raw + ") AS " + k;
      } else if (agg == "sum") {
        select += ", sum(" + v + ") AS " + k;
      } else if (agg == "avg") {
        select += ", sum(" + v + ") AS " + k + "_sum, count(" + v + ") AS " + k + "_n";
      } else if (agg == "min" || agg == "max") {
        select += ", " + agg + "(" + v + ") AS " + k;
      } else if (agg == "uniq") {
        select += ", uniqExact(" + raw + ") AS " + k;
      } else if (agg == "histogram") {
        const std::string values = "groupArray(" + v + ")";
        const std::string n = std::to_string(q.bins);
        const std::string lo = "arrayMin(" + values + ")", hi = "arrayMax(" + values + ")";
        const std::string width = "((" + hi + " - " + lo + ") / " + n + ")";
        const std::string index = "arrayMap(x -> least(greatest(if(" + width +
                                  " > 0, toInt32((x - " + lo + ") / " + width + "), 0), 0), " + n +
                                  " - 1), " + values + ")";
        // The bin of every value, once (named inside the count).
        select += ", length(" + index + " AS " + k + "_index) AS " + k + "_n, " + lo + " AS " + k +
                  "_lo, " + hi + " AS " + k + "_hi, arrayMap(b -> countEqual(" + k +
                  "_index, b), range(" + n + ")) AS " + k + "_bins";
      } else {  // pNN: the two closest ranks; interpolated below
        const double level = std::stod(agg.substr(1)) / 100.0;
        const std::string sorted = "arraySort(groupArray(" + v + "))";
        const std::string last = "(greatest(length(" + sorted + "), 1) - 1)";
        const std::string lo = "toUInt64(floor(" + Number(level) + " * " + last + "))";
        select += ", length(" + sorted + ") AS " + k + "_n, " + sorted + "[" + lo + " + 1] AS " +
                  k + "_lo, " + sorted + "[least(" + lo + " + 1, " + last + ") + 1] AS " + k +
                  "_hi";
      }
    }
    std::string where = " WHERE " + view.project_column + " = " + SqlQuote(project_id) +
                        view.where + " AND " + time + " >= " + std::to_string(q.from_ms) + " AND " +
                        time + " < " + std::to_string(q.to_ms);
    RETURN_IF_ERROR(AppendFilters(q.filters, view.filters, &where));
    std::string from = view.from;
    const std::string used = select + where;
    const std::string range = " AND " + view.range_column + " >= " + std::to_string(q.from_ms) +
                              " AND " + view.range_column + " < " + std::to_string(q.to_ms);
    for (const auto& join : view.joins) {
      if (UsesAlias(used, join.alias)) from += join.sql(project_id, range);
    }
    ASSIGN_OR_RETURN(auto rows, client_.Query(select + from + where + group + " HAVING k_rows > 0" +
                                              MetricsOrderSql(q, view)));

    // Rows in the order MetricsAggregator keeps its groups: by bucket, then
    // dimensions (null first).
    using Key = std::pair<int64_t, std::vector<std::optional<std::string>>>;
    std::map<Key, json::object> groups;
    for (const auto& r : rows) {
      Key key;
      key.first = q.granularity ? ChInt(r, "k_bucket") : 0;
      for (size_t d = 0; d < q.dimensions.size(); ++d) {
        const std::string col = "k_d" + std::to_string(d);
        const ChDimension& dim = view.dims.at(q.dimensions[d]);
        const json::value* value = r.if_contains(col);
        std::optional<std::string> text;
        if (value && !value->is_null()) {
          if (dim.kind == ChDimension::kJsonArray) {
            text = json::serialize(*value);
          } else if (dim.kind == ChDimension::kReal) {
            text = SqliteRealText(ChDouble(r, col));
          } else {
            text = ChString(r, col);
          }
        }
        key.second.push_back(std::move(text));
      }
      json::object row;
      for (size_t d = 0; d < q.dimensions.size(); ++d) {
        const auto& text = key.second[d];
        row[q.dimensions[d]] = text ? json::value(*text) : json::value(nullptr);
      }
      if (q.granularity) row["time_dimension"] = FormatIsoMillis(key.first);
      const int64_t group_rows = ChInt(r, "k_rows");
      for (size_t i = 0; i < q.metrics.size(); ++i) {
        const MetricSpec& m = q.metrics[i];
        const std::string k = "m" + std::to_string(i);
        const std::string& agg = m.aggregation;
        json::value out;
        if (agg == "count") {
          out = m.measure == "count" ? group_rows : ChInt(r, k);
        } else if (agg == "sum") {
          out = m.measure == "count" ? static_cast<double>(group_rows) : ChDouble(r, k);
        } else if (agg == "avg") {
          const int64_t n = ChInt(r, k + "_n");
          out = n ? json::value(ChDouble(r, k + "_sum") / static_cast<double>(n))
                  : json::value(nullptr);
        } else if (agg == "min" || agg == "max") {
          auto v = ChOptDouble(r, k);
          out = v ? json::value(*v) : json::value(nullptr);
        } else if (agg == "uniq") {
          out = ChInt(r, k);
        } else if (agg == "histogram") {
          json::array bins;
          if (ChInt(r, k + "_n") > 0) {
            const double lo = ChDouble(r, k + "_lo"), hi = ChDouble(r, k + "_hi");
            const int n = q.bins;
            const double width = (hi - lo) / n;
            const json::value* counts = r.if_contains(k + "_bins");
            for (int b = 0; b < n; ++b) {
              if (width <= 0 && b > 0) break;
              int64_t count = 0;
              if (counts && counts->is_array() && b < static_cast<int>(counts->as_array().size())) {
                const json::value& c = counts->as_array()[static_cast<size_t>(b)];
                count =
                    c.is_string() ? std::stoll(std::string(c.as_string())) : c.to_number<int64_t>();
              }
              json::array bin;
              bin.emplace_back(lo + width * b);
              bin.emplace_back(width > 0 ? lo + width * (b + 1) : hi);
              bin.emplace_back(count);
              bins.push_back(std::move(bin));
            }
          }
          out = std::move(bins);
        } else {  // pNN
          const int64_t n = ChInt(r, k + "_n");
          if (n == 0) {
            out = nullptr;
          } else {
            const double level = std::stod(agg.substr(1)) / 100.0;
            const double pos = level * static_cast<double>(n - 1);
            const double frac = pos - std::floor(pos);
            const double lo = ChDouble(r, k + "_lo"), hi = ChDouble(r, k + "_hi");
            out = lo + (hi - lo) * frac;
          }
        }
        row[m.alias()] = std::move(out);
      }
      groups[std::move(key)] = std::move(row);
    }
    std::vector<json::object> out_rows;
    for (auto& [key, row] : groups) out_rows.push_back(std::move(row));
    return OrderAndLimit(q, std::move(out_rows));
  }

  absl::StatusOr<PageResult<DailyMetricsRow>> DailyMetrics(const std::string& project_id,
                                                           const DailyMetricsQuery& q) override {
    RETURN_IF_ERROR(CheckOpen());
    PageResult<DailyMetricsRow> result;
    std::string where = " WHERE " + ProjectIs(project_id);
    AddEquals("name", q.trace_name, &where);
    AddEquals("user_id", q.user_id, &where);
    if (!q.tags.empty()) where += " AND hasAll(tags, " + ArrayLiteral(q.tags) + ")";
    AddInList("environment", q.environments, &where);
    if (q.from_ms) where += " AND timestamp >= " + std::to_string(*q.from_ms);
    if (q.to_ms) where += " AND timestamp < " + std::to_string(*q.to_ms);
    const std::string day = "toString(toDate32(fromUnixTimestamp64Milli(timestamp, 'UTC')))";
    ASSIGN_OR_RETURN(auto count,
                     client_.Query("SELECT uniqExact(" + day + ") AS n FROM traces FINAL" + where));
    result.total_items = count.empty() ? 0 : ChInt(count.front(), "n");
    ASSIGN_OR_RETURN(auto days,
                     client_.Query("SELECT " + day +
                                   " AS d, count() AS n, min(timestamp) AS first FROM "
                                   "traces FINAL" +
                                   where + " GROUP BY d ORDER BY d DESC" + Limit(q.page, false)));
    if (days.empty()) return result;
    std::map<std::string, size_t> index;
    for (const auto& r : days) {
      DailyMetricsRow row;
      row.date = ChString(r, "d");
      row.count_traces = ChInt(r, "n");
      index[row.date] = result.items.size();
      result.items.push_back(std::move(row));
    }
    constexpr int64_t kDay = 86400000;
    auto day_of = [](int64_t ms) { return ms - (ms % kDay + kDay) % kDay; };
    const int64_t from = day_of(ChInt(days.back(), "first"));
    const int64_t to = day_of(ChInt(days.front(), "first")) + kDay;
    const std::string traces = "SELECT id, " + day + " AS d FROM traces FINAL" + where +
                               " AND timestamp >= " + std::to_string(from) + " AND timestamp < " +
                               std::to_string(to);
    ASSIGN_OR_RETURN(
        auto usage,
        client_.Query(
            "SELECT t.d AS d, ifNull(o.model, '') AS m, sum(o.input_tokens) AS i, "
            "sum(o.output_tokens) AS out, sum(o.total_tokens) AS total, count() AS n, "
            "uniqExact(o.trace_id) AS nt, sum(ifNull(o.total_cost, 0)) AS cost FROM "
            "observations AS o FINAL INNER JOIN (" +
            traces + ") AS t ON t.id = o.trace_id WHERE o.project_id = " + SqlQuote(project_id) +
            " AND o.trace_id IN (SELECT id FROM (" + traces + ")) GROUP BY d, m ORDER BY d, m"));
    for (const auto& u : usage) {
      auto it = index.find(ChString(u, "d"));
      if (it == index.end()) continue;
      DailyMetricsRow& r = result.items[it->second];
      DailyModelUsage m;
      m.model = ChString(u, "m");
      m.input_usage = ChInt(u, "i");
      m.output_usage = ChInt(u, "out");
      m.total_usage = ChInt(u, "total");
      m.count_observations = ChInt(u, "n");
      m.count_traces = ChInt(u, "nt");
      m.total_cost = ChDouble(u, "cost");
      r.count_observations += m.count_observations;
      r.total_cost += m.total_cost;
      // Langfuse lists usage only for observations with a model.
      if (!m.model.empty()) r.usage.push_back(std::move(m));
    }
    return result;
  }

  absl::Status Ping() override {
    RETURN_IF_ERROR(CheckOpen());
    return client_.Execute("SELECT 1");
  }

  void Close() override { closed_ = true; }

 private:
  // Columns ReadTraces() reads (also over "traces AS t").
  static constexpr const char* kTraceColumns = "id, created_at, updated_at, bookmarked, state";
  static constexpr const char* kEntityColumns = "id, created_at, updated_at, state";
  static constexpr const char* kObservationSelect =
      "SELECT id, created_at, updated_at, state FROM observations FINAL";
  static constexpr const char* kScoreSelect =
      "SELECT id, created_at, updated_at, state FROM scores FINAL";
  // The order of a trace's observations: by start time, then as created.
  static constexpr const char* kTraceOrder = " ORDER BY start_time, created_at, id";

  // " ORDER BY ... LIMIT <row_limit>" for the metrics query of QueryMetrics()
  // when ClickHouse can order the groups exactly as OrderAndLimit() does
  // (which then keeps them as they are), so that only the rows returned are
  // sent; "" when the order compares values that only read as SQLite's text
  // here (tags, score values) or histograms.
  static std::string MetricsOrderSql(const MetricsQuery& q, const ChMetricsView& view) {
    std::map<std::string, std::string> fields;
    for (size_t d = 0; d < q.dimensions.size(); ++d) {
      if (view.dims.at(q.dimensions[d]).kind != ChDimension::kText) return "";
      fields[q.dimensions[d]] = "k_d" + std::to_string(d);
    }
    if (q.granularity) fields["time_dimension"] = "k_bucket";
    std::set<std::string> unordered;
    for (size_t i = 0; i < q.metrics.size(); ++i) {
      const MetricSpec& m = q.metrics[i];
      const std::string k = "m" + std::to_string(i);
      const std::string& agg = m.aggregation;
      std::string expr;
      if (agg == "count") {
        expr = m.measure == "count" ? "k_rows" : k;
      } else if (agg == "sum") {
        expr = m.measure == "count" ? "toFloat64(k_rows)" : "ifNull(" + k + ", 0)";
      } else if (agg == "avg") {
        expr = "if(" + k + "_n = 0, NULL, " + k + "_sum / " + k + "_n)";
      } else if (agg == "min" || agg == "max" || agg == "uniq") {
        expr = k;
      } else if (agg == "histogram") {
        unordered.insert(m.alias());
        fields.erase(m.alias());
        continue;
      } else {  // pNN, as QueryMetrics() interpolates
        const std::string pos =
            "(" + Number(std::stod(agg.substr(1)) / 100.0) + " * (" + k + "_n - 1))";
        expr = "if(" + k + "_n = 0, NULL, " + k + "_lo + (" + k + "_hi - " + k + "_lo) * (" + pos +
               " - floor(" + pos + ")))";
      }
      unordered.erase(m.alias());
      fields[m.alias()] = expr;
    }
    std::vector<std::pair<std::string, bool>> order = q.order_by;
    for (auto& [field, desc] : order) {
      for (const auto& m : q.metrics) {
        if (m.measure == field) field = m.alias();
      }
    }
    if (order.empty()) {
      if (q.granularity) order.emplace_back("time_dimension", false);
      if (!q.metrics.empty()) order.emplace_back(q.metrics.front().alias(), true);
    }
    std::string sql;
    for (const auto& [field, desc] : order) {
      if (unordered.count(field)) return "";
      auto it = fields.find(field);
      if (it == fields.end()) continue;  // absent from every row: no effect
      sql +=
          (sql.empty() ? "" : ", ") + it->second + (desc ? " DESC NULLS LAST" : " ASC NULLS FIRST");
    }
    // Ties in the order the groups are kept: by bucket, then dimensions.
    sql += std::string(sql.empty() ? "" : ", ") + "k_bucket ASC";
    for (size_t d = 0; d < q.dimensions.size(); ++d) {
      sql += ", k_d" + std::to_string(d) + " ASC NULLS FIRST";
    }
    return " ORDER BY " + sql + " LIMIT " + std::to_string(q.row_limit);
  }

  // The project's sessions (s_id, s_env, s_created), from its traces with
  // a session id and `condition`.
  static std::string SessionsSql(const std::string& project_id, const std::string& condition) {
    return "SELECT assumeNotNull(session_id) AS s_id, argMin(environment, (created_at, id)) AS "
           "s_env, min(created_at) AS s_created FROM traces FINAL WHERE " +
           ProjectIs(project_id) + " AND session_id IS NOT NULL" + condition +
           " GROUP BY session_id";
  }

  static SessionRecord ReadSession(const std::string& project_id, const json::object& r) {
    SessionRecord s;
    s.id = ChString(r, "s_id");
    s.project_id = project_id;
    s.environment = ChString(r, "s_env");
    s.created_at_ms = ChInt(r, "s_created");
    return s;
  }

  struct TraceListing {
    std::string from_where;        // " FROM ... WHERE ..."
    std::string order;             // " ORDER BY ..."
    std::string count_from_where;  // from_where, joined only if the filters need it
  };

  // Per-trace observation aggregates of the project's traces, as the
  // subquery "a" (a_trace, a_count, a_cost, a_min_start, a_max_end,
  // a_tokens) joined on t.id; traces without observations get 0 counts and
  // costs and null times and tokens. `trace_where` (" WHERE ..." over
  // traces) limits the observations read to those of the matching traces
  // (read without FINAL: a superset, as an old version only adds an id).
  static std::string ObservationAggregateJoin(const std::string& project_id,
                                              const std::string& trace_where) {
    std::string sub = std::string("SELECT ") + kTraceMetricsColumns +
                      " FROM trace_metrics FINAL WHERE " + ProjectIs(project_id);
    if (!trace_where.empty()) sub += " AND trace_id IN (SELECT id FROM traces" + trace_where + ")";
    return " LEFT JOIN (" + sub + ") AS a ON a.a_trace = t.id";
  }

  // The FROM, WHERE and ORDER BY of a trace listing. Filters and orders on
  // the observation aggregates (latency, totalCost, observationCount) join
  // them, computed from the observations of the traces the other conditions
  // select.
  absl::StatusOr<TraceListing> TraceListingSql(const std::string& project_id, const TraceQuery& q) {
    std::string where = " WHERE " + ProjectIs(project_id);
    AddEquals("user_id", q.user_id, &where);
    AddEquals("name", q.name, &where);
    AddEquals("session_id", q.session_id, &where);
    AddEquals("release", q.release, &where);
    AddEquals("version", q.version, &where);
    AddInList("environment", q.environments, &where);
    if (q.from_ms) where += " AND timestamp >= " + std::to_string(*q.from_ms);
    if (q.to_ms) where += " AND timestamp < " + std::to_string(*q.to_ms);
    if (!q.tags.empty()) where += " AND hasAll(tags, " + ArrayLiteral(q.tags) + ")";
    static const std::map<std::string, FilterColumnSql> kAggregateFilters = {
        {"latency", {"(ifNull(a.a_max_end - a.a_min_start, 0) / 1000.0)"}},
        {"totalCost", {"a.a_cost"}},
        {"observationCount", {"a.a_count"}},
    };
    std::vector<FilterCondition> plain, aggregate;
    for (const FilterCondition& f : q.filters) {
      (kAggregateFilters.count(f.column) ? aggregate : plain).push_back(f);
    }
    RETURN_IF_ERROR(AppendFilters(plain, TraceFilterSql(), &where));
    for (const auto& c : q.scores) {
      std::string sub = " WHERE " + ProjectIs(project_id) + " AND name = " + SqlQuote(c.name) +
                        (c.value.column == "stringValue" ? " AND data_type = 'CATEGORICAL'"
                                                         : " AND data_type <> 'CATEGORICAL'");
      RETURN_IF_ERROR(AppendFilters({c.value}, ScoreFilterSql(), &sub));
      where += " AND id IN (SELECT assumeNotNull(trace_id) FROM scores FINAL" + sub +
               " AND trace_id IS NOT NULL)";
    }
    static const std::map<std::string, std::string> kOrderColumns = {
        {"timestamp", "timestamp"},     {"name", "name"},
        {"userId", "user_id"},          {"sessionId", "session_id"},
        {"release", "release"},         {"version", "version"},
        {"environment", "environment"}, {"createdAt", "created_at"},
        {"updatedAt", "updated_at"},    {"id", "id"},
        {"totalCost", "a.a_cost"},      {"latency", "(a.a_max_end - a.a_min_start)"}};
    auto col = kOrderColumns.find(q.order_by);
    const std::string order_col = col == kOrderColumns.end() ? "timestamp" : col->second;
    const bool join =
        !aggregate.empty() || order_col.starts_with("a.") || order_col.starts_with("(a.");
    TraceListing out;
    if (join) {
      std::string outer = where;
      RETURN_IF_ERROR(AppendFilters(aggregate, kAggregateFilters, &outer));
      // Without conditions beyond the project, every observation is read.
      const bool restricted = where != " WHERE " + ProjectIs(project_id);
      out.from_where = " FROM traces AS t FINAL" +
                       ObservationAggregateJoin(project_id, restricted ? where : "") + outer;
    } else {
      out.from_where = " FROM traces AS t FINAL" + where;
    }
    out.count_from_where = aggregate.empty() ? " FROM traces AS t FINAL" + where : out.from_where;
    // SQLite sorts NULL lowest; so do these orders. Insertion order breaks
    // ties there; here the creation time and id do.
    const std::string dir = q.descending ? " DESC" : " ASC";
    out.order = " ORDER BY " + order_col + dir + (q.descending ? " NULLS LAST" : " NULLS FIRST") +
                ", created_at" + dir + ", id" + dir;
    return out;
  }

  absl::Status CheckOpen() const {
    if (closed_) return absl::UnavailableError("event store is shut down");
    return absl::OkStatus();
  }

  static std::string ProjectIs(const std::string& project_id) {
    return "project_id = " + SqlQuote(project_id);
  }

  static void SortEvents(std::vector<const IngestEvent*>& events) {
    std::sort(events.begin(), events.end(), [](const IngestEvent* a, const IngestEvent* b) {
      return std::tie(a->timestamp_us, a->is_update, a->event_id) <
             std::tie(b->timestamp_us, b->is_update, b->event_id);
    });
  }

  static absl::StatusOr<EntityState> ParseState(const std::string& text) {
    auto state = EntityState::Parse(text);
    if (!state.ok())
      return absl::DataLossError("corrupt entity state: " + state.status().ToString());
    return state;
  }

  static std::string Tombstone(const std::string& project_id, const std::string& id,
                               uint64_t version) {
    json::object row{
        {"project_id", project_id}, {"id", id}, {"row_version", version}, {"is_deleted", 1}};
    return json::serialize(row) + "\n";
  }

  // An observations_by_trace row saying observation `id` left trace
  // `trace_id`.
  static std::string TraceObservationTombstone(const std::string& project_id,
                                               const std::string& trace_id, const std::string& id,
                                               uint64_t version) {
    json::object row{{"project_id", project_id},
                     {"trace_id", trace_id},
                     {"id", id},
                     {"row_version", version},
                     {"is_deleted", 1}};
    return json::serialize(row) + "\n";
  }

  absl::StatusOr<int64_t> Count(const char* table, const std::string& where) {
    ASSIGN_OR_RETURN(auto rows, client_.Query("SELECT count() AS n FROM " + std::string(table) +
                                              " FINAL" + where));
    return rows.empty() ? 0 : ChInt(rows.front(), "n");
  }

  // One entity of a write, merged: its row without the version columns (set
  // once the newest stored version is known), its state, and for an
  // observation what its row by trace needs.
  struct MergedEntity {
    int kind = 0;
    const std::string* id = nullptr;
    // The stored version the merge started from (0: none); used only if it
    // is still the newest live version.
    uint64_t base_version = 0;
    json::object row;
    std::string state_text;
    std::string trace_id;   // observations: the trace it belongs to
    std::string old_trace;  // observations: the trace its stored state named
    int64_t start_time_ms = 0;
  };

  // Applies `events` (sorted here) to `state`, the state of stored version
  // `base_version` (0: a new entity).
  MergedEntity Merge(const std::string& project_id, int kind, const std::string& id,
                     std::vector<const IngestEvent*>& events, EntityState state,
                     uint64_t base_version) {
    MergedEntity m;
    m.kind = kind;
    m.id = &id;
    m.base_version = base_version;
    if (kind == static_cast<int>(EntityKind::kObservation) && base_version != 0) {
      m.old_trace = StoredTraceId(state);
    }
    SortEvents(events);
    for (const IngestEvent* e : events) state.Apply(*e);
    switch (static_cast<EntityKind>(kind)) {
      case EntityKind::kTrace:
        m.row = TraceRow(MaterializeTrace(project_id, id, state, Payloads::kSkip));
        break;
      case EntityKind::kObservation: {
        ObservationRecord o =
            MaterializeObservation(project_id, id, &state, prices_, Payloads::kSkip);
        m.trace_id = o.trace_id;
        m.start_time_ms = o.start_time_ms;
        m.row = ObservationRow(o);
        break;
      }
      case EntityKind::kScore:
        m.row = ScoreRow(MaterializeScore(project_id, id, state));
        break;
    }
    m.state_text = state.Serialize();
    return m;
  }

  // The newest stored version of each entity of `ids_of` (by kind) that has
  // one (from entity_versions, in one query for the three kinds), deleted
  // ones included, so that a new version always sorts above it. States are
  // not read: those this process wrote come from states_ (they are most of
  // what a read of all would transfer: 6 MB for 1,500 observations, against
  // 0.1 MB for the versions alone).
  absl::StatusOr<std::array<std::map<std::string, Stored>, 3>> LoadVersions(
      const std::string& project_id, const std::set<std::string> (&ids_of)[3]) {
    std::array<std::map<std::string, Stored>, 3> out;
    // `kind IN (...) AND id IN (...)` with the rows of other kinds dropped
    // here: a third of the time of a (kind, id) tuple list, and half that of
    // a query per kind, in ClickHouse 26.
    std::set<std::string> all_ids;
    std::string kinds;
    for (int kind = 0; kind < 3; ++kind) {
      if (ids_of[kind].empty()) continue;
      all_ids.insert(ids_of[kind].begin(), ids_of[kind].end());
      kinds += (kinds.empty() ? "" : ",") + std::to_string(kind);
    }
    for (const auto& chunk : Chunks(std::vector<std::string>(all_ids.begin(), all_ids.end()))) {
      ASSIGN_OR_RETURN(
          auto rows,
          client_.Query("SELECT kind, id, max(row_version) AS v, argMax(is_deleted, row_version) "
                        "AS d, argMax(created_at, row_version) AS c FROM entity_versions WHERE " +
                        ProjectIs(project_id) + " AND kind IN (" + kinds + ") AND id IN " +
                        SqlList(chunk) + " GROUP BY kind, id"));
      for (const auto& r : rows) {
        const int64_t kind = ChInt(r, "kind");
        std::string id = ChString(r, "id");
        if (kind < 0 || kind > 2 || !ids_of[kind].count(id)) continue;
        Stored& st = out[kind][std::move(id)];
        st.row_version = static_cast<uint64_t>(ChInt(r, "v"));
        st.deleted = ChInt(r, "d") != 0;
        st.created_at = ChInt(r, "c");
      }
    }
    return out;
  }

  // The newest states of `ids_of` (by kind) read back from ClickHouse, the
  // kinds side by side.
  absl::StatusOr<std::array<std::map<std::string, EntityState>, 3>> LoadStates(
      const std::string& project_id, const std::vector<std::string> (&ids_of)[3]) {
    std::array<std::map<std::string, EntityState>, 3> out;
    std::future<absl::Status> reads[3];
    for (int kind = 0; kind < 3; ++kind) {
      if (ids_of[kind].empty()) continue;
      reads[kind] = std::async(std::launch::async, [&, kind]() -> absl::Status {
        for (const auto& chunk : Chunks(ids_of[kind])) {
          ASSIGN_OR_RETURN(
              auto rows,
              client_.Query("SELECT id, argMax(state, row_version) AS s FROM " +
                            std::string(kTableByKind[kind]) + " WHERE " + ProjectIs(project_id) +
                            " AND id IN " + SqlList(chunk) + " GROUP BY id"));
          for (const auto& r : rows) {
            ASSIGN_OR_RETURN(out[kind][ChString(r, "id")], ParseState(ChString(r, "s")));
          }
        }
        return absl::OkStatus();
      });
    }
    absl::Status status = absl::OkStatus();
    for (auto& read : reads) {
      if (read.valid()) status.Update(read.get());
    }
    RETURN_IF_ERROR(status);
    return out;
  }

  static std::string StateKey(int kind, const std::string& project_id, const std::string& id) {
    return std::to_string(kind) + "/" + std::to_string(project_id.size()) + ":" + project_id + "/" +
           id;
  }

  static json::object TraceRow(const TraceRecord& t) {
    json::array tags;
    for (const auto& tag : t.tags) tags.emplace_back(tag);
    return json::object{{"timestamp", t.timestamp_ms},   {"name", OptJson(t.name)},
                        {"user_id", OptJson(t.user_id)}, {"session_id", OptJson(t.session_id)},
                        {"release", OptJson(t.release)}, {"version", OptJson(t.version)},
                        {"environment", t.environment},  {"tags", std::move(tags)},
                        {"public", t.is_public ? 1 : 0}, {"bookmarked", t.bookmarked ? 1 : 0}};
  }

  static json::object ObservationRow(const ObservationRecord& o) {
    return json::object{
        {"trace_id", o.trace_id},
        {"type", o.type},
        {"name", OptJson(o.name)},
        {"start_time", o.start_time_ms},
        {"end_time", OptJson(o.end_time_ms)},
        {"completion_start_time", OptJson(o.completion_start_time_ms)},
        {"parent_observation_id", OptJson(o.parent_observation_id)},
        {"level", o.level},
        {"environment", o.environment},
        {"model", OptJson(o.model)},
        {"version", OptJson(o.version)},
        {"total_cost", OptJson(o.total_cost)},
        {"input_tokens", UsageSum(o.usage_details, "input")},
        {"output_tokens", UsageSum(o.usage_details, "output")},
        {"total_tokens", UsageTotal(o.usage_details)},
        {"prompt_name", OptJson(o.prompt_name)},
        {"prompt_version", OptJson(o.prompt_version)},
        {"input_cost", o.cost_details.empty() ? json::value(nullptr)
                                              : json::value(CostSum(o.cost_details, "input"))},
        {"output_cost", o.cost_details.empty() ? json::value(nullptr)
                                               : json::value(CostSum(o.cost_details, "output"))}};
  }

  static json::object ScoreRow(const ScoreRecord& s) {
    return json::object{{"trace_id", OptJson(s.trace_id)},
                        {"observation_id", OptJson(s.observation_id)},
                        {"session_id", OptJson(s.session_id)},
                        {"dataset_run_id", OptJson(s.dataset_run_id)},
                        {"name", s.name},
                        {"value", OptJson(s.value)},
                        {"string_value", OptJson(s.string_value)},
                        {"source", s.source},
                        {"data_type", s.data_type},
                        {"timestamp", s.timestamp_ms},
                        {"environment", s.environment},
                        {"config_id", OptJson(s.config_id)},
                        {"queue_id", OptJson(s.queue_id)},
                        {"author_user_id", OptJson(s.author_user_id)}};
  }

  // Trace records from rows of kTraceColumns, with their observation aggregates.
  absl::StatusOr<std::vector<TraceRecord>> ReadTraces(const std::string& project_id,
                                                      const std::vector<json::object>& rows) {
    std::vector<TraceRecord> out;
    std::vector<std::string> ids;
    for (const auto& r : rows) {
      ASSIGN_OR_RETURN(EntityState state, ParseState(ChString(r, "state")));
      TraceRecord t = MaterializeTrace(project_id, ChString(r, "id"), state);
      t.created_at_ms = ChInt(r, "created_at");
      t.updated_at_ms = ChInt(r, "updated_at");
      t.bookmarked = ChInt(r, "bookmarked") != 0;
      ids.push_back(t.id);
      out.push_back(std::move(t));
    }
    if (ids.empty()) return out;
    std::map<std::string, TraceAggregate> aggregates;
    for (const auto& chunk : Chunks(ids)) {
      ASSIGN_OR_RETURN(auto agg,
                       client_.Query(Newest("trace_metrics", kTraceMetricsColumns, project_id,
                                            "trace_id IN " + SqlList(chunk), "", "trace_id")));
      for (const auto& a : agg) {
        TraceAggregate& t = aggregates[ChString(a, "a_trace")];
        t.count = ChInt(a, "a_count");
        t.cost = ChDouble(a, "a_cost");
        t.min_start = ChOptInt(a, "a_min_start");
        t.max_end = ChOptInt(a, "a_max_end");
      }
    }
    for (TraceRecord& t : out) {
      auto it = aggregates.find(t.id);
      if (it == aggregates.end()) continue;
      t.observation_count = it->second.count;
      t.total_cost = it->second.cost;
      t.min_start_ms = it->second.min_start;
      t.max_end_ms = it->second.max_end;
    }
    return out;
  }

  absl::StatusOr<ObservationRecord> ReadObservation(const std::string& project_id,
                                                    const json::object& r) {
    ASSIGN_OR_RETURN(EntityState state, ParseState(ChString(r, "state")));
    ObservationRecord rec = MaterializeObservation(project_id, ChString(r, "id"), &state, nullptr);
    rec.created_at_ms = ChInt(r, "created_at");
    rec.updated_at_ms = ChInt(r, "updated_at");
    return rec;
  }

  absl::StatusOr<ScoreRecord> ReadScore(const std::string& project_id, const json::object& r) {
    ASSIGN_OR_RETURN(EntityState state, ParseState(ChString(r, "state")));
    ScoreRecord rec = MaterializeScore(project_id, ChString(r, "id"), state);
    rec.created_at_ms = ChInt(r, "created_at");
    rec.updated_at_ms = ChInt(r, "updated_at");
    return rec;
  }

  ClickHouseClient client_;
  const PriceTable* const prices_;
  std::mutex write_mu_;  // serializes Write and the deletes: read-merge-insert cycles
  // States of the entities last written (a trace's updates usually follow
  // its creates within a second or two).
  StateCache states_{kStateCacheBytes};
  std::atomic<bool> closed_{false};
};

}  // namespace

absl::StatusOr<std::unique_ptr<EventStore>> OpenClickHouseEventStore(
    const ClickHouseOptions& options, const PriceTable* prices) {
  auto store = std::make_unique<ClickHouseEventStore>(options, prices);
  RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<EventStore>(std::move(store));
}

}  // namespace loupe
