#include "storage/sqlite/sqlite_model_store.h"

#include <mutex>
#include <utility>

#include "common/json_parse.h"
#include "common/status_macros.h"
#include "storage/pricing_tier_json.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/stmt_util.h"

namespace loupe {
namespace {

namespace json = boost::json;
using sqlite::Db;
using sqlite::ResetOnExit;
using sqlite::Stmt;

// A model's pricing tiers (with their conditions and prices) are always read
// and written together with the model, so they live in one JSON column
// rather than in Langfuse's separate pricing_tiers and prices tables.
const std::vector<sqlite::Migration>& ModelMigrations() {
  static const std::vector<sqlite::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE models(
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  model_name TEXT NOT NULL,
  match_pattern TEXT NOT NULL,
  start_date INTEGER,
  unit TEXT,
  tokenizer_id TEXT,
  tokenizer_config TEXT,
  pricing_tiers TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE(project_id, model_name));
)sql"},
  };
  return kMigrations;
}

constexpr const char* kColumns =
    "id, project_id, model_name, match_pattern, start_date, unit, tokenizer_id, "
    "tokenizer_config, pricing_tiers, created_at, updated_at";

std::optional<std::string> NonEmpty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}

absl::StatusOr<ModelPrice> ReadRow(const Stmt& st) {
  ModelPrice m;
  m.id = st.Text(0);
  m.project_id = st.Text(1);
  m.model_name = st.Text(2);
  m.match_pattern = st.Text(3);
  m.start_date_ms = st.OptInt(4);
  m.unit = st.OptText(5).value_or("");
  m.tokenizer_id = st.OptText(6).value_or("");
  m.tokenizer_config_json = st.OptText(7).value_or("");
  boost::system::error_code ec;
  json::value tiers = ParseStoredJson(st.Text(8), ec);
  if (ec) return absl::DataLossError("models: unreadable pricing tiers of model " + m.id);
  ASSIGN_OR_RETURN(m.tiers, PricingTiersFromJson(tiers));
  m.created_at_ms = st.Int(9);
  m.updated_at_ms = st.Int(10);
  return m;
}

class SqliteModelStore final : public ModelStore {
 public:
  explicit SqliteModelStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  absl::Status Create(const ModelPrice& m) override {
    std::lock_guard lock(mu_);
    {
      ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT 1 FROM models WHERE id = ? OR "
                                               "(project_id = ? AND model_name = ?)"));
      ResetOnExit reset(st);
      st->Bind(1, m.id).Bind(2, m.project_id).Bind(3, m.model_name);
      ASSIGN_OR_RETURN(bool exists, st->Step());
      if (exists) {
        return absl::AlreadyExistsError("Model name '" + m.model_name +
                                        "' already exists in project");
      }
    }
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("INSERT INTO models(") + kColumns +
                                             ") VALUES (?,?,?,?,?,?,?,?,?,?,?)"));
    st->Bind(1, m.id).Bind(2, m.project_id).Bind(3, m.model_name).Bind(4, m.match_pattern);
    st->Bind(5, m.start_date_ms).Bind(6, NonEmpty(m.unit)).Bind(7, NonEmpty(m.tokenizer_id));
    st->Bind(8, NonEmpty(m.tokenizer_config_json));
    st->Bind(9, json::serialize(PricingTiersToJson(m.tiers)));
    st->Bind(10, m.created_at_ms).Bind(11, m.updated_at_ms);
    return sqlite::RunAndReset(st);
  }

  absl::StatusOr<std::optional<ModelPrice>> Get(const std::string& project_id,
                                                const std::string& id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kColumns +
                                             " FROM models WHERE id = ? AND project_id = ?"));
    ResetOnExit reset(st);
    st->Bind(1, id).Bind(2, project_id);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<ModelPrice>();
    ASSIGN_OR_RETURN(ModelPrice m, ReadRow(*st));
    return std::optional<ModelPrice>(std::move(m));
  }

  absl::StatusOr<std::vector<ModelPrice>> ListProject(const std::string& project_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kColumns +
                                             " FROM models WHERE project_id = ? "
                                             "ORDER BY created_at, rowid"));
    ResetOnExit reset(st);
    st->Bind(1, project_id);
    std::vector<ModelPrice> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      ASSIGN_OR_RETURN(ModelPrice m, ReadRow(*st));
      out.push_back(std::move(m));
    }
    return out;
  }

  absl::StatusOr<std::vector<std::string>> ProjectsWithModels() override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT DISTINCT project_id FROM models"));
    ResetOnExit reset(st);
    std::vector<std::string> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.push_back(st->Text(0));
    }
    return out;
  }

  absl::StatusOr<bool> Delete(const std::string& project_id, const std::string& id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("DELETE FROM models WHERE id = ? AND project_id = ?"));
    st->Bind(1, id).Bind(2, project_id);
    RETURN_IF_ERROR(sqlite::RunAndReset(st));
    return db_->Changes() > 0;
  }

 private:
  std::mutex mu_;
  std::unique_ptr<Db> db_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<ModelStore>> OpenSqliteModelStore(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, Db::Open(path, false));
  RETURN_IF_ERROR(sqlite::ApplyMigrations(*db, "models", ModelMigrations()));
  return std::unique_ptr<ModelStore>(new SqliteModelStore(std::move(db)));
}

}  // namespace loupe
