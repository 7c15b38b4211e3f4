// Mapping rules not covered by the golden cases, one span at a time.

#include "otlp/otlp_mapping.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "otlp/otlp_converter.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr int64_t kNowUs = int64_t{1767225600} * 1000000;

// Converts one root span with the given OTLP/JSON attributes and returns
// {trace body, observation body}.
std::pair<json::object, json::object> MapOne(const std::string& attributes,
                                             const std::string& scope = "custom") {
  std::string body = R"({"resourceSpans": [{"scopeSpans": [{"scope": {"name": ")" + scope +
                     R"("}, "spans": [{"traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
      "spanId": "00f067aa0ba902b7", "name": "op", "startTimeUnixNano": "1748764800000000000",
      "endTimeUnixNano": "1748764801000000000", "attributes": [)" +
                     attributes + "]}]}]}]}";
  auto c = ConvertOtlpTraces(body, OtlpEncoding::kJson, kNowUs);
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok() || c->events.size() != 2) {
    ADD_FAILURE() << "expected 2 events";
    return {};
  }
  return {c->events[0].at("body").get_object(), c->events[1].at("body").get_object()};
}

std::string Str(const char* key, const std::string& value) {
  return R"({"key": ")" + std::string(key) + R"(", "value": {"stringValue": )" +
         json::serialize(json::value(value)) + "}}";
}

TEST(OtlpMapping, FormatIsoMicros) {
  EXPECT_EQ(otlp::FormatIsoMicros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(otlp::FormatIsoMicros(1748764800123456), "2025-06-01T08:00:00.123456Z");
  EXPECT_EQ(otlp::FormatIsoMicros(1748764800000001), "2025-06-01T08:00:00.000001Z");
}

TEST(OtlpMapping, UsageDetailsAttributeRules) {
  // A JSON object string wins.
  auto [t1, o1] = MapOne(Str("langfuse.observation.usage_details", R"({"input": 5})") + "," +
                         R"({"key": "gen_ai.usage.input_tokens", "value": {"intValue": 9}})");
  EXPECT_EQ(json::serialize(o1.at("usageDetails")), R"({"input":5})");
  // Invalid JSON falls through to the conventions.
  auto [t2, o2] = MapOne(Str("langfuse.observation.usage_details", "{not json") + "," +
                         R"({"key": "gen_ai.usage.input_tokens", "value": {"intValue": 9}})");
  EXPECT_EQ(json::serialize(o2.at("usageDetails")), R"({"input":9})");
  // Valid JSON that is not an object means "no usage".
  auto [t3, o3] = MapOne(Str("langfuse.observation.usage_details", "[1]") + "," +
                         R"({"key": "gen_ai.usage.input_tokens", "value": {"intValue": 9}})");
  EXPECT_FALSE(o3.contains("usageDetails"));
}

TEST(OtlpMapping, GenericUsageKeepsOtherKeys) {
  auto [t, o] = MapOne(
      R"({"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": 100}},
         {"key": "gen_ai.usage.cache_creation_input_tokens", "value": {"intValue": 20}},
         {"key": "gen_ai.usage.completion_tokens", "value": {"intValue": 50}},
         {"key": "gen_ai.usage.completion_details.audio", "value": {"intValue": 5}},
         {"key": "gen_ai.usage.total_tokens", "value": {"intValue": 150}},
         {"key": "gen_ai.usage.details.image_tokens", "value": {"intValue": 7}},
         {"key": "gen_ai.usage.weird", "value": {"stringValue": "n/a"}})");
  EXPECT_EQ(json::serialize(o.at("usageDetails")),
            R"({"input":80,"output":45,"total":150,"input_cache_creation":20,)"
            R"("output_audio_tokens":5,"image_tokens":7})");
}

TEST(OtlpMapping, CostDetails) {
  auto [t1, o1] = MapOne(Str("langfuse.observation.cost_details", "oops") + "," +
                         R"({"key": "gen_ai.usage.cost", "value": {"doubleValue": 1.5}})");
  EXPECT_FALSE(o1.contains("costDetails"));  // invalid explicit cost wins as {}
  auto [t2, o2] = MapOne(R"({"key": "llm.cost.total", "value": {"doubleValue": 0.25}})");
  EXPECT_EQ(o2.at("costDetails").at("total").to_number<double>(), 0.25);
}

TEST(OtlpMapping, TagsForms) {
  EXPECT_EQ(
      json::serialize(MapOne(Str("langfuse.trace.tags", R"(["a", 1, true])")).first.at("tags")),
      R"(["a","1","true"])");
  EXPECT_EQ(json::serialize(MapOne(Str("langfuse.trace.tags", "solo")).first.at("tags")),
            R"(["solo"])");
  EXPECT_FALSE(MapOne(Str("langfuse.trace.tags", "")).first.contains("tags"));
}

TEST(OtlpMapping, TraceNameIsCutToTheLimit) {
  std::string name(1200, 'n');
  name[999] = '\xc3';  // a two-byte character across the limit is not split
  name[1000] = '\xa9';
  auto [t, o] = MapOne(Str("langfuse.trace.name", name));
  EXPECT_EQ(t.at("name").get_string().size(), 999u);
}

TEST(OtlpMapping, SystemInstructionsAreNotAddedTwice) {
  auto [t, o] =
      MapOne(Str("gen_ai.input.messages",
                 R"([{"role":"system","content":"s"},{"role":"user","content":"u"}])") +
             "," + Str("gen_ai.system_instructions", R"([{"type":"text","content":"other"}])"));
  EXPECT_EQ(json::serialize(o.at("input")),
            R"([{"role":"system","content":"s"},{"role":"user","content":"u"}])");
}

TEST(OtlpMapping, KeyPathArraysAreBounded) {
  auto [t, o] = MapOne(Str("gen_ai.prompt.99999.content", "far") + "," +
                       Str("gen_ai.prompt.1.content", "near") + "," +
                       Str("gen_ai.prompt.0.__proto__.x", "blocked"));
  EXPECT_EQ(json::serialize(o.at("input")), R"([{},{"content":"near"}])");
}

TEST(OtlpMapping, NestedKeyPaths) {
  auto [t, o] =
      MapOne(Str("llm.input_messages.0.message.role", "user") + "," +
             Str("llm.input_messages.0.message.contents.0.message_content.type", "text") + "," +
             Str("llm.input_messages.0.message.contents.0.message_content.text", "hi"));
  EXPECT_EQ(
      json::serialize(o.at("input")),
      R"([{"message":{"role":"user","contents":[{"message_content":{"type":"text","text":"hi"}}]}}])");
}

TEST(OtlpMapping, CompletionStartTimeForms) {
  EXPECT_EQ(MapOne(Str("langfuse.observation.completion_start_time", "2025-06-01T10:00:00.5+02:00"))
                .second.at("completionStartTime"),
            "2025-06-01T08:00:00.500000Z");
  EXPECT_EQ(MapOne(Str("langfuse.observation.completion_start_time", "\"2025-06-01T08:00:00Z\""))
                .second.at("completionStartTime"),
            "2025-06-01T08:00:00.000000Z");
}

TEST(OtlpMapping, PromptVersionAsStringOrInt) {
  auto [t, o] =
      MapOne(Str("langfuse.observation.type", "generation") + "," +
             Str("langfuse.prompt.name", "p") + "," + Str("langfuse.prompt.version", "7"));
  EXPECT_EQ(o.at("promptName"), "p");
  EXPECT_EQ(o.at("promptVersion"), 7);
  // Not a generation: no prompt link.
  auto [t2, o2] =
      MapOne(Str("langfuse.prompt.name", "p") + "," + Str("langfuse.prompt.version", "7"));
  EXPECT_FALSE(o2.contains("promptName"));
}

TEST(OtlpMapping, LangfuseSdkScopeHasNoAttributeDump) {
  auto [t, o] = MapOne(Str("foo", "bar"), "langfuse-sdk");
  EXPECT_FALSE(o.at("metadata").get_object().contains("attributes"));
  EXPECT_FALSE(t.at("metadata").get_object().contains("attributes"));
  auto [t2, o2] = MapOne(Str("foo", "bar"), "other");
  EXPECT_EQ(o2.at("metadata").at("attributes").at("foo"), "bar");
}

int Depth(const json::value& v) {
  int d = 0;
  if (const json::array* a = v.if_array()) {
    for (const json::value& e : *a) d = std::max(d, Depth(e));
    return d + 1;
  }
  if (const json::object* o = v.if_object()) {
    for (const auto& kv : *o) d = std::max(d, Depth(kv.value()));
    return d + 1;
  }
  return 0;
}

TEST(OtlpMapping, DeepValuesAreKeptAsTextBelowTheLimit) {
  std::string deep = std::string(60, '[') + "1" + std::string(60, ']');
  std::string messages = "[{\"role\":\"user\",\"content\":" + deep + "}]";
  auto [t, o] = MapOne(Str("gen_ai.input.messages", messages) + "," +
                       Str("gen_ai.system_instructions", "be brief"));
  ASSERT_TRUE(o.at("input").is_array());
  EXPECT_LE(Depth(o.at("input")), 33);
  // A key path longer than the limit is not rebuilt at all.
  std::string key = "gen_ai.completion";
  for (int i = 0; i < 40; ++i) key += ".a";
  auto [t2, o2] = MapOne(Str(key.c_str(), "x"));
  EXPECT_FALSE(o2.contains("output"));
}

}  // namespace
}  // namespace loupe
