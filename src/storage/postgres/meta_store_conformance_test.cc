// One suite for every MetaStore backend: the embedded SQLite store and the
// PostgreSQL one must answer each method alike. PostgreSQL runs when
// LOUPE_TEST_DATABASE_URL names a database (tests/scaleout does, against a
// real server); ids are unique per run, so the database may be reused.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/hash.h"
#include "storage/meta_store.h"
#include "storage/postgres/pg_meta_store.h"
#include "storage/sqlite/sqlite_meta_store.h"

namespace loupe {
namespace {

class MetaStoreConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      dir_ = std::filesystem::temp_directory_path() / ("loupe-meta-" + RandomHex(8));
      std::filesystem::create_directories(dir_);
      auto store = OpenSqliteMetaStore((dir_ / "meta.db").string());
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = *std::move(store);
    } else {
      const char* url = std::getenv("LOUPE_TEST_DATABASE_URL");
      if (!url || !*url) GTEST_SKIP() << "LOUPE_TEST_DATABASE_URL is not set";
      auto store = OpenPostgresMetaStore(url);
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = *std::move(store);
    }
    run_ = RandomHex(6);
  }

  void TearDown() override {
    if (store_) store_->Close();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  std::string Id(const std::string& name) const { return name + "-" + run_; }

  // An organization with one project.
  void MakeOrgAndProject(const std::string& org, const std::string& project) {
    ASSERT_TRUE(store_->UpsertOrganization({org, "Org " + org, 1000, R"({"a":1})"}).ok());
    ProjectRecord p;
    p.id = project;
    p.org_id = org;
    p.name = "Project " + project;
    p.created_at_ms = 2000;
    ASSERT_TRUE(store_->UpsertProject(p).ok());
  }

  ApiKeyRecord Key(const std::string& id, const std::string& org, const std::string& project) {
    ApiKeyRecord k;
    k.id = id;
    k.public_key = "pk-" + id;
    k.fast_hashed_secret_key = "hash-" + id;
    k.display_secret_key = "sk-...";
    k.scope = project.empty() ? "ORGANIZATION" : "PROJECT";
    k.project_id = project;
    k.org_id = org;
    k.created_at_ms = 3000;
    return k;
  }

  std::unique_ptr<MetaStore> store_;
  std::filesystem::path dir_;
  std::string run_;
};

TEST_P(MetaStoreConformanceTest, UpsertProjectMovesUpdatedAtOnlyOnChange) {
  const std::string org = Id("org"), project = Id("proj");
  MakeOrgAndProject(org, project);
  auto first = store_->GetProject(project);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->created_at_ms, 2000);
  EXPECT_EQ((*first)->metadata_json, "{}");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ProjectRecord same = **first;
  ASSERT_TRUE(store_->UpsertProject(same).ok());
  EXPECT_EQ((*store_->GetProject(project))->updated_at_ms, (*first)->updated_at_ms);
  same.retention_days = 30;
  ASSERT_TRUE(store_->UpsertProject(same).ok());
  auto changed = *store_->GetProject(project);
  EXPECT_GT(changed->updated_at_ms, (*first)->updated_at_ms);
  EXPECT_EQ(changed->retention_days, 30);
  // The organization keeps its metadata when upserted again.
  ASSERT_TRUE(store_->UpsertOrganization({org, "Renamed", 0, "{}"}).ok());
  auto o = *store_->GetOrganization(org);
  EXPECT_EQ(o->name, "Renamed");
  EXPECT_EQ(o->metadata_json, R"({"a":1})");
}

TEST_P(MetaStoreConformanceTest, ApiKeysCreateTouchListAndDelete) {
  const std::string org = Id("org"), project = Id("proj");
  MakeOrgAndProject(org, project);
  ASSERT_TRUE(store_->CreateApiKey(Key(Id("k1"), org, project)).ok());
  ApiKeyRecord dup = Key(Id("k2"), org, project);
  dup.public_key = "pk-" + Id("k1");
  EXPECT_EQ(store_->CreateApiKey(dup).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_->CreateApiKey(Key(Id("k3"), org, "")).ok());

  auto by_hash = *store_->FindApiKeyByHash("hash-" + Id("k1"));
  ASSERT_TRUE(by_hash.has_value());
  EXPECT_EQ(by_hash->project_id, project);
  EXPECT_FALSE(by_hash->note.has_value());
  EXPECT_FALSE(by_hash->last_used_at_ms.has_value());
  ASSERT_TRUE(store_->TouchApiKey(Id("k1"), 5000).ok());
  ASSERT_TRUE(store_->TouchApiKey(Id("k1"), 4000).ok());  // earlier: ignored
  EXPECT_EQ((*store_->FindApiKeyByPublicKey("pk-" + Id("k1")))->last_used_at_ms, 5000);

  auto project_keys = *store_->ListProjectApiKeys(project);
  ASSERT_EQ(project_keys.size(), 1u);
  auto org_keys = *store_->ListOrganizationApiKeys(org);
  ASSERT_EQ(org_keys.size(), 1u);
  EXPECT_EQ(org_keys[0].project_id, "");
  EXPECT_FALSE(*store_->DeleteProjectApiKey(project, Id("k3")));  // an organization key
  EXPECT_TRUE(*store_->DeleteOrganizationApiKey(org, Id("k3")));
  EXPECT_TRUE(*store_->DeleteProjectApiKey(project, Id("k1")));
  EXPECT_FALSE(*store_->DeleteProjectApiKey(project, Id("k1")));
}

TEST_P(MetaStoreConformanceTest, OrganizationsAndProjectsDelete) {
  const std::string org = Id("org"), project = Id("proj");
  MakeOrgAndProject(org, project);
  ASSERT_TRUE(store_->CreateApiKey(Key(Id("k"), org, project)).ok());
  EXPECT_EQ(store_->DeleteOrganization(org).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(*store_->FindProjectByName(org, "Project " + project));
  EXPECT_TRUE(*store_->SoftDeleteProject(org, project));
  EXPECT_FALSE(*store_->SoftDeleteProject(org, project));
  EXPECT_FALSE(store_->GetProject(project)->has_value());
  EXPECT_FALSE(store_->FindApiKeyByHash("hash-" + Id("k"))->has_value());
  EXPECT_TRUE(store_->ListProjectsOfOrganization(org)->empty());
  EXPECT_TRUE(*store_->DeleteOrganization(org));
  EXPECT_FALSE(*store_->DeleteOrganization(org));
  EXPECT_EQ(store_->UpdateOrganization({org, "x", 0, "{}"}).code(), absl::StatusCode::kNotFound);
}

TEST_P(MetaStoreConformanceTest, UsersMembershipsSessionsAndInvitations) {
  const std::string org = Id("org"), project = Id("proj");
  MakeOrgAndProject(org, project);
  const std::string email = Id("Ann") + "@Example.test";
  ASSERT_TRUE(store_->CreateUser({Id("u1"), email, "Ann", "hash", 10}).ok());
  EXPECT_EQ(store_->CreateUser({Id("u2"), Id("ann") + "@example.TEST", "A", "h", 11}).code(),
            absl::StatusCode::kAlreadyExists);
  auto found = *store_->FindUserByEmail(Id("ann") + "@example.test");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, Id("u1"));
  EXPECT_EQ(*store_->UpsertUser({"", email, "Ann B", "hash2", 0}), Id("u1"));
  ASSERT_TRUE(store_->UpdateUser({Id("u1"), "", "Ann C", "hash3", 0}).ok());
  EXPECT_EQ((*store_->GetUser(Id("u1")))->name, "Ann C");
  EXPECT_EQ(store_->UpdateUser({Id("nobody"), "", "x", "y", 0}).code(),
            absl::StatusCode::kNotFound);

  EXPECT_EQ(store_->ListOrganizationsWithoutMembers()->back().id, org);
  ASSERT_TRUE(store_->UpsertOrgMembership(org, Id("u1"), "ADMIN").ok());
  ASSERT_TRUE(store_->UpsertProjectMembership(project, Id("u1"), "VIEWER").ok());
  EXPECT_EQ((*store_->GetOrgMembership(org, Id("u1")))->role, "ADMIN");
  auto of_user = *store_->ListOrgMembershipsOfUser(Id("u1"));
  ASSERT_EQ(of_user.size(), 1u);
  EXPECT_EQ(of_user[0].org.id, org);
  EXPECT_EQ(store_->ListProjectMembershipsOfUser(Id("u1"))->size(), 1u);
  EXPECT_EQ((*store_->ListProjectMemberships(project))[0].email, email);
  EXPECT_TRUE(*store_->DeleteOrgMembership(org, Id("u1")));
  EXPECT_TRUE(store_->ListProjectMemberships(project)->empty());

  ASSERT_TRUE(store_->CreateUserSession({Id("t1"), Id("u1"), 100, 200}).ok());
  ASSERT_TRUE(store_->CreateUserSession({Id("t2"), Id("u1"), 100, 999999}).ok());
  ASSERT_TRUE(store_->CreateUserSession({Id("t3"), Id("u1"), 100, 999999}).ok());
  EXPECT_EQ((*store_->GetUserSession(Id("t1")))->expires_at_ms, 200);
  EXPECT_GE(*store_->DeleteExpiredUserSessions(300), 1);
  EXPECT_FALSE(store_->GetUserSession(Id("t1"))->has_value());
  EXPECT_EQ(*store_->DeleteOtherUserSessions(Id("u1"), Id("t2")), 1);
  ASSERT_TRUE(store_->DeleteUserSession(Id("t2")).ok());
  EXPECT_FALSE(store_->GetUserSession(Id("t2"))->has_value());

  const std::string invitee = Id("bob") + "@example.test";
  ASSERT_TRUE(
      store_->UpsertInvitation({Id("i1"), org, Id("Bob") + "@Example.test", "MEMBER", Id("u1"), 50})
          .ok());
  ASSERT_TRUE(store_->UpsertInvitation({Id("i2"), org, invitee, "VIEWER", Id("u1"), 60}).ok());
  auto invitations = *store_->ListInvitations(org);
  ASSERT_EQ(invitations.size(), 1u);  // one per organization and email
  EXPECT_EQ(invitations[0].role, "VIEWER");
  EXPECT_EQ(invitations[0].email, invitee);
  ASSERT_TRUE(store_->CreateUser({Id("u3"), invitee, "Bob", "h", 20}).ok());
  auto accepted = *store_->AcceptInvitations(Id("BOB") + "@example.test", Id("u3"));
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ((*store_->GetOrgMembership(org, Id("u3")))->role, "VIEWER");
  EXPECT_TRUE(store_->ListInvitations(org)->empty());
}

TEST_P(MetaStoreConformanceTest, ManyThreadsAtOnce) {
  const std::string org = Id("org"), project = Id("proj");
  MakeOrgAndProject(org, project);
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string id = Id("k" + std::to_string(t) + "-" + std::to_string(i));
        EXPECT_TRUE(store_->CreateApiKey(Key(id, org, project)).ok());
        EXPECT_TRUE(store_->FindApiKeyByHash("hash-" + id)->has_value());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store_->ListProjectApiKeys(project)->size(), 16u * 20u);
}

INSTANTIATE_TEST_SUITE_P(Backends, MetaStoreConformanceTest,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace loupe
