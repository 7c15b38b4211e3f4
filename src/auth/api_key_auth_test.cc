#include "auth/api_key_auth.h"

#include <gtest/gtest.h>

#include "common/hash.h"

namespace loupe {
namespace {

// The fast hash must equal Langfuse's so keys migrate between the servers:
// sha256_hex(secret || sha256_hex(SALT)).
TEST(ApiKeyHashTest, MatchesLangfuseFastHash) {
  class NoStore : public MetaStore {
   public:
    absl::Status UpsertOrganization(const OrganizationRecord&) override { return {}; }
    absl::Status UpsertProject(const ProjectRecord&) override { return {}; }
    absl::Status UpsertApiKey(const ApiKeyRecord&) override { return {}; }
    absl::StatusOr<std::string> UpsertUser(const UserRecord&) override { return ""; }
    absl::Status UpsertOrgMembership(const std::string&, const std::string&,
                                     const std::string&) override {
      return {};
    }
    absl::StatusOr<std::optional<OrganizationRecord>> GetOrganization(const std::string&) override {
      return std::nullopt;
    }
    absl::StatusOr<std::optional<ProjectRecord>> GetProject(const std::string&) override {
      return std::nullopt;
    }
    absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyByHash(const std::string&) override {
      return std::nullopt;
    }
    absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyByPublicKey(const std::string&) override {
      return std::nullopt;
    }
    absl::StatusOr<int64_t> CountApiKeys() override { return 0; }
    absl::StatusOr<std::vector<OrganizationRecord>> ListOrganizations() override {
      return std::vector<OrganizationRecord>();
    }
    absl::Status UpdateOrganization(const OrganizationRecord&) override { return {}; }
    absl::StatusOr<bool> DeleteOrganization(const std::string&) override { return false; }
    absl::StatusOr<bool> DeleteOrganizationApiKey(const std::string&, const std::string&) override {
      return false;
    }
    absl::StatusOr<std::vector<ProjectRecord>> ListProjectsOfOrganization(
        const std::string&) override {
      return std::vector<ProjectRecord>();
    }
    absl::StatusOr<std::optional<ProjectRecord>> FindProjectByName(const std::string&,
                                                                   const std::string&) override {
      return std::nullopt;
    }
    absl::StatusOr<bool> SoftDeleteProject(const std::string&, const std::string&) override {
      return false;
    }
    absl::Status CreateApiKey(const ApiKeyRecord&) override { return {}; }
    absl::StatusOr<std::vector<ApiKeyRecord>> ListProjectApiKeys(const std::string&) override {
      return std::vector<ApiKeyRecord>();
    }
    absl::StatusOr<std::vector<ApiKeyRecord>> ListOrganizationApiKeys(const std::string&) override {
      return std::vector<ApiKeyRecord>();
    }
    absl::StatusOr<bool> DeleteProjectApiKey(const std::string&, const std::string&) override {
      return false;
    }
    absl::StatusOr<std::optional<UserRecord>> GetUser(const std::string&) override {
      return std::nullopt;
    }
    absl::StatusOr<std::vector<MembershipRecord>> ListOrgMemberships(const std::string&) override {
      return std::vector<MembershipRecord>();
    }
    absl::StatusOr<std::optional<MembershipRecord>> GetOrgMembership(const std::string&,
                                                                     const std::string&) override {
      return std::nullopt;
    }
    absl::StatusOr<bool> DeleteOrgMembership(const std::string&, const std::string&) override {
      return false;
    }
    absl::Status UpsertProjectMembership(const std::string&, const std::string&,
                                         const std::string&) override {
      return {};
    }
    absl::StatusOr<std::vector<MembershipRecord>> ListProjectMemberships(
        const std::string&) override {
      return std::vector<MembershipRecord>();
    }
    absl::StatusOr<std::optional<MembershipRecord>> GetProjectMembership(
        const std::string&, const std::string&) override {
      return std::nullopt;
    }
    absl::StatusOr<bool> DeleteProjectMembership(const std::string&, const std::string&) override {
      return false;
    }
    absl::Status Ping() override { return {}; }
    void Close() override {}
  } store;
  ApiKeyAuthenticator auth(store, "mysalt");
  EXPECT_EQ(auth.HashSecret("sk-lf-secret"), Sha256Hex("sk-lf-secret" + Sha256Hex("mysalt")));
  EXPECT_NE(auth.HashSecret("sk-lf-secret"), auth.HashSecret("sk-lf-secreT"));
  // Unknown credentials are refused with the contract's hint.
  auto r = auth.Authenticate("Basic cGstbGYtdGVzdDpzay1sZi10ZXN0");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("Confirm that you've configured the correct host"),
            std::string::npos);
  EXPECT_EQ(auth.Authenticate("").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Authenticate("Basic !!!").status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Authenticate("Basic cGs6").status().code(),  // "pk:" has no secret
            absl::StatusCode::kUnauthenticated);
}

TEST(ApiKeyHashTest, DisplaySecretKey) {
  EXPECT_EQ(ApiKeyAuthenticator::DisplaySecretKey("sk-lf-1234567890abcdef"), "sk-lf-...cdef");
}

}  // namespace
}  // namespace loupe
