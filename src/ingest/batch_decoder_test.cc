#include "ingest/batch_decoder.h"

#include <gtest/gtest.h>

#include <string>

#include "common/json_parse.h"

namespace loupe {
namespace {

DecodedBatch Decode(std::string_view body, bool scores_only = false) {
  DecodeOptions o;
  o.scores_only = scores_only;
  auto r = DecodeIngestionBatch(body, o);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : DecodedBatch{};
}

TEST(BatchDecoderTest, RejectsUnusableEnvelopes) {
  DecodeOptions o;
  EXPECT_FALSE(DecodeIngestionBatch("not json", o).ok());
  EXPECT_FALSE(DecodeIngestionBatch("[]", o).ok());
  EXPECT_FALSE(DecodeIngestionBatch("{}", o).ok());
  EXPECT_FALSE(DecodeIngestionBatch(R"({"batch": {}})", o).ok());
  EXPECT_TRUE(DecodeIngestionBatch(R"({"batch": []})", o).ok());
}

TEST(BatchDecoderTest, OneBadEventDoesNotCostTheOthers) {
  auto b = Decode(R"({"batch": [
    {"id": "e1", "type": "trace-create", "timestamp": "2025-01-01T00:00:00Z", "body": {"id": "t1"}},
    {"id": "e2", "type": "trace-create", "timestamp": "not a date", "body": {"id": "t2"}},
    {"id": "e3", "type": "nonsense", "timestamp": "2025-01-01T00:00:00Z", "body": {}},
    {"id": "e4", "type": "span-create", "timestamp": "2025-01-01T00:00:00Z", "body": {"traceId": "t1"}},
    {"id": "e5", "type": "generation-create", "timestamp": "2025-01-01T00:00:00Z",
     "body": {"id": "g1", "level": "LOUD"}},
    {"id": "e6", "type": "span-create", "timestamp": "2025-01-01T00:00:00Z", "body": {"id": "s1"}}
  ]})");
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.events[0].entity_id, "t1");
  EXPECT_EQ(b.events[1].entity_id, "s1");
  ASSERT_EQ(b.errors.size(), 4u);
  EXPECT_EQ(b.errors[0].id, "e2");
  EXPECT_EQ(b.errors[0].status, 400);
  EXPECT_EQ(b.errors[1].id, "e3");
  EXPECT_EQ(b.errors[2].id, "e4");  // span without id
  EXPECT_NE(b.errors[2].error.find("id"), std::string::npos);
  EXPECT_EQ(b.errors[3].id, "e5");
  EXPECT_NE(b.errors[3].error.find("level"), std::string::npos);
}

TEST(BatchDecoderTest, SdkLogIsDroppedSilently) {
  auto b = Decode(R"({"batch": [{"id": "l", "type": "sdk-log", "timestamp": "2025-01-01T00:00:00Z",
                                 "body": {"log": "x"}}]})");
  EXPECT_TRUE(b.events.empty());
  EXPECT_TRUE(b.errors.empty());
  EXPECT_TRUE(b.successes.empty());
}

TEST(BatchDecoderTest, TraceWithoutIdIsAcknowledgedButNotStored) {
  auto b = Decode(R"({"batch": [{"id": "e", "type": "trace-create",
                                 "timestamp": "2025-01-01T00:00:00Z", "body": {"name": "x"}}]})");
  EXPECT_TRUE(b.events.empty());
  ASSERT_EQ(b.successes.size(), 1u);
}

TEST(BatchDecoderTest, BearerScopeAllowsOnlyScores) {
  auto b = Decode(R"({"batch": [
    {"id": "e1", "type": "trace-create", "timestamp": "2025-01-01T00:00:00Z", "body": {"id": "t"}},
    {"id": "e2", "type": "score-create", "timestamp": "2025-01-01T00:00:00Z",
     "body": {"id": "s", "name": "q", "value": 1, "traceId": "t"}}]})",
                  true);
  ASSERT_EQ(b.events.size(), 1u);
  ASSERT_EQ(b.errors.size(), 1u);
  EXPECT_EQ(b.errors[0].status, 401);
  EXPECT_EQ(b.errors[0].error, "Access Scope Denied");
}

TEST(BatchDecoderTest, NormalizesEnvironment) {
  EXPECT_EQ(NormalizeEnvironment("Production"), "production");
  EXPECT_EQ(NormalizeEnvironment("langfuse-staging"), "staging");
  EXPECT_EQ(NormalizeEnvironment("langfuse_dev"), "dev");
  EXPECT_EQ(NormalizeEnvironment("has space"), "default");
  EXPECT_EQ(NormalizeEnvironment(""), "default");
  EXPECT_EQ(NormalizeEnvironment(std::string(50, 'a')), std::string(40, 'a'));
}

TEST(BatchDecoderTest, ScoreDataTypes) {
  auto b = Decode(R"({"batch": [
    {"id": "1", "type": "score-create", "timestamp": "2025-01-01T00:00:00Z",
     "body": {"id": "s1", "name": "n", "value": "good"}},
    {"id": "2", "type": "score-create", "timestamp": "2025-01-01T00:00:00Z",
     "body": {"id": "s2", "name": "n", "value": 2, "dataType": "BOOLEAN"}},
    {"id": "3", "type": "score-create", "timestamp": "2025-01-01T00:00:00Z",
     "body": {"id": "s3", "name": "n", "value": 1, "dataType": "BOOLEAN"}},
    {"id": "4", "type": "score-create", "timestamp": "2025-01-01T00:00:00Z",
     "body": {"id": "s4", "name": "", "value": 1}},
    {"id": "5", "type": "score-create", "timestamp": "2025-01-01T00:00:00Z",
     "body": {"id": "s5", "name": "n", "value": "x", "dataType": "NUMERIC"}}]})");
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.events[0].body.at("dataType").as_string(), "CATEGORICAL");
  EXPECT_EQ(b.events[0].body.at("stringValue").as_string(), "good");
  EXPECT_EQ(b.events[1].body.at("stringValue").as_string(), "True");
  ASSERT_EQ(b.errors.size(), 3u);
}

TEST(BatchDecoderTest, NormalizesUsageIntoProvidedMaps) {
  auto b = Decode(R"({"batch": [{"id": "1", "type": "generation-create",
    "timestamp": "2025-01-01T00:00:00Z",
    "body": {"id": "g", "usage": {"input": 10, "output": 5, "unit": "TOKENS", "totalCost": 0.5}}}]})");
  ASSERT_EQ(b.events.size(), 1u);
  const auto& body = b.events[0].body;
  ASSERT_TRUE(body.contains("_usage"));
  EXPECT_EQ(body.at("_usage").at("input").as_int64(), 10);
  EXPECT_EQ(body.at("_usage").at("total").as_int64(), 15);
  EXPECT_DOUBLE_EQ(body.at("_cost").at("total").as_double(), 0.5);
  EXPECT_FALSE(body.contains("usage"));
}

TEST(BatchDecoderTest, PromptNameAndVersionTogether) {
  auto b = Decode(R"({"batch": [{"id": "1", "type": "generation-create",
    "timestamp": "2025-01-01T00:00:00Z", "body": {"id": "g", "promptName": "p"}}]})");
  EXPECT_TRUE(b.events.empty());
  ASSERT_EQ(b.errors.size(), 1u);
}

// A trace-create event whose input is an array nested `depth` levels deep.
std::string TraceWithInputDepth(std::string_view event_id, std::size_t depth) {
  return std::string(R"({"id": ")") + std::string(event_id) +
         R"(", "type": "trace-create", "timestamp": "2025-01-01T00:00:00Z", )" +
         R"("body": {"id": "t-)" + std::string(event_id) + R"(", "input": )" +
         std::string(depth, '[') + "1" + std::string(depth, ']') + "}}";
}

TEST(BatchDecoderTest, EventsMayNestUpToTheLimit) {
  // The event object and its body are two of the event's levels.
  auto b = Decode(R"({"batch": [)" + TraceWithInputDepth("e1", kMaxJsonDepth - 2) + "]}");
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_TRUE(b.errors.empty());
  EXPECT_EQ(JsonDepth(b.events[0].body.at("input")), kMaxJsonDepth - 2);
}

TEST(BatchDecoderTest, TooDeepEventFailsAloneWithAClearError) {
  auto b = Decode(R"({"batch": [)" + TraceWithInputDepth("e1", 10) + "," +
                  TraceWithInputDepth("e2", kMaxJsonDepth - 1) + "," +
                  TraceWithInputDepth("e3", 300) + "]}");
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].entity_id, "t-e1");
  ASSERT_EQ(b.errors.size(), 2u);
  for (const EventError& e : b.errors) {
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.message, "Invalid request data");
    EXPECT_EQ(e.error, "event: JSON nested deeper than 256 levels");
  }
  EXPECT_EQ(b.errors[0].id, "e2");
  EXPECT_EQ(b.errors[1].id, "e3");
}

TEST(BatchDecoderTest, BodyBeyondTheStoredLimitIsRejectedAsAWhole) {
  auto r = DecodeIngestionBatch(
      R"({"batch": [)" + TraceWithInputDepth("e1", kMaxStoredJsonDepth) + "]}", DecodeOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "Invalid JSON in request body: JSON nested deeper than " +
                                      std::to_string(kMaxStoredJsonDepth) + " levels");
}

}  // namespace
}  // namespace loupe
