#pragma once

// OTLP trace exports → batch-API envelope events (the one ingestion pipeline).
//
// Contract:
//  - Input: an ExportTraceServiceRequest as protobuf bytes, as OTLP/JSON text,
//    or already parsed (gRPC).
//  - Output: envelope events ({id, type, timestamp, body}) for
//    loupe::DecodeEvent, following Langfuse's OTel mapping (see
//    otlp_mapping.h), plus the spans that were rejected and why. Rejecting a
//    span never costs the other spans of the export.
//  - A body that is not a readable export (not protobuf / not JSON, or
//    resourceSpans/scopeSpans/spans of the wrong shape) is InvalidArgument.
//  - Deterministic: the same export gives the same events (ids included),
//    which makes re-sent exports idempotent in the store.
//  - Never throws; thread-compatible, no I/O.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/json.hpp"
#include "ingest/batch_decoder.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace loupe {

enum class OtlpEncoding { kProtobuf, kJson };

struct OtlpConversion {
  // Envelope events, trace-create and <type>-create.
  boost::json::array events;
  // Spans read (valid ones), and those rejected with "<spanId>: <reason>".
  int64_t accepted_spans = 0;
  std::vector<std::string> rejections;
  // Internal bookkeeping for DecodeOtlpEvents: span index of each event.
  std::vector<size_t> event_span;
  std::vector<std::string> span_ids;
};

absl::StatusOr<OtlpConversion> ConvertOtlpTraces(std::string_view body, OtlpEncoding encoding,
                                                 int64_t now_us);
OtlpConversion ConvertOtlpTraces(
    const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request,
    int64_t now_us);

// The converted events after DecodeEvent's validation. A span any of whose
// events fails validation is rejected as a whole (none of its events kept).
struct OtlpDecoded {
  std::vector<IngestEvent> events;
  int64_t accepted_spans = 0;
  int64_t rejected_spans = 0;
  // Empty when nothing was rejected; otherwise a summary naming the first
  // rejected spans, for ExportTraceServiceResponse.partial_success.
  std::string error_message;
};

OtlpDecoded DecodeOtlpEvents(OtlpConversion conversion, const DecodeOptions& options);

}  // namespace loupe
