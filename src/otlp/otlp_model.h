#pragma once

// The decoded form of an OTLP trace export, shared by the protobuf and the
// OTLP/JSON readers so that the Langfuse mapping (otlp_mapping.cc) exists
// once. Attribute values are already plain JSON values, decoded the way the
// Langfuse server decodes OTLP AnyValues:
//   string → string, bool → bool, int → integer (exact int64), double →
//   number (NaN/Infinity stay strings), array → array (recursive),
//   kvlist and bytes → the OTLP/JSON text of the AnyValue, unset → null.
// Attribute maps keep the order of the wire; a repeated key keeps its last
// value.

#include <cstdint>
#include <string>
#include <vector>

#include "boost/json.hpp"

namespace loupe::otlp {

struct SpanEvent {
  std::string name;
  int64_t time_unix_nano = 0;
  boost::json::object attributes;
};

struct Span {
  std::string trace_id;        // lowercase hex
  std::string span_id;         // lowercase hex
  std::string parent_span_id;  // lowercase hex, empty for a root span
  std::string name;
  int64_t start_us = 0;  // resolved, in range (see otlp_decode.h)
  int64_t end_us = 0;
  boost::json::object attributes;
  std::vector<SpanEvent> events;
  int status_code = 0;  // 0 unset, 1 ok, 2 error
  std::string status_message;
};

struct Scope {
  std::string name;
  std::string version;
  boost::json::object attributes;
};

struct ScopeSpans {
  Scope scope;
  std::vector<Span> spans;
};

struct ResourceSpans {
  boost::json::object resource_attributes;
  std::vector<ScopeSpans> scope_spans;
};

// A span the readers could not use, with the reason (shown to the client in
// the OTLP partial-success message).
struct RejectedSpan {
  std::string span_id;  // as far as it could be read; may be empty
  std::string reason;
};

struct ExportRequest {
  std::vector<ResourceSpans> resource_spans;
  std::vector<RejectedSpan> rejected;
};

}  // namespace loupe::otlp
