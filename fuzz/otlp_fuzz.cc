// libFuzzer target for the OTLP readers, the Langfuse mapping and the merge
// that follows: arbitrary bytes as a protobuf or an OTLP/JSON export body must
// never crash, hang or trip a sanitizer, and whatever they convert to must be
// accepted or rejected cleanly by the batch decoder.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cost/price_table.h"
#include "ingest/entity_state.h"
#include "ingest/materialize.h"
#include "otlp/otlp_converter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto* prices = loupe::PriceTable::FromEmbeddedDefaults()->release();
  std::string_view body(reinterpret_cast<const char*>(data), size);
  constexpr int64_t kNowUs = int64_t{1767225600} * 1000000;
  for (loupe::OtlpEncoding encoding :
       {loupe::OtlpEncoding::kProtobuf, loupe::OtlpEncoding::kJson}) {
    auto conversion = loupe::ConvertOtlpTraces(body, encoding, kNowUs);
    if (!conversion.ok()) continue;
    // Conversion is deterministic: re-sent exports must merge to the same rows.
    auto again = loupe::ConvertOtlpTraces(body, encoding, kNowUs);
    if (!again.ok() || again->events != conversion->events) __builtin_trap();
    size_t spans = conversion->span_ids.size();
    loupe::OtlpDecoded decoded =
        loupe::DecodeOtlpEvents(*std::move(conversion), loupe::DecodeOptions{});
    if (decoded.accepted_spans < 0 || static_cast<size_t>(decoded.accepted_spans) > spans) {
      __builtin_trap();
    }
    loupe::EntityState trace, observation;
    for (const auto& event : decoded.events) {
      (event.kind == loupe::EntityKind::kTrace ? trace : observation).Apply(event);
    }
    for (auto* state : {&trace, &observation}) {
      if (!loupe::EntityState::Parse(state->Serialize()).ok()) __builtin_trap();
    }
    loupe::MaterializeTrace("p", "t", trace);
    loupe::MaterializeObservation("p", "o", &observation, prices);
  }
  return 0;
}
