#pragma once

// An ingestion event after decoding and validation: the unit the write path
// merges into traces, observations and scores. Both the batch API and (later)
// OTLP produce these, so everything after decoding is one pipeline.

#include <cstdint>
#include <string>
#include <vector>

#include "boost/json.hpp"

namespace loupe {

enum class EntityKind { kTrace = 0, kObservation = 1, kScore = 2 };

struct IngestEvent {
  std::string event_id;  // envelope id (idempotency and ordering tiebreak)
  EntityKind kind = EntityKind::kTrace;
  // *-update events sort after creates with the same timestamp and carry
  // weaker defaults (e.g. they never decide an observation's type).
  bool is_update = false;
  int64_t timestamp_us = 0;  // envelope timestamp
  std::string entity_id;     // body.id
  // For observations: SPAN, GENERATION, ... as implied by the event type.
  std::string observation_type;
  // The validated, normalized body (environment normalized, usage normalized
  // into "_usage"/"_cost" objects, timestamps kept as given).
  boost::json::object body;
  // API key attribution for scores.
  std::string sdk_name;
  std::string sdk_version;
};

}  // namespace loupe
