#pragma once

// The model price table: which model a generation's model name refers to and
// what its usage costs. Loaded from Langfuse's default price file (embedded in
// the binary) plus per-project custom models.
//
// Thread safety: Match() and Compute() may be called from any thread
// concurrently. SetProjectModels() takes an internal lock and may run
// concurrently with readers. Pointers returned by Match() stay valid for at
// least five minutes after a SetProjectModels() call replaces them (replaced
// lists are retired, not freed at once), so a caller may Match() and then
// Compute() without holding a lock; do not keep them longer.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cost/usage.h"

namespace loupe {

struct PricingCondition {
  enum class Op { kGt, kGte, kLt, kLte, kEq, kNeq };
  std::string usage_detail_pattern;  // regex over usage keys
  Op op = Op::kGt;
  double value = 0;
  bool case_sensitive = false;
};

struct PricingTier {
  std::string id;
  std::string name;
  bool is_default = false;
  int priority = 0;
  std::vector<PricingCondition> conditions;
  std::map<std::string, double> prices;  // usage type → USD per unit
};

struct ModelPrice {
  std::string id;
  std::string project_id;  // empty = a default (Langfuse-managed) model
  std::string model_name;
  std::string match_pattern;  // regex; may start with (?i)
  std::optional<int64_t> start_date_ms;
  std::string unit;  // legacy unit, usually "TOKENS"
  std::string tokenizer_id;
  std::string tokenizer_config_json;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::vector<PricingTier> tiers;  // sorted by priority ascending
};

// The result of pricing one observation.
struct CostResult {
  UsageDetails usage;  // final usage_details (provided, with `total` added when missing)
  CostDetails cost;    // final cost_details (incl. `total` when known)
  std::optional<double> total_cost;
  std::string model_id;  // empty when no model matched
  std::string tier_id;
  std::string tier_name;
};

class PriceTable {
 public:
  // Parses a Langfuse default-model-prices JSON array. Models whose pattern
  // does not compile are skipped with a warning; a malformed file is an error.
  static absl::StatusOr<std::unique_ptr<PriceTable>> FromDefaultPricesJson(std::string_view json);

  // The table built from the price file embedded at build time.
  static absl::StatusOr<std::unique_ptr<PriceTable>> FromEmbeddedDefaults();

  ~PriceTable();

  // Replaces the custom models of one project.
  void SetProjectModels(const std::string& project_id, std::vector<ModelPrice> models);

  // Finds the model for `model_name`: the project's own models first, then the
  // defaults; among those, the latest start_date (models without one last).
  // Returns nullptr when nothing matches or model_name is empty.
  const ModelPrice* Match(std::string_view project_id, std::string_view model_name) const;

  // Prices usage for a matched model (may be nullptr). Implements Langfuse's
  // rules: user-provided cost wins as-is; otherwise the tier is chosen
  // (non-default tiers by priority whose conditions all hold, else the default)
  // and each usage key with a price of the same name is charged.
  static CostResult Compute(const ModelPrice* model, const ProvidedUsage& provided);

  // All default models, for the models API.
  std::vector<const ModelPrice*> DefaultModels() const;

 private:
  PriceTable();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loupe
