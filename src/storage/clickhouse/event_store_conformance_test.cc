// One suite for every EventStore backend: the same events written to the
// backend under test and to a reference SQLite store must read back the
// same (every record field but the storage's own created/updated times), and
// as the assertions spell out. ClickHouse runs when
// LOUPE_TEST_CLICKHOUSE_URL names a server (tests/scaleout starts one over
// chdb; LOUPE_TEST_CLICKHOUSE_USER / _PASSWORD give its credentials);
// project ids are unique per run, so the database may be reused.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "boost/json.hpp"
#include "common/hash.h"
#include "common/time_util.h"
#include "cost/price_table.h"
#include "ingest/batch_decoder.h"
#include "storage/clickhouse/ch_event_store.h"
#include "storage/sqlite/sqlite_event_store.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr int64_t kBase = 1743501600000;  // 2025-04-01T10:00:00Z

template <typename T>
json::value Opt(const std::optional<T>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object ToJson(const TraceRecord& t) {
  json::array tags;
  for (const auto& tag : t.tags) tags.emplace_back(tag);
  return {{"id", t.id},
          {"project_id", t.project_id},
          {"timestamp", t.timestamp_ms},
          {"name", Opt(t.name)},
          {"user_id", Opt(t.user_id)},
          {"session_id", Opt(t.session_id)},
          {"release", Opt(t.release)},
          {"version", Opt(t.version)},
          {"external_id", Opt(t.external_id)},
          {"environment", t.environment},
          {"tags", tags},
          {"public", t.is_public},
          {"bookmarked", t.bookmarked},
          {"input", t.input},
          {"output", t.output},
          {"metadata", t.metadata},
          {"observation_count", t.observation_count},
          {"total_cost", t.total_cost},
          {"min_start", Opt(t.min_start_ms)},
          {"max_end", Opt(t.max_end_ms)}};
}

json::object ToJson(const ObservationRecord& o) {
  json::object usage, cost;
  for (const auto& [k, v] : o.usage_details) usage[k] = v;
  for (const auto& [k, v] : o.cost_details) cost[k] = v;
  return {{"id", o.id},
          {"project_id", o.project_id},
          {"trace_id", o.trace_id},
          {"type", o.type},
          {"parent", Opt(o.parent_observation_id)},
          {"name", Opt(o.name)},
          {"environment", o.environment},
          {"start", o.start_time_ms},
          {"end", Opt(o.end_time_ms)},
          {"completion_start", Opt(o.completion_start_time_ms)},
          {"version", Opt(o.version)},
          {"level", o.level},
          {"status_message", Opt(o.status_message)},
          {"input", o.input},
          {"output", o.output},
          {"metadata", o.metadata},
          {"model", Opt(o.model)},
          {"model_parameters", o.model_parameters},
          {"prompt_name", Opt(o.prompt_name)},
          {"prompt_version", Opt(o.prompt_version)},
          {"usage", usage},
          {"cost", cost},
          {"total_cost", Opt(o.total_cost)},
          {"internal_model_id", Opt(o.internal_model_id)},
          {"pricing_tier_id", Opt(o.pricing_tier_id)},
          {"pricing_tier_name", Opt(o.pricing_tier_name)},
          {"input_price", Opt(o.input_price)},
          {"output_price", Opt(o.output_price)},
          {"total_price", Opt(o.total_price)}};
}

json::object ToJson(const ScoreRecord& s) {
  return {{"id", s.id},
          {"project_id", s.project_id},
          {"trace_id", Opt(s.trace_id)},
          {"observation_id", Opt(s.observation_id)},
          {"session_id", Opt(s.session_id)},
          {"dataset_run_id", Opt(s.dataset_run_id)},
          {"name", s.name},
          {"source", s.source},
          {"data_type", s.data_type},
          {"value", Opt(s.value)},
          {"string_value", Opt(s.string_value)},
          {"comment", Opt(s.comment)},
          {"metadata", s.metadata},
          {"author_user_id", Opt(s.author_user_id)},
          {"config_id", Opt(s.config_id)},
          {"queue_id", Opt(s.queue_id)},
          {"execution_trace_id", Opt(s.execution_trace_id)},
          {"environment", s.environment},
          {"timestamp", s.timestamp_ms}};
}

// Sessions without their creation time, which is the storage's own.
json::object ToJson(const SessionRecord& s) {
  return {{"id", s.id}, {"project_id", s.project_id}, {"environment", s.environment}};
}

json::object ToJson(const ScoreNameCount& n) {
  return {{"name", n.name}, {"data_type", n.data_type}, {"count", n.count}};
}

json::object ToJson(const DailyMetricsRow& d) {
  json::array usage;
  for (const auto& u : d.usage) {
    usage.push_back(json::object{{"model", u.model},
                                 {"input", u.input_usage},
                                 {"output", u.output_usage},
                                 {"total", u.total_usage},
                                 {"observations", u.count_observations},
                                 {"traces", u.count_traces},
                                 {"cost", u.total_cost}});
  }
  return {{"date", d.date},
          {"traces", d.count_traces},
          {"observations", d.count_observations},
          {"cost", d.total_cost},
          {"usage", usage}};
}

// Metrics rows are compared as they are.
json::array ToJson(const json::array& rows) { return rows; }

template <typename T>
json::array ToJson(const std::vector<T>& items) {
  json::array out;
  for (const auto& i : items) out.emplace_back(ToJson(i));
  return out;
}

template <typename T>
json::value ToJson(const std::optional<T>& v) {
  return v ? json::value(ToJson(*v)) : json::value(nullptr);
}

template <typename T>
json::object ToJson(const PageResult<T>& page) {
  return {{"items", ToJson(page.items)}, {"total", page.total_items}};
}

json::object ToJson(const TraceSearchResult& r) {
  return {{"page", ToJson(r.page)}, {"searched", r.searched}, {"budget_reached", r.budget_reached}};
}

std::vector<std::string> Ids(const auto& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.id);
  return out;
}

class EventStoreConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto prices = PriceTable::FromEmbeddedDefaults();
    ASSERT_TRUE(prices.ok()) << prices.status();
    prices_ = std::move(*prices);
    dir_ = std::filesystem::temp_directory_path() / ("loupe-events-conf-" + RandomHex(8));
    std::filesystem::create_directories(dir_);
    ref_ = OpenSqlite("reference.db");
    ASSERT_TRUE(ref_);
    if (GetParam() == "sqlite") {
      store_ = OpenSqlite("events.db");
    } else {
      const char* url = std::getenv("LOUPE_TEST_CLICKHOUSE_URL");
      if (!url || !*url) GTEST_SKIP() << "LOUPE_TEST_CLICKHOUSE_URL is not set";
      ClickHouseOptions o;
      o.url = url;
      if (const char* u = std::getenv("LOUPE_TEST_CLICKHOUSE_USER")) o.user = u;
      if (const char* p = std::getenv("LOUPE_TEST_CLICKHOUSE_PASSWORD")) o.password = p;
      o.database = "loupe_event_store_conformance";
      ch_options_ = o;
      auto store = OpenClickHouseEventStore(o, prices_.get());
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = *std::move(store);
    }
    ASSERT_TRUE(store_);
    project_ = "proj-" + RandomHex(8);
  }

  void TearDown() override {
    if (store_) store_->Close();
    if (ref_) ref_->Close();
    store_.reset();
    ref_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<EventStore> OpenSqlite(const std::string& file) {
    SqliteEventStoreOptions o;
    o.path = (dir_ / file).string();
    auto store = OpenSqliteEventStore(o, prices_.get());
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  static json::object Ev(const char* type, int64_t ms, json::object body) {
    return json::object{{"type", type}, {"timestamp", FormatIsoMillis(ms)}, {"body", body}};
  }

  // Writes the events, with fresh envelope ids unless they carry one, as one
  // batch to the store under test and to the reference.
  void Write(std::vector<json::object> envelopes) {
    for (auto& e : envelopes) {
      if (!e.contains("id")) e["id"] = "ev-" + std::to_string(next_event_++) + "-" + RandomHex(4);
    }
    for (EventStore* s : {writer_ ? writer_ : store_.get(), ref_.get()}) {
      DecodedBatch batch;
      for (const auto& e : envelopes) DecodeEvent(json::value(e), DecodeOptions{}, &batch);
      ASSERT_TRUE(batch.errors.empty())
          << batch.errors.front().message << ": " << batch.errors.front().error;
      absl::Status st = s->Write(project_, std::move(batch.events));
      ASSERT_TRUE(st.ok()) << st;
    }
  }

  // Runs `read` on both stores and expects the same answer; returns the
  // answer of the store under test.
  template <typename Read>
  auto Same(Read read) {
    auto got = read(*store_);
    auto want = read(*ref_);
    EXPECT_TRUE(got.ok()) << got.status();
    EXPECT_TRUE(want.ok()) << want.status();
    if (got.ok() && want.ok()) {
      EXPECT_EQ(json::serialize(ToJson(*got)), json::serialize(ToJson(*want)));
    }
    return got;
  }

  std::optional<TraceRecord> Trace(const std::string& id) {
    auto r = Same([&](EventStore& s) { return s.GetTrace(project_, id); });
    return r.ok() ? *r : std::nullopt;
  }
  std::optional<ObservationRecord> Observation(const std::string& id) {
    auto r = Same([&](EventStore& s) { return s.GetObservation(project_, id); });
    return r.ok() ? *r : std::nullopt;
  }
  std::optional<ScoreRecord> Score(const std::string& id) {
    auto r = Same([&](EventStore& s) { return s.GetScore(project_, id); });
    return r.ok() ? *r : std::nullopt;
  }
  PageResult<TraceRecord> Traces(const TraceQuery& q) {
    auto r = Same([&](EventStore& s) { return s.ListTraces(project_, q); });
    return r.ok() ? *r : PageResult<TraceRecord>();
  }
  PageResult<ObservationRecord> Observations(const ObservationQuery& q) {
    auto r = Same([&](EventStore& s) { return s.ListObservations(project_, q); });
    return r.ok() ? *r : PageResult<ObservationRecord>();
  }
  PageResult<ScoreRecord> Scores(const ScoreQuery& q) {
    auto r = Same([&](EventStore& s) { return s.ListScores(project_, q); });
    return r.ok() ? *r : PageResult<ScoreRecord>();
  }

  std::unique_ptr<PriceTable> prices_;
  std::filesystem::path dir_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<EventStore> ref_;
  EventStore* writer_ = nullptr;  // where Write() goes instead of store_, when set
  std::optional<ClickHouseOptions> ch_options_;
  std::string project_;
  int next_event_ = 0;
};

TEST_P(EventStoreConformanceTest, CreateAndUpdateMergeInEitherOrder) {
  // In order, in one batch.
  Write({Ev("trace-create", kBase, {{"id", "t1"}, {"name", "first"}, {"userId", "u1"}}),
         Ev("generation-create", kBase + 1,
            {{"id", "g1"},
             {"traceId", "t1"},
             {"name", "llm"},
             {"startTime", FormatIsoMillis(kBase)}}),
         Ev("generation-update", kBase + 2,
            {{"id", "g1"},
             {"traceId", "t1"},
             {"endTime", FormatIsoMillis(kBase + 500)},
             {"output", "hello"}})});
  // The update first, in an earlier batch than its create.
  Write({Ev("generation-update", kBase + 20,
            {{"id", "g2"},
             {"traceId", "t2"},
             {"endTime", FormatIsoMillis(kBase + 900)},
             {"output", "late"},
             {"name", "renamed"}})});
  Write({Ev("generation-create", kBase + 10,
            {{"id", "g2"},
             {"traceId", "t2"},
             {"name", "original"},
             {"input", "q"},
             {"startTime", FormatIsoMillis(kBase)}}),
         Ev("trace-create", kBase + 30, {{"id", "t2"}, {"name", "second"}, {"tags", {"b", "a"}}}),
         Ev("trace-create", kBase + 5, {{"id", "t2"}, {"name", "earlier"}, {"tags", {"c"}}})});

  auto g1 = Observation("g1");
  ASSERT_TRUE(g1);
  EXPECT_EQ(g1->type, "GENERATION");
  EXPECT_EQ(g1->end_time_ms, kBase + 500);
  EXPECT_EQ(g1->output, json::value("hello"));
  auto g2 = Observation("g2");
  ASSERT_TRUE(g2);
  EXPECT_EQ(g2->name, "renamed");  // the later event decides
  EXPECT_EQ(g2->input, json::value("q"));
  EXPECT_EQ(g2->output, json::value("late"));
  EXPECT_EQ(g2->start_time_ms, kBase);  // explicit, over the update's envelope time
  auto t2 = Trace("t2");
  ASSERT_TRUE(t2);
  EXPECT_EQ(t2->name, "second");
  EXPECT_EQ(t2->tags, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(t2->observation_count, 1);
  EXPECT_EQ(t2->min_start_ms, kBase);
  EXPECT_EQ(t2->max_end_ms, kBase + 900);
  EXPECT_FALSE(Trace("t-missing"));
  EXPECT_FALSE(Observation("g-missing"));
}

TEST_P(EventStoreConformanceTest, ResendingABatchChangesNothing) {
  std::vector<json::object> batch = {
      Ev("trace-create", kBase, {{"id", "t1"}, {"name", "n"}, {"metadata", {{"k", 1}}}}),
      Ev("span-create", kBase + 1,
         {{"id", "s1"}, {"traceId", "t1"}, {"startTime", FormatIsoMillis(kBase)}}),
      Ev("span-update", kBase + 2,
         {{"id", "s1"}, {"traceId", "t1"}, {"endTime", FormatIsoMillis(kBase + 40)}}),
      Ev("score-create", kBase + 3,
         {{"id", "sc1"}, {"traceId", "t1"}, {"name", "q"}, {"value", 1}})};
  for (size_t i = 0; i < batch.size(); ++i) batch[i]["id"] = "fixed-" + std::to_string(i);
  Write(batch);
  auto first = Trace("t1");
  Write(batch);
  std::reverse(batch.begin(), batch.end());
  Write(batch);
  auto again = Trace("t1");
  ASSERT_TRUE(first && again);
  EXPECT_EQ(json::serialize(ToJson(*first)), json::serialize(ToJson(*again)));
  EXPECT_EQ(again->observation_count, 1);
  EXPECT_EQ(Traces({}).total_items, 1);
  ObservationQuery oq;
  EXPECT_EQ(Observations(oq).total_items, 1);
  EXPECT_EQ(Scores({}).total_items, 1);
  EXPECT_TRUE(Same([&](EventStore& s) { return s.ObservationsOfTrace(project_, "t1"); }).ok());
}

// Two processes writing one entity in turn (a partition moving between
// workers): each write merges onto the other's, although the first writer
// still remembers the state it wrote itself.
TEST_P(EventStoreConformanceTest, WritersTakingTurnsMergeOntoEachOther) {
  if (!ch_options_) GTEST_SKIP() << "one process per SQLite store";
  auto other = OpenClickHouseEventStore(*ch_options_, prices_.get());
  ASSERT_TRUE(other.ok()) << other.status();
  Write({Ev("trace-create", kBase, {{"id", "t1"}, {"name", "first"}}),
         Ev("span-create", kBase + 1,
            {{"id", "s1"}, {"traceId", "t1"}, {"startTime", FormatIsoMillis(kBase)}})});
  writer_ = other->get();
  Write({Ev("trace-create", kBase + 2, {{"id", "t1"}, {"userId", "u-other"}}),
         Ev("span-update", kBase + 3, {{"id", "s1"}, {"output", "from the other"}})});
  writer_ = nullptr;
  Write({Ev("trace-create", kBase + 4, {{"id", "t1"}, {"tags", json::array{"again"}}}),
         Ev("span-update", kBase + 5, {{"id", "s1"}, {"endTime", FormatIsoMillis(kBase + 9)}})});
  auto t1 = Trace("t1");
  ASSERT_TRUE(t1);
  EXPECT_EQ(t1->name, "first");
  EXPECT_EQ(t1->user_id, "u-other");
  EXPECT_EQ(t1->tags, std::vector<std::string>{"again"});
  auto s1 = Observation("s1");
  ASSERT_TRUE(s1);
  EXPECT_EQ(json::serialize(s1->output), "\"from the other\"");
  EXPECT_EQ(s1->end_time_ms, kBase + 9);
  (*other)->Close();
}

// A store written before migrations 5 and 6 (no entity_versions, no
// trace_heads; observations by trace in trace_observations): opening it
// backfills them, so a process with an empty state cache merges later events
// onto every stored entity instead of starting it over, and recounts each
// trace's summary from all of its observations.
TEST_P(EventStoreConformanceTest, TablesOfAnOlderStoreAreBackfilled) {
  if (!ch_options_) GTEST_SKIP() << "ClickHouse migrations";
  Write({Ev("trace-create", kBase, {{"id", "t1"}, {"userId", "u-before"}}),
         Ev("span-create", kBase + 1,
            {{"id", "s1"},
             {"traceId", "t1"},
             {"name", "step"},
             {"startTime", FormatIsoMillis(kBase)}}),
         // Never written again: only the backfill tells the recount about it.
         Ev("span-create", kBase + 1,
            {{"id", "s0"}, {"traceId", "t1"}, {"startTime", FormatIsoMillis(kBase - 5)}}),
         Ev("score-create", kBase + 2,
            {{"id", "sc1"}, {"traceId", "t1"}, {"name", "q"}, {"value", 1}, {"comment", "kept"}})});
  ClickHouseClient client(*ch_options_);
  for (const char* view :
       {"entity_versions_of_traces", "entity_versions_of_observations", "entity_versions_of_scores",
        "trace_heads_of_traces", "observations_by_trace_of_trace_observations"}) {
    ASSERT_TRUE(client.Execute(std::string("DROP VIEW ") + view).ok());
  }
  // Where a store of that version kept the observations by trace.
  ASSERT_TRUE(client.Execute("TRUNCATE TABLE trace_observations").ok());
  ASSERT_TRUE(
      client.Execute("INSERT INTO trace_observations SELECT * FROM observations_by_trace").ok());
  for (const char* table : {"entity_versions", "trace_heads", "observations_by_trace"}) {
    ASSERT_TRUE(client.Execute(std::string("DROP TABLE ") + table).ok());
  }
  ASSERT_TRUE(client
                  .Execute("ALTER TABLE loupe_schema_migrations DELETE WHERE version >= 5 SETTINGS "
                           "mutations_sync = 1")
                  .ok());
  auto reopened = OpenClickHouseEventStore(*ch_options_, prices_.get());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  writer_ = reopened->get();
  Write({Ev("trace-create", kBase + 3, {{"id", "t1"}, {"name", "later"}}),
         Ev("span-create", kBase + 4,
            {{"id", "s2"}, {"traceId", "t1"}, {"startTime", FormatIsoMillis(kBase + 5)}}),
         Ev("span-update", kBase + 6, {{"id", "s1"}, {"endTime", FormatIsoMillis(kBase + 9)}}),
         Ev("score-create", kBase + 7, {{"id", "sc1"}, {"name", "q"}, {"value", 2}})});
  writer_ = nullptr;
  auto t1 = Trace("t1");
  ASSERT_TRUE(t1);
  EXPECT_EQ(t1->name, "later");
  EXPECT_EQ(t1->user_id, "u-before");
  EXPECT_EQ(t1->observation_count, 3);
  EXPECT_EQ(t1->min_start_ms, kBase - 5);
  auto s1 = Observation("s1");
  ASSERT_TRUE(s1);
  EXPECT_EQ(s1->name, "step");
  EXPECT_EQ(s1->end_time_ms, kBase + 9);
  auto sc1 = Score("sc1");
  ASSERT_TRUE(sc1);
  EXPECT_EQ(sc1->value, 2);
  EXPECT_EQ(sc1->comment, "kept");
  // A delete finds the observations written before the upgrade as well.
  for (EventStore* s : {reopened->get(), ref_.get()}) {
    auto n = s->DeleteTraces(project_, {"t1"});
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, 1);
  }
  EXPECT_FALSE(Observation("s0"));
  EXPECT_FALSE(Observation("s1"));
  EXPECT_FALSE(Observation("s2"));
  (*reopened)->Close();
}

TEST_P(EventStoreConformanceTest, CostIsComputedAtIngest) {
  Write({Ev("trace-create", kBase, {{"id", "t1"}}),
         Ev("generation-create", kBase + 1,
            {{"id", "g1"},
             {"traceId", "t1"},
             {"model", "gpt-4o"},
             {"startTime", FormatIsoMillis(kBase)},
             {"usage", {{"input", 1000}, {"output", 500}, {"total", 1500}, {"unit", "TOKENS"}}}}),
         Ev("generation-create", kBase + 2,
            {{"id", "g2"},
             {"traceId", "t1"},
             {"model", "some-model-nobody-prices"},
             {"startTime", FormatIsoMillis(kBase + 5)},
             {"usage", {{"input", 10}, {"output", 5}}}}),
         Ev("generation-create", kBase + 3,
            {{"id", "g3"},
             {"traceId", "t1"},
             {"startTime", FormatIsoMillis(kBase + 7)},
             {"costDetails", {{"input", 0.25}, {"output", 0.5}}}})});
  auto g1 = Observation("g1");
  ASSERT_TRUE(g1);
  ASSERT_TRUE(g1->total_cost);
  EXPECT_GT(*g1->total_cost, 0);
  EXPECT_TRUE(g1->internal_model_id);
  EXPECT_EQ(g1->usage_details.at("input"), 1000);
  auto g3 = Observation("g3");
  ASSERT_TRUE(g3 && g3->total_cost);
  EXPECT_DOUBLE_EQ(*g3->total_cost, 0.75);
  auto t1 = Trace("t1");
  ASSERT_TRUE(t1);
  EXPECT_EQ(t1->observation_count, 3);
  EXPECT_DOUBLE_EQ(t1->total_cost, *g1->total_cost + 0.75);
  EXPECT_TRUE(
      Same([&](EventStore& s) { return s.ObservationOutlinesOfTrace(project_, "t1"); }).ok());
}

TEST_P(EventStoreConformanceTest, TraceWithObservationsAndScores) {
  Write({Ev("trace-create", kBase,
            {{"id", "t1"},
             {"name", "pipeline"},
             {"sessionId", "sess"},
             {"environment", "production"},
             {"input", {{"question", "why?"}}},
             {"output", "because"}}),
         Ev("span-create", kBase + 1,
            {{"id", "root"},
             {"traceId", "t1"},
             {"name", "root"},
             {"startTime", FormatIsoMillis(kBase)},
             {"endTime", FormatIsoMillis(kBase + 1000)}}),
         Ev("generation-create", kBase + 2,
            {{"id", "child-b"},
             {"traceId", "t1"},
             {"parentObservationId", "root"},
             {"startTime", FormatIsoMillis(kBase + 200)},
             {"level", "ERROR"},
             {"statusMessage", "rate limited"},
             {"input", "big payload"},
             {"usage", {{"input", 3}, {"output", 4}, {"total", 7}}}}),
         Ev("event-create", kBase + 3,
            {{"id", "child-a"},
             {"traceId", "t1"},
             {"parentObservationId", "root"},
             {"startTime", FormatIsoMillis(kBase + 100)},
             {"level", "WARNING"}}),
         Ev("span-create", kBase + 4,
            {{"id", "other"}, {"traceId", "t-other"}, {"startTime", FormatIsoMillis(kBase)}}),
         Ev("score-create", kBase + 5,
            {{"id", "sc-num"},
             {"traceId", "t1"},
             {"name", "accuracy"},
             {"value", 0.5},
             {"comment", "ok"}}),
         Ev("score-create", kBase + 6,
            {{"id", "sc-cat"},
             {"traceId", "t1"},
             {"observationId", "child-b"},
             {"name", "label"},
             {"value", "good"},
             {"dataType", "CATEGORICAL"},
             {"source", "EVAL"},
             {"configId", "cfg-1"},
             {"timestamp", FormatIsoMillis(kBase + 50)}})});
  auto t1 = Trace("t1");
  ASSERT_TRUE(t1);
  EXPECT_EQ(t1->environment, "production");
  EXPECT_EQ(t1->observation_count, 3);
  EXPECT_EQ(t1->min_start_ms, kBase);
  EXPECT_EQ(t1->max_end_ms, kBase + 1000);
  EXPECT_EQ(json::serialize(t1->input), R"({"question":"why?"})");

  auto obs = Same([&](EventStore& s) { return s.ObservationsOfTrace(project_, "t1"); });
  ASSERT_TRUE(obs.ok());
  EXPECT_EQ(Ids(*obs), (std::vector<std::string>{"root", "child-a", "child-b"}));
  auto outlines = Same([&](EventStore& s) { return s.ObservationOutlinesOfTrace(project_, "t1"); });
  ASSERT_TRUE(outlines.ok());
  ASSERT_EQ(outlines->size(), 3u);
  EXPECT_EQ((*outlines)[2].status_message, "rate limited");
  EXPECT_TRUE((*outlines)[2].input.is_null());
  EXPECT_EQ((*outlines)[2].usage_details.at("total"), 7);
  auto ids = store_->ObservationIdsOfTrace(project_, "t1");
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(*ids, *ref_->ObservationIdsOfTrace(project_, "t1"));
  EXPECT_EQ(*ids, Ids(*obs));

  auto scores = Same([&](EventStore& s) { return s.ScoresOfTrace(project_, "t1"); });
  ASSERT_TRUE(scores.ok());
  EXPECT_EQ(Ids(*scores), (std::vector<std::string>{"sc-num", "sc-cat"}));
  auto cat = Score("sc-cat");
  ASSERT_TRUE(cat);
  EXPECT_EQ(cat->string_value, "good");
  EXPECT_EQ(cat->observation_id, "child-b");
  EXPECT_EQ(cat->source, "EVAL");
  EXPECT_EQ(cat->config_id, "cfg-1");
  auto num = Score("sc-num");
  ASSERT_TRUE(num);
  EXPECT_EQ(num->value, 0.5);
  EXPECT_EQ(num->comment, "ok");
  EXPECT_FALSE(Score("sc-missing"));
  // Another project sees nothing.
  auto foreign = store_->GetTrace("proj-other-" + RandomHex(4), "t1");
  ASSERT_TRUE(foreign.ok());
  EXPECT_FALSE(*foreign);
}

TEST_P(EventStoreConformanceTest, DeleteTracesAndScores) {
  Write(
      {Ev("trace-create", kBase, {{"id", "t1"}, {"userId", "u-before"}}),
       Ev("trace-create", kBase + 1, {{"id", "t2"}}),
       Ev("span-create", kBase + 2,
          {{"id", "s1"}, {"traceId", "t1"}, {"startTime", FormatIsoMillis(kBase)}}),
       Ev("span-create", kBase + 3,
          {{"id", "s2"}, {"traceId", "t2"}, {"startTime", FormatIsoMillis(kBase)}}),
       Ev("score-create", kBase + 4,
          {{"id", "sc1"}, {"traceId", "t1"}, {"name", "a"}, {"value", 1}}),
       Ev("score-create", kBase + 5,
          {{"id", "sc2"}, {"traceId", "t2"}, {"name", "a"}, {"value", 2}}),
       Ev("score-create", kBase + 6,
          {{"id", "sc3"}, {"traceId", "t2"}, {"name", "b"}, {"value", 3}, {"comment", "before"}})});
  for (EventStore* s : {store_.get(), ref_.get()}) {
    auto n = s->DeleteTraces(project_, {"t1", "t-never"});
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, 1);
    auto again = s->DeleteTraces(project_, {"t1"});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, 0);
    auto deleted = s->DeleteScore(project_, "sc3");
    ASSERT_TRUE(deleted.ok()) << deleted.status();
    EXPECT_TRUE(*deleted);
    auto missing = s->DeleteScore(project_, "sc3");
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(*missing);
  }
  EXPECT_FALSE(Trace("t1"));
  EXPECT_FALSE(Observation("s1"));
  EXPECT_FALSE(Score("sc1"));
  EXPECT_FALSE(Score("sc3"));
  EXPECT_TRUE(Trace("t2"));
  EXPECT_TRUE(Observation("s2"));
  EXPECT_TRUE(Score("sc2"));
  EXPECT_EQ(Ids(Traces({}).items), (std::vector<std::string>{"t2"}));
  ScoreQuery sq;
  EXPECT_EQ(Ids(Scores(sq).items), (std::vector<std::string>{"sc2"}));
  auto obs = Same([&](EventStore& s) { return s.ObservationsOfTrace(project_, "t1"); });
  ASSERT_TRUE(obs.ok());
  EXPECT_TRUE(obs->empty());

  // A trace written again after its deletion starts over: nothing of the
  // deleted trace's state (its user) is merged into it.
  Write({Ev("trace-create", kBase + 100, {{"id", "t1"}, {"name", "reborn"}})});
  auto t1 = Trace("t1");
  ASSERT_TRUE(t1);
  EXPECT_EQ(t1->name, "reborn");
  EXPECT_FALSE(t1->user_id);
  EXPECT_EQ(t1->observation_count, 0);
  // So does a deleted score.
  Write({Ev("score-create", kBase + 101,
            {{"id", "sc3"}, {"traceId", "t2"}, {"name", "c"}, {"value", 9}})});
  auto sc3 = Score("sc3");
  ASSERT_TRUE(sc3);
  EXPECT_EQ(sc3->name, "c");
  EXPECT_FALSE(sc3->comment);
}

TEST_P(EventStoreConformanceTest, PaginationWithTotals) {
  std::vector<json::object> events;
  for (int i = 0; i < 7; ++i) {
    const std::string n = std::to_string(i);
    events.push_back(Ev("trace-create", kBase + i,
                        {{"id", "t" + n}, {"timestamp", FormatIsoMillis(kBase + i * 1000)}}));
    events.push_back(Ev(
        "span-create", kBase + i,
        {{"id", "o" + n}, {"traceId", "t" + n}, {"startTime", FormatIsoMillis(kBase + i * 1000)}}));
    events.push_back(Ev("score-create", kBase + i * 1000,
                        {{"id", "s" + n},
                         {"traceId", "t" + n},
                         {"name", "q"},
                         {"value", i},
                         {"timestamp", FormatIsoMillis(kBase + i * 1000)}}));
  }
  Write(events);
  TraceQuery q;
  q.page.limit = 3;
  std::vector<std::string> seen;
  for (int page = 1; page <= 3; ++page) {
    q.page.page = page;
    auto r = Traces(q);
    EXPECT_EQ(r.total_items, 7);
    for (const auto& t : r.items) seen.push_back(t.id);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"t6", "t5", "t4", "t3", "t2", "t1", "t0"}));
  q.descending = false;
  q.page.page = 1;
  EXPECT_EQ(Ids(Traces(q).items), (std::vector<std::string>{"t0", "t1", "t2"}));
  q.page.page = 4;
  EXPECT_TRUE(Traces(q).items.empty());

  ObservationQuery oq;
  oq.page.limit = 4;
  oq.page.page = 2;
  auto obs = Observations(oq);
  EXPECT_EQ(obs.total_items, 7);
  EXPECT_EQ(Ids(obs.items), (std::vector<std::string>{"o2", "o1", "o0"}));
  // Keyset paging: after o4's position.
  oq.keyset.enabled = true;
  oq.keyset.after = ListPosition{kBase + 4000, "o4"};
  oq.page.limit = 2;
  EXPECT_EQ(Ids(Observations(oq).items), (std::vector<std::string>{"o3", "o2"}));

  ScoreQuery sq;
  sq.page.limit = 5;
  sq.page.page = 2;
  auto scores = Scores(sq);
  EXPECT_EQ(scores.total_items, 7);
  EXPECT_EQ(Ids(scores.items), (std::vector<std::string>{"s1", "s0"}));
  sq.keyset.enabled = true;
  sq.keyset.after = ListPosition{kBase + 2000, "s2"};
  sq.page.limit = 10;
  EXPECT_EQ(Ids(Scores(sq).items), (std::vector<std::string>{"s1", "s0"}));
}

TEST_P(EventStoreConformanceTest, ListFilters) {
  Write({Ev("trace-create", kBase,
            {{"id", "t1"},
             {"name", "chat"},
             {"userId", "alice"},
             {"sessionId", "s-1"},
             {"tags", {"x", "y"}},
             {"timestamp", FormatIsoMillis(kBase)}}),
         Ev("trace-create", kBase,
            {{"id", "t2"},
             {"name", "chat"},
             {"userId", "bob"},
             {"environment", "staging"},
             {"tags", {"x"}},
             {"timestamp", FormatIsoMillis(kBase + 60000)}}),
         Ev("trace-create", kBase,
            {{"id", "t3"},
             {"name", "it's \\ odd"},
             {"userId", "alice"},
             {"timestamp", FormatIsoMillis(kBase + 120000)}}),
         Ev("span-create", kBase,
            {{"id", "o1"},
             {"traceId", "t1"},
             {"name", "fetch"},
             {"startTime", FormatIsoMillis(kBase)}}),
         Ev("generation-create", kBase,
            {{"id", "o2"},
             {"traceId", "t1"},
             {"name", "llm"},
             {"startTime", FormatIsoMillis(kBase + 10)}}),
         Ev("generation-create", kBase,
            {{"id", "o3"},
             {"traceId", "t2"},
             {"name", "llm"},
             {"startTime", FormatIsoMillis(kBase + 60000)}}),
         Ev("score-create", kBase,
            {{"id", "sc1"},
             {"traceId", "t1"},
             {"name", "acc"},
             {"value", 1},
             {"timestamp", FormatIsoMillis(kBase)}}),
         Ev("score-create", kBase + 60000,
            {{"id", "sc2"},
             {"traceId", "t2"},
             {"name", "acc"},
             {"value", 0},
             {"source", "EVAL"},
             {"timestamp", FormatIsoMillis(kBase + 60000)}}),
         Ev("score-create", kBase + 61000,
            {{"id", "sc3"},
             {"traceId", "t2"},
             {"name", "tone"},
             {"value", "calm"},
             {"dataType", "CATEGORICAL"},
             {"timestamp", FormatIsoMillis(kBase + 61000)}})});
  auto traces = [&](auto set) {
    TraceQuery q;
    set(q);
    return Ids(Traces(q).items);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(traces([](TraceQuery& q) { q.user_id = "alice"; }), (V{"t3", "t1"}));
  EXPECT_EQ(traces([](TraceQuery& q) { q.name = "it's \\ odd"; }), (V{"t3"}));
  EXPECT_EQ(traces([](TraceQuery& q) { q.session_id = "s-1"; }), (V{"t1"}));
  EXPECT_EQ(traces([](TraceQuery& q) { q.environments = {"staging"}; }), (V{"t2"}));
  EXPECT_EQ(traces([](TraceQuery& q) {
              q.environments = {"default", "staging"};
            }),
            (V{"t3", "t2", "t1"}));
  EXPECT_EQ(traces([](TraceQuery& q) { q.tags = {"x"}; }), (V{"t2", "t1"}));
  EXPECT_EQ(traces([](TraceQuery& q) { q.tags = {"x", "y"}; }), (V{"t1"}));
  EXPECT_EQ(traces([](TraceQuery& q) {
              q.from_ms = kBase + 60000;
              q.to_ms = kBase + 120000;
            }),
            (V{"t2"}));
  EXPECT_EQ(traces([](TraceQuery& q) { q.user_id = "nobody'; --"; }), V{});
  EXPECT_EQ(traces([](TraceQuery& q) {
              FilterCondition f;
              f.column = "name";
              f.type = FilterType::kString;
              f.op = "contains";
              f.string_value = "'s \\";
              q.filters.push_back(f);
            }),
            (V{"t3"}));
  EXPECT_EQ(traces([](TraceQuery& q) {
              FilterCondition f;
              f.column = "tags";
              f.type = FilterType::kArrayOptions;
              f.op = "none of";
              f.values = {"y"};
              q.filters.push_back(f);
            }),
            (V{"t3", "t2"}));
  EXPECT_EQ(traces([](TraceQuery& q) {
              FilterCondition f;
              f.column = "userId";
              f.type = FilterType::kStringOptions;
              f.op = "none of";
              f.values = {"alice"};
              q.filters.push_back(f);
            }),
            (V{"t2"}));
  EXPECT_EQ(traces([](TraceQuery& q) {
              TraceScoreCondition c;
              c.name = "acc";
              c.value.column = "value";
              c.value.type = FilterType::kNumber;
              c.value.op = ">=";
              c.value.number_value = 1;
              q.scores.push_back(c);
            }),
            (V{"t1"}));

  auto observations = [&](auto set) {
    ObservationQuery q;
    set(q);
    return Ids(Observations(q).items);
  };
  EXPECT_EQ(observations([](ObservationQuery& q) { q.trace_id = "t1"; }), (V{"o2", "o1"}));
  EXPECT_EQ(observations([](ObservationQuery& q) { q.type = "GENERATION"; }), (V{"o3", "o2"}));
  EXPECT_EQ(observations([](ObservationQuery& q) { q.name = "fetch"; }), (V{"o1"}));
  EXPECT_EQ(observations([](ObservationQuery& q) { q.user_id = "bob"; }), (V{"o3"}));
  EXPECT_EQ(observations([](ObservationQuery& q) {
              q.from_start_ms = kBase + 10;
              q.to_start_ms = kBase + 60000;
            }),
            (V{"o2"}));

  auto scores = [&](auto set) {
    ScoreQuery q;
    set(q);
    return Ids(Scores(q).items);
  };
  EXPECT_EQ(scores([](ScoreQuery& q) { q.trace_id = "t2"; }), (V{"sc3", "sc2"}));
  EXPECT_EQ(scores([](ScoreQuery& q) { q.name = "acc"; }), (V{"sc2", "sc1"}));
  EXPECT_EQ(scores([](ScoreQuery& q) { q.source = "EVAL"; }), (V{"sc2"}));
  EXPECT_EQ(scores([](ScoreQuery& q) {
              q.from_ms = kBase + 1;
              q.to_ms = kBase + 61000;
            }),
            (V{"sc2"}));
  EXPECT_EQ(scores([](ScoreQuery& q) {
              q.value = 0.5;
              q.value_operator = ">";
            }),
            (V{"sc1"}));
  EXPECT_EQ(scores([](ScoreQuery& q) { q.user_id = "alice"; }), (V{"sc1"}));
  EXPECT_EQ(scores([](ScoreQuery& q) { q.data_type = "CATEGORICAL"; }), (V{"sc3"}));
}

TEST_P(EventStoreConformanceTest, LargeBatchesAndManyVersions) {
  // Enough long ids that the id lists of one batch exceed one query.
  const std::string pad(40, 'x');
  std::vector<json::object> events{Ev("trace-create", kBase, {{"id", "big"}})};
  for (int i = 0; i < 4000; ++i) {
    events.push_back(Ev("span-create", kBase + i,
                        {{"id", pad + std::to_string(10000 + i)},
                         {"traceId", "big"},
                         {"startTime", FormatIsoMillis(kBase + i)}}));
  }
  Write(events);
  // Every observation again, updated: the stored states are read back.
  for (auto& e : events) {
    if (e["type"] == "span-create") {
      e["type"] = "span-update";
      e["body"].as_object()["endTime"] = FormatIsoMillis(kBase + 5000);
    }
  }
  Write(events);
  // One entity through many separate writes.
  for (int v = 0; v < 6; ++v) {
    Write({Ev("span-update", kBase + 10000 + v,
              {{"id", pad + "10000"}, {"traceId", "big"}, {"name", "v" + std::to_string(v)}})});
  }
  auto t = Trace("big");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->observation_count, 4000);
  EXPECT_EQ(t->max_end_ms, kBase + 5000);
  auto ids = store_->ObservationIdsOfTrace(project_, "big");
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(ids->size(), 4000u);
  EXPECT_EQ(*ids, *ref_->ObservationIdsOfTrace(project_, "big"));
  auto first = Observation(pad + "10000");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->name, "v5");
  EXPECT_EQ(first->end_time_ms, kBase + 5000);
  ObservationQuery q;
  q.page.limit = 100;
  q.page.page = 7;
  EXPECT_EQ(Observations(q).total_items, 4000);
}

TEST_P(EventStoreConformanceTest, PingAndClose) {
  EXPECT_TRUE(store_->Ping().ok());
  store_->Close();
  store_->Close();
}

// Observation aggregates as list orders and filters: a trace's total cost,
// latency (first start to last end; none without observations) and
// observation count.
TEST_P(EventStoreConformanceTest, TraceAggregateOrdersAndFilters) {
  auto generation = [](const char* id, const char* trace, int64_t start, std::optional<int64_t> end,
                       double input_cost, double output_cost) {
    json::object body{{"id", id},
                      {"traceId", trace},
                      {"startTime", FormatIsoMillis(start)},
                      {"costDetails", {{"input", input_cost}, {"output", output_cost}}}};
    if (end) body["endTime"] = FormatIsoMillis(*end);
    return Ev("generation-create", start, body);
  };
  Write({Ev("trace-create", kBase,
            {{"id", "ta"}, {"name", "chat"}, {"timestamp", FormatIsoMillis(kBase)}}),
         Ev("trace-create", kBase,
            {{"id", "tb"}, {"name", "chat"}, {"timestamp", FormatIsoMillis(kBase + 1000)}}),
         Ev("trace-create", kBase,
            {{"id", "tc"}, {"name", "idle"}, {"timestamp", FormatIsoMillis(kBase + 2000)}}),
         Ev("trace-create", kBase,
            {{"id", "td"}, {"name", "chat"}, {"timestamp", FormatIsoMillis(kBase + 3000)}}),
         generation("ga", "ta", kBase, kBase + 2000, 0.25, 0.25),
         generation("gb1", "tb", kBase + 1010, kBase + 1510, 0.5, 0.5),
         generation("gb2", "tb", kBase + 1100, kBase + 1300, 0.125, 0.125),
         generation("gd", "td", kBase + 3000, std::nullopt, 1.5, 0.5)});
  using V = std::vector<std::string>;
  auto traces = [&](auto set) {
    TraceQuery q;
    set(q);
    return Ids(Traces(q).items);
  };
  auto number = [](const char* column, const char* op, double value) {
    FilterCondition f;
    f.column = column;
    f.type = FilterType::kNumber;
    f.op = op;
    f.number_value = value;
    return f;
  };
  EXPECT_EQ(traces([](TraceQuery& q) { q.order_by = "totalCost"; }), (V{"td", "tb", "ta", "tc"}));
  EXPECT_EQ(traces([](TraceQuery& q) {
              q.order_by = "totalCost";
              q.descending = false;
            }),
            (V{"tc", "ta", "tb", "td"}));
  // No observations, no latency: last descending, first ascending.
  EXPECT_EQ(traces([](TraceQuery& q) { q.order_by = "latency"; }), (V{"ta", "tb", "td", "tc"}));
  EXPECT_EQ(traces([](TraceQuery& q) {
              q.order_by = "latency";
              q.descending = false;
            }),
            (V{"tc", "td", "tb", "ta"}));
  EXPECT_EQ(traces([&](TraceQuery& q) { q.filters = {number("latency", ">", 1)}; }), (V{"ta"}));
  // A trace without observations has latency 0 to a filter.
  EXPECT_EQ(traces([&](TraceQuery& q) { q.filters = {number("latency", "<=", 0.5)}; }),
            (V{"td", "tc", "tb"}));
  EXPECT_EQ(traces([&](TraceQuery& q) { q.filters = {number("totalCost", ">=", 1.25)}; }),
            (V{"td", "tb"}));
  EXPECT_EQ(traces([&](TraceQuery& q) { q.filters = {number("totalCost", "=", 0)}; }), (V{"tc"}));
  EXPECT_EQ(traces([&](TraceQuery& q) { q.filters = {number("observationCount", "=", 2)}; }),
            (V{"tb"}));
  EXPECT_EQ(traces([&](TraceQuery& q) {
              q.name = "chat";
              q.order_by = "latency";
              q.descending = false;
              q.filters = {number("observationCount", ">=", 1), number("totalCost", "<", 2)};
            }),
            (V{"tb", "ta"}));
  TraceQuery q;
  q.order_by = "totalCost";
  q.page.limit = 3;
  q.page.page = 2;
  auto page = Traces(q);
  EXPECT_EQ(page.total_items, 4);
  EXPECT_EQ(Ids(page.items), (V{"tc"}));
  q.filters = {number("totalCost", ">", 0)};
  q.page.page = 1;
  page = Traces(q);
  EXPECT_EQ(page.total_items, 3);
  EXPECT_EQ(Ids(page.items), (V{"td", "tb", "ta"}));
}

// Trace aggregates follow later writes of their observations: a cost
// update, a later end, an observation that names its trace only in a later
// event (it moves off the trace it was given), and a deleted trace.
TEST_P(EventStoreConformanceTest, TraceAggregatesFollowObservationUpdates) {
  Write({Ev("trace-create", kBase, {{"id", "ta"}, {"timestamp", FormatIsoMillis(kBase)}}),
         Ev("trace-create", kBase, {{"id", "tb"}, {"timestamp", FormatIsoMillis(kBase + 1)}}),
         Ev("generation-create", kBase,
            {{"id", "g1"},
             {"traceId", "ta"},
             {"startTime", FormatIsoMillis(kBase)},
             {"endTime", FormatIsoMillis(kBase + 100)},
             {"costDetails", {{"total", 1.0}}}}),
         Ev("span-create", kBase, {{"id", "loose"}, {"startTime", FormatIsoMillis(kBase + 5)}})});
  auto ta = Trace("ta");
  ASSERT_TRUE(ta);
  EXPECT_EQ(ta->observation_count, 1);
  EXPECT_EQ(ta->total_cost, 1.0);
  EXPECT_EQ(ta->max_end_ms, kBase + 100);

  Write({Ev("generation-update", kBase + 10,
            {{"id", "g1"},
             {"traceId", "ta"},
             {"endTime", FormatIsoMillis(kBase + 900)},
             {"costDetails", {{"total", 3.0}}}}),
         Ev("span-update", kBase + 10, {{"id", "loose"}, {"traceId", "tb"}})});
  ta = Trace("ta");
  ASSERT_TRUE(ta);
  EXPECT_EQ(ta->observation_count, 1);
  EXPECT_EQ(ta->total_cost, 3.0);
  EXPECT_EQ(ta->max_end_ms, kBase + 900);
  auto tb = Trace("tb");
  ASSERT_TRUE(tb);
  EXPECT_EQ(tb->observation_count, 1);
  EXPECT_EQ(tb->min_start_ms, kBase + 5);
  // The trace the loose span was given at first has no observations left.
  MetricsQuery traces_with_observations;
  traces_with_observations.view = MetricsView::kTraces;
  traces_with_observations.from_ms = kBase - 86400000;
  traces_with_observations.to_ms = kBase + 86400000;
  traces_with_observations.metrics = {{"observationsCount", "sum"}};
  auto sums =
      Same([&](EventStore& s) { return s.QueryMetrics(project_, traces_with_observations); });
  ASSERT_TRUE(sums.ok());
  TraceQuery by_cost;
  by_cost.order_by = "totalCost";
  EXPECT_EQ(Ids(Traces(by_cost).items), (std::vector<std::string>{"ta", "tb"}));

  // The batch reads of a list page answer as the one-trace reads do.
  Write({Ev("score-create", kBase + 20,
            {{"id", "s1"}, {"traceId", "ta"}, {"name", "q"}, {"value", 1}}),
         Ev("score-create", kBase + 21,
            {{"id", "s2"}, {"traceId", "ta"}, {"name", "r"}, {"value", 2}})});
  const std::vector<std::string> ids = {"ta", "tb", "t-none"};
  for (EventStore* s : {store_.get(), ref_.get()}) {
    auto obs = s->ObservationIdsOfTraces(project_, ids);
    ASSERT_TRUE(obs.ok()) << obs.status();
    EXPECT_EQ(*obs,
              (std::map<std::string, std::vector<std::string>>{{"ta", {"g1"}}, {"tb", {"loose"}}}));
    auto scores = s->ScoresOfTraces(project_, ids);
    ASSERT_TRUE(scores.ok()) << scores.status();
    ASSERT_EQ(scores->size(), 1u);
    EXPECT_EQ(Ids(scores->at("ta")), (std::vector<std::string>{"s1", "s2"}));
  }

  for (EventStore* s : {store_.get(), ref_.get()})
    ASSERT_TRUE(s->DeleteTraces(project_, {"ta"}).ok());
  Write({Ev("trace-create", kBase + 50, {{"id", "ta"}})});
  ta = Trace("ta");
  ASSERT_TRUE(ta);
  EXPECT_EQ(ta->observation_count, 0);
  EXPECT_EQ(ta->total_cost, 0);
}

TEST_P(EventStoreConformanceTest, TraceTextSearch) {
  auto trace = [](const char* id, int64_t at, json::object fields) {
    fields["id"] = id;
    fields["timestamp"] = FormatIsoMillis(at);
    return Ev("trace-create", at, fields);
  };
  Write({trace("t1", kBase + 1000, {{"name", "a"}, {"input", "Hello World"}}),
         trace("t2", kBase + 2000, {{"name", "b"}, {"output", {{"msg", "say HELLO"}}}}),
         trace("t3", kBase + 3000, {{"name", "a"}, {"metadata", {{"note", "hello"}}}}),
         trace("t4", kBase + 4000, {{"name", "a"}, {"input", "nothing"}}),
         trace("t5", kBase + 5000, {{"name", "b"}, {"input", "hello \"quoted\""}}),
         trace("t6", kBase + 6000, {{"name", "a"}, {"output", "h\xc3\xa9llo"}}),
         Ev("span-create", kBase,
            {{"id", "o1"},
             {"traceId", "t1"},
             {"startTime", FormatIsoMillis(kBase + 1000)},
             {"endTime", FormatIsoMillis(kBase + 9000)}})});
  auto search = [&](const TraceQuery& q, const std::string& text, int budget = 20000) {
    TraceTextSearch s;
    s.text = text;
    s.row_budget = budget;
    auto r = Same([&](EventStore& st) { return st.SearchTraces(project_, q, s); });
    return r.ok() ? *r : TraceSearchResult();
  };
  using V = std::vector<std::string>;
  TraceQuery q;
  auto r = search(q, "hello");
  EXPECT_EQ(Ids(r.page.items), (V{"t5", "t2", "t1"}));  // not in metadata, not "héllo"
  EXPECT_EQ(r.page.total_items, 3);
  EXPECT_EQ(r.searched, 6);
  EXPECT_FALSE(r.budget_reached);
  r = search(q, "HeLLo", 3);
  EXPECT_EQ(Ids(r.page.items), (V{"t5"}));
  EXPECT_EQ(r.searched, 3);
  EXPECT_TRUE(r.budget_reached);
  EXPECT_EQ(Ids(search(q, "\"quoted\"").page.items), (V{"t5"}));
  EXPECT_EQ(Ids(search(q, "h\xc3\xa9llo").page.items), (V{"t6"}));
  EXPECT_TRUE(search(q, "absent").page.items.empty());
  EXPECT_EQ(search(q, "").searched, 0);
  q.page.limit = 1;
  q.page.page = 2;
  r = search(q, "hello");
  EXPECT_EQ(Ids(r.page.items), (V{"t2"}));
  EXPECT_EQ(r.page.total_items, 3);
  q = TraceQuery();
  q.name = "a";
  q.order_by = "latency";
  EXPECT_EQ(Ids(search(q, "world").page.items), (V{"t1"}));
  q.order_by = "timestamp";
  q.descending = false;
  r = search(q, "o");
  EXPECT_EQ(Ids(r.page.items), (V{"t1", "t4", "t6"}));
  EXPECT_EQ(r.searched, 4);
}

TEST_P(EventStoreConformanceTest, RecentScoreNames) {
  auto score = [](const char* id, const char* name, json::value value, const char* type,
                  int64_t at) {
    return Ev("score-create", at,
              {{"id", id},
               {"traceId", "t1"},
               {"name", name},
               {"value", value},
               {"dataType", type},
               {"timestamp", FormatIsoMillis(at)}});
  };
  Write({Ev("trace-create", kBase, {{"id", "t1"}}), score("s1", "acc", 1, "NUMERIC", kBase + 1),
         score("s2", "acc", 0.5, "NUMERIC", kBase + 2),
         score("s3", "tone", "calm", "CATEGORICAL", kBase + 3),
         score("s4", "acc", 0, "NUMERIC", kBase + 4), score("s5", "ok", 1, "BOOLEAN", kBase + 5),
         score("s6", "tone", "angry", "CATEGORICAL", kBase + 6)});
  for (int limit : {100, 3, 1, 0}) {
    auto r = Same([&](EventStore& s) { return s.RecentScoreNames(project_, limit); });
    ASSERT_TRUE(r.ok());
    if (limit == 100) {
      ASSERT_EQ(r->size(), 3u);
      EXPECT_EQ((*r)[0].name, "acc");
      EXPECT_EQ((*r)[0].count, 3);
      EXPECT_EQ((*r)[2].data_type, "CATEGORICAL");
    }
    if (limit == 3) {
      EXPECT_EQ(r->size(), 3u);  // acc, ok, tone
    }
    if (limit == 0) {
      EXPECT_TRUE(r->empty());
    }
  }
  // A score whose newer version moved it back in time, and a deleted one,
  // are no longer among the newest.
  Write({Ev("score-create", kBase + 10,
            {{"id", "s6"},
             {"traceId", "t1"},
             {"name", "tone"},
             {"value", "angry"},
             {"dataType", "CATEGORICAL"},
             {"timestamp", FormatIsoMillis(kBase)}})});
  for (EventStore* s : {store_.get(), ref_.get()}) {
    auto deleted = s->DeleteScore(project_, "s5");
    ASSERT_TRUE(deleted.ok() && *deleted);
  }
  auto newest = Same([&](EventStore& s) { return s.RecentScoreNames(project_, 2); });
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 2u);  // s4 and s3
  EXPECT_EQ((*newest)[0].name, "acc");
  EXPECT_EQ((*newest)[0].count, 1);
  EXPECT_EQ((*newest)[1].name, "tone");
  EXPECT_EQ((*newest)[1].count, 1);
  auto all = Same([&](EventStore& s) { return s.RecentScoreNames(project_, 100); });
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);  // acc x3, tone x2
  EXPECT_EQ((*all)[1].count, 2);
}

TEST_P(EventStoreConformanceTest, Sessions) {
  auto trace = [](const char* id, int64_t at, json::object fields) {
    fields["id"] = id;
    fields["timestamp"] = FormatIsoMillis(at);
    return Ev("trace-create", at, fields);
  };
  Write({trace("t1", kBase + 10, {{"sessionId", "sa"}, {"environment", "prod"}}),
         trace("t2", kBase + 20, {{"sessionId", "sb"}}), trace("t3", kBase + 30, {})});
  // Later writes have later creation times on both stores.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Write({trace("t4", kBase + 40, {{"sessionId", "sc"}, {"environment", "staging"}}),
         trace("t5", kBase + 5, {{"sessionId", "sa"}, {"environment", "dev"}})});
  auto sessions = [&](const SessionQuery& q) {
    auto r = Same([&](EventStore& s) { return s.ListSessions(project_, q); });
    return r.ok() ? *r : PageResult<SessionRecord>();
  };
  using V = std::vector<std::string>;
  SessionQuery q;
  auto all = sessions(q);
  EXPECT_EQ(all.total_items, 3);
  EXPECT_EQ(Ids(all.items), (V{"sc", "sa", "sb"}));
  ASSERT_EQ(all.items.size(), 3u);
  EXPECT_EQ(all.items[1].environment, "prod");  // its first trace's
  EXPECT_GT(all.items[0].created_at_ms, all.items[1].created_at_ms);
  q.page.limit = 2;
  q.page.page = 2;
  auto page = sessions(q);
  EXPECT_EQ(page.total_items, 3);
  EXPECT_EQ(Ids(page.items), (V{"sb"}));
  q = SessionQuery();
  q.environments = {"prod", "staging"};
  EXPECT_EQ(Ids(sessions(q).items), (V{"sc", "sa"}));
  q = SessionQuery();
  q.from_ms = NowMillis() - 3600000;
  q.to_ms = NowMillis() + 3600000;
  EXPECT_EQ(sessions(q).total_items, 3);
  q.from_ms = all.items[0].created_at_ms;
  EXPECT_EQ(Ids(sessions(q).items), (V{"sc"}));
  q.from_ms = NowMillis() + 3600000;
  EXPECT_EQ(sessions(q).total_items, 0);

  auto sa = Same([&](EventStore& s) { return s.GetSession(project_, "sa"); });
  ASSERT_TRUE(sa.ok() && *sa);
  EXPECT_EQ((*sa)->environment, "prod");
  auto none = Same([&](EventStore& s) { return s.GetSession(project_, "nope"); });
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  auto traces = Same([&](EventStore& s) { return s.TracesOfSession(project_, "sa"); });
  ASSERT_TRUE(traces.ok());
  EXPECT_EQ(Ids(*traces), (V{"t5", "t1"}));  // oldest first
  auto empty = Same([&](EventStore& s) { return s.TracesOfSession(project_, "nope"); });
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

// Traces over several minutes, hours, days, weeks and months, with
// generations of two models, spans, events and scores; every value a binary
// fraction, so sums are exact in any order.
class MetricsConformanceTest : public EventStoreConformanceTest {
 protected:
  void WriteData() {
    constexpr int64_t kDay = 86400000;
    auto trace = [](const char* id, int64_t at, json::object fields) {
      fields["id"] = id;
      fields["timestamp"] = FormatIsoMillis(at);
      return Ev("trace-create", at, fields);
    };
    auto obs = [](const char* type, const char* id, const char* trace_id, int64_t start,
                  std::optional<int64_t> end, json::object fields) {
      fields["id"] = id;
      fields["traceId"] = trace_id;
      fields["startTime"] = FormatIsoMillis(start);
      if (end) fields["endTime"] = FormatIsoMillis(*end);
      return Ev(type, start, fields);
    };
    auto usage = [](int in, int out) {
      return json::object{{"input", in}, {"output", out}, {"total", in + out}};
    };
    auto cost = [](double in, double out) { return json::object{{"input", in}, {"output", out}}; };
    auto score = [](const char* id, const char* trace_id, const char* name, json::value value,
                    const char* type, int64_t at, json::object fields = {}) {
      fields["id"] = id;
      fields["traceId"] = trace_id;
      fields["name"] = name;
      fields["value"] = value;
      fields["dataType"] = type;
      fields["timestamp"] = FormatIsoMillis(at);
      return Ev("score-create", at, fields);
    };
    const int64_t t1 = kBase, t2 = kBase + 90000, t3 = kBase + 2 * 3600000, t4 = kBase + kDay,
                  t5 = kBase + 8 * kDay, t6 = kBase + 40 * kDay;
    Write({trace("m1", t1,
                 {{"name", "chat"}, {"userId", "alice"}, {"sessionId", "s1"}, {"tags", {"x"}}}),
           trace("m2", t2, {{"name", "chat"}, {"userId", "bob"}, {"environment", "staging"}}),
           trace("m3", t3, {{"name", "search"}, {"userId", "alice"}, {"tags", {"x", "y"}}}),
           trace("m4", t4, {{"name", "search"}}),
           trace("m5", t5, {{"name", "chat"}, {"userId", "carol"}, {"sessionId", "s1"}}),
           trace("m6", t6, {{"name", "rag"}, {"userId", "alice"}}),
           obs("generation-create", "g1", "m1", t1, t1 + 1000,
               {{"model", "model-a"},
                {"completionStartTime", FormatIsoMillis(t1 + 200)},
                {"usage", usage(10, 20)},
                {"costDetails", cost(0.5, 0.25)},
                {"promptName", "p"},
                {"promptVersion", 2}}),
           obs("span-create", "sp1", "m1", t1 + 10, t1 + 110, {{"name", "fetch"}}),
           obs("generation-create", "g2", "m2", t2, t2 + 3000,
               {{"model", "model-b"},
                {"usage", usage(5, 5)},
                {"costDetails", cost(0.125, 0.125)},
                {"environment", "staging"}}),
           obs("generation-create", "g3", "m3", t3, t3 + 500,
               {{"model", "model-a"}, {"usage", usage(100, 50)}, {"costDetails", cost(1, 0.5)}}),
           obs("event-create", "e3", "m3", t3 + 20, std::nullopt, {{"name", "log"}}),
           obs("generation-create", "g4", "m4", t4, t4 + 2000,
               {{"model", "model-a"}, {"usage", usage(1, 2)}, {"costDetails", cost(0.25, 0.25)}}),
           obs("generation-create", "g5", "m5", t5, t5 + 4000,
               {{"model", "model-b"}, {"costDetails", cost(2, 1)}}),
           obs("span-create", "sp6", "m6", t6, t6 + 250, {}),
           score("n1", "m1", "acc", 1, "NUMERIC", t1),
           score("n2", "m2", "acc", 0.5, "NUMERIC", t2),
           score("n3", "m3", "acc", 0.25, "NUMERIC", t3, {{"source", "EVAL"}}),
           score("n5", "m5", "acc", 0.75, "NUMERIC", t5),
           score("n6", "m1", "obs-q", 2, "NUMERIC", t1 + 5, {{"observationId", "g1"}}),
           score("c1", "m1", "tone", "calm", "CATEGORICAL", t1),
           score("c2", "m2", "tone", "angry", "CATEGORICAL", t2),
           score("c3", "m3", "tone", "calm", "CATEGORICAL", t3 + 1)});
  }

  // Runs a metrics query (the API's JSON, over the data's whole range unless
  // it names one) on both stores; returns the rows.
  json::array Metrics(json::object query) {
    if (!query.contains("fromTimestamp")) {
      query["fromTimestamp"] = FormatIsoMillis(kBase - 86400000);
      query["toTimestamp"] = FormatIsoMillis(kBase + 60 * 86400000LL);
    }
    auto parsed = ParseMetricsQuery(json::serialize(query), false);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    if (!parsed.ok()) return {};
    auto r = Same([&](EventStore& s) { return s.QueryMetrics(project_, *parsed); });
    return r.ok() ? *r : json::array();
  }

  static json::array Dims(std::initializer_list<const char*> fields) {
    json::array out;
    for (const char* f : fields) out.push_back(json::object{{"field", f}});
    return out;
  }

  static json::array Measures(std::initializer_list<std::pair<const char*, const char*>> specs) {
    json::array out;
    for (const auto& [measure, aggregation] : specs) {
      out.push_back(json::object{{"measure", measure}, {"aggregation", aggregation}});
    }
    return out;
  }
};

TEST_P(MetricsConformanceTest, TracesView) {
  WriteData();
  auto rows = Metrics({{"view", "traces"},
                       {"metrics", Measures({{"count", "count"},
                                             {"totalCost", "sum"},
                                             {"latency", "avg"},
                                             {"latency", "p50"},
                                             {"latency", "p95"},
                                             {"observationsCount", "max"},
                                             {"scoresCount", "sum"},
                                             {"totalTokens", "sum"}})}});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("count_count"), json::value(6));
  EXPECT_EQ(rows[0].at("sum_totalCost"), json::value(6.0));
  rows = Metrics({{"view", "traces"},
                  {"dimensions", Dims({"name"})},
                  {"metrics", Measures({{"count", "count"},
                                        {"totalCost", "sum"},
                                        {"latency", "min"},
                                        {"latency", "max"},
                                        {"uniqueUserIds", "uniq"},
                                        {"uniqueUserIds", "count"}})}});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].at("name"), json::value("chat"));
  // (With a user: SQLite answers this from its per-user daily rollups, which
  // hold only traces that have one.)
  rows = Metrics(
      {{"view", "traces"},
       {"dimensions", Dims({"userId", "environment"})},
       {"metrics", Measures({{"count", "count"}, {"totalCost", "sum"}})},
       {"filters",
        json::array{json::object{
            {"column", "userId"}, {"type", "null"}, {"operator", "is not null"}, {"value", ""}}}}});
  EXPECT_EQ(rows.size(), 3u);
  Metrics({{"view", "traces"},
           {"dimensions", Dims({"tags", "timestampMonth", "sessionId"})},
           {"metrics", Measures({{"count", "count"}, {"uniqueSessionIds", "uniq"}})},
           {"orderBy", json::array{json::object{{"field", "tags"}, {"direction", "asc"}}}}});
  // Filters, including on the trace's own columns only.
  rows = Metrics({{"view", "traces"},
                  {"dimensions", Dims({"name"})},
                  {"metrics", Measures({{"count", "count"}, {"latency", "p50"}})},
                  {"filters", json::array{json::object{{"column", "userId"},
                                                       {"type", "string"},
                                                       {"operator", "="},
                                                       {"value", "alice"}},
                                          json::object{{"column", "tags"},
                                                       {"type", "arrayOptions"},
                                                       {"operator", "any of"},
                                                       {"value", json::array{"x"}}}}}});
  EXPECT_EQ(rows.size(), 2u);
  // A range with nothing in it.
  EXPECT_TRUE(Metrics({{"view", "traces"},
                       {"metrics", Measures({{"count", "count"}})},
                       {"fromTimestamp", FormatIsoMillis(kBase - 10000)},
                       {"toTimestamp", FormatIsoMillis(kBase - 5000)}})
                  .empty());
}

TEST_P(MetricsConformanceTest, TimeDimensionEachGranularity) {
  WriteData();
  for (const char* g : {"minute", "hour", "day", "week", "month"}) {
    SCOPED_TRACE(g);
    auto rows = Metrics({{"view", "traces"},
                         {"dimensions", Dims({"environment"})},
                         {"metrics", Measures({{"count", "count"}, {"totalCost", "sum"}})},
                         {"timeDimension", json::object{{"granularity", g}}}});
    EXPECT_FALSE(rows.empty());
    Metrics({{"view", "observations"},
             {"dimensions", Dims({"providedModelName"})},
             {"metrics", Measures({{"count", "count"}, {"latency", "p95"}, {"totalCost", "sum"}})},
             {"timeDimension", json::object{{"granularity", g}}}});
  }
  // Auto resolves from the range.
  Metrics({{"view", "scores-numeric"},
           {"metrics", Measures({{"value", "avg"}})},
           {"timeDimension", json::object{{"granularity", "auto"}}}});
}

TEST_P(MetricsConformanceTest, ObservationsView) {
  WriteData();
  auto rows = Metrics({{"view", "observations"},
                       {"dimensions", Dims({"providedModelName", "type"})},
                       {"metrics", Measures({{"count", "count"},
                                             {"totalCost", "sum"},
                                             {"inputCost", "sum"},
                                             {"outputCost", "max"},
                                             {"latency", "avg"},
                                             {"latency", "min"},
                                             {"latency", "max"},
                                             {"latency", "p50"},
                                             {"latency", "p95"},
                                             {"inputTokens", "sum"},
                                             {"totalTokens", "sum"},
                                             {"tokensPerSecond", "avg"},
                                             {"timeToFirstToken", "max"},
                                             {"countScores", "sum"}})}});
  ASSERT_EQ(rows.size(), 4u);  // model-a, model-b, and no model for spans and events
  Metrics({{"view", "observations"},
           {"dimensions", Dims({"userId", "traceName", "environment"})},
           {"metrics", Measures({{"count", "count"}, {"outputTokens", "sum"}})},
           {"orderBy", json::array{json::object{{"field", "userId"}, {"direction", "desc"}},
                                   json::object{{"field", "count"}, {"direction", "asc"}}}}});
  rows = Metrics({{"view", "observations"},
                  {"dimensions", Dims({"promptName", "promptVersion", "name", "level"})},
                  {"metrics", Measures({{"latency", "histogram"}, {"totalTokens", "uniq"}})},
                  {"config", json::object{{"bins", 3}}}});
  EXPECT_EQ(rows.size(), 4u);
  rows = Metrics({{"view", "observations"},
                  {"dimensions", Dims({"type"})},
                  {"metrics", Measures({{"latency", "histogram"}, {"latency", "p75"}})},
                  {"config", json::object{{"bins", 3}}}});
  ASSERT_EQ(rows.size(), 3u);  // GENERATION, SPAN, EVENT (no latency: no bins)
  for (const auto& row : rows) {
    if (row.at("type") == "GENERATION") {
      EXPECT_EQ(json::serialize(row.at("histogram_latency")),
                "[[5E2,1.6666666666666667E3,2],[1.6666666666666667E3,2.8333333333333335E3,1],"
                "[2.8333333333333335E3,4E3,2]]");
    }
  }
  rows = Metrics(
      {{"view", "observations"},
       {"dimensions", Dims({"providedModelName"})},
       {"metrics", Measures({{"totalCost", "sum"}, {"latency", "p50"}})},
       {"filters", json::array{json::object{{"column", "type"},
                                            {"type", "stringOptions"},
                                            {"operator", "any of"},
                                            {"value", json::array{"GENERATION"}}},
                               json::object{{"column", "traceName"},
                                            {"type", "string"},
                                            {"operator", "starts with"},
                                            {"value", "ch"}}}},
       {"orderBy", json::array{json::object{{"field", "sum_totalCost"}, {"direction", "asc"}}}}});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("providedModelName"), json::value("model-a"));
  rows = Metrics({{"view", "observations"},
                  {"dimensions", Dims({"id"})},
                  {"metrics", Measures({{"latency", "max"}})},
                  {"config", json::object{{"row_limit", 3}}}});
  EXPECT_EQ(rows.size(), 3u);
  // Ties at the row limit go to the first groups by dimension (null first).
  rows = Metrics({{"view", "observations"},
                  {"dimensions", Dims({"name"})},
                  {"metrics", Measures({{"count", "count"}})},
                  {"config", json::object{{"row_limit", 2}}}});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].at("name"), json::value("fetch"));
  for (const char* order : {"avg_latency", "p95_latency", "sum_totalCost", "count_count", "latency",
                            "time_dimension", "userId"}) {
    SCOPED_TRACE(order);
    for (const char* direction : {"asc", "desc"}) {
      rows = Metrics(
          {{"view", "observations"},
           {"dimensions", Dims({"userId", "type"})},
           {"metrics", Measures({{"latency", "avg"},
                                 {"latency", "p95"},
                                 {"totalCost", "sum"},
                                 {"count", "count"}})},
           {"timeDimension", json::object{{"granularity", "week"}}},
           {"orderBy", json::array{json::object{{"field", order}, {"direction", direction}}}},
           {"config", json::object{{"row_limit", 3}}}});
      EXPECT_EQ(rows.size(), 3u);
    }
  }
}

TEST_P(MetricsConformanceTest, ScoresViews) {
  WriteData();
  auto rows = Metrics({{"view", "scores-numeric"},
                       {"dimensions", Dims({"name", "source"})},
                       {"metrics", Measures({{"count", "count"},
                                             {"value", "avg"},
                                             {"value", "sum"},
                                             {"value", "min"},
                                             {"value", "max"},
                                             {"value", "p50"},
                                             {"value", "p95"}})}});
  ASSERT_EQ(rows.size(), 3u);
  rows = Metrics({{"view", "scores-numeric"},
                  {"dimensions", Dims({"value", "traceName", "userId", "observationName",
                                       "observationModelName", "timestampDay"})},
                  {"metrics", Measures({{"count", "count"}})}});
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[3].at("value"), json::value("1.0"));  // as SQLite writes a REAL
  EXPECT_EQ(rows[4].at("observationModelName"), json::value("model-a"));
  Metrics({{"view", "scores-numeric"},
           {"metrics", Measures({{"value", "avg"}})},
           {"timeDimension", json::object{{"granularity", "day"}}},
           {"filters",
            json::array{json::object{
                {"column", "value"}, {"type", "number"}, {"operator", ">="}, {"value", 0.5}}}}});
  rows = Metrics(
      {{"view", "scores-categorical"},
       {"dimensions", Dims({"name", "stringValue"})},
       {"metrics", Measures({{"count", "count"}})},
       {"orderBy", json::array{json::object{{"field", "stringValue"}, {"direction", "asc"}}}}});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("stringValue"), json::value("angry"));
  EXPECT_TRUE(
      Metrics({{"view", "scores-boolean"}, {"metrics", Measures({{"count", "count"}})}}).empty());
}

TEST_P(EventStoreConformanceTest, DailyMetrics) {
  constexpr int64_t kDay = 86400000;
  auto trace = [](const char* id, int64_t at, json::object fields) {
    fields["id"] = id;
    fields["timestamp"] = FormatIsoMillis(at);
    return Ev("trace-create", at, fields);
  };
  auto generation = [](const char* id, const char* trace_id, int64_t at, json::object fields) {
    fields["id"] = id;
    fields["traceId"] = trace_id;
    fields["startTime"] = FormatIsoMillis(at);
    return Ev("generation-create", at, fields);
  };
  json::object usage{{"input", 3}, {"output", 4}, {"total", 7}};
  json::object cost{{"input", 0.25}, {"output", 0.5}};
  Write({trace("d1", kBase, {{"name", "chat"}, {"userId", "alice"}, {"tags", {"x"}}}),
         trace("d2", kBase + 3600000, {{"name", "chat"}, {"environment", "staging"}}),
         trace("d3", kBase + kDay, {{"name", "rag"}, {"userId", "alice"}, {"tags", {"x", "y"}}}),
         trace("d4", kBase + 3 * kDay, {{"name", "chat"}}),
         generation("g1", "d1", kBase,
                    {{"model", "model-b"}, {"usage", usage}, {"costDetails", cost}}),
         generation("g2", "d1", kBase + 1, {{"model", "model-a"}, {"usage", usage}}),
         generation("g3", "d2", kBase + 3600000, {{"model", "model-b"}, {"costDetails", cost}}),
         generation("g4", "d3", kBase + kDay, {{"usage", usage}, {"costDetails", cost}}),
         generation("g5", "d4", kBase + 3 * kDay, {{"model", "model-a"}, {"usage", usage}}),
         // An observation without its trace counts nowhere.
         generation("g6", "missing", kBase, {{"model", "model-a"}, {"usage", usage}})});
  auto daily = [&](auto set) {
    DailyMetricsQuery q;
    set(q);
    auto r = Same([&](EventStore& s) { return s.DailyMetrics(project_, q); });
    return r.ok() ? *r : PageResult<DailyMetricsRow>();
  };
  auto all = daily([](DailyMetricsQuery&) {});
  EXPECT_EQ(all.total_items, 3);
  ASSERT_EQ(all.items.size(), 3u);
  EXPECT_EQ(all.items[0].date, "2025-04-04");
  EXPECT_EQ(all.items[2].count_traces, 2);
  EXPECT_EQ(all.items[2].count_observations, 3);
  ASSERT_EQ(all.items[2].usage.size(), 2u);
  EXPECT_EQ(all.items[2].usage[0].model, "model-a");
  EXPECT_TRUE(all.items[1].usage.empty());  // no model
  auto page = daily([](DailyMetricsQuery& q) {
    q.page.limit = 2;
    q.page.page = 2;
  });
  EXPECT_EQ(page.total_items, 3);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].date, "2025-04-01");
  daily([](DailyMetricsQuery& q) { q.trace_name = "chat"; });
  daily([](DailyMetricsQuery& q) { q.user_id = "alice"; });
  daily([](DailyMetricsQuery& q) { q.tags = {"x", "y"}; });
  daily([](DailyMetricsQuery& q) { q.environments = {"staging"}; });
  auto range = daily([](DailyMetricsQuery& q) {
    q.from_ms = kBase + 1;
    q.to_ms = kBase + kDay + 1;
  });
  EXPECT_EQ(range.total_items, 2);
  EXPECT_TRUE(daily([](DailyMetricsQuery& q) { q.user_id = "nobody"; }).items.empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, MetricsConformanceTest,
                         ::testing::Values("sqlite", "clickhouse"),
                         [](const auto& param_info) { return param_info.param; });

TEST(ClickHouseEventStoreOpenTest, WrongPasswordAndNoServerFailToOpen) {
  auto prices = PriceTable::FromEmbeddedDefaults();
  ASSERT_TRUE(prices.ok()) << prices.status();
  ClickHouseOptions o;
  o.url = "http://127.0.0.1:9";  // discard: nothing answers HTTP there
  o.connect_timeout_ms = 2000;
  auto none = OpenClickHouseEventStore(o, prices->get());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnavailable) << none.status();
  const char* url = std::getenv("LOUPE_TEST_CLICKHOUSE_URL");
  if (!url || !*url) GTEST_SKIP() << "LOUPE_TEST_CLICKHOUSE_URL is not set";
  o.url = url;
  if (const char* u = std::getenv("LOUPE_TEST_CLICKHOUSE_USER")) o.user = u;
  o.password = "not-the-password";
  auto denied = OpenClickHouseEventStore(o, prices->get());
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kUnauthenticated) << denied.status();
}

INSTANTIATE_TEST_SUITE_P(Backends, EventStoreConformanceTest,
                         ::testing::Values("sqlite", "clickhouse"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace loupe
