#include "storage/sqlite/sqlite_dataset_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "common/hash.h"
#include "common/time_util.h"

namespace loupe {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kProject = "proj-1";

class DatasetStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("loupe-dataset-test-" + NewUuid());
    std::filesystem::create_directories(dir_);
    Open();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    store_.reset();
    auto s = OpenSqliteDatasetStore((dir_ / "meta.db").string());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }

  DatasetRecord Dataset(const std::string& name, const std::string& project = kProject) {
    DatasetUpsert u;
    u.name = name;
    auto d = store_->UpsertDataset(project, u);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : DatasetRecord{};
  }

  DatasetItemRecord Item(const std::string& dataset, std::optional<std::string> id,
                         json::value input, std::optional<std::string> status = std::nullopt) {
    DatasetItemUpsert u;
    u.dataset_name = dataset;
    u.id = std::move(id);
    u.input = std::move(input);
    u.status = std::move(status);
    auto i = store_->UpsertItem(kProject, u);
    EXPECT_TRUE(i.ok()) << i.status();
    return i.ok() ? *i : DatasetItemRecord{};
  }

  absl::StatusOr<DatasetRunItemRecord> Link(const std::string& item, const std::string& run,
                                            std::optional<int64_t> version = std::nullopt) {
    NewDatasetRunItem n;
    n.run_name = run;
    n.run_description = "desc of " + run;
    n.run_metadata = json::object{{"model", "m1"}};
    n.dataset_item_id = item;
    n.trace_id = "trace-" + item;
    n.dataset_version_ms = version;
    return store_->CreateRunItem(kProject, n);
  }

  // Distinct millisecond timestamps between versions.
  static void Tick() { std::this_thread::sleep_for(std::chrono::milliseconds(3)); }

  std::filesystem::path dir_;
  std::unique_ptr<DatasetStore> store_;
};

TEST_F(DatasetStoreTest, UpsertDatasetByNameUpdatesOnlyGivenFields) {
  DatasetUpsert u;
  u.name = "ds";
  u.description = "first";
  u.metadata = json::object{{"k", "v"}};
  auto created = store_->UpsertDataset(kProject, u);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->description, "first");
  EXPECT_TRUE(created->input_schema.is_null());

  DatasetUpsert update;
  update.name = "ds";
  update.input_schema = json::object{{"type", "object"}};
  auto updated = store_->UpsertDataset(kProject, update);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->id, created->id);
  EXPECT_EQ(updated->description, "first");
  EXPECT_EQ(updated->metadata, (json::value(json::object{{"k", "v"}})));
  EXPECT_EQ(updated->input_schema, (json::value(json::object{{"type", "object"}})));

  auto got = store_->GetDataset(kProject, "ds");
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ((*got)->input_schema, updated->input_schema);
  auto missing = store_->GetDataset("other-project", "ds");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(DatasetStoreTest, ListDatasetsNewestFirstWithPaging) {
  Dataset("a");
  Tick();
  Dataset("b");
  Tick();
  Dataset("c");
  auto page = store_->ListDatasets(kProject, 1, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total_items, 3);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].name, "c");
  EXPECT_EQ(page->items[1].name, "b");
  page = store_->ListDatasets(kProject, 2, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name, "a");
}

TEST_F(DatasetStoreTest, ItemsUpsertByIdAndKeepUnsetFields) {
  Dataset("ds");
  DatasetItemRecord created = Item("ds", "item-1", json::object{{"q", "2+2"}});
  EXPECT_EQ(created.status, "ACTIVE");
  EXPECT_EQ(created.dataset_name, "ds");
  EXPECT_TRUE(created.expected_output.is_null());

  Tick();
  DatasetItemUpsert update;
  update.dataset_name = "ds";
  update.id = "item-1";
  update.expected_output = json::value("4");
  update.status = "ARCHIVED";
  auto updated = store_->UpsertItem(kProject, update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->input, (json::value(json::object{{"q", "2+2"}})));
  EXPECT_EQ(updated->expected_output, json::value("4"));
  EXPECT_EQ(updated->status, "ARCHIVED");
  EXPECT_EQ(updated->created_at_ms, created.created_at_ms);
  EXPECT_GT(updated->updated_at_ms, created.updated_at_ms);

  // Generated ids.
  DatasetItemRecord generated = Item("ds", std::nullopt, json::value(1));
  EXPECT_EQ(generated.id.size(), 36u);
}

TEST_F(DatasetStoreTest, ItemIdsAreUniqueAcrossDatasetsAndDatasetsMustExist) {
  Dataset("a");
  Dataset("b");
  Item("a", "shared", json::value(1));
  DatasetItemUpsert other;
  other.dataset_name = "b";
  other.id = "shared";
  auto s = store_->UpsertItem(kProject, other);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.status().message(), HasSubstr("already exists in a dataset other than b"));

  DatasetItemUpsert orphan;
  orphan.dataset_name = "nope";
  EXPECT_EQ(store_->UpsertItem(kProject, orphan).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DatasetStoreTest, ItemVersionsCanBeReadAsOfAPastTime) {
  Dataset("ds");
  Item("ds", "i1", json::value("v1"));
  Tick();
  int64_t after_v1 = NowMillis();
  Tick();
  Item("ds", "i1", json::value("v2"));
  Item("ds", "i2", json::value("other"));
  Tick();
  int64_t after_v2 = NowMillis();
  Tick();
  ASSERT_TRUE(*store_->DeleteItem(kProject, "i1"));

  auto then = store_->GetItem(kProject, "i1", after_v1);
  ASSERT_TRUE(then.ok() && *then);
  EXPECT_EQ((*then)->input, json::value("v1"));
  auto later = store_->GetItem(kProject, "i1", after_v2);
  ASSERT_TRUE(later.ok() && *later);
  EXPECT_EQ((*later)->input, json::value("v2"));
  auto now = store_->GetItem(kProject, "i1");
  ASSERT_TRUE(now.ok());
  EXPECT_FALSE(now->has_value());

  DatasetItemQuery q;
  q.dataset_name = "ds";
  q.as_of_ms = after_v1;
  auto page = store_->ListItems(kProject, q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].input, json::value("v1"));
  q.as_of_ms.reset();
  page = store_->ListItems(kProject, q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "i2");

  // A deleted id can be used again.
  EXPECT_EQ(Item("ds", "i1", json::value("reborn")).input, json::value("reborn"));
}

TEST_F(DatasetStoreTest, UnchangedUpsertWritesNoNewVersion) {
  Dataset("ds");
  DatasetItemRecord first = Item("ds", "i", json::value("same"));
  Tick();
  DatasetItemRecord again = Item("ds", "i", json::value("same"));
  EXPECT_EQ(again.valid_from_ms, first.valid_from_ms);
  EXPECT_EQ(again.updated_at_ms, first.updated_at_ms);
}

TEST_F(DatasetStoreTest, ListItemsFiltersBySource) {
  Dataset("ds");
  DatasetItemUpsert u;
  u.dataset_name = "ds";
  u.id = "from-trace";
  u.source_trace_id = "t1";
  u.source_observation_id = "o1";
  ASSERT_TRUE(store_->UpsertItem(kProject, u).ok());
  Item("ds", "plain", json::value(0));
  DatasetItemQuery q;
  q.source_trace_id = "t1";
  auto page = store_->ListItems(kProject, q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->total_items, 1);
  EXPECT_EQ(page->items[0].id, "from-trace");
  q = {};
  q.source_observation_id = "o2";
  EXPECT_EQ(store_->ListItems(kProject, q)->total_items, 0);
  q = {};
  q.dataset_name = "missing";
  EXPECT_EQ(store_->ListItems(kProject, q).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DatasetStoreTest, RunItemsCreateTheRunOnceAndNeedAnActiveItem) {
  DatasetRecord ds = Dataset("ds");
  Item("ds", "i1", json::value(1));
  Item("ds", "i2", json::value(2));
  Item("ds", "archived", json::value(3), "ARCHIVED");

  auto first = Link("i1", "run-a");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->dataset_run_name, "run-a");
  EXPECT_EQ(first->trace_id, "trace-i1");
  NewDatasetRunItem second_item;
  second_item.run_name = "run-a";
  second_item.run_description = "ignored: the run exists";
  second_item.dataset_item_id = "i2";
  second_item.trace_id = "t2";
  second_item.observation_id = "o2";
  auto second = store_->CreateRunItem(kProject, second_item);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->dataset_run_id, first->dataset_run_id);

  auto run = store_->GetRun(kProject, ds.id, "run-a");
  ASSERT_TRUE(run.ok() && *run);
  EXPECT_EQ((*run)->description, "desc of run-a");
  EXPECT_EQ((*run)->metadata, (json::value(json::object{{"model", "m1"}})));
  EXPECT_EQ((*run)->dataset_name, "ds");

  auto items = store_->RunItemsOfRun(kProject, (*run)->id);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].dataset_item_id, "i1");
  EXPECT_EQ((*items)[1].observation_id, "o2");

  EXPECT_EQ(Link("archived", "run-a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Link("missing", "run-a").status().code(), absl::StatusCode::kNotFound);

  auto page = store_->ListRunItems(kProject, (*run)->id, 1, 1);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total_items, 2);
  ASSERT_EQ(page->items.size(), 1u);
}

TEST_F(DatasetStoreTest, RunItemsCheckTheItemAtTheDatasetVersion) {
  Dataset("ds");
  Item("ds", "i", json::value(1), "ARCHIVED");
  Tick();
  int64_t archived_then = NowMillis();
  Tick();
  Item("ds", "i", json::value(1), "ACTIVE");
  EXPECT_EQ(Link("i", "r", archived_then).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Link("i", "r").ok());
}

TEST_F(DatasetStoreTest, DeletingARunRemovesItsItemsAndDeletingAnItemItsRunItems) {
  DatasetRecord ds = Dataset("ds");
  Item("ds", "i1", json::value(1));
  Item("ds", "i2", json::value(2));
  ASSERT_TRUE(Link("i1", "r1").ok());
  ASSERT_TRUE(Link("i2", "r1").ok());
  Tick();
  ASSERT_TRUE(Link("i1", "r2").ok());

  auto runs = store_->ListRuns(kProject, ds.id, 1, 10);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->items.size(), 2u);
  EXPECT_EQ(runs->items[0].name, "r2");  // newest first

  ASSERT_TRUE(*store_->DeleteItem(kProject, "i1"));
  std::string r1 = (*store_->GetRun(kProject, ds.id, "r1"))->id;
  EXPECT_EQ(store_->RunItemsOfRun(kProject, r1)->size(), 1u);

  EXPECT_TRUE(*store_->DeleteRun(kProject, r1));
  EXPECT_FALSE(*store_->DeleteRun(kProject, r1));
  EXPECT_FALSE(store_->GetRun(kProject, ds.id, "r1")->has_value());
  EXPECT_TRUE(store_->RunItemsOfRun(kProject, r1)->empty());
  EXPECT_FALSE(*store_->DeleteItem(kProject, "i1"));
}

TEST_F(DatasetStoreTest, ItemChecksSeeTheItemAsItWouldBeStored) {
  Dataset("ds");
  Item("ds", "i", json::value("old"));
  std::vector<std::string> seen;
  DatasetItemUpsert u;
  u.dataset_name = "ds";
  u.id = "i";
  u.expected_output = json::value("answer");
  u.check = [&](const DatasetRecord& d, const DatasetItemRecord& item) {
    seen.push_back(d.name + ":" + json::serialize(item.input) + ":" +
                   json::serialize(item.expected_output));
    return absl::InvalidArgumentError("refused");
  };
  auto refused = store_->UpsertItem(kProject, u);
  EXPECT_EQ(refused.status(), absl::InvalidArgumentError("refused"));
  EXPECT_THAT(seen, ElementsAre(R"(ds:"old":"answer")"));
  EXPECT_EQ((*store_->GetItem(kProject, "i"))->expected_output, json::value(nullptr));

  // An upsert that changes nothing is not checked again.
  u.expected_output.reset();
  u.input = json::value("old");
  EXPECT_TRUE(store_->UpsertItem(kProject, u).ok());
  EXPECT_EQ(seen.size(), 1u);
}

TEST_F(DatasetStoreTest, SchemaChangesCheckEveryCurrentItem) {
  Dataset("ds");
  Item("ds", "a", json::value(1));
  Item("ds", "b", json::value("two"));
  Item("ds", "gone", json::value("x"));
  ASSERT_TRUE(*store_->DeleteItem(kProject, "gone"));
  std::vector<std::string> checked;
  DatasetUpsert u;
  u.name = "ds";
  u.input_schema = json::object{{"type", "string"}};
  u.check = [&](const DatasetRecord& d, const DatasetItemRecord& item) -> absl::Status {
    checked.push_back(item.id);
    EXPECT_EQ(d.input_schema, (json::value(json::object{{"type", "string"}})));
    if (!item.input.is_string()) return absl::InvalidArgumentError("item " + item.id);
    return absl::OkStatus();
  };
  EXPECT_EQ(store_->UpsertDataset(kProject, u).status(), absl::InvalidArgumentError("item a"));
  EXPECT_TRUE((*store_->GetDataset(kProject, "ds"))->input_schema.is_null());  // nothing stored
  EXPECT_THAT(checked, ::testing::Contains("a"));
  EXPECT_THAT(checked, ::testing::Not(::testing::Contains("gone")));

  ASSERT_TRUE(*store_->DeleteItem(kProject, "a"));
  checked.clear();
  ASSERT_TRUE(store_->UpsertDataset(kProject, u).ok());
  EXPECT_THAT(checked, ElementsAre("b"));
  // Upserts that leave the schemas as they are check nothing.
  checked.clear();
  u.description = "now described";
  ASSERT_TRUE(store_->UpsertDataset(kProject, u).ok());
  EXPECT_TRUE(checked.empty());
}

TEST_F(DatasetStoreTest, FindRunsAndTheirItemsForExperiments) {
  DatasetRecord ds1 = Dataset("ds1");
  DatasetRecord ds2 = Dataset("ds2");
  Item("ds1", "i1", json::value(1));
  Item("ds1", "i2", json::value(2));
  Item("ds2", "j1", json::value(3));
  ASSERT_TRUE(Link("i1", "run").ok());
  Tick();
  ASSERT_TRUE(Link("i2", "run").ok());
  Tick();
  ASSERT_TRUE(Link("j1", "run").ok());  // same name, other dataset
  Tick();
  ASSERT_TRUE(Link("i1", "other").ok());

  auto all = store_->FindRuns(kProject, {});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "other");  // newest first
  RunSelection by_name;
  by_name.run_names = {"run"};
  auto named = store_->FindRuns(kProject, by_name);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->size(), 2u);
  by_name.dataset_ids = {ds2.id};
  auto in_ds2 = store_->FindRuns(kProject, by_name);
  ASSERT_TRUE(in_ds2.ok());
  ASSERT_EQ(in_ds2->size(), 1u);
  EXPECT_EQ((*in_ds2)[0].dataset_name, "ds2");
  RunSelection ids;
  ids.run_ids = {(*in_ds2)[0].id, "nope"};
  auto by_id = store_->FindRuns(kProject, ids);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->size(), 1u);
  EXPECT_TRUE(store_->FindRuns("other-project", {})->empty());

  std::string run1 = (*store_->GetRun(kProject, ds1.id, "run"))->id;
  auto items = store_->RunItemsOfRuns(kProject, {run1, (*in_ds2)[0].id}, {});
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 3u);
  EXPECT_EQ((*items)[0].dataset_item_id, "i1");
  EXPECT_EQ((*items)[0].dataset_item_version_ms, (*store_->GetItem(kProject, "i1"))->valid_from_ms);
  auto only = store_->RunItemsOfRuns(kProject, {run1}, {"i2", "j1"});
  ASSERT_TRUE(only.ok());
  ASSERT_EQ(only->size(), 1u);
  EXPECT_EQ((*only)[0].dataset_item_id, "i2");
  EXPECT_TRUE(store_->RunItemsOfRuns(kProject, {}, {})->empty());
}

TEST_F(DatasetStoreTest, DataSurvivesReopening) {
  DatasetRecord ds = Dataset("ds");
  Item("ds", "i", json::object{{"nested", json::array{1, 2}}});
  ASSERT_TRUE(Link("i", "r").ok());
  Open();
  auto item = store_->GetItem(kProject, "i");
  ASSERT_TRUE(item.ok() && *item);
  EXPECT_EQ((*item)->input, (json::value(json::object{{"nested", json::array{1, 2}}})));
  EXPECT_TRUE(store_->GetRun(kProject, ds.id, "r")->has_value());
  auto all = store_->ItemsOfDataset(kProject, ds.id);
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(*all, ::testing::SizeIs(1));
}

}  // namespace
}  // namespace loupe
