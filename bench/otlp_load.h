#pragma once

// OTLP/HTTP protobuf load: POST /api/public/otel/v1/traces with
// ExportTraceServiceRequests of 512 spans (the batch size of the
// OpenTelemetry BatchSpanProcessor the Langfuse SDKs use) over N keep-alive
// connections, until the requested number of spans is acknowledged.

#include <boost/json/object.hpp>

#include "flags.h"

namespace loupe::bench {

// Flags: --host --port --public-key --secret-key --connections (8) --spans
// (total, 1000000) --spans-per-request (512) --server-pid --seed.
// Returns the result object (written to --json by the caller).
boost::json::object RunOtlpLoad(const Flags& flags);

}  // namespace loupe::bench
