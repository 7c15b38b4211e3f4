#pragma once

// ModelStore: the custom models of a project (Langfuse's models,
// pricing_tiers and prices with a project id), which take precedence over
// the Langfuse-managed defaults when generations are priced. The defaults
// themselves are not stored here: they ship with the binary (PriceTable).
//
// Contract:
//  - A model is stored whole, with its pricing tiers, and read back whole.
//  - Model names are unique per project: Create() fails with kAlreadyExists.
//  - Everything is durable on return and all methods are thread-safe.
//    "Not found" is an empty optional or `false`; storage failures are
//    kUnavailable / kInternal.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cost/price_table.h"

namespace loupe {

class ModelStore {
 public:
  virtual ~ModelStore() = default;

  // `model.project_id` must be set.
  virtual absl::Status Create(const ModelPrice& model) = 0;
  virtual absl::StatusOr<std::optional<ModelPrice>> Get(const std::string& project_id,
                                                        const std::string& id) = 0;
  // Every custom model of the project, oldest first.
  virtual absl::StatusOr<std::vector<ModelPrice>> ListProject(const std::string& project_id) = 0;
  // The projects that have at least one custom model.
  virtual absl::StatusOr<std::vector<std::string>> ProjectsWithModels() = 0;
  // Returns false when the project has no model with this id.
  virtual absl::StatusOr<bool> Delete(const std::string& project_id, const std::string& id) = 0;
};

}  // namespace loupe
