#pragma once

// MetaStore: the relational data around the traces: organizations, projects,
// users, memberships and API keys (and, later, prompts, datasets, models…).
// Embedded: SQLite; scale-out: PostgreSQL. All methods are thread-safe and
// durable on return.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loupe {

struct OrganizationRecord {
  std::string id;
  std::string name;
  int64_t created_at_ms = 0;
};

struct ProjectRecord {
  std::string id;
  std::string org_id;
  std::string name;
  std::string metadata_json = "{}";
  std::optional<int> retention_days;
  int64_t created_at_ms = 0;
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
};

struct UserRecord {
  std::string id;
  std::string email;
  std::string name;
  std::string password_hash;  // argon2id encoded string
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

  virtual absl::Status Ping() = 0;
  virtual void Close() = 0;
};

}  // namespace loupe
