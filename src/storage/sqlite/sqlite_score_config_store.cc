#include "storage/sqlite/sqlite_score_config_store.h"

#include <map>
#include <mutex>
#include <utility>

#include "boost/json.hpp"
#include "common/json_parse.h"
#include "common/status_macros.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/stmt_util.h"

namespace loupe {
namespace {

namespace json = boost::json;
using sqlite::Db;
using sqlite::ResetOnExit;
using sqlite::Stmt;

// Categories are JSON text ([{"value":…, "label":…}]), NULL when the config
// has none.
const std::vector<sqlite::Migration>& ScoreConfigMigrations() {
  static const std::vector<sqlite::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE score_configs(
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  name TEXT NOT NULL,
  data_type TEXT NOT NULL,
  is_archived INTEGER NOT NULL DEFAULT 0,
  min_value REAL,
  max_value REAL,
  categories TEXT,
  description TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE INDEX score_configs_by_project ON score_configs(project_id, created_at);
)sql"},
  };
  return kMigrations;
}

constexpr const char* kColumns =
    "id, project_id, name, data_type, is_archived, min_value, max_value, categories, "
    "description, created_at, updated_at";

// Configs are few per project, but ids in cache lookups come from clients:
// past this many entries the cache starts over rather than grow.
constexpr size_t kMaxCachedConfigs = 50000;

std::optional<std::string> CategoriesToJson(
    const std::optional<std::vector<ScoreConfigCategory>>& categories) {
  if (!categories) return std::nullopt;
  json::array arr;
  for (const ScoreConfigCategory& c : *categories) {
    json::object o;
    o["value"] = c.value;
    o["label"] = c.label;
    arr.push_back(std::move(o));
  }
  return json::serialize(arr);
}

std::optional<std::vector<ScoreConfigCategory>> CategoriesFromJson(
    const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value v = ParseStoredJson(*text, ec);
  const json::array* arr = ec ? nullptr : v.if_array();
  if (!arr) return std::nullopt;
  std::vector<ScoreConfigCategory> out;
  for (const json::value& e : *arr) {
    const json::object* o = e.if_object();
    if (!o) continue;
    ScoreConfigCategory c;
    if (const json::value* value = o->if_contains("value")) {
      if (value->is_number()) c.value = value->to_number<double>(ec);
    }
    if (const json::value* label = o->if_contains("label"); label && label->is_string()) {
      c.label = std::string(label->get_string());
    }
    out.push_back(std::move(c));
  }
  return out;
}

ScoreConfigRecord ReadRow(const Stmt& st) {
  ScoreConfigRecord r;
  r.id = st.Text(0);
  r.project_id = st.Text(1);
  r.name = st.Text(2);
  r.data_type = st.Text(3);
  r.is_archived = st.Int(4) != 0;
  r.min_value = st.OptDouble(5);
  r.max_value = st.OptDouble(6);
  r.categories = CategoriesFromJson(st.OptText(7));
  r.description = st.OptText(8);
  r.created_at_ms = st.Int(9);
  r.updated_at_ms = st.Int(10);
  return r;
}

class SqliteScoreConfigStore final : public ScoreConfigStore {
 public:
  explicit SqliteScoreConfigStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  absl::Status Create(const ScoreConfigRecord& c) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT 1 FROM score_configs WHERE "
                                                         "id = ?")));
    st->Bind(1, c.id);
    ASSIGN_OR_RETURN(bool exists, st->Step());
    st->Reset();
    if (exists) return absl::AlreadyExistsError("A score config with this id already exists");
    ASSIGN_OR_RETURN(Stmt * ins, db_->Prepare(std::string("INSERT INTO score_configs(") + kColumns +
                                              ") VALUES (?,?,?,?,?,?,?,?,?,?,?)"));
    BindAll(ins, c);
    RETURN_IF_ERROR(sqlite::RunAndReset(ins));
    Remember(c);
    return absl::OkStatus();
  }

  absl::Status Update(const ScoreConfigRecord& c) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("UPDATE score_configs SET name = ?3, data_type = ?4, "
                                             "is_archived = ?5, min_value = ?6, max_value = ?7, "
                                             "categories = ?8, description = ?9, updated_at = ?11 "
                                             "WHERE id = ?1 AND project_id = ?2"));
    BindAll(st, c);
    RETURN_IF_ERROR(sqlite::RunAndReset(st));
    if (db_->Changes() == 0) return absl::NotFoundError("Score config not found");
    Remember(c);
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<ScoreConfigRecord>> Get(const std::string& project_id,
                                                       const std::string& id) override {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find({project_id, id}); it != cache_.end()) return it->second;
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare(std::string("SELECT ") + kColumns +
                                  " FROM score_configs WHERE id = ? AND project_id = ?"));
    ResetOnExit reset(st);
    st->Bind(1, id).Bind(2, project_id);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<ScoreConfigRecord>();
    ScoreConfigRecord r = ReadRow(*st);
    Remember(r);
    return std::optional<ScoreConfigRecord>(std::move(r));
  }

  absl::StatusOr<PageResult<ScoreConfigRecord>> List(const std::string& project_id,
                                                     const PageRequest& page) override {
    std::lock_guard lock(mu_);
    PageResult<ScoreConfigRecord> out;
    {
      ASSIGN_OR_RETURN(Stmt * st,
                       db_->Prepare("SELECT COUNT(*) FROM score_configs WHERE project_id = ?"));
      ResetOnExit reset(st);
      st->Bind(1, project_id);
      ASSIGN_OR_RETURN(bool row, st->Step());
      out.total_items = row ? st->Int(0) : 0;
    }
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kColumns +
                                             " FROM score_configs WHERE project_id = ? "
                                             "ORDER BY created_at DESC, rowid DESC "
                                             "LIMIT ? OFFSET ?"));
    ResetOnExit reset(st);
    st->Bind(1, project_id)
        .Bind(2, static_cast<int64_t>(page.limit))
        .Bind(3, static_cast<int64_t>(page.page - 1) * page.limit);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.items.push_back(ReadRow(*st));
    }
    return out;
  }

 private:
  static void BindAll(Stmt* st, const ScoreConfigRecord& c) {
    st->Bind(1, c.id).Bind(2, c.project_id).Bind(3, c.name).Bind(4, c.data_type);
    st->Bind(5, static_cast<int64_t>(c.is_archived ? 1 : 0));
    st->Bind(6, c.min_value).Bind(7, c.max_value);
    st->Bind(8, CategoriesToJson(c.categories)).Bind(9, c.description);
    st->Bind(10, c.created_at_ms).Bind(11, c.updated_at_ms);
  }

  void Remember(const ScoreConfigRecord& c) {
    if (cache_.size() >= kMaxCachedConfigs) cache_.clear();
    cache_[{c.project_id, c.id}] = c;
  }

  std::mutex mu_;
  std::unique_ptr<Db> db_;  // guarded by mu_
  // (project, id) → config; guarded by mu_.
  std::map<std::pair<std::string, std::string>, ScoreConfigRecord> cache_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ScoreConfigStore>> OpenSqliteScoreConfigStore(
    const std::string& path) {
  ASSIGN_OR_RETURN(auto db, Db::Open(path, false));
  RETURN_IF_ERROR(sqlite::ApplyMigrations(*db, "score_configs", ScoreConfigMigrations()));
  return std::unique_ptr<ScoreConfigStore>(new SqliteScoreConfigStore(std::move(db)));
}

}  // namespace loupe
