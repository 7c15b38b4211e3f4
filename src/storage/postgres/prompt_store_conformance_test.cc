// One suite for every PromptStore backend: the embedded SQLite store and the
// PostgreSQL one must answer each method alike. PostgreSQL runs when
// LOUPE_TEST_DATABASE_URL names a database (tests/scaleout does, against a
// real server); project ids are unique per run, so the database may be
// reused.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/hash.h"
#include "common/json_parse.h"
#include "storage/postgres/pg_client.h"
#include "storage/postgres/pg_prompt_store.h"
#include "storage/prompt_store.h"
#include "storage/sqlite/sqlite_prompt_store.h"

namespace loupe {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

class PromptStoreConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    run_ = RandomHex(6);
    project_ = "proj-1-" + run_;
    project2_ = "proj-2-" + run_;
    if (GetParam() == "sqlite") {
      dir_ = std::filesystem::temp_directory_path() / ("loupe-prompt-test-" + NewUuid());
      std::filesystem::create_directories(dir_);
    } else {
      const char* url = std::getenv("LOUPE_TEST_DATABASE_URL");
      if (!url || !*url) GTEST_SKIP() << "LOUPE_TEST_DATABASE_URL is not set";
      url_ = url;
      auto pool = pg::Pool::Open({url_});
      ASSERT_TRUE(pool.ok()) << pool.status();
      pool_ = std::shared_ptr<pg::Pool>(*std::move(pool));
    }
    Open();
  }
  void TearDown() override {
    if (store_) store_->Close();
    store_.reset();
    if (pool_) pool_->Close();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  bool postgres() const { return GetParam() == "postgres"; }

  // Opens the store again on the same data.
  void Open() {
    if (store_) store_->Close();
    store_.reset();
    auto s = OpenAnother(false);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  // A second store on the same data, as another process would open it (on
  // PostgreSQL with a pool of its own).
  absl::StatusOr<std::unique_ptr<PromptStore>> OpenAnother(bool own_pool = true) {
    if (!postgres()) return OpenSqlitePromptStore((dir_ / "meta.db").string());
    if (!own_pool) return OpenPostgresPromptStore(pool_);
    auto pool = pg::Pool::Open({url_});
    if (!pool.ok()) return pool.status();
    return OpenPostgresPromptStore(std::shared_ptr<pg::Pool>(*std::move(pool)));
  }

  PromptRecord Create(const std::string& name, const std::string& text,
                      std::vector<std::string> labels = {},
                      std::optional<std::vector<std::string>> tags = std::nullopt,
                      const std::string& project = "") {
    NewPromptVersion v;
    v.name = name;
    v.prompt = json::value(text);
    v.labels = std::move(labels);
    v.tags = std::move(tags);
    auto p = store_->CreateVersion(project.empty() ? project_ : project, v);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : PromptRecord{};
  }

  absl::Status TryCreate(const std::string& name, json::value prompt,
                         const std::string& type = "text", std::vector<std::string> labels = {}) {
    NewPromptVersion v;
    v.name = name;
    v.type = type;
    v.prompt = std::move(prompt);
    v.labels = std::move(labels);
    return store_->CreateVersion(project_, v).status();
  }

  std::shared_ptr<const ResolvedPrompt> GetLabel(const std::string& name, const std::string& label,
                                                 bool resolve = true) {
    auto p = store_->Get(project_, name, PromptSelector::Label(label), resolve);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : nullptr;
  }

  std::shared_ptr<const ResolvedPrompt> GetVersion(const std::string& name, int version,
                                                   bool resolve = true) {
    auto p = store_->Get(project_, name, PromptSelector::Version(version), resolve);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : nullptr;
  }

  std::vector<std::string> LabelsOf(const std::string& name, int version) {
    auto p = GetVersion(name, version, false);
    return p ? p->record.labels : std::vector<std::string>{"<missing>"};
  }

  std::filesystem::path dir_;
  std::string url_;
  std::shared_ptr<pg::Pool> pool_;
  std::string run_, project_, project2_;
  std::unique_ptr<PromptStore> store_;
};

TEST_P(PromptStoreConformanceTest, VersionsCountUpAndLatestFollowsTheNewest) {
  PromptRecord v1 = Create("greet", "Hello {{name}}", {"production"});
  EXPECT_EQ(v1.version, 1);
  EXPECT_THAT(v1.labels, ElementsAre("production", "latest"));
  EXPECT_TRUE(v1.config.is_object() && v1.config.as_object().empty());
  EXPECT_EQ(v1.created_by, "API");

  PromptRecord v2 = Create("greet", "Hi {{name}}");
  EXPECT_EQ(v2.version, 2);
  EXPECT_THAT(v2.labels, ElementsAre("latest"));
  EXPECT_THAT(LabelsOf("greet", 1), ElementsAre("production"));

  auto production = GetLabel("greet", "production");
  ASSERT_NE(production, nullptr);
  EXPECT_EQ(production->record.version, 1);
  EXPECT_EQ(GetLabel("greet", "latest")->record.version, 2);
  EXPECT_EQ(GetLabel("greet", "staging"), nullptr);
  EXPECT_EQ(GetVersion("greet", 3), nullptr);
  EXPECT_EQ(GetLabel("other", "production"), nullptr);
}

TEST_P(PromptStoreConformanceTest, LabelsAreUniquePerNameAndMoveOnCreate) {
  Create("p", "one", {"production", "staging"});
  Create("p", "two", {"production"});
  EXPECT_THAT(LabelsOf("p", 1), ElementsAre("staging"));
  EXPECT_THAT(LabelsOf("p", 2), ElementsAre("production", "latest"));
  // Duplicates in the request collapse.
  PromptRecord v3 = Create("p", "three", {"staging", "staging"});
  EXPECT_THAT(v3.labels, ElementsAre("staging", "latest"));
  EXPECT_THAT(LabelsOf("p", 1), IsEmpty());
  EXPECT_THAT(LabelsOf("p", 2), ElementsAre("production"));
}

TEST_P(PromptStoreConformanceTest, AddLabelsMovesThemFromOtherVersions) {
  Create("p", "one", {"production"});
  Create("p", "two", {"staging"});
  auto updated = store_->AddLabels(project_, "p", 2, {"production", "canary"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_THAT(updated->labels, ElementsAre("production", "canary", "staging", "latest"));
  EXPECT_THAT(LabelsOf("p", 1), IsEmpty());
  EXPECT_EQ(GetLabel("p", "production")->record.version, 2);

  EXPECT_EQ(store_->AddLabels(project_, "p", 9, {"x"}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->AddLabels(project_, "p", 1, {"latest"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(LabelsOf("p", 2), ElementsAre("production", "canary", "staging", "latest"));
}

TEST_P(PromptStoreConformanceTest, TagsAreSharedByAllVersions) {
  Create("p", "one", {}, std::vector<std::string>{"a", "b"});
  PromptRecord v2 = Create("p", "two");
  EXPECT_THAT(v2.tags, ElementsAre("a", "b"));
  Create("p", "three", {}, std::vector<std::string>{"c"});
  for (int v = 1; v <= 3; ++v) EXPECT_THAT(GetVersion("p", v)->record.tags, ElementsAre("c"));
  Create("p", "four", {}, std::vector<std::string>{});
  EXPECT_THAT(GetVersion("p", 1)->record.tags, IsEmpty());
}

TEST_P(PromptStoreConformanceTest, TypeIsFixedPerName) {
  Create("p", "text");
  json::array chat = {json::object{{"role", "user"}, {"content", "hi"}}};
  absl::Status s = TryCreate("p", chat, "chat");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("different prompt type"));
  EXPECT_TRUE(TryCreate("chatty", chat, "chat").ok());
}

TEST_P(PromptStoreConformanceTest, ReadsSeeEveryChangeDespiteTheCache) {
  Create("p", "one", {"production"});
  EXPECT_EQ(GetLabel("p", "production")->record.version, 1);
  EXPECT_EQ(GetLabel("p", "production")->record.version, 1);  // cached
  EXPECT_EQ(GetLabel("p", "canary"), nullptr);                // cached miss
  Create("p", "two", {"production", "canary"});
  EXPECT_EQ(GetLabel("p", "production")->record.version, 2);
  EXPECT_EQ(GetLabel("p", "canary")->record.version, 2);
  ASSERT_TRUE(store_->AddLabels(project_, "p", 1, {"production"}).ok());
  EXPECT_EQ(GetLabel("p", "production")->record.version, 1);
  ASSERT_TRUE(store_->Delete(project_, "p", 1, std::nullopt).ok());
  EXPECT_EQ(GetLabel("p", "production"), nullptr);
}

TEST_P(PromptStoreConformanceTest, ProjectsAreIsolated) {
  Create("p", "mine", {"production"});
  Create("p", "theirs", {"production"}, std::nullopt, project2_);
  EXPECT_EQ(GetLabel("p", "production")->record.prompt.as_string(), "mine");
  auto other = store_->Get(project2_, "p", PromptSelector::Label("production"), true);
  ASSERT_TRUE(other.ok() && *other);
  EXPECT_EQ((*other)->record.prompt.as_string(), "theirs");
  EXPECT_EQ((*other)->record.version, 1);
}

TEST_P(PromptStoreConformanceTest, DeleteByVersionLabelOrAllAndLatestMovesDown) {
  Create("p", "one", {"production"});
  Create("p", "two");
  Create("p", "three");
  ASSERT_TRUE(store_->Delete(project_, "p", 3, std::nullopt).ok());
  EXPECT_THAT(LabelsOf("p", 2), ElementsAre("latest"));
  EXPECT_EQ(GetLabel("p", "latest")->record.version, 2);
  // The next version continues after the highest remaining one.
  EXPECT_EQ(Create("p", "again").version, 3);

  ASSERT_TRUE(store_->Delete(project_, "p", std::nullopt, "production").ok());
  EXPECT_EQ(GetVersion("p", 1), nullptr);
  EXPECT_EQ(store_->Delete(project_, "p", std::nullopt, "production").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete(project_, "p", 7, std::nullopt).code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(store_->Delete(project_, "p", std::nullopt, std::nullopt).ok());
  EXPECT_EQ(GetLabel("p", "latest"), nullptr);
  EXPECT_EQ(store_->Delete(project_, "p", std::nullopt, std::nullopt).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Create("p", "fresh").version, 1);
}

TEST_P(PromptStoreConformanceTest, ListAggregatesMatchingVersionsPerName) {
  Create("b", "b1", {"production"}, std::vector<std::string>{"t1"});
  Create("b", "b2", {"staging"});
  Create("a", "a1", {}, std::vector<std::string>{"t2"});
  Create("c/nested", "c1", {"production"});

  PromptListQuery all;
  auto page = store_->List(project_, all);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->total_items, 3);
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_EQ(page->items[0].name, "a");
  const PromptMetaRecord& b = page->items[1];
  EXPECT_EQ(b.name, "b");
  EXPECT_EQ(b.type, "text");
  EXPECT_THAT(b.versions, ElementsAre(1, 2));
  EXPECT_THAT(b.labels, ElementsAre("latest", "production", "staging"));
  EXPECT_THAT(b.tags, ElementsAre("t1"));
  EXPECT_EQ(page->items[2].name, "c/nested");

  PromptListQuery by_label;
  by_label.label = "production";
  page = store_->List(project_, by_label);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].name, "b");
  EXPECT_THAT(page->items[0].versions, ElementsAre(1));
  EXPECT_THAT(page->items[0].labels, ElementsAre("production"));

  PromptListQuery by_tag;
  by_tag.tag = "t2";
  page = store_->List(project_, by_tag);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name, "a");

  PromptListQuery paged;
  paged.limit = 2;
  paged.page = 2;
  page = store_->List(project_, paged);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total_items, 3);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name, "c/nested");

  PromptListQuery by_version;
  by_version.version = 2;
  page = store_->List(project_, by_version);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_THAT(page->items[0].versions, ElementsAre(2));
  EXPECT_EQ(page->items[0].last_config, json::value(json::object()));
}

TEST_P(PromptStoreConformanceTest, ChangesSurviveReopening) {
  Create("p", "one", {"production"}, std::vector<std::string>{"t"});
  Create("p", "two");
  Open();
  auto p = GetLabel("p", "production");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->record.version, 1);
  EXPECT_THAT(p->record.tags, ElementsAre("t"));
  EXPECT_EQ(Create("p", "three").version, 3);
}

// ------------------------------------------------------------ references

TEST_P(PromptStoreConformanceTest, GetByIdFindsOneVersionOfItsOwnProject) {
  PromptRecord v1 = Create("by-id", "first");
  PromptRecord v2 = Create("by-id", "second");
  auto got = store_->GetById(project_, v1.id);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->version, 1);
  EXPECT_EQ((*got)->prompt, json::value("first"));

  auto other_project = store_->GetById(project2_, v2.id);
  ASSERT_TRUE(other_project.ok());
  EXPECT_FALSE(other_project->has_value());
  auto missing = store_->GetById(project_, "no-such-id");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST(ParsePromptReferencesTest, AcceptsOnlyWellFormedTags) {
  std::string text =
      "a @@@langfusePrompt:name=base|label=production@@@ b "
      "@@@langfusePrompt:name=folder/x|version=3@@@ "
      "@@@langfusePrompt:name=base|label=production@@@ "  // duplicate
      "@@@langfusePrompt:label=x|name=y@@@ "              // name not first
      "@@@langfusePrompt:name=y@@@ "                      // one part
      "@@@langfusePrompt:name=y|version=x@@@ "            // not a number
      "@@@langfusePrompt:name=y|label=a|version=1@@@ "    // three parts
      "@@@langfusePrompt:name=y|other=1@@@";
  auto refs = ParsePromptReferences(text);
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].name, "base");
  EXPECT_FALSE(refs[0].version.has_value());
  EXPECT_EQ(refs[0].label, "production");
  EXPECT_EQ(refs[1].name, "folder/x");
  EXPECT_EQ(refs[1].version, 3);
  EXPECT_THAT(ParsePromptReferences("no tags @@@langfusePrompt:name=unterminated"), IsEmpty());
}

TEST_P(PromptStoreConformanceTest, ResolvesReferencesInTextAndChatPrompts) {
  PromptRecord base = Create("base", "Be \"kind\" to {{user}}", {"production"});
  PromptRecord footer = Create("footer", "Bye", {});
  PromptRecord text = Create("composite",
                             "@@@langfusePrompt:name=base|label=production@@@ / "
                             "@@@langfusePrompt:name=footer|version=1@@@ / "
                             "@@@langfusePrompt:name=base|label=production@@@",
                             {"production"});

  auto resolved = GetLabel("composite", "production");
  ASSERT_NE(resolved, nullptr);
  EXPECT_EQ(resolved->record.prompt.as_string(),
            "Be \"kind\" to {{user}} / Bye / Be \"kind\" to {{user}}");
  ASSERT_TRUE(resolved->graph.has_value());
  EXPECT_EQ(resolved->graph->root.id, text.id);
  EXPECT_EQ(resolved->graph->root.name, "composite");
  ASSERT_EQ(resolved->graph->dependencies.size(), 1u);
  EXPECT_EQ(resolved->graph->dependencies[0].first, text.id);
  ASSERT_EQ(resolved->graph->dependencies[0].second.size(), 2u);
  EXPECT_EQ(resolved->graph->dependencies[0].second[0].id, base.id);
  EXPECT_EQ(resolved->graph->dependencies[0].second[1].id, footer.id);

  auto raw = GetLabel("composite", "production", false);
  EXPECT_THAT(std::string(raw->record.prompt.as_string()), HasSubstr("@@@langfusePrompt:"));
  EXPECT_FALSE(raw->graph.has_value());

  json::array chat = {json::object{{"role", "system"},
                                   {"content", "@@@langfusePrompt:name=base|label=production@@@"}},
                      json::object{{"type", "placeholder"}, {"name", "history"}}};
  ASSERT_TRUE(TryCreate("chat", chat, "chat", {"production"}).ok());
  auto chat_resolved = GetLabel("chat", "production");
  ASSERT_NE(chat_resolved, nullptr);
  const json::array& messages = chat_resolved->record.prompt.as_array();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].at("content").as_string(), "Be \"kind\" to {{user}}");
  EXPECT_EQ(messages[1].at("name").as_string(), "history");

  // A prompt without references resolves to itself and has no graph.
  EXPECT_FALSE(GetLabel("base", "production")->graph.has_value());
}

TEST_P(PromptStoreConformanceTest, NestedReferencesResolveAndTheGraphListsEveryLevel) {
  PromptRecord leaf = Create("leaf", "L");
  PromptRecord mid = Create("mid", "M(@@@langfusePrompt:name=leaf|version=1@@@)");
  PromptRecord top = Create("top", "T(@@@langfusePrompt:name=mid|label=latest@@@)");
  auto resolved = GetVersion("top", 1);
  ASSERT_NE(resolved, nullptr);
  EXPECT_EQ(resolved->record.prompt.as_string(), "T(M(L))");
  ASSERT_EQ(resolved->graph->dependencies.size(), 2u);
  EXPECT_EQ(resolved->graph->dependencies[0].first, top.id);
  EXPECT_EQ(resolved->graph->dependencies[0].second[0].id, mid.id);
  EXPECT_EQ(resolved->graph->dependencies[1].first, mid.id);
  EXPECT_EQ(resolved->graph->dependencies[1].second[0].id, leaf.id);

  // A new latest version of a dependency shows at once.
  Create("mid", "M2");
  EXPECT_EQ(GetVersion("top", 1)->record.prompt.as_string(), "T(M2)");
}

TEST_P(PromptStoreConformanceTest, CreateRejectsBrokenReferences) {
  Create("chat", "x");
  absl::Status missing = TryCreate("p", json::value("@@@langfusePrompt:name=nope|label=x@@@"));
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.message(), HasSubstr("Prompt dependency not found: nope - label x"));

  json::array chat = {json::object{{"role", "user"}, {"content", "hi"}}};
  ASSERT_TRUE(TryCreate("chatp", chat, "chat").ok());
  absl::Status not_text = TryCreate("p", json::value("@@@langfusePrompt:name=chatp|version=1@@@"));
  EXPECT_EQ(not_text.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_text.message(), HasSubstr("not a text prompt"));

  // Referencing another version of the same name is a cycle waiting to happen.
  Create("self", "v1");
  absl::Status self = TryCreate("self", json::value("@@@langfusePrompt:name=self|version=1@@@"));
  EXPECT_EQ(self.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(self.message(), HasSubstr("Circular dependency"));
  EXPECT_EQ(GetVersion("self", 2), nullptr);
}

TEST_P(PromptStoreConformanceTest, NestingDepthIsLimited) {
  // p4 → p5 is level 4 below p1: allowed. p0 adds a fifth level: rejected.
  Create("p5", "end");
  for (int i = 4; i >= 1; --i) {
    Create("p" + std::to_string(i),
           "@@@langfusePrompt:name=p" + std::to_string(i + 1) + "|version=1@@@");
  }
  EXPECT_EQ(GetVersion("p1", 1)->record.prompt.as_string(), "end");
  absl::Status deep = TryCreate("p0", json::value("@@@langfusePrompt:name=p1|version=1@@@"));
  EXPECT_EQ(deep.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(deep.message(), HasSubstr("Maximum nesting depth exceeded (5)"));
}

TEST_P(PromptStoreConformanceTest, LabelMovesThatCloseACycleFailReadsWithFailedPrecondition) {
  Create("y", "plain y", {"l1"});
  Create("x", "X[@@@langfusePrompt:name=y|label=l1@@@]");
  Create("z", "plain z", {"a"});
  Create("y", "Y[@@@langfusePrompt:name=z|label=a@@@]");
  Create("z", "Z[@@@langfusePrompt:name=x|version=1@@@]");
  EXPECT_EQ(GetVersion("x", 1)->record.prompt.as_string(), "X[plain y]");
  ASSERT_TRUE(store_->AddLabels(project_, "y", 2, {"l1"}).ok());
  EXPECT_EQ(GetVersion("x", 1)->record.prompt.as_string(), "X[Y[plain z]]");
  ASSERT_TRUE(store_->AddLabels(project_, "z", 2, {"a"}).ok());
  auto cyclic = store_->Get(project_, "x", PromptSelector::Version(1), true);
  EXPECT_EQ(cyclic.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(cyclic.status().message(), HasSubstr("Circular dependency"));
  // The raw prompt stays readable.
  EXPECT_NE(GetVersion("x", 1, false), nullptr);
}

TEST_P(PromptStoreConformanceTest, DeleteRefusesToBreakDependents) {
  Create("base", "b1", {"production"});
  Create("pinned", "x");
  Create("composite", "@@@langfusePrompt:name=base|label=production@@@");
  Create("user", "@@@langfusePrompt:name=pinned|version=1@@@");

  absl::Status s = store_->Delete(project_, "base", 1, std::nullopt);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("composite v1 depends on base production"));
  EXPECT_EQ(store_->Delete(project_, "pinned", std::nullopt, std::nullopt).code(),
            absl::StatusCode::kFailedPrecondition);

  // Once another version carries the label, the old one may go.
  Create("base", "b2", {"production"});
  ASSERT_TRUE(store_->Delete(project_, "base", 1, std::nullopt).ok());
  EXPECT_EQ(GetVersion("composite", 1)->record.prompt.as_string(), "b2");

  // Deleting the dependent releases the dependency.
  ASSERT_TRUE(store_->Delete(project_, "user", std::nullopt, std::nullopt).ok());
  ASSERT_TRUE(store_->Delete(project_, "pinned", std::nullopt, std::nullopt).ok());
}

// ------------------------------------------------------------ concurrency

TEST_P(PromptStoreConformanceTest, ConcurrentCreatesNumberVersionsWithoutDuplicates) {
  // Two stores (two processes on PostgreSQL), four threads each.
  auto other = OpenAnother();
  ASSERT_TRUE(other.ok()) << other.status();
  constexpr int kThreads = 8, kEach = 5;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    PromptStore* store = t % 2 ? other->get() : store_.get();
    threads.emplace_back([&, store, t] {
      for (int i = 0; i < kEach; ++i) {
        NewPromptVersion v;
        v.name = "race";
        v.prompt = json::value("t" + std::to_string(t) + " i" + std::to_string(i));
        if (i == kEach - 1) v.labels = {"production"};
        v.tags = std::vector<std::string>{"tag-" + std::to_string(t)};
        auto p = store->CreateVersion(project_, v);
        if (!p.ok()) {
          ADD_FAILURE() << p.status();
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  (*other)->Close();
  ASSERT_EQ(failures.load(), 0);

  std::set<int> versions;
  int latest = 0, production = 0;
  std::set<std::vector<std::string>> tag_sets;
  for (int v = 1; v <= kThreads * kEach; ++v) {
    auto p = GetVersion("race", v, false);
    ASSERT_NE(p, nullptr) << "version " << v;
    versions.insert(p->record.version);
    for (const std::string& l : p->record.labels) {
      if (l == "latest") ++latest;
      if (l == "production") ++production;
    }
    tag_sets.insert(p->record.tags);
  }
  EXPECT_EQ(versions.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(GetVersion("race", kThreads * kEach + 1), nullptr);
  EXPECT_EQ(latest, 1);
  EXPECT_EQ(production, 1);
  EXPECT_EQ(tag_sets.size(), 1u);  // every version carries the last create's tags
  EXPECT_EQ(GetLabel("race", "latest")->record.version, kThreads * kEach);
}

TEST_P(PromptStoreConformanceTest, ConcurrentLabelMovesLeaveEachLabelOnOneVersion) {
  for (int i = 0; i < 6; ++i) Create("moves", "v" + std::to_string(i));
  auto other = OpenAnother();
  ASSERT_TRUE(other.ok()) << other.status();
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    PromptStore* store = t % 2 ? other->get() : store_.get();
    threads.emplace_back([&, store, t] {
      for (int i = 0; i < 5; ++i) {
        auto r = store->AddLabels(project_, "moves", 1 + (t + i) % 6, {"production", "staging"});
        EXPECT_TRUE(r.ok()) << r.status();
      }
    });
  }
  for (auto& th : threads) th.join();
  (*other)->Close();
  int production = 0, staging = 0;
  for (int v = 1; v <= 6; ++v) {
    for (const std::string& l : LabelsOf("moves", v)) {
      production += l == "production";
      staging += l == "staging";
    }
  }
  EXPECT_EQ(production, 1);
  EXPECT_EQ(staging, 1);
  EXPECT_EQ(GetLabel("moves", "production")->record.version,
            GetLabel("moves", "staging")->record.version);
}

TEST_P(PromptStoreConformanceTest, ReadsSeeChangesOfAnotherProcess) {
  if (!postgres()) GTEST_SKIP() << "one process owns an embedded meta.db";
  Create("shared", "one", {"production"});
  EXPECT_EQ(GetLabel("shared", "production")->record.version, 1);  // now cached here
  EXPECT_EQ(GetLabel("shared", "canary"), nullptr);                // a cached miss
  auto other = OpenAnother();
  ASSERT_TRUE(other.ok()) << other.status();
  NewPromptVersion v;
  v.name = "shared";
  v.prompt = json::value("two");
  v.labels = {"production", "canary"};
  ASSERT_TRUE((*other)->CreateVersion(project_, v).ok());
  EXPECT_EQ(GetLabel("shared", "production")->record.version, 2);
  EXPECT_EQ(GetLabel("shared", "canary")->record.version, 2);
  ASSERT_TRUE((*other)->Delete(project_, "shared", 2, std::nullopt).ok());
  EXPECT_EQ(GetLabel("shared", "production"), nullptr);
  EXPECT_EQ(GetLabel("shared", "latest")->record.version, 1);
  (*other)->Close();
}

// ------------------------------------------------------------ content

TEST_P(PromptStoreConformanceTest, UnicodeNamesAndContentRoundTripAndSortByteWise) {
  const std::string text = "Grüße, {{name}} 👋 — 日本語 \"quoted\" \\ back\nslash\ttab";
  std::string with_nul = "nul:";
  with_nul += '\0';
  with_nul += ":end";
  PromptRecord u =
      Create("日本/プロンプト", text, {"production"}, std::vector<std::string>{"ünïcode", "🏷"});
  Create("é", with_nul);
  Create("a", "lower");
  Create("B", "upper");

  auto got = GetLabel("日本/プロンプト", "production");
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->record.id, u.id);
  EXPECT_EQ(got->record.prompt, json::value(text));
  EXPECT_THAT(got->record.tags, ElementsAre("ünïcode", "🏷"));
  EXPECT_EQ(GetVersion("é", 1)->record.prompt, json::value(with_nul));

  NewPromptVersion chat;
  chat.name = "chat-ü";
  chat.type = "chat";
  chat.prompt = json::array{json::object{{"role", "system"}, {"content", "Ω ≈ ç √"}}};
  chat.commit_message = "première version ✓";
  ASSERT_TRUE(store_->CreateVersion(project_, chat).ok());
  auto c = GetVersion("chat-ü", 1);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->record.prompt, chat.prompt);
  EXPECT_EQ(c->record.commit_message, "première version ✓");

  // References to a name with non-ASCII characters resolve.
  Create("ref", "[@@@langfusePrompt:name=日本/プロンプト|label=production@@@]");
  EXPECT_EQ(GetVersion("ref", 1)->record.prompt.as_string(), "[" + text + "]");

  // Names sort by their bytes (as SQLite's BINARY collation does),
  // whatever the database's collation.
  PromptListQuery all;
  auto page = store_->List(project_, all);
  ASSERT_TRUE(page.ok()) << page.status();
  std::vector<std::string> names;
  for (const auto& m : page->items) names.push_back(m.name);
  EXPECT_THAT(names, ElementsAre("B", "a", "chat-ü", "ref", "é", "日本/プロンプト"));
  PromptListQuery by_tag;
  by_tag.tag = "🏷";
  page = store_->List(project_, by_tag);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name, "日本/プロンプト");

  // Tags may hold control characters (escaped in the stored JSON), and
  // filters still match them.
  std::string odd_tag = "ctl\x01 tab\t \"q\" \\";
  Create("odd", "x", {"production"}, std::vector<std::string>{odd_tag});
  PromptListQuery by_odd_tag;
  by_odd_tag.tag = odd_tag;
  page = store_->List(project_, by_odd_tag);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name, "odd");
  EXPECT_THAT(page->items[0].tags, ElementsAre(odd_tag));
  // A tag holding NUL is stored and read back, and does not get in the way
  // of filters over the rows around it.
  std::string nul_tag = "nul";
  nul_tag += '\0';
  Create("nul", "x", {}, std::vector<std::string>{nul_tag});
  EXPECT_EQ(GetVersion("nul", 1)->record.tags, std::vector<std::string>{nul_tag});
  PromptListQuery by_label;
  by_label.label = "production";
  page = store_->List(project_, by_label);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->total_items, 2);
  page = store_->List(project_, by_odd_tag);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->total_items, 1);
  EXPECT_EQ(GetLabel("odd", "production")->record.tags, std::vector<std::string>{odd_tag});
}

TEST_P(PromptStoreConformanceTest, LargePromptsAndConfigsRoundTrip) {
  std::string big;
  while (big.size() < 3 * 1024 * 1024) big += "The quick brown fox {{jumps}} over ünïcode 🦊. ";
  PromptRecord text = Create("big-text", big);
  EXPECT_EQ(GetVersion("big-text", 1)->record.prompt.as_string(), big);
  EXPECT_EQ(text.prompt.as_string().size(), big.size());

  NewPromptVersion chat;
  chat.name = "big-chat";
  chat.type = "chat";
  json::array messages;
  for (int i = 0; i < 2000; ++i) {
    messages.push_back(json::object{{"role", i % 2 ? "assistant" : "user"},
                                    {"content", "message " + std::to_string(i) + " ✓"}});
  }
  chat.prompt = messages;
  // Nested as deep as a request may carry (kMaxJsonDepth levels, counting the
  // innermost object): stored JSON is read back with a higher limit than
  // writes accept, so it always comes back intact on every backend.
  json::value config = json::object{{"leaf", 1.5}};
  for (int depth = 0; depth < static_cast<int>(kMaxJsonDepth) - 1; ++depth) {
    json::object level;
    level["d" + std::to_string(depth)] = std::move(config);
    level["list"] = json::array{depth, "x", nullptr, true};
    config = std::move(level);
  }
  chat.config = config;
  ASSERT_TRUE(store_->CreateVersion(project_, chat).ok());
  auto got = GetVersion("big-chat", 1);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->record.prompt, chat.prompt);
  EXPECT_EQ(got->record.config, config);
  PromptListQuery q;
  q.name = "big-chat";
  auto page = store_->List(project_, q);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].last_config, config);
}

INSTANTIATE_TEST_SUITE_P(Backends, PromptStoreConformanceTest,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace loupe
