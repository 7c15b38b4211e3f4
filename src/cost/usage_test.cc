// NormalizeProvidedUsage against the rules of the Langfuse contract §2.1/§3.
// Expected values are worked out by hand from those rules.

#include "cost/usage.h"

#include <string_view>

#include "boost/json.hpp"
#include "common/json_parse.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loupe {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

// Normalizes the given JSON texts; an empty text stands for an absent field.
ProvidedUsage Normalize(std::string_view usage, std::string_view usage_details = "",
                        std::string_view cost_details = "") {
  boost::json::value u, d, c;
  if (!usage.empty()) u = ParseJson(usage);
  if (!usage_details.empty()) d = ParseJson(usage_details);
  if (!cost_details.empty()) c = ParseJson(cost_details);
  return NormalizeProvidedUsage(usage.empty() ? nullptr : &u, usage_details.empty() ? nullptr : &d,
                                cost_details.empty() ? nullptr : &c);
}

TEST(NormalizeProvidedUsageTest, NothingProvidedIsEmpty) {
  ProvidedUsage p = NormalizeProvidedUsage(nullptr, nullptr, nullptr);
  EXPECT_THAT(p.usage, IsEmpty());
  EXPECT_THAT(p.cost, IsEmpty());
}

TEST(NormalizeProvidedUsageTest, LegacyUsageWithoutTotalGetsInputPlusOutput) {
  EXPECT_THAT(Normalize(R"({"input": 10, "output": 5})").usage,
              ElementsAre(Pair("input", 10), Pair("output", 5), Pair("total", 15)));
}

TEST(NormalizeProvidedUsageTest, LegacyUsageTotalFromWhicheverSideExists) {
  EXPECT_THAT(Normalize(R"({"output": 7, "unit": "TOKENS"})").usage,
              ElementsAre(Pair("output", 7), Pair("total", 7)));
}

TEST(NormalizeProvidedUsageTest, LegacyUsageKeepsExplicitTotal) {
  EXPECT_THAT(Normalize(R"({"input": 10, "output": 5, "total": 100})").usage,
              ElementsAre(Pair("input", 10), Pair("output", 5), Pair("total", 100)));
}

TEST(NormalizeProvidedUsageTest, LegacyOpenAiCamelCaseForm) {
  EXPECT_THAT(Normalize(R"({"promptTokens": 7, "completionTokens": 3, "totalTokens": 10})").usage,
              ElementsAre(Pair("input", 7), Pair("output", 3), Pair("total", 10)));
}

TEST(NormalizeProvidedUsageTest, LegacyOpenAiFormIgnoresOtherFieldsOfTheObject) {
  // Langfuse rewrites the object to {input, output, total, unit} as soon as an
  // OpenAI key is present, so costs and input/output sent alongside are lost.
  ProvidedUsage p = Normalize(R"({"promptTokens": 4, "input": 99, "inputCost": 0.5})");
  EXPECT_THAT(p.usage, ElementsAre(Pair("input", 4), Pair("total", 4)));
  EXPECT_THAT(p.cost, IsEmpty());
}

TEST(NormalizeProvidedUsageTest, LegacyCostsBecomeCostDetails) {
  ProvidedUsage p = Normalize(
      R"({"input": 100, "output": 50, "inputCost": 0.01, "outputCost": 0.02, "totalCost": 0.03})");
  EXPECT_THAT(p.usage, ElementsAre(Pair("input", 100), Pair("output", 50), Pair("total", 150)));
  EXPECT_THAT(p.cost, ElementsAre(Pair("input", 0.01), Pair("output", 0.02), Pair("total", 0.03)));
}

TEST(NormalizeProvidedUsageTest, CostDetailsOverwriteLegacyCosts) {
  ProvidedUsage p = Normalize(R"({"inputCost": 1, "outputCost": 2})", "",
                              R"({"input": 0.5, "input_cached_tokens": 0.25})");
  EXPECT_THAT(p.cost, ElementsAre(Pair("input", 0.5), Pair("input_cached_tokens", 0.25),
                                  Pair("output", 2.0)));
}

TEST(NormalizeProvidedUsageTest, UsageDetailsOverwriteLegacyKeysAndSuppressDerivedTotal) {
  // With usageDetails present, no total is derived from usage.input/output;
  // PriceTable::Compute later sums all keys instead.
  EXPECT_THAT(
      Normalize(R"({"input": 10, "output": 5})", R"({"input": 12, "input_cached_tokens": 4})")
          .usage,
      ElementsAre(Pair("input", 12), Pair("input_cached_tokens", 4), Pair("output", 5)));
}

TEST(NormalizeProvidedUsageTest, EmptyUsageDetailsStillDeriveTotal) {
  EXPECT_THAT(Normalize(R"({"input": 1, "output": 2})", "{}").usage,
              ElementsAre(Pair("input", 1), Pair("output", 2), Pair("total", 3)));
}

TEST(NormalizeProvidedUsageTest, OpenAiChatUsageSubtractsDetailsFromBase) {
  EXPECT_THAT(
      Normalize("", R"({
    "prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150,
    "prompt_tokens_details": {"cached_tokens": 30, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 20}})")
          .usage,
      ElementsAre(Pair("input", 70), Pair("input_audio_tokens", 0), Pair("input_cached_tokens", 30),
                  Pair("output", 30), Pair("output_reasoning_tokens", 20), Pair("total", 150)));
}

TEST(NormalizeProvidedUsageTest, OpenAiDetailLargerThanBaseFloorsAtZero) {
  EXPECT_THAT(Normalize("", R"({"prompt_tokens": 10, "completion_tokens": 0, "total_tokens": 10,
                               "prompt_tokens_details": {"cached_tokens": 25}})")
                  .usage,
              ElementsAre(Pair("input", 0), Pair("input_cached_tokens", 25), Pair("output", 0),
                          Pair("total", 10)));
}

TEST(NormalizeProvidedUsageTest, OpenAiNullDetailsAreSkipped) {
  EXPECT_THAT(Normalize("", R"({"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12,
                               "prompt_tokens_details": {"cached_tokens": null},
                               "completion_tokens_details": null})")
                  .usage,
              ElementsAre(Pair("input", 10), Pair("output", 2), Pair("total", 12)));
}

TEST(NormalizeProvidedUsageTest, OpenAiResponsesUsage) {
  EXPECT_THAT(Normalize("", R"({
    "input_tokens": 200, "output_tokens": 80, "total_tokens": 280,
    "input_tokens_details": {"cached_tokens": 50},
    "output_tokens_details": {"reasoning_tokens": 30}})")
                  .usage,
              ElementsAre(Pair("input", 150), Pair("input_cached_tokens", 50), Pair("output", 50),
                          Pair("output_reasoning_tokens", 30), Pair("total", 280)));
}

TEST(NormalizeProvidedUsageTest, OpenAiShapeWithExtraKeyIsAPlainMap) {
  // The OpenAI schemas are strict; an unknown key makes it a usage map, in
  // which the nested details object is junk.
  EXPECT_THAT(Normalize("", R"({"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150,
                               "prompt_tokens_details": {"cached_tokens": 30}, "extra": 1})")
                  .usage,
              ElementsAre(Pair("completion_tokens", 50), Pair("extra", 1),
                          Pair("prompt_tokens", 100), Pair("total_tokens", 150)));
}

TEST(NormalizeProvidedUsageTest, OpenAiShapeWithMissingRequiredKeyIsAPlainMap) {
  EXPECT_THAT(Normalize("", R"({"input_tokens": 9, "output_tokens": 1})").usage,
              ElementsAre(Pair("input_tokens", 9), Pair("output_tokens", 1)));
}

TEST(NormalizeProvidedUsageTest, UsageMapDropsJunkValues) {
  EXPECT_THAT(Normalize("", R"({"a": 5, "b": "42", "c": -1, "d": 1.5, "e": true, "f": null,
                               "g": {}, "h": [1], "i": "abc", "j": 3.0, "k": "-7", "l": "",
                               "m": 1e300, "n": 9007199254740992})")
                  .usage,
              ElementsAre(Pair("a", 5), Pair("b", 42), Pair("j", 3)));
}

TEST(NormalizeProvidedUsageTest, UsageMapNumericStringsFollowParseInt) {
  EXPECT_THAT(Normalize("", R"({"a": " 17", "b": "9.9", "c": "12abc", "d": "+4"})").usage,
              ElementsAre(Pair("a", 17), Pair("b", 9), Pair("c", 12), Pair("d", 4)));
}

TEST(NormalizeProvidedUsageTest, CostDetailsDropJunkValues) {
  EXPECT_THAT(Normalize("", "", R"({"input": 0.5, "output": -1, "x": "0.3", "y": null,
                                    "z": 0, "w": [], "v": 2})")
                  .cost,
              ElementsAre(Pair("input", 0.5), Pair("v", 2.0), Pair("z", 0.0)));
}

TEST(NormalizeProvidedUsageTest, LegacyUsageDropsInvalidNumbers) {
  ProvidedUsage p = Normalize(R"({"input": -5, "output": 2.5, "total": "x", "inputCost": -1,
                                  "outputCost": "0.2"})");
  EXPECT_THAT(p.usage, IsEmpty());
  EXPECT_THAT(p.cost, IsEmpty());
}

TEST(NormalizeProvidedUsageTest, NonObjectArgumentsAreIgnored) {
  ProvidedUsage p = Normalize("42", "[1, 2]", R"("expensive")");
  EXPECT_THAT(p.usage, IsEmpty());
  EXPECT_THAT(p.cost, IsEmpty());
  p = Normalize("null", "null", "null");
  EXPECT_THAT(p.usage, IsEmpty());
  EXPECT_THAT(p.cost, IsEmpty());
}

}  // namespace
}  // namespace loupe
