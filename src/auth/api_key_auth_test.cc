#include "auth/api_key_auth.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "common/hash.h"

namespace loupe {
namespace {

// A store holding at most one API key, recording the uses written to it.
class FakeMetaStore : public MetaStore {
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
  absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyByHash(const std::string& hash) override {
    ++lookups;
    if (key && key->fast_hashed_secret_key == hash) return key;
    return std::nullopt;
  }
  absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyByPublicKey(
      const std::string& public_key) override {
    ++lookups;
    if (key && key->public_key == public_key) return key;
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
  absl::Status TouchApiKey(const std::string& id, int64_t used_at_ms) override {
    touches.emplace_back(id, used_at_ms);
    return {};
  }
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

  // The one key the store holds (found by its hash or public key).
  std::optional<ApiKeyRecord> key;
  int lookups = 0;
  std::vector<std::pair<std::string, int64_t>> touches;
};

// The fast hash must equal Langfuse's so keys migrate between the servers:
// sha256_hex(secret || sha256_hex(SALT)).
TEST(ApiKeyHashTest, MatchesLangfuseFastHash) {
  FakeMetaStore store;
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
  // Cut by characters: a multi-byte character is kept whole, never split.
  EXPECT_EQ(ApiKeyAuthenticator::DisplaySecretKey(
                "sk-lf-\u00e9\u00e9\u00e9\u00e9\u00e9-\u00fc\u00fc\u00fc\u00fc"),
            "sk-lf-...\u00fc\u00fc\u00fc\u00fc");
  EXPECT_EQ(ApiKeyAuthenticator::DisplaySecretKey(
                "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"),
            "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9");
  EXPECT_EQ(ApiKeyAuthenticator::DisplaySecretKey("sk-\U0001F600abcdefghij\U0001F600"),
            "sk-\U0001F600ab...hij\U0001F600");
}

// "Basic base64(pk-lf-test:sk-lf-test)"
constexpr const char* kBasicHeader = "Basic cGstbGYtdGVzdDpzay1sZi10ZXN0";
constexpr int64_t kStart = 1'750'000'000'000;

class ApiKeyUseTest : public ::testing::Test {
 protected:
  ApiKeyUseTest() : auth_(store_, "salt", [this] { return now_; }) {
    ApiKeyRecord k;
    k.id = "key-1";
    k.public_key = "pk-lf-test";
    k.fast_hashed_secret_key = auth_.HashSecret("sk-lf-test");
    k.project_id = "proj";
    k.org_id = "org";
    store_.key = k;
  }

  FakeMetaStore store_;
  int64_t now_ = kStart;
  ApiKeyAuthenticator auth_;
};

TEST_F(ApiKeyUseTest, RecordsLastUseAtMostOncePerMinute) {
  ASSERT_TRUE(auth_.Authenticate(kBasicHeader).ok());
  now_ += 59'000;
  ASSERT_TRUE(auth_.Authenticate(kBasicHeader).ok());
  ASSERT_TRUE(auth_.Authenticate("Bearer pk-lf-test").ok());
  EXPECT_EQ(store_.touches, (std::vector<std::pair<std::string, int64_t>>{{"key-1", kStart}}));
  now_ += 1'000;
  ASSERT_TRUE(auth_.Authenticate(kBasicHeader).ok());
  EXPECT_EQ(store_.touches.size(), 2u);
  EXPECT_EQ(store_.touches.back().second, kStart + 60'000);
  EXPECT_EQ(store_.lookups, 2);  // the secret and the public key, each once: then cached
}

TEST_F(ApiKeyUseTest, StoredRecentUseIsNotWrittenAgain) {
  store_.key->last_used_at_ms = kStart - 10'000;  // e.g. before a restart
  ASSERT_TRUE(auth_.Authenticate(kBasicHeader).ok());
  EXPECT_TRUE(store_.touches.empty());
  now_ += 50'000;
  ASSERT_TRUE(auth_.Authenticate(kBasicHeader).ok());
  EXPECT_EQ(store_.touches.size(), 1u);
}

TEST_F(ApiKeyUseTest, ExpiredKeyIsRefusedEvenWhenCached) {
  store_.key->expires_at_ms = kStart + 1'000;
  ASSERT_TRUE(auth_.Authenticate(kBasicHeader).ok());
  ASSERT_TRUE(auth_.Authenticate("Bearer pk-lf-test").ok());
  now_ = kStart + 1'000;
  for (const char* header : {kBasicHeader, "Bearer pk-lf-test"}) {
    auto r = auth_.Authenticate(header);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(r.status().message(),
              "API key pk-lf-test expired at 2025-06-15T15:06:41.000Z. Confirm that you've "
              "configured the correct host.");
  }
  EXPECT_EQ(store_.touches.size(), 1u);  // only the use before it expired
}

}  // namespace
}  // namespace loupe
