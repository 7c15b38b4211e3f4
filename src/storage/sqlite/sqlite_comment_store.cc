#include "storage/sqlite/sqlite_comment_store.h"

#include <mutex>
#include <utility>

#include "common/status_macros.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/stmt_util.h"

namespace loupe {
namespace {

using sqlite::Db;
using sqlite::ResetOnExit;
using sqlite::Stmt;

const std::vector<sqlite::Migration>& CommentMigrations() {
  static const std::vector<sqlite::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE comments(
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL,
  object_type TEXT NOT NULL,
  object_id TEXT NOT NULL,
  content TEXT NOT NULL,
  author_user_id TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE INDEX comments_by_object ON comments(project_id, object_type, object_id);
CREATE INDEX comments_by_project ON comments(project_id);
)sql"},
  };
  return kMigrations;
}

constexpr const char* kColumns =
    "id, project_id, object_type, object_id, content, author_user_id, created_at, updated_at";

CommentRecord ReadRow(const Stmt& st) {
  CommentRecord c;
  c.id = st.Text(0);
  c.project_id = st.Text(1);
  c.object_type = st.Text(2);
  c.object_id = st.Text(3);
  c.content = st.Text(4);
  c.author_user_id = st.OptText(5);
  c.created_at_ms = st.Int(6);
  c.updated_at_ms = st.Int(7);
  return c;
}

class SqliteCommentStore final : public CommentStore {
 public:
  explicit SqliteCommentStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  absl::Status Create(const CommentRecord& c) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("INSERT INTO comments(") + kColumns +
                                             ") VALUES (?,?,?,?,?,?,?,?)"));
    st->Bind(1, c.id).Bind(2, c.project_id).Bind(3, c.object_type).Bind(4, c.object_id);
    st->Bind(5, c.content).Bind(6, c.author_user_id).Bind(7, c.created_at_ms);
    st->Bind(8, c.updated_at_ms);
    return sqlite::RunAndReset(st);
  }

  absl::StatusOr<std::optional<CommentRecord>> Get(const std::string& project_id,
                                                   const std::string& id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kColumns +
                                             " FROM comments WHERE id = ? AND project_id = ?"));
    ResetOnExit reset(st);
    st->Bind(1, id).Bind(2, project_id);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<CommentRecord>();
    return std::optional<CommentRecord>(ReadRow(*st));
  }

  absl::StatusOr<PageResult<CommentRecord>> List(const std::string& project_id,
                                                 const CommentQuery& q) override {
    std::lock_guard lock(mu_);
    // Absent filters bind NULL and match everything, so one statement serves
    // every combination.
    const std::string where =
        " FROM comments WHERE project_id = ?1 AND (?2 IS NULL OR object_type = ?2) AND "
        "(?3 IS NULL OR object_id = ?3) AND (?4 IS NULL OR author_user_id = ?4)";
    auto bind_filters = [&](Stmt* st) {
      st->Bind(1, project_id).Bind(2, q.object_type).Bind(3, q.object_id);
      st->Bind(4, q.author_user_id);
    };
    PageResult<CommentRecord> out;
    {
      ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT COUNT(*)" + where));
      ResetOnExit reset(st);
      bind_filters(st);
      ASSIGN_OR_RETURN(bool row, st->Step());
      out.total_items = row ? st->Int(0) : 0;
    }
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kColumns + where +
                                             " ORDER BY rowid LIMIT ?5 OFFSET ?6"));
    ResetOnExit reset(st);
    bind_filters(st);
    st->Bind(5, static_cast<int64_t>(q.page.limit));
    st->Bind(6, static_cast<int64_t>(q.page.page - 1) * q.page.limit);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.items.push_back(ReadRow(*st));
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::unique_ptr<Db> db_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<CommentStore>> OpenSqliteCommentStore(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, Db::Open(path, false));
  RETURN_IF_ERROR(sqlite::ApplyMigrations(*db, "comments", CommentMigrations()));
  return std::unique_ptr<CommentStore>(new SqliteCommentStore(std::move(db)));
}

}  // namespace loupe
