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
