#pragma once

// Readers of an OTLP trace export (ExportTraceServiceRequest) in protobuf and
// in OTLP/JSON, producing the shared model of otlp_model.h.
//
// Per span, the readers check what the mapping relies on and reject the span
// (not the export) when it fails:
//  - trace and span id present and not all zeros. Protobuf ids are bytes and
//    become lowercase hex; JSON ids are hex strings (lowercased), or, from
//    exporters that used the generic protobuf JSON mapping, base64 of 8/16
//    bytes (converted to hex); other non-empty strings are kept as sent, as
//    Langfuse does;
//  - timestamps: a missing edge is taken from the other one, both missing is
//    "now" (as in Langfuse); a timestamp outside 1980..2200 is rejected,
//    since it is almost always milliseconds or seconds sent as nanoseconds;
//  - a span whose attributes and events exceed kMaxSpanBytes is rejected.
// Structural defects above the span level (resourceSpans, scopeSpans or spans
// not being arrays, a body that is not JSON or not protobuf) fail the whole
// export with InvalidArgument. Nothing here throws.

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "otlp/otlp_model.h"

namespace loupe::otlp {

// Large enough for any real prompt or completion, small enough that one span
// cannot take the server's memory.
inline constexpr size_t kMaxSpanBytes = 16 * 1024 * 1024;

// [1980-01-01, 2200-01-01) in microseconds since the epoch.
inline constexpr int64_t kMinTimestampUs = int64_t{315532800} * 1000000;
inline constexpr int64_t kMaxTimestampUs = int64_t{7258118400} * 1000000;

using ExportTraceServiceRequest =
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

// `now_us` is used for spans that carry no timestamp at all.
absl::StatusOr<ExportRequest> DecodeProtobuf(std::string_view bytes, int64_t now_us);
ExportRequest FromProto(const ExportTraceServiceRequest& request, int64_t now_us);
absl::StatusOr<ExportRequest> DecodeJson(std::string_view text, int64_t now_us);

}  // namespace loupe::otlp
