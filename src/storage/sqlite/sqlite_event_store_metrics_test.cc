// Metrics from the rollups of the SQLite event store: trace counts and cost
// by name, and latency percentiles from the hourly latency histograms, kept
// at write time and rebuilt by the schema migration, against the same
// queries answered from the rows.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include "boost/json.hpp"
#include "common/hash.h"
#include "common/time_util.h"
#include "cost/price_table.h"
#include "ingest/batch_decoder.h"
#include "query/latency_histogram.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/sqlite_event_store.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr const char* kProject = "proj-metrics";
constexpr int64_t kBase = 1743501600000;  // 2025-04-01T10:00:00Z

class EventStoreMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("loupe-metrics-test-" + NewUuid());
    std::filesystem::create_directories(dir_);
    auto prices = PriceTable::FromEmbeddedDefaults();
    ASSERT_TRUE(prices.ok()) << prices.status();
    prices_ = std::move(*prices);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // exact_rows: SqliteEventStoreOptions::exact_percentile_rows.
  void Open(int64_t exact_rows) {
    store_.reset();
    SqliteEventStoreOptions opts;
    opts.path = (dir_ / "events.db").string();
    opts.exact_percentile_rows = exact_rows;
    auto s = OpenSqliteEventStore(opts, prices_.get());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void Write(std::vector<json::object> envelopes) {
    DecodedBatch batch;
    int n = 0;
    for (auto& e : envelopes) {
      e["id"] = "ev-" + std::to_string(next_event_++) + "-" + std::to_string(n++);
      DecodeEvent(json::value(std::move(e)), DecodeOptions{}, &batch);
    }
    ASSERT_TRUE(batch.errors.empty()) << batch.errors.front().message;
    ASSERT_TRUE(store_->Write(kProject, std::move(batch.events)).ok());
  }
  static json::object Event(const char* type, int64_t ms, json::object body) {
    return json::object{{"type", type}, {"timestamp", FormatIsoMillis(ms)}, {"body", body}};
  }
  json::array Query(const std::string& query) {
    auto q = ParseMetricsQuery(query, false);
    EXPECT_TRUE(q.ok()) << q.status();
    auto r = store_->QueryMetrics(kProject, *q);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : json::array();
  }
  // Rows of `query` keyed by `dim`.
  std::map<std::string, json::object> By(const std::string& dim, const std::string& query) {
    std::map<std::string, json::object> out;
    for (const auto& r : Query(query)) {
      const auto& o = r.as_object();
      out[o.at(dim).is_null() ? "(null)" : std::string(o.at(dim).as_string())] = o;
    }
    return out;
  }

  // 40 traces over 4 hours, names a/b; two generations each (gpt-4o or
  // claude) with latencies 100 ms .. 4 s; some observations arrive before
  // their trace, one trace is renamed later, one generation ends later.
  void WriteData() {
    std::vector<json::object> batch;
    for (int i = 0; i < 40; ++i) {
      // The last four on the next day, from 02:00.
      const int64_t t = i < 36 ? kBase + i * 360000 : kBase + (16 + i - 36) * 3600000;
      const std::string tid = "t" + std::to_string(i);
      json::object trace{
          {"id", tid}, {"name", i % 2 ? "a" : "b"}, {"timestamp", FormatIsoMillis(t)}};
      if (i != 4) trace["userId"] = "u" + std::to_string(i % 3);
      auto trace_event = Event("trace-create", t, trace);
      if (i % 5 != 0) batch.push_back(trace_event);
      for (int g = 0; g < 2; ++g) {
        const int64_t latency = 100 + (i * 97 + g * 1531) % 3900;
        batch.push_back(
            Event("generation-create", t,
                  json::object{{"id", tid + "-g" + std::to_string(g)},
                               {"traceId", tid},
                               {"model", g ? "gpt-4o" : "claude-3-5-sonnet-20241022"},
                               {"startTime", FormatIsoMillis(t + g * 10)},
                               {"endTime", FormatIsoMillis(t + g * 10 + latency)},
                               {"usage", json::object{{"input", 100 + i}, {"output", 10 + g}}}}));
      }
      // Every fifth trace: its observations first, the trace in a later write.
      if (i % 5 == 0) late_.push_back(trace_event);
    }
    Write(std::move(batch));
    Write(std::move(late_));
    // Rename a trace and make one generation longer.
    Write({Event("trace-create", kBase + 86000000,
                 json::object{{"id", "t1"},
                              {"name", "renamed"},
                              {"timestamp", FormatIsoMillis(kBase + 360000)}}),
           Event("generation-update", kBase + 86000000,
                 json::object{{"id", "t2-g1"},
                              {"traceId", "t2"},
                              {"endTime", FormatIsoMillis(kBase + 720000 + 10 + 60000)}})});
  }

  std::filesystem::path dir_;
  std::unique_ptr<PriceTable> prices_;
  std::unique_ptr<EventStore> store_;
  std::vector<json::object> late_;
  int next_event_ = 0;
};

const char* kRange =
    R"("fromTimestamp":"2025-04-01T00:00:00Z","toTimestamp":"2025-04-02T00:00:00Z")";

std::string TracesByName() {
  return std::string(R"({"view":"traces","dimensions":[{"field":"name"}],"metrics":[)") +
         R"({"measure":"latency","aggregation":"p50"},{"measure":"latency","aggregation":"p95"},)" +
         R"({"measure":"totalCost","aggregation":"sum"},{"measure":"count","aggregation":"count"}],)" +
         kRange + "}";
}

std::string GenerationsByModel() {
  return std::string(
             R"({"view":"observations","dimensions":[{"field":"providedModelName"}],"metrics":[)") +
         R"({"measure":"latency","aggregation":"p50"},{"measure":"latency","aggregation":"p99"},)" +
         R"({"measure":"count","aggregation":"count"}],"filters":[{"type":"string",)" +
         R"("column":"type","operator":"=","value":"GENERATION"}],)" + kRange + "}";
}

std::string TopUsers(const char* range) {
  return std::string(R"({"view":"traces","dimensions":[{"field":"userId"}],"metrics":[)") +
         R"({"measure":"totalCost","aggregation":"sum"},{"measure":"count","aggregation":"count"}],)" +
         R"("filters":[{"type":"null","column":"userId","operator":"is not null","value":""}],)" +
         range + "}";
}
// Whole days (from the daily user rollups) and partial days (rows).
const char* kDays =
    R"("fromTimestamp":"2025-03-30T00:00:00Z","toTimestamp":"2025-04-03T00:00:00Z")";
const char* kPartialDays =
    R"("fromTimestamp":"2025-03-31T11:00:00Z","toTimestamp":"2025-04-02T05:00:00Z")";

// The histogram answer is within one bucket of the exact one.
void ExpectWithinBucket(const json::value& approx, const json::value& exact) {
  const double e = exact.to_number<double>(), a = approx.to_number<double>();
  EXPECT_NEAR(a, e, e * (LatencyBucketUpper(1) / LatencyBucketLower(1) - 1) + 1e-9);
}

void ExpectSameUpToHistogram(const std::map<std::string, json::object>& approx,
                             const std::map<std::string, json::object>& exact) {
  ASSERT_EQ(approx.size(), exact.size());
  for (const auto& [key, e] : exact) {
    ASSERT_TRUE(approx.count(key)) << key;
    SCOPED_TRACE(key + ": " + json::serialize(approx.at(key)) + " vs " + json::serialize(e));
    const json::object& a = approx.at(key);
    EXPECT_EQ(a.at("count_count"), e.at("count_count")) << key;
    for (const auto& [field, v] : e) {
      if (field.ends_with("_latency")) {
        ExpectWithinBucket(a.at(field), v);
      } else if (field.starts_with("sum_")) {
        EXPECT_NEAR(a.at(field).to_number<double>(), v.to_number<double>(), 1e-12) << key;
      }
    }
  }
}

// Equal up to floating-point summation order.
void ExpectSame(const std::map<std::string, json::object>& a,
                const std::map<std::string, json::object>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, x] : b) {
    ASSERT_TRUE(a.count(key)) << key;
    const json::object& y = a.at(key);
    ASSERT_EQ(y.size(), x.size()) << key;
    for (const auto& [field, v] : x) {
      if (v.is_number()) {
        EXPECT_NEAR(y.at(field).to_number<double>(), v.to_number<double>(),
                    1e-9 * std::abs(v.to_number<double>()))
            << key << " " << field;
      } else {
        EXPECT_EQ(y.at(field), v) << key << " " << field;
      }
    }
  }
}

TEST_F(EventStoreMetricsTest, RollupsAndHistogramsMatchTheRows) {
  Open(/*exact_rows=*/0);
  WriteData();
  const auto traces = By("name", TracesByName());
  const auto models = By("providedModelName", GenerationsByModel());
  Open(/*exact_rows=*/1000000);
  const auto exact_traces = By("name", TracesByName());
  const auto exact_models = By("providedModelName", GenerationsByModel());

  ASSERT_EQ(exact_traces.size(), 3u);  // a, b, renamed
  EXPECT_EQ(exact_traces.at("renamed").at("count_count").as_int64(), 1);
  EXPECT_EQ(exact_traces.at("a").at("count_count").as_int64(), 17);
  EXPECT_GT(exact_traces.at("a").at("sum_totalCost").to_number<double>(), 0);
  ExpectSameUpToHistogram(traces, exact_traces);
  ASSERT_EQ(exact_models.size(), 2u);
  EXPECT_EQ(exact_models.at("gpt-4o").at("count_count").as_int64(), 36);
  ExpectSameUpToHistogram(models, exact_models);
  // The first store answered from the histograms: close to, not equal to,
  // the exact percentile.
  EXPECT_NE(models.at("gpt-4o").at("p50_latency"), exact_models.at("gpt-4o").at("p50_latency"));

  // Deleting traces takes their share out of the rollups and histograms.
  ASSERT_TRUE(store_->DeleteTraces(kProject, {"t1", "t3", "t5"}).ok());
  Open(0);
  const auto after = By("name", TracesByName());
  Open(1000000);
  const auto exact_after = By("name", TracesByName());
  EXPECT_EQ(exact_after.count("renamed"), 0u);
  EXPECT_EQ(exact_after.at("a").at("count_count").as_int64(), 15);
  ExpectSameUpToHistogram(after, exact_after);
  ExpectSameUpToHistogram(By("providedModelName", GenerationsByModel()),
                          By("providedModelName", GenerationsByModel()));
}

// The same query with a filter that keeps every row but that the rollups
// cannot serve, so it is answered from the rows.
std::string FromRows(std::string query) {
  const std::string filters = R"("filters":[)";
  const size_t at = query.find(filters);
  return query.insert(at + filters.size(),
                      R"({"type":"datetime","column":"timestamp","operator":">=",)"
                      R"("value":"2000-01-01T00:00:00Z"},)");
}

TEST_F(EventStoreMetricsTest, UserTotalsFromDailyRollupsMatchTheRows) {
  Open(0);
  WriteData();
  for (const char* range : {kDays, kPartialDays, kRange}) {
    SCOPED_TRACE(range);
    const auto rolled = By("userId", TopUsers(range));
    const auto exact = By("userId", FromRows(TopUsers(range)));
    ASSERT_FALSE(exact.empty());
    ExpectSameUpToHistogram(rolled, exact);
  }
  const auto all = By("userId", TopUsers(kDays));
  ASSERT_EQ(all.size(), 3u);  // u0 u1 u2; one trace has no user
  EXPECT_EQ(all.at("u0").at("count_count").as_int64() + all.at("u1").at("count_count").as_int64() +
                all.at("u2").at("count_count").as_int64(),
            39);
  ASSERT_TRUE(store_->DeleteTraces(kProject, {"t0", "t3"}).ok());
  const auto after = By("userId", TopUsers(kDays));
  EXPECT_EQ(after.at("u0").at("count_count").as_int64(),
            all.at("u0").at("count_count").as_int64() - 2);
  ExpectSameUpToHistogram(after, By("userId", FromRows(TopUsers(kDays))));
}

// Without the "userId is not null" filter, traces without a user count too
// (a group of their own); the daily user rollup holds none of them, so such a
// query must be answered from the rows, whole days included.
TEST_F(EventStoreMetricsTest, UserTotalsWithoutTheUserFilterKeepTracesWithoutOne) {
  Open(0);
  WriteData();
  std::string query = TopUsers(kDays);
  const std::string filter =
      R"("filters":[{"type":"null","column":"userId","operator":"is not null","value":""}],)";
  query.erase(query.find(filter), filter.size());
  const auto all = By("userId", query);
  ASSERT_EQ(all.size(), 4u);  // u0 u1 u2 and the trace without a user
  EXPECT_EQ(all.at("(null)").at("count_count").as_int64(), 1);
  int64_t total = 0;
  for (const auto& [user, row] : all) total += row.at("count_count").as_int64();
  EXPECT_EQ(total, 40);
}

// Takes a store back from schema 7 to schema 6 (id indexes as SQLite
// indexes), then to schema 5 (observations and scores indexed by a hash of
// their trace id).
constexpr const char* kUndoMigration6 =
    "DROP TABLE trace_ids; DROP TABLE observation_ids; DROP TABLE score_ids; "
    "DROP TABLE id_index_marks; "
    "CREATE INDEX traces_by_id ON traces(project, id_hash); "
    "CREATE INDEX observations_by_id ON observations(project, id_hash); "
    "CREATE INDEX scores_by_id ON scores(project, id_hash); "
    "DELETE FROM schema_version WHERE component = 'events' AND version = 7; "
    "DROP INDEX observations_by_trace; DROP INDEX scores_by_trace; "
    "ALTER TABLE observations DROP COLUMN trace_row; "
    "ALTER TABLE scores DROP COLUMN trace_row; "
    "CREATE INDEX observations_by_trace ON observations(project, trace_hash); "
    "CREATE INDEX scores_by_trace ON scores(project, trace_hash); "
    "DELETE FROM schema_version WHERE component = 'events' AND version = 6; ";

TEST_F(EventStoreMetricsTest, MigrationBuildsTheSameHistograms) {
  Open(0);
  WriteData();
  const auto traces = By("name", TracesByName());
  const auto models = By("providedModelName", GenerationsByModel());
  const auto users = By("userId", TopUsers(kDays));
  store_.reset();
  {
    // Back to the schema before the histograms: the migration rebuilds them
    // (and the trace rollups) from the rows.
    auto db = sqlite::Db::Open((dir_ / "events.db").string(), false);
    ASSERT_TRUE(db.ok()) << db.status();
    const absl::Status reset = (*db)->Exec(
        std::string(kUndoMigration6) +
        "DROP TABLE latency_hourly; DROP TABLE user_rollup_daily; DELETE FROM rollup_hourly "
        "WHERE type = 'TRACE'; DELETE FROM "
        "schema_version WHERE component = 'events' AND version = 5");
    ASSERT_TRUE(reset.ok()) << reset;
  }
  Open(0);
  const auto rebuilt_traces = By("name", TracesByName());
  const auto rebuilt_models = By("providedModelName", GenerationsByModel());
  ExpectSame(rebuilt_traces, traces);
  ExpectSame(rebuilt_models, models);
  ExpectSame(By("userId", TopUsers(kDays)), users);
}

// Stores written before observations and scores pointed at their trace's row
// (schema 5) get the row filled in by migration 6, which also gives a trace
// named only by a score its row; per-trace reads then answer as before.
TEST_F(EventStoreMetricsTest, MigrationPointsObservationsAndScoresAtTraceRows) {
  Open(0);
  WriteData();
  Write({Event("score-create", kBase,
               json::object{{"id", "s-1"}, {"traceId", "t3"}, {"name", "quality"}, {"value", 1}}),
         Event("score-create", kBase,
               json::object{
                   {"id", "s-2"}, {"traceId", "t-only-scored"}, {"name", "quality"}, {"value", 0}}),
         Event("score-create", kBase,
               json::object{
                   {"id", "s-3"}, {"sessionId", "sess"}, {"name", "quality"}, {"value", 0}})});
  auto ids = [&](const std::string& trace_id) {
    auto r = store_->ObservationIdsOfTrace(kProject, trace_id);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<std::string>();
  };
  auto scores = [&](const std::string& trace_id) {
    auto r = store_->ScoresOfTrace(kProject, trace_id);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const auto& s : *r) out.push_back(s.id);
    }
    return out;
  };
  ASSERT_EQ(ids("t3"), (std::vector<std::string>{"t3-g0", "t3-g1"}));
  ASSERT_EQ(scores("t3"), std::vector<std::string>{"s-1"});
  ASSERT_EQ(scores("t-only-scored"), std::vector<std::string>{"s-2"});
  const auto models = By("providedModelName", GenerationsByModel());
  store_.reset();
  {
    // Back to schema 5: no trace rows on observations and scores, the old
    // hash indexes, and no row for the trace only a score names.
    auto db = sqlite::Db::Open((dir_ / "events.db").string(), false);
    ASSERT_TRUE(db.ok()) << db.status();
    const absl::Status reset =
        (*db)->Exec(std::string(kUndoMigration6) + "DELETE FROM traces WHERE id = 't-only-scored'");
    ASSERT_TRUE(reset.ok()) << reset;
  }
  Open(0);
  EXPECT_EQ(ids("t3"), (std::vector<std::string>{"t3-g0", "t3-g1"}));
  EXPECT_EQ(ids("t0"), (std::vector<std::string>{"t0-g0", "t0-g1"}));
  EXPECT_EQ(scores("t3"), std::vector<std::string>{"s-1"});
  EXPECT_EQ(scores("t-only-scored"), std::vector<std::string>{"s-2"});
  ExpectSame(By("providedModelName", GenerationsByModel()), models);
  // New writes after the migration find the migrated rows.
  Write({Event("score-create", kBase,
               json::object{
                   {"id", "s-4"}, {"traceId", "t-only-scored"}, {"name", "q"}, {"value", 1}}),
         Event("span-create", kBase,
               json::object{
                   {"id", "t3-span"}, {"traceId", "t3"}, {"startTime", FormatIsoMillis(kBase)}})});
  EXPECT_EQ(scores("t-only-scored"), (std::vector<std::string>{"s-2", "s-4"}));
  EXPECT_EQ(ids("t3").size(), 3u);
}

}  // namespace
}  // namespace loupe
