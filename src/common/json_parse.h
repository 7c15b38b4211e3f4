#pragma once

// JSON parsing with the product's nesting limit. Every JSON document the
// product parses goes through these functions rather than
// boost::json::parse, whose default limit (32 levels) is far below what
// clients send (Langfuse accepts whatever Node's JSON.parse accepts).
//
// kMaxJsonDepth is the single limit on JSON that comes from outside: request
// bodies, JSON-encoded strings inside them (OTLP attributes, filters, cursors)
// and each event of an ingestion batch. Everything that walks JSON
// recursively (metadata merging, filters, schema validation, OTLP mapping,
// serializers) is only ever handed values within that limit, so recursion is
// bounded by it.
//
// kMaxStoredJsonDepth is the limit for JSON the product wrote itself and reads
// back (stored rows, queued events, entity states). It is far above
// kMaxJsonDepth so that whatever a write accepted always parses back, even
// where the stored form wraps the value in more levels (an entity state nests
// two levels per level of metadata).
//
// Thread-safe, no I/O.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "boost/json.hpp"

namespace loupe {

// Deepest nesting of arrays and objects accepted in JSON from clients.
inline constexpr std::size_t kMaxJsonDepth = 256;

// Deepest nesting accepted when reading back JSON the product stored itself.
inline constexpr std::size_t kMaxStoredJsonDepth = 4096;

// Parse options with the given nesting limit (and Boost.JSON's defaults
// otherwise: strict JSON, no comments, no trailing commas).
boost::json::parse_options JsonParseOptions(std::size_t max_depth = kMaxJsonDepth);

// Parses `text` into a value allocated from `sp`; on failure sets `ec` and
// returns null. Deeper nesting than `max_depth` fails with
// boost::json::error::too_deep.
boost::json::value ParseJson(std::string_view text, boost::system::error_code& ec,
                             boost::json::storage_ptr sp = {},
                             std::size_t max_depth = kMaxJsonDepth);

// Same, throwing boost::system::system_error on failure.
boost::json::value ParseJson(std::string_view text, boost::json::storage_ptr sp = {},
                             std::size_t max_depth = kMaxJsonDepth);

// Parses JSON the product stored itself (limit kMaxStoredJsonDepth).
boost::json::value ParseStoredJson(std::string_view text, boost::system::error_code& ec,
                                   boost::json::storage_ptr sp = {});

// Parses `text`; failures become InvalidArgument with JsonErrorMessage.
absl::StatusOr<boost::json::value> ParseJsonOrError(std::string_view text,
                                                    std::size_t max_depth = kMaxJsonDepth);

// "JSON nested deeper than 256 levels", for `max_depth` 256.
std::string JsonTooDeepMessage(std::size_t max_depth = kMaxJsonDepth);

// Describes a parse failure for a client: "JSON nested deeper than 256
// levels" when the limit was exceeded, Boost.JSON's message otherwise.
std::string JsonErrorMessage(const boost::system::error_code& ec,
                             std::size_t max_depth = kMaxJsonDepth);

// Nesting depth of `v`: 0 for a scalar, 1 for an array or object of scalars
// (or an empty one), and so on. Iterative, so safe at any depth.
std::size_t JsonDepth(const boost::json::value& v);

}  // namespace loupe
