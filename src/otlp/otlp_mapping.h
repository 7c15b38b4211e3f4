#pragma once

// The Langfuse mapping of OTLP spans (client-wire-formats.md §5): each span
// becomes one observation event ("<type>-create") and, where the span says
// something about its trace, one trace-create event, as batch-API envelopes
// ({id, type, timestamp, body}) for loupe::DecodeEvent.
//
// Per span:
//  - observation: id = spanId, traceId, parentObservationId = parentSpanId,
//    type by the inference order of §5.4, name, times, level/statusMessage,
//    model, modelParameters, usageDetails, costDetails, completionStartTime,
//    prompt link (GENERATION only), input/output (§5.5), environment,
//    version, metadata {langfuse metadata keys..., attributes (leftover span
//    attributes as strings, not for the langfuse-sdk scope),
//    resourceAttributes, scope {name, version, attributes}}.
//  - a root span (no parent, or langfuse.internal.as_root) gives the full
//    trace: name, userId, sessionId, tags, public, release, version,
//    environment, metadata, input/output (langfuse.trace.input/output, else
//    the span's own input/output).
//  - a non-root span carrying trace attributes gives a partial trace with
//    only what it carries; input/output only from langfuse.trace.*.
//  - otherwise a "shallow" trace {id, timestamp, environment} so the trace
//    exists; at most one per trace per export, and none when the export has
//    another trace event for that trace.
// Absent values are left out of the bodies rather than sent as null, so the
// field-level merge keeps what other spans of the trace said.
//
// Where Langfuse's first-matching input/output rule finds only one side, the
// other side is taken from the next rule that has it (Langfuse would leave it
// empty); the Vercel AI SDK rule, which knows both sides, is final.
//
// Envelope ids are "<spanId>-<traceId>-obs" / "-trace", and envelope
// timestamps are the span start, so a re-sent export merges to the same
// result. Date-times are ISO-8601 UTC with microseconds.

#include <cstddef>
#include <string>
#include <vector>

#include "boost/json.hpp"
#include "otlp/otlp_model.h"

namespace loupe::otlp {

struct MappedExport {
  boost::json::array events;
  // For each event, the index of its span in `span_ids`.
  std::vector<size_t> event_span;
  // Span ids in export order.
  std::vector<std::string> span_ids;
};

MappedExport MapExport(const ExportRequest& request);

// "YYYY-MM-DDTHH:MM:SS.ffffffZ"
std::string FormatIsoMicros(int64_t micros);

}  // namespace loupe::otlp
