#include "storage/postgres/pg_meta_store.h"

#include <functional>
#include <optional>
#include <utility>

#include "common/hash.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "storage/meta_rows.h"
#include "storage/postgres/pg_client.h"

namespace loupe {
namespace {

using pg::Conn;
using pg::Params;
using pg::Result;

// The tables of the SQLite MetaStore ("meta", "user_sessions" and
// "invitations" there) in one component. Times are epoch milliseconds, as
// there; `seq` keeps insertion order where created_at ties.
const std::vector<pg::Migration>& Migrations() {
  static const std::vector<pg::Migration> kMigrations = {
      {1, R"sql(
CREATE TABLE organizations(
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  seq BIGSERIAL);
CREATE TABLE projects(
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  name TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  retention_days INTEGER,
  created_at BIGINT NOT NULL,
  updated_at BIGINT,
  deleted_at BIGINT,
  seq BIGSERIAL);
CREATE INDEX projects_by_org ON projects(org_id, created_at);
CREATE TABLE api_keys(
  id TEXT PRIMARY KEY,
  public_key TEXT NOT NULL UNIQUE,
  fast_hashed_secret_key TEXT NOT NULL UNIQUE,
  display_secret_key TEXT NOT NULL,
  scope TEXT NOT NULL,
  project_id TEXT,
  org_id TEXT NOT NULL,
  note TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  last_used_at BIGINT,
  seq BIGSERIAL);
CREATE INDEX api_keys_by_project ON api_keys(project_id);
CREATE INDEX api_keys_by_org ON api_keys(org_id);
CREATE TABLE users(
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  seq BIGSERIAL);
CREATE INDEX users_by_lower_email ON users(lower(email));
CREATE TABLE organization_memberships(
  org_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  role TEXT NOT NULL,
  PRIMARY KEY(org_id, user_id));
CREATE TABLE project_memberships(
  project_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  role TEXT NOT NULL,
  PRIMARY KEY(project_id, user_id));
CREATE TABLE user_sessions(
  token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL);
CREATE INDEX user_sessions_by_expiry ON user_sessions(expires_at);
CREATE TABLE membership_invitations(
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  email TEXT NOT NULL,
  role TEXT NOT NULL,
  invited_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  seq BIGSERIAL,
  UNIQUE(org_id, email));
CREATE INDEX membership_invitations_by_email ON membership_invitations(email);
)sql"},
  };
  return kMigrations;
}

std::string Select(const char* columns, const std::string& rest) {
  return std::string("SELECT ") + columns + " " + rest;
}

std::optional<std::string> NullIfEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

std::optional<int64_t> OptInt(const std::optional<int>& v) {
  if (!v) return std::nullopt;
  return *v;
}

// Reads of the organization switcher and the zero-config check leave the
// metadata out, as the SQLite store does.
OrganizationRecord ReadOrgWithoutMetadata(const pg::Row& r) {
  return {r.Text(0), r.Text(1), r.Int(2)};
}

class PgMetaStore final : public MetaStore {
 public:
  explicit PgMetaStore(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  absl::Status UpsertOrganization(const OrganizationRecord& org) override {
    return Exec(
        "INSERT INTO organizations(id, name, created_at, metadata) VALUES ($1,$2,$3,$4) "
        "ON CONFLICT(id) DO UPDATE SET name = excluded.name",
        Params()
            .Add(org.id)
            .Add(org.name)
            .Add(org.created_at_ms ? org.created_at_ms : NowMillis())
            .Add(org.metadata_json));
  }

  absl::Status UpsertProject(const ProjectRecord& p) override {
    // updated_at moves only when something changes, so that re-applying the
    // same headless initialization on every start changes nothing.
    const int64_t now = NowMillis();
    return Exec(
        "INSERT INTO projects(id, org_id, name, metadata, retention_days, created_at, "
        "updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT(id) DO UPDATE SET updated_at = "
        "CASE WHEN projects.org_id IS DISTINCT FROM excluded.org_id OR projects.name IS "
        "DISTINCT FROM excluded.name OR projects.metadata IS DISTINCT FROM excluded.metadata OR "
        "projects.retention_days IS DISTINCT FROM excluded.retention_days THEN "
        "excluded.updated_at ELSE projects.updated_at END, org_id = excluded.org_id, name = "
        "excluded.name, metadata = excluded.metadata, retention_days = excluded.retention_days",
        Params()
            .Add(p.id)
            .Add(p.org_id)
            .Add(p.name)
            .Add(p.metadata_json)
            .Add(OptInt(p.retention_days))
            .Add(p.created_at_ms ? p.created_at_ms : now)
            .Add(now));
  }

  absl::Status UpsertApiKey(const ApiKeyRecord& k) override {
    // Processes starting together upsert the same init key (the id derives
    // from the key, the conflict target is the public key).
    return pg::RetryUniqueRace([&] { return TryUpsertApiKey(k); });
  }

  absl::Status TryUpsertApiKey(const ApiKeyRecord& k) {
    return Exec(
        "INSERT INTO api_keys(id, public_key, fast_hashed_secret_key, display_secret_key, scope, "
        "project_id, org_id, note, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON "
        "CONFLICT(public_key) DO UPDATE SET fast_hashed_secret_key = "
        "excluded.fast_hashed_secret_key, display_secret_key = excluded.display_secret_key, "
        "scope = excluded.scope, project_id = excluded.project_id, org_id = excluded.org_id",
        Params()
            .Add(k.id.empty() ? NewUuid() : k.id)
            .Add(k.public_key)
            .Add(k.fast_hashed_secret_key)
            .Add(k.display_secret_key)
            .Add(k.scope)
            .Add(NullIfEmpty(k.project_id))
            .Add(k.org_id)
            .Add(k.note)
            .Add(k.created_at_ms ? k.created_at_ms : NowMillis()));
  }

  absl::StatusOr<std::string> UpsertUser(const UserRecord& u) override {
    ASSIGN_OR_RETURN(auto id,
                     One("INSERT INTO users(id, email, name, password_hash, created_at) VALUES "
                         "($1,$2,$3,$4,$5) ON CONFLICT(email) DO UPDATE SET name = excluded.name, "
                         "password_hash = excluded.password_hash RETURNING id",
                         Params()
                             .Add(u.id.empty() ? NewUuid() : u.id)
                             .Add(u.email)
                             .Add(u.name)
                             .Add(u.password_hash)
                             .Add(u.created_at_ms ? u.created_at_ms : NowMillis()),
                         [](const pg::Row& r) { return r.Text(0); }));
    if (!id) return absl::InternalError("user vanished after upsert");
    return *id;
  }

  absl::Status UpsertOrgMembership(const std::string& org_id, const std::string& user_id,
                                   const std::string& role) override {
    return Exec(
        "INSERT INTO organization_memberships(org_id, user_id, role) VALUES ($1,$2,$3) "
        "ON CONFLICT(org_id, user_id) DO UPDATE SET role = excluded.role",
        Params().Add(org_id).Add(user_id).Add(role));
  }

  absl::StatusOr<std::optional<OrganizationRecord>> GetOrganization(
      const std::string& id) override {
    return One(Select(meta_rows::kOrganizationColumns, "FROM organizations WHERE id = $1"),
               Params().Add(id), meta_rows::ReadOrganization<pg::Row>);
  }

  absl::StatusOr<std::optional<ProjectRecord>> GetProject(const std::string& id) override {
    return One(
        Select(meta_rows::kProjectColumns, "FROM projects WHERE id = $1 AND deleted_at IS NULL"),
        Params().Add(id), meta_rows::ReadProject<pg::Row>);
  }

  absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyByHash(
      const std::string& fast_hash) override {
    return One(Select(meta_rows::kApiKeyColumns, "FROM api_keys WHERE fast_hashed_secret_key = $1"),
               Params().Add(fast_hash), meta_rows::ReadApiKey<pg::Row>);
  }

  absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyByPublicKey(
      const std::string& public_key) override {
    return One(Select(meta_rows::kApiKeyColumns, "FROM api_keys WHERE public_key = $1"),
               Params().Add(public_key), meta_rows::ReadApiKey<pg::Row>);
  }

  absl::StatusOr<int64_t> CountApiKeys() override {
    ASSIGN_OR_RETURN(auto n, One("SELECT COUNT(*) FROM api_keys", Params(),
                                 [](const pg::Row& r) { return r.Int(0); }));
    return n.value_or(0);
  }

  absl::StatusOr<std::vector<OrganizationRecord>> ListOrganizations() override {
    return All(
        Select(meta_rows::kOrganizationColumns, "FROM organizations ORDER BY created_at, seq"),
        Params(), meta_rows::ReadOrganization<pg::Row>);
  }

  absl::Status UpdateOrganization(const OrganizationRecord& org) override {
    ASSIGN_OR_RETURN(int64_t n,
                     Affected("UPDATE organizations SET name = $1, metadata = $2 WHERE "
                              "id = $3",
                              Params().Add(org.name).Add(org.metadata_json).Add(org.id)));
    if (n == 0) return absl::NotFoundError("Organization not found");
    return absl::OkStatus();
  }

  absl::StatusOr<bool> DeleteOrganization(const std::string& org_id) override {
    bool deleted = false;
    if (absl::Status done = Transaction([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(Result live,
                           c.Exec("SELECT COUNT(*) FROM projects WHERE org_id = $1 AND "
                                  "deleted_at IS NULL",
                                  Params().Add(org_id)));
          if (live.row(0).Int(0) > 0) {
            return absl::FailedPreconditionError(
                "Cannot delete organization with existing projects. Please delete or transfer all "
                "projects before deleting the organization.");
          }
          ASSIGN_OR_RETURN(Result del,
                           c.Exec("DELETE FROM organizations WHERE id = $1", Params().Add(org_id)));
          deleted = del.affected() > 0;
          if (!deleted) return absl::OkStatus();
          for (const char* sql : {"DELETE FROM api_keys WHERE org_id = $1",
                                  "DELETE FROM organization_memberships WHERE org_id = $1",
                                  "DELETE FROM membership_invitations WHERE org_id = $1"}) {
            RETURN_IF_ERROR(c.Exec(sql, Params().Add(org_id)).status());
          }
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return deleted;
  }

  absl::StatusOr<std::vector<ProjectRecord>> ListProjectsOfOrganization(
      const std::string& org_id) override {
    return All(Select(meta_rows::kProjectColumns,
                      "FROM projects WHERE org_id = $1 AND deleted_at IS NULL ORDER BY "
                      "created_at, seq"),
               Params().Add(org_id), meta_rows::ReadProject<pg::Row>);
  }

  absl::StatusOr<std::optional<ProjectRecord>> FindProjectByName(const std::string& org_id,
                                                                 const std::string& name) override {
    return One(Select(meta_rows::kProjectColumns,
                      "FROM projects WHERE org_id = $1 AND name = $2 AND deleted_at IS NULL "
                      "ORDER BY created_at, seq LIMIT 1"),
               Params().Add(org_id).Add(name), meta_rows::ReadProject<pg::Row>);
  }

  absl::StatusOr<bool> SoftDeleteProject(const std::string& org_id,
                                         const std::string& project_id) override {
    bool deleted = false;
    if (absl::Status done = Transaction([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(Result upd,
                           c.Exec("UPDATE projects SET deleted_at = $1, updated_at = $1 "
                                  "WHERE id = $2 AND org_id = $3 AND deleted_at IS NULL",
                                  Params().Add(NowMillis()).Add(project_id).Add(org_id)));
          deleted = upd.affected() > 0;
          if (!deleted) return absl::OkStatus();
          RETURN_IF_ERROR(c.Exec("DELETE FROM api_keys WHERE project_id = $1 AND scope = 'PROJECT'",
                                 Params().Add(project_id))
                              .status());
          return c
              .Exec("DELETE FROM project_memberships WHERE project_id = $1",
                    Params().Add(project_id))
              .status();
        });
        !done.ok())
      return done;
    return deleted;
  }

  absl::Status CreateApiKey(const ApiKeyRecord& k) override {
    // A unique violation (also when another process inserts the same key
    // meanwhile) is the same kAlreadyExists as the check.
    const absl::Status taken =
        absl::AlreadyExistsError("API key with the provided publicKey or secretKey already exists");
    ASSIGN_OR_RETURN(auto exists,
                     One("SELECT 1 FROM api_keys WHERE public_key = $1 OR fast_hashed_secret_key "
                         "= $2 OR id = $3",
                         Params().Add(k.public_key).Add(k.fast_hashed_secret_key).Add(k.id),
                         [](const pg::Row&) { return true; }));
    if (exists) return taken;
    absl::Status s = Exec(std::string("INSERT INTO api_keys(") + meta_rows::kApiKeyColumns +
                              ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
                          Params()
                              .Add(k.id)
                              .Add(k.public_key)
                              .Add(k.fast_hashed_secret_key)
                              .Add(k.display_secret_key)
                              .Add(k.scope)
                              .Add(NullIfEmpty(k.project_id))
                              .Add(k.org_id)
                              .Add(k.note)
                              .Add(k.created_at_ms ? k.created_at_ms : NowMillis())
                              .Add(k.expires_at_ms)
                              .Add(k.last_used_at_ms));
    if (absl::IsAlreadyExists(s)) return taken;
    return s;
  }

  absl::Status TouchApiKey(const std::string& id, int64_t used_at_ms) override {
    return Exec(
        "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL "
        "OR last_used_at < $1)",
        Params().Add(used_at_ms).Add(id));
  }

  absl::StatusOr<std::vector<ApiKeyRecord>> ListProjectApiKeys(
      const std::string& project_id) override {
    return All(Select(meta_rows::kApiKeyColumns,
                      "FROM api_keys WHERE project_id = $1 AND scope = 'PROJECT' ORDER BY "
                      "created_at, seq"),
               Params().Add(project_id), meta_rows::ReadApiKey<pg::Row>);
  }

  absl::StatusOr<std::vector<ApiKeyRecord>> ListOrganizationApiKeys(
      const std::string& org_id) override {
    return All(Select(meta_rows::kApiKeyColumns,
                      "FROM api_keys WHERE org_id = $1 AND scope = 'ORGANIZATION' ORDER BY "
                      "created_at, seq"),
               Params().Add(org_id), meta_rows::ReadApiKey<pg::Row>);
  }

  absl::StatusOr<bool> DeleteProjectApiKey(const std::string& project_id,
                                           const std::string& id) override {
    ASSIGN_OR_RETURN(int64_t n, Affected("DELETE FROM api_keys WHERE id = $1 AND project_id = $2 "
                                         "AND scope = 'PROJECT'",
                                         Params().Add(id).Add(project_id)));
    return n > 0;
  }

  absl::StatusOr<bool> DeleteOrganizationApiKey(const std::string& org_id,
                                                const std::string& id) override {
    ASSIGN_OR_RETURN(int64_t n, Affected("DELETE FROM api_keys WHERE id = $1 AND org_id = $2 AND "
                                         "scope = 'ORGANIZATION'",
                                         Params().Add(id).Add(org_id)));
    return n > 0;
  }

  absl::StatusOr<std::optional<UserRecord>> GetUser(const std::string& id) override {
    return One(Select(meta_rows::kUserColumns, "FROM users WHERE id = $1"), Params().Add(id),
               meta_rows::ReadUser<pg::Row>);
  }

  absl::StatusOr<std::vector<MembershipRecord>> ListOrgMemberships(
      const std::string& org_id) override {
    return All(Select(meta_rows::kMembershipColumns,
                      "FROM organization_memberships m JOIN users u ON u.id = m.user_id WHERE "
                      "m.org_id = $1 ORDER BY u.created_at, u.seq"),
               Params().Add(org_id), meta_rows::ReadMembership<pg::Row>);
  }

  absl::StatusOr<std::optional<MembershipRecord>> GetOrgMembership(
      const std::string& org_id, const std::string& user_id) override {
    return One(Select(meta_rows::kMembershipColumns,
                      "FROM organization_memberships m JOIN users u ON u.id = m.user_id WHERE "
                      "m.org_id = $1 AND m.user_id = $2"),
               Params().Add(org_id).Add(user_id), meta_rows::ReadMembership<pg::Row>);
  }

  absl::StatusOr<bool> DeleteOrgMembership(const std::string& org_id,
                                           const std::string& user_id) override {
    bool existed = false;
    if (absl::Status done = Transaction([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(Result del, c.Exec("DELETE FROM organization_memberships WHERE org_id = "
                                              "$1 AND user_id = $2",
                                              Params().Add(org_id).Add(user_id)));
          existed = del.affected() > 0;
          // Project roles hang off the organization membership, as in Langfuse.
          return c
              .Exec(
                  "DELETE FROM project_memberships WHERE user_id = $1 AND project_id IN (SELECT id "
                  "FROM projects WHERE org_id = $2)",
                  Params().Add(user_id).Add(org_id))
              .status();
        });
        !done.ok())
      return done;
    return existed;
  }

  absl::Status UpsertProjectMembership(const std::string& project_id, const std::string& user_id,
                                       const std::string& role) override {
    return Exec(
        "INSERT INTO project_memberships(project_id, user_id, role) VALUES ($1,$2,$3) ON "
        "CONFLICT(project_id, user_id) DO UPDATE SET role = excluded.role",
        Params().Add(project_id).Add(user_id).Add(role));
  }

  absl::StatusOr<std::vector<MembershipRecord>> ListProjectMemberships(
      const std::string& project_id) override {
    return All(Select(meta_rows::kMembershipColumns,
                      "FROM project_memberships m JOIN users u ON u.id = m.user_id WHERE "
                      "m.project_id = $1 ORDER BY u.created_at, u.seq"),
               Params().Add(project_id), meta_rows::ReadMembership<pg::Row>);
  }

  absl::StatusOr<std::optional<MembershipRecord>> GetProjectMembership(
      const std::string& project_id, const std::string& user_id) override {
    return One(Select(meta_rows::kMembershipColumns,
                      "FROM project_memberships m JOIN users u ON u.id = m.user_id WHERE "
                      "m.project_id = $1 AND m.user_id = $2"),
               Params().Add(project_id).Add(user_id), meta_rows::ReadMembership<pg::Row>);
  }

  absl::StatusOr<bool> DeleteProjectMembership(const std::string& project_id,
                                               const std::string& user_id) override {
    ASSIGN_OR_RETURN(int64_t n, Affected("DELETE FROM project_memberships WHERE project_id = $1 "
                                         "AND user_id = $2",
                                         Params().Add(project_id).Add(user_id)));
    return n > 0;
  }

  // ---- Web UI accounts and sessions.

  absl::StatusOr<std::optional<UserRecord>> FindUserByEmail(const std::string& email) override {
    return One(Select(meta_rows::kUserColumns,
                      "FROM users WHERE lower(email) = lower($1) ORDER BY created_at, seq "
                      "LIMIT 1"),
               Params().Add(email), meta_rows::ReadUser<pg::Row>);
  }

  absl::Status CreateUser(const UserRecord& u) override {
    return Transaction([&](Conn& c) -> absl::Status {
      // Serializes sign-ups of one email across processes: the check and
      // the insert must not interleave with another's.
      RETURN_IF_ERROR(
          c.Exec("SELECT pg_advisory_xact_lock(hashtext(lower($1)))", Params().Add(u.email))
              .status());
      ASSIGN_OR_RETURN(Result taken, c.Exec("SELECT 1 FROM users WHERE lower(email) = lower($1) "
                                            "LIMIT 1",
                                            Params().Add(u.email)));
      if (taken.rows() > 0) return absl::AlreadyExistsError("a user with this email exists");
      return c
          .Exec(
              "INSERT INTO users(id, email, name, password_hash, created_at) VALUES "
              "($1,$2,$3,$4,$5)",
              Params()
                  .Add(u.id.empty() ? NewUuid() : u.id)
                  .Add(u.email)
                  .Add(u.name)
                  .Add(u.password_hash)
                  .Add(u.created_at_ms ? u.created_at_ms : NowMillis()))
          .status();
    });
  }

  absl::StatusOr<std::vector<OrganizationRecord>> ListOrganizationsWithoutMembers() override {
    return All(
        "SELECT o.id, o.name, o.created_at FROM organizations o WHERE NOT EXISTS (SELECT "
        "1 FROM organization_memberships m WHERE m.org_id = o.id) ORDER BY o.created_at, "
        "o.seq",
        Params(), ReadOrgWithoutMetadata);
  }

  absl::StatusOr<std::vector<UserOrgMembershipRecord>> ListOrgMembershipsOfUser(
      const std::string& user_id) override {
    return All(
        "SELECT o.id, o.name, o.created_at, m.role FROM organization_memberships m JOIN "
        "organizations o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY o.created_at, "
        "o.seq",
        Params().Add(user_id), [](const pg::Row& r) {
          return UserOrgMembershipRecord{ReadOrgWithoutMetadata(r), r.Text(3)};
        });
  }

  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ListProjectMembershipsOfUser(
      const std::string& user_id) override {
    return All("SELECT project_id, role FROM project_memberships WHERE user_id = $1",
               Params().Add(user_id),
               [](const pg::Row& r) { return std::make_pair(r.Text(0), r.Text(1)); });
  }

  absl::Status CreateUserSession(const UserSessionRecord& s) override {
    return Exec(
        "INSERT INTO user_sessions(token_hash, user_id, created_at, expires_at) VALUES "
        "($1,$2,$3,$4)",
        Params().Add(s.token_hash).Add(s.user_id).Add(s.created_at_ms).Add(s.expires_at_ms));
  }

  absl::StatusOr<std::optional<UserSessionRecord>> GetUserSession(
      const std::string& token_hash) override {
    return One(Select(meta_rows::kUserSessionColumns, "FROM user_sessions WHERE token_hash = $1"),
               Params().Add(token_hash), meta_rows::ReadUserSession<pg::Row>);
  }

  absl::Status DeleteUserSession(const std::string& token_hash) override {
    return Exec("DELETE FROM user_sessions WHERE token_hash = $1", Params().Add(token_hash));
  }

  absl::StatusOr<int64_t> DeleteExpiredUserSessions(int64_t now_ms) override {
    return Affected("DELETE FROM user_sessions WHERE expires_at < $1", Params().Add(now_ms));
  }

  absl::StatusOr<int64_t> DeleteOtherUserSessions(const std::string& user_id,
                                                  const std::string& keep_token_hash) override {
    return Affected("DELETE FROM user_sessions WHERE user_id = $1 AND token_hash <> $2",
                    Params().Add(user_id).Add(keep_token_hash));
  }

  absl::Status UpdateUser(const UserRecord& u) override {
    ASSIGN_OR_RETURN(int64_t n,
                     Affected("UPDATE users SET name = $1, password_hash = $2 WHERE id = $3",
                              Params().Add(u.name).Add(u.password_hash).Add(u.id)));
    if (n == 0) return absl::NotFoundError("user not found");
    return absl::OkStatus();
  }

  // ---- Invitations.

  absl::Status UpsertInvitation(const InvitationRecord& inv) override {
    return Exec(
        "INSERT INTO membership_invitations(id, org_id, email, role, invited_by, "
        "created_at) VALUES ($1,$2,lower($3),$4,$5,$6) ON CONFLICT(org_id, email) DO "
        "UPDATE SET role = excluded.role, invited_by = excluded.invited_by, created_at = "
        "excluded.created_at",
        Params()
            .Add(inv.id)
            .Add(inv.org_id)
            .Add(inv.email)
            .Add(inv.role)
            .Add(inv.invited_by_user_id)
            .Add(inv.created_at_ms ? inv.created_at_ms : NowMillis()));
  }

  absl::StatusOr<std::vector<InvitationRecord>> ListInvitations(
      const std::string& org_id) override {
    return All(Select(meta_rows::kInvitationColumns,
                      "FROM membership_invitations WHERE org_id = $1 ORDER BY created_at, seq"),
               Params().Add(org_id), meta_rows::ReadInvitation<pg::Row>);
  }

  absl::StatusOr<bool> DeleteInvitation(const std::string& org_id, const std::string& id) override {
    ASSIGN_OR_RETURN(int64_t n, Affected("DELETE FROM membership_invitations WHERE org_id = $1 "
                                         "AND id = $2",
                                         Params().Add(org_id).Add(id)));
    return n > 0;
  }

  absl::StatusOr<std::vector<InvitationRecord>> AcceptInvitations(
      const std::string& email, const std::string& user_id) override {
    std::vector<InvitationRecord> invitations;
    if (absl::Status done = Transaction([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(Result rows,
                           c.Exec(Select(meta_rows::kInvitationColumns,
                                         "FROM membership_invitations WHERE email = lower($1) AND "
                                         "org_id IN (SELECT id FROM organizations) ORDER BY "
                                         "created_at, seq"),
                                  Params().Add(email)));
          invitations.clear();
          for (int i = 0; i < rows.rows(); ++i) {
            invitations.push_back(meta_rows::ReadInvitation(rows.row(i)));
          }
          for (const auto& inv : invitations) {
            RETURN_IF_ERROR(c.Exec("INSERT INTO organization_memberships(org_id, user_id, role) "
                                   "VALUES ($1,$2,$3) ON CONFLICT(org_id, user_id) DO UPDATE SET "
                                   "role = excluded.role",
                                   Params().Add(inv.org_id).Add(user_id).Add(inv.role))
                                .status());
          }
          return c
              .Exec("DELETE FROM membership_invitations WHERE email = lower($1)",
                    Params().Add(email))
              .status();
        });
        !done.ok())
      return done;
    return invitations;
  }

  absl::Status Ping() override { return Exec("SELECT 1", Params()); }

  void Close() override { pool_->Close(); }

 private:
  absl::Status Exec(const std::string& sql, const Params& params) {
    return pool_->With([&](Conn& c) { return c.Exec(sql, params).status(); });
  }

  absl::StatusOr<int64_t> Affected(const std::string& sql, const Params& params) {
    int64_t n = 0;
    if (absl::Status done = pool_->With([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(Result r, c.Exec(sql, params));
          n = r.affected();
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return n;
  }

  // The first row of the result, mapped by `read`.
  template <typename Read>
  auto One(const std::string& sql, const Params& params, Read read)
      -> absl::StatusOr<std::optional<decltype(read(std::declval<const pg::Row&>()))>> {
    std::optional<decltype(read(std::declval<const pg::Row&>()))> out;
    if (absl::Status done = pool_->With([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(Result r, c.Exec(sql, params));
          if (r.rows() > 0) out = read(r.row(0));
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  template <typename Read>
  auto All(const std::string& sql, const Params& params, Read read)
      -> absl::StatusOr<std::vector<decltype(read(std::declval<const pg::Row&>()))>> {
    std::vector<decltype(read(std::declval<const pg::Row&>()))> out;
    if (absl::Status done = pool_->With([&](Conn& c) -> absl::Status {
          ASSIGN_OR_RETURN(Result r, c.Exec(sql, params));
          out.reserve(r.rows());
          for (int i = 0; i < r.rows(); ++i) out.push_back(read(r.row(i)));
          return absl::OkStatus();
        });
        !done.ok())
      return done;
    return out;
  }

  absl::Status Transaction(const std::function<absl::Status(Conn&)>& body) {
    return pool_->With([&](Conn& c) { return c.InTransaction([&] { return body(c); }); });
  }

  std::shared_ptr<pg::Pool> pool_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<MetaStore>> OpenPostgresMetaStore(const std::string& database_url) {
  ASSIGN_OR_RETURN(std::unique_ptr<pg::Pool> pool, pg::Pool::Open({database_url}));
  return OpenPostgresMetaStore(std::shared_ptr<pg::Pool>(std::move(pool)));
}

absl::StatusOr<std::unique_ptr<MetaStore>> OpenPostgresMetaStore(std::shared_ptr<pg::Pool> pool) {
  RETURN_IF_ERROR(pg::ApplyMigrations(*pool, "meta", Migrations()));
  return std::unique_ptr<MetaStore>(new PgMetaStore(std::move(pool)));
}

}  // namespace loupe
