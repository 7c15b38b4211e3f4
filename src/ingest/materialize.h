#pragma once

// Turns merged EntityStates into the records the stores index and the API
// returns. Observation materialization also prices the observation (cost at
// ingest) and records the result in the state's derived values, so a read
// never needs the price table.

#include <string>

#include "cost/price_table.h"
#include "ingest/entity_state.h"
#include "model/records.h"

namespace loupe {

// Which parts of a record to build: the write path needs only the narrow
// columns, so it skips copying input, output and metadata.
enum class Payloads { kInclude, kSkip };

TraceRecord MaterializeTrace(const std::string& project_id, const std::string& id,
                             const EntityState& state, Payloads payloads = Payloads::kInclude);

// Recomputes usage/cost into state->derived() and returns the record. Pass a
// null price table to reuse the derived values already in the state (reads).
ObservationRecord MaterializeObservation(const std::string& project_id, const std::string& id,
                                         EntityState* state, const PriceTable* prices,
                                         Payloads payloads = Payloads::kInclude);

ScoreRecord MaterializeScore(const std::string& project_id, const std::string& id,
                             const EntityState& state);

}  // namespace loupe
