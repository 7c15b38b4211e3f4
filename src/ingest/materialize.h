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

TraceRecord MaterializeTrace(const std::string& project_id, const std::string& id,
                             const EntityState& state);

// Recomputes usage/cost into state->derived() and returns the record. Pass a
// null price table to reuse the derived values already in the state (reads).
ObservationRecord MaterializeObservation(const std::string& project_id, const std::string& id,
                                         EntityState* state, const PriceTable* prices);

ScoreRecord MaterializeScore(const std::string& project_id, const std::string& id,
                             const EntityState& state);

}  // namespace loupe
