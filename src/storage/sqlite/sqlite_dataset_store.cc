#include "storage/sqlite/sqlite_dataset_store.h"

#include <mutex>

#include "common/hash.h"
#include "common/json_parse.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_db.h"

namespace loupe {
namespace {

namespace json = boost::json;
using sqlite::Db;
using sqlite::Stmt;

// JSON values are stored as JSON text, SQL NULL for JSON null.
// dataset_item_versions keeps every version of every item: the current one
// has valid_to NULL (at most one per id, enforced by a partial unique
// index); a deletion closes the current version and adds a tombstone
// (is_deleted = 1) so that history reads see the item until then.
const std::vector<sqlite::Migration>& DatasetMigrations() {
  static const std::vector<sqlite::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE datasets(
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  metadata TEXT,
  input_schema TEXT,
  expected_output_schema TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE(project_id, name)
);
CREATE INDEX datasets_by_created ON datasets(project_id, created_at);

CREATE TABLE dataset_item_versions(
  rowid INTEGER PRIMARY KEY,
  project_id TEXT NOT NULL,
  id TEXT NOT NULL,
  dataset_id TEXT NOT NULL,
  status TEXT NOT NULL,
  input TEXT,
  expected_output TEXT,
  metadata TEXT,
  source_trace_id TEXT,
  source_observation_id TEXT,
  is_deleted INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  valid_from INTEGER NOT NULL,
  valid_to INTEGER
);
CREATE UNIQUE INDEX dataset_items_current ON dataset_item_versions(project_id, id)
  WHERE valid_to IS NULL;
CREATE INDEX dataset_items_history ON dataset_item_versions(project_id, id, valid_from);
CREATE INDEX dataset_items_by_dataset ON dataset_item_versions(project_id, dataset_id, created_at);

CREATE TABLE dataset_runs(
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  dataset_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  metadata TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE(project_id, dataset_id, name)
);

CREATE TABLE dataset_run_items(
  rowid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  project_id TEXT NOT NULL,
  dataset_run_id TEXT NOT NULL,
  dataset_item_id TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  observation_id TEXT,
  dataset_item_version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX dataset_run_items_by_run ON dataset_run_items(project_id, dataset_run_id, created_at);
CREATE INDEX dataset_run_items_by_item ON dataset_run_items(project_id, dataset_item_id);
)sql"},
  };
  return kMigrations;
}

std::optional<std::string> JsonText(const json::value& v) {
  if (v.is_null()) return std::nullopt;
  return json::serialize(v);
}

json::value ParseJsonText(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  boost::system::error_code ec;
  json::value v = ParseStoredJson(*text, ec);
  return ec ? json::value(nullptr) : v;
}

absl::Status RunAndReset(Stmt* st) {
  absl::Status s = st->Run();
  st->Reset();
  return s;
}

// Steps `st` to the end, calling `row` for each row, and resets it.
template <typename F>
absl::Status ForEachRow(Stmt* st, F&& row) {
  while (true) {
    auto more = st->Step();
    if (!more.ok()) {
      st->Reset();
      return more.status();
    }
    if (!*more) break;
    row(*st);
  }
  st->Reset();
  return absl::OkStatus();
}

absl::StatusOr<int64_t> CountOf(Stmt* st) {
  int64_t n = 0;
  RETURN_IF_ERROR(ForEachRow(st, [&](const Stmt& s) { n = s.Int(0); }));
  return n;
}

int64_t Offset(int page, int limit) { return static_cast<int64_t>(std::max(page, 1) - 1) * limit; }

constexpr const char* kDatasetColumns =
    "id, project_id, name, description, metadata, input_schema, expected_output_schema, "
    "created_at, updated_at";

// Item versions joined with their dataset's name; `v` aliases the versions.
constexpr const char* kItemSelect =
    "SELECT v.id, v.project_id, v.dataset_id, d.name, v.status, v.input, v.expected_output, "
    "v.metadata, v.source_trace_id, v.source_observation_id, v.created_at, v.updated_at, "
    "v.valid_from FROM dataset_item_versions v JOIN datasets d ON d.id = v.dataset_id ";

constexpr const char* kRunSelect =
    "SELECT r.id, r.project_id, r.dataset_id, d.name, r.name, r.description, r.metadata, "
    "r.created_at, r.updated_at FROM dataset_runs r JOIN datasets d ON d.id = r.dataset_id ";

constexpr const char* kRunItemSelect =
    "SELECT i.id, i.project_id, i.dataset_run_id, r.name, i.dataset_item_id, i.trace_id, "
    "i.observation_id, i.created_at, i.updated_at, i.dataset_item_version FROM "
    "dataset_run_items i JOIN dataset_runs r ON r.id = i.dataset_run_id ";

DatasetRecord ReadDataset(const Stmt& st) {
  DatasetRecord d;
  d.id = st.Text(0);
  d.project_id = st.Text(1);
  d.name = st.Text(2);
  d.description = st.OptText(3);
  d.metadata = ParseJsonText(st.OptText(4));
  d.input_schema = ParseJsonText(st.OptText(5));
  d.expected_output_schema = ParseJsonText(st.OptText(6));
  d.created_at_ms = st.Int(7);
  d.updated_at_ms = st.Int(8);
  return d;
}

DatasetItemRecord ReadItem(const Stmt& st) {
  DatasetItemRecord i;
  i.id = st.Text(0);
  i.project_id = st.Text(1);
  i.dataset_id = st.Text(2);
  i.dataset_name = st.Text(3);
  i.status = st.Text(4);
  i.input = ParseJsonText(st.OptText(5));
  i.expected_output = ParseJsonText(st.OptText(6));
  i.metadata = ParseJsonText(st.OptText(7));
  i.source_trace_id = st.OptText(8);
  i.source_observation_id = st.OptText(9);
  i.created_at_ms = st.Int(10);
  i.updated_at_ms = st.Int(11);
  i.valid_from_ms = st.Int(12);
  return i;
}

DatasetRunRecord ReadRun(const Stmt& st) {
  DatasetRunRecord r;
  r.id = st.Text(0);
  r.project_id = st.Text(1);
  r.dataset_id = st.Text(2);
  r.dataset_name = st.Text(3);
  r.name = st.Text(4);
  r.description = st.OptText(5);
  r.metadata = ParseJsonText(st.OptText(6));
  r.created_at_ms = st.Int(7);
  r.updated_at_ms = st.Int(8);
  return r;
}

DatasetRunItemRecord ReadRunItem(const Stmt& st) {
  DatasetRunItemRecord i;
  i.id = st.Text(0);
  i.project_id = st.Text(1);
  i.dataset_run_id = st.Text(2);
  i.dataset_run_name = st.Text(3);
  i.dataset_item_id = st.Text(4);
  i.trace_id = st.Text(5);
  i.observation_id = st.OptText(6);
  i.created_at_ms = st.Int(7);
  i.updated_at_ms = st.Int(8);
  i.dataset_item_version_ms = st.Int(9);
  return i;
}

// A list bound as one JSON array, matched with `IN (SELECT value FROM
// json_each(?))`: any length, one statement.
std::string JsonList(const std::vector<std::string>& values) {
  json::array arr;
  for (const std::string& v : values) arr.emplace_back(v);
  return json::serialize(arr);
}

class SqliteDatasetStore final : public DatasetStore {
 public:
  explicit SqliteDatasetStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  absl::StatusOr<DatasetRecord> UpsertDataset(const std::string& project_id,
                                              const DatasetUpsert& u) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*db_, true));
    ASSIGN_OR_RETURN(std::optional<DatasetRecord> existing, FindDataset(project_id, u.name));
    int64_t now = NowMillis();
    const bool schema_changed =
        existing && ((u.input_schema && *u.input_schema != existing->input_schema) ||
                     (u.expected_output_schema &&
                      *u.expected_output_schema != existing->expected_output_schema));
    DatasetRecord d;
    if (existing) {
      d = std::move(*existing);
    } else {
      d.id = NewUuid();
      d.project_id = project_id;
      d.name = u.name;
      d.created_at_ms = now;
    }
    if (u.description) d.description = u.description;
    if (u.metadata) d.metadata = *u.metadata;
    if (u.input_schema) d.input_schema = *u.input_schema;
    if (u.expected_output_schema) d.expected_output_schema = *u.expected_output_schema;
    d.updated_at_ms =
        existing && !u.description && !u.metadata && !u.input_schema && !u.expected_output_schema
            ? d.updated_at_ms
            : now;
    if (schema_changed && u.check) {
      ASSIGN_OR_RETURN(std::vector<DatasetItemRecord> items, CurrentItems(project_id, d.id));
      for (const DatasetItemRecord& item : items) RETURN_IF_ERROR(u.check(d, item));
    }
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare(std::string("INSERT INTO datasets(") + kDatasetColumns +
                                  ") VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                                  "description = excluded.description, metadata = "
                                  "excluded.metadata, input_schema = excluded.input_schema, "
                                  "expected_output_schema = excluded.expected_output_schema, "
                                  "updated_at = excluded.updated_at"));
    st->Bind(1, d.id).Bind(2, d.project_id).Bind(3, d.name).Bind(4, d.description);
    st->Bind(5, JsonText(d.metadata)).Bind(6, JsonText(d.input_schema));
    st->Bind(7, JsonText(d.expected_output_schema)).Bind(8, d.created_at_ms);
    st->Bind(9, d.updated_at_ms);
    RETURN_IF_ERROR(RunAndReset(st));
    RETURN_IF_ERROR(txn->Commit());
    return d;
  }

  absl::StatusOr<std::optional<DatasetRecord>> GetDataset(const std::string& project_id,
                                                          const std::string& name) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    return FindDataset(project_id, name);
  }

  absl::StatusOr<DatasetPage<DatasetRecord>> ListDatasets(const std::string& project_id, int page,
                                                          int limit) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    DatasetPage<DatasetRecord> out;
    ASSIGN_OR_RETURN(Stmt * count,
                     db_->Prepare("SELECT COUNT(*) FROM datasets WHERE project_id = ?"));
    count->Bind(1, project_id);
    ASSIGN_OR_RETURN(out.total_items, CountOf(count));
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kDatasetColumns +
                                             " FROM datasets WHERE project_id = ? ORDER BY "
                                             "created_at DESC, rowid DESC LIMIT ? OFFSET ?"));
    st->Bind(1, project_id).Bind(2, limit).Bind(3, Offset(page, limit));
    RETURN_IF_ERROR(ForEachRow(st, [&](const Stmt& s) { out.items.push_back(ReadDataset(s)); }));
    return out;
  }

  absl::StatusOr<DatasetItemRecord> UpsertItem(const std::string& project_id,
                                               const DatasetItemUpsert& u) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*db_, true));
    ASSIGN_OR_RETURN(std::optional<DatasetRecord> dataset, FindDataset(project_id, u.dataset_name));
    if (!dataset) return absl::NotFoundError("Dataset not found");
    std::string id = u.id.value_or(NewUuid());
    ASSIGN_OR_RETURN(std::optional<DatasetItemRecord> current,
                     FindItem(project_id, id, std::nullopt));
    if (current && current->dataset_id != dataset->id) {
      return absl::NotFoundError("The dataset item with id " + id +
                                 " already exists in a dataset other than " + dataset->name);
    }
    int64_t now = NowMillis();
    DatasetItemRecord item;
    if (current) {
      item = *current;
    } else {
      item.id = id;
      item.project_id = project_id;
      item.dataset_id = dataset->id;
      item.created_at_ms = now;
    }
    item.dataset_name = dataset->name;
    if (u.input) item.input = *u.input;
    if (u.expected_output) item.expected_output = *u.expected_output;
    if (u.metadata) item.metadata = *u.metadata;
    if (u.source_trace_id) item.source_trace_id = u.source_trace_id;
    if (u.source_observation_id) item.source_observation_id = u.source_observation_id;
    if (u.status) item.status = *u.status;
    if (current && SameContent(*current, item)) return *current;
    if (u.check) RETURN_IF_ERROR(u.check(*dataset, item));

    item.updated_at_ms = now;
    item.valid_from_ms = now;
    RETURN_IF_ERROR(CloseCurrentVersion(project_id, id, now));
    RETURN_IF_ERROR(InsertVersion(item, false));
    RETURN_IF_ERROR(txn->Commit());
    return item;
  }

  absl::StatusOr<std::optional<DatasetItemRecord>> GetItem(
      const std::string& project_id, const std::string& id,
      std::optional<int64_t> as_of_ms) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    return FindItem(project_id, id, as_of_ms);
  }

  absl::StatusOr<DatasetPage<DatasetItemRecord>> ListItems(const std::string& project_id,
                                                           const DatasetItemQuery& q) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    std::optional<std::string> dataset_id;
    if (q.dataset_name) {
      ASSIGN_OR_RETURN(std::optional<DatasetRecord> dataset,
                       FindDataset(project_id, *q.dataset_name));
      if (!dataset) return absl::NotFoundError("Dataset not found");
      dataset_id = dataset->id;
    }
    std::string where = "WHERE v.project_id = ?1 AND v.is_deleted = 0";
    where += q.as_of_ms ? " AND v.valid_from <= ?5 AND (v.valid_to IS NULL OR v.valid_to > ?5)"
                        : " AND v.valid_to IS NULL";
    if (dataset_id) where += " AND v.dataset_id = ?2";
    if (q.source_trace_id) where += " AND v.source_trace_id = ?3";
    if (q.source_observation_id) where += " AND v.source_observation_id = ?4";
    auto bind = [&](Stmt* st) {
      st->Bind(1, project_id);
      if (dataset_id) st->Bind(2, *dataset_id);
      if (q.source_trace_id) st->Bind(3, *q.source_trace_id);
      if (q.source_observation_id) st->Bind(4, *q.source_observation_id);
      if (q.as_of_ms) st->Bind(5, *q.as_of_ms);
    };
    DatasetPage<DatasetItemRecord> out;
    ASSIGN_OR_RETURN(Stmt * count,
                     db_->Prepare("SELECT COUNT(*) FROM dataset_item_versions v " + where));
    bind(count);
    ASSIGN_OR_RETURN(out.total_items, CountOf(count));
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(kItemSelect + where +
                                             " ORDER BY v.created_at DESC, v.id LIMIT ?6 "
                                             "OFFSET ?7"));
    bind(st);
    st->Bind(6, q.limit).Bind(7, Offset(q.page, q.limit));
    RETURN_IF_ERROR(ForEachRow(st, [&](const Stmt& s) { out.items.push_back(ReadItem(s)); }));
    return out;
  }

  absl::StatusOr<std::vector<DatasetItemRecord>> ItemsOfDataset(
      const std::string& project_id, const std::string& dataset_id) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    return CurrentItems(project_id, dataset_id);
  }

  absl::StatusOr<bool> DeleteItem(const std::string& project_id, const std::string& id) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*db_, true));
    ASSIGN_OR_RETURN(std::optional<DatasetItemRecord> current,
                     FindItem(project_id, id, std::nullopt));
    if (!current) return false;
    int64_t now = NowMillis();
    RETURN_IF_ERROR(CloseCurrentVersion(project_id, id, now));
    DatasetItemRecord tombstone = *current;
    tombstone.updated_at_ms = now;
    tombstone.valid_from_ms = now;
    RETURN_IF_ERROR(InsertVersion(tombstone, true));
    ASSIGN_OR_RETURN(Stmt * del, db_->Prepare("DELETE FROM dataset_run_items WHERE project_id = ? "
                                              "AND dataset_item_id = ?"));
    del->Bind(1, project_id).Bind(2, id);
    RETURN_IF_ERROR(RunAndReset(del));
    RETURN_IF_ERROR(txn->Commit());
    return true;
  }

  absl::StatusOr<DatasetRunItemRecord> CreateRunItem(const std::string& project_id,
                                                     const NewDatasetRunItem& n) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*db_, true));
    ASSIGN_OR_RETURN(std::optional<DatasetItemRecord> item,
                     FindItem(project_id, n.dataset_item_id, n.dataset_version_ms));
    if (!item || item->status != "ACTIVE") return absl::NotFoundError("Dataset item not found");
    int64_t now = NowMillis();
    int64_t created_at = n.created_at_ms.value_or(now);

    ASSIGN_OR_RETURN(std::optional<DatasetRunRecord> run,
                     FindRun(project_id, item->dataset_id, n.run_name));
    if (!run) {
      DatasetRunRecord r;
      r.id = NewUuid();
      r.project_id = project_id;
      r.dataset_id = item->dataset_id;
      r.dataset_name = item->dataset_name;
      r.name = n.run_name;
      r.description = n.run_description;
      r.metadata = n.run_metadata.is_null() ? json::value(json::object()) : n.run_metadata;
      r.created_at_ms = r.updated_at_ms = created_at;
      ASSIGN_OR_RETURN(Stmt * ins,
                       db_->Prepare("INSERT INTO dataset_runs(id, project_id, "
                                    "dataset_id, name, description, metadata, "
                                    "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)"));
      ins->Bind(1, r.id).Bind(2, project_id).Bind(3, r.dataset_id).Bind(4, r.name);
      ins->Bind(5, r.description).Bind(6, json::serialize(r.metadata));
      ins->Bind(7, r.created_at_ms).Bind(8, r.updated_at_ms);
      RETURN_IF_ERROR(RunAndReset(ins));
      run = std::move(r);
    }

    DatasetRunItemRecord ri;
    ri.id = NewUuid();
    ri.project_id = project_id;
    ri.dataset_run_id = run->id;
    ri.dataset_run_name = run->name;
    ri.dataset_item_id = item->id;
    ri.trace_id = n.trace_id;
    ri.observation_id = n.observation_id;
    ri.dataset_item_version_ms = item->valid_from_ms;
    ri.created_at_ms = ri.updated_at_ms = created_at;
    ASSIGN_OR_RETURN(Stmt * ins,
                     db_->Prepare("INSERT INTO dataset_run_items(id, project_id, dataset_run_id, "
                                  "dataset_item_id, trace_id, observation_id, "
                                  "dataset_item_version, created_at, updated_at) VALUES "
                                  "(?,?,?,?,?,?,?,?,?)"));
    ins->Bind(1, ri.id).Bind(2, project_id).Bind(3, ri.dataset_run_id);
    ins->Bind(4, ri.dataset_item_id).Bind(5, ri.trace_id).Bind(6, ri.observation_id);
    ins->Bind(7, item->valid_from_ms).Bind(8, ri.created_at_ms).Bind(9, ri.updated_at_ms);
    RETURN_IF_ERROR(RunAndReset(ins));
    RETURN_IF_ERROR(txn->Commit());
    return ri;
  }

  absl::StatusOr<std::optional<DatasetRunRecord>> GetRun(const std::string& project_id,
                                                         const std::string& dataset_id,
                                                         const std::string& run_name) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    return FindRun(project_id, dataset_id, run_name);
  }

  absl::StatusOr<DatasetPage<DatasetRunRecord>> ListRuns(const std::string& project_id,
                                                         const std::string& dataset_id, int page,
                                                         int limit) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    DatasetPage<DatasetRunRecord> out;
    ASSIGN_OR_RETURN(Stmt * count, db_->Prepare("SELECT COUNT(*) FROM dataset_runs WHERE "
                                                "project_id = ? AND dataset_id = ?"));
    count->Bind(1, project_id).Bind(2, dataset_id);
    ASSIGN_OR_RETURN(out.total_items, CountOf(count));
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string(kRunSelect) +
                                             "WHERE r.project_id = ? AND r.dataset_id = ? "
                                             "ORDER BY r.created_at DESC, r.rowid DESC LIMIT ? "
                                             "OFFSET ?"));
    st->Bind(1, project_id).Bind(2, dataset_id).Bind(3, limit).Bind(4, Offset(page, limit));
    RETURN_IF_ERROR(ForEachRow(st, [&](const Stmt& s) { out.items.push_back(ReadRun(s)); }));
    return out;
  }

  absl::StatusOr<DatasetPage<DatasetRunItemRecord>> ListRunItems(const std::string& project_id,
                                                                 const std::string& run_id,
                                                                 int page, int limit) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    DatasetPage<DatasetRunItemRecord> out;
    ASSIGN_OR_RETURN(Stmt * count, db_->Prepare("SELECT COUNT(*) FROM dataset_run_items WHERE "
                                                "project_id = ? AND dataset_run_id = ?"));
    count->Bind(1, project_id).Bind(2, run_id);
    ASSIGN_OR_RETURN(out.total_items, CountOf(count));
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string(kRunItemSelect) +
                                             "WHERE i.project_id = ? AND i.dataset_run_id = ? "
                                             "ORDER BY i.created_at DESC, i.rowid DESC LIMIT ? "
                                             "OFFSET ?"));
    st->Bind(1, project_id).Bind(2, run_id).Bind(3, limit).Bind(4, Offset(page, limit));
    RETURN_IF_ERROR(ForEachRow(st, [&](const Stmt& s) { out.items.push_back(ReadRunItem(s)); }));
    return out;
  }

  absl::StatusOr<std::vector<DatasetRunItemRecord>> RunItemsOfRun(
      const std::string& project_id, const std::string& run_id) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string(kRunItemSelect) +
                                             "WHERE i.project_id = ? AND i.dataset_run_id = ? "
                                             "ORDER BY i.rowid"));
    st->Bind(1, project_id).Bind(2, run_id);
    std::vector<DatasetRunItemRecord> out;
    RETURN_IF_ERROR(ForEachRow(st, [&](const Stmt& s) { out.push_back(ReadRunItem(s)); }));
    return out;
  }

  absl::StatusOr<std::vector<DatasetRunRecord>> FindRuns(const std::string& project_id,
                                                         const RunSelection& sel) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    std::string sql = std::string(kRunSelect) + "WHERE r.project_id = ?1";
    if (!sel.run_ids.empty()) sql += " AND r.id IN (SELECT value FROM json_each(?2))";
    if (!sel.run_names.empty()) sql += " AND r.name IN (SELECT value FROM json_each(?3))";
    if (!sel.dataset_ids.empty()) {
      sql += " AND r.dataset_id IN (SELECT value FROM json_each(?4))";
    }
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(sql + " ORDER BY r.created_at DESC, r.rowid DESC"));
    st->Bind(1, project_id);
    if (!sel.run_ids.empty()) st->Bind(2, JsonList(sel.run_ids));
    if (!sel.run_names.empty()) st->Bind(3, JsonList(sel.run_names));
    if (!sel.dataset_ids.empty()) st->Bind(4, JsonList(sel.dataset_ids));
    std::vector<DatasetRunRecord> out;
    RETURN_IF_ERROR(ForEachRow(st, [&](const Stmt& s) { out.push_back(ReadRun(s)); }));
    return out;
  }

  absl::StatusOr<std::vector<DatasetRunItemRecord>> RunItemsOfRuns(
      const std::string& project_id, const std::vector<std::string>& run_ids,
      const std::vector<std::string>& item_ids) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    std::vector<DatasetRunItemRecord> out;
    if (run_ids.empty()) return out;
    std::string sql = std::string(kRunItemSelect) +
                      "WHERE i.project_id = ?1 AND i.dataset_run_id IN (SELECT value FROM "
                      "json_each(?2))";
    if (!item_ids.empty()) sql += " AND i.dataset_item_id IN (SELECT value FROM json_each(?3))";
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(sql + " ORDER BY i.rowid"));
    st->Bind(1, project_id).Bind(2, JsonList(run_ids));
    if (!item_ids.empty()) st->Bind(3, JsonList(item_ids));
    RETURN_IF_ERROR(ForEachRow(st, [&](const Stmt& s) { out.push_back(ReadRunItem(s)); }));
    return out;
  }

  absl::StatusOr<bool> DeleteRun(const std::string& project_id,
                                 const std::string& run_id) override {
    std::lock_guard lock(mu_);
    RETURN_IF_ERROR(Open());
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*db_, true));
    ASSIGN_OR_RETURN(Stmt * del,
                     db_->Prepare("DELETE FROM dataset_runs WHERE project_id = ? AND id = ?"));
    del->Bind(1, project_id).Bind(2, run_id);
    RETURN_IF_ERROR(RunAndReset(del));
    bool found = db_->Changes() > 0;
    ASSIGN_OR_RETURN(Stmt * items, db_->Prepare("DELETE FROM dataset_run_items WHERE project_id "
                                                "= ? AND dataset_run_id = ?"));
    items->Bind(1, project_id).Bind(2, run_id);
    RETURN_IF_ERROR(RunAndReset(items));
    RETURN_IF_ERROR(txn->Commit());
    return found;
  }

  void Close() override {
    std::lock_guard lock(mu_);
    db_.reset();
  }

 private:
  // Requires mu_.
  absl::Status Open() const {
    return db_ ? absl::OkStatus() : absl::UnavailableError("dataset store is closed");
  }

  static bool SameContent(const DatasetItemRecord& a, const DatasetItemRecord& b) {
    return a.status == b.status && a.input == b.input && a.expected_output == b.expected_output &&
           a.metadata == b.metadata && a.source_trace_id == b.source_trace_id &&
           a.source_observation_id == b.source_observation_id;
  }

  // Requires mu_.
  absl::StatusOr<std::optional<DatasetRecord>> FindDataset(const std::string& project_id,
                                                           const std::string& name) {
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kDatasetColumns +
                                             " FROM datasets WHERE project_id = ? AND name = ?"));
    st->Bind(1, project_id).Bind(2, name);
    std::optional<DatasetRecord> out;
    RETURN_IF_ERROR(ForEachRow(st, [&](const Stmt& s) { out = ReadDataset(s); }));
    return out;
  }

  // Every current item of a dataset, newest first. Requires mu_.
  absl::StatusOr<std::vector<DatasetItemRecord>> CurrentItems(const std::string& project_id,
                                                              const std::string& dataset_id) {
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string(kItemSelect) +
                                             "WHERE v.project_id = ? AND v.dataset_id = ? AND "
                                             "v.valid_to IS NULL AND v.is_deleted = 0 ORDER BY "
                                             "v.created_at DESC, v.id"));
    st->Bind(1, project_id).Bind(2, dataset_id);
    std::vector<DatasetItemRecord> out;
    RETURN_IF_ERROR(ForEachRow(st, [&](const Stmt& s) { out.push_back(ReadItem(s)); }));
    return out;
  }

  // The current version (or the one valid at `as_of_ms`) unless deleted.
  // Requires mu_.
  absl::StatusOr<std::optional<DatasetItemRecord>> FindItem(const std::string& project_id,
                                                            const std::string& id,
                                                            std::optional<int64_t> as_of_ms) {
    std::string sql = std::string(kItemSelect) + "WHERE v.project_id = ? AND v.id = ? AND ";
    sql += as_of_ms ? "v.valid_from <= ?3 AND (v.valid_to IS NULL OR v.valid_to > ?3)"
                    : "v.valid_to IS NULL";
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(sql + " AND v.is_deleted = 0"));
    st->Bind(1, project_id).Bind(2, id);
    if (as_of_ms) st->Bind(3, *as_of_ms);
    std::optional<DatasetItemRecord> out;
    RETURN_IF_ERROR(ForEachRow(st, [&](const Stmt& s) { out = ReadItem(s); }));
    return out;
  }

  // Requires mu_.
  absl::StatusOr<std::optional<DatasetRunRecord>> FindRun(const std::string& project_id,
                                                          const std::string& dataset_id,
                                                          const std::string& name) {
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string(kRunSelect) +
                                             "WHERE r.project_id = ? AND r.dataset_id = ? AND "
                                             "r.name = ?"));
    st->Bind(1, project_id).Bind(2, dataset_id).Bind(3, name);
    std::optional<DatasetRunRecord> out;
    RETURN_IF_ERROR(ForEachRow(st, [&](const Stmt& s) { out = ReadRun(s); }));
    return out;
  }

  // Requires mu_ and a transaction.
  absl::Status CloseCurrentVersion(const std::string& project_id, const std::string& id,
                                   int64_t now) {
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("UPDATE dataset_item_versions SET valid_to = ? "
                                             "WHERE project_id = ? AND id = ? AND valid_to IS "
                                             "NULL"));
    st->Bind(1, now).Bind(2, project_id).Bind(3, id);
    return RunAndReset(st);
  }

  // Requires mu_ and a transaction.
  absl::Status InsertVersion(const DatasetItemRecord& i, bool deleted) {
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("INSERT INTO dataset_item_versions(project_id, id, dataset_id, "
                                  "status, input, expected_output, metadata, source_trace_id, "
                                  "source_observation_id, is_deleted, created_at, updated_at, "
                                  "valid_from) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    st->Bind(1, i.project_id).Bind(2, i.id).Bind(3, i.dataset_id).Bind(4, i.status);
    st->Bind(5, JsonText(i.input)).Bind(6, JsonText(i.expected_output));
    st->Bind(7, JsonText(i.metadata)).Bind(8, i.source_trace_id);
    st->Bind(9, i.source_observation_id).Bind(10, deleted ? 1 : 0);
    st->Bind(11, i.created_at_ms).Bind(12, i.updated_at_ms).Bind(13, i.valid_from_ms);
    return RunAndReset(st);
  }

  std::mutex mu_;
  std::unique_ptr<Db> db_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<DatasetStore>> OpenSqliteDatasetStore(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, Db::Open(path, false));
  RETURN_IF_ERROR(sqlite::ApplyMigrations(*db, "datasets", DatasetMigrations()));
  return std::unique_ptr<DatasetStore>(new SqliteDatasetStore(std::move(db)));
}

}  // namespace loupe
