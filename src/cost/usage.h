#pragma once

// Usage and cost maps as the ingestion API receives them, normalized to the
// shape Loupe stores: usage keys → non-negative integer units, cost keys →
// non-negative USD amounts. Pure functions, no I/O, thread-compatible.

#include <cstdint>
#include <map>
#include <string>

#include "boost/json.hpp"

namespace loupe {

using UsageDetails = std::map<std::string, int64_t>;
using CostDetails = std::map<std::string, double>;

// What one ingestion event says about usage and cost, before any price lookup.
struct ProvidedUsage {
  UsageDetails usage;  // empty = the event said nothing about usage
  CostDetails cost;    // empty = the event said nothing about cost
};

// Combines the legacy `usage` object ({input, output, total, unit, inputCost,
// outputCost, totalCost} or OpenAI-style {promptTokens, completionTokens,
// totalTokens}) with `usageDetails` (map<string,int>, OpenAI Chat usage with
// *_tokens_details, or OpenAI Responses usage) and `costDetails`
// (map<string,number>). Rules (Langfuse contract §2.1 and §3):
//  - usageDetails keys overwrite keys from `usage`;
//  - when `usage.total` is missing and usageDetails is empty, total = input + output
//    (or whichever exists);
//  - OpenAI-shaped details become {input, output, total, input_<k>, output_<k>} with
//    each detail subtracted from input/output, floored at 0;
//  - map values that are not non-negative integers (or numeric strings) are dropped;
//  - costs: {input, output, total} from usage.*Cost, overwritten by costDetails; only
//    numbers >= 0 are kept.
// Either argument may be null/absent (pass nullptr). Never fails: junk is dropped.
ProvidedUsage NormalizeProvidedUsage(const boost::json::value* usage,
                                     const boost::json::value* usage_details,
                                     const boost::json::value* cost_details);

}  // namespace loupe
