#include "storage/sqlite/sqlite_meta_store.h"

#include <mutex>

#include "common/hash.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_db.h"

namespace loupe {
namespace {

using sqlite::Db;
using sqlite::Stmt;

class SqliteMetaStore final : public MetaStore {
 public:
  explicit SqliteMetaStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  absl::Status UpsertOrganization(const OrganizationRecord& org) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("INSERT INTO organizations(id, name, created_at) "
                                             "VALUES (?,?,?) ON CONFLICT(id) DO UPDATE SET "
                                             "name = excluded.name"));
    st->Bind(1, org.id)
        .Bind(2, org.name)
        .Bind(3, org.created_at_ms ? org.created_at_ms : NowMillis());
    return RunAndReset(st);
  }

  absl::Status UpsertProject(const ProjectRecord& p) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(
        Stmt * st, db_->Prepare("INSERT INTO projects(id, org_id, name, metadata, retention_days, "
                                "created_at) VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                                "org_id = excluded.org_id, name = excluded.name, "
                                "metadata = excluded.metadata, "
                                "retention_days = excluded.retention_days"));
    std::optional<int64_t> retention;
    if (p.retention_days) retention = *p.retention_days;
    st->Bind(1, p.id).Bind(2, p.org_id).Bind(3, p.name).Bind(4, p.metadata_json);
    st->Bind(5, retention).Bind(6, p.created_at_ms ? p.created_at_ms : NowMillis());
    return RunAndReset(st);
  }

  absl::Status UpsertApiKey(const ApiKeyRecord& k) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(
        Stmt * st,
        db_->Prepare("INSERT INTO api_keys(id, public_key, fast_hashed_secret_key, "
                     "display_secret_key, scope, project_id, org_id, note, created_at) VALUES "
                     "(?,?,?,?,?,?,?,?,?) ON CONFLICT(public_key) DO UPDATE SET "
                     "fast_hashed_secret_key = excluded.fast_hashed_secret_key, "
                     "display_secret_key = excluded.display_secret_key, scope = excluded.scope, "
                     "project_id = excluded.project_id, org_id = excluded.org_id"));
    std::optional<std::string> project;
    if (!k.project_id.empty()) project = k.project_id;
    st->Bind(1, k.id.empty() ? NewUuid() : k.id).Bind(2, k.public_key);
    st->Bind(3, k.fast_hashed_secret_key).Bind(4, k.display_secret_key).Bind(5, k.scope);
    st->Bind(6, project).Bind(7, k.org_id).Bind(8, k.note);
    st->Bind(9, k.created_at_ms ? k.created_at_ms : NowMillis());
    return RunAndReset(st);
  }

  absl::StatusOr<std::string> UpsertUser(const UserRecord& u) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("INSERT INTO users(id, email, name, password_hash, created_at) "
                                  "VALUES (?,?,?,?,?) ON CONFLICT(email) DO UPDATE SET "
                                  "name = excluded.name, password_hash = excluded.password_hash"));
    st->Bind(1, u.id.empty() ? NewUuid() : u.id).Bind(2, u.email).Bind(3, u.name);
    st->Bind(4, u.password_hash).Bind(5, u.created_at_ms ? u.created_at_ms : NowMillis());
    RETURN_IF_ERROR(RunAndReset(st));
    ASSIGN_OR_RETURN(Stmt * q, db_->Prepare("SELECT id FROM users WHERE email = ?"));
    q->Bind(1, u.email);
    ASSIGN_OR_RETURN(bool row, q->Step());
    std::string id = row ? q->Text(0) : "";
    q->Reset();
    if (id.empty()) return absl::InternalError("user vanished after upsert");
    return id;
  }

  absl::Status UpsertOrgMembership(const std::string& org_id, const std::string& user_id,
                                   const std::string& role) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("INSERT INTO organization_memberships(org_id, user_id, role) "
                                  "VALUES (?,?,?) ON CONFLICT(org_id, user_id) DO UPDATE SET "
                                  "role = excluded.role"));
    st->Bind(1, org_id).Bind(2, user_id).Bind(3, role);
    return RunAndReset(st);
  }

  absl::StatusOr<std::optional<OrganizationRecord>> GetOrganization(
      const std::string& id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("SELECT id, name, created_at FROM organizations WHERE id = ?"));
    st->Bind(1, id);
    ASSIGN_OR_RETURN(bool row, st->Step());
    std::optional<OrganizationRecord> out;
    if (row) out = OrganizationRecord{st->Text(0), st->Text(1), st->Int(2)};
    st->Reset();
    return out;
  }

  absl::StatusOr<std::optional<ProjectRecord>> GetProject(const std::string& id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT id, org_id, name, metadata, retention_days, "
                                             "created_at FROM projects WHERE id = ? AND "
                                             "deleted_at IS NULL"));
    st->Bind(1, id);
    ASSIGN_OR_RETURN(bool row, st->Step());
    std::optional<ProjectRecord> out;
    if (row) {
      ProjectRecord p;
      p.id = st->Text(0);
      p.org_id = st->Text(1);
      p.name = st->Text(2);
      p.metadata_json = st->Text(3);
      if (auto r = st->OptInt(4)) p.retention_days = static_cast<int>(*r);
      p.created_at_ms = st->Int(5);
      out = std::move(p);
    }
    st->Reset();
    return out;
  }

  absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyByHash(
      const std::string& fast_hash) override {
    return FindApiKey("fast_hashed_secret_key", fast_hash);
  }

  absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyByPublicKey(
      const std::string& public_key) override {
    return FindApiKey("public_key", public_key);
  }

  absl::StatusOr<int64_t> CountApiKeys() override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT COUNT(*) FROM api_keys"));
    ASSIGN_OR_RETURN(bool row, st->Step());
    int64_t n = row ? st->Int(0) : 0;
    st->Reset();
    return n;
  }

  absl::Status Ping() override {
    std::lock_guard lock(mu_);
    return db_->Exec("SELECT 1");
  }

  void Close() override {
    std::lock_guard lock(mu_);
    db_.reset();
  }

 private:
  absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKey(const std::string& column,
                                                         const std::string& value) {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT id, public_key, fast_hashed_secret_key, "
                                             "display_secret_key, scope, project_id, org_id, "
                                             "note, created_at FROM api_keys WHERE " +
                                             column + " = ?"));
    st->Bind(1, value);
    ASSIGN_OR_RETURN(bool row, st->Step());
    std::optional<ApiKeyRecord> out;
    if (row) {
      ApiKeyRecord k;
      k.id = st->Text(0);
      k.public_key = st->Text(1);
      k.fast_hashed_secret_key = st->Text(2);
      k.display_secret_key = st->Text(3);
      k.scope = st->Text(4);
      k.project_id = st->OptText(5).value_or("");
      k.org_id = st->Text(6);
      k.note = st->OptText(7);
      k.created_at_ms = st->Int(8);
      out = std::move(k);
    }
    st->Reset();
    return out;
  }

  static absl::Status RunAndReset(Stmt* st) {
    absl::Status s = st->Run();
    st->Reset();
    return s;
  }

  std::mutex mu_;
  std::unique_ptr<Db> db_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<MetaStore>> OpenSqliteMetaStore(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, Db::Open(path, false));
  RETURN_IF_ERROR(sqlite::ApplyMigrations(*db, "meta", sqlite::MetaStoreMigrations()));
  return std::unique_ptr<MetaStore>(new SqliteMetaStore(std::move(db)));
}

}  // namespace loupe
