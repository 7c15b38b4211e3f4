#pragma once

// Decodes and validates a POST /api/public/ingestion body. Each event is
// validated on its own: a bad event becomes an entry in `errors` and never
// prevents the good events of the same batch from being stored.
//
// Thread-compatible, no I/O: safe to call from any request thread.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ingest/event.h"

namespace loupe {

struct EventError {
  std::string id;  // envelope id, or "unknown"
  int status = 400;
  std::string message;
  std::string error;
};

struct DecodedBatch {
  // Valid events to store, in batch order.
  std::vector<IngestEvent> events;
  // Envelope ids answered 201 (stored events plus those accepted without an
  // entity id, which Langfuse acknowledges but does not store).
  std::vector<std::string> successes;
  std::vector<EventError> errors;
};

struct DecodeOptions {
  // Bearer (public key only) auth: only score-create events are allowed.
  bool scores_only = false;
  std::string sdk_name;
  std::string sdk_version;
};

// Fails with InvalidArgument only when the envelope itself is unusable
// (not JSON, not an object, no `batch` array, nested deeper than
// kMaxStoredJsonDepth); per-event problems are reported in
// DecodedBatch::errors. An event nested deeper than kMaxJsonDepth (counting
// from the event object) is one such per-event error: it is neither stored
// nor does it fail the rest of its batch.
absl::StatusOr<DecodedBatch> DecodeIngestionBatch(std::string_view body,
                                                  const DecodeOptions& options);

// Validates and normalizes one event envelope ({id, type, timestamp, body}).
// On success appends to batch->events (or only to successes for events that
// are acknowledged but not stored); on failure appends to batch->errors.
// Used by the batch API and by the legacy single-entity routes.
void DecodeEvent(const boost::json::value& envelope, const DecodeOptions& options,
                 DecodedBatch* batch);
// Same, taking the body out of `envelope` instead of copying it.
void DecodeEvent(boost::json::value&& envelope, const DecodeOptions& options, DecodedBatch* batch);

// Langfuse's environment rule: lowercase, strip a leading "langfuse" prefix
// ("langfuse", "langfuse-", "langfuse_"), at most 40 chars, [a-z0-9-_]+,
// anything else (or empty/missing) becomes "default".
std::string NormalizeEnvironment(std::string_view raw);

}  // namespace loupe
