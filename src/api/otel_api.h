#pragma once

// OTLP/HTTP trace ingestion: POST /api/public/otel/v1/traces (Langfuse's
// route) and POST /v1/traces (the OTLP default path, for collectors and
// exporters pointed at the bare host), both with project Basic auth.
//
//  - Content-Type containing application/x-protobuf or application/json
//    selects the decoder; anything else is 400 {"error":"Invalid content
//    type"}. gzip and chunked bodies are undone by the HTTP server.
//  - x-langfuse-ingestion-version, when sent, must be an integer <= 4.
//  - An unreadable body is 400 {"error":"Failed to parse OTel Protobuf
//    Trace" | "Failed to parse OTel JSON Trace", "message": why}.
//  - Spans go through the batch API's decoder and the event store (one
//    pipeline); the answer comes after the durable commit. Protobuf requests
//    get an ExportTraceServiceResponse (application/x-protobuf), JSON ones
//    its JSON form ({} when everything was accepted). Rejected spans are
//    reported as OTLP partial success (rejected_spans, error_message) and
//    never cost the valid spans.

#include "api/public_api.h"
#include "api/router.h"

namespace loupe {

void RegisterOtelApi(Router& router, PublicApiDeps deps);

}  // namespace loupe
