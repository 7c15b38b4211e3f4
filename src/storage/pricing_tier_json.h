#pragma once

// Pricing tiers as JSON, in the shape both Langfuse's API and its default
// price file use: {id, name, isDefault, priority, conditions:
// [{usageDetailPattern, operator, value, caseSensitive}], prices: {usageType:
// price}}. Used to store tiers and to answer the models API.

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/json.hpp"
#include "cost/price_table.h"

namespace loupe {

// "gt", "gte", "lt", "lte", "eq", "neq".
std::string_view PricingOperatorName(PricingCondition::Op op);
// Returns false for unknown names.
bool ParsePricingOperator(std::string_view name, PricingCondition::Op* op);

boost::json::object PricingTierToJson(const PricingTier& tier);
boost::json::array PricingTiersToJson(const std::vector<PricingTier>& tiers);

// Reads tiers written by PricingTiersToJson (kInvalidArgument otherwise).
absl::StatusOr<std::vector<PricingTier>> PricingTiersFromJson(const boost::json::value& v);

}  // namespace loupe
