#include "storage/sqlite/sqlite_llm_connection_store.h"

#include <mutex>
#include <utility>

#include "common/status_macros.h"
#include "storage/sqlite/json_columns.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/stmt_util.h"

namespace loupe {
namespace {

using sqlite::Db;
using sqlite::ResetOnExit;
using sqlite::Stmt;

// secret_key and extra_headers hold ciphertext (iv:ciphertext:tag, hex).
const std::vector<sqlite::Migration>& LlmConnectionMigrations() {
  static const std::vector<sqlite::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE llm_connections(
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  provider TEXT NOT NULL,
  adapter TEXT NOT NULL,
  secret_key TEXT NOT NULL,
  display_secret_key TEXT NOT NULL,
  base_url TEXT,
  custom_models TEXT NOT NULL,
  with_default_models INTEGER NOT NULL,
  extra_headers TEXT,
  extra_header_keys TEXT NOT NULL,
  config TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE(project_id, provider));
CREATE INDEX llm_connections_by_time ON llm_connections(project_id, created_at);
)sql"},
  };
  return kMigrations;
}

constexpr const char* kColumns =
    "id, project_id, provider, adapter, secret_key, display_secret_key, base_url, "
    "custom_models, with_default_models, extra_headers, extra_header_keys, config, created_at, "
    "updated_at";

LlmConnectionRecord ReadRow(const Stmt& st) {
  LlmConnectionRecord r;
  r.id = st.Text(0);
  r.project_id = st.Text(1);
  r.provider = st.Text(2);
  r.adapter = st.Text(3);
  r.encrypted_secret_key = st.Text(4);
  r.display_secret_key = st.Text(5);
  r.base_url = st.OptText(6);
  r.custom_models = sqlite::StringsFromJson(st.Text(7));
  r.with_default_models = st.Int(8) != 0;
  r.encrypted_extra_headers = st.OptText(9);
  r.extra_header_keys = sqlite::StringsFromJson(st.Text(10));
  r.config_json = st.OptText(11);
  r.created_at_ms = st.Int(12);
  r.updated_at_ms = st.Int(13);
  return r;
}

class SqliteLlmConnectionStore final : public LlmConnectionStore {
 public:
  explicit SqliteLlmConnectionStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  absl::StatusOr<UpsertedLlmConnection> Upsert(const LlmConnectionRecord& c) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*db_, true));
    UpsertedLlmConnection out;
    out.connection = c;
    out.created = true;
    {
      ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT id, created_at FROM llm_connections "
                                               "WHERE project_id = ? AND provider = ?"));
      ResetOnExit reset(st);
      st->Bind(1, c.project_id).Bind(2, c.provider);
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (row) {
        out.created = false;
        out.connection.id = st->Text(0);
        out.connection.created_at_ms = st->Int(1);
      }
    }
    ASSIGN_OR_RETURN(
        Stmt * st, db_->Prepare(std::string("INSERT OR REPLACE INTO llm_connections(") + kColumns +
                                ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    const LlmConnectionRecord& r = out.connection;
    st->Bind(1, r.id).Bind(2, r.project_id).Bind(3, r.provider).Bind(4, r.adapter);
    st->Bind(5, r.encrypted_secret_key).Bind(6, r.display_secret_key).Bind(7, r.base_url);
    st->Bind(8, sqlite::StringsToJson(r.custom_models));
    st->Bind(9, static_cast<int64_t>(r.with_default_models ? 1 : 0));
    st->Bind(10, r.encrypted_extra_headers).Bind(11, sqlite::StringsToJson(r.extra_header_keys));
    st->Bind(12, r.config_json).Bind(13, r.created_at_ms).Bind(14, r.updated_at_ms);
    RETURN_IF_ERROR(sqlite::RunAndReset(st));
    RETURN_IF_ERROR(txn->Commit());
    return out;
  }

  absl::StatusOr<PageResult<LlmConnectionRecord>> List(const std::string& project_id,
                                                       const PageRequest& page) override {
    std::lock_guard lock(mu_);
    PageResult<LlmConnectionRecord> out;
    {
      ASSIGN_OR_RETURN(Stmt * st,
                       db_->Prepare("SELECT COUNT(*) FROM llm_connections WHERE project_id = ?"));
      ResetOnExit reset(st);
      st->Bind(1, project_id);
      ASSIGN_OR_RETURN(bool row, st->Step());
      out.total_items = row ? st->Int(0) : 0;
    }
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kColumns +
                                             " FROM llm_connections WHERE project_id = ? ORDER "
                                             "BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"));
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

  absl::StatusOr<std::optional<LlmConnectionRecord>> Get(const std::string& project_id,
                                                         const std::string& id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare(std::string("SELECT ") + kColumns +
                                  " FROM llm_connections WHERE id = ? AND project_id = ?"));
    ResetOnExit reset(st);
    st->Bind(1, id).Bind(2, project_id);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<LlmConnectionRecord>();
    return std::optional<LlmConnectionRecord>(ReadRow(*st));
  }

  absl::StatusOr<bool> Delete(const std::string& project_id, const std::string& id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("DELETE FROM llm_connections WHERE id = ? AND project_id = ?"));
    st->Bind(1, id).Bind(2, project_id);
    RETURN_IF_ERROR(sqlite::RunAndReset(st));
    return db_->Changes() > 0;
  }

 private:
  std::mutex mu_;
  std::unique_ptr<Db> db_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<LlmConnectionStore>> OpenSqliteLlmConnectionStore(
    const std::string& path) {
  ASSIGN_OR_RETURN(auto db, Db::Open(path, false));
  RETURN_IF_ERROR(sqlite::ApplyMigrations(*db, "llm_connections", LlmConnectionMigrations()));
  return std::unique_ptr<LlmConnectionStore>(new SqliteLlmConnectionStore(std::move(db)));
}

}  // namespace loupe
