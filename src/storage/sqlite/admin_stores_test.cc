// Unit tests of the management stores on SQLite: each opens its own
// connection to one meta.db, as the server does.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/hash.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_annotation_queue_store.h"
#include "storage/sqlite/sqlite_comment_store.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/sqlite_llm_connection_store.h"
#include "storage/sqlite/sqlite_meta_store.h"
#include "storage/sqlite/sqlite_model_store.h"
#include "storage/sqlite/sqlite_score_config_store.h"

namespace loupe {
namespace {

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() / ("loupe-admin-" + RandomHex(8));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string MetaDb() const { return (path_ / "meta.db").string(); }

 private:
  std::filesystem::path path_;
};

ScoreConfigRecord NumericConfig(const std::string& project, const std::string& id,
                                int64_t created) {
  ScoreConfigRecord c;
  c.id = id;
  c.project_id = project;
  c.name = "accuracy";
  c.data_type = "NUMERIC";
  c.min_value = 0;
  c.max_value = 1;
  c.created_at_ms = c.updated_at_ms = created;
  return c;
}

TEST(ScoreConfigStoreTest, CreateGetUpdateList) {
  TempDir dir;
  auto store = OpenSqliteScoreConfigStore(dir.MetaDb());
  ASSERT_TRUE(store.ok()) << store.status();
  ScoreConfigStore& s = **store;

  ASSERT_TRUE(s.Create(NumericConfig("p1", "c1", 1000)).ok());
  ScoreConfigRecord cat;
  cat.id = "c2";
  cat.project_id = "p1";
  cat.name = "sentiment";
  cat.data_type = "CATEGORICAL";
  cat.categories = std::vector<ScoreConfigCategory>{{0, "bad"}, {1, "good"}};
  cat.description = "how it felt";
  cat.created_at_ms = cat.updated_at_ms = 2000;
  ASSERT_TRUE(s.Create(cat).ok());
  ASSERT_TRUE(s.Create(NumericConfig("p2", "c3", 3000)).ok());
  EXPECT_EQ(s.Create(NumericConfig("p1", "c1", 1000)).code(), absl::StatusCode::kAlreadyExists);

  auto got = s.Get("p1", "c2");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->name, "sentiment");
  ASSERT_TRUE((*got)->categories.has_value());
  ASSERT_EQ((*got)->categories->size(), 2u);
  EXPECT_EQ((*got)->categories->at(1).label, "good");
  EXPECT_EQ((*got)->categories->at(1).value, 1);
  EXPECT_EQ((*got)->description, "how it felt");
  EXPECT_FALSE((*got)->min_value.has_value());

  // Configs are scoped by project.
  auto other = s.Get("p2", "c2");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());

  ScoreConfigRecord updated = NumericConfig("p1", "c1", 1000);
  updated.is_archived = true;
  updated.max_value = 10;
  updated.updated_at_ms = 5000;
  ASSERT_TRUE(s.Update(updated).ok());
  got = s.Get("p1", "c1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((*got)->is_archived);
  EXPECT_EQ((*got)->max_value, 10);
  EXPECT_EQ((*got)->updated_at_ms, 5000);
  EXPECT_EQ(s.Update(NumericConfig("p2", "c1", 1)).code(), absl::StatusCode::kNotFound);

  auto page = s.List("p1", {1, 1});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total_items, 2);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "c2");  // newest first
  page = s.List("p1", {2, 1});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "c1");
}

TEST(ScoreConfigStoreTest, SurvivesReopen) {
  TempDir dir;
  {
    auto store = OpenSqliteScoreConfigStore(dir.MetaDb());
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->Create(NumericConfig("p", "c", 1)).ok());
  }
  auto store = OpenSqliteScoreConfigStore(dir.MetaDb());
  ASSERT_TRUE(store.ok());
  auto got = (*store)->Get("p", "c");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->max_value, 1);
}

ModelPrice TieredModel(const std::string& project, const std::string& id, const std::string& name) {
  ModelPrice m;
  m.id = id;
  m.project_id = project;
  m.model_name = name;
  m.match_pattern = "(?i)^" + name + "$";
  m.start_date_ms = 1700000000000;
  m.unit = "TOKENS";
  m.tokenizer_id = "openai";
  m.tokenizer_config_json = R"({"tokenizerModel":"gpt-4o"})";
  PricingTier standard;
  standard.id = id + "-standard";
  standard.name = "Standard";
  standard.is_default = true;
  standard.prices = {{"input", 1e-6}, {"output", 2e-6}};
  PricingTier large;
  large.id = id + "-large";
  large.name = "Large context";
  large.priority = 1;
  large.conditions.push_back({"^input", PricingCondition::Op::kGte, 200000, true});
  large.prices = {{"input", 3e-6}, {"output", 4e-6}};
  m.tiers = {standard, large};
  m.created_at_ms = m.updated_at_ms = 42;
  return m;
}

TEST(ModelStoreTest, RoundTripsTiersAndScopesByProject) {
  TempDir dir;
  auto store = OpenSqliteModelStore(dir.MetaDb());
  ASSERT_TRUE(store.ok()) << store.status();
  ModelStore& s = **store;
  ASSERT_TRUE(s.Create(TieredModel("p1", "m1", "my-model")).ok());
  ASSERT_TRUE(s.Create(TieredModel("p2", "m2", "my-model")).ok());  // names are per project
  EXPECT_EQ(s.Create(TieredModel("p1", "m3", "my-model")).code(), absl::StatusCode::kAlreadyExists);

  auto got = s.Get("p1", "m1");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  const ModelPrice& m = **got;
  EXPECT_EQ(m.model_name, "my-model");
  EXPECT_EQ(m.start_date_ms, 1700000000000);
  EXPECT_EQ(m.unit, "TOKENS");
  EXPECT_EQ(m.tokenizer_config_json, R"({"tokenizerModel":"gpt-4o"})");
  ASSERT_EQ(m.tiers.size(), 2u);
  EXPECT_TRUE(m.tiers[0].is_default);
  EXPECT_EQ(m.tiers[0].prices.at("output"), 2e-6);
  ASSERT_EQ(m.tiers[1].conditions.size(), 1u);
  EXPECT_EQ(m.tiers[1].conditions[0].op, PricingCondition::Op::kGte);
  EXPECT_EQ(m.tiers[1].conditions[0].value, 200000);
  EXPECT_TRUE(m.tiers[1].conditions[0].case_sensitive);
  EXPECT_EQ(m.tiers[1].priority, 1);

  auto none = s.Get("p2", "m1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto projects = s.ProjectsWithModels();
  ASSERT_TRUE(projects.ok());
  EXPECT_EQ(projects->size(), 2u);

  auto deleted = s.Delete("p2", "m1");
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(*deleted);
  deleted = s.Delete("p1", "m1");
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  auto list = s.ListProject("p1");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

CommentRecord Comment(const std::string& project, const std::string& id, const std::string& type,
                      const std::string& object, std::optional<std::string> author) {
  CommentRecord c;
  c.id = id;
  c.project_id = project;
  c.object_type = type;
  c.object_id = object;
  c.content = "comment " + id;
  c.author_user_id = std::move(author);
  c.created_at_ms = c.updated_at_ms = 7;
  return c;
}

TEST(CommentStoreTest, FiltersAndPages) {
  TempDir dir;
  auto store = OpenSqliteCommentStore(dir.MetaDb());
  ASSERT_TRUE(store.ok()) << store.status();
  CommentStore& s = **store;
  ASSERT_TRUE(s.Create(Comment("p", "c1", "TRACE", "t1", "u1")).ok());
  ASSERT_TRUE(s.Create(Comment("p", "c2", "TRACE", "t1", std::nullopt)).ok());
  ASSERT_TRUE(s.Create(Comment("p", "c3", "SESSION", "s1", "u1")).ok());
  ASSERT_TRUE(s.Create(Comment("other", "c4", "TRACE", "t1", "u1")).ok());

  auto got = s.Get("p", "c2");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->content, "comment c2");
  EXPECT_FALSE((*got)->author_user_id.has_value());
  EXPECT_FALSE(s.Get("other", "c2")->has_value());

  CommentQuery q;
  auto all = s.List("p", q);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->total_items, 3);
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->items[0].id, "c1");  // in write order

  q.object_type = "TRACE";
  q.object_id = "t1";
  auto trace = s.List("p", q);
  ASSERT_TRUE(trace.ok());
  EXPECT_EQ(trace->total_items, 2);

  q = CommentQuery();
  q.author_user_id = "u1";
  q.page = {2, 1};
  auto by_author = s.List("p", q);
  ASSERT_TRUE(by_author.ok());
  EXPECT_EQ(by_author->total_items, 2);
  ASSERT_EQ(by_author->items.size(), 1u);
  EXPECT_EQ(by_author->items[0].id, "c3");
}

TEST(AnnotationQueueStoreTest, QueuesItemsAndAssignments) {
  TempDir dir;
  auto store = OpenSqliteAnnotationQueueStore(dir.MetaDb());
  ASSERT_TRUE(store.ok()) << store.status();
  AnnotationQueueStore& s = **store;
  AnnotationQueueRecord q;
  q.id = "q1";
  q.project_id = "p";
  q.name = "review";
  q.score_config_ids = {"cfg1", "cfg2"};
  q.created_at_ms = q.updated_at_ms = 10;
  ASSERT_TRUE(s.CreateQueue(q).ok());
  AnnotationQueueRecord dup = q;
  dup.id = "q2";
  EXPECT_EQ(s.CreateQueue(dup).code(), absl::StatusCode::kAlreadyExists);
  dup.project_id = "other";
  EXPECT_TRUE(s.CreateQueue(dup).ok());  // names are per project

  auto got = s.GetQueue("p", "q1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->score_config_ids, (std::vector<std::string>{"cfg1", "cfg2"}));
  EXPECT_FALSE(s.GetQueue("other", "q1")->has_value());

  for (int i = 0; i < 3; ++i) {
    AnnotationQueueItemRecord item;
    item.id = "i" + std::to_string(i);
    item.project_id = "p";
    item.queue_id = "q1";
    item.object_id = "t" + std::to_string(i);
    item.object_type = "TRACE";
    item.status = i == 2 ? "COMPLETED" : "PENDING";
    item.created_at_ms = item.updated_at_ms = 100 + i;
    ASSERT_TRUE(s.CreateItem(item).ok());
  }
  auto pending = s.ListItems("p", "q1", std::string("PENDING"), {1, 50});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->total_items, 2);
  ASSERT_EQ(pending->items.size(), 2u);
  EXPECT_EQ(pending->items[0].id, "i1");  // newest first
  auto all = s.ListItems("p", "q1", std::nullopt, {1, 50});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->total_items, 3);

  auto item = s.GetItem("p", "q1", "i0");
  ASSERT_TRUE(item.ok() && item->has_value());
  AnnotationQueueItemRecord done = **item;
  done.status = "COMPLETED";
  done.completed_at_ms = 500;
  done.updated_at_ms = 500;
  ASSERT_TRUE(s.UpdateItem(done).ok());
  EXPECT_EQ((*s.GetItem("p", "q1", "i0"))->completed_at_ms, 500);
  EXPECT_FALSE(s.GetItem("p", "q2", "i0")->has_value());  // wrong queue

  auto deleted = s.DeleteItem("p", "q1", "i0");
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(*s.DeleteItem("p", "q1", "i0"));

  ASSERT_TRUE(s.Assign("p", "q1", "u1").ok());
  ASSERT_TRUE(s.Assign("p", "q1", "u1").ok());
  ASSERT_TRUE(s.Assign("p", "q1", "u2").ok());
  EXPECT_EQ(s.AssignedUsers("p", "q1")->size(), 2u);
  ASSERT_TRUE(s.Unassign("p", "q1", "u1").ok());
  ASSERT_TRUE(s.Unassign("p", "q1", "nobody").ok());
  EXPECT_EQ(*s.AssignedUsers("p", "q1"), std::vector<std::string>{"u2"});
}

TEST(LlmConnectionStoreTest, UpsertsByProvider) {
  TempDir dir;
  auto store = OpenSqliteLlmConnectionStore(dir.MetaDb());
  ASSERT_TRUE(store.ok()) << store.status();
  LlmConnectionStore& s = **store;
  LlmConnectionRecord c;
  c.id = "first-id";
  c.project_id = "p";
  c.provider = "openai-prod";
  c.adapter = "openai";
  c.encrypted_secret_key = "aa:bb:cc";
  c.display_secret_key = "...1234";
  c.custom_models = {"gpt-x"};
  c.extra_header_keys = {"X-Org"};
  c.encrypted_extra_headers = "dd:ee:ff";
  c.created_at_ms = c.updated_at_ms = 1;
  auto first = s.Upsert(c);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);

  LlmConnectionRecord again = c;
  again.id = "second-id";
  again.adapter = "azure";
  again.base_url = "https://example.test";
  again.created_at_ms = again.updated_at_ms = 2;
  auto second = s.Upsert(again);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->connection.id, "first-id");  // the provider's connection keeps its id
  EXPECT_EQ(second->connection.created_at_ms, 1);
  EXPECT_EQ(second->connection.updated_at_ms, 2);

  auto got = s.Get("p", "first-id");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->adapter, "azure");
  EXPECT_EQ((*got)->base_url, "https://example.test");
  EXPECT_EQ((*got)->custom_models, std::vector<std::string>{"gpt-x"});
  EXPECT_EQ((*got)->encrypted_extra_headers, "dd:ee:ff");

  LlmConnectionRecord other = c;
  other.provider = "anthropic";
  other.id = "third-id";
  other.created_at_ms = 3;
  ASSERT_TRUE(s.Upsert(other).ok());
  auto page = s.List("p", {1, 50});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total_items, 2);
  EXPECT_EQ(page->items[0].id, "third-id");  // newest first

  EXPECT_FALSE(*s.Delete("other-project", "first-id"));
  EXPECT_TRUE(*s.Delete("p", "first-id"));
  EXPECT_FALSE(s.Get("p", "first-id")->has_value());
}

TEST(AdminStoresTest, ShareOneDatabaseFile) {
  TempDir dir;
  auto configs = OpenSqliteScoreConfigStore(dir.MetaDb());
  auto models = OpenSqliteModelStore(dir.MetaDb());
  auto comments = OpenSqliteCommentStore(dir.MetaDb());
  auto queues = OpenSqliteAnnotationQueueStore(dir.MetaDb());
  auto connections = OpenSqliteLlmConnectionStore(dir.MetaDb());
  ASSERT_TRUE(configs.ok() && models.ok() && comments.ok() && queues.ok() && connections.ok());
  ASSERT_TRUE((*configs)->Create(NumericConfig("p", "c", 1)).ok());
  ASSERT_TRUE((*comments)->Create(Comment("p", "x", "TRACE", "t", std::nullopt)).ok());
  EXPECT_TRUE((*configs)->Get("p", "c")->has_value());
  EXPECT_TRUE((*comments)->Get("p", "x")->has_value());
}

// The organization administration part of the MetaStore.
class MetaStoreAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenSqliteMetaStore(dir_.MetaDb());
    ASSERT_TRUE(store.ok()) << store.status();
    meta_ = std::move(*store);
    ASSERT_TRUE(meta_->UpsertOrganization({"org", "Org", 1}).ok());
    ASSERT_TRUE(meta_->UpsertOrganization({"other-org", "Other", 2}).ok());
  }

  ProjectRecord Project(const std::string& id, const std::string& org, int64_t created) {
    ProjectRecord p;
    p.id = id;
    p.org_id = org;
    p.name = "name of " + id;
    p.created_at_ms = created;
    return p;
  }

  ApiKeyRecord Key(const std::string& id, const std::string& scope, const std::string& project,
                   const std::string& org) {
    ApiKeyRecord k;
    k.id = id;
    k.public_key = "pk-" + id;
    k.fast_hashed_secret_key = "hash-" + id;
    k.display_secret_key = "sk-...";
    k.scope = scope;
    k.project_id = project;
    k.org_id = org;
    k.created_at_ms = 100;
    return k;
  }

  TempDir dir_;
  std::unique_ptr<MetaStore> meta_;
};

TEST_F(MetaStoreAdminTest, InvitationsBecomeMembershipsOnAccept) {
  InvitationRecord inv{"i1", "org", "New@Example.com", "VIEWER", "u-admin", 10};
  ASSERT_TRUE(meta_->UpsertInvitation(inv).ok());
  // Inviting the same email again replaces the role; one invitation stays.
  inv.id = "i2";
  inv.role = "MEMBER";
  ASSERT_TRUE(meta_->UpsertInvitation(inv).ok());
  ASSERT_TRUE(
      meta_->UpsertInvitation({"i3", "other-org", "new@example.com", "ADMIN", "x", 20}).ok());
  ASSERT_TRUE(meta_->UpsertInvitation({"i4", "org", "else@example.com", "VIEWER", "x", 30}).ok());
  auto listed = meta_->ListInvitations("org");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].email, "new@example.com");
  EXPECT_EQ((*listed)[0].role, "MEMBER");
  EXPECT_EQ((*listed)[0].id, "i1");  // the first id is kept

  ASSERT_TRUE(meta_->CreateUser({"u1", "new@example.com", "New", "hash", 1}).ok());
  auto accepted = meta_->AcceptInvitations("NEW@example.com", "u1");
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->size(), 2u);
  EXPECT_EQ((*meta_->GetOrgMembership("org", "u1"))->role, "MEMBER");
  EXPECT_EQ((*meta_->GetOrgMembership("other-org", "u1"))->role, "ADMIN");
  EXPECT_EQ(meta_->ListInvitations("org")->size(), 1u);  // else@ stays
  EXPECT_TRUE(meta_->AcceptInvitations("new@example.com", "u1")->empty());

  EXPECT_FALSE(*meta_->DeleteInvitation("other-org", "i4"));  // not that organization's
  EXPECT_TRUE(*meta_->DeleteInvitation("org", "i4"));
  EXPECT_TRUE(meta_->ListInvitations("org")->empty());
}

TEST_F(MetaStoreAdminTest, UpdateUserAndEndOtherSessions) {
  ASSERT_TRUE(meta_->CreateUser({"u1", "a@example.com", "A", "hash-1", 1}).ok());
  ASSERT_TRUE(meta_->UpdateUser({"u1", "ignored@example.com", "B", "hash-2", 0}).ok());
  auto u = meta_->GetUser("u1");
  ASSERT_TRUE(u.ok() && u->has_value());
  EXPECT_EQ((*u)->name, "B");
  EXPECT_EQ((*u)->password_hash, "hash-2");
  EXPECT_EQ((*u)->email, "a@example.com");
  EXPECT_EQ((*u)->created_at_ms, 1);
  EXPECT_EQ(meta_->UpdateUser({"nobody", "", "x", "y", 0}).code(), absl::StatusCode::kNotFound);

  for (const char* token : {"t1", "t2", "t3"}) {
    ASSERT_TRUE(meta_->CreateUserSession({token, "u1", 1, 1000}).ok());
  }
  ASSERT_TRUE(meta_->CreateUserSession({"t4", "u2", 1, 1000}).ok());
  auto ended = meta_->DeleteOtherUserSessions("u1", "t2");
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(*ended, 2);
  EXPECT_TRUE(meta_->GetUserSession("t2")->has_value());
  EXPECT_FALSE(meta_->GetUserSession("t1")->has_value());
  EXPECT_TRUE(meta_->GetUserSession("t4")->has_value());
}

TEST_F(MetaStoreAdminTest, ProjectsOfAnOrganizationAndSoftDelete) {
  ASSERT_TRUE(meta_->UpsertProject(Project("p1", "org", 10)).ok());
  ASSERT_TRUE(meta_->UpsertProject(Project("p2", "org", 20)).ok());
  ASSERT_TRUE(meta_->UpsertProject(Project("p3", "other-org", 30)).ok());
  ASSERT_TRUE(meta_->CreateApiKey(Key("k1", "PROJECT", "p1", "org")).ok());
  ASSERT_TRUE(meta_->CreateApiKey(Key("k2", "ORGANIZATION", "", "org")).ok());

  auto projects = meta_->ListProjectsOfOrganization("org");
  ASSERT_TRUE(projects.ok());
  ASSERT_EQ(projects->size(), 2u);
  EXPECT_EQ((*projects)[0].id, "p1");
  EXPECT_GE((*projects)[0].updated_at_ms, (*projects)[0].created_at_ms);
  auto by_name = meta_->FindProjectByName("org", "name of p2");
  ASSERT_TRUE(by_name.ok() && by_name->has_value());
  EXPECT_EQ((*by_name)->id, "p2");
  EXPECT_FALSE(meta_->FindProjectByName("other-org", "name of p2")->has_value());

  // Another organization cannot delete it.
  EXPECT_FALSE(*meta_->SoftDeleteProject("other-org", "p1"));
  EXPECT_TRUE(*meta_->SoftDeleteProject("org", "p1"));
  EXPECT_FALSE(*meta_->SoftDeleteProject("org", "p1"));
  EXPECT_FALSE(meta_->GetProject("p1")->has_value());
  EXPECT_EQ(meta_->ListProjectsOfOrganization("org")->size(), 1u);
  // Its project keys went with it; the organization key stays.
  EXPECT_FALSE(meta_->FindApiKeyByPublicKey("pk-k1")->has_value());
  EXPECT_TRUE(meta_->FindApiKeyByPublicKey("pk-k2")->has_value());
}

TEST_F(MetaStoreAdminTest, ApiKeys) {
  ASSERT_TRUE(meta_->UpsertProject(Project("p", "org", 10)).ok());
  ApiKeyRecord k = Key("k1", "PROJECT", "p", "org");
  k.note = "ci";
  ASSERT_TRUE(meta_->CreateApiKey(k).ok());
  ApiKeyRecord same_public = Key("k2", "PROJECT", "p", "org");
  same_public.public_key = k.public_key;
  EXPECT_EQ(meta_->CreateApiKey(same_public).code(), absl::StatusCode::kAlreadyExists);
  ApiKeyRecord same_secret = Key("k3", "PROJECT", "p", "org");
  same_secret.fast_hashed_secret_key = k.fast_hashed_secret_key;
  EXPECT_EQ(meta_->CreateApiKey(same_secret).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(meta_->CreateApiKey(Key("k4", "ORGANIZATION", "", "org")).ok());

  auto project_keys = meta_->ListProjectApiKeys("p");
  ASSERT_TRUE(project_keys.ok());
  ASSERT_EQ(project_keys->size(), 1u);
  EXPECT_EQ((*project_keys)[0].note, "ci");
  EXPECT_FALSE((*project_keys)[0].expires_at_ms.has_value());
  auto org_keys = meta_->ListOrganizationApiKeys("org");
  ASSERT_TRUE(org_keys.ok());
  ASSERT_EQ(org_keys->size(), 1u);
  EXPECT_EQ((*org_keys)[0].id, "k4");

  EXPECT_FALSE(*meta_->DeleteProjectApiKey("p", "k4"));  // not a project key
  EXPECT_FALSE(*meta_->DeleteOrganizationApiKey("other-org", "k4"));
  EXPECT_TRUE(*meta_->DeleteOrganizationApiKey("org", "k4"));
  EXPECT_TRUE(*meta_->DeleteProjectApiKey("p", "k1"));
  EXPECT_TRUE(meta_->ListProjectApiKeys("p")->empty());
}

TEST_F(MetaStoreAdminTest, MembershipsCascadeFromTheOrganization) {
  ASSERT_TRUE(meta_->UpsertProject(Project("p", "org", 10)).ok());
  ASSERT_TRUE(meta_->UpsertProject(Project("elsewhere", "other-org", 10)).ok());
  auto user = meta_->UpsertUser({"", "a@b.c", "Ada", "hash", 5});
  ASSERT_TRUE(user.ok());
  ASSERT_TRUE(meta_->UpsertOrgMembership("org", *user, "MEMBER").ok());
  ASSERT_TRUE(meta_->UpsertOrgMembership("other-org", *user, "MEMBER").ok());
  ASSERT_TRUE(meta_->UpsertProjectMembership("p", *user, "ADMIN").ok());
  ASSERT_TRUE(meta_->UpsertProjectMembership("elsewhere", *user, "VIEWER").ok());

  auto members = meta_->ListOrgMemberships("org");
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].email, "a@b.c");
  EXPECT_EQ((*members)[0].role, "MEMBER");
  EXPECT_EQ((*meta_->GetProjectMembership("p", *user))->role, "ADMIN");
  auto got = meta_->GetUser(*user);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->name, "Ada");

  EXPECT_TRUE(*meta_->DeleteOrgMembership("org", *user));
  EXPECT_FALSE(meta_->GetOrgMembership("org", *user)->has_value());
  EXPECT_TRUE(meta_->ListProjectMemberships("p")->empty());
  // Roles in other organizations' projects stay.
  EXPECT_EQ(meta_->ListProjectMemberships("elsewhere")->size(), 1u);
  EXPECT_FALSE(*meta_->DeleteOrgMembership("org", *user));
  EXPECT_TRUE(*meta_->DeleteProjectMembership("elsewhere", *user));
  EXPECT_FALSE(*meta_->DeleteProjectMembership("elsewhere", *user));
}

TEST_F(MetaStoreAdminTest, Organizations) {
  OrganizationRecord org{"new", "New", 3};
  org.metadata_json = R"({"tier":"gold"})";
  ASSERT_TRUE(meta_->UpsertOrganization(org).ok());
  EXPECT_EQ((*meta_->GetOrganization("new"))->metadata_json, R"({"tier":"gold"})");
  // Re-applying the headless initialization keeps the metadata.
  ASSERT_TRUE(meta_->UpsertOrganization({"new", "Renamed", 0}).ok());
  EXPECT_EQ((*meta_->GetOrganization("new"))->metadata_json, R"({"tier":"gold"})");
  EXPECT_EQ(meta_->ListOrganizations()->size(), 3u);

  org.name = "Newer";
  org.metadata_json = "{}";
  ASSERT_TRUE(meta_->UpdateOrganization(org).ok());
  EXPECT_EQ((*meta_->GetOrganization("new"))->name, "Newer");
  EXPECT_EQ(meta_->UpdateOrganization({"missing", "x", 0}).code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(meta_->UpsertProject(Project("p", "new", 10)).ok());
  ASSERT_TRUE(meta_->CreateApiKey(Key("k", "ORGANIZATION", "", "new")).ok());
  EXPECT_EQ(meta_->DeleteOrganization("new").status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(*meta_->SoftDeleteProject("new", "p"));
  EXPECT_TRUE(*meta_->DeleteOrganization("new"));
  EXPECT_FALSE(meta_->GetOrganization("new")->has_value());
  EXPECT_FALSE(meta_->FindApiKeyByPublicKey("pk-k")->has_value());
  EXPECT_FALSE(*meta_->DeleteOrganization("new"));
}

// A meta.db written before the organization API existed is upgraded in place.
TEST(MetaStoreUpgradeTest, VersionOneDatabaseGainsTheNewColumns) {
  TempDir dir;
  {
    auto db = sqlite::Db::Open(dir.MetaDb(), false);
    ASSERT_TRUE(db.ok());
    std::vector<sqlite::Migration> first = {sqlite::MetaStoreMigrations().front()};
    ASSERT_TRUE(sqlite::ApplyMigrations(**db, "meta", first).ok());
    ASSERT_TRUE((*db)
                    ->Exec("INSERT INTO organizations VALUES ('o', 'O', 1);"
                           "INSERT INTO projects(id, org_id, name, created_at) "
                           "VALUES ('p', 'o', 'P', 42)")
                    .ok());
  }
  auto meta = OpenSqliteMetaStore(dir.MetaDb());
  ASSERT_TRUE(meta.ok()) << meta.status();
  auto project = (*meta)->GetProject("p");
  ASSERT_TRUE(project.ok() && project->has_value());
  EXPECT_EQ((*project)->updated_at_ms, 42);
  EXPECT_EQ((*(*meta)->GetOrganization("o"))->metadata_json, "{}");
}

}  // namespace
}  // namespace loupe
