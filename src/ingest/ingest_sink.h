#pragma once

// IngestSink: where validated events go once a request has been decoded. In
// the embedded mode straight into the EventStore; in the scale-out mode onto
// the durable queue that workers drain into the EventStore. Every ingestion
// route (batch, legacy single-entity, OTLP over HTTP and gRPC) hands its
// events to the one sink the server made, so all share one write path.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ingest/event.h"

namespace loupe {

class IngestSink {
 public:
  virtual ~IngestSink() = default;

  // Takes the events of one project. Returns OK only once they are durable:
  // the caller acknowledges the request after that, and a crash then must
  // not lose them. kUnavailable when the storage behind the sink cannot be
  // reached (answered 503, which SDKs retry).
  virtual absl::Status Accept(const std::string& project_id, std::vector<IngestEvent> events) = 0;

  // True when accepted events are readable as soon as Accept returns (the
  // embedded mode); false when a worker stores them shortly after.
  virtual bool visible_on_accept() const = 0;
};

}  // namespace loupe
