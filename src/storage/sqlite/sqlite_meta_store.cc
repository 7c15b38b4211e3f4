#include "storage/sqlite/sqlite_meta_store.h"

#include <mutex>

#include "common/hash.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "storage/meta_rows.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/stmt_util.h"

namespace loupe {
namespace {

using sqlite::CollectRows;
using sqlite::Db;
using sqlite::Stmt;

using meta_rows::kApiKeyColumns;
using meta_rows::kInvitationColumns;
using meta_rows::kMembershipColumns;
using meta_rows::kProjectColumns;
using meta_rows::ReadApiKey;
using meta_rows::ReadProject;

class SqliteMetaStore final : public MetaStore {
 public:
  explicit SqliteMetaStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  absl::Status UpsertOrganization(const OrganizationRecord& org) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("INSERT INTO organizations(id, name, created_at, metadata) "
                                  "VALUES (?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                                  "name = excluded.name"));
    st->Bind(1, org.id)
        .Bind(2, org.name)
        .Bind(3, org.created_at_ms ? org.created_at_ms : NowMillis())
        .Bind(4, org.metadata_json);
    return RunAndReset(st);
  }

  absl::Status UpsertProject(const ProjectRecord& p) override {
    std::lock_guard lock(mu_);
    // updated_at moves only when something changes, so that re-applying the
    // same headless initialization on every start changes nothing.
    ASSIGN_OR_RETURN(
        Stmt * st,
        db_->Prepare("INSERT INTO projects(id, org_id, name, metadata, retention_days, "
                     "created_at, updated_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE "
                     "SET updated_at = CASE WHEN projects.org_id IS NOT excluded.org_id OR "
                     "projects.name IS NOT excluded.name OR projects.metadata IS NOT "
                     "excluded.metadata OR projects.retention_days IS NOT "
                     "excluded.retention_days THEN excluded.updated_at ELSE projects.updated_at "
                     "END, org_id = excluded.org_id, name = excluded.name, "
                     "metadata = excluded.metadata, retention_days = excluded.retention_days"));
    std::optional<int64_t> retention;
    if (p.retention_days) retention = *p.retention_days;
    const int64_t now = NowMillis();
    st->Bind(1, p.id).Bind(2, p.org_id).Bind(3, p.name).Bind(4, p.metadata_json);
    st->Bind(5, retention).Bind(6, p.created_at_ms ? p.created_at_ms : now).Bind(7, now);
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
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT id, name, created_at, metadata FROM "
                                             "organizations WHERE id = ?"));
    st->Bind(1, id);
    ASSIGN_OR_RETURN(bool row, st->Step());
    std::optional<OrganizationRecord> out;
    if (row) out = meta_rows::ReadOrganization(*st);
    st->Reset();
    return out;
  }

  absl::StatusOr<std::optional<ProjectRecord>> GetProject(const std::string& id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kProjectColumns +
                                             " FROM projects WHERE id = ? AND "
                                             "deleted_at IS NULL"));
    st->Bind(1, id);
    ASSIGN_OR_RETURN(bool row, st->Step());
    std::optional<ProjectRecord> out;
    if (row) out = ReadProject(*st);
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

  absl::StatusOr<std::vector<OrganizationRecord>> ListOrganizations() override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT id, name, created_at, metadata FROM "
                                             "organizations ORDER BY created_at, rowid"));
    return CollectRows<OrganizationRecord>(
        st, [](Stmt& row) { return meta_rows::ReadOrganization(row); });
  }

  absl::Status UpdateOrganization(const OrganizationRecord& org) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("UPDATE organizations SET name = ?, metadata = ? "
                                             "WHERE id = ?"));
    st->Bind(1, org.name).Bind(2, org.metadata_json).Bind(3, org.id);
    RETURN_IF_ERROR(RunAndReset(st));
    if (db_->Changes() == 0) return absl::NotFoundError("Organization not found");
    return absl::OkStatus();
  }

  absl::StatusOr<bool> DeleteOrganization(const std::string& org_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*db_, true));
    ASSIGN_OR_RETURN(Stmt * live, db_->Prepare("SELECT COUNT(*) FROM projects WHERE org_id = ? "
                                               "AND deleted_at IS NULL"));
    live->Bind(1, org_id);
    ASSIGN_OR_RETURN(bool row, live->Step());
    const int64_t projects = row ? live->Int(0) : 0;
    live->Reset();
    if (projects > 0) {
      return absl::FailedPreconditionError(
          "Cannot delete organization with existing projects. Please delete or transfer all "
          "projects before deleting the organization.");
    }
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("DELETE FROM organizations WHERE id = ?"));
    st->Bind(1, org_id);
    RETURN_IF_ERROR(RunAndReset(st));
    if (db_->Changes() == 0) return false;  // the transaction rolls back
    for (const char* sql : {"DELETE FROM api_keys WHERE org_id = ?",
                            "DELETE FROM organization_memberships WHERE org_id = ?",
                            "DELETE FROM membership_invitations WHERE org_id = ?"}) {
      ASSIGN_OR_RETURN(Stmt * del, db_->Prepare(sql));
      del->Bind(1, org_id);
      RETURN_IF_ERROR(RunAndReset(del));
    }
    RETURN_IF_ERROR(txn->Commit());
    return true;
  }

  absl::StatusOr<std::vector<ProjectRecord>> ListProjectsOfOrganization(
      const std::string& org_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kProjectColumns +
                                             " FROM projects WHERE org_id = ? AND deleted_at IS "
                                             "NULL ORDER BY created_at, rowid"));
    st->Bind(1, org_id);
    return CollectRows<ProjectRecord>(st, [](Stmt& row) { return ReadProject(row); });
  }

  absl::StatusOr<std::optional<ProjectRecord>> FindProjectByName(const std::string& org_id,
                                                                 const std::string& name) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kProjectColumns +
                                             " FROM projects WHERE org_id = ? AND name = ? AND "
                                             "deleted_at IS NULL"));
    st->Bind(1, org_id).Bind(2, name);
    ASSIGN_OR_RETURN(bool row, st->Step());
    std::optional<ProjectRecord> out;
    if (row) out = ReadProject(*st);
    st->Reset();
    return out;
  }

  absl::StatusOr<bool> SoftDeleteProject(const std::string& org_id,
                                         const std::string& project_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*db_, true));
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("UPDATE projects SET deleted_at = ?, updated_at = ? "
                                             "WHERE id = ? AND org_id = ? AND deleted_at IS NULL"));
    const int64_t now = NowMillis();
    st->Bind(1, now).Bind(2, now).Bind(3, project_id).Bind(4, org_id);
    RETURN_IF_ERROR(RunAndReset(st));
    if (db_->Changes() == 0) return false;  // the transaction rolls back
    ASSIGN_OR_RETURN(Stmt * del, db_->Prepare("DELETE FROM api_keys WHERE project_id = ? AND "
                                              "scope = 'PROJECT'"));
    del->Bind(1, project_id);
    RETURN_IF_ERROR(RunAndReset(del));
    ASSIGN_OR_RETURN(Stmt * members,
                     db_->Prepare("DELETE FROM project_memberships WHERE project_id = ?"));
    members->Bind(1, project_id);
    RETURN_IF_ERROR(RunAndReset(members));
    RETURN_IF_ERROR(txn->Commit());
    return true;
  }

  absl::Status CreateApiKey(const ApiKeyRecord& k) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * check, db_->Prepare("SELECT 1 FROM api_keys WHERE public_key = ? OR "
                                                "fast_hashed_secret_key = ? OR id = ?"));
    check->Bind(1, k.public_key).Bind(2, k.fast_hashed_secret_key).Bind(3, k.id);
    ASSIGN_OR_RETURN(bool exists, check->Step());
    check->Reset();
    if (exists) {
      return absl::AlreadyExistsError(
          "API key with the provided publicKey or secretKey already exists");
    }
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("INSERT INTO api_keys(") + kApiKeyColumns +
                                             ") VALUES (?,?,?,?,?,?,?,?,?,?,?)"));
    std::optional<std::string> project;
    if (!k.project_id.empty()) project = k.project_id;
    st->Bind(1, k.id).Bind(2, k.public_key).Bind(3, k.fast_hashed_secret_key);
    st->Bind(4, k.display_secret_key).Bind(5, k.scope).Bind(6, project).Bind(7, k.org_id);
    st->Bind(8, k.note).Bind(9, k.created_at_ms ? k.created_at_ms : NowMillis());
    st->Bind(10, k.expires_at_ms).Bind(11, k.last_used_at_ms);
    return RunAndReset(st);
  }

  absl::StatusOr<std::vector<ApiKeyRecord>> ListProjectApiKeys(
      const std::string& project_id) override {
    return ListApiKeys("project_id = ? AND scope = 'PROJECT'", project_id);
  }

  absl::StatusOr<std::vector<ApiKeyRecord>> ListOrganizationApiKeys(
      const std::string& org_id) override {
    return ListApiKeys("org_id = ? AND scope = 'ORGANIZATION'", org_id);
  }

  absl::Status TouchApiKey(const std::string& id, int64_t used_at_ms) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("UPDATE api_keys SET last_used_at = ?1 WHERE id = "
                                             "?2 AND (last_used_at IS NULL OR last_used_at < "
                                             "?1)"));
    st->Bind(1, used_at_ms).Bind(2, id);
    return RunAndReset(st);
  }

  absl::StatusOr<bool> DeleteProjectApiKey(const std::string& project_id,
                                           const std::string& id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("DELETE FROM api_keys WHERE id = ? AND "
                                             "project_id = ? AND scope = 'PROJECT'"));
    st->Bind(1, id).Bind(2, project_id);
    RETURN_IF_ERROR(RunAndReset(st));
    return db_->Changes() > 0;
  }

  absl::StatusOr<bool> DeleteOrganizationApiKey(const std::string& org_id,
                                                const std::string& id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("DELETE FROM api_keys WHERE id = ? AND org_id = ? "
                                             "AND scope = 'ORGANIZATION'"));
    st->Bind(1, id).Bind(2, org_id);
    RETURN_IF_ERROR(RunAndReset(st));
    return db_->Changes() > 0;
  }

  absl::StatusOr<std::optional<UserRecord>> GetUser(const std::string& id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT id, email, name, password_hash, created_at "
                                             "FROM users WHERE id = ?"));
    st->Bind(1, id);
    ASSIGN_OR_RETURN(bool row, st->Step());
    std::optional<UserRecord> out;
    if (row) out = meta_rows::ReadUser(*st);
    st->Reset();
    return out;
  }

  absl::StatusOr<std::vector<MembershipRecord>> ListOrgMemberships(
      const std::string& org_id) override {
    return ListMemberships(std::string("SELECT ") + kMembershipColumns +
                               " FROM organization_memberships m JOIN users u ON u.id = "
                               "m.user_id WHERE m.org_id = ? ORDER BY u.created_at, u.rowid",
                           org_id);
  }

  absl::StatusOr<std::optional<MembershipRecord>> GetOrgMembership(
      const std::string& org_id, const std::string& user_id) override {
    return GetMembership(std::string("SELECT ") + kMembershipColumns +
                             " FROM organization_memberships m JOIN users u ON u.id = m.user_id "
                             "WHERE m.org_id = ? AND m.user_id = ?",
                         org_id, user_id);
  }

  absl::StatusOr<bool> DeleteOrgMembership(const std::string& org_id,
                                           const std::string& user_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*db_, true));
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("DELETE FROM organization_memberships WHERE "
                                             "org_id = ? AND user_id = ?"));
    st->Bind(1, org_id).Bind(2, user_id);
    RETURN_IF_ERROR(RunAndReset(st));
    const bool existed = db_->Changes() > 0;
    // Project roles hang off the organization membership, as in Langfuse.
    ASSIGN_OR_RETURN(Stmt * projects,
                     db_->Prepare("DELETE FROM project_memberships WHERE user_id = ? AND "
                                  "project_id IN (SELECT id FROM projects WHERE org_id = ?)"));
    projects->Bind(1, user_id).Bind(2, org_id);
    RETURN_IF_ERROR(RunAndReset(projects));
    RETURN_IF_ERROR(txn->Commit());
    return existed;
  }

  absl::Status UpsertProjectMembership(const std::string& project_id, const std::string& user_id,
                                       const std::string& role) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("INSERT INTO project_memberships(project_id, user_id, role) "
                                  "VALUES (?,?,?) ON CONFLICT(project_id, user_id) DO UPDATE SET "
                                  "role = excluded.role"));
    st->Bind(1, project_id).Bind(2, user_id).Bind(3, role);
    return RunAndReset(st);
  }

  absl::StatusOr<std::vector<MembershipRecord>> ListProjectMemberships(
      const std::string& project_id) override {
    return ListMemberships(std::string("SELECT ") + kMembershipColumns +
                               " FROM project_memberships m JOIN users u ON u.id = m.user_id "
                               "WHERE m.project_id = ? ORDER BY u.created_at, u.rowid",
                           project_id);
  }

  absl::StatusOr<std::optional<MembershipRecord>> GetProjectMembership(
      const std::string& project_id, const std::string& user_id) override {
    return GetMembership(std::string("SELECT ") + kMembershipColumns +
                             " FROM project_memberships m JOIN users u ON u.id = m.user_id "
                             "WHERE m.project_id = ? AND m.user_id = ?",
                         project_id, user_id);
  }

  absl::StatusOr<bool> DeleteProjectMembership(const std::string& project_id,
                                               const std::string& user_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("DELETE FROM project_memberships WHERE "
                                             "project_id = ? AND user_id = ?"));
    st->Bind(1, project_id).Bind(2, user_id);
    RETURN_IF_ERROR(RunAndReset(st));
    return db_->Changes() > 0;
  }

  // ---- Web UI accounts and sessions.

  absl::StatusOr<std::optional<UserRecord>> FindUserByEmail(const std::string& email) override {
    std::lock_guard lock(mu_);
    // Users are few; a scan with lower() is cheaper than a second index to keep.
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT id, email, name, password_hash, created_at "
                                             "FROM users WHERE lower(email) = lower(?) "
                                             "ORDER BY created_at LIMIT 1"));
    st->Bind(1, email);
    ASSIGN_OR_RETURN(bool row, st->Step());
    std::optional<UserRecord> out;
    if (row) out = meta_rows::ReadUser(*st);
    st->Reset();
    return out;
  }

  absl::Status CreateUser(const UserRecord& u) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*db_, true));
    ASSIGN_OR_RETURN(Stmt * q,
                     db_->Prepare("SELECT 1 FROM users WHERE lower(email) = lower(?) LIMIT 1"));
    q->Bind(1, u.email);
    ASSIGN_OR_RETURN(bool taken, q->Step());
    q->Reset();
    if (taken) return absl::AlreadyExistsError("a user with this email exists");
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("INSERT INTO users(id, email, name, password_hash, created_at) "
                                  "VALUES (?,?,?,?,?)"));
    st->Bind(1, u.id.empty() ? NewUuid() : u.id).Bind(2, u.email).Bind(3, u.name);
    st->Bind(4, u.password_hash).Bind(5, u.created_at_ms ? u.created_at_ms : NowMillis());
    RETURN_IF_ERROR(RunAndReset(st));
    return txn->Commit();
  }

  absl::StatusOr<std::vector<OrganizationRecord>> ListOrganizationsWithoutMembers() override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("SELECT o.id, o.name, o.created_at FROM organizations o WHERE "
                                  "NOT EXISTS (SELECT 1 FROM organization_memberships m WHERE "
                                  "m.org_id = o.id) ORDER BY o.created_at, o.rowid"));
    return CollectRows<OrganizationRecord>(st, [](Stmt& row) {
      return OrganizationRecord{row.Text(0), row.Text(1), row.Int(2)};
    });
  }

  absl::StatusOr<std::vector<UserOrgMembershipRecord>> ListOrgMembershipsOfUser(
      const std::string& user_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("SELECT o.id, o.name, o.created_at, m.role FROM "
                                  "organization_memberships m JOIN organizations o ON o.id = "
                                  "m.org_id WHERE m.user_id = ? ORDER BY o.created_at, o.rowid"));
    st->Bind(1, user_id);
    return CollectRows<UserOrgMembershipRecord>(st, [](Stmt& row) {
      return UserOrgMembershipRecord{{row.Text(0), row.Text(1), row.Int(2)}, row.Text(3)};
    });
  }

  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ListProjectMembershipsOfUser(
      const std::string& user_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT project_id, role FROM project_memberships "
                                             "WHERE user_id = ?"));
    st->Bind(1, user_id);
    return CollectRows<std::pair<std::string, std::string>>(st, [](Stmt& row) {
      return std::pair<std::string, std::string>(row.Text(0), row.Text(1));
    });
  }

  absl::Status CreateUserSession(const UserSessionRecord& s) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("INSERT INTO user_sessions(token_hash, user_id, "
                                             "created_at, expires_at) VALUES (?,?,?,?)"));
    st->Bind(1, s.token_hash).Bind(2, s.user_id).Bind(3, s.created_at_ms).Bind(4, s.expires_at_ms);
    return RunAndReset(st);
  }

  absl::StatusOr<std::optional<UserSessionRecord>> GetUserSession(
      const std::string& token_hash) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("SELECT token_hash, user_id, created_at, expires_at "
                                             "FROM user_sessions WHERE token_hash = ?"));
    st->Bind(1, token_hash);
    ASSIGN_OR_RETURN(bool row, st->Step());
    std::optional<UserSessionRecord> out;
    if (row) out = meta_rows::ReadUserSession(*st);
    st->Reset();
    return out;
  }

  absl::Status DeleteUserSession(const std::string& token_hash) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("DELETE FROM user_sessions WHERE token_hash = ?"));
    st->Bind(1, token_hash);
    return RunAndReset(st);
  }

  absl::StatusOr<int64_t> DeleteExpiredUserSessions(int64_t now_ms) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("DELETE FROM user_sessions WHERE expires_at < ?"));
    st->Bind(1, now_ms);
    RETURN_IF_ERROR(RunAndReset(st));
    return static_cast<int64_t>(db_->Changes());
  }

  absl::StatusOr<int64_t> DeleteOtherUserSessions(const std::string& user_id,
                                                  const std::string& keep_token_hash) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("DELETE FROM user_sessions WHERE user_id = ? AND "
                                             "token_hash <> ?"));
    st->Bind(1, user_id).Bind(2, keep_token_hash);
    RETURN_IF_ERROR(RunAndReset(st));
    return static_cast<int64_t>(db_->Changes());
  }

  absl::Status UpdateUser(const UserRecord& u) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("UPDATE users SET name = ?, password_hash = ? WHERE id = ?"));
    st->Bind(1, u.name).Bind(2, u.password_hash).Bind(3, u.id);
    RETURN_IF_ERROR(RunAndReset(st));
    if (db_->Changes() == 0) return absl::NotFoundError("user not found");
    return absl::OkStatus();
  }

  // ---- Invitations.

  absl::Status UpsertInvitation(const InvitationRecord& inv) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st,
                     db_->Prepare("INSERT INTO membership_invitations(id, org_id, email, role, "
                                  "invited_by, created_at) VALUES (?,?,lower(?),?,?,?) ON "
                                  "CONFLICT(org_id, email) DO UPDATE SET role = excluded.role, "
                                  "invited_by = excluded.invited_by, created_at = "
                                  "excluded.created_at"));
    st->Bind(1, inv.id).Bind(2, inv.org_id).Bind(3, inv.email).Bind(4, inv.role);
    st->Bind(5, inv.invited_by_user_id)
        .Bind(6, inv.created_at_ms ? inv.created_at_ms : NowMillis());
    return RunAndReset(st);
  }

  absl::StatusOr<std::vector<InvitationRecord>> ListInvitations(
      const std::string& org_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kInvitationColumns +
                                             " FROM membership_invitations WHERE org_id = ? "
                                             "ORDER BY created_at, rowid"));
    st->Bind(1, org_id);
    return ReadInvitations(st);
  }

  absl::StatusOr<bool> DeleteInvitation(const std::string& org_id, const std::string& id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare("DELETE FROM membership_invitations WHERE org_id = ? "
                                             "AND id = ?"));
    st->Bind(1, org_id).Bind(2, id);
    RETURN_IF_ERROR(RunAndReset(st));
    return db_->Changes() > 0;
  }

  absl::StatusOr<std::vector<InvitationRecord>> AcceptInvitations(
      const std::string& email, const std::string& user_id) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*db_, true));
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kInvitationColumns +
                                             " FROM membership_invitations WHERE email = "
                                             "lower(?) AND org_id IN (SELECT id FROM "
                                             "organizations) ORDER BY created_at, rowid"));
    st->Bind(1, email);
    ASSIGN_OR_RETURN(auto invitations, ReadInvitations(st));
    ASSIGN_OR_RETURN(Stmt * add,
                     db_->Prepare("INSERT INTO organization_memberships(org_id, user_id, role) "
                                  "VALUES (?,?,?) ON CONFLICT(org_id, user_id) DO UPDATE SET "
                                  "role = excluded.role"));
    for (const auto& inv : invitations) {
      add->Bind(1, inv.org_id).Bind(2, user_id).Bind(3, inv.role);
      RETURN_IF_ERROR(RunAndReset(add));
    }
    ASSIGN_OR_RETURN(Stmt * del,
                     db_->Prepare("DELETE FROM membership_invitations WHERE email = lower(?)"));
    del->Bind(1, email);
    RETURN_IF_ERROR(RunAndReset(del));
    RETURN_IF_ERROR(txn->Commit());
    return invitations;
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
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(std::string("SELECT ") + kApiKeyColumns +
                                             " FROM api_keys WHERE " + column + " = ?"));
    st->Bind(1, value);
    ASSIGN_OR_RETURN(bool row, st->Step());
    std::optional<ApiKeyRecord> out;
    if (row) out = ReadApiKey(*st);
    st->Reset();
    return out;
  }

  absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys(const std::string& where,
                                                        const std::string& value) {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(
        Stmt * st, db_->Prepare(std::string("SELECT ") + kApiKeyColumns + " FROM api_keys WHERE " +
                                where + " ORDER BY created_at, rowid"));
    st->Bind(1, value);
    return CollectRows<ApiKeyRecord>(st, [](Stmt& row) { return ReadApiKey(row); });
  }

  absl::StatusOr<std::vector<MembershipRecord>> ListMemberships(const std::string& sql,
                                                                const std::string& key) {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(sql));
    st->Bind(1, key);
    return CollectRows<MembershipRecord>(st,
                                         [](Stmt& row) { return meta_rows::ReadMembership(row); });
  }

  absl::StatusOr<std::optional<MembershipRecord>> GetMembership(const std::string& sql,
                                                                const std::string& a,
                                                                const std::string& b) {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(Stmt * st, db_->Prepare(sql));
    st->Bind(1, a).Bind(2, b);
    ASSIGN_OR_RETURN(bool row, st->Step());
    std::optional<MembershipRecord> out;
    if (row) out = meta_rows::ReadMembership(*st);
    st->Reset();
    return out;
  }

  static absl::StatusOr<std::vector<InvitationRecord>> ReadInvitations(Stmt* st) {
    return CollectRows<InvitationRecord>(st,
                                         [](Stmt& row) { return meta_rows::ReadInvitation(row); });
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
  // Web UI sessions: a schema component of their own, so its versions never
  // collide with the organization administration's migrations.
  static const std::vector<sqlite::Migration> kUserSessionMigrations = {
      {1, R"sql(
CREATE TABLE user_sessions(
  token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL);
CREATE INDEX user_sessions_by_expiry ON user_sessions(expires_at);
)sql"},
  };
  RETURN_IF_ERROR(sqlite::ApplyMigrations(*db, "user_sessions", kUserSessionMigrations));
  // Invitations of the web UI's member settings, a component of their own
  // for the same reason.
  static const std::vector<sqlite::Migration> kInvitationMigrations = {
      {1, R"sql(
CREATE TABLE membership_invitations(
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  email TEXT NOT NULL,
  role TEXT NOT NULL,
  invited_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE(org_id, email));
CREATE INDEX membership_invitations_by_email ON membership_invitations(email);
)sql"},
  };
  RETURN_IF_ERROR(sqlite::ApplyMigrations(*db, "invitations", kInvitationMigrations));
  return std::unique_ptr<MetaStore>(new SqliteMetaStore(std::move(db)));
}

}  // namespace loupe
