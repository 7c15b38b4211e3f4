#include "otlp/otlp_converter.h"

#include "otlp/otlp_decode.h"
#include "otlp/otlp_mapping.h"

namespace loupe {
namespace {

namespace json = boost::json;

// The partial-success message names this many rejected spans at most.
constexpr size_t kMaxReasonsInMessage = 5;

OtlpConversion FromExport(const otlp::ExportRequest& request) {
  otlp::MappedExport mapped = otlp::MapExport(request);
  OtlpConversion out;
  out.events = std::move(mapped.events);
  out.event_span = std::move(mapped.event_span);
  out.span_ids = std::move(mapped.span_ids);
  out.accepted_spans = static_cast<int64_t>(out.span_ids.size());
  for (const otlp::RejectedSpan& r : request.rejected) {
    out.rejections.push_back((r.span_id.empty() ? std::string("span") : "span " + r.span_id) +
                             ": " + r.reason);
  }
  return out;
}

}  // namespace

absl::StatusOr<OtlpConversion> ConvertOtlpTraces(std::string_view body, OtlpEncoding encoding,
                                                 int64_t now_us) {
  absl::StatusOr<otlp::ExportRequest> request = encoding == OtlpEncoding::kProtobuf
                                                    ? otlp::DecodeProtobuf(body, now_us)
                                                    : otlp::DecodeJson(body, now_us);
  if (!request.ok()) return request.status();
  return FromExport(*request);
}

OtlpConversion ConvertOtlpTraces(
    const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& request,
    int64_t now_us) {
  return FromExport(otlp::FromProto(request, now_us));
}

OtlpDecoded DecodeOtlpEvents(OtlpConversion conversion, const DecodeOptions& options) {
  DecodedBatch batch;
  batch.events.reserve(conversion.events.size());
  std::vector<size_t> span_of_decoded;  // parallel to batch.events
  std::vector<bool> span_rejected(conversion.span_ids.size(), false);
  std::vector<std::string> rejections = std::move(conversion.rejections);
  int64_t validation_rejected = 0;
  for (size_t i = 0; i < conversion.events.size(); ++i) {
    size_t span = conversion.event_span[i];
    size_t events_before = batch.events.size();
    size_t errors_before = batch.errors.size();
    DecodeEvent(std::move(conversion.events[i]), options, &batch);
    if (batch.events.size() > events_before) span_of_decoded.push_back(span);
    if (batch.errors.size() > errors_before && !span_rejected[span]) {
      span_rejected[span] = true;
      ++validation_rejected;
      const EventError& e = batch.errors.back();
      rejections.push_back("span " + conversion.span_ids[span] + ": " + e.message +
                           (e.error.empty() ? "" : ": " + e.error));
    }
  }
  OtlpDecoded out;
  out.events.reserve(batch.events.size());
  for (size_t k = 0; k < batch.events.size(); ++k) {
    if (!span_rejected[span_of_decoded[k]]) out.events.push_back(std::move(batch.events[k]));
  }
  out.accepted_spans = conversion.accepted_spans - validation_rejected;
  out.rejected_spans = static_cast<int64_t>(rejections.size());
  if (!rejections.empty()) {
    std::string msg = std::to_string(rejections.size()) + " span(s) rejected: ";
    for (size_t i = 0; i < rejections.size() && i < kMaxReasonsInMessage; ++i) {
      if (i > 0) msg += "; ";
      msg += rejections[i];
    }
    if (rejections.size() > kMaxReasonsInMessage) msg += "; ...";
    out.error_message = std::move(msg);
  }
  return out;
}

}  // namespace loupe
