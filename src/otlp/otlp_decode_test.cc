// Reading OTLP exports: protobuf and OTLP/JSON give the same events, bad
// bodies are InvalidArgument, bad spans are rejected one by one.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "ingest/entity_state.h"
#include "otlp/otlp_converter.h"

namespace loupe {
namespace {

namespace json = boost::json;
namespace pb_collector = opentelemetry::proto::collector::trace::v1;
namespace pb_common = opentelemetry::proto::common::v1;
namespace pb_trace = opentelemetry::proto::trace::v1;

constexpr int64_t kNowUs = int64_t{1767225600} * 1000000;

std::string ReadFile(const std::string& name) {
  std::ifstream in(std::filesystem::path(LOUPE_OTLP_TESTDATA_DIR) / name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const json::object* FindEvent(const OtlpConversion& c, std::string_view id) {
  for (const json::value& e : c.events) {
    if (e.at("id").get_string() == id) return &e.get_object();
  }
  return nullptr;
}

const json::object& Body(const json::object* event) { return event->at("body").get_object(); }

// ------------------------------------------------------------------ protobuf

TEST(OtlpProtobuf, CapturedExportsMatchTheirJsonRendering) {
  // The captured protobuf bodies of the plain OpenTelemetry JS exporter and
  // the same requests as protobuf-JSON (base64 ids, enum names): one mapping.
  for (const char* n : {"001", "002", "003"}) {
    std::string pb = ReadFile(std::string("protobuf/plain_exporter_") + n + ".pb");
    std::string js = ReadFile(std::string("protobuf/plain_exporter_") + n + ".protojson");
    ASSERT_FALSE(pb.empty());
    auto from_pb = ConvertOtlpTraces(pb, OtlpEncoding::kProtobuf, kNowUs);
    auto from_json = ConvertOtlpTraces(js, OtlpEncoding::kJson, kNowUs);
    ASSERT_TRUE(from_pb.ok()) << from_pb.status();
    ASSERT_TRUE(from_json.ok()) << from_json.status();
    EXPECT_TRUE(from_pb->rejections.empty());
    EXPECT_EQ(json::serialize(from_pb->events), json::serialize(from_json->events)) << n;
  }
}

TEST(OtlpProtobuf, CapturedChatSpan) {
  auto c = ConvertOtlpTraces(ReadFile("protobuf/plain_exporter_001.pb"), OtlpEncoding::kProtobuf,
                             kNowUs);
  ASSERT_TRUE(c.ok()) << c.status();
  const json::object* obs = FindEvent(*c, "5ad454b185b720a9-64b2e68d9c10bc7989c73ae28bf2373c-obs");
  ASSERT_NE(obs, nullptr) << json::serialize(c->events);
  EXPECT_EQ(obs->at("type"), "generation-create");
  const json::object& b = Body(obs);
  EXPECT_EQ(b.at("traceId"), "64b2e68d9c10bc7989c73ae28bf2373c");
  EXPECT_EQ(b.at("parentObservationId"), "e677966ac41e9e68");
  EXPECT_EQ(b.at("startTime"), "2026-11-26T23:14:15.134000Z");
  EXPECT_EQ(b.at("endTime"), "2026-11-26T23:14:15.134331Z");
  EXPECT_EQ(b.at("model"), "gpt-4o-mini-2024-07-18");
  EXPECT_EQ(b.at("environment"), "prod");
  EXPECT_EQ(json::serialize(b.at("usageDetails")), R"({"input":12,"output":1})");
  EXPECT_EQ(b.at("costDetails").at("total").to_number<double>(), 0.00012);
  // JS sends 1.0 as intValue 1: a number either way.
  EXPECT_EQ(b.at("modelParameters").at("top_p").to_number<double>(), 1.0);
  // Not the root and no trace attributes: a shallow trace makes the trace exist.
  const json::object* trace =
      FindEvent(*c, "5ad454b185b720a9-64b2e68d9c10bc7989c73ae28bf2373c-trace");
  ASSERT_NE(trace, nullptr);
  EXPECT_EQ(json::serialize(Body(trace)),
            R"({"id":"64b2e68d9c10bc7989c73ae28bf2373c","timestamp":"2026-11-26T23:14:15.134000Z",)"
            R"("environment":"prod"})");
}

void SetString(pb_common::KeyValue* kv, const std::string& key, const std::string& value) {
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

pb_trace::Span* AddSpan(pb_collector::ExportTraceServiceRequest* req) {
  if (req->resource_spans_size() == 0) req->add_resource_spans()->add_scope_spans();
  pb_trace::Span* s = req->mutable_resource_spans(0)->mutable_scope_spans(0)->add_spans();
  s->set_trace_id(
      std::string("\x4b\xf9\x2f\x35\x77\xb3\x4d\xa6\xa3\xce\x92\x9d\x0e\x0e\x47\x36", 16));
  s->set_span_id(std::string("\x00\xf0\x67\xaa\x0b\xa9\x02\xb7", 8));
  s->set_start_time_unix_nano(1748764800000000000ULL);
  s->set_end_time_unix_nano(1748764801000000000ULL);
  s->set_name("span");
  return s;
}

TEST(OtlpProtobuf, ValueKindsAndIds) {
  pb_collector::ExportTraceServiceRequest req;
  pb_trace::Span* s = AddSpan(&req);
  s->set_parent_span_id(std::string(8, '\0'));  // all zeros: no parent
  auto* a = s->add_attributes();
  a->set_key("int");
  a->mutable_value()->set_int_value(9007199254740993LL);  // beyond 2^53: kept exactly
  a = s->add_attributes();
  a->set_key("nan");
  a->mutable_value()->set_double_value(std::numeric_limits<double>::quiet_NaN());
  a = s->add_attributes();
  a->set_key("bytes");
  a->mutable_value()->set_bytes_value(std::string("\x01\x02\x03", 3));
  a = s->add_attributes();
  a->set_key("kv");
  SetString(a->mutable_value()->mutable_kvlist_value()->add_values(), "k", "v");
  a = s->add_attributes();
  a->set_key("arr");
  a->mutable_value()->mutable_array_value()->add_values()->set_bool_value(true);
  a->mutable_value()->mutable_array_value()->add_values()->set_int_value(2);
  a = s->add_attributes();
  a->set_key("unset");
  a->mutable_value();
  s->mutable_status()->set_code(pb_trace::Status::STATUS_CODE_ERROR);
  s->mutable_status()->set_message("failed");

  auto c = ConvertOtlpTraces(req.SerializeAsString(), OtlpEncoding::kProtobuf, kNowUs);
  ASSERT_TRUE(c.ok()) << c.status();
  const json::object* obs = FindEvent(*c, "00f067aa0ba902b7-4bf92f3577b34da6a3ce929d0e0e4736-obs");
  ASSERT_NE(obs, nullptr);
  const json::object& b = Body(obs);
  EXPECT_FALSE(b.contains("parentObservationId"));
  EXPECT_EQ(b.at("level"), "ERROR");
  EXPECT_EQ(b.at("statusMessage"), "failed");
  const json::object& attrs = b.at("metadata").at("attributes").get_object();
  EXPECT_EQ(attrs.at("int"), "9007199254740993");
  EXPECT_EQ(attrs.at("nan"), "NaN");
  EXPECT_EQ(attrs.at("bytes"), R"({"bytesValue":"AQID"})");
  EXPECT_EQ(attrs.at("kv"),
            R"({"kvlistValue":{"values":[{"key":"k","value":{"stringValue":"v"}}]}})");
  EXPECT_EQ(attrs.at("arr"), "[true,2]");
  EXPECT_EQ(attrs.at("unset"), "null");
  // The root span's trace is a full trace.
  EXPECT_NE(FindEvent(*c, "00f067aa0ba902b7-4bf92f3577b34da6a3ce929d0e0e4736-trace"), nullptr);
}

TEST(OtlpProtobuf, BadSpansAreRejectedOthersKept) {
  pb_collector::ExportTraceServiceRequest req;
  AddSpan(&req)->set_name("good");
  AddSpan(&req)->clear_trace_id();
  AddSpan(&req)->set_span_id(std::string(8, '\0'));
  AddSpan(&req)->set_start_time_unix_nano(1748764800ULL);  // seconds, not nanoseconds
  pb_trace::Span* far = AddSpan(&req);
  far->set_start_time_unix_nano(0);
  far->set_end_time_unix_nano(std::numeric_limits<uint64_t>::max());
  auto c = ConvertOtlpTraces(req.SerializeAsString(), OtlpEncoding::kProtobuf, kNowUs);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->accepted_spans, 1);
  ASSERT_EQ(c->rejections.size(), 4u) << ::testing::PrintToString(c->rejections);
  EXPECT_NE(c->rejections[0].find("traceId is absent"), std::string::npos);
  EXPECT_NE(c->rejections[1].find("spanId is all zeros"), std::string::npos);
  EXPECT_NE(c->rejections[2].find("startTimeUnixNano 1748764800 is outside"), std::string::npos);
  EXPECT_NE(c->rejections[3].find("endTimeUnixNano"), std::string::npos);
  EXPECT_EQ(c->events.size(), 2u);  // the good span's trace and observation
}

TEST(OtlpProtobuf, MissingTimestampsAreFilledIn) {
  pb_collector::ExportTraceServiceRequest req;
  pb_trace::Span* s = AddSpan(&req);
  s->set_start_time_unix_nano(0);
  auto c = ConvertOtlpTraces(req.SerializeAsString(), OtlpEncoding::kProtobuf, kNowUs);
  ASSERT_TRUE(c.ok());
  const json::object& b =
      Body(FindEvent(*c, "00f067aa0ba902b7-4bf92f3577b34da6a3ce929d0e0e4736-obs"));
  EXPECT_EQ(b.at("startTime"), "2025-06-01T08:00:01.000000Z");
  EXPECT_EQ(b.at("endTime"), "2025-06-01T08:00:01.000000Z");

  s->set_end_time_unix_nano(0);
  c = ConvertOtlpTraces(req.SerializeAsString(), OtlpEncoding::kProtobuf, kNowUs);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(
      Body(FindEvent(*c, "00f067aa0ba902b7-4bf92f3577b34da6a3ce929d0e0e4736-obs")).at("startTime"),
      "2026-01-01T00:00:00.000000Z");
}

TEST(OtlpProtobuf, GarbageAndTruncatedBodiesAreInvalid) {
  std::string captured = ReadFile("protobuf/plain_exporter_001.pb");
  for (std::string body :
       {std::string("\xff\xff\xff\xff", 4), std::string("{\"resourceSpans\":[]}"),
        captured.substr(0, captured.size() / 2), ReadFile("protobuf/plain_exporter_004.pb.gz")}) {
    auto c = ConvertOtlpTraces(body, OtlpEncoding::kProtobuf, kNowUs);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << body.size();
  }
}

TEST(OtlpProtobuf, EmptyExportIsValid) {
  auto c = ConvertOtlpTraces("", OtlpEncoding::kProtobuf, kNowUs);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->events.empty());
  EXPECT_TRUE(c->rejections.empty());
}

// ------------------------------------------------------------------ JSON

TEST(OtlpJson, UnreadableBodiesAreInvalid) {
  for (const char* body :
       {"", "not json", "[]", "\"x\"", R"({"resourceSpans": 5})", R"({"resourceSpans": [1]})",
        R"({"resourceSpans": [{"scopeSpans": {}}]})",
        R"({"resourceSpans": [{"scopeSpans": [{"spans": 3}]}]})",
        R"({"resourceSpans": [{"scopeSpans": [7]}]})", "{\"resourceSpans\": [\xff]}",
        // Invalid UTF-8 inside a string: refused, never stored.
        "{\"resourceSpans\": [{\"scopeSpans\": [{\"scope\": {\"name\": \"\xce\xce\"}}]}]}"}) {
    auto c = ConvertOtlpTraces(body, OtlpEncoding::kJson, kNowUs);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << body;
  }
}

TEST(OtlpJson, NoSpansIsValid) {
  for (const char* body :
       {"{}", R"({"resourceSpans": []})", R"({"resourceSpans": null})",
        R"({"resourceSpans": [{}]})", R"({"resourceSpans": [{"scopeSpans": [{}]}]})"}) {
    auto c = ConvertOtlpTraces(body, OtlpEncoding::kJson, kNowUs);
    ASSERT_TRUE(c.ok()) << body << ": " << c.status();
    EXPECT_TRUE(c->events.empty());
  }
}

TEST(OtlpJson, SnakeCaseAndLegacyInstrumentationLibraryKeys) {
  const char* body = R"({"resource_spans": [{"instrumentationLibrarySpans": [{
      "instrumentationLibrary": {"name": "old-lib"},
      "spans": [{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
                 "name": "s", "start_time_unix_nano": 1748764800000000000,
                 "attributes": [{"key": "a", "value": {"string_value": "b"}}],
                 "status": {"code": "STATUS_CODE_ERROR"}}]}]}]})";
  auto c = ConvertOtlpTraces(body, OtlpEncoding::kJson, kNowUs);
  ASSERT_TRUE(c.ok()) << c.status();
  const json::object& b =
      Body(FindEvent(*c, "00f067aa0ba902b7-4bf92f3577b34da6a3ce929d0e0e4736-obs"));
  EXPECT_EQ(b.at("level"), "ERROR");
  EXPECT_EQ(b.at("metadata").at("attributes").at("a"), "b");
  EXPECT_EQ(b.at("metadata").at("scope").at("name"), "old-lib");
}

std::string SpanWithNestedArrays(int levels) {
  std::string v = R"({"stringValue": "leaf"})";
  for (int i = 0; i < levels; ++i) v = R"({"arrayValue": {"values": [)" + v + "]}}";
  return R"({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
      "spanId": "00f067aa0ba902b7", "startTimeUnixNano": "1748764800000000000",
      "attributes": [{"key": "deep", "value": )" +
         v + "}]}]}]}]}";
}

TEST(OtlpJson, DeepValuesAreBounded) {
  // Deep but within the parser's depth limit: converted (the deepest levels
  // as JSON text).
  auto c = ConvertOtlpTraces(SpanWithNestedArrays(80), OtlpEncoding::kJson, kNowUs);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->events.size(), 2u);
  // Deeper than any real export: the body is refused.
  c = ConvertOtlpTraces(SpanWithNestedArrays(1000), OtlpEncoding::kJson, kNowUs);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
}

// ------------------------------------------------------------------ the pipeline

TEST(OtlpPipeline, SpansFailingValidationAreRejectedWhole) {
  std::string long_id(900, 'x');
  std::string body = R"({"resourceSpans": [{"scopeSpans": [{"spans": [
      {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": ")" +
                     long_id + R"(", "startTimeUnixNano": "1748764800000000000"},
      {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7",
       "startTimeUnixNano": "1748764800000000000"}]}]}]})";
  auto c = ConvertOtlpTraces(body, OtlpEncoding::kJson, kNowUs);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->events.size(), 4u);
  OtlpDecoded d = DecodeOtlpEvents(*std::move(c), DecodeOptions{});
  EXPECT_EQ(d.accepted_spans, 1);
  EXPECT_EQ(d.rejected_spans, 1);
  ASSERT_EQ(d.events.size(), 2u);
  for (const IngestEvent& e : d.events) {
    EXPECT_EQ(e.event_id.rfind("00f067aa0ba902b7-", 0), 0u) << e.event_id;
  }
  EXPECT_NE(d.error_message.find("1 span(s) rejected"), std::string::npos) << d.error_message;
}

TEST(OtlpPipeline, ConversionIsDeterministic) {
  std::string body = ReadFile("langfuse_js_sdk_v5.input.json");
  auto a = ConvertOtlpTraces(body, OtlpEncoding::kJson, kNowUs);
  auto b = ConvertOtlpTraces(body, OtlpEncoding::kJson, kNowUs + 5);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(json::serialize(a->events), json::serialize(b->events));
}

TEST(OtlpPipeline, DecodedEventsAreNormalized) {
  auto c = ConvertOtlpTraces(ReadFile("trace_events.input.json"), OtlpEncoding::kJson, kNowUs);
  ASSERT_TRUE(c.ok());
  OtlpDecoded d = DecodeOtlpEvents(*std::move(c), DecodeOptions{false, "python", "4.0.0"});
  EXPECT_EQ(d.rejected_spans, 0) << d.error_message;
  bool saw_prod = false;
  for (const IngestEvent& e : d.events) {
    EXPECT_EQ(e.sdk_name, "python");
    if (e.entity_id == "c1c1c1c1c1c1c1c1") {
      EXPECT_EQ(e.kind, EntityKind::kObservation);
      EXPECT_EQ(e.body.at("environment"), "prod");  // "Langfuse-Prod" normalized
      EXPECT_EQ(e.observation_type, "SPAN");
      saw_prod = true;
    }
  }
  EXPECT_TRUE(saw_prod);
}

TEST(OtlpPipeline, DeepMetadataSurvivesTheMergeState) {
  // Metadata is deep-merged, and the merge state nests two levels per level of
  // the value: it must still parse back (it used to exceed the JSON parser's
  // default depth and turn the entity "corrupt").
  std::string deep = "\"leaf\"";
  for (int i = 0; i < 25; ++i) deep = "{\"k" + std::to_string(i) + "\": " + deep + "}";
  json::value escaped = json::string(deep);
  std::string body =
      R"({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
      "spanId": "00f067aa0ba902b7", "startTimeUnixNano": "1748764800000000000",
      "attributes": [{"key": "langfuse.observation.metadata", "value": {"stringValue": )" +
      json::serialize(escaped) + "}}]}]}]}]}";
  auto c = ConvertOtlpTraces(body, OtlpEncoding::kJson, kNowUs);
  ASSERT_TRUE(c.ok()) << c.status();
  OtlpDecoded d = DecodeOtlpEvents(*std::move(c), DecodeOptions{});
  ASSERT_EQ(d.events.size(), 2u) << d.error_message;
  for (const IngestEvent& e : d.events) {
    EntityState state;
    state.Apply(e);
    state.Apply(e);
    auto restored = EntityState::Parse(state.Serialize());
    ASSERT_TRUE(restored.ok()) << restored.status();
    EXPECT_EQ(restored->Serialize(), state.Serialize());
  }
}

}  // namespace
}  // namespace loupe
