// One suite for every DatasetStore backend: the embedded SQLite store and the
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
#include "common/time_util.h"
#include "storage/dataset_store.h"
#include "storage/postgres/pg_client.h"
#include "storage/postgres/pg_dataset_store.h"
#include "storage/sqlite/sqlite_dataset_store.h"

namespace loupe {
namespace {

namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class DatasetStoreConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    run_ = RandomHex(6);
    project_ = "proj-1-" + run_;
    other_project_ = "other-project-" + run_;
    if (GetParam() == "sqlite") {
      dir_ = std::filesystem::temp_directory_path() / ("loupe-dataset-test-" + NewUuid());
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
  absl::StatusOr<std::unique_ptr<DatasetStore>> OpenAnother(bool own_pool = true) {
    if (!postgres()) return OpenSqliteDatasetStore((dir_ / "meta.db").string());
    if (!own_pool) return OpenPostgresDatasetStore(pool_);
    auto pool = pg::Pool::Open({url_});
    if (!pool.ok()) return pool.status();
    return OpenPostgresDatasetStore(std::shared_ptr<pg::Pool>(*std::move(pool)));
  }

  DatasetRecord Dataset(const std::string& name, const std::string& project = "") {
    DatasetUpsert u;
    u.name = name;
    auto d = store_->UpsertDataset(project.empty() ? project_ : project, u);
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
    auto i = store_->UpsertItem(project_, u);
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
    return store_->CreateRunItem(project_, n);
  }

  // Distinct millisecond timestamps between versions.
  static void Tick() { std::this_thread::sleep_for(std::chrono::milliseconds(3)); }

  std::filesystem::path dir_;
  std::string url_;
  std::shared_ptr<pg::Pool> pool_;
  std::string run_, project_, other_project_;
  std::unique_ptr<DatasetStore> store_;
};

TEST_P(DatasetStoreConformanceTest, UpsertDatasetByNameUpdatesOnlyGivenFields) {
  DatasetUpsert u;
  u.name = "ds";
  u.description = "first";
  u.metadata = json::object{{"k", "v"}};
  auto created = store_->UpsertDataset(project_, u);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->description, "first");
  EXPECT_TRUE(created->input_schema.is_null());

  DatasetUpsert update;
  update.name = "ds";
  update.input_schema = json::object{{"type", "object"}};
  auto updated = store_->UpsertDataset(project_, update);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->id, created->id);
  EXPECT_EQ(updated->description, "first");
  EXPECT_EQ(updated->metadata, (json::value(json::object{{"k", "v"}})));
  EXPECT_EQ(updated->input_schema, (json::value(json::object{{"type", "object"}})));

  auto got = store_->GetDataset(project_, "ds");
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ((*got)->input_schema, updated->input_schema);
  auto missing = store_->GetDataset(other_project_, "ds");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_P(DatasetStoreConformanceTest, ListDatasetsNewestFirstWithPaging) {
  Dataset("a");
  Tick();
  Dataset("b");
  Tick();
  Dataset("c");
  auto page = store_->ListDatasets(project_, 1, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total_items, 3);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].name, "c");
  EXPECT_EQ(page->items[1].name, "b");
  page = store_->ListDatasets(project_, 2, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].name, "a");
}

TEST_P(DatasetStoreConformanceTest, ItemsUpsertByIdAndKeepUnsetFields) {
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
  auto updated = store_->UpsertItem(project_, update);
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

TEST_P(DatasetStoreConformanceTest, ItemIdsAreUniqueAcrossDatasetsAndDatasetsMustExist) {
  Dataset("a");
  Dataset("b");
  Item("a", "shared", json::value(1));
  DatasetItemUpsert other;
  other.dataset_name = "b";
  other.id = "shared";
  auto s = store_->UpsertItem(project_, other);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.status().message(), HasSubstr("already exists in a dataset other than b"));

  DatasetItemUpsert orphan;
  orphan.dataset_name = "nope";
  EXPECT_EQ(store_->UpsertItem(project_, orphan).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(DatasetStoreConformanceTest, ItemVersionsCanBeReadAsOfAPastTime) {
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
  ASSERT_TRUE(*store_->DeleteItem(project_, "i1"));

  auto then = store_->GetItem(project_, "i1", after_v1);
  ASSERT_TRUE(then.ok() && *then);
  EXPECT_EQ((*then)->input, json::value("v1"));
  auto later = store_->GetItem(project_, "i1", after_v2);
  ASSERT_TRUE(later.ok() && *later);
  EXPECT_EQ((*later)->input, json::value("v2"));
  auto now = store_->GetItem(project_, "i1");
  ASSERT_TRUE(now.ok());
  EXPECT_FALSE(now->has_value());

  DatasetItemQuery q;
  q.dataset_name = "ds";
  q.as_of_ms = after_v1;
  auto page = store_->ListItems(project_, q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].input, json::value("v1"));
  q.as_of_ms.reset();
  page = store_->ListItems(project_, q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "i2");

  // A deleted id can be used again.
  EXPECT_EQ(Item("ds", "i1", json::value("reborn")).input, json::value("reborn"));
}

TEST_P(DatasetStoreConformanceTest, UnchangedUpsertWritesNoNewVersion) {
  Dataset("ds");
  DatasetItemRecord first = Item("ds", "i", json::value("same"));
  Tick();
  DatasetItemRecord again = Item("ds", "i", json::value("same"));
  EXPECT_EQ(again.valid_from_ms, first.valid_from_ms);
  EXPECT_EQ(again.updated_at_ms, first.updated_at_ms);
}

TEST_P(DatasetStoreConformanceTest, ListItemsFiltersBySource) {
  Dataset("ds");
  DatasetItemUpsert u;
  u.dataset_name = "ds";
  u.id = "from-trace";
  u.source_trace_id = "t1";
  u.source_observation_id = "o1";
  ASSERT_TRUE(store_->UpsertItem(project_, u).ok());
  Item("ds", "plain", json::value(0));
  DatasetItemQuery q;
  q.source_trace_id = "t1";
  auto page = store_->ListItems(project_, q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->total_items, 1);
  EXPECT_EQ(page->items[0].id, "from-trace");
  q = {};
  q.source_observation_id = "o2";
  EXPECT_EQ(store_->ListItems(project_, q)->total_items, 0);
  q = {};
  q.dataset_name = "missing";
  EXPECT_EQ(store_->ListItems(project_, q).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(DatasetStoreConformanceTest, RunItemsCreateTheRunOnceAndNeedAnActiveItem) {
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
  auto second = store_->CreateRunItem(project_, second_item);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->dataset_run_id, first->dataset_run_id);

  auto run = store_->GetRun(project_, ds.id, "run-a");
  ASSERT_TRUE(run.ok() && *run);
  EXPECT_EQ((*run)->description, "desc of run-a");
  EXPECT_EQ((*run)->metadata, (json::value(json::object{{"model", "m1"}})));
  EXPECT_EQ((*run)->dataset_name, "ds");

  auto items = store_->RunItemsOfRun(project_, (*run)->id);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].dataset_item_id, "i1");
  EXPECT_EQ((*items)[1].observation_id, "o2");

  EXPECT_EQ(Link("archived", "run-a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Link("missing", "run-a").status().code(), absl::StatusCode::kNotFound);

  auto page = store_->ListRunItems(project_, (*run)->id, 1, 1);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total_items, 2);
  ASSERT_EQ(page->items.size(), 1u);
}

TEST_P(DatasetStoreConformanceTest, RunItemsCheckTheItemAtTheDatasetVersion) {
  Dataset("ds");
  Item("ds", "i", json::value(1), "ARCHIVED");
  Tick();
  int64_t archived_then = NowMillis();
  Tick();
  Item("ds", "i", json::value(1), "ACTIVE");
  EXPECT_EQ(Link("i", "r", archived_then).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Link("i", "r").ok());
}

TEST_P(DatasetStoreConformanceTest, DeletingARunRemovesItsItemsAndDeletingAnItemItsRunItems) {
  DatasetRecord ds = Dataset("ds");
  Item("ds", "i1", json::value(1));
  Item("ds", "i2", json::value(2));
  ASSERT_TRUE(Link("i1", "r1").ok());
  ASSERT_TRUE(Link("i2", "r1").ok());
  Tick();
  ASSERT_TRUE(Link("i1", "r2").ok());

  auto runs = store_->ListRuns(project_, ds.id, 1, 10);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->items.size(), 2u);
  EXPECT_EQ(runs->items[0].name, "r2");  // newest first

  ASSERT_TRUE(*store_->DeleteItem(project_, "i1"));
  std::string r1 = (*store_->GetRun(project_, ds.id, "r1"))->id;
  EXPECT_EQ(store_->RunItemsOfRun(project_, r1)->size(), 1u);

  EXPECT_TRUE(*store_->DeleteRun(project_, r1));
  EXPECT_FALSE(*store_->DeleteRun(project_, r1));
  EXPECT_FALSE(store_->GetRun(project_, ds.id, "r1")->has_value());
  EXPECT_TRUE(store_->RunItemsOfRun(project_, r1)->empty());
  EXPECT_FALSE(*store_->DeleteItem(project_, "i1"));
}

TEST_P(DatasetStoreConformanceTest, ItemChecksSeeTheItemAsItWouldBeStored) {
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
  auto refused = store_->UpsertItem(project_, u);
  EXPECT_EQ(refused.status(), absl::InvalidArgumentError("refused"));
  EXPECT_THAT(seen, ElementsAre(R"(ds:"old":"answer")"));
  EXPECT_EQ((*store_->GetItem(project_, "i"))->expected_output, json::value(nullptr));

  // An upsert that changes nothing is not checked again.
  u.expected_output.reset();
  u.input = json::value("old");
  EXPECT_TRUE(store_->UpsertItem(project_, u).ok());
  EXPECT_EQ(seen.size(), 1u);
}

TEST_P(DatasetStoreConformanceTest, SchemaChangesCheckEveryCurrentItem) {
  Dataset("ds");
  Item("ds", "a", json::value(1));
  Item("ds", "b", json::value("two"));
  Item("ds", "gone", json::value("x"));
  ASSERT_TRUE(*store_->DeleteItem(project_, "gone"));
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
  EXPECT_EQ(store_->UpsertDataset(project_, u).status(), absl::InvalidArgumentError("item a"));
  EXPECT_TRUE((*store_->GetDataset(project_, "ds"))->input_schema.is_null());  // nothing stored
  EXPECT_THAT(checked, ::testing::Contains("a"));
  EXPECT_THAT(checked, ::testing::Not(::testing::Contains("gone")));

  ASSERT_TRUE(*store_->DeleteItem(project_, "a"));
  checked.clear();
  ASSERT_TRUE(store_->UpsertDataset(project_, u).ok());
  EXPECT_THAT(checked, ElementsAre("b"));
  // Upserts that leave the schemas as they are check nothing.
  checked.clear();
  u.description = "now described";
  ASSERT_TRUE(store_->UpsertDataset(project_, u).ok());
  EXPECT_TRUE(checked.empty());
}

TEST_P(DatasetStoreConformanceTest, FindRunsAndTheirItemsForExperiments) {
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

  auto all = store_->FindRuns(project_, {});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "other");  // newest first
  RunSelection by_name;
  by_name.run_names = {"run"};
  auto named = store_->FindRuns(project_, by_name);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->size(), 2u);
  by_name.dataset_ids = {ds2.id};
  auto in_ds2 = store_->FindRuns(project_, by_name);
  ASSERT_TRUE(in_ds2.ok());
  ASSERT_EQ(in_ds2->size(), 1u);
  EXPECT_EQ((*in_ds2)[0].dataset_name, "ds2");
  RunSelection ids;
  ids.run_ids = {(*in_ds2)[0].id, "nope"};
  auto by_id = store_->FindRuns(project_, ids);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->size(), 1u);
  EXPECT_TRUE(store_->FindRuns(other_project_, {})->empty());

  std::string run1 = (*store_->GetRun(project_, ds1.id, "run"))->id;
  auto items = store_->RunItemsOfRuns(project_, {run1, (*in_ds2)[0].id}, {});
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 3u);
  EXPECT_EQ((*items)[0].dataset_item_id, "i1");
  EXPECT_EQ((*items)[0].dataset_item_version_ms, (*store_->GetItem(project_, "i1"))->valid_from_ms);
  auto only = store_->RunItemsOfRuns(project_, {run1}, {"i2", "j1"});
  ASSERT_TRUE(only.ok());
  ASSERT_EQ(only->size(), 1u);
  EXPECT_EQ((*only)[0].dataset_item_id, "i2");
  EXPECT_TRUE(store_->RunItemsOfRuns(project_, {}, {})->empty());
}

TEST_P(DatasetStoreConformanceTest, DataSurvivesReopening) {
  DatasetRecord ds = Dataset("ds");
  Item("ds", "i", json::object{{"nested", json::array{1, 2}}});
  ASSERT_TRUE(Link("i", "r").ok());
  Open();
  auto item = store_->GetItem(project_, "i");
  ASSERT_TRUE(item.ok() && *item);
  EXPECT_EQ((*item)->input, (json::value(json::object{{"nested", json::array{1, 2}}})));
  EXPECT_TRUE(store_->GetRun(project_, ds.id, "r")->has_value());
  auto all = store_->ItemsOfDataset(project_, ds.id);
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(*all, ::testing::SizeIs(1));
}

// ------------------------------------------------------------ concurrency

// Runs `fn(store, thread)` on `threads` threads, alternating between the
// test's store and a second one (another process on PostgreSQL).
#define RUN_ON_TWO_STORES(threads, fn)                           \
  do {                                                           \
    auto other = OpenAnother();                                  \
    ASSERT_TRUE(other.ok()) << other.status();                   \
    std::vector<std::thread> pool;                               \
    for (int t = 0; t < (threads); ++t) {                        \
      DatasetStore* store = t % 2 ? other->get() : store_.get(); \
      pool.emplace_back([&, store, t] { fn(store, t); });        \
    }                                                            \
    for (auto& th : pool) th.join();                             \
    (*other)->Close();                                           \
  } while (0)

TEST_P(DatasetStoreConformanceTest, ConcurrentUpsertsOfANewDatasetMakeOneDataset) {
  std::vector<std::string> ids(8);
  auto upsert = [&](DatasetStore* store, int t) {
    DatasetUpsert u;
    u.name = "contended";
    u.description = "by " + std::to_string(t);
    auto d = store->UpsertDataset(project_, u);
    ASSERT_TRUE(d.ok()) << d.status();
    ids[t] = d->id;
  };
  RUN_ON_TWO_STORES(8, upsert);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
  auto page = store_->ListDatasets(project_, 1, 10);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->total_items, 1);
}

TEST_P(DatasetStoreConformanceTest, ConcurrentRunItemsCreateOneRun) {
  DatasetRecord ds = Dataset("ds");
  for (int i = 0; i < 16; ++i) Item("ds", "i" + std::to_string(i), json::value(i));
  auto link = [&](DatasetStore* store, int t) {
    for (int i = t; i < 16; i += 8) {
      NewDatasetRunItem n;
      n.run_name = "experiment";
      n.run_description = "by " + std::to_string(t);
      n.dataset_item_id = "i" + std::to_string(i);
      n.trace_id = "trace-" + std::to_string(i);
      auto r = store->CreateRunItem(project_, n);
      EXPECT_TRUE(r.ok()) << r.status();
    }
  };
  RUN_ON_TWO_STORES(8, link);
  auto runs = store_->ListRuns(project_, ds.id, 1, 10);
  ASSERT_TRUE(runs.ok()) << runs.status();
  ASSERT_EQ(runs->total_items, 1);
  auto items = store_->RunItemsOfRun(project_, runs->items[0].id);
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(items->size(), 16u);
}

TEST_P(DatasetStoreConformanceTest, ConcurrentItemUpsertsKeepOneCurrentVersion) {
  Dataset("ds");
  Dataset("other");
  std::atomic<int> wrong_dataset{0};
  auto write = [&](DatasetStore* store, int t) {
    for (int i = 0; i < 5; ++i) {
      DatasetItemUpsert u;
      // Odd threads try to claim the id for another dataset.
      u.dataset_name = t % 4 == 3 ? "other" : "ds";
      u.id = "contended";
      u.input = json::value("t" + std::to_string(t) + "-" + std::to_string(i));
      auto r = store->UpsertItem(project_, u);
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
        ++wrong_dataset;
      }
    }
  };
  RUN_ON_TWO_STORES(8, write);
  auto current = store_->GetItem(project_, "contended");
  ASSERT_TRUE(current.ok() && *current) << current.status();
  DatasetItemQuery q;
  q.dataset_name = (*current)->dataset_name;
  auto page = store_->ListItems(project_, q);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->total_items, 1);
  // Whichever dataset got the id first kept it; the others were refused.
  EXPECT_EQ(wrong_dataset.load(), (*current)->dataset_name == "ds" ? 10 : 30);
}

// ------------------------------------------------------------ content

TEST_P(DatasetStoreConformanceTest, UnicodeAndLargeJsonRoundTrip) {
  DatasetUpsert u;
  u.name = "données/日本 🚀";
  u.description = "Beschreibung: grüße ✓";
  u.metadata = json::object{{"ключ", "значение"}, {"emoji", "🧪"}};
  u.input_schema = json::object{{"type", "object"}, {"title", "Entrée"}};
  auto d = store_->UpsertDataset(project_, u);
  ASSERT_TRUE(d.ok()) << d.status();
  auto got = store_->GetDataset(project_, "données/日本 🚀");
  ASSERT_TRUE(got.ok() && *got) << got.status();
  EXPECT_EQ((*got)->description, "Beschreibung: grüße ✓");
  EXPECT_EQ((*got)->metadata, *u.metadata);
  EXPECT_EQ((*got)->input_schema, *u.input_schema);

  std::string big;
  while (big.size() < 4 * 1024 * 1024) big += "ünïcode ✓ 🦊 \"quoted\" \\ line\n";
  std::string with_nul = "a";
  with_nul += '\0';
  with_nul += "b";
  json::object input{{"text", big}, {"nul", with_nul}};
  json::array rows;
  for (int i = 0; i < 5000; ++i) rows.push_back(json::object{{"i", i}, {"v", 0.5 * i}});
  input["rows"] = std::move(rows);
  DatasetItemUpsert item;
  item.dataset_name = "données/日本 🚀";
  item.id = "élément-1";
  item.input = input;
  item.expected_output = json::value("réponse");
  item.metadata = json::object{{"nested", json::object{{"deep", json::array{1, "二", nullptr}}}}};
  auto stored = store_->UpsertItem(project_, item);
  ASSERT_TRUE(stored.ok()) << stored.status();
  auto read = store_->GetItem(project_, "élément-1");
  ASSERT_TRUE(read.ok() && *read) << read.status();
  EXPECT_EQ((*read)->input, json::value(input));
  EXPECT_EQ((*read)->expected_output, json::value("réponse"));
  EXPECT_EQ((*read)->metadata, *item.metadata);
  EXPECT_EQ((*read)->dataset_name, "données/日本 🚀");
  // The same content again is no change.
  auto again = store_->UpsertItem(project_, item);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->valid_from_ms, stored->valid_from_ms);

  NewDatasetRunItem n;
  n.run_name = "exécution ✓";
  n.run_metadata = json::object{{"modèle", "🤖"}};
  n.dataset_item_id = "élément-1";
  n.trace_id = "trace-ü";
  ASSERT_TRUE(store_->CreateRunItem(project_, n).ok());
  auto run = store_->GetRun(project_, d->id, "exécution ✓");
  ASSERT_TRUE(run.ok() && *run) << run.status();
  EXPECT_EQ((*run)->metadata, n.run_metadata);
  RunSelection by_name;
  by_name.run_names = {"exécution ✓"};
  auto found = store_->FindRuns(project_, by_name);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->size(), 1u);
  auto items = store_->RunItemsOfRuns(project_, {(*run)->id}, {"élément-1"});
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].trace_id, "trace-ü");
}

TEST_P(DatasetStoreConformanceTest, ItemsOfOneMillisecondSortByIdBytes) {
  // Newest first; items of the same millisecond in the byte order of their
  // ids (as SQLite's BINARY collation sorts), whatever the database's
  // collation.
  Dataset("ds");
  for (const char* id : {"b", "B", "é", "a"}) Item("ds", id, json::value(id));
  auto all = store_->ItemsOfDataset(project_, (*store_->GetDataset(project_, "ds"))->id);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 4u);
  for (size_t i = 1; i < all->size(); ++i) {
    const DatasetItemRecord& prev = (*all)[i - 1];
    const DatasetItemRecord& cur = (*all)[i];
    EXPECT_GE(prev.created_at_ms, cur.created_at_ms);
    if (prev.created_at_ms == cur.created_at_ms) {
      EXPECT_LT(prev.id, cur.id);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, DatasetStoreConformanceTest,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace loupe
