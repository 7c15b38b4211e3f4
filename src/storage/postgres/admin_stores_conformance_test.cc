// One suite for every backend of the management stores (score configs,
// models, comments, annotation queues, LLM connections) and of the
// organization administration part of the MetaStore: the embedded SQLite
// stores, each on its own connection to one meta.db as the server opens
// them, and the PostgreSQL ones, sharing one pool. PostgreSQL runs when
// LOUPE_TEST_DATABASE_URL names a database (tests/scaleout does, against a
// real server); ids are unique per run, so the database may be reused.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/hash.h"
#include "storage/postgres/pg_admin_stores.h"
#include "storage/postgres/pg_client.h"
#include "storage/postgres/pg_meta_store.h"
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

const char* DatabaseUrl() {
  const char* url = std::getenv("LOUPE_TEST_DATABASE_URL");
  return url && *url ? url : nullptr;
}

// The five stores of one backend.
struct Stores {
  std::unique_ptr<ScoreConfigStore> configs;
  std::unique_ptr<ModelStore> models;
  std::unique_ptr<CommentStore> comments;
  std::unique_ptr<AnnotationQueueStore> queues;
  std::unique_ptr<LlmConnectionStore> connections;
};

class AdminStoresConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres" && !DatabaseUrl()) {
      GTEST_SKIP() << "LOUPE_TEST_DATABASE_URL is not set";
    }
    run_ = RandomHex(6);
    ASSERT_NO_FATAL_FAILURE(Open(&s_));
  }

  bool postgres() const { return GetParam() == "postgres"; }

  // Opens the stores as a (re)starting server does: on SQLite each on its
  // own connection to meta.db, on PostgreSQL all on one new pool.
  void Open(Stores* out, int max_connections = 10) {
    if (!postgres()) {
      auto configs = OpenSqliteScoreConfigStore(dir_.MetaDb());
      auto models = OpenSqliteModelStore(dir_.MetaDb());
      auto comments = OpenSqliteCommentStore(dir_.MetaDb());
      auto queues = OpenSqliteAnnotationQueueStore(dir_.MetaDb());
      auto connections = OpenSqliteLlmConnectionStore(dir_.MetaDb());
      ASSERT_TRUE(configs.ok()) << configs.status();
      ASSERT_TRUE(models.ok()) << models.status();
      ASSERT_TRUE(comments.ok()) << comments.status();
      ASSERT_TRUE(queues.ok()) << queues.status();
      ASSERT_TRUE(connections.ok()) << connections.status();
      *out = {*std::move(configs), *std::move(models), *std::move(comments), *std::move(queues),
              *std::move(connections)};
      return;
    }
    auto opened = pg::Pool::Open({DatabaseUrl(), max_connections});
    ASSERT_TRUE(opened.ok()) << opened.status();
    std::shared_ptr<pg::Pool> pool = *std::move(opened);
    auto configs = OpenPostgresScoreConfigStore(pool);
    auto models = OpenPostgresModelStore(pool);
    auto comments = OpenPostgresCommentStore(pool);
    auto queues = OpenPostgresAnnotationQueueStore(pool);
    auto connections = OpenPostgresLlmConnectionStore(pool);
    ASSERT_TRUE(configs.ok()) << configs.status();
    ASSERT_TRUE(models.ok()) << models.status();
    ASSERT_TRUE(comments.ok()) << comments.status();
    ASSERT_TRUE(queues.ok()) << queues.status();
    ASSERT_TRUE(connections.ok()) << connections.status();
    *out = {*std::move(configs), *std::move(models), *std::move(comments), *std::move(queues),
            *std::move(connections)};
  }

  // A name unique to this run (the PostgreSQL database is reused).
  std::string Id(const std::string& name) const { return name + "-" + run_; }

  TempDir dir_;
  std::string run_;
  Stores s_;
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

TEST_P(AdminStoresConformanceTest, ScoreConfigsCreateGetUpdateList) {
  ScoreConfigStore& s = *s_.configs;
  const std::string p1 = Id("p1"), p2 = Id("p2");
  const std::string c1 = Id("c1"), c2 = Id("c2"), c3 = Id("c3");

  ASSERT_TRUE(s.Create(NumericConfig(p1, c1, 1000)).ok());
  ScoreConfigRecord cat;
  cat.id = c2;
  cat.project_id = p1;
  cat.name = "sentiment";
  cat.data_type = "CATEGORICAL";
  cat.categories = std::vector<ScoreConfigCategory>{{0, "bad"}, {1, "good"}};
  cat.description = "how it felt";
  cat.created_at_ms = cat.updated_at_ms = 2000;
  ASSERT_TRUE(s.Create(cat).ok());
  ASSERT_TRUE(s.Create(NumericConfig(p2, c3, 3000)).ok());
  EXPECT_EQ(s.Create(NumericConfig(p1, c1, 1000)).code(), absl::StatusCode::kAlreadyExists);
  // The id is taken whatever the project.
  EXPECT_EQ(s.Create(NumericConfig(p2, c1, 1000)).code(), absl::StatusCode::kAlreadyExists);

  auto got = s.Get(p1, c2);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->name, "sentiment");
  ASSERT_TRUE((*got)->categories.has_value());
  ASSERT_EQ((*got)->categories->size(), 2u);
  EXPECT_EQ((*got)->categories->at(1).label, "good");
  EXPECT_EQ((*got)->categories->at(1).value, 1);
  EXPECT_EQ((*got)->description, "how it felt");
  EXPECT_FALSE((*got)->min_value.has_value());
  EXPECT_FALSE((*got)->is_archived);

  // Configs are scoped by project.
  auto other = s.Get(p2, c2);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());

  ScoreConfigRecord updated = NumericConfig(p1, c1, 1000);
  updated.is_archived = true;
  updated.max_value = 10;
  updated.updated_at_ms = 5000;
  ASSERT_TRUE(s.Update(updated).ok());
  got = s.Get(p1, c1);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((*got)->is_archived);
  EXPECT_EQ((*got)->max_value, 10);
  EXPECT_EQ((*got)->updated_at_ms, 5000);
  EXPECT_EQ((*got)->created_at_ms, 1000);
  EXPECT_EQ(s.Update(NumericConfig(p2, c1, 1)).code(), absl::StatusCode::kNotFound);

  auto page = s.List(p1, {1, 1});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total_items, 2);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, c2);  // newest first
  page = s.List(p1, {2, 1});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, c1);
  // Past the end: no rows, the same total.
  page = s.List(p1, {3, 1});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total_items, 2);
  EXPECT_TRUE(page->items.empty());
}

TEST_P(AdminStoresConformanceTest, ScoreConfigsSurviveReopen) {
  ASSERT_TRUE(s_.configs->Create(NumericConfig(Id("p"), Id("c"), 1)).ok());
  s_ = Stores();
  Stores reopened;
  ASSERT_NO_FATAL_FAILURE(Open(&reopened));
  auto got = reopened.configs->Get(Id("p"), Id("c"));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->max_value, 1);
}

// Numbers come back bit for bit, text byte for byte.
TEST_P(AdminStoresConformanceTest, ScoreConfigValuesRoundTripExactly) {
  ScoreConfigRecord c = NumericConfig(Id("p"), Id("c"), 1);
  c.min_value = 0.1;
  c.max_value = 1e300;
  c.name = "it's \"quoted\" \\ $1 ?1 — ünïcode 🎉";
  c.description = "";
  c.categories = std::vector<ScoreConfigCategory>{{0.30000000000000004, "a'b"}, {-2.5e-12, ""}};
  ASSERT_TRUE(s_.configs->Create(c).ok());
  auto got = s_.configs->Get(Id("p"), Id("c"));
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  EXPECT_EQ((*got)->min_value, 0.1);
  EXPECT_EQ((*got)->max_value, 1e300);
  EXPECT_EQ((*got)->name, c.name);
  EXPECT_EQ((*got)->description, "");  // empty, not absent
  ASSERT_EQ((*got)->categories->size(), 2u);
  EXPECT_EQ((*got)->categories->at(0).value, 0.30000000000000004);
  EXPECT_EQ((*got)->categories->at(0).label, "a'b");
  EXPECT_EQ((*got)->categories->at(1).value, -2.5e-12);
  // No categories and an empty list differ.
  ScoreConfigRecord empty = NumericConfig(Id("p"), Id("empty"), 2);
  empty.categories = std::vector<ScoreConfigCategory>{};
  ASSERT_TRUE(s_.configs->Create(empty).ok());
  auto listed = s_.configs->List(Id("p"), {1, 50});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->items.size(), 2u);
  ASSERT_TRUE(listed->items[0].categories.has_value());
  EXPECT_TRUE(listed->items[0].categories->empty());
  EXPECT_EQ(listed->items[1].categories->size(), 2u);

  // A NaN is stored as NULL (SQLite's rule), an infinity as itself.
  ScoreConfigRecord odd = NumericConfig(Id("p-odd"), Id("odd"), 1);
  odd.min_value = std::nan("");
  odd.max_value = -std::numeric_limits<double>::infinity();
  ASSERT_TRUE(s_.configs->Create(odd).ok());
  auto odd_listed = s_.configs->List(Id("p-odd"), {1, 50});
  ASSERT_TRUE(odd_listed.ok());
  ASSERT_EQ(odd_listed->items.size(), 1u);
  EXPECT_FALSE(odd_listed->items[0].min_value.has_value());
  EXPECT_EQ(odd_listed->items[0].max_value, -std::numeric_limits<double>::infinity());
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

// The projects of this run among ProjectsWithModels(), in its order.
std::vector<std::string> RunProjects(const std::vector<std::string>& all, const std::string& run) {
  std::vector<std::string> out;
  for (const std::string& p : all) {
    if (p.size() > run.size() && p.compare(p.size() - run.size(), run.size(), run) == 0) {
      out.push_back(p);
    }
  }
  return out;
}

TEST_P(AdminStoresConformanceTest, ModelsRoundTripTiersAndScopeByProject) {
  ModelStore& s = *s_.models;
  const std::string p1 = Id("p1"), p2 = Id("p2");
  ASSERT_TRUE(s.Create(TieredModel(p1, Id("m1"), "my-model")).ok());
  ASSERT_TRUE(s.Create(TieredModel(p2, Id("m2"), "my-model")).ok());  // names are per project
  EXPECT_EQ(s.Create(TieredModel(p1, Id("m3"), "my-model")).code(),
            absl::StatusCode::kAlreadyExists);
  // A taken id is refused the same way.
  EXPECT_EQ(s.Create(TieredModel(p2, Id("m1"), "another")).code(),
            absl::StatusCode::kAlreadyExists);

  auto got = s.Get(p1, Id("m1"));
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status();
  const ModelPrice& m = **got;
  EXPECT_EQ(m.model_name, "my-model");
  EXPECT_EQ(m.match_pattern, "(?i)^my-model$");
  EXPECT_EQ(m.start_date_ms, 1700000000000);
  EXPECT_EQ(m.unit, "TOKENS");
  EXPECT_EQ(m.tokenizer_id, "openai");
  EXPECT_EQ(m.tokenizer_config_json, R"({"tokenizerModel":"gpt-4o"})");
  EXPECT_EQ(m.created_at_ms, 42);
  ASSERT_EQ(m.tiers.size(), 2u);
  EXPECT_TRUE(m.tiers[0].is_default);
  EXPECT_EQ(m.tiers[0].prices.at("output"), 2e-6);
  ASSERT_EQ(m.tiers[1].conditions.size(), 1u);
  EXPECT_EQ(m.tiers[1].conditions[0].op, PricingCondition::Op::kGte);
  EXPECT_EQ(m.tiers[1].conditions[0].value, 200000);
  EXPECT_TRUE(m.tiers[1].conditions[0].case_sensitive);
  EXPECT_EQ(m.tiers[1].priority, 1);

  auto none = s.Get(p2, Id("m1"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto projects = s.ProjectsWithModels();
  ASSERT_TRUE(projects.ok());
  EXPECT_EQ(RunProjects(*projects, run_).size(), 2u);

  auto deleted = s.Delete(p2, Id("m1"));
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(*deleted);
  deleted = s.Delete(p1, Id("m1"));
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  auto list = s.ListProject(p1);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

// Unset optional fields stay unset; a project's models come oldest first,
// ties in the order they were created.
TEST_P(AdminStoresConformanceTest, ModelsWithoutOptionalFieldsAndInCreationOrder) {
  ModelPrice bare;
  bare.id = Id("bare");
  bare.project_id = Id("p");
  bare.model_name = "bare";
  bare.match_pattern = "bare";
  bare.created_at_ms = bare.updated_at_ms = 7;
  ASSERT_TRUE(s_.models->Create(bare).ok());
  ModelPrice b = TieredModel(Id("p"), Id("b"), "b");
  b.created_at_ms = 7;
  ASSERT_TRUE(s_.models->Create(b).ok());
  ModelPrice a = TieredModel(Id("p"), Id("a"), "a");
  a.created_at_ms = 7;
  ASSERT_TRUE(s_.models->Create(a).ok());
  ModelPrice old = TieredModel(Id("p"), Id("old"), "old");
  old.created_at_ms = 1;
  ASSERT_TRUE(s_.models->Create(old).ok());
  auto list = s_.models->ListProject(Id("p"));
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 4u);
  EXPECT_EQ((*list)[0].id, Id("old"));
  EXPECT_EQ((*list)[1].id, Id("bare"));
  EXPECT_EQ((*list)[2].id, Id("b"));
  EXPECT_EQ((*list)[3].id, Id("a"));
  const ModelPrice& got = (*list)[1];
  EXPECT_FALSE(got.start_date_ms.has_value());
  EXPECT_EQ(got.unit, "");
  EXPECT_EQ(got.tokenizer_id, "");
  EXPECT_EQ(got.tokenizer_config_json, "");
  EXPECT_TRUE(got.tiers.empty());
}

// Project ids compare byte for byte, whatever the database's collation.
TEST_P(AdminStoresConformanceTest, ProjectsWithModelsInByteOrder) {
  const std::vector<std::string> projects = {"b-" + run_, "B-" + run_, "a-" + run_, "_-" + run_,
                                             "A-" + run_};
  int n = 0;
  for (const std::string& p : projects) {
    ASSERT_TRUE(s_.models->Create(TieredModel(p, Id("m" + std::to_string(n++)), "m")).ok());
  }
  ASSERT_TRUE(s_.models->Create(TieredModel(projects[0], Id("again"), "other")).ok());
  auto all = s_.models->ProjectsWithModels();
  ASSERT_TRUE(all.ok());
  std::vector<std::string> expected = projects;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(RunProjects(*all, run_), expected);
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

TEST_P(AdminStoresConformanceTest, CommentsFilterAndPage) {
  CommentStore& s = *s_.comments;
  const std::string p = Id("p");
  ASSERT_TRUE(s.Create(Comment(p, Id("c1"), "TRACE", "t1", "u1")).ok());
  ASSERT_TRUE(s.Create(Comment(p, Id("c2"), "TRACE", "t1", std::nullopt)).ok());
  ASSERT_TRUE(s.Create(Comment(p, Id("c3"), "SESSION", "s1", "u1")).ok());
  ASSERT_TRUE(s.Create(Comment(Id("other"), Id("c4"), "TRACE", "t1", "u1")).ok());

  auto got = s.Get(p, Id("c2"));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->content, "comment " + Id("c2"));
  EXPECT_FALSE((*got)->author_user_id.has_value());
  EXPECT_EQ((*got)->created_at_ms, 7);
  EXPECT_FALSE(s.Get(Id("other"), Id("c2"))->has_value());

  CommentQuery q;
  auto all = s.List(p, q);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->total_items, 3);
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->items[0].id, Id("c1"));  // in write order
  EXPECT_EQ(all->items[1].id, Id("c2"));
  EXPECT_EQ(all->items[2].id, Id("c3"));

  q.object_type = "TRACE";
  q.object_id = "t1";
  auto trace = s.List(p, q);
  ASSERT_TRUE(trace.ok());
  EXPECT_EQ(trace->total_items, 2);

  q = CommentQuery();
  q.author_user_id = "u1";
  q.page = {2, 1};
  auto by_author = s.List(p, q);
  ASSERT_TRUE(by_author.ok());
  EXPECT_EQ(by_author->total_items, 2);
  ASSERT_EQ(by_author->items.size(), 1u);
  EXPECT_EQ(by_author->items[0].id, Id("c3"));

  q = CommentQuery();
  q.object_type = "OBSERVATION";
  auto nothing = s.List(p, q);
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(nothing->total_items, 0);
  EXPECT_TRUE(nothing->items.empty());
}

// Ids are generated by the server; a duplicate is a failed write on both
// backends (there is no uniqueness rule to report).
TEST_P(AdminStoresConformanceTest, DuplicateCommentAndItemIdsFailAlike) {
  ASSERT_TRUE(s_.comments->Create(Comment(Id("p"), Id("c"), "TRACE", "t", std::nullopt)).ok());
  EXPECT_EQ(s_.comments->Create(Comment(Id("p"), Id("c"), "TRACE", "t", std::nullopt)).code(),
            absl::StatusCode::kInternal);
  AnnotationQueueItemRecord item;
  item.id = Id("i");
  item.project_id = Id("p");
  item.queue_id = Id("q");
  item.object_id = "t";
  item.object_type = "TRACE";
  item.status = "PENDING";
  ASSERT_TRUE(s_.queues->CreateItem(item).ok());
  EXPECT_EQ(s_.queues->CreateItem(item).code(), absl::StatusCode::kInternal);
}

AnnotationQueueItemRecord Item(const std::string& project, const std::string& queue,
                               const std::string& id, const std::string& status, int64_t created) {
  AnnotationQueueItemRecord item;
  item.id = id;
  item.project_id = project;
  item.queue_id = queue;
  item.object_id = "t-" + id;
  item.object_type = "TRACE";
  item.status = status;
  item.created_at_ms = item.updated_at_ms = created;
  return item;
}

TEST_P(AdminStoresConformanceTest, AnnotationQueuesItemsAndAssignments) {
  AnnotationQueueStore& s = *s_.queues;
  const std::string p = Id("p"), q1 = Id("q1"), q2 = Id("q2");
  AnnotationQueueRecord q;
  q.id = q1;
  q.project_id = p;
  q.name = "review";
  q.score_config_ids = {"cfg1", "cfg2"};
  q.created_at_ms = q.updated_at_ms = 10;
  ASSERT_TRUE(s.CreateQueue(q).ok());
  AnnotationQueueRecord dup = q;
  dup.id = q2;
  EXPECT_EQ(s.CreateQueue(dup).code(), absl::StatusCode::kAlreadyExists);
  dup.project_id = Id("other");
  EXPECT_TRUE(s.CreateQueue(dup).ok());  // names are per project
  AnnotationQueueRecord same_id = q;
  same_id.name = "another";
  EXPECT_EQ(s.CreateQueue(same_id).code(), absl::StatusCode::kAlreadyExists);

  auto got = s.GetQueue(p, q1);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->score_config_ids, (std::vector<std::string>{"cfg1", "cfg2"}));
  EXPECT_FALSE((*got)->description.has_value());
  EXPECT_FALSE(s.GetQueue(Id("other"), q1)->has_value());

  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(s.CreateItem(Item(p, q1, Id("i" + std::to_string(i)),
                                  i == 2 ? "COMPLETED" : "PENDING", 100 + i))
                    .ok());
  }
  auto pending = s.ListItems(p, q1, std::string("PENDING"), {1, 50});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->total_items, 2);
  ASSERT_EQ(pending->items.size(), 2u);
  EXPECT_EQ(pending->items[0].id, Id("i1"));  // newest first
  auto all = s.ListItems(p, q1, std::nullopt, {1, 50});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->total_items, 3);
  EXPECT_EQ(s.ListItems(p, q2, std::nullopt, {1, 50})->total_items, 0);

  auto item = s.GetItem(p, q1, Id("i0"));
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_FALSE((*item)->completed_at_ms.has_value());
  AnnotationQueueItemRecord done = **item;
  done.status = "COMPLETED";
  done.completed_at_ms = 500;
  done.updated_at_ms = 500;
  ASSERT_TRUE(s.UpdateItem(done).ok());
  EXPECT_EQ((*s.GetItem(p, q1, Id("i0")))->completed_at_ms, 500);
  EXPECT_EQ((*s.GetItem(p, q1, Id("i0")))->status, "COMPLETED");
  EXPECT_FALSE(s.GetItem(p, q2, Id("i0"))->has_value());  // wrong queue
  AnnotationQueueItemRecord elsewhere = done;
  elsewhere.queue_id = q2;
  EXPECT_EQ(s.UpdateItem(elsewhere).code(), absl::StatusCode::kNotFound);

  auto deleted = s.DeleteItem(p, q1, Id("i0"));
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(*s.DeleteItem(p, q1, Id("i0")));

  ASSERT_TRUE(s.Assign(p, q1, "u1").ok());
  ASSERT_TRUE(s.Assign(p, q1, "u1").ok());
  ASSERT_TRUE(s.Assign(p, q1, "u2").ok());
  EXPECT_EQ(s.AssignedUsers(p, q1)->size(), 2u);
  EXPECT_TRUE(s.AssignedUsers(p, q2)->empty());
  ASSERT_TRUE(s.Unassign(p, q1, "u1").ok());
  ASSERT_TRUE(s.Unassign(p, q1, "nobody").ok());
  EXPECT_EQ(*s.AssignedUsers(p, q1), std::vector<std::string>{"u2"});
}

// Queues and items created in the same millisecond come by id, descending,
// byte for byte (SQLite's order), whatever the database's collation.
TEST_P(AdminStoresConformanceTest, QueueAndItemTiesBreakByIdBytes) {
  const std::string p = Id("p");
  const std::vector<std::string> ids = {"B" + run_, "a" + run_, "Z" + run_, "_" + run_, "b" + run_};
  for (const std::string& id : ids) {
    AnnotationQueueRecord q;
    q.id = id;
    q.project_id = p;
    q.name = "queue " + id;
    q.created_at_ms = q.updated_at_ms = 5;
    ASSERT_TRUE(s_.queues->CreateQueue(q).ok());
    ASSERT_TRUE(s_.queues->CreateItem(Item(p, Id("q"), "item-" + id, "PENDING", 5)).ok());
  }
  std::vector<std::string> expected = ids;
  std::sort(expected.rbegin(), expected.rend());
  auto queues = s_.queues->ListQueues(p, {1, 50});
  ASSERT_TRUE(queues.ok());
  EXPECT_EQ(queues->total_items, 5);
  std::vector<std::string> got;
  for (const auto& q : queues->items) got.push_back(q.id);
  EXPECT_EQ(got, expected);
  auto items = s_.queues->ListItems(p, Id("q"), std::nullopt, {2, 2});
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(items->total_items, 5);
  ASSERT_EQ(items->items.size(), 2u);
  EXPECT_EQ(items->items[0].id, "item-" + expected[2]);
  EXPECT_EQ(items->items[1].id, "item-" + expected[3]);
}

LlmConnectionRecord Connection(const std::string& project, const std::string& id,
                               const std::string& provider, int64_t created) {
  LlmConnectionRecord c;
  c.id = id;
  c.project_id = project;
  c.provider = provider;
  c.adapter = "openai";
  c.encrypted_secret_key = "aa:bb:cc";
  c.display_secret_key = "...1234";
  c.created_at_ms = c.updated_at_ms = created;
  return c;
}

TEST_P(AdminStoresConformanceTest, LlmConnectionsUpsertByProvider) {
  LlmConnectionStore& s = *s_.connections;
  const std::string p = Id("p");
  LlmConnectionRecord c = Connection(p, Id("first"), "openai-prod", 1);
  c.custom_models = {"gpt-x"};
  c.extra_header_keys = {"X-Org"};
  c.encrypted_extra_headers = "dd:ee:ff";
  auto first = s.Upsert(c);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->connection.id, Id("first"));

  LlmConnectionRecord again = c;
  again.id = Id("second");
  again.adapter = "azure";
  again.base_url = "https://example.test";
  again.with_default_models = false;
  again.config_json = R"({"region":"eu"})";
  again.created_at_ms = again.updated_at_ms = 2;
  auto second = s.Upsert(again);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->connection.id, Id("first"));  // the provider's connection keeps its id
  EXPECT_EQ(second->connection.created_at_ms, 1);
  EXPECT_EQ(second->connection.updated_at_ms, 2);

  auto got = s.Get(p, Id("first"));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->adapter, "azure");
  EXPECT_EQ((*got)->base_url, "https://example.test");
  EXPECT_EQ((*got)->custom_models, std::vector<std::string>{"gpt-x"});
  EXPECT_EQ((*got)->extra_header_keys, std::vector<std::string>{"X-Org"});
  EXPECT_EQ((*got)->encrypted_extra_headers, "dd:ee:ff");
  EXPECT_FALSE((*got)->with_default_models);
  EXPECT_EQ((*got)->config_json, R"({"region":"eu"})");
  EXPECT_EQ((*got)->created_at_ms, 1);
  EXPECT_FALSE(s.Get(p, Id("second"))->has_value());

  LlmConnectionRecord other = c;
  other.provider = "anthropic";
  other.id = Id("third");
  other.created_at_ms = 3;
  ASSERT_TRUE(s.Upsert(other).ok());
  auto page = s.List(p, {1, 50});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total_items, 2);
  EXPECT_EQ(page->items[0].id, Id("third"));  // newest first
  EXPECT_TRUE((*s.Get(p, Id("third")))->with_default_models);
  EXPECT_FALSE((*s.Get(p, Id("third")))->base_url.has_value());

  EXPECT_FALSE(*s.Delete(Id("other-project"), Id("first")));
  EXPECT_TRUE(*s.Delete(p, Id("first")));
  EXPECT_FALSE(s.Get(p, Id("first"))->has_value());
  EXPECT_EQ(s.List(p, {1, 50})->total_items, 1);
}

// Replacing a connection writes it anew: among connections created in the
// same millisecond it now comes first (SQLite's INSERT OR REPLACE).
TEST_P(AdminStoresConformanceTest, ReplacedConnectionMovesToTheFrontOfItsTies) {
  LlmConnectionStore& s = *s_.connections;
  const std::string p = Id("p");
  ASSERT_TRUE(s.Upsert(Connection(p, Id("a"), "a", 5)).ok());
  ASSERT_TRUE(s.Upsert(Connection(p, Id("b"), "b", 5)).ok());
  auto before = s.List(p, {1, 50});
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->items.size(), 2u);
  EXPECT_EQ(before->items[0].id, Id("b"));
  ASSERT_TRUE(s.Upsert(Connection(p, Id("ignored"), "a", 9)).ok());
  auto after = s.List(p, {1, 50});
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->items.size(), 2u);
  EXPECT_EQ(after->items[0].id, Id("a"));
  EXPECT_EQ(after->items[0].created_at_ms, 5);
  EXPECT_EQ(after->items[0].updated_at_ms, 9);
  EXPECT_EQ(after->items[1].id, Id("b"));
}

TEST_P(AdminStoresConformanceTest, ShareOneDatabase) {
  ASSERT_TRUE(s_.configs->Create(NumericConfig(Id("p"), Id("c"), 1)).ok());
  ASSERT_TRUE(s_.comments->Create(Comment(Id("p"), Id("x"), "TRACE", "t", std::nullopt)).ok());
  EXPECT_TRUE(s_.configs->Get(Id("p"), Id("c"))->has_value());
  EXPECT_TRUE(s_.comments->Get(Id("p"), Id("x"))->has_value());
}

// Many writers at once (on PostgreSQL they could as well be many
// processes): each uniqueness rule lets exactly one through, and upserts of
// one provider leave one connection.
TEST_P(AdminStoresConformanceTest, RacingWritersKeepTheUniquenessRules) {
  const std::string p = Id("p");
  constexpr int kThreads = 8;
  std::atomic<int> configs_ok{0}, models_ok{0}, queues_ok{0}, created{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string n = std::to_string(t);
      auto count = [&](const absl::Status& s, std::atomic<int>& ok) {
        if (s.ok()) {
          ++ok;
        } else if (s.code() != absl::StatusCode::kAlreadyExists) {
          ++failures;
          ADD_FAILURE() << s;
        }
      };
      count(s_.configs->Create(NumericConfig(p, Id("same-config"), t)), configs_ok);
      count(s_.models->Create(TieredModel(p, Id("model" + n), "same-name")), models_ok);
      AnnotationQueueRecord q;
      q.id = Id("queue" + n);
      q.project_id = p;
      q.name = "same-name";
      count(s_.queues->CreateQueue(q), queues_ok);
      auto up = s_.connections->Upsert(Connection(p, Id("conn" + n), "same-provider", 1));
      if (!up.ok()) {
        ++failures;
        ADD_FAILURE() << up.status();
      } else if (up->created) {
        ++created;
      }
      for (int i = 0; i < 5; ++i) {
        if (!s_.queues->Assign(p, Id("queue"), "same-user").ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(configs_ok.load(), 1);
  EXPECT_EQ(models_ok.load(), 1);
  EXPECT_EQ(queues_ok.load(), 1);
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(s_.models->ListProject(p)->size(), 1u);
  EXPECT_EQ(s_.queues->ListQueues(p, {1, 50})->total_items, 1);
  auto connections = s_.connections->List(p, {1, 50});
  ASSERT_TRUE(connections.ok());
  ASSERT_EQ(connections->total_items, 1);
  EXPECT_EQ(*s_.queues->AssignedUsers(p, Id("queue")), std::vector<std::string>{"same-user"});
}

// Listings take whatever page the API asks for.
TEST_P(AdminStoresConformanceTest, PagesPastTheEndAndOfEveryListing) {
  const std::string p = Id("p");
  for (int i = 0; i < 5; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(s_.comments->Create(Comment(p, Id("c" + n), "TRACE", "t", std::nullopt)).ok());
    ASSERT_TRUE(s_.connections->Upsert(Connection(p, Id("l" + n), "prov" + n, 10 + i)).ok());
  }
  CommentQuery q;
  q.page = {3, 2};
  auto last = s_.comments->List(p, q);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->total_items, 5);
  ASSERT_EQ(last->items.size(), 1u);
  EXPECT_EQ(last->items[0].id, Id("c4"));
  q.page = {4, 2};
  EXPECT_TRUE(s_.comments->List(p, q)->items.empty());
  auto connections = s_.connections->List(p, {2, 3});
  ASSERT_TRUE(connections.ok());
  EXPECT_EQ(connections->total_items, 5);
  ASSERT_EQ(connections->items.size(), 2u);
  EXPECT_EQ(connections->items[0].id, Id("l1"));
  EXPECT_EQ(connections->items[1].id, Id("l0"));
}

INSTANTIATE_TEST_SUITE_P(Backends, AdminStoresConformanceTest,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& param_info) { return param_info.param; });

// What only PostgreSQL has: other processes on the same database and a
// connection pool.
class PostgresAdminStoresTest : public AdminStoresConformanceTest {};

// Several Loupe processes share the database: a config updated by one is
// what the others read, even when they have read it before.
TEST_P(PostgresAdminStoresTest, ScoreConfigUpdatesAreSeenByOtherProcesses) {
  ASSERT_TRUE(s_.configs->Create(NumericConfig(Id("p"), Id("c"), 1)).ok());
  Stores other;
  ASSERT_NO_FATAL_FAILURE(Open(&other));
  ASSERT_TRUE(s_.configs->Get(Id("p"), Id("c"))->has_value());
  ScoreConfigRecord archived = NumericConfig(Id("p"), Id("c"), 1);
  archived.is_archived = true;
  archived.updated_at_ms = 2;
  ASSERT_TRUE(other.configs->Update(archived).ok());
  auto got = s_.configs->Get(Id("p"), Id("c"));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((*got)->is_archived);
}

// All five stores work on a pool of one connection: no method holds a
// connection while it waits for another.
TEST_P(PostgresAdminStoresTest, OneConnectionServesAllStores) {
  Stores narrow;
  ASSERT_NO_FATAL_FAILURE(Open(&narrow, 1));
  const std::string p = Id("p");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string n = std::to_string(t);
      EXPECT_TRUE(narrow.configs->Create(NumericConfig(p, Id("c" + n), t)).ok());
      EXPECT_TRUE(narrow.configs->List(p, {1, 10}).ok());
      EXPECT_TRUE(narrow.models->Create(TieredModel(p, Id("m" + n), "m" + n)).ok());
      EXPECT_TRUE(narrow.comments->Create(Comment(p, Id("x" + n), "TRACE", "t", "u")).ok());
      EXPECT_TRUE(narrow.connections->Upsert(Connection(p, Id("l" + n), "shared", t)).ok());
      EXPECT_TRUE(narrow.queues->Assign(p, Id("q"), "u" + n).ok());
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(narrow.configs->List(p, {1, 10})->total_items, 4);
  EXPECT_EQ(narrow.models->ListProject(p)->size(), 4u);
  EXPECT_EQ(narrow.comments->List(p, CommentQuery())->total_items, 4);
  EXPECT_EQ(narrow.connections->List(p, {1, 10})->total_items, 1);
  EXPECT_EQ(narrow.queues->AssignedUsers(p, Id("q"))->size(), 4u);
}

// PostgreSQL's text has no NUL character: a value with one is refused
// (kInvalidArgument) rather than stored cut short at it; SQLite keeps it.
TEST_P(PostgresAdminStoresTest, TextWithANulCharacterIsRefusedNotCut) {
  CommentRecord c = Comment(Id("p"), Id("c"), "TRACE", "t", std::nullopt);
  c.content = std::string("before\0after", 12);
  EXPECT_EQ(s_.comments->Create(c).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(s_.comments->Get(Id("p"), Id("c"))->has_value());
  LlmConnectionRecord conn = Connection(Id("p"), Id("l"), std::string("a\0b", 3), 1);
  EXPECT_EQ(s_.connections->Upsert(conn).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s_.connections->List(Id("p"), {1, 50})->total_items, 0);
}

INSTANTIATE_TEST_SUITE_P(Postgres, PostgresAdminStoresTest, ::testing::Values("postgres"),
                         [](const auto& param_info) { return param_info.param; });

// ---- The organization administration part of the MetaStore.

class MetaStoreAdminConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      auto store = OpenSqliteMetaStore(dir_.MetaDb());
      ASSERT_TRUE(store.ok()) << store.status();
      meta_ = *std::move(store);
    } else {
      if (!DatabaseUrl()) GTEST_SKIP() << "LOUPE_TEST_DATABASE_URL is not set";
      auto store = OpenPostgresMetaStore(DatabaseUrl());
      ASSERT_TRUE(store.ok()) << store.status();
      meta_ = *std::move(store);
    }
    ASSERT_TRUE(meta_->UpsertOrganization({org_, "Org", 1}).ok());
    ASSERT_TRUE(meta_->UpsertOrganization({other_org_, "Other", 2}).ok());
  }

  void TearDown() override {
    if (meta_) meta_->Close();
  }

  std::string Id(const std::string& name) const { return name + "-" + run_; }
  // An email unique to this run, as given (mixed case stays mixed).
  std::string Email(const std::string& local, const std::string& domain = "example.com") const {
    return local + "-" + run_ + "@" + domain;
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
  const std::string run_ = RandomHex(6);
  const std::string org_ = "org-" + run_;
  const std::string other_org_ = "other-org-" + run_;
  std::unique_ptr<MetaStore> meta_;
};

TEST_P(MetaStoreAdminConformanceTest, InvitationsBecomeMembershipsOnAccept) {
  InvitationRecord inv{Id("i1"), org_, Email("New", "Example.com"), "VIEWER", "u-admin", 10};
  ASSERT_TRUE(meta_->UpsertInvitation(inv).ok());
  // Inviting the same email again replaces the role; one invitation stays.
  inv.id = Id("i2");
  inv.role = "MEMBER";
  ASSERT_TRUE(meta_->UpsertInvitation(inv).ok());
  ASSERT_TRUE(meta_->UpsertInvitation({Id("i3"), other_org_, Email("new"), "ADMIN", "x", 20}).ok());
  ASSERT_TRUE(meta_->UpsertInvitation({Id("i4"), org_, Email("else"), "VIEWER", "x", 30}).ok());
  auto listed = meta_->ListInvitations(org_);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].email, Email("new"));
  EXPECT_EQ((*listed)[0].role, "MEMBER");
  EXPECT_EQ((*listed)[0].id, Id("i1"));  // the first id is kept

  ASSERT_TRUE(meta_->CreateUser({Id("u1"), Email("new"), "New", "hash", 1}).ok());
  auto accepted = meta_->AcceptInvitations(Email("NEW"), Id("u1"));
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->size(), 2u);
  EXPECT_EQ((*meta_->GetOrgMembership(org_, Id("u1")))->role, "MEMBER");
  EXPECT_EQ((*meta_->GetOrgMembership(other_org_, Id("u1")))->role, "ADMIN");
  EXPECT_EQ(meta_->ListInvitations(org_)->size(), 1u);  // else@ stays
  EXPECT_TRUE(meta_->AcceptInvitations(Email("new"), Id("u1"))->empty());

  EXPECT_FALSE(*meta_->DeleteInvitation(other_org_, Id("i4")));  // not that organization's
  EXPECT_TRUE(*meta_->DeleteInvitation(org_, Id("i4")));
  EXPECT_TRUE(meta_->ListInvitations(org_)->empty());
}

TEST_P(MetaStoreAdminConformanceTest, UpdateUserAndEndOtherSessions) {
  ASSERT_TRUE(meta_->CreateUser({Id("u1"), Email("a"), "A", "hash-1", 1}).ok());
  ASSERT_TRUE(meta_->UpdateUser({Id("u1"), Email("ignored"), "B", "hash-2", 0}).ok());
  auto u = meta_->GetUser(Id("u1"));
  ASSERT_TRUE(u.ok() && u->has_value());
  EXPECT_EQ((*u)->name, "B");
  EXPECT_EQ((*u)->password_hash, "hash-2");
  EXPECT_EQ((*u)->email, Email("a"));
  EXPECT_EQ((*u)->created_at_ms, 1);
  EXPECT_EQ(meta_->UpdateUser({Id("nobody"), "", "x", "y", 0}).code(), absl::StatusCode::kNotFound);

  for (const char* token : {"t1", "t2", "t3"}) {
    ASSERT_TRUE(meta_->CreateUserSession({Id(token), Id("u1"), 1, 1000}).ok());
  }
  ASSERT_TRUE(meta_->CreateUserSession({Id("t4"), Id("u2"), 1, 1000}).ok());
  auto ended = meta_->DeleteOtherUserSessions(Id("u1"), Id("t2"));
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(*ended, 2);
  EXPECT_TRUE(meta_->GetUserSession(Id("t2"))->has_value());
  EXPECT_FALSE(meta_->GetUserSession(Id("t1"))->has_value());
  EXPECT_TRUE(meta_->GetUserSession(Id("t4"))->has_value());
}

TEST_P(MetaStoreAdminConformanceTest, ProjectsOfAnOrganizationAndSoftDelete) {
  const std::string p1 = Id("p1"), p2 = Id("p2"), p3 = Id("p3");
  ASSERT_TRUE(meta_->UpsertProject(Project(p1, org_, 10)).ok());
  ASSERT_TRUE(meta_->UpsertProject(Project(p2, org_, 20)).ok());
  ASSERT_TRUE(meta_->UpsertProject(Project(p3, other_org_, 30)).ok());
  ASSERT_TRUE(meta_->CreateApiKey(Key(Id("k1"), "PROJECT", p1, org_)).ok());
  ASSERT_TRUE(meta_->CreateApiKey(Key(Id("k2"), "ORGANIZATION", "", org_)).ok());

  auto projects = meta_->ListProjectsOfOrganization(org_);
  ASSERT_TRUE(projects.ok());
  ASSERT_EQ(projects->size(), 2u);
  EXPECT_EQ((*projects)[0].id, p1);
  EXPECT_GE((*projects)[0].updated_at_ms, (*projects)[0].created_at_ms);
  auto by_name = meta_->FindProjectByName(org_, "name of " + p2);
  ASSERT_TRUE(by_name.ok() && by_name->has_value());
  EXPECT_EQ((*by_name)->id, p2);
  EXPECT_FALSE(meta_->FindProjectByName(other_org_, "name of " + p2)->has_value());

  // Another organization cannot delete it.
  EXPECT_FALSE(*meta_->SoftDeleteProject(other_org_, p1));
  EXPECT_TRUE(*meta_->SoftDeleteProject(org_, p1));
  EXPECT_FALSE(*meta_->SoftDeleteProject(org_, p1));
  EXPECT_FALSE(meta_->GetProject(p1)->has_value());
  EXPECT_EQ(meta_->ListProjectsOfOrganization(org_)->size(), 1u);
  // Its project keys went with it; the organization key stays.
  EXPECT_FALSE(meta_->FindApiKeyByPublicKey("pk-" + Id("k1"))->has_value());
  EXPECT_TRUE(meta_->FindApiKeyByPublicKey("pk-" + Id("k2"))->has_value());
}

TEST_P(MetaStoreAdminConformanceTest, ApiKeys) {
  const std::string p = Id("p");
  ASSERT_TRUE(meta_->UpsertProject(Project(p, org_, 10)).ok());
  ApiKeyRecord k = Key(Id("k1"), "PROJECT", p, org_);
  k.note = "ci";
  ASSERT_TRUE(meta_->CreateApiKey(k).ok());
  ApiKeyRecord same_public = Key(Id("k2"), "PROJECT", p, org_);
  same_public.public_key = k.public_key;
  EXPECT_EQ(meta_->CreateApiKey(same_public).code(), absl::StatusCode::kAlreadyExists);
  ApiKeyRecord same_secret = Key(Id("k3"), "PROJECT", p, org_);
  same_secret.fast_hashed_secret_key = k.fast_hashed_secret_key;
  EXPECT_EQ(meta_->CreateApiKey(same_secret).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(meta_->CreateApiKey(Key(Id("k4"), "ORGANIZATION", "", org_)).ok());

  auto project_keys = meta_->ListProjectApiKeys(p);
  ASSERT_TRUE(project_keys.ok());
  ASSERT_EQ(project_keys->size(), 1u);
  EXPECT_EQ((*project_keys)[0].note, "ci");
  EXPECT_FALSE((*project_keys)[0].expires_at_ms.has_value());
  auto org_keys = meta_->ListOrganizationApiKeys(org_);
  ASSERT_TRUE(org_keys.ok());
  ASSERT_EQ(org_keys->size(), 1u);
  EXPECT_EQ((*org_keys)[0].id, Id("k4"));

  EXPECT_FALSE(*meta_->DeleteProjectApiKey(p, Id("k4")));  // not a project key
  EXPECT_FALSE(*meta_->DeleteOrganizationApiKey(other_org_, Id("k4")));
  EXPECT_TRUE(*meta_->DeleteOrganizationApiKey(org_, Id("k4")));
  EXPECT_TRUE(*meta_->DeleteProjectApiKey(p, Id("k1")));
  EXPECT_TRUE(meta_->ListProjectApiKeys(p)->empty());
}

TEST_P(MetaStoreAdminConformanceTest, MembershipsCascadeFromTheOrganization) {
  const std::string p = Id("p"), elsewhere = Id("elsewhere");
  ASSERT_TRUE(meta_->UpsertProject(Project(p, org_, 10)).ok());
  ASSERT_TRUE(meta_->UpsertProject(Project(elsewhere, other_org_, 10)).ok());
  auto user = meta_->UpsertUser({"", Email("a", "b.c"), "Ada", "hash", 5});
  ASSERT_TRUE(user.ok());
  ASSERT_TRUE(meta_->UpsertOrgMembership(org_, *user, "MEMBER").ok());
  ASSERT_TRUE(meta_->UpsertOrgMembership(other_org_, *user, "MEMBER").ok());
  ASSERT_TRUE(meta_->UpsertProjectMembership(p, *user, "ADMIN").ok());
  ASSERT_TRUE(meta_->UpsertProjectMembership(elsewhere, *user, "VIEWER").ok());

  auto members = meta_->ListOrgMemberships(org_);
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].email, Email("a", "b.c"));
  EXPECT_EQ((*members)[0].role, "MEMBER");
  EXPECT_EQ((*meta_->GetProjectMembership(p, *user))->role, "ADMIN");
  auto got = meta_->GetUser(*user);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->name, "Ada");

  EXPECT_TRUE(*meta_->DeleteOrgMembership(org_, *user));
  EXPECT_FALSE(meta_->GetOrgMembership(org_, *user)->has_value());
  EXPECT_TRUE(meta_->ListProjectMemberships(p)->empty());
  // Roles in other organizations' projects stay.
  EXPECT_EQ(meta_->ListProjectMemberships(elsewhere)->size(), 1u);
  EXPECT_FALSE(*meta_->DeleteOrgMembership(org_, *user));
  EXPECT_TRUE(*meta_->DeleteProjectMembership(elsewhere, *user));
  EXPECT_FALSE(*meta_->DeleteProjectMembership(elsewhere, *user));
}

TEST_P(MetaStoreAdminConformanceTest, Organizations) {
  const std::string id = Id("new");
  OrganizationRecord org{id, "New", 3};
  org.metadata_json = R"({"tier":"gold"})";
  ASSERT_TRUE(meta_->UpsertOrganization(org).ok());
  EXPECT_EQ((*meta_->GetOrganization(id))->metadata_json, R"({"tier":"gold"})");
  // Re-applying the headless initialization keeps the metadata.
  ASSERT_TRUE(meta_->UpsertOrganization({id, "Renamed", 0}).ok());
  EXPECT_EQ((*meta_->GetOrganization(id))->metadata_json, R"({"tier":"gold"})");
  // This run's three (the PostgreSQL database holds others' too).
  auto all = meta_->ListOrganizations();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(std::count_if(all->begin(), all->end(),
                          [&](const OrganizationRecord& o) {
                            return o.id == org_ || o.id == other_org_ || o.id == id;
                          }),
            3);

  org.name = "Newer";
  org.metadata_json = "{}";
  ASSERT_TRUE(meta_->UpdateOrganization(org).ok());
  EXPECT_EQ((*meta_->GetOrganization(id))->name, "Newer");
  EXPECT_EQ(meta_->UpdateOrganization({Id("missing"), "x", 0}).code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(meta_->UpsertProject(Project(Id("p"), id, 10)).ok());
  ASSERT_TRUE(meta_->CreateApiKey(Key(Id("k"), "ORGANIZATION", "", id)).ok());
  EXPECT_EQ(meta_->DeleteOrganization(id).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(*meta_->SoftDeleteProject(id, Id("p")));
  EXPECT_TRUE(*meta_->DeleteOrganization(id));
  EXPECT_FALSE(meta_->GetOrganization(id)->has_value());
  EXPECT_FALSE(meta_->FindApiKeyByPublicKey("pk-" + Id("k"))->has_value());
  EXPECT_FALSE(*meta_->DeleteOrganization(id));
}

INSTANTIATE_TEST_SUITE_P(Backends, MetaStoreAdminConformanceTest,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& param_info) { return param_info.param; });

// A meta.db written before the organization API existed is upgraded in place
// (SQLite only: the PostgreSQL schema started with these columns).
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
