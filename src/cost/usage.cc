#include "cost/usage.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loupe {
namespace {

namespace json = boost::json;

// Langfuse validates units with zod's int(), which only accepts integers a
// JavaScript number holds exactly (Number.MAX_SAFE_INTEGER). Using the same
// bound also keeps the sum of many keys far away from int64 overflow.
constexpr int64_t kMaxUnits = (int64_t{1} << 53) - 1;

// A JSON number that is a non-negative integer. 3.0 and 1e3 count, because a
// JavaScript client cannot tell them apart from 3 and 1000.
std::optional<int64_t> NonNegativeInteger(const json::value& v) {
  if (const int64_t* i = v.if_int64()) {
    if (*i >= 0 && *i <= kMaxUnits) return *i;
    return std::nullopt;
  }
  if (const uint64_t* u = v.if_uint64()) {
    if (*u <= static_cast<uint64_t>(kMaxUnits)) return static_cast<int64_t>(*u);
    return std::nullopt;
  }
  if (const double* d = v.if_double()) {
    if (std::isfinite(*d) && *d >= 0 && *d <= static_cast<double>(kMaxUnits) &&
        std::trunc(*d) == *d) {
      return static_cast<int64_t>(*d);
    }
  }
  return std::nullopt;
}

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// The contract reads numeric strings with JavaScript's parseInt: leading
// whitespace and a sign are allowed and parsing stops at the first non-digit,
// so "12abc" and "12.9" both mean 12. Strings without a leading digit, and
// negative numbers, are rejected.
std::optional<int64_t> ParseIntLikeJavaScript(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && IsAsciiSpace(s[i])) ++i;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  const size_t first_digit = i;
  int64_t value = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    value = value * 10 + (s[i] - '0');
    if (value > kMaxUnits) return std::nullopt;
  }
  if (i == first_digit) return std::nullopt;
  if (negative && value != 0) return std::nullopt;
  return value;
}

// Units from a free-form map value: an integer, or a string holding one.
std::optional<int64_t> UnitsFromMapValue(const json::value& v) {
  if (const json::string* s = v.if_string()) return ParseIntLikeJavaScript(*s);
  return NonNegativeInteger(v);
}

std::optional<double> NonNegativeNumber(const json::value& v) {
  double d;
  if (const int64_t* i = v.if_int64()) {
    d = static_cast<double>(*i);
  } else if (const uint64_t* u = v.if_uint64()) {
    d = static_cast<double>(*u);
  } else if (const double* p = v.if_double()) {
    d = *p;
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(d) || d < 0) return std::nullopt;
  return d;
}

// The field names of one of the two OpenAI usage objects accepted as
// usageDetails.
struct OpenAiUsageShape {
  std::string_view input;
  std::string_view output;
  std::string_view total;
  std::string_view input_details;
  std::string_view output_details;
};

constexpr OpenAiUsageShape kChatCompletionsUsage = {"prompt_tokens", "completion_tokens",
                                                    "total_tokens", "prompt_tokens_details",
                                                    "completion_tokens_details"};
constexpr OpenAiUsageShape kResponsesUsage = {"input_tokens", "output_tokens", "total_tokens",
                                              "input_tokens_details", "output_tokens_details"};

// Copies `<prefix>_<key>` for each detail and subtracts it from `prefix`, so
// that `input` counts only the tokens no more specific price applies to.
// Returns false when the details are not a map of integers, which (as in
// Langfuse's strict schema) disqualifies the whole OpenAI shape.
bool AddOpenAiDetails(const json::object& usage, std::string_view field, std::string_view prefix,
                      UsageDetails& out) {
  const json::value* details = usage.if_contains(field);
  if (details == nullptr || details->is_null()) return true;
  const json::object* entries = details->if_object();
  if (entries == nullptr) return false;
  int64_t& base = out[std::string(prefix)];
  for (const auto& entry : *entries) {
    if (entry.value().is_null()) continue;
    std::optional<int64_t> units = NonNegativeInteger(entry.value());
    if (!units) return false;
    std::string key(prefix);
    key += '_';
    key.append(entry.key().data(), entry.key().size());
    out[std::move(key)] = *units;
    base = std::max<int64_t>(base - *units, 0);
  }
  return true;
}

// Langfuse declares these shapes `.strict()`: any other key, or a non-integer
// count, means the object is not this shape and is read as a plain map.
std::optional<UsageDetails> FromOpenAiUsage(const json::object& usage,
                                            const OpenAiUsageShape& shape) {
  for (const auto& entry : usage) {
    const std::string_view key = entry.key();
    if (key != shape.input && key != shape.output && key != shape.total &&
        key != shape.input_details && key != shape.output_details) {
      return std::nullopt;
    }
  }
  std::optional<int64_t> input, output, total;
  if (const json::value* v = usage.if_contains(shape.input)) input = NonNegativeInteger(*v);
  if (const json::value* v = usage.if_contains(shape.output)) output = NonNegativeInteger(*v);
  if (const json::value* v = usage.if_contains(shape.total)) total = NonNegativeInteger(*v);
  if (!input || !output || !total) return std::nullopt;

  UsageDetails out = {{"input", *input}, {"output", *output}, {"total", *total}};
  if (!AddOpenAiDetails(usage, shape.input_details, "input", out) ||
      !AddOpenAiDetails(usage, shape.output_details, "output", out)) {
    return std::nullopt;
  }
  return out;
}

UsageDetails FromUsageDetails(const json::value& value) {
  const json::object* details = value.if_object();
  if (details == nullptr) return {};
  if (auto chat = FromOpenAiUsage(*details, kChatCompletionsUsage)) return *std::move(chat);
  if (auto responses = FromOpenAiUsage(*details, kResponsesUsage)) return *std::move(responses);
  UsageDetails out;
  for (const auto& entry : *details) {
    if (std::optional<int64_t> units = UnitsFromMapValue(entry.value())) {
      out[std::string(entry.key())] = *units;
    }
  }
  return out;
}

// What the legacy `usage` object says, before usageDetails are merged in.
struct LegacyUsage {
  std::optional<int64_t> input;
  std::optional<int64_t> output;
  std::optional<int64_t> total;
  CostDetails cost;
};

LegacyUsage FromLegacyUsage(const json::value& value) {
  LegacyUsage out;
  const json::object* usage = value.if_object();
  if (usage == nullptr) return out;
  // Langfuse's schema wants JSON integers here; numeric strings are accepted
  // too, as in usageDetails, since dropping them would lose data for nothing.
  auto units = [&](std::string_view key) -> std::optional<int64_t> {
    const json::value* v = usage->if_contains(key);
    return v == nullptr ? std::nullopt : UnitsFromMapValue(*v);
  };
  // Langfuse switches to the OpenAI form as soon as one of its keys is present
  // (even as null) and then keeps only those three fields: input/output/total
  // and the *Cost fields of the same object are ignored.
  if (usage->contains("promptTokens") || usage->contains("completionTokens") ||
      usage->contains("totalTokens")) {
    out.input = units("promptTokens");
    out.output = units("completionTokens");
    out.total = units("totalTokens");
    return out;
  }
  out.input = units("input");
  out.output = units("output");
  out.total = units("total");
  static constexpr std::pair<std::string_view, std::string_view> kCostFields[] = {
      {"inputCost", "input"}, {"outputCost", "output"}, {"totalCost", "total"}};
  for (const auto& [field, key] : kCostFields) {
    const json::value* v = usage->if_contains(field);
    if (v == nullptr) continue;
    if (std::optional<double> cost = NonNegativeNumber(*v)) out.cost[std::string(key)] = *cost;
  }
  return out;
}

}  // namespace

ProvidedUsage NormalizeProvidedUsage(const boost::json::value* usage,
                                     const boost::json::value* usage_details,
                                     const boost::json::value* cost_details) {
  ProvidedUsage out;
  LegacyUsage legacy;
  if (usage != nullptr) legacy = FromLegacyUsage(*usage);
  UsageDetails details;
  if (usage_details != nullptr) details = FromUsageDetails(*usage_details);

  // A total derived from input/output is only trusted when usageDetails did
  // not describe the usage itself; otherwise PriceTable::Compute sums all keys.
  if (!legacy.total && details.empty() && (legacy.input || legacy.output)) {
    legacy.total = legacy.input.value_or(0) + legacy.output.value_or(0);
  }
  if (legacy.input) out.usage["input"] = *legacy.input;
  if (legacy.output) out.usage["output"] = *legacy.output;
  if (legacy.total) out.usage["total"] = *legacy.total;
  for (auto& [key, units] : details) out.usage[key] = units;

  out.cost = std::move(legacy.cost);
  if (cost_details != nullptr) {
    if (const json::object* costs = cost_details->if_object()) {
      for (const auto& entry : *costs) {
        if (std::optional<double> cost = NonNegativeNumber(entry.value())) {
          out.cost[std::string(entry.key())] = *cost;
        }
      }
    }
  }
  return out;
}

}  // namespace loupe
