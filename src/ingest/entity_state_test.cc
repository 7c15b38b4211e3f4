#include "ingest/entity_state.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/json_parse.h"
#include "common/time_util.h"
#include "ingest/batch_decoder.h"
#include "ingest/materialize.h"

namespace loupe {
namespace {

namespace json = boost::json;

std::vector<IngestEvent> Events(std::string_view batch) {
  auto r = DecodeIngestionBatch(batch, DecodeOptions{});
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r->errors.empty()) << (r->errors.empty() ? "" : r->errors[0].error);
  return r->events;
}

std::string Merge(const std::vector<IngestEvent>& events, const std::vector<size_t>& order) {
  EntityState s;
  for (size_t i : order) s.Apply(events[i]);
  // Round-trip through serialization, as the store does between requests.
  auto restored = EntityState::Parse(s.Serialize());
  EXPECT_TRUE(restored.ok());
  TraceRecord t = MaterializeTrace("p", "t", *restored);
  json::object o;
  o["name"] = t.name ? json::value(*t.name) : nullptr;
  o["userId"] = t.user_id ? json::value(*t.user_id) : nullptr;
  o["timestamp"] = t.timestamp_ms;
  o["input"] = t.input;
  o["output"] = t.output;
  o["metadata"] = t.metadata;
  json::array tags;
  for (auto& x : t.tags) tags.emplace_back(x);
  o["tags"] = tags;
  o["environment"] = t.environment;
  o["release"] = t.release ? json::value(*t.release) : nullptr;
  return json::serialize(o);
}

constexpr std::string_view kTraceEvents = R"({"batch": [
  {"id": "a", "type": "trace-create", "timestamp": "2025-01-01T00:00:01Z",
   "body": {"id": "t", "name": "first", "userId": "u1", "input": {"q": 1}, "tags": ["x", "b"],
            "metadata": {"k1": "v1", "shared": "old"}, "environment": "prod",
            "timestamp": "2025-01-01T00:00:00Z", "release": "r1"}},
  {"id": "b", "type": "trace-create", "timestamp": "2025-01-01T00:00:02Z",
   "body": {"id": "t", "name": "second", "output": "done", "tags": ["a", "b"],
            "metadata": {"k2": "v2", "shared": "new"}, "environment": "staging", "release": null}},
  {"id": "c", "type": "trace-create", "timestamp": "2025-01-01T00:00:03Z",
   "body": {"id": "t", "input": "", "userId": "u2"}}
]})";

TEST(EntityStateTest, TraceMergeFollowsTheRules) {
  auto events = Events(kTraceEvents);
  json::value merged = ParseJson(Merge(events, {0, 1, 2}));
  EXPECT_EQ(merged.at("name").as_string(), "second");  // later value wins
  EXPECT_EQ(merged.at("userId").as_string(), "u2");
  EXPECT_EQ(merged.at("input").at("q").as_int64(), 1);  // "" is not truthy
  EXPECT_EQ(merged.at("output").as_string(), "done");
  EXPECT_EQ(merged.at("environment").as_string(), "prod");            // immutable: first wins
  EXPECT_TRUE(merged.at("release").is_null());                        // explicit null overwrites
  EXPECT_EQ(json::serialize(merged.at("tags")), R"(["a","b","x"])");  // sorted union
  EXPECT_EQ(merged.at("metadata").at("k1").as_string(), "v1");
  EXPECT_EQ(merged.at("metadata").at("k2").as_string(), "v2");
  EXPECT_EQ(merged.at("metadata").at("shared").as_string(), "new");
  EXPECT_EQ(merged.at("timestamp").as_int64(), *ParseIsoMicros("2025-01-01T00:00:00Z") / 1000);
}

TEST(EntityStateTest, ResultIsIndependentOfArrivalOrderAndDuplicates) {
  auto events = Events(kTraceEvents);
  std::vector<size_t> order = {0, 1, 2};
  std::string expected = Merge(events, order);
  do {
    EXPECT_EQ(Merge(events, order), expected);
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(Merge(events, {2, 1, 0, 0, 2, 1}), expected);
}

TEST(EntityStateTest, ObservationUpdateBeforeCreate) {
  auto events = Events(R"({"batch": [
    {"id": "u", "type": "generation-update", "timestamp": "2025-01-01T00:00:05Z",
     "body": {"id": "g", "endTime": "2025-01-01T00:00:04Z", "output": "hi",
              "usage": {"input": 3, "output": 4}}},
    {"id": "c", "type": "generation-create", "timestamp": "2025-01-01T00:00:01Z",
     "body": {"id": "g", "traceId": "t", "name": "gen", "startTime": "2025-01-01T00:00:01Z",
              "model": "gpt-4o", "input": "hello"}}]})");
  for (auto order : {std::vector<size_t>{0, 1}, std::vector<size_t>{1, 0}}) {
    EntityState s;
    for (size_t i : order) s.Apply(events[i]);
    ObservationRecord o = MaterializeObservation("p", "g", &s, nullptr);
    EXPECT_EQ(o.type, "GENERATION");
    EXPECT_EQ(o.trace_id, "t");
    EXPECT_EQ(o.start_time_ms, *ParseIsoMicros("2025-01-01T00:00:01Z") / 1000);
    ASSERT_TRUE(o.end_time_ms.has_value());
    EXPECT_EQ(*o.end_time_ms, *ParseIsoMicros("2025-01-01T00:00:04Z") / 1000);
    EXPECT_EQ(o.input.as_string(), "hello");
    EXPECT_EQ(o.output.as_string(), "hi");
    EXPECT_EQ(*o.model, "gpt-4o");
  }
}

// States written before slots could omit their key carry a key in every slot
// and no base key; they must keep merging by those keys.
TEST(EntityStateTest, StatesWithAKeyInEverySlotStillMerge) {
  const int64_t t1 = *ParseIsoMicros("2025-01-01T00:00:01Z");
  const std::string old_state =
      R"({"f":{"id":["t",)" + std::to_string(t1) + R"(,0,7],"name":["first",)" +
      std::to_string(t1) + R"(,0,7],"metadata":{"o":[)" + std::to_string(t1) +
      R"(,0,7],"c":{"k":{"s":["old",)" + std::to_string(t1) + R"(,0,7]}}}}})";
  auto state = EntityState::Parse(old_state);
  ASSERT_TRUE(state.ok());
  auto events = Events(R"({"batch": [
    {"id": "late", "type": "trace-create", "timestamp": "2025-01-01T00:00:02Z",
     "body": {"id": "t", "name": "second", "metadata": {"k": "new"}}},
    {"id": "early", "type": "trace-create", "timestamp": "2025-01-01T00:00:00Z",
     "body": {"id": "t", "name": "zeroth", "metadata": {"k2": "v2"}}}]})");
  for (const IngestEvent& e : events) state->Apply(e);
  auto restored = EntityState::Parse(state->Serialize());
  ASSERT_TRUE(restored.ok());
  TraceRecord t = MaterializeTrace("p", "t", *restored);
  EXPECT_EQ(*t.name, "second");
  EXPECT_EQ(t.metadata.at("k").as_string(), "new");
  EXPECT_EQ(t.metadata.at("k2").as_string(), "v2");
}

// Slots decided by the state's first event store no key of their own; a
// later event's slots do, and the order of arrival still does not matter.
TEST(EntityStateTest, SlotsOfTheFirstEventOmitTheirKey) {
  auto events = Events(kTraceEvents);
  EntityState one;
  one.Apply(events[0]);
  json::value v = ParseJson(one.Serialize());
  EXPECT_EQ(v.at("k").as_array().size(), 3u);
  EXPECT_EQ(json::serialize(v.at("f").at("name")), R"(["first"])");
  one.Apply(events[1]);
  v = ParseJson(one.Serialize());
  EXPECT_EQ(v.at("f").at("name").as_array().size(), 4u);  // decided by a later event
  EXPECT_EQ(json::serialize(v.at("f").at("userId")), R"(["u1"])");
}

// A state allocated from a request's arena serializes exactly like one on
// the default heap, also after a round trip into the arena.
TEST(EntityStateTest, ArenaStateMatchesHeapState) {
  auto events = Events(kTraceEvents);
  json::monotonic_resource arena;
  const json::storage_ptr sp(&arena);
  EntityState heap;
  EntityState in_arena(sp);
  for (const IngestEvent& e : events) {
    heap.Apply(e);
    in_arena.Apply(e);
  }
  EXPECT_EQ(in_arena.Serialize(), heap.Serialize());
  auto reparsed = EntityState::Parse(heap.Serialize(), sp);
  ASSERT_TRUE(reparsed.ok());
  EXPECT_EQ(reparsed->Serialize(), heap.Serialize());
}

}  // namespace
}  // namespace loupe
