#pragma once

// The wire form of validated ingestion events between the process that
// accepts them and the one that stores them (scale-out mode: the web process
// writes a batch of events to the object store, a worker reads it back).
// Events are encoded after validation and normalization, so a worker applies
// exactly what the web process acknowledged, without the request or the price
// table of the moment it arrived.
//
// Format: a JSON object {"v": 1, "project": "...", "events": [...]}, one
// object per event with its envelope fields and normalized body.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ingest/event.h"

namespace loupe {

struct EncodedBatch {
  std::string project_id;
  std::vector<IngestEvent> events;
};

std::string EncodeEventBatch(const std::string& project_id, const std::vector<IngestEvent>& events);
// The events of several batches of one project, in order, as one.
std::string EncodeEventBatch(const std::string& project_id,
                             const std::vector<const std::vector<IngestEvent>*>& parts);

// Fails with kDataLoss on anything EncodeEventBatch would not have written
// (another format version, missing or mistyped fields).
absl::StatusOr<EncodedBatch> DecodeEventBatch(std::string_view encoded);

}  // namespace loupe
