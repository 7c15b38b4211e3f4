#pragma once

// JSON Schema (draft-07) checks of dataset items, on the valijson validator.
// Schemas come from API clients, so compiling one also makes it safe to
// evaluate against any value a client sends:
//  - at most kMaxSchemaChars serialized; only draft-07 keywords (an unknown
//    one is refused, as Langfuse's strict validator does, rather than being
//    silently ignored); `$ref` only to schemas inside the same document, and
//    no `$ref` cycle that never steps into the value (it would recurse
//    forever);
//  - `pattern` is matched with RE2, in linear time: std::regex (what the
//    validator would use) backtracks, which takes exponential time or
//    overflows the stack on long strings. Patterns RE2 cannot express
//    (lookaround, backreferences) are refused, and so is
//    `patternProperties`, whose names the validator would match with
//    std::regex;
//  - `format` is an annotation only, as on Langfuse (formats unchecked);
//  - `uniqueItems` compares canonical forms in a hash set instead of every
//    pair;
//  - each evaluation has a step budget proportional to the value's size and
//    a time limit, so a schema whose combinators multiply work fails fast
//    instead of running for hours.
//
// Thread-safe: a compiled schema may be used by many threads at once.

#include <cstddef>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/json.hpp"

namespace loupe {

class JsonSchema {
 public:
  static constexpr size_t kMaxSchemaChars = 10000;

  // kInvalidArgument saying what is wrong when `schema` is not a schema that
  // can be enforced (e.g. "unknown keyword 'prefixItems' at #/properties/a").
  static absl::StatusOr<std::unique_ptr<JsonSchema>> Compile(const boost::json::value& schema);

  ~JsonSchema();
  JsonSchema(const JsonSchema&) = delete;
  JsonSchema& operator=(const JsonSchema&) = delete;

  // OK when `value` matches. Otherwise kInvalidArgument naming the first
  // violation by its JSON pointer: "/question: Value type not permitted by
  // 'type' constraint." ("/" is the value itself), or saying that the value
  // is too large to check against this schema.
  absl::Status Validate(const boost::json::value& value) const;

 private:
  struct Impl;
  explicit JsonSchema(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace loupe
