#include "storage/postgres/pg_dataset_store.h"

#include <algorithm>
#include <atomic>
#include <functional>

#include "common/hash.h"
#include "common/json_parse.h"
#include "common/status_macros.h"
#include "common/time_util.h"

namespace loupe {
namespace {

namespace json = boost::json;
using pg::Conn;
using pg::Params;
using pg::Result;

// The tables of the SQLite DatasetStore. JSON values are stored as JSON
// text, SQL NULL for JSON null; times are epoch milliseconds; `seq` keeps
// insertion order where SQLite uses the rowid. dataset_item_versions keeps
// every version of every item: the current one has valid_to NULL (at most
// one per id, enforced by a partial unique index); a deletion closes the
// current version and adds a tombstone (is_deleted = 1) so that history
// reads see the item until then.
const std::vector<pg::Migration>& Migrations() {
  static const std::vector<pg::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE datasets(
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  metadata TEXT,
  input_schema TEXT,
  expected_output_schema TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  seq BIGSERIAL,
  UNIQUE(project_id, name));
CREATE INDEX datasets_by_created ON datasets(project_id, created_at);

CREATE TABLE dataset_item_versions(
  seq BIGSERIAL PRIMARY KEY,
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
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  valid_from BIGINT NOT NULL,
  valid_to BIGINT);
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
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  seq BIGSERIAL,
  UNIQUE(project_id, dataset_id, name));

CREATE TABLE dataset_run_items(
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  project_id TEXT NOT NULL,
  dataset_run_id TEXT NOT NULL,
  dataset_item_id TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  observation_id TEXT,
  dataset_item_version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL);
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

// SQLite's LIMIT takes a negative limit as none and a negative offset as 0.
std::optional<int64_t> Limit(int limit) {
  if (limit < 0) return std::nullopt;
  return limit;
}
int64_t Offset(int page, int limit) {
  return std::max<int64_t>(0, static_cast<int64_t>(std::max(page, 1) - 1) * limit);
}

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

DatasetRecord ReadDataset(const pg::Row& r) {
  DatasetRecord d;
  d.id = r.Text(0);
  d.project_id = r.Text(1);
  d.name = r.Text(2);
  d.description = r.OptText(3);
  d.metadata = ParseJsonText(r.OptText(4));
  d.input_schema = ParseJsonText(r.OptText(5));
  d.expected_output_schema = ParseJsonText(r.OptText(6));
  d.created_at_ms = r.Int(7);
  d.updated_at_ms = r.Int(8);
  return d;
}

DatasetItemRecord ReadItem(const pg::Row& r) {
  DatasetItemRecord i;
  i.id = r.Text(0);
  i.project_id = r.Text(1);
  i.dataset_id = r.Text(2);
  i.dataset_name = r.Text(3);
  i.status = r.Text(4);
  i.input = ParseJsonText(r.OptText(5));
  i.expected_output = ParseJsonText(r.OptText(6));
  i.metadata = ParseJsonText(r.OptText(7));
  i.source_trace_id = r.OptText(8);
  i.source_observation_id = r.OptText(9);
  i.created_at_ms = r.Int(10);
  i.updated_at_ms = r.Int(11);
  i.valid_from_ms = r.Int(12);
  return i;
}

DatasetRunRecord ReadRun(const pg::Row& r) {
  DatasetRunRecord run;
  run.id = r.Text(0);
  run.project_id = r.Text(1);
  run.dataset_id = r.Text(2);
  run.dataset_name = r.Text(3);
  run.name = r.Text(4);
  run.description = r.OptText(5);
  run.metadata = ParseJsonText(r.OptText(6));
  run.created_at_ms = r.Int(7);
  run.updated_at_ms = r.Int(8);
  return run;
}

DatasetRunItemRecord ReadRunItem(const pg::Row& r) {
  DatasetRunItemRecord i;
  i.id = r.Text(0);
  i.project_id = r.Text(1);
  i.dataset_run_id = r.Text(2);
  i.dataset_run_name = r.Text(3);
  i.dataset_item_id = r.Text(4);
  i.trace_id = r.Text(5);
  i.observation_id = r.OptText(6);
  i.created_at_ms = r.Int(7);
  i.updated_at_ms = r.Int(8);
  i.dataset_item_version_ms = r.Int(9);
  return i;
}

// A list bound as one JSON array parameter, matched with
// `IN (SELECT json_array_elements_text($n::json))`: any length, one statement.
std::string JsonList(const std::vector<std::string>& values) {
  json::array arr;
  for (const std::string& v : values) arr.emplace_back(v);
  return json::serialize(arr);
}

// Builds a parameter list and hands out the placeholders of its values.
class Args {
 public:
  template <typename T>
  std::string Add(T&& v) {
    params_.Add(std::forward<T>(v));
    return "$" + std::to_string(++n_);
  }
  const Params& params() const { return params_; }

 private:
  Params params_;
  int n_ = 0;
};

template <typename T, typename Read>
std::vector<T> Rows(const Result& r, Read read) {
  std::vector<T> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) out.push_back(read(r.row(i)));
  return out;
}

class PgDatasetStore final : public DatasetStore {
 public:
  explicit PgDatasetStore(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  absl::StatusOr<DatasetRecord> UpsertDataset(const std::string& project_id,
                                              const DatasetUpsert& u) override {
    DatasetRecord d;
    if (absl::Status done = Write(
            project_id,
            [&](Conn& c) -> absl::Status {
              ASSIGN_OR_RETURN(std::optional<DatasetRecord> existing,
                               FindDataset(c, project_id, u.name));
              int64_t now = NowMillis();
              const bool schema_changed =
                  existing && ((u.input_schema && *u.input_schema != existing->input_schema) ||
                               (u.expected_output_schema &&
                                *u.expected_output_schema != existing->expected_output_schema));
              d = DatasetRecord();
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
              d.updated_at_ms = existing && !u.description && !u.metadata && !u.input_schema &&
                                        !u.expected_output_schema
                                    ? d.updated_at_ms
                                    : now;
              if (schema_changed && u.check) {
                ASSIGN_OR_RETURN(std::vector<DatasetItemRecord> items,
                                 CurrentItems(c, project_id, d.id));
                for (const DatasetItemRecord& item : items) RETURN_IF_ERROR(u.check(d, item));
              }
              return c
                  .Exec(std::string("INSERT INTO datasets(") + kDatasetColumns +
                            ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT(id) DO UPDATE SET "
                            "description = excluded.description, metadata = excluded.metadata, "
                            "input_schema = excluded.input_schema, expected_output_schema = "
                            "excluded.expected_output_schema, updated_at = excluded.updated_at",
                        Params()
                            .Add(d.id)
                            .Add(d.project_id)
                            .Add(d.name)
                            .Add(d.description)
                            .Add(JsonText(d.metadata))
                            .Add(JsonText(d.input_schema))
                            .Add(JsonText(d.expected_output_schema))
                            .Add(d.created_at_ms)
                            .Add(d.updated_at_ms))
                  .status();
            });
        !done.ok())
      return done;
    return d;
  }

  absl::StatusOr<std::optional<DatasetRecord>> GetDataset(const std::string& project_id,
                                                          const std::string& name) override {
    std::optional<DatasetRecord> out;
    if (absl::Status done = Read([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(out, FindDataset(c, project_id, name));
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  absl::StatusOr<DatasetPage<DatasetRecord>> ListDatasets(const std::string& project_id, int page,
                                                          int limit) override {
    DatasetPage<DatasetRecord> out;
    if (absl::Status done = Snapshot([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(out.total_items, Count(c,
                                                  "SELECT COUNT(*) FROM datasets WHERE project_id "
                                                  "= $1",
                                                  Params().Add(project_id)));
          ASSIGN_OR_RETURN(
              Result r,
              c.Exec(std::string("SELECT ") + kDatasetColumns +
                         " FROM datasets WHERE project_id = $1 ORDER BY "
                         "created_at DESC, seq DESC LIMIT $2 OFFSET $3",
                     Params().Add(project_id).Add(Limit(limit)).Add(Offset(page, limit))));
          out.items = Rows<DatasetRecord>(r, ReadDataset);
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  absl::StatusOr<DatasetItemRecord> UpsertItem(const std::string& project_id,
                                               const DatasetItemUpsert& u) override {
    DatasetItemRecord item;
    if (absl::Status done =
            Write(project_id,
                  [&](Conn& c) -> absl::Status {
                    ASSIGN_OR_RETURN(std::optional<DatasetRecord> dataset,
                                     FindDataset(c, project_id, u.dataset_name));
                    if (!dataset) return absl::NotFoundError("Dataset not found");
                    std::string id = u.id.value_or(NewUuid());
                    ASSIGN_OR_RETURN(std::optional<DatasetItemRecord> current,
                                     FindItem(c, project_id, id, std::nullopt));
                    if (current && current->dataset_id != dataset->id) {
                      return absl::NotFoundError("The dataset item with id " + id +
                                                 " already exists in a dataset other than " +
                                                 dataset->name);
                    }
                    int64_t now = NowMillis();
                    item = DatasetItemRecord();
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
                    if (u.source_observation_id)
                      item.source_observation_id = u.source_observation_id;
                    if (u.status) item.status = *u.status;
                    if (current && SameContent(*current, item)) {
                      item = *current;
                      return absl::OkStatus();
                    }
                    if (u.check) RETURN_IF_ERROR(u.check(*dataset, item));

                    item.updated_at_ms = now;
                    item.valid_from_ms = now;
                    RETURN_IF_ERROR(CloseCurrentVersion(c, project_id, id, now));
                    return InsertVersion(c, item, false);
                  });
        !done.ok())
      return done;
    return item;
  }

  absl::StatusOr<std::optional<DatasetItemRecord>> GetItem(
      const std::string& project_id, const std::string& id,
      std::optional<int64_t> as_of_ms) override {
    std::optional<DatasetItemRecord> out;
    if (absl::Status done = Read([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(out, FindItem(c, project_id, id, as_of_ms));
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  absl::StatusOr<DatasetPage<DatasetItemRecord>> ListItems(const std::string& project_id,
                                                           const DatasetItemQuery& q) override {
    DatasetPage<DatasetItemRecord> out;
    if (absl::Status done = Snapshot([&](Conn& c) -> absl::Status {
          std::optional<std::string> dataset_id;
          if (q.dataset_name) {
            ASSIGN_OR_RETURN(std::optional<DatasetRecord> dataset,
                             FindDataset(c, project_id, *q.dataset_name));
            if (!dataset) return absl::NotFoundError("Dataset not found");
            dataset_id = dataset->id;
          }
          Args args;
          std::string where =
              "WHERE v.project_id = " + args.Add(project_id) + " AND v.is_deleted = 0";
          if (q.as_of_ms) {
            std::string t = args.Add(*q.as_of_ms);
            where +=
                " AND v.valid_from <= " + t + " AND (v.valid_to IS NULL OR v.valid_to > " + t + ")";
          } else {
            where += " AND v.valid_to IS NULL";
          }
          if (dataset_id) where += " AND v.dataset_id = " + args.Add(*dataset_id);
          if (q.source_trace_id)
            where += " AND v.source_trace_id = " + args.Add(*q.source_trace_id);
          if (q.source_observation_id) {
            where += " AND v.source_observation_id = " + args.Add(*q.source_observation_id);
          }
          ASSIGN_OR_RETURN(
              out.total_items,
              Count(c, "SELECT COUNT(*) FROM dataset_item_versions v " + where, args.params()));
          std::string limit = args.Add(Limit(q.limit));
          std::string offset = args.Add(Offset(q.page, q.limit));
          ASSIGN_OR_RETURN(Result r, c.Exec(kItemSelect + where +
                                                " ORDER BY v.created_at DESC, v.id COLLATE \"C\" "
                                                "LIMIT " +
                                                limit + " OFFSET " + offset,
                                            args.params()));
          out.items = Rows<DatasetItemRecord>(r, ReadItem);
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  absl::StatusOr<std::vector<DatasetItemRecord>> ItemsOfDataset(
      const std::string& project_id, const std::string& dataset_id) override {
    std::vector<DatasetItemRecord> out;
    if (absl::Status done = Read([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(out, CurrentItems(c, project_id, dataset_id));
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  absl::StatusOr<bool> DeleteItem(const std::string& project_id, const std::string& id) override {
    bool found = false;
    if (absl::Status done = Write(project_id,
                                  [&](Conn& c) -> absl::Status {
                                    ASSIGN_OR_RETURN(std::optional<DatasetItemRecord> current,
                                                     FindItem(c, project_id, id, std::nullopt));
                                    found = current.has_value();
                                    if (!current) return absl::OkStatus();
                                    int64_t now = NowMillis();
                                    RETURN_IF_ERROR(CloseCurrentVersion(c, project_id, id, now));
                                    DatasetItemRecord tombstone = *current;
                                    tombstone.updated_at_ms = now;
                                    tombstone.valid_from_ms = now;
                                    RETURN_IF_ERROR(InsertVersion(c, tombstone, true));
                                    return c
                                        .Exec(
                                            "DELETE FROM dataset_run_items WHERE project_id = $1 "
                                            "AND dataset_item_id = $2",
                                            Params().Add(project_id).Add(id))
                                        .status();
                                  });
        !done.ok())
      return done;
    return found;
  }

  absl::StatusOr<DatasetRunItemRecord> CreateRunItem(const std::string& project_id,
                                                     const NewDatasetRunItem& n) override {
    DatasetRunItemRecord ri;
    if (absl::Status done = Write(
            project_id,
            [&](Conn& c) -> absl::Status {
              ASSIGN_OR_RETURN(std::optional<DatasetItemRecord> item,
                               FindItem(c, project_id, n.dataset_item_id, n.dataset_version_ms));
              if (!item || item->status != "ACTIVE")
                return absl::NotFoundError("Dataset item not found");
              int64_t now = NowMillis();
              int64_t created_at = n.created_at_ms.value_or(now);

              ASSIGN_OR_RETURN(std::optional<DatasetRunRecord> run,
                               FindRun(c, project_id, item->dataset_id, n.run_name));
              if (!run) {
                DatasetRunRecord r;
                r.id = NewUuid();
                r.project_id = project_id;
                r.dataset_id = item->dataset_id;
                r.dataset_name = item->dataset_name;
                r.name = n.run_name;
                r.description = n.run_description;
                r.metadata =
                    n.run_metadata.is_null() ? json::value(json::object()) : n.run_metadata;
                r.created_at_ms = r.updated_at_ms = created_at;
                RETURN_IF_ERROR(c.Exec("INSERT INTO dataset_runs(id, project_id, dataset_id, name, "
                                       "description, metadata, created_at, updated_at) VALUES "
                                       "($1,$2,$3,$4,$5,$6,$7,$8)",
                                       Params()
                                           .Add(r.id)
                                           .Add(project_id)
                                           .Add(r.dataset_id)
                                           .Add(r.name)
                                           .Add(r.description)
                                           .Add(json::serialize(r.metadata))
                                           .Add(r.created_at_ms)
                                           .Add(r.updated_at_ms))
                                    .status());
                run = std::move(r);
              }

              ri = DatasetRunItemRecord();
              ri.id = NewUuid();
              ri.project_id = project_id;
              ri.dataset_run_id = run->id;
              ri.dataset_run_name = run->name;
              ri.dataset_item_id = item->id;
              ri.trace_id = n.trace_id;
              ri.observation_id = n.observation_id;
              ri.dataset_item_version_ms = item->valid_from_ms;
              ri.created_at_ms = ri.updated_at_ms = created_at;
              return c
                  .Exec(
                      "INSERT INTO dataset_run_items(id, project_id, dataset_run_id, "
                      "dataset_item_id, "
                      "trace_id, observation_id, dataset_item_version, created_at, updated_at) "
                      "VALUES "
                      "($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                      Params()
                          .Add(ri.id)
                          .Add(project_id)
                          .Add(ri.dataset_run_id)
                          .Add(ri.dataset_item_id)
                          .Add(ri.trace_id)
                          .Add(ri.observation_id)
                          .Add(item->valid_from_ms)
                          .Add(ri.created_at_ms)
                          .Add(ri.updated_at_ms))
                  .status();
            });
        !done.ok())
      return done;
    return ri;
  }

  absl::StatusOr<std::optional<DatasetRunRecord>> GetRun(const std::string& project_id,
                                                         const std::string& dataset_id,
                                                         const std::string& run_name) override {
    std::optional<DatasetRunRecord> out;
    if (absl::Status done = Read([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(out, FindRun(c, project_id, dataset_id, run_name));
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  absl::StatusOr<DatasetPage<DatasetRunRecord>> ListRuns(const std::string& project_id,
                                                         const std::string& dataset_id, int page,
                                                         int limit) override {
    DatasetPage<DatasetRunRecord> out;
    if (absl::Status done = Snapshot([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(out.total_items, Count(c,
                                                  "SELECT COUNT(*) FROM dataset_runs WHERE "
                                                  "project_id = $1 AND dataset_id = $2",
                                                  Params().Add(project_id).Add(dataset_id)));
          ASSIGN_OR_RETURN(Result r, c.Exec(std::string(kRunSelect) +
                                                "WHERE r.project_id = $1 AND r.dataset_id = $2 "
                                                "ORDER BY r.created_at DESC, r.seq DESC LIMIT $3 "
                                                "OFFSET $4",
                                            Params()
                                                .Add(project_id)
                                                .Add(dataset_id)
                                                .Add(Limit(limit))
                                                .Add(Offset(page, limit))));
          out.items = Rows<DatasetRunRecord>(r, ReadRun);
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  absl::StatusOr<DatasetPage<DatasetRunItemRecord>> ListRunItems(const std::string& project_id,
                                                                 const std::string& run_id,
                                                                 int page, int limit) override {
    DatasetPage<DatasetRunItemRecord> out;
    if (absl::Status done = Snapshot([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(out.total_items, Count(c,
                                                  "SELECT COUNT(*) FROM dataset_run_items WHERE "
                                                  "project_id = $1 AND dataset_run_id = $2",
                                                  Params().Add(project_id).Add(run_id)));
          ASSIGN_OR_RETURN(
              Result r,
              c.Exec(
                  std::string(kRunItemSelect) + "WHERE i.project_id = $1 AND i.dataset_run_id = $2 "
                                                "ORDER BY i.created_at DESC, i.seq DESC LIMIT $3 "
                                                "OFFSET $4",
                  Params().Add(project_id).Add(run_id).Add(Limit(limit)).Add(Offset(page, limit))));
          out.items = Rows<DatasetRunItemRecord>(r, ReadRunItem);
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  absl::StatusOr<std::vector<DatasetRunItemRecord>> RunItemsOfRun(
      const std::string& project_id, const std::string& run_id) override {
    std::vector<DatasetRunItemRecord> out;
    if (absl::Status done = Read([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(Result r, c.Exec(std::string(kRunItemSelect) +
                                                "WHERE i.project_id = $1 AND i.dataset_run_id = $2 "
                                                "ORDER BY i.seq",
                                            Params().Add(project_id).Add(run_id)));
          out = Rows<DatasetRunItemRecord>(r, ReadRunItem);
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  absl::StatusOr<std::vector<DatasetRunRecord>> FindRuns(const std::string& project_id,
                                                         const RunSelection& sel) override {
    Args args;
    std::string sql = std::string(kRunSelect) + "WHERE r.project_id = " + args.Add(project_id);
    auto in = [&](const char* column, const std::vector<std::string>& values) {
      if (values.empty()) return;
      sql += std::string(" AND ") + column + " IN (SELECT json_array_elements_text(" +
             args.Add(JsonList(values)) + "::json))";
    };
    in("r.id", sel.run_ids);
    in("r.name", sel.run_names);
    in("r.dataset_id", sel.dataset_ids);
    std::vector<DatasetRunRecord> out;
    if (absl::Status done = Read([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(Result r,
                           c.Exec(sql + " ORDER BY r.created_at DESC, r.seq DESC", args.params()));
          out = Rows<DatasetRunRecord>(r, ReadRun);
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  absl::StatusOr<std::vector<DatasetRunItemRecord>> RunItemsOfRuns(
      const std::string& project_id, const std::vector<std::string>& run_ids,
      const std::vector<std::string>& item_ids) override {
    RETURN_IF_ERROR(CheckOpen());
    std::vector<DatasetRunItemRecord> out;
    if (run_ids.empty()) return out;
    Args args;
    std::string sql = std::string(kRunItemSelect) + "WHERE i.project_id = " + args.Add(project_id) +
                      " AND i.dataset_run_id IN (SELECT json_array_elements_text(" +
                      args.Add(JsonList(run_ids)) + "::json))";
    if (!item_ids.empty()) {
      sql += " AND i.dataset_item_id IN (SELECT json_array_elements_text(" +
             args.Add(JsonList(item_ids)) + "::json))";
    }
    if (absl::Status done = Read([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(Result r, c.Exec(sql + " ORDER BY i.seq", args.params()));
          out = Rows<DatasetRunItemRecord>(r, ReadRunItem);
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  absl::StatusOr<bool> DeleteRun(const std::string& project_id,
                                 const std::string& run_id) override {
    bool found = false;
    if (absl::Status done = Write(
            project_id,
            [&](Conn& c) -> absl::Status {
              ASSIGN_OR_RETURN(Result del,
                               c.Exec("DELETE FROM dataset_runs WHERE project_id = $1 AND id "
                                      "= $2",
                                      Params().Add(project_id).Add(run_id)));
              found = del.affected() > 0;
              return c
                  .Exec(
                      "DELETE FROM dataset_run_items WHERE project_id = $1 AND dataset_run_id = $2",
                      Params().Add(project_id).Add(run_id))
                  .status();
            });
        !done.ok())
      return done;
    return found;
  }

  void Close() override { closed_ = true; }

 private:
  absl::Status CheckOpen() const {
    return closed_ ? absl::UnavailableError("dataset store is closed") : absl::OkStatus();
  }

  // One statement's worth of reading on a pooled connection.
  absl::Status Read(const std::function<absl::Status(Conn&)>& body) {
    RETURN_IF_ERROR(CheckOpen());
    return pool_->With(body);
  }

  // Several reads (a count and a page) from one snapshot.
  absl::Status Snapshot(const std::function<absl::Status(Conn&)>& body) {
    RETURN_IF_ERROR(CheckOpen());
    return pool_->With([&](Conn& c) {
      return c.InTransaction([&]() -> absl::Status {
        RETURN_IF_ERROR(
            c.Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").status());
        return body(c);
      });
    });
  }

  // Runs `body` in a transaction that holds the project's write lock, so
  // writes of a project, from any process, run one after the other.
  absl::Status Write(const std::string& project_id,
                     const std::function<absl::Status(Conn&)>& body) {
    RETURN_IF_ERROR(CheckOpen());
    return pool_->With([&](Conn& c) {
      return c.InTransaction([&]() -> absl::Status {
        RETURN_IF_ERROR(c.Exec("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                               Params().Add("loupe.datasets:" + project_id))
                            .status());
        return body(c);
      });
    });
  }

  static absl::StatusOr<int64_t> Count(Conn& c, const std::string& sql, const Params& params) {
    ASSIGN_OR_RETURN(Result r, c.Exec(sql, params));
    return r.rows() ? r.row(0).Int(0) : 0;
  }

  static bool SameContent(const DatasetItemRecord& a, const DatasetItemRecord& b) {
    return a.status == b.status && a.input == b.input && a.expected_output == b.expected_output &&
           a.metadata == b.metadata && a.source_trace_id == b.source_trace_id &&
           a.source_observation_id == b.source_observation_id;
  }

  static absl::StatusOr<std::optional<DatasetRecord>> FindDataset(Conn& c,
                                                                  const std::string& project_id,
                                                                  const std::string& name) {
    ASSIGN_OR_RETURN(Result r, c.Exec(std::string("SELECT ") + kDatasetColumns +
                                          " FROM datasets WHERE project_id = $1 AND name = $2",
                                      Params().Add(project_id).Add(name)));
    std::optional<DatasetRecord> out;
    if (r.rows() > 0) out = ReadDataset(r.row(0));
    return out;
  }

  // Every current item of a dataset, newest first.
  static absl::StatusOr<std::vector<DatasetItemRecord>> CurrentItems(
      Conn& c, const std::string& project_id, const std::string& dataset_id) {
    ASSIGN_OR_RETURN(Result r, c.Exec(std::string(kItemSelect) +
                                          "WHERE v.project_id = $1 AND v.dataset_id = $2 AND "
                                          "v.valid_to IS NULL AND v.is_deleted = 0 ORDER BY "
                                          "v.created_at DESC, v.id COLLATE \"C\"",
                                      Params().Add(project_id).Add(dataset_id)));
    return Rows<DatasetItemRecord>(r, ReadItem);
  }

  // The current version (or the one valid at `as_of_ms`) unless deleted.
  static absl::StatusOr<std::optional<DatasetItemRecord>> FindItem(
      Conn& c, const std::string& project_id, const std::string& id,
      std::optional<int64_t> as_of_ms) {
    std::string sql = std::string(kItemSelect) + "WHERE v.project_id = $1 AND v.id = $2 AND ";
    Params params;
    params.Add(project_id).Add(id);
    if (as_of_ms) {
      sql += "v.valid_from <= $3 AND (v.valid_to IS NULL OR v.valid_to > $3)";
      params.Add(*as_of_ms);
    } else {
      sql += "v.valid_to IS NULL";
    }
    ASSIGN_OR_RETURN(Result r, c.Exec(sql + " AND v.is_deleted = 0 ORDER BY v.seq", params));
    std::optional<DatasetItemRecord> out;
    if (r.rows() > 0) out = ReadItem(r.row(r.rows() - 1));
    return out;
  }

  static absl::StatusOr<std::optional<DatasetRunRecord>> FindRun(Conn& c,
                                                                 const std::string& project_id,
                                                                 const std::string& dataset_id,
                                                                 const std::string& name) {
    ASSIGN_OR_RETURN(Result r, c.Exec(std::string(kRunSelect) +
                                          "WHERE r.project_id = $1 AND r.dataset_id = $2 AND "
                                          "r.name = $3",
                                      Params().Add(project_id).Add(dataset_id).Add(name)));
    std::optional<DatasetRunRecord> out;
    if (r.rows() > 0) out = ReadRun(r.row(0));
    return out;
  }

  static absl::Status CloseCurrentVersion(Conn& c, const std::string& project_id,
                                          const std::string& id, int64_t now) {
    return c
        .Exec(
            "UPDATE dataset_item_versions SET valid_to = $1 WHERE project_id = $2 AND id = $3 "
            "AND valid_to IS NULL",
            Params().Add(now).Add(project_id).Add(id))
        .status();
  }

  static absl::Status InsertVersion(Conn& c, const DatasetItemRecord& i, bool deleted) {
    return c
        .Exec(
            "INSERT INTO dataset_item_versions(project_id, id, dataset_id, status, input, "
            "expected_output, metadata, source_trace_id, source_observation_id, is_deleted, "
            "created_at, updated_at, valid_from) VALUES "
            "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
            Params()
                .Add(i.project_id)
                .Add(i.id)
                .Add(i.dataset_id)
                .Add(i.status)
                .Add(JsonText(i.input))
                .Add(JsonText(i.expected_output))
                .Add(JsonText(i.metadata))
                .Add(i.source_trace_id)
                .Add(i.source_observation_id)
                .Add(static_cast<int64_t>(deleted ? 1 : 0))
                .Add(i.created_at_ms)
                .Add(i.updated_at_ms)
                .Add(i.valid_from_ms))
        .status();
  }

  const std::shared_ptr<pg::Pool> pool_;
  std::atomic<bool> closed_{false};
};

}  // namespace

absl::StatusOr<std::unique_ptr<DatasetStore>> OpenPostgresDatasetStore(
    std::shared_ptr<pg::Pool> pool) {
  if (!pool) return absl::InvalidArgumentError("no PostgreSQL pool");
  RETURN_IF_ERROR(pg::ApplyMigrations(*pool, "datasets", Migrations()));
  return std::unique_ptr<DatasetStore>(new PgDatasetStore(std::move(pool)));
}

}  // namespace loupe
