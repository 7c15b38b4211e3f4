#pragma once

// Score configs: the rules a config must follow, and the check of ingested
// scores against the config they name (Langfuse's validateAndInflateScore).
//
// Contract of ScoreConfigValidator::Validate (score events only; other
// events pass unchanged):
//  - No configId: nothing to check.
//  - The config must exist in the project, else kInvalidArgument. (Langfuse
//    drops such a score in its worker; Loupe rejects it in the 207 body so
//    the client learns why.)
//  - An archived config rejects new scores.
//  - The score's name becomes the config's name.
//  - The value must fit the config's data type: NUMERIC within
//    [minValue, maxValue]; CATEGORICAL a category label, whose value becomes
//    the score's numeric value; BOOLEAN 0 or 1 (stringValue "True"/"False");
//    TEXT a string. A dataType that contradicts the config is rejected.
//  - On success the event body is rewritten in place (name, dataType, value,
//    stringValue); on failure it is left as it was.
//
// Thread-safe; reads configs through ScoreConfigStore (cached there).

#include <string>

#include "absl/status/status.h"
#include "ingest/batch_decoder.h"
#include "ingest/event.h"
#include "storage/score_config_store.h"

namespace loupe {

// Langfuse's score config name rule: 1 to 35 characters; letters, digits,
// spaces, underscores, periods, parentheses and hyphens.
absl::Status ValidateScoreConfigName(const std::string& name);

// The data type rules of a whole config (as created or after a PATCH):
// NUMERIC has no categories and maxValue > minValue when both are set;
// CATEGORICAL has categories with unique non-empty labels and unique values
// and no range; BOOLEAN has exactly [{1,"True"},{0,"False"}] and no range;
// TEXT has neither.
absl::Status ValidateScoreConfigRules(const ScoreConfigRecord& config);

// The categories every BOOLEAN config carries, in Langfuse's order.
std::vector<ScoreConfigCategory> BooleanScoreConfigCategories();

class ScoreConfigValidator {
 public:
  explicit ScoreConfigValidator(ScoreConfigStore& store) : store_(store) {}

  // kInvalidArgument with a message for the client when the score breaks
  // its config; kUnavailable / kInternal when the store fails.
  absl::Status Validate(const std::string& project_id, IngestEvent& event) const;

  // Runs Validate on every event of a decoded batch. Events that fail move
  // from `events` (and `successes`) to `errors` with status 400; a store
  // failure is returned and must fail the whole request (nothing written).
  absl::Status ValidateBatch(const std::string& project_id, DecodedBatch* batch) const;

 private:
  ScoreConfigStore& store_;
};

}  // namespace loupe
