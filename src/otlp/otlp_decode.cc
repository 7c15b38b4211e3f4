#include "otlp/otlp_decode.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>

#include "common/hash.h"
#include "common/json_parse.h"
#include "google/protobuf/stubs/logging.h"

namespace loupe::otlp {
namespace {

namespace json = boost::json;
namespace pb_common = opentelemetry::proto::common::v1;
namespace pb_trace = opentelemetry::proto::trace::v1;

// ------------------------------------------------------------------ helpers

std::string HexFromBytes(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string Base64Encode(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  if (i < in.size()) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

bool IsHex(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

bool AllZeros(std::string_view id) { return id.find_first_not_of('0') == std::string_view::npos; }

std::string DoubleOrString(double d) {
  if (std::isnan(d)) return "NaN";
  return d > 0 ? "Infinity" : "-Infinity";
}

// Resolves the two edges of a span. Zero means "not sent".
bool ResolveTimes(uint64_t start_ns, uint64_t end_ns, int64_t now_us, int64_t* start_us,
                  int64_t* end_us, std::string* reason) {
  auto check = [&](uint64_t ns, const char* field) {
    if (ns == 0) return true;
    uint64_t us = ns / 1000;
    if (us < static_cast<uint64_t>(kMinTimestampUs) ||
        us >= static_cast<uint64_t>(kMaxTimestampUs)) {
      *reason = std::string(field) + " " + std::to_string(ns) +
                " is outside 1980..2200 (expected nanoseconds since the Unix epoch)";
      return false;
    }
    return true;
  };
  if (!check(start_ns, "startTimeUnixNano") || !check(end_ns, "endTimeUnixNano")) return false;
  if (start_ns == 0 && end_ns == 0) {
    *start_us = *end_us = now_us;
  } else {
    *start_us = static_cast<int64_t>((start_ns ? start_ns : end_ns) / 1000);
    *end_us = static_cast<int64_t>((end_ns ? end_ns : start_ns) / 1000);
  }
  return true;
}

// Validates the ids and times of a span whose fields were read; on success
// moves it into `out`, otherwise records why in `rejected`.
void FinishSpan(Span span, uint64_t start_ns, uint64_t end_ns, int64_t now_us, size_t bytes,
                std::vector<Span>* out, std::vector<RejectedSpan>* rejected) {
  std::string reason;
  if (span.trace_id.empty()) {
    reason = "traceId is absent";
  } else if (AllZeros(span.trace_id)) {
    reason = "traceId is all zeros";
  } else if (span.span_id.empty()) {
    reason = "spanId is absent";
  } else if (AllZeros(span.span_id)) {
    reason = "spanId is all zeros";
  } else if (bytes > kMaxSpanBytes) {
    reason = "span is larger than " + std::to_string(kMaxSpanBytes >> 20) + " MiB";
  } else {
    ResolveTimes(start_ns, end_ns, now_us, &span.start_us, &span.end_us, &reason);
  }
  if (!reason.empty()) {
    rejected->push_back({std::move(span.span_id), std::move(reason)});
    return;
  }
  if (AllZeros(span.parent_span_id)) span.parent_span_id.clear();
  out->push_back(std::move(span));
}

// ------------------------------------------------------------------ protobuf

json::value ProtoValueToOtlpJson(const pb_common::AnyValue& v);

json::value ProtoKeyValuesToOtlpJson(
    const google::protobuf::RepeatedPtrField<pb_common::KeyValue>& kvs) {
  json::array values;
  for (const auto& kv : kvs) {
    json::object o;
    o["key"] = kv.key();
    o["value"] = ProtoValueToOtlpJson(kv.value());
    values.push_back(std::move(o));
  }
  json::object list;
  list["values"] = std::move(values);
  return list;
}

// The canonical OTLP/JSON form of an AnyValue, which is what Langfuse keeps
// (as text) for values it has no plain equivalent for.
json::value ProtoValueToOtlpJson(const pb_common::AnyValue& v) {
  json::object o;
  switch (v.value_case()) {
    case pb_common::AnyValue::kStringValue:
      o["stringValue"] = v.string_value();
      break;
    case pb_common::AnyValue::kBoolValue:
      o["boolValue"] = v.bool_value();
      break;
    case pb_common::AnyValue::kIntValue:
      o["intValue"] = std::to_string(v.int_value());
      break;
    case pb_common::AnyValue::kDoubleValue:
      if (std::isfinite(v.double_value())) {
        o["doubleValue"] = v.double_value();
      } else {
        o["doubleValue"] = DoubleOrString(v.double_value());
      }
      break;
    case pb_common::AnyValue::kArrayValue: {
      json::array values;
      for (const auto& e : v.array_value().values()) values.push_back(ProtoValueToOtlpJson(e));
      json::object a;
      a["values"] = std::move(values);
      o["arrayValue"] = std::move(a);
      break;
    }
    case pb_common::AnyValue::kKvlistValue:
      o["kvlistValue"] = ProtoKeyValuesToOtlpJson(v.kvlist_value().values());
      break;
    case pb_common::AnyValue::kBytesValue:
      o["bytesValue"] = Base64Encode(v.bytes_value());
      break;
    case pb_common::AnyValue::VALUE_NOT_SET:
      break;
  }
  return o;
}

json::value FromProtoValue(const pb_common::AnyValue& v) {
  switch (v.value_case()) {
    case pb_common::AnyValue::kStringValue:
      return json::string(v.string_value());
    case pb_common::AnyValue::kBoolValue:
      return v.bool_value();
    case pb_common::AnyValue::kIntValue:
      return v.int_value();
    case pb_common::AnyValue::kDoubleValue:
      if (std::isfinite(v.double_value())) return v.double_value();
      return json::string(DoubleOrString(v.double_value()));
    case pb_common::AnyValue::kArrayValue: {
      json::array out;
      out.reserve(v.array_value().values_size());
      for (const auto& e : v.array_value().values()) out.push_back(FromProtoValue(e));
      return out;
    }
    case pb_common::AnyValue::kKvlistValue:
    case pb_common::AnyValue::kBytesValue:
      return json::string(json::serialize(ProtoValueToOtlpJson(v)));
    case pb_common::AnyValue::VALUE_NOT_SET:
      break;
  }
  return nullptr;
}

json::object FromProtoAttributes(
    const google::protobuf::RepeatedPtrField<pb_common::KeyValue>& kvs) {
  json::object out;
  out.reserve(kvs.size());
  for (const auto& kv : kvs) out[kv.key()] = FromProtoValue(kv.value());
  return out;
}

// ------------------------------------------------------------------ JSON

const json::value* Field(const json::object& o, std::string_view camel, std::string_view snake) {
  if (const json::value* v = o.if_contains(camel)) return v;
  if (!snake.empty()) return o.if_contains(snake);
  return nullptr;
}

std::string StringOf(const json::value* v) {
  if (v == nullptr) return "";
  if (const json::string* s = v->if_string()) return std::string(*s);
  if (v->is_null()) return "";
  return json::serialize(*v);
}

std::optional<int64_t> ParseInt64(std::string_view s) {
  int64_t out = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return out;
}

std::optional<double> ParseDouble(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return d;
}

// {low, high} as protobufjs renders a Long.
std::optional<uint64_t> FromLong(const json::object& o) {
  const json::value* low = o.if_contains("low");
  const json::value* high = o.if_contains("high");
  if (low == nullptr || high == nullptr || !low->is_number() || !high->is_number()) {
    return std::nullopt;
  }
  auto as_u32 = [](const json::value& v) -> uint32_t {
    if (const int64_t* i = v.if_int64()) return static_cast<uint32_t>(*i);
    if (const uint64_t* u = v.if_uint64()) return static_cast<uint32_t>(*u);
    double d = v.as_double();
    if (!std::isfinite(d) || d < -2147483648.0 || d > 4294967295.0) return 0;
    return static_cast<uint32_t>(static_cast<int64_t>(d));
  };
  return (static_cast<uint64_t>(as_u32(*high)) << 32) | as_u32(*low);
}

json::value FromJsonValue(const json::value& v, size_t* bytes, int depth);

json::value FromJsonArray(const json::value& v, size_t* bytes, int depth) {
  json::array out;
  const json::object* o = v.if_object();
  const json::value* values = o ? o->if_contains("values") : nullptr;
  if (values == nullptr) values = &v;  // tolerate a bare array
  if (const json::array* a = values->if_array()) {
    out.reserve(a->size());
    for (const json::value& e : *a) out.push_back(FromJsonValue(e, bytes, depth + 1));
  }
  return out;
}

json::value FromJsonValue(const json::value& v, size_t* bytes, int depth) {
  *bytes += 16;
  const json::object* o = v.if_object();
  if (o == nullptr) {
    // Not an AnyValue; some hand-written exporters send plain values.
    if (const json::string* s = v.if_string()) *bytes += s->size();
    return v;
  }
  if (o->empty()) return nullptr;
  if (const json::value* s = Field(*o, "stringValue", "string_value"); s && !s->is_null()) {
    if (const json::string* str = s->if_string()) *bytes += str->size();
    return *s;
  }
  if (const json::value* d = Field(*o, "doubleValue", "double_value"); d && !d->is_null()) {
    if (const json::string* str = d->if_string()) {
      std::optional<double> parsed = ParseDouble(std::string(*str));
      if (parsed && std::isfinite(*parsed)) return *parsed;
    }
    return *d;
  }
  if (const json::value* b = Field(*o, "boolValue", "bool_value"); b && !b->is_null()) {
    if (const json::string* str = b->if_string()) {
      if (*str == "true") return true;
      if (*str == "false") return false;
    }
    return *b;
  }
  if (const json::value* a = Field(*o, "arrayValue", "array_value"); a && !a->is_null()) {
    if (depth < 64) return FromJsonArray(*a, bytes, depth);
  }
  if (const json::value* i = Field(*o, "intValue", "int_value"); i && !i->is_null()) {
    if (i->is_number()) return *i;
    if (const json::string* str = i->if_string()) {
      if (std::optional<int64_t> n = ParseInt64(*str)) return *n;
      return *i;
    }
    if (const json::object* lo = i->if_object()) {
      if (std::optional<uint64_t> n = FromLong(*lo)) return static_cast<int64_t>(*n);
    }
  }
  std::string text = json::serialize(v);
  *bytes += text.size();
  return json::string(text);
}

// Reads `[{key, value}]`; returns false when it is not an array.
bool FromJsonAttributes(const json::value* list, json::object* out, size_t* bytes) {
  if (list == nullptr || list->is_null()) return true;
  const json::array* a = list->if_array();
  if (a == nullptr) return false;
  out->reserve(a->size());
  for (const json::value& e : *a) {
    const json::object* kv = e.if_object();
    if (kv == nullptr) continue;
    const json::value* key = kv->if_contains("key");
    if (key == nullptr || !key->is_string()) continue;
    *bytes += key->as_string().size();
    const json::value* value = kv->if_contains("value");
    (*out)[key->as_string()] = value ? FromJsonValue(*value, bytes, 0) : json::value(nullptr);
  }
  return true;
}

// A trace/span id: hex string, base64 string of 8 or 16 bytes, or a byte
// array (plain or as Node renders a Buffer). Empty when absent or unusable.
std::string JsonId(const json::value* v) {
  if (v == nullptr) return "";
  if (const json::string* s = v->if_string()) {
    std::string_view sv(s->data(), s->size());
    if (IsHex(sv) && sv.size() % 2 == 0) {
      std::string out(sv);
      for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return out;
    }
    std::string raw;
    if ((sv.size() == 12 || sv.size() == 24) && Base64Decode(sv, &raw) &&
        (raw.size() == 8 || raw.size() == 16)) {
      return HexFromBytes(raw);
    }
    return std::string(sv);
  }
  const json::array* bytes = v->if_array();
  if (const json::object* o = v->if_object()) {
    if (const json::value* data = o->if_contains("data")) bytes = data->if_array();
  }
  if (bytes == nullptr) return "";
  std::string raw;
  for (const json::value& b : *bytes) {
    const int64_t* i = b.if_int64();
    if (i == nullptr || *i < 0 || *i > 255) return "";
    raw.push_back(static_cast<char>(*i));
  }
  return HexFromBytes(raw);
}

// Nanoseconds; 0 when absent. False when present but not a non-negative integer.
bool JsonNanos(const json::value* v, uint64_t* out) {
  *out = 0;
  if (v == nullptr || v->is_null()) return true;
  if (const json::string* s = v->if_string()) {
    if (s->empty()) return true;
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
    if (ec != std::errc() || p != s->data() + s->size()) return false;
    *out = n;
    return true;
  }
  if (const int64_t* i = v->if_int64()) {
    if (*i < 0) return false;
    *out = static_cast<uint64_t>(*i);
    return true;
  }
  if (const uint64_t* u = v->if_uint64()) {
    *out = *u;
    return true;
  }
  if (const double* d = v->if_double()) {
    if (!std::isfinite(*d) || *d < 0 || *d >= 1.8e19) return false;
    *out = static_cast<uint64_t>(*d);
    return true;
  }
  if (const json::object* o = v->if_object()) {
    if (std::optional<uint64_t> n = FromLong(*o)) {
      *out = *n;
      return true;
    }
  }
  return false;
}

int JsonStatusCode(const json::value* v) {
  if (v == nullptr) return 0;
  if (const int64_t* i = v->if_int64()) return static_cast<int>(*i);
  if (const uint64_t* u = v->if_uint64()) return *u > 2 ? 0 : static_cast<int>(*u);
  if (const json::string* s = v->if_string()) {
    if (*s == "STATUS_CODE_OK") return 1;
    if (*s == "STATUS_CODE_ERROR") return 2;
  }
  return 0;
}

void ReadJsonSpan(const json::value& value, int64_t now_us, std::vector<Span>* out,
                  std::vector<RejectedSpan>* rejected) {
  const json::object* o = value.if_object();
  if (o == nullptr) {
    rejected->push_back({"", "span is not a JSON object"});
    return;
  }
  Span span;
  size_t bytes = 0;
  span.trace_id = JsonId(Field(*o, "traceId", "trace_id"));
  span.span_id = JsonId(Field(*o, "spanId", "span_id"));
  span.parent_span_id = JsonId(Field(*o, "parentSpanId", "parent_span_id"));
  span.name = StringOf(o->if_contains("name"));
  uint64_t start_ns = 0, end_ns = 0;
  std::string problem;
  if (!JsonNanos(Field(*o, "startTimeUnixNano", "start_time_unix_nano"), &start_ns)) {
    problem = "startTimeUnixNano is not an integer";
  } else if (!JsonNanos(Field(*o, "endTimeUnixNano", "end_time_unix_nano"), &end_ns)) {
    problem = "endTimeUnixNano is not an integer";
  } else if (!FromJsonAttributes(o->if_contains("attributes"), &span.attributes, &bytes)) {
    problem = "attributes is not an array";
  }
  if (problem.empty()) {
    if (const json::value* events = o->if_contains("events"); events && !events->is_null()) {
      const json::array* list = events->if_array();
      if (list == nullptr) {
        problem = "events is not an array";
      } else {
        for (const json::value& e : *list) {
          const json::object* eo = e.if_object();
          if (eo == nullptr) continue;
          SpanEvent event;
          event.name = StringOf(eo->if_contains("name"));
          uint64_t t = 0;
          if (JsonNanos(Field(*eo, "timeUnixNano", "time_unix_nano"), &t)) {
            event.time_unix_nano = static_cast<int64_t>(t);
          }
          FromJsonAttributes(eo->if_contains("attributes"), &event.attributes, &bytes);
          span.events.push_back(std::move(event));
        }
      }
    }
  }
  if (!problem.empty()) {
    rejected->push_back({std::move(span.span_id), std::move(problem)});
    return;
  }
  if (const json::value* status = o->if_contains("status")) {
    if (const json::object* so = status->if_object()) {
      span.status_code = JsonStatusCode(so->if_contains("code"));
      span.status_message = StringOf(so->if_contains("message"));
    }
  }
  FinishSpan(std::move(span), start_ns, end_ns, now_us, bytes, out, rejected);
}

absl::Status ReadJsonScopeSpans(const json::value& value, int64_t now_us,
                                std::vector<ScopeSpans>* out, std::vector<RejectedSpan>* rejected) {
  const json::object* o = value.if_object();
  if (o == nullptr) return absl::InvalidArgumentError("scopeSpans: expected objects");
  ScopeSpans ss;
  const json::value* scope = Field(*o, "scope", "");
  if (scope == nullptr) scope = Field(*o, "instrumentationLibrary", "instrumentation_library");
  if (scope != nullptr) {
    if (const json::object* so = scope->if_object()) {
      ss.scope.name = StringOf(so->if_contains("name"));
      ss.scope.version = StringOf(so->if_contains("version"));
      size_t ignored = 0;
      FromJsonAttributes(so->if_contains("attributes"), &ss.scope.attributes, &ignored);
    }
  }
  if (const json::value* spans = o->if_contains("spans"); spans && !spans->is_null()) {
    const json::array* list = spans->if_array();
    if (list == nullptr) return absl::InvalidArgumentError("spans: expected an array");
    ss.spans.reserve(list->size());
    for (const json::value& s : *list) ReadJsonSpan(s, now_us, &ss.spans, rejected);
  }
  out->push_back(std::move(ss));
  return absl::OkStatus();
}

// Protobuf logs every invalid UTF-8 string it refuses to parse to stderr. A
// client could flood the log that way, and the failure is already answered
// with a 400, so those messages are dropped.
void QuietProtobufParseErrors() {
  static std::once_flag once;
  std::call_once(once, [] { google::protobuf::SetLogHandler(nullptr); });
}

}  // namespace

// ------------------------------------------------------------------ public

ExportRequest FromProto(const ExportTraceServiceRequest& request, int64_t now_us) {
  QuietProtobufParseErrors();
  ExportRequest out;
  out.resource_spans.reserve(request.resource_spans_size());
  for (const pb_trace::ResourceSpans& rs : request.resource_spans()) {
    ResourceSpans r;
    r.resource_attributes = FromProtoAttributes(rs.resource().attributes());
    r.scope_spans.reserve(rs.scope_spans_size());
    for (const pb_trace::ScopeSpans& pss : rs.scope_spans()) {
      ScopeSpans ss;
      ss.scope.name = pss.scope().name();
      ss.scope.version = pss.scope().version();
      ss.scope.attributes = FromProtoAttributes(pss.scope().attributes());
      ss.spans.reserve(pss.spans_size());
      for (const pb_trace::Span& ps : pss.spans()) {
        Span span;
        span.trace_id = HexFromBytes(ps.trace_id());
        span.span_id = HexFromBytes(ps.span_id());
        span.parent_span_id = HexFromBytes(ps.parent_span_id());
        span.name = ps.name();
        span.attributes = FromProtoAttributes(ps.attributes());
        span.events.reserve(ps.events_size());
        for (const pb_trace::Span::Event& pe : ps.events()) {
          SpanEvent e;
          e.name = pe.name();
          e.time_unix_nano = static_cast<int64_t>(pe.time_unix_nano());
          e.attributes = FromProtoAttributes(pe.attributes());
          span.events.push_back(std::move(e));
        }
        span.status_code = ps.status().code();
        span.status_message = ps.status().message();
        FinishSpan(std::move(span), ps.start_time_unix_nano(), ps.end_time_unix_nano(), now_us,
                   ps.ByteSizeLong(), &ss.spans, &out.rejected);
      }
      r.scope_spans.push_back(std::move(ss));
    }
    out.resource_spans.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<ExportRequest> DecodeProtobuf(std::string_view bytes, int64_t now_us) {
  QuietProtobufParseErrors();
  ExportTraceServiceRequest request;
  if (bytes.size() > static_cast<size_t>(INT32_MAX) ||
      !request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError("body is not a valid ExportTraceServiceRequest");
  }
  return FromProto(request, now_us);
}

absl::StatusOr<ExportRequest> DecodeJson(std::string_view text, int64_t now_us) {
  boost::system::error_code ec;
  json::value root = ParseJson(text, ec);
  if (ec) return absl::InvalidArgumentError("body is not valid JSON: " + JsonErrorMessage(ec));
  const json::object* o = root.if_object();
  if (o == nullptr) return absl::InvalidArgumentError("body must be a JSON object");
  ExportRequest out;
  const json::value* rs_value = Field(*o, "resourceSpans", "resource_spans");
  if (rs_value == nullptr || rs_value->is_null()) return out;
  const json::array* rs_list = rs_value->if_array();
  if (rs_list == nullptr) return absl::InvalidArgumentError("resourceSpans: expected an array");
  out.resource_spans.reserve(rs_list->size());
  for (const json::value& rs : *rs_list) {
    const json::object* rso = rs.if_object();
    if (rso == nullptr) return absl::InvalidArgumentError("resourceSpans: expected objects");
    ResourceSpans r;
    if (const json::value* res = rso->if_contains("resource")) {
      if (const json::object* reso = res->if_object()) {
        size_t ignored = 0;
        FromJsonAttributes(reso->if_contains("attributes"), &r.resource_attributes, &ignored);
      }
    }
    const json::value* ss_value = Field(*rso, "scopeSpans", "scope_spans");
    if (ss_value == nullptr) {
      ss_value = Field(*rso, "instrumentationLibrarySpans", "instrumentation_library_spans");
    }
    if (ss_value != nullptr && !ss_value->is_null()) {
      const json::array* ss_list = ss_value->if_array();
      if (ss_list == nullptr) return absl::InvalidArgumentError("scopeSpans: expected an array");
      for (const json::value& ss : *ss_list) {
        absl::Status s = ReadJsonScopeSpans(ss, now_us, &r.scope_spans, &out.rejected);
        if (!s.ok()) return s;
      }
    }
    out.resource_spans.push_back(std::move(r));
  }
  return out;
}

}  // namespace loupe::otlp
