// libFuzzer target for the ingestion decoder and the merge that follows it:
// arbitrary bytes as a POST /api/public/ingestion body must never crash, hang
// or trip a sanitizer, whatever they decode to.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cost/price_table.h"
#include "ingest/batch_decoder.h"
#include "ingest/entity_state.h"
#include "ingest/materialize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* prices = loupe::PriceTable::FromEmbeddedDefaults()->release();
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (bool scores_only : {false, true}) {
    loupe::DecodeOptions options;
    options.scores_only = scores_only;
    auto batch = loupe::DecodeIngestionBatch(body, options);
    if (!batch.ok()) continue;
    loupe::EntityState trace, observation, score;
    for (const auto& event : batch->events) {
      switch (event.kind) {
        case loupe::EntityKind::kTrace:
          trace.Apply(event);
          break;
        case loupe::EntityKind::kObservation:
          observation.Apply(event);
          break;
        case loupe::EntityKind::kScore:
          score.Apply(event);
          break;
      }
    }
    // Serialization must round-trip, as the store relies on it.
    for (auto* state : {&trace, &observation, &score}) {
      auto restored = loupe::EntityState::Parse(state->Serialize());
      if (!restored.ok()) __builtin_trap();
    }
    loupe::MaterializeTrace("p", "t", trace);
    loupe::MaterializeObservation("p", "o", &observation, prices);
    loupe::MaterializeScore("p", "s", score);
  }
  return 0;
}
