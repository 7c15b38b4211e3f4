#include "storage/sqlite/schema.h"

#include <string>

#include "common/log.h"

namespace loupe::sqlite {

absl::Status ApplyMigrations(Db& db, std::string_view component,
                             const std::vector<Migration>& migrations) {
  auto s = db.Exec(
      "CREATE TABLE IF NOT EXISTS schema_version(component TEXT NOT NULL, version INTEGER NOT "
      "NULL, applied_at INTEGER NOT NULL DEFAULT (unixepoch()), PRIMARY KEY(component, version))");
  if (!s.ok()) return s;
  auto stmt =
      db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version WHERE component = ?");
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, component);
  auto row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  int current = static_cast<int>((*stmt)->Int(0));
  (*stmt)->Reset();
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    auto txn = Transaction::Begin(db, true);
    if (!txn.ok()) return txn.status();
    s = db.Exec(m.sql);
    if (!s.ok()) {
      return absl::InternalError(std::string(component) + " migration " +
                                 std::to_string(m.version) + ": " + std::string(s.message()));
    }
    auto ins = db.Prepare("INSERT INTO schema_version(component, version) VALUES (?, ?)");
    if (!ins.ok()) return ins.status();
    (*ins)->Bind(1, component).Bind(2, m.version);
    s = (*ins)->Run();
    (*ins)->Reset();
    if (!s.ok()) return s;
    s = (*txn)->Commit();
    if (!s.ok()) return s;
    LogInfo("applied schema migration", {{"component", component}, {"version", m.version}});
  }
  return absl::OkStatus();
}

// Design notes for the event schema:
//  - Rows are keyed by an append-ordered INTEGER rowid; lookups by id go
//    through a (project, 64-bit id hash) index, which is far cheaper to keep
//    up to date than a B-tree over random UUID text.
//  - The merge state (with input/output payloads, zstd-compressed in frames
//    of their own) lives in *_state tables keyed by the same rowid, so
//    filters, sorts and counts scan only the narrow columns.
//  - Per-trace aggregates (observation count, cost, time span) are kept on
//    the trace row; `present` = 0 marks a trace known only from its
//    observations (no trace-create yet), which lists do not show.
//  - rollup_hourly holds counts, cost and tokens per project, hour,
//    environment, type and model for dashboards and daily metrics; its
//    TRACE rows hold trace counts and cost with the trace name in `model`.
//  - latency_hourly holds latency histograms (query/latency_histogram.h)
//    per project, hour, environment, type and model (observations) or trace
//    name (type TRACE), so latency percentiles need not read the rows.
//  - user_rollup_daily holds trace counts and cost per project, UTC day,
//    environment and user, for per-user totals over long ranges.
const std::vector<Migration>& EventStoreMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE project_keys(key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);

CREATE TABLE traces(
  rowid INTEGER PRIMARY KEY,
  project INTEGER NOT NULL,
  id TEXT NOT NULL,
  id_hash INTEGER NOT NULL,
  present INTEGER NOT NULL,
  timestamp INTEGER,
  name TEXT,
  user_id TEXT,
  session_id TEXT,
  release TEXT,
  version TEXT,
  environment TEXT,
  tags TEXT,
  public INTEGER NOT NULL DEFAULT 0,
  bookmarked INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  obs_count INTEGER NOT NULL DEFAULT 0,
  total_cost REAL NOT NULL DEFAULT 0,
  min_start INTEGER,
  max_end INTEGER);
CREATE INDEX traces_by_id ON traces(project, id_hash);
CREATE INDEX traces_by_time ON traces(project, timestamp) WHERE present = 1;
CREATE INDEX traces_by_user ON traces(project, user_id, timestamp)
  WHERE present = 1 AND user_id IS NOT NULL;
CREATE INDEX traces_by_session ON traces(project, session_id, timestamp)
  WHERE present = 1 AND session_id IS NOT NULL;
CREATE TABLE trace_state(rowid INTEGER PRIMARY KEY, state BLOB NOT NULL);

CREATE TABLE observations(
  rowid INTEGER PRIMARY KEY,
  project INTEGER NOT NULL,
  id TEXT NOT NULL,
  id_hash INTEGER NOT NULL,
  trace_id TEXT NOT NULL,
  trace_hash INTEGER NOT NULL,
  type TEXT NOT NULL,
  name TEXT,
  start_time INTEGER NOT NULL,
  end_time INTEGER,
  parent_id TEXT,
  level TEXT NOT NULL,
  environment TEXT NOT NULL,
  model TEXT,
  version TEXT,
  total_cost REAL,
  input_tokens INTEGER,
  output_tokens INTEGER,
  total_tokens INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE INDEX observations_by_id ON observations(project, id_hash);
CREATE INDEX observations_by_trace ON observations(project, trace_hash);
CREATE INDEX observations_by_time ON observations(project, start_time);
CREATE TABLE observation_state(rowid INTEGER PRIMARY KEY, state BLOB NOT NULL);

CREATE TABLE scores(
  rowid INTEGER PRIMARY KEY,
  project INTEGER NOT NULL,
  id TEXT NOT NULL,
  id_hash INTEGER NOT NULL,
  trace_id TEXT,
  trace_hash INTEGER,
  observation_id TEXT,
  session_id TEXT,
  dataset_run_id TEXT,
  name TEXT NOT NULL,
  value REAL,
  string_value TEXT,
  source TEXT NOT NULL,
  data_type TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  environment TEXT NOT NULL,
  config_id TEXT,
  queue_id TEXT,
  author_user_id TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE INDEX scores_by_id ON scores(project, id_hash);
CREATE INDEX scores_by_trace ON scores(project, trace_hash);
CREATE INDEX scores_by_time ON scores(project, timestamp);
CREATE TABLE score_state(rowid INTEGER PRIMARY KEY, state BLOB NOT NULL);

CREATE TABLE sessions(
  project INTEGER NOT NULL,
  id TEXT NOT NULL,
  environment TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY(project, id)) WITHOUT ROWID;
CREATE INDEX sessions_by_time ON sessions(project, created_at);

CREATE TABLE rollup_hourly(
  project INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  environment TEXT NOT NULL,
  type TEXT NOT NULL,
  model TEXT NOT NULL,
  count INTEGER NOT NULL,
  cost REAL NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  total_tokens INTEGER NOT NULL,
  PRIMARY KEY(project, hour, environment, type, model)) WITHOUT ROWID;
)sql"},
      // Columns the metrics API groups and aggregates by.
      {2, R"sql(
ALTER TABLE observations ADD COLUMN prompt_name TEXT;
ALTER TABLE observations ADD COLUMN prompt_version INTEGER;
ALTER TABLE observations ADD COLUMN completion_start_time INTEGER;
ALTER TABLE observations ADD COLUMN input_cost REAL;
ALTER TABLE observations ADD COLUMN output_cost REAL;
ALTER TABLE scores ADD COLUMN observation_hash INTEGER;
)sql"},
      // Trace names are the most common list filter after users and sessions.
      {3, R"sql(
CREATE INDEX traces_by_name ON traces(project, name, timestamp) WHERE present = 1;
)sql"},
      // A revision per row, bumped by every write of its merge state, so work
      // prepared from an older read can be detected (optimistic merging).
      {4, R"sql(
ALTER TABLE traces ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE observations ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scores ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
)sql"},
      // Latency histograms, trace rollups by name with their cost, and daily
      // trace rollups by user, built from the stored rows
      // (loupe_latency_bucket() is registered by the event store on its
      // connection).
      {5, R"sql(
CREATE TABLE latency_hourly(
  project INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  environment TEXT NOT NULL,
  type TEXT NOT NULL,
  key TEXT NOT NULL,
  bucket INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY(project, hour, environment, type, key, bucket)) WITHOUT ROWID;
INSERT INTO latency_hourly(project, hour, environment, type, key, bucket, count)
  SELECT project, start_time - ((start_time % 3600000) + 3600000) % 3600000, environment, type,
         COALESCE(model, ''), loupe_latency_bucket(end_time - start_time), COUNT(*)
  FROM observations WHERE end_time IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6;
DELETE FROM rollup_hourly WHERE type = 'TRACE';
INSERT INTO rollup_hourly(project, hour, environment, type, model, count, cost, input_tokens,
                          output_tokens, total_tokens)
  SELECT project, timestamp - ((timestamp % 3600000) + 3600000) % 3600000, environment, 'TRACE',
         COALESCE(name, ''), COUNT(*), SUM(total_cost), 0, 0, 0
  FROM traces WHERE present = 1 GROUP BY 1, 2, 3, 5;
INSERT INTO latency_hourly(project, hour, environment, type, key, bucket, count)
  SELECT project, timestamp - ((timestamp % 3600000) + 3600000) % 3600000, environment, 'TRACE',
         COALESCE(name, ''), loupe_latency_bucket(max_end - min_start), COUNT(*)
  FROM traces WHERE present = 1 AND min_start IS NOT NULL AND max_end IS NOT NULL
  GROUP BY 1, 2, 3, 5, 6;
CREATE TABLE user_rollup_daily(
  project INTEGER NOT NULL,
  day INTEGER NOT NULL,
  environment TEXT NOT NULL,
  user_id TEXT NOT NULL,
  count INTEGER NOT NULL,
  cost REAL NOT NULL,
  PRIMARY KEY(project, day, environment, user_id)) WITHOUT ROWID;
INSERT INTO user_rollup_daily(project, day, environment, user_id, count, cost)
  SELECT project, timestamp - ((timestamp % 86400000) + 86400000) % 86400000, environment,
         user_id, COUNT(*), SUM(total_cost)
  FROM traces WHERE present = 1 AND user_id IS NOT NULL GROUP BY 1, 2, 3, 4;
)sql"},
      // Observations and scores point at their trace's row (trace_row) and
      // are indexed by it instead of by a hash of the trace id. Trace rows
      // are created in arrival order and a trace's observations arrive
      // together, so new index entries land at the end of the index instead
      // of on a random page each (bench/README.md, "Where the bytes go").
      // Every trace id a score names gets a row, as observations' do already.
      {6, R"sql(
ALTER TABLE observations ADD COLUMN trace_row INTEGER;
ALTER TABLE scores ADD COLUMN trace_row INTEGER;
INSERT INTO traces(project, id, id_hash, present, created_at, updated_at)
  SELECT e.project, e.trace_id, e.trace_hash, 0, MIN(e.created_at), MIN(e.created_at)
  FROM (SELECT project, trace_id, trace_hash, created_at FROM observations UNION ALL
        SELECT project, trace_id, trace_hash, created_at FROM scores WHERE trace_id IS NOT NULL) e
  WHERE NOT EXISTS (SELECT 1 FROM traces t WHERE t.project = e.project AND
                    t.id_hash = e.trace_hash AND t.id = e.trace_id)
  GROUP BY e.project, e.trace_id;
UPDATE observations SET trace_row = (SELECT t.rowid FROM traces t WHERE
  t.project = observations.project AND t.id_hash = observations.trace_hash AND
  t.id = observations.trace_id);
UPDATE scores SET trace_row = (SELECT t.rowid FROM traces t WHERE t.project = scores.project AND
  t.id_hash = scores.trace_hash AND t.id = scores.trace_id) WHERE trace_id IS NOT NULL;
DROP INDEX observations_by_trace;
DROP INDEX scores_by_trace;
CREATE INDEX observations_by_trace ON observations(trace_row);
CREATE INDEX scores_by_trace ON scores(trace_row);
)sql"},
      // The id indexes become tables the event store fills itself: new rows
      // are listed in memory and merged into them in key order (recent_ids.h),
      // instead of each taking a random page of an index as it arrives.
      // id_index_marks.indexed_through: every row up to it is in the table.
      {7, R"sql(
CREATE TABLE trace_ids(project INTEGER NOT NULL, id_hash INTEGER NOT NULL, row INTEGER NOT NULL,
  PRIMARY KEY(project, id_hash, row)) WITHOUT ROWID;
CREATE TABLE observation_ids(project INTEGER NOT NULL, id_hash INTEGER NOT NULL,
  row INTEGER NOT NULL, PRIMARY KEY(project, id_hash, row)) WITHOUT ROWID;
CREATE TABLE score_ids(project INTEGER NOT NULL, id_hash INTEGER NOT NULL, row INTEGER NOT NULL,
  PRIMARY KEY(project, id_hash, row)) WITHOUT ROWID;
INSERT INTO trace_ids SELECT project, id_hash, rowid FROM traces ORDER BY 1, 2, 3;
INSERT INTO observation_ids SELECT project, id_hash, rowid FROM observations ORDER BY 1, 2, 3;
INSERT INTO score_ids SELECT project, id_hash, rowid FROM scores ORDER BY 1, 2, 3;
DROP INDEX traces_by_id;
DROP INDEX observations_by_id;
DROP INDEX scores_by_id;
CREATE TABLE id_index_marks(tbl TEXT PRIMARY KEY, indexed_through INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO id_index_marks VALUES
  ('traces', (SELECT COALESCE(MAX(rowid), 0) FROM traces)),
  ('observations', (SELECT COALESCE(MAX(rowid), 0) FROM observations)),
  ('scores', (SELECT COALESCE(MAX(rowid), 0) FROM scores));
)sql"},
  };
  return kMigrations;
}

const std::vector<Migration>& MetaStoreMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE organizations(
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE projects(
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  name TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  retention_days INTEGER,
  created_at INTEGER NOT NULL,
  deleted_at INTEGER);
CREATE TABLE api_keys(
  id TEXT PRIMARY KEY,
  public_key TEXT NOT NULL UNIQUE,
  fast_hashed_secret_key TEXT NOT NULL UNIQUE,
  display_secret_key TEXT NOT NULL,
  scope TEXT NOT NULL,
  project_id TEXT,
  org_id TEXT NOT NULL,
  note TEXT,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER);
CREATE TABLE users(
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE organization_memberships(
  org_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  role TEXT NOT NULL,
  PRIMARY KEY(org_id, user_id));
)sql"},
      // Organization administration: organization metadata, project update
      // times, key expiry, project memberships and the lookups the
      // organization and admin APIs make.
      {2, R"sql(
ALTER TABLE organizations ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE projects ADD COLUMN updated_at INTEGER;
UPDATE projects SET updated_at = created_at;
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
CREATE INDEX projects_by_org ON projects(org_id, created_at);
CREATE INDEX api_keys_by_project ON api_keys(project_id);
CREATE INDEX api_keys_by_org ON api_keys(org_id);
CREATE TABLE project_memberships(
  project_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  role TEXT NOT NULL,
  PRIMARY KEY(project_id, user_id));
)sql"},
  };
  return kMigrations;
}

}  // namespace loupe::sqlite
