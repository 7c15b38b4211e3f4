#include "storage/sqlite/sqlite_media_store.h"

#include <mutex>
#include <utility>

#include "common/status_macros.h"
#include "common/time_util.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/stmt_util.h"

namespace loupe {
namespace {

using sqlite::Db;
using sqlite::ResetOnExit;
using sqlite::Stmt;

// Links live in one table per kind of object, as in Langfuse (trace_media,
// observation_media, dataset item media), so each has a natural unique key.
const std::vector<sqlite::Migration>& MediaMigrations() {
  static const std::vector<sqlite::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE media(
  project_id TEXT NOT NULL,
  id TEXT NOT NULL,
  sha256_hash TEXT NOT NULL,
  content_type TEXT NOT NULL,
  content_length INTEGER NOT NULL,
  blob_key TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  uploaded_at INTEGER,
  reported_uploaded_at INTEGER,
  upload_http_status INTEGER,
  upload_http_error TEXT,
  upload_time_ms INTEGER,
  PRIMARY KEY(project_id, id),
  UNIQUE(project_id, sha256_hash));
CREATE TABLE trace_media(
  project_id TEXT NOT NULL,
  media_id TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  field TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY(project_id, trace_id, media_id, field));
CREATE TABLE observation_media(
  project_id TEXT NOT NULL,
  media_id TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  observation_id TEXT NOT NULL,
  field TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY(project_id, observation_id, media_id, field));
CREATE TABLE dataset_item_media(
  project_id TEXT NOT NULL,
  media_id TEXT NOT NULL,
  dataset_id TEXT NOT NULL,
  dataset_item_id TEXT NOT NULL,
  field TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY(project_id, dataset_item_id, media_id, field));
CREATE INDEX trace_media_by_media ON trace_media(project_id, media_id);
CREATE INDEX observation_media_by_media ON observation_media(project_id, media_id);
CREATE INDEX dataset_item_media_by_media ON dataset_item_media(project_id, media_id);
)sql"},
  };
  return kMigrations;
}

constexpr const char* kColumns =
    "id, project_id, sha256_hash, content_type, content_length, blob_key, created_at, "
    "updated_at, uploaded_at, reported_uploaded_at, upload_http_status, upload_http_error, "
    "upload_time_ms";

MediaRecord ReadRow(const Stmt& st) {
  MediaRecord m;
  m.id = st.Text(0);
  m.project_id = st.Text(1);
  m.sha256_hash = st.Text(2);
  m.content_type = st.Text(3);
  m.content_length = st.Int(4);
  m.blob_key = st.Text(5);
  m.created_at_ms = st.Int(6);
  m.updated_at_ms = st.Int(7);
  m.uploaded_at_ms = st.OptInt(8);
  m.reported_uploaded_at_ms = st.OptInt(9);
  m.upload_http_status = st.OptInt(10);
  m.upload_http_error = st.OptText(11);
  m.upload_time_ms = st.OptInt(12);
  return m;
}

class SqliteMediaStore final : public MediaStore {
 public:
  explicit SqliteMediaStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  absl::StatusOr<MediaRecord> CreateOrGet(const MediaRecord& m) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(auto tx, sqlite::Transaction::Begin(*db_, true));
    {
      // The conflict target is the hash: the id is derived from it, so one
      // hash is one row whichever key a racing request arrives with.
      ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(R"sql(
INSERT INTO media(id, project_id, sha256_hash, content_type, content_length, blob_key,
                  created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
ON CONFLICT(project_id, sha256_hash) DO UPDATE SET
  content_type = excluded.content_type, content_length = excluded.content_length,
  updated_at = excluded.updated_at
WHERE media.uploaded_at IS NULL)sql"));
      st->Bind(1, m.id).Bind(2, m.project_id).Bind(3, m.sha256_hash).Bind(4, m.content_type);
      st->Bind(5, m.content_length).Bind(6, m.blob_key).Bind(7, m.created_at_ms);
      RETURN_IF_ERROR(sqlite::RunAndReset(st));
    }
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kColumns +
                                             " FROM media WHERE project_id = ? AND "
                                             "sha256_hash = ?"));
    ResetOnExit reset(st);
    st->Bind(1, m.project_id).Bind(2, m.sha256_hash);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return absl::InternalError("media row vanished after upsert");
    MediaRecord out = ReadRow(*st);
    st->Reset();
    RETURN_IF_ERROR(tx->Commit());
    return out;
  }

  absl::StatusOr<std::optional<MediaRecord>> Get(const std::string& project_id,
                                                 const std::string& media_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kColumns +
                                             " FROM media WHERE project_id = ? AND id = ?"));
    ResetOnExit reset(st);
    st->Bind(1, project_id).Bind(2, media_id);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<MediaRecord>();
    return std::optional<MediaRecord>(ReadRow(*st));
  }

  absl::Status MarkUploaded(const std::string& project_id, const std::string& media_id,
                            const std::string& content_type, int64_t content_length,
                            int64_t uploaded_at_ms) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("UPDATE media SET content_type = ?3, content_length = ?4, "
                                  "uploaded_at = ?5, updated_at = ?5 "
                                  "WHERE project_id = ?1 AND id = ?2"));
    st->Bind(1, project_id).Bind(2, media_id).Bind(3, content_type).Bind(4, content_length);
    st->Bind(5, uploaded_at_ms);
    RETURN_IF_ERROR(sqlite::RunAndReset(st));
    if (db_->Changes() == 0) return absl::NotFoundError("Media not found");
    return absl::OkStatus();
  }

  absl::Status RecordUploadReport(const std::string& project_id, const std::string& media_id,
                                  const MediaUploadReport& r) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("UPDATE media SET reported_uploaded_at = ?3, "
                                  "upload_http_status = ?4, upload_http_error = ?5, "
                                  "upload_time_ms = ?6 WHERE project_id = ?1 AND id = ?2"));
    st->Bind(1, project_id).Bind(2, media_id).Bind(3, r.uploaded_at_ms).Bind(4, r.http_status);
    st->Bind(5, r.http_error).Bind(6, r.time_ms);
    RETURN_IF_ERROR(sqlite::RunAndReset(st));
    if (db_->Changes() == 0) return absl::NotFoundError("Media not found");
    return absl::OkStatus();
  }

  absl::Status Link(const MediaLink& l) override {
    std::lock_guard lock(mu_);
    const int64_t now = NowMillis();
    Stmt* st = nullptr;
    if (l.dataset_item_id) {
      ASSIGN_OR_RETURN(st, db_->Prepare("INSERT OR IGNORE INTO dataset_item_media(project_id, "
                                        "media_id, dataset_id, dataset_item_id, field, "
                                        "created_at) VALUES (?,?,?,?,?,?)"));
      st->Bind(1, l.project_id).Bind(2, l.media_id).Bind(3, l.dataset_id.value_or(""));
      st->Bind(4, *l.dataset_item_id).Bind(5, l.field).Bind(6, now);
    } else if (l.observation_id) {
      ASSIGN_OR_RETURN(st, db_->Prepare("INSERT OR IGNORE INTO observation_media(project_id, "
                                        "media_id, trace_id, observation_id, field, created_at) "
                                        "VALUES (?,?,?,?,?,?)"));
      st->Bind(1, l.project_id).Bind(2, l.media_id).Bind(3, l.trace_id.value_or(""));
      st->Bind(4, *l.observation_id).Bind(5, l.field).Bind(6, now);
    } else if (l.trace_id) {
      ASSIGN_OR_RETURN(st, db_->Prepare("INSERT OR IGNORE INTO trace_media(project_id, media_id, "
                                        "trace_id, field, created_at) VALUES (?,?,?,?,?)"));
      st->Bind(1, l.project_id).Bind(2, l.media_id).Bind(3, *l.trace_id).Bind(4, l.field);
      st->Bind(5, now);
    } else {
      return absl::InvalidArgumentError("a media link needs a trace or a dataset item");
    }
    return sqlite::RunAndReset(st);
  }

  absl::StatusOr<std::vector<MediaLink>> ListLinks(const std::string& project_id,
                                                   const std::string& media_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(R"sql(
SELECT kind, a, b, field FROM (
  SELECT 0 AS kind, trace_id AS a, NULL AS b, field, created_at, rowid AS r FROM trace_media
    WHERE project_id = ?1 AND media_id = ?2
  UNION ALL
  SELECT 1, trace_id, observation_id, field, created_at, rowid FROM observation_media
    WHERE project_id = ?1 AND media_id = ?2
  UNION ALL
  SELECT 2, dataset_id, dataset_item_id, field, created_at, rowid FROM dataset_item_media
    WHERE project_id = ?1 AND media_id = ?2)
ORDER BY created_at, kind, r)sql"));
    ResetOnExit reset(st);
    st->Bind(1, project_id).Bind(2, media_id);
    std::vector<MediaLink> out;
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      MediaLink l;
      l.project_id = project_id;
      l.media_id = media_id;
      l.field = st->Text(3);
      switch (st->Int(0)) {
        case 0:
          l.trace_id = st->Text(1);
          break;
        case 1:
          l.trace_id = st->Text(1);
          l.observation_id = st->Text(2);
          break;
        default:
          l.dataset_id = st->Text(1);
          l.dataset_item_id = st->Text(2);
      }
      out.push_back(std::move(l));
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::unique_ptr<Db> db_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<MediaStore>> OpenSqliteMediaStore(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, Db::Open(path, false));
  RETURN_IF_ERROR(sqlite::ApplyMigrations(*db, "media", MediaMigrations()));
  return std::unique_ptr<MediaStore>(new SqliteMediaStore(std::move(db)));
}

}  // namespace loupe
