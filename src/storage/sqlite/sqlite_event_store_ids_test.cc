// Rows of the SQLite event store are found by id wherever their id is: listed
// in memory, being merged into the id index, merged, or listed again from
// the rows past the index's mark after a restart (recent_ids.h).

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "boost/json.hpp"
#include "common/hash.h"
#include "common/time_util.h"
#include "ingest/batch_decoder.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/sqlite_event_store.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr const char* kProject = "proj-ids";
constexpr int64_t kBase = 1743501600000;  // 2025-04-01T10:00:00Z
// More spans than the 16,384 new rows that start a merge, so that one runs.
constexpr int kWrites = 40;
constexpr int kSpansPerWrite = 500;

class EventStoreIdsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("loupe-ids-test-" + NewUuid());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    store_.reset();
    SqliteEventStoreOptions opts;
    opts.path = (dir_ / "events.db").string();
    auto s = OpenSqliteEventStore(opts, nullptr);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void Write(std::vector<json::object> bodies, const char* type) {
    DecodedBatch batch;
    for (auto& body : bodies) {
      json::object e{{"id", "ev-" + std::to_string(next_event_++)},
                     {"type", type},
                     {"timestamp", FormatIsoMillis(kBase)},
                     {"body", std::move(body)}};
      DecodeEvent(json::value(std::move(e)), DecodeOptions{}, &batch);
    }
    ASSERT_TRUE(batch.errors.empty()) << batch.errors.front().message;
    ASSERT_TRUE(store_->Write(kProject, std::move(batch.events)).ok());
  }
  static std::string SpanId(int write, int i) {
    return "span-" + std::to_string(write) + "-" + std::to_string(i);
  }
  void WriteSpans() {
    for (int w = 0; w < kWrites; ++w) {
      std::vector<json::object> bodies;
      for (int i = 0; i < kSpansPerWrite; ++i) {
        bodies.push_back(json::object{{"id", SpanId(w, i)},
                                      {"traceId", "trace-" + std::to_string(w)},
                                      {"name", "step"},
                                      {"startTime", FormatIsoMillis(kBase + i)}});
      }
      Write(std::move(bodies), "span-create");
    }
  }
  std::optional<ObservationRecord> Get(const std::string& id) {
    auto r = store_->GetObservation(kProject, id);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::nullopt;
  }
  // Every 37th span is found, with its own id.
  void ExpectSpansFound() {
    int checked = 0;
    for (int n = 0; n < kWrites * kSpansPerWrite; n += 37, ++checked) {
      const std::string id = SpanId(n / kSpansPerWrite, n % kSpansPerWrite);
      auto o = Get(id);
      ASSERT_TRUE(o.has_value()) << id;
      EXPECT_EQ(o->id, id);
    }
    EXPECT_GT(checked, 500);
  }
  // Ends span (w, i) and checks that the update merged into the span's row.
  void EndSpan(int w, int i, int64_t end_ms) {
    Write({json::object{{"id", SpanId(w, i)},
                        {"traceId", "trace-" + std::to_string(w)},
                        {"endTime", FormatIsoMillis(end_ms)}}},
          "span-update");
    auto o = Get(SpanId(w, i));
    ASSERT_TRUE(o.has_value());
    EXPECT_EQ(o->end_time_ms, end_ms);
    EXPECT_EQ(o->name, "step");
    auto ids = store_->ObservationIdsOfTrace(kProject, "trace-" + std::to_string(w));
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(ids->size(), static_cast<size_t>(kSpansPerWrite));  // no second row
  }
  int64_t Count(const std::string& sql) {
    auto db = sqlite::Db::Open((dir_ / "events.db").string(), true);
    EXPECT_TRUE(db.ok()) << db.status();
    if (!db.ok()) return -1;
    auto st = (*db)->Prepare(sql);
    EXPECT_TRUE(st.ok()) << st.status();
    auto row = (*st)->Step();
    EXPECT_TRUE(row.ok() && *row);
    return (*st)->Int(0);
  }

  std::filesystem::path dir_;
  std::unique_ptr<EventStore> store_;
  int next_event_ = 0;
};

TEST_F(EventStoreIdsTest, RowsAreFoundBeforeDuringAndAfterTheirMerge) {
  Open();
  WriteSpans();
  ExpectSpansFound();
  // A merge ran, in slices: part of the ids is in the index already.
  EXPECT_GE(Count("SELECT COUNT(*) FROM observation_ids"), 2048);
  EndSpan(0, 0, kBase + 5000);                             // merged early
  EndSpan(kWrites - 1, kSpansPerWrite - 1, kBase + 6000);  // still in memory
}

TEST_F(EventStoreIdsTest, RowsPastTheMarkAreListedAgainAfterARestart) {
  Open();
  WriteSpans();
  Open();  // closes the store and opens it again
  ExpectSpansFound();
  EndSpan(0, 1, kBase + 7000);
  EndSpan(kWrites - 1, 3, kBase + 8000);
  // Every span is in the index or past its mark, once.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM observations"), kWrites * kSpansPerWrite);
  EXPECT_EQ(Count("SELECT (SELECT COUNT(*) FROM observation_ids) + (SELECT COUNT(*) FROM "
                  "observations WHERE rowid > (SELECT indexed_through FROM id_index_marks "
                  "WHERE tbl = 'observations') AND rowid NOT IN (SELECT row FROM "
                  "observation_ids))"),
            kWrites * kSpansPerWrite);
}

TEST_F(EventStoreIdsTest, DeletedRowsLeaveTheIndexAndTheList) {
  Open();
  WriteSpans();
  auto deleted =
      store_->DeleteTraces(kProject, {"trace-0", "trace-" + std::to_string(kWrites - 1)});
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_FALSE(Get(SpanId(0, 0)).has_value());
  EXPECT_FALSE(Get(SpanId(kWrites - 1, 0)).has_value());
  EXPECT_TRUE(Get(SpanId(1, 0)).has_value());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM observation_ids o WHERE NOT EXISTS (SELECT 1 FROM "
                  "observations WHERE rowid = o.row)"),
            0);
  // The same ids written again make new rows that are found.
  Write({json::object{{"id", SpanId(0, 0)},
                      {"traceId", "trace-0"},
                      {"name", "again"},
                      {"startTime", FormatIsoMillis(kBase)}}},
        "span-create");
  auto again = Get(SpanId(0, 0));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->name, "again");
  Open();
  again = Get(SpanId(0, 0));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->name, "again");
}

}  // namespace
}  // namespace loupe
