#include "ingest/event_codec.h"

#include <gtest/gtest.h>

#include "ingest/batch_decoder.h"

namespace loupe {
namespace {

namespace json = boost::json;

TEST(EventCodecTest, RoundTripsDecodedEvents) {
  auto batch = DecodeIngestionBatch(
      R"({"batch":[
        {"id":"e1","type":"trace-create","timestamp":"2025-04-01T10:00:00.000Z",
         "body":{"id":"t1","name":"chat","tags":["a"],"metadata":{"k":"v"},"input":"héllo 😀"}},
        {"id":"e2","type":"generation-update","timestamp":"2025-04-01T10:00:01.250Z",
         "body":{"id":"g1","traceId":"t1","model":"gpt-4o",
                 "usageDetails":{"input":10,"output":20},"costDetails":{"input":0.125}}},
        {"id":"e3","type":"score-create","timestamp":"2025-04-01T10:00:02.000Z",
         "body":{"id":"s1","traceId":"t1","name":"quality","value":0.75}}]})",
      DecodeOptions{false, "python", "2.60.0"});
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->events.size(), 3u);

  auto decoded = DecodeEventBatch(EncodeEventBatch("proj-1", batch->events));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->project_id, "proj-1");
  ASSERT_EQ(decoded->events.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const IngestEvent& a = batch->events[i];
    const IngestEvent& b = decoded->events[i];
    EXPECT_EQ(a.event_id, b.event_id);
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.is_update, b.is_update);
    EXPECT_EQ(a.timestamp_us, b.timestamp_us);
    EXPECT_EQ(a.entity_id, b.entity_id);
    EXPECT_EQ(a.observation_type, b.observation_type);
    EXPECT_EQ(a.sdk_name, b.sdk_name);
    EXPECT_EQ(a.sdk_version, b.sdk_version);
    EXPECT_EQ(json::serialize(a.body), json::serialize(b.body)) << i;
  }
  EXPECT_EQ(decoded->events[1].observation_type, "GENERATION");
  EXPECT_TRUE(decoded->events[1].is_update);
  EXPECT_EQ(decoded->events[2].kind, EntityKind::kScore);
}

TEST(EventCodecTest, RefusesWhatItDidNotWrite) {
  for (
      const char* bad : {
          "",
          "not json",
          "[]",
          R"({"v":2,"project":"p","events":[]})",
          R"({"v":1,"events":[]})",
          R"({"v":1,"project":"p","events":{}})",
          R"({"v":1,"project":"p","events":[1]})",
          R"({"v":1,"project":"p","events":[{"id":"e","kind":7,"update":false,"ts_us":1,"entity":"x","body":{}}]})",
          R"({"v":1,"project":"p","events":[{"id":"e","kind":0,"update":"no","ts_us":1,"entity":"x","body":{}}]})",
          R"({"v":1,"project":"p","events":[{"id":"e","kind":0,"update":false,"ts_us":1,"entity":"x","body":[]}]})",
      }) {
    auto r = DecodeEventBatch(bad);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << bad;
  }
}

}  // namespace
}  // namespace loupe
