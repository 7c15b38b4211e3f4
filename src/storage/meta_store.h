#pragma once

// MetaStore: the relational data around the traces: organizations, projects,
// users, memberships and API keys. (Prompts, datasets, models and the other
// management data have stores of their own in the same database file.)
// Embedded: SQLite; scale-out: PostgreSQL. All methods are thread-safe and
// durable on return.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loupe {

struct OrganizationRecord {
  std::string id;
  std::string name;
  int64_t created_at_ms = 0;
  std::string metadata_json = "{}";  // set on insert; UpsertOrganization keeps it on update
};

struct ProjectRecord {
  std::string id;
  std::string org_id;
  std::string name;
  std::string metadata_json = "{}";
  std::optional<int> retention_days;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;  // set by the store on every change
};

struct ApiKeyRecord {
  std::string id;
  std::string public_key;
  // sha256_hex(secret || sha256_hex(SALT)); the secret itself is never stored.
  std::string fast_hashed_secret_key;
  std::string display_secret_key;
  std::string scope = "PROJECT";  // PROJECT | ORGANIZATION
  std::string project_id;         // set for PROJECT keys
  std::string org_id;
  std::optional<std::string> note;
  int64_t created_at_ms = 0;
  std::optional<int64_t> expires_at_ms;
  std::optional<int64_t> last_used_at_ms;
};

struct UserRecord {
  std::string id;
  std::string email;
  std::string name;
  std::string password_hash;  // argon2id encoded string
  int64_t created_at_ms = 0;
};

// A user's role in an organization or project, with the user's details.
struct MembershipRecord {
  std::string user_id;
  std::string role;  // OWNER | ADMIN | MEMBER | VIEWER | NONE
  std::string email;
  std::string name;
};

// A user's membership in an organization, for the organization switcher.
struct UserOrgMembershipRecord {
  OrganizationRecord org;
  std::string role;  // OWNER | ADMIN | MEMBER | VIEWER | NONE
};

// A signed-in web UI session. Only a hash of the session token is stored, so
// a copy of the database cannot be turned into a usable cookie.
struct UserSessionRecord {
  std::string token_hash;  // sha256 hex of the token in the cookie
  std::string user_id;
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;
};

// An invitation to an organization for an email that has no account yet;
// signing up with that email turns it into a membership with `role`.
struct InvitationRecord {
  std::string id;
  std::string org_id;
  std::string email;  // lowercase
  std::string role;   // OWNER | ADMIN | MEMBER | VIEWER
  std::string invited_by_user_id;
  int64_t created_at_ms = 0;
};

class MetaStore {
 public:
  virtual ~MetaStore() = default;

  // Insert-or-update by id.
  virtual absl::Status UpsertOrganization(const OrganizationRecord& org) = 0;
  virtual absl::Status UpsertProject(const ProjectRecord& project) = 0;
  // Insert-or-update by public key.
  virtual absl::Status UpsertApiKey(const ApiKeyRecord& key) = 0;
  // Insert-or-update by email; returns the stored user's id.
  virtual absl::StatusOr<std::string> UpsertUser(const UserRecord& user) = 0;
  virtual absl::Status UpsertOrgMembership(const std::string& org_id, const std::string& user_id,
                                           const std::string& role) = 0;

  virtual absl::StatusOr<std::optional<OrganizationRecord>> GetOrganization(
      const std::string& id) = 0;
  virtual absl::StatusOr<std::optional<ProjectRecord>> GetProject(const std::string& id) = 0;
  virtual absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyByHash(
      const std::string& fast_hash) = 0;
  virtual absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyByPublicKey(
      const std::string& public_key) = 0;
  virtual absl::StatusOr<int64_t> CountApiKeys() = 0;

  // Organization administration (the organization-key API). Projects marked
  // deleted are invisible to every method, as to GetProject().

  // Every organization, oldest first.
  virtual absl::StatusOr<std::vector<OrganizationRecord>> ListOrganizations() = 0;
  // Replaces name and metadata; kNotFound when there is no such organization.
  virtual absl::Status UpdateOrganization(const OrganizationRecord& org) = 0;
  // Deletes the organization with its API keys and memberships.
  // kFailedPrecondition while it has live projects; false when it does not
  // exist.
  virtual absl::StatusOr<bool> DeleteOrganization(const std::string& org_id) = 0;

  // Live projects of an organization, oldest first.
  virtual absl::StatusOr<std::vector<ProjectRecord>> ListProjectsOfOrganization(
      const std::string& org_id) = 0;
  // The live project of the organization with this name, if any.
  virtual absl::StatusOr<std::optional<ProjectRecord>> FindProjectByName(
      const std::string& org_id, const std::string& name) = 0;
  // Marks the project deleted and removes its project API keys, in one
  // transaction. Returns false when the organization has no such live project.
  virtual absl::StatusOr<bool> SoftDeleteProject(const std::string& org_id,
                                                 const std::string& project_id) = 0;

  // Inserts a new key; kAlreadyExists when its public key or secret hash is taken.
  virtual absl::Status CreateApiKey(const ApiKeyRecord& key) = 0;
  // Records that the key `id` was used at `used_at_ms`; an earlier time
  // never overwrites a later one. No error when there is no such key.
  virtual absl::Status TouchApiKey(const std::string& id, int64_t used_at_ms) = 0;
  // PROJECT keys of a project / ORGANIZATION keys of an organization, oldest first.
  virtual absl::StatusOr<std::vector<ApiKeyRecord>> ListProjectApiKeys(
      const std::string& project_id) = 0;
  virtual absl::StatusOr<std::vector<ApiKeyRecord>> ListOrganizationApiKeys(
      const std::string& org_id) = 0;
  // Deletes the PROJECT key `id` of the project; false when there is none.
  virtual absl::StatusOr<bool> DeleteProjectApiKey(const std::string& project_id,
                                                   const std::string& id) = 0;
  // Deletes the ORGANIZATION key `id` of the organization; false when there is none.
  virtual absl::StatusOr<bool> DeleteOrganizationApiKey(const std::string& org_id,
                                                        const std::string& id) = 0;

  virtual absl::StatusOr<std::optional<UserRecord>> GetUser(const std::string& id) = 0;

  // Organization memberships, oldest user first.
  virtual absl::StatusOr<std::vector<MembershipRecord>> ListOrgMemberships(
      const std::string& org_id) = 0;
  virtual absl::StatusOr<std::optional<MembershipRecord>> GetOrgMembership(
      const std::string& org_id, const std::string& user_id) = 0;
  // Also removes the user's project memberships in the organization's
  // projects. Returns false when there was no membership.
  virtual absl::StatusOr<bool> DeleteOrgMembership(const std::string& org_id,
                                                   const std::string& user_id) = 0;

  // Project memberships (a role that overrides the organization role).
  virtual absl::Status UpsertProjectMembership(const std::string& project_id,
                                               const std::string& user_id,
                                               const std::string& role) = 0;
  virtual absl::StatusOr<std::vector<MembershipRecord>> ListProjectMemberships(
      const std::string& project_id) = 0;
  virtual absl::StatusOr<std::optional<MembershipRecord>> GetProjectMembership(
      const std::string& project_id, const std::string& user_id) = 0;
  // Returns false when there was no membership.
  virtual absl::StatusOr<bool> DeleteProjectMembership(const std::string& project_id,
                                                       const std::string& user_id) = 0;

  // ---- Web UI accounts and sessions. The defaults answer kUnimplemented so
  // that test doubles of the other methods need not implement these.

  // The user with this email, compared case-insensitively.
  virtual absl::StatusOr<std::optional<UserRecord>> FindUserByEmail(const std::string& email) {
    return absl::UnimplementedError("FindUserByEmail");
  }
  // Inserts a new user (unlike UpsertUser, never changes an existing one);
  // kAlreadyExists when the email, compared case-insensitively, is taken.
  virtual absl::Status CreateUser(const UserRecord& user) {
    return absl::UnimplementedError("CreateUser");
  }
  // Organizations that have no members at all (e.g. the one a zero-config
  // first start creates), oldest first.
  virtual absl::StatusOr<std::vector<OrganizationRecord>> ListOrganizationsWithoutMembers() {
    return absl::UnimplementedError("ListOrganizationsWithoutMembers");
  }
  // The user's organization memberships, oldest organization first.
  virtual absl::StatusOr<std::vector<UserOrgMembershipRecord>> ListOrgMembershipsOfUser(
      const std::string& user_id) {
    return absl::UnimplementedError("ListOrgMembershipsOfUser");
  }
  // The user's project-level roles as (project id, role) pairs.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListProjectMembershipsOfUser(const std::string& user_id) {
    return absl::UnimplementedError("ListProjectMembershipsOfUser");
  }
  virtual absl::Status CreateUserSession(const UserSessionRecord& session) {
    return absl::UnimplementedError("CreateUserSession");
  }
  // The session with this token hash, expired or not (the caller checks).
  virtual absl::StatusOr<std::optional<UserSessionRecord>> GetUserSession(
      const std::string& token_hash) {
    return absl::UnimplementedError("GetUserSession");
  }
  virtual absl::Status DeleteUserSession(const std::string& token_hash) {
    return absl::UnimplementedError("DeleteUserSession");
  }
  // Removes sessions that expired before `now_ms`; returns how many.
  virtual absl::StatusOr<int64_t> DeleteExpiredUserSessions(int64_t now_ms) {
    return absl::UnimplementedError("DeleteExpiredUserSessions");
  }
  // Ends every session of the user except the one with `keep_token_hash`;
  // returns how many.
  virtual absl::StatusOr<int64_t> DeleteOtherUserSessions(const std::string& user_id,
                                                          const std::string& keep_token_hash) {
    return absl::UnimplementedError("DeleteOtherUserSessions");
  }
  // Sets the name and password hash of the user `user.id` (email and
  // creation time stay); kNotFound when there is no such user.
  virtual absl::Status UpdateUser(const UserRecord& user) {
    return absl::UnimplementedError("UpdateUser");
  }

  // Invitations. One per organization and email: inviting again replaces
  // the role.
  virtual absl::Status UpsertInvitation(const InvitationRecord& invitation) {
    return absl::UnimplementedError("UpsertInvitation");
  }
  // The organization's pending invitations, oldest first.
  virtual absl::StatusOr<std::vector<InvitationRecord>> ListInvitations(const std::string& org_id) {
    return absl::UnimplementedError("ListInvitations");
  }
  // Returns false when the organization has no such invitation.
  virtual absl::StatusOr<bool> DeleteInvitation(const std::string& org_id, const std::string& id) {
    return absl::UnimplementedError("DeleteInvitation");
  }
  // Turns every invitation of `email` (compared case-insensitively) into an
  // organization membership of `user_id` and deletes them, in one
  // transaction; returns the invitations applied.
  virtual absl::StatusOr<std::vector<InvitationRecord>> AcceptInvitations(
      const std::string& email, const std::string& user_id) {
    return absl::UnimplementedError("AcceptInvitations");
  }

  virtual absl::Status Ping() = 0;
  virtual void Close() = 0;
};

}  // namespace loupe
