#include "storage/sqlite/sqlite_prompt_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/hash.h"

namespace loupe {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr const char* kProject = "proj-1";

class PromptStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("loupe-prompt-test-" + NewUuid());
    std::filesystem::create_directories(dir_);
    Open();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    store_.reset();
    auto s = OpenSqlitePromptStore((dir_ / "meta.db").string());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  PromptRecord Create(const std::string& name, const std::string& text,
                      std::vector<std::string> labels = {},
                      std::optional<std::vector<std::string>> tags = std::nullopt,
                      const std::string& project = kProject) {
    NewPromptVersion v;
    v.name = name;
    v.prompt = json::value(text);
    v.labels = std::move(labels);
    v.tags = std::move(tags);
    auto p = store_->CreateVersion(project, v);
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
    return store_->CreateVersion(kProject, v).status();
  }

  std::shared_ptr<const ResolvedPrompt> GetLabel(const std::string& name, const std::string& label,
                                                 bool resolve = true) {
    auto p = store_->Get(kProject, name, PromptSelector::Label(label), resolve);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : nullptr;
  }

  std::shared_ptr<const ResolvedPrompt> GetVersion(const std::string& name, int version,
                                                   bool resolve = true) {
    auto p = store_->Get(kProject, name, PromptSelector::Version(version), resolve);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *p : nullptr;
  }

  std::vector<std::string> LabelsOf(const std::string& name, int version) {
    auto p = GetVersion(name, version, false);
    return p ? p->record.labels : std::vector<std::string>{"<missing>"};
  }

  std::filesystem::path dir_;
  std::unique_ptr<PromptStore> store_;
};

TEST_F(PromptStoreTest, VersionsCountUpAndLatestFollowsTheNewest) {
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

TEST_F(PromptStoreTest, LabelsAreUniquePerNameAndMoveOnCreate) {
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

TEST_F(PromptStoreTest, AddLabelsMovesThemFromOtherVersions) {
  Create("p", "one", {"production"});
  Create("p", "two", {"staging"});
  auto updated = store_->AddLabels(kProject, "p", 2, {"production", "canary"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_THAT(updated->labels, ElementsAre("production", "canary", "staging", "latest"));
  EXPECT_THAT(LabelsOf("p", 1), IsEmpty());
  EXPECT_EQ(GetLabel("p", "production")->record.version, 2);

  EXPECT_EQ(store_->AddLabels(kProject, "p", 9, {"x"}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->AddLabels(kProject, "p", 1, {"latest"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(LabelsOf("p", 2), ElementsAre("production", "canary", "staging", "latest"));
}

TEST_F(PromptStoreTest, TagsAreSharedByAllVersions) {
  Create("p", "one", {}, std::vector<std::string>{"a", "b"});
  PromptRecord v2 = Create("p", "two");
  EXPECT_THAT(v2.tags, ElementsAre("a", "b"));
  Create("p", "three", {}, std::vector<std::string>{"c"});
  for (int v = 1; v <= 3; ++v) EXPECT_THAT(GetVersion("p", v)->record.tags, ElementsAre("c"));
  Create("p", "four", {}, std::vector<std::string>{});
  EXPECT_THAT(GetVersion("p", 1)->record.tags, IsEmpty());
}

TEST_F(PromptStoreTest, TypeIsFixedPerName) {
  Create("p", "text");
  json::array chat = {json::object{{"role", "user"}, {"content", "hi"}}};
  absl::Status s = TryCreate("p", chat, "chat");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("different prompt type"));
  EXPECT_TRUE(TryCreate("chatty", chat, "chat").ok());
}

TEST_F(PromptStoreTest, ReadsSeeEveryChangeDespiteTheCache) {
  Create("p", "one", {"production"});
  EXPECT_EQ(GetLabel("p", "production")->record.version, 1);
  EXPECT_EQ(GetLabel("p", "production")->record.version, 1);  // cached
  EXPECT_EQ(GetLabel("p", "canary"), nullptr);                // cached miss
  Create("p", "two", {"production", "canary"});
  EXPECT_EQ(GetLabel("p", "production")->record.version, 2);
  EXPECT_EQ(GetLabel("p", "canary")->record.version, 2);
  ASSERT_TRUE(store_->AddLabels(kProject, "p", 1, {"production"}).ok());
  EXPECT_EQ(GetLabel("p", "production")->record.version, 1);
  ASSERT_TRUE(store_->Delete(kProject, "p", 1, std::nullopt).ok());
  EXPECT_EQ(GetLabel("p", "production"), nullptr);
}

TEST_F(PromptStoreTest, ProjectsAreIsolated) {
  Create("p", "mine", {"production"});
  Create("p", "theirs", {"production"}, std::nullopt, "proj-2");
  EXPECT_EQ(GetLabel("p", "production")->record.prompt.as_string(), "mine");
  auto other = store_->Get("proj-2", "p", PromptSelector::Label("production"), true);
  ASSERT_TRUE(other.ok() && *other);
  EXPECT_EQ((*other)->record.prompt.as_string(), "theirs");
  EXPECT_EQ((*other)->record.version, 1);
}

TEST_F(PromptStoreTest, DeleteByVersionLabelOrAllAndLatestMovesDown) {
  Create("p", "one", {"production"});
  Create("p", "two");
  Create("p", "three");
  ASSERT_TRUE(store_->Delete(kProject, "p", 3, std::nullopt).ok());
  EXPECT_THAT(LabelsOf("p", 2), ElementsAre("latest"));
  EXPECT_EQ(GetLabel("p", "latest")->record.version, 2);
  // The next version continues after the highest remaining one.
  EXPECT_EQ(Create("p", "again").version, 3);

  ASSERT_TRUE(store_->Delete(kProject, "p", std::nullopt, "production").ok());
  EXPECT_EQ(GetVersion("p", 1), nullptr);
  EXPECT_EQ(store_->Delete(kProject, "p", std::nullopt, "production").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete(kProject, "p", 7, std::nullopt).code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(store_->Delete(kProject, "p", std::nullopt, std::nullopt).ok());
  EXPECT_EQ(GetLabel("p", "latest"), nullptr);
  EXPECT_EQ(store_->Delete(kProject, "p", std::nullopt, std::nullopt).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Create("p", "fresh").version, 1);
}

TEST_F(PromptStoreTest, ListAggregatesMatchingVersionsPerName) {
  Create("b", "b1", {"production"}, std::vector<std::string>{"t1"});
  Create("b", "b2", {"staging"});
  Create("a", "a1", {}, std::vector<std::string>{"t2"});
  Create("c/nested", "c1", {"production"});

  PromptListQuery all;
  auto page = store_->List(kProject, all);
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
  page = store_->List(kProject, by_label);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].name, "b");
  EXPECT_THAT(page->items[0].versions, ElementsAre(1));
  EXPECT_THAT(page->items[0].labels, ElementsAre("production"));

  PromptListQuery by_tag;
  by_tag.tag = "t2";
  page = store_->List(kProject, by_tag);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name, "a");

  PromptListQuery paged;
  paged.limit = 2;
  paged.page = 2;
  page = store_->List(kProject, paged);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total_items, 3);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name, "c/nested");

  PromptListQuery by_version;
  by_version.version = 2;
  page = store_->List(kProject, by_version);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_THAT(page->items[0].versions, ElementsAre(2));
  EXPECT_EQ(page->items[0].last_config, json::value(json::object()));
}

TEST_F(PromptStoreTest, ChangesSurviveReopening) {
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

TEST_F(PromptStoreTest, GetByIdFindsOneVersionOfItsOwnProject) {
  PromptRecord v1 = Create("by-id", "first");
  PromptRecord v2 = Create("by-id", "second");
  auto got = store_->GetById(kProject, v1.id);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->version, 1);
  EXPECT_EQ((*got)->prompt, json::value("first"));

  auto other_project = store_->GetById("proj-2", v2.id);
  ASSERT_TRUE(other_project.ok());
  EXPECT_FALSE(other_project->has_value());
  auto missing = store_->GetById(kProject, "no-such-id");
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

TEST_F(PromptStoreTest, ResolvesReferencesInTextAndChatPrompts) {
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

TEST_F(PromptStoreTest, NestedReferencesResolveAndTheGraphListsEveryLevel) {
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

TEST_F(PromptStoreTest, CreateRejectsBrokenReferences) {
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

TEST_F(PromptStoreTest, NestingDepthIsLimited) {
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

TEST_F(PromptStoreTest, LabelMovesThatCloseACycleFailReadsWithFailedPrecondition) {
  Create("y", "plain y", {"l1"});
  Create("x", "X[@@@langfusePrompt:name=y|label=l1@@@]");
  Create("z", "plain z", {"a"});
  Create("y", "Y[@@@langfusePrompt:name=z|label=a@@@]");
  Create("z", "Z[@@@langfusePrompt:name=x|version=1@@@]");
  EXPECT_EQ(GetVersion("x", 1)->record.prompt.as_string(), "X[plain y]");
  ASSERT_TRUE(store_->AddLabels(kProject, "y", 2, {"l1"}).ok());
  EXPECT_EQ(GetVersion("x", 1)->record.prompt.as_string(), "X[Y[plain z]]");
  ASSERT_TRUE(store_->AddLabels(kProject, "z", 2, {"a"}).ok());
  auto cyclic = store_->Get(kProject, "x", PromptSelector::Version(1), true);
  EXPECT_EQ(cyclic.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(cyclic.status().message(), HasSubstr("Circular dependency"));
  // The raw prompt stays readable.
  EXPECT_NE(GetVersion("x", 1, false), nullptr);
}

TEST_F(PromptStoreTest, DeleteRefusesToBreakDependents) {
  Create("base", "b1", {"production"});
  Create("pinned", "x");
  Create("composite", "@@@langfusePrompt:name=base|label=production@@@");
  Create("user", "@@@langfusePrompt:name=pinned|version=1@@@");

  absl::Status s = store_->Delete(kProject, "base", 1, std::nullopt);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("composite v1 depends on base production"));
  EXPECT_EQ(store_->Delete(kProject, "pinned", std::nullopt, std::nullopt).code(),
            absl::StatusCode::kFailedPrecondition);

  // Once another version carries the label, the old one may go.
  Create("base", "b2", {"production"});
  ASSERT_TRUE(store_->Delete(kProject, "base", 1, std::nullopt).ok());
  EXPECT_EQ(GetVersion("composite", 1)->record.prompt.as_string(), "b2");

  // Deleting the dependent releases the dependency.
  ASSERT_TRUE(store_->Delete(kProject, "user", std::nullopt, std::nullopt).ok());
  ASSERT_TRUE(store_->Delete(kProject, "pinned", std::nullopt, std::nullopt).ok());
}

}  // namespace
}  // namespace loupe
