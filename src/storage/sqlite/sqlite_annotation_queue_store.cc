#include "storage/sqlite/sqlite_annotation_queue_store.h"

#include <mutex>
#include <utility>

#include "common/status_macros.h"
#include "common/time_util.h"
#include "storage/sqlite/json_columns.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/stmt_util.h"

namespace loupe {
namespace {

using sqlite::Db;
using sqlite::ResetOnExit;
using sqlite::Stmt;

const std::vector<sqlite::Migration>& AnnotationQueueMigrations() {
  static const std::vector<sqlite::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE annotation_queues(
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  score_config_ids TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE(project_id, name));
CREATE TABLE annotation_queue_items(
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  queue_id TEXT NOT NULL,
  object_id TEXT NOT NULL,
  object_type TEXT NOT NULL,
  status TEXT NOT NULL,
  completed_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE INDEX annotation_queue_items_by_queue
  ON annotation_queue_items(project_id, queue_id, created_at);
CREATE TABLE annotation_queue_assignments(
  project_id TEXT NOT NULL,
  queue_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY(project_id, queue_id, user_id));
)sql"},
  };
  return kMigrations;
}

constexpr const char* kQueueColumns =
    "id, project_id, name, description, score_config_ids, created_at, updated_at";
constexpr const char* kItemColumns =
    "id, project_id, queue_id, object_id, object_type, status, completed_at, created_at, "
    "updated_at";

AnnotationQueueRecord ReadQueue(const Stmt& st) {
  AnnotationQueueRecord q;
  q.id = st.Text(0);
  q.project_id = st.Text(1);
  q.name = st.Text(2);
  q.description = st.OptText(3);
  q.score_config_ids = sqlite::StringsFromJson(st.Text(4));
  q.created_at_ms = st.Int(5);
  q.updated_at_ms = st.Int(6);
  return q;
}

AnnotationQueueItemRecord ReadItem(const Stmt& st) {
  AnnotationQueueItemRecord i;
  i.id = st.Text(0);
  i.project_id = st.Text(1);
  i.queue_id = st.Text(2);
  i.object_id = st.Text(3);
  i.object_type = st.Text(4);
  i.status = st.Text(5);
  i.completed_at_ms = st.OptInt(6);
  i.created_at_ms = st.Int(7);
  i.updated_at_ms = st.Int(8);
  return i;
}

class SqliteAnnotationQueueStore final : public AnnotationQueueStore {
 public:
  explicit SqliteAnnotationQueueStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  absl::Status CreateQueue(const AnnotationQueueRecord& q) override {
    std::lock_guard lock(mu_);
    {
      ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT 1 FROM annotation_queues WHERE id = ? OR "
                                               "(project_id = ? AND name = ?)"));
      ResetOnExit reset(st);
      st->Bind(1, q.id).Bind(2, q.project_id).Bind(3, q.name);
      ASSIGN_OR_RETURN(bool exists, st->Step());
      if (exists) return absl::AlreadyExistsError("A queue with this name already exists.");
    }
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("INSERT INTO annotation_queues(") +
                                             kQueueColumns + ") VALUES (?,?,?,?,?,?,?)"));
    st->Bind(1, q.id).Bind(2, q.project_id).Bind(3, q.name).Bind(4, q.description);
    st->Bind(5, sqlite::StringsToJson(q.score_config_ids)).Bind(6, q.created_at_ms);
    st->Bind(7, q.updated_at_ms);
    return sqlite::RunAndReset(st);
  }

  absl::StatusOr<std::optional<AnnotationQueueRecord>> GetQueue(
      const std::string& project_id, const std::string& queue_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare(std::string("SELECT ") + kQueueColumns +
                                  " FROM annotation_queues WHERE id = ? AND project_id = ?"));
    ResetOnExit reset(st);
    st->Bind(1, queue_id).Bind(2, project_id);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<AnnotationQueueRecord>();
    return std::optional<AnnotationQueueRecord>(ReadQueue(*st));
  }

  absl::StatusOr<PageResult<AnnotationQueueRecord>> ListQueues(const std::string& project_id,
                                                               const PageRequest& page) override {
    std::lock_guard lock(mu_);
    PageResult<AnnotationQueueRecord> out;
    ASSIGN_OR_RETURN(out.total_items,
                     Count("SELECT COUNT(*) FROM annotation_queues WHERE project_id = ?1",
                           project_id, std::nullopt, std::nullopt));
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kQueueColumns +
                                             " FROM annotation_queues WHERE project_id = ? "
                                             "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"));
    ResetOnExit reset(st);
    st->Bind(1, project_id).Bind(2, static_cast<int64_t>(page.limit));
    st->Bind(3, static_cast<int64_t>(page.page - 1) * page.limit);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.items.push_back(ReadQueue(*st));
    }
    return out;
  }

  absl::Status CreateItem(const AnnotationQueueItemRecord& i) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("INSERT INTO annotation_queue_items(") +
                                             kItemColumns + ") VALUES (?,?,?,?,?,?,?,?,?)"));
    st->Bind(1, i.id).Bind(2, i.project_id).Bind(3, i.queue_id).Bind(4, i.object_id);
    st->Bind(5, i.object_type).Bind(6, i.status).Bind(7, i.completed_at_ms);
    st->Bind(8, i.created_at_ms).Bind(9, i.updated_at_ms);
    return sqlite::RunAndReset(st);
  }

  absl::StatusOr<std::optional<AnnotationQueueItemRecord>> GetItem(
      const std::string& project_id, const std::string& queue_id,
      const std::string& item_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kItemColumns +
                                             " FROM annotation_queue_items WHERE id = ? AND "
                                             "project_id = ? AND queue_id = ?"));
    ResetOnExit reset(st);
    st->Bind(1, item_id).Bind(2, project_id).Bind(3, queue_id);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<AnnotationQueueItemRecord>();
    return std::optional<AnnotationQueueItemRecord>(ReadItem(*st));
  }

  absl::StatusOr<PageResult<AnnotationQueueItemRecord>> ListItems(
      const std::string& project_id, const std::string& queue_id,
      const std::optional<std::string>& status, const PageRequest& page) override {
    std::lock_guard lock(mu_);
    const std::string where =
        " FROM annotation_queue_items WHERE project_id = ?1 AND queue_id = ?2 AND "
        "(?3 IS NULL OR status = ?3)";
    PageResult<AnnotationQueueItemRecord> out;
    ASSIGN_OR_RETURN(out.total_items, Count("SELECT COUNT(*)" + where, project_id,
                                            std::optional<std::string>(queue_id), status));
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kItemColumns + where +
                                             " ORDER BY created_at DESC, id DESC LIMIT ?4 "
                                             "OFFSET ?5"));
    ResetOnExit reset(st);
    st->Bind(1, project_id).Bind(2, queue_id).Bind(3, status);
    st->Bind(4, static_cast<int64_t>(page.limit));
    st->Bind(5, static_cast<int64_t>(page.page - 1) * page.limit);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.items.push_back(ReadItem(*st));
    }
    return out;
  }

  absl::Status UpdateItem(const AnnotationQueueItemRecord& i) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("UPDATE annotation_queue_items SET status = ?, completed_at = "
                                  "?, updated_at = ? WHERE id = ? AND project_id = ? AND "
                                  "queue_id = ?"));
    st->Bind(1, i.status).Bind(2, i.completed_at_ms).Bind(3, i.updated_at_ms);
    st->Bind(4, i.id).Bind(5, i.project_id).Bind(6, i.queue_id);
    RETURN_IF_ERROR(sqlite::RunAndReset(st));
    if (db_->Changes() == 0) return absl::NotFoundError("Annotation queue item not found");
    return absl::OkStatus();
  }

  absl::StatusOr<bool> DeleteItem(const std::string& project_id, const std::string& queue_id,
                                  const std::string& item_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("DELETE FROM annotation_queue_items WHERE id = ? "
                                             "AND project_id = ? AND queue_id = ?"));
    st->Bind(1, item_id).Bind(2, project_id).Bind(3, queue_id);
    RETURN_IF_ERROR(sqlite::RunAndReset(st));
    return db_->Changes() > 0;
  }

  absl::Status Assign(const std::string& project_id, const std::string& queue_id,
                      const std::string& user_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("INSERT OR IGNORE INTO annotation_queue_assignments(project_id, "
                                  "queue_id, user_id, created_at) VALUES (?,?,?,?)"));
    st->Bind(1, project_id).Bind(2, queue_id).Bind(3, user_id).Bind(4, NowMillis());
    return sqlite::RunAndReset(st);
  }

  absl::Status Unassign(const std::string& project_id, const std::string& queue_id,
                        const std::string& user_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("DELETE FROM annotation_queue_assignments WHERE "
                                             "project_id = ? AND queue_id = ? AND user_id = ?"));
    st->Bind(1, project_id).Bind(2, queue_id).Bind(3, user_id);
    return sqlite::RunAndReset(st);
  }

  absl::StatusOr<std::vector<std::string>> AssignedUsers(const std::string& project_id,
                                                         const std::string& queue_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT user_id FROM annotation_queue_assignments "
                                             "WHERE project_id = ? AND queue_id = ? ORDER BY "
                                             "created_at, user_id"));
    ResetOnExit reset(st);
    st->Bind(1, project_id).Bind(2, queue_id);
    std::vector<std::string> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.push_back(st->Text(0));
    }
    return out;
  }

 private:
  // Runs a COUNT(*) whose parameters are ?1..?3 (NULL when nullopt).
  absl::StatusOr<int64_t> Count(const std::string& sql, const std::string& a,
                                const std::optional<std::string>& b,
                                const std::optional<std::string>& c) {
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(sql));
    ResetOnExit reset(st);
    st->Bind(1, a);
    if (sql.find("?2") != std::string::npos) st->Bind(2, b);
    if (sql.find("?3") != std::string::npos) st->Bind(3, c);
    ASSIGN_OR_RETURN(bool row, st->Step());
    return row ? st->Int(0) : 0;
  }

  std::mutex mu_;
  std::unique_ptr<Db> db_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<AnnotationQueueStore>> OpenSqliteAnnotationQueueStore(
    const std::string& path) {
  ASSIGN_OR_RETURN(auto db, Db::Open(path, false));
  RETURN_IF_ERROR(sqlite::ApplyMigrations(*db, "annotation_queues", AnnotationQueueMigrations()));
  return std::unique_ptr<AnnotationQueueStore>(new SqliteAnnotationQueueStore(std::move(db)));
}

}  // namespace loupe
