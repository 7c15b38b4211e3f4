#pragma once

// Timestamps inside Loupe are int64 milliseconds (or microseconds where the
// ordering of events needs more precision) since the Unix epoch, UTC.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loupe {

// Parses an ISO-8601 date-time ("2025-06-01T08:00:00.000100Z",
// "2025-06-01T10:00:00+02:00", fractional seconds of any length). A missing
// offset is accepted and read as UTC, as the Langfuse SDKs sometimes send naive
// times. Returns microseconds since the epoch, or nullopt when malformed.
std::optional<int64_t> ParseIsoMicros(std::string_view text);

// Same as ParseIsoMicros, but the offset is required (Z or +hh:mm), which is
// what the ingestion schema demands for the envelope timestamp.
std::optional<int64_t> ParseIsoMicrosStrict(std::string_view text);

// Formats as "YYYY-MM-DDTHH:MM:SS.mmmZ", the shape every API response uses.
std::string FormatIsoMillis(int64_t millis);

// Current wall-clock time.
int64_t NowMillis();
int64_t NowMicros();

}  // namespace loupe
