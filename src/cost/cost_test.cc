// PriceTable: model matching, tier selection and cost, following data-model
// §4. Expected amounts are computed by hand from the prices in
// resources/default-model-prices.json (USD per unit):
//   gpt-4o: input 2.5e-06, input_cached_tokens 1.25e-06, output 1e-05
//   claude-sonnet-4-5: Standard input 3e-06 / output 1.5e-05,
//                      Large Context (sum of keys matching /input/i > 200000)
//                      input 6e-06 / output 2.25e-05
//   text-embedding-3-small: total 2e-08

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "boost/json.hpp"
#include "common/json_parse.h"
#include "cost/price_table.h"
#include "cost/usage.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"

namespace loupe {

extern const std::string_view kDefaultModelPricesJson;

namespace {

using ::testing::DoubleEq;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::Pair;

constexpr std::string_view kGpt4oId = "b9854a5c92dc496b997d99d20";
constexpr std::string_view kClaudeSonnet45Id = "c5qmrqolku82tra3vgdixmys";
constexpr std::string_view kClaudeLargeContextTierId = "00b65240-047b-4722-9590-808edbc2067f";

class PriceTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto table = PriceTable::FromEmbeddedDefaults();
    ASSERT_TRUE(table.ok()) << table.status();
    table_ = *std::move(table);
  }

  const ModelPrice& MustMatch(std::string_view model_name, std::string_view project = "p") {
    const ModelPrice* model = table_->Match(project, model_name);
    EXPECT_NE(model, nullptr) << model_name;
    static const ModelPrice kNone;
    return model == nullptr ? kNone : *model;
  }

  std::unique_ptr<PriceTable> table_;
};

ProvidedUsage Usage(UsageDetails usage, CostDetails cost = {}) {
  return ProvidedUsage{std::move(usage), std::move(cost)};
}

// A project model with one default tier.
ModelPrice CustomModel(std::string id, std::string pattern, std::map<std::string, double> prices,
                       std::optional<int64_t> start_date_ms = std::nullopt) {
  ModelPrice model;
  model.id = id;
  model.model_name = id;
  model.match_pattern = std::move(pattern);
  model.start_date_ms = start_date_ms;
  PricingTier tier;
  tier.id = id + "_default";
  tier.name = "Standard";
  tier.is_default = true;
  tier.prices = std::move(prices);
  model.tiers.push_back(std::move(tier));
  return model;
}

PricingTier ConditionalTier(std::string id, int priority, std::vector<PricingCondition> conditions,
                            std::map<std::string, double> prices) {
  PricingTier tier;
  tier.id = id;
  tier.name = id;
  tier.priority = priority;
  tier.conditions = std::move(conditions);
  tier.prices = std::move(prices);
  return tier;
}

PricingCondition InputAbove(double value, std::string pattern = "input") {
  return PricingCondition{std::move(pattern), PricingCondition::Op::kGt, value, false};
}

// --- Loading --------------------------------------------------------------

TEST(DefaultPriceFileTest, EveryMatchPatternCompilesWithRe2) {
  boost::json::value file = ParseJson(kDefaultModelPricesJson);
  ASSERT_TRUE(file.is_array());
  EXPECT_EQ(file.as_array().size(), 166u);
  for (const boost::json::value& entry : file.as_array()) {
    const boost::json::string& pattern = entry.at("matchPattern").as_string();
    RE2 re(std::string(pattern.data(), pattern.size()), RE2::Quiet);
    EXPECT_TRUE(re.ok()) << pattern << ": " << re.error();
  }
}

TEST_F(PriceTableTest, LoadsEveryDefaultModel) {
  std::vector<const ModelPrice*> models = table_->DefaultModels();
  ASSERT_EQ(models.size(), 166u);
  for (const ModelPrice* model : models) {
    EXPECT_TRUE(model->project_id.empty()) << model->model_name;
    EXPECT_FALSE(model->tiers.empty()) << model->model_name;
  }
}

TEST_F(PriceTableTest, DefaultModelFields) {
  const ModelPrice& gpt4o = MustMatch("gpt-4o");
  EXPECT_EQ(gpt4o.id, kGpt4oId);
  EXPECT_EQ(gpt4o.model_name, "gpt-4o");
  EXPECT_EQ(gpt4o.match_pattern, "(?i)^(openai/)?(gpt-4o)$");
  EXPECT_EQ(gpt4o.tokenizer_id, "openai");
  EXPECT_THAT(gpt4o.tokenizer_config_json, ::testing::HasSubstr(R"("tokenizerModel":"gpt-4o")"));
  EXPECT_EQ(gpt4o.created_at_ms, 1715642107670);  // 2024-05-13T23:15:07.670Z
  EXPECT_FALSE(gpt4o.start_date_ms.has_value());
  ASSERT_EQ(gpt4o.tiers.size(), 1u);
  EXPECT_TRUE(gpt4o.tiers[0].is_default);
  EXPECT_THAT(gpt4o.tiers[0].prices,
              ElementsAre(Pair("input", 2.5e-06), Pair("input_cache_read", 1.25e-06),
                          Pair("input_cached_tokens", 1.25e-06), Pair("output", 1e-05)));

  const ModelPrice& claude = MustMatch("claude-sonnet-4-5-20250929");
  ASSERT_EQ(claude.tiers.size(), 2u);
  EXPECT_EQ(claude.tiers[1].name, "Large Context");
  ASSERT_EQ(claude.tiers[1].conditions.size(), 1u);
  EXPECT_EQ(claude.tiers[1].conditions[0].usage_detail_pattern, "input");
  EXPECT_EQ(claude.tiers[1].conditions[0].op, PricingCondition::Op::kGt);
  EXPECT_EQ(claude.tiers[1].conditions[0].value, 200000);
}

TEST(PriceTableLoadTest, MalformedFilesAreErrors) {
  EXPECT_FALSE(PriceTable::FromDefaultPricesJson("not json").ok());
  EXPECT_FALSE(PriceTable::FromDefaultPricesJson(R"({"models": []})").ok());
  EXPECT_FALSE(PriceTable::FromDefaultPricesJson(R"([{"id": "x", "matchPattern": "x",
                                                      "pricingTiers": []}])")
                   .ok());  // no modelName
  EXPECT_FALSE(PriceTable::FromDefaultPricesJson(
                   R"([{"id": "x", "modelName": "x", "matchPattern": "x", "pricingTiers": [
                        {"id": "t", "name": "t", "isDefault": false, "priority": 1,
                         "conditions": [{"usageDetailPattern": "input", "operator": "between",
                                         "value": 1, "caseSensitive": false}],
                         "prices": {}}]}])")
                   .ok());
}

TEST(PriceTableLoadTest, ModelWithInvalidPatternIsSkipped) {
  auto table = PriceTable::FromDefaultPricesJson(R"([
    {"id": "bad", "modelName": "bad", "matchPattern": "(unclosed", "pricingTiers": []},
    {"id": "good", "modelName": "good", "matchPattern": "^good$", "pricingTiers": []}])");
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ((*table)->DefaultModels().size(), 1u);
  EXPECT_EQ((*table)->DefaultModels()[0]->id, "good");
}

// --- Matching -------------------------------------------------------------

TEST_F(PriceTableTest, MatchesNamesTheWayThePatternsSay) {
  EXPECT_EQ(MustMatch("gpt-4o").id, kGpt4oId);
  EXPECT_EQ(MustMatch("openai/gpt-4o").id, kGpt4oId);
  EXPECT_EQ(MustMatch("GPT-4O").id, kGpt4oId);
  EXPECT_EQ(MustMatch("gpt-4o-mini").model_name, "gpt-4o-mini");
  EXPECT_EQ(MustMatch("eu.anthropic.claude-sonnet-4-5-20250929-v1:0").id, kClaudeSonnet45Id);
  EXPECT_EQ(table_->Match("p", "gpt-4o-turbo-deluxe"), nullptr);
  EXPECT_EQ(table_->Match("p", " gpt-4o"), nullptr);
}

TEST_F(PriceTableTest, EmptyModelNameMatchesNothing) { EXPECT_EQ(table_->Match("p", ""), nullptr); }

TEST_F(PriceTableTest, ProjectModelTakesPrecedenceOverDefault) {
  EXPECT_EQ(MustMatch("gpt-4o", "proj-a").id, kGpt4oId);  // cached before the update

  std::vector<ModelPrice> models;
  models.push_back(CustomModel("my-gpt-4o", "(?i)^gpt-4o$", {{"input", 1.0}}));
  table_->SetProjectModels("proj-a", std::move(models));

  const ModelPrice& own = MustMatch("gpt-4o", "proj-a");
  EXPECT_EQ(own.id, "my-gpt-4o");
  EXPECT_EQ(own.project_id, "proj-a");
  EXPECT_EQ(MustMatch("gpt-4o", "proj-b").id, kGpt4oId);
  // Names the project model does not cover still fall through to defaults.
  EXPECT_EQ(MustMatch("gpt-4o-mini", "proj-a").model_name, "gpt-4o-mini");

  table_->SetProjectModels("proj-a", {});
  EXPECT_EQ(MustMatch("gpt-4o", "proj-a").id, kGpt4oId);
}

TEST_F(PriceTableTest, LatestStartDateWinsAndUndatedComesLast) {
  std::vector<ModelPrice> models;
  models.push_back(CustomModel("undated", "^m$", {}));
  models.push_back(CustomModel("2024", "^m$", {}, 1704067200000));  // 2024-01-01
  models.push_back(CustomModel("2025", "^m$", {}, 1735689600000));  // 2025-01-01
  table_->SetProjectModels("p", std::move(models));
  EXPECT_EQ(MustMatch("m").id, "2025");

  models.clear();
  models.push_back(CustomModel("undated", "^m$", {}));
  models.push_back(CustomModel("2024", "^m$", {}, 1704067200000));
  table_->SetProjectModels("p", std::move(models));
  EXPECT_EQ(MustMatch("m").id, "2024");
}

TEST_F(PriceTableTest, ManyDistinctNamesDoNotDisturbMatching) {
  for (int i = 0; i < 20000; ++i) {
    EXPECT_EQ(table_->Match("p", "unknown-" + std::to_string(i)), nullptr);
  }
  EXPECT_EQ(MustMatch("gpt-4o").id, kGpt4oId);
  EXPECT_EQ(table_->Match("p", "unknown-1"), nullptr);
}

TEST_F(PriceTableTest, ConcurrentMatchAndSetProjectModels) {
  std::atomic<bool> stop = false;
  std::vector<std::thread> readers;
  std::atomic<int> bad = 0;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        const ModelPrice* m = table_->Match("p", "gpt-4o");
        if (m == nullptr || (m->id != kGpt4oId && m->id != "custom")) ++bad;
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    std::vector<ModelPrice> models;
    if (i % 2 == 0) models.push_back(CustomModel("custom", "^gpt-4o$", {{"input", 1.0}}));
    table_->SetProjectModels("p", std::move(models));
  }
  stop = true;
  for (std::thread& r : readers) r.join();
  EXPECT_EQ(bad, 0);
}

// --- Cost -----------------------------------------------------------------

TEST_F(PriceTableTest, Gpt4oDefaultTier) {
  CostResult r =
      PriceTable::Compute(&MustMatch("gpt-4o"), Usage({{"input", 1000}, {"output", 500}}));
  EXPECT_EQ(r.model_id, kGpt4oId);
  EXPECT_EQ(r.tier_id, std::string(kGpt4oId) + "_tier_default");
  EXPECT_EQ(r.tier_name, "Standard");
  EXPECT_THAT(r.usage, ElementsAre(Pair("input", 1000), Pair("output", 500), Pair("total", 1500)));
  EXPECT_THAT(r.cost, ElementsAre(Pair("input", DoubleEq(0.0025)), Pair("output", DoubleEq(0.005)),
                                  Pair("total", DoubleEq(0.0075))));
  EXPECT_THAT(r.total_cost, Optional(DoubleEq(0.0075)));
}

TEST_F(PriceTableTest, CostIsTheDecimalProductRoundedOnce) {
  // 2.5e-06 * 3 in binary floating point is 7.500000000000001e-06; Langfuse
  // multiplies decimals, so the stored cost is exactly the double 7.5e-06.
  CostResult r = PriceTable::Compute(&MustMatch("gpt-4o"), Usage({{"input", 3}, {"output", 7}}));
  EXPECT_EQ(r.cost.at("input"), 7.5e-06);
  EXPECT_EQ(r.cost.at("output"), 7e-05);
}

TEST_F(PriceTableTest, OpenAiChatUsageWithCachedTokens) {
  boost::json::value details = ParseJson(R"({
    "prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200,
    "prompt_tokens_details": {"cached_tokens": 400}})");
  CostResult r =
      PriceTable::Compute(&MustMatch("gpt-4o"), NormalizeProvidedUsage(nullptr, &details, nullptr));
  EXPECT_THAT(r.usage, ElementsAre(Pair("input", 600), Pair("input_cached_tokens", 400),
                                   Pair("output", 200), Pair("total", 1200)));
  // 600 * 2.5e-06 + 400 * 1.25e-06 + 200 * 1e-05
  EXPECT_THAT(r.cost, ElementsAre(Pair("input", DoubleEq(0.0015)),
                                  Pair("input_cached_tokens", DoubleEq(0.0005)),
                                  Pair("output", DoubleEq(0.002)), Pair("total", DoubleEq(0.004))));
  EXPECT_THAT(r.total_cost, Optional(DoubleEq(0.004)));
}

TEST_F(PriceTableTest, MissingTotalIsTheSumOfAllUsageKeys) {
  CostResult r = PriceTable::Compute(
      &MustMatch("gpt-4o"), Usage({{"input", 100}, {"output", 50}, {"input_cached_tokens", 20}}));
  EXPECT_EQ(r.usage.at("total"), 170);
  // 100 * 2.5e-06 + 50 * 1e-05 + 20 * 1.25e-06; `total` has no price.
  EXPECT_THAT(r.total_cost, Optional(DoubleEq(0.000775)));
}

TEST_F(PriceTableTest, PricedTotalIsTheTotalCost) {
  CostResult r =
      PriceTable::Compute(&MustMatch("text-embedding-3-small"), Usage({{"input", 1000}}));
  EXPECT_THAT(r.usage, ElementsAre(Pair("input", 1000), Pair("total", 1000)));
  EXPECT_THAT(r.cost, ElementsAre(Pair("total", DoubleEq(2e-05))));
  EXPECT_THAT(r.total_cost, Optional(DoubleEq(2e-05)));
}

TEST_F(PriceTableTest, TieredModelBelowThresholdUsesDefaultTier) {
  // `gt 200000`: exactly 200000 input tokens is still Standard.
  CostResult r = PriceTable::Compute(&MustMatch("claude-sonnet-4-5-20250929"),
                                     Usage({{"input", 200000}, {"output", 1000}}));
  EXPECT_EQ(r.tier_name, "Standard");
  EXPECT_THAT(r.cost, ElementsAre(Pair("input", DoubleEq(0.6)), Pair("output", DoubleEq(0.015)),
                                  Pair("total", DoubleEq(0.615))));
}

TEST_F(PriceTableTest, TieredModelAboveThresholdUsesLargeContextTier) {
  CostResult r = PriceTable::Compute(&MustMatch("claude-sonnet-4-5-20250929"),
                                     Usage({{"input", 250000}, {"output", 1000}}));
  EXPECT_EQ(r.tier_id, kClaudeLargeContextTierId);
  EXPECT_EQ(r.tier_name, "Large Context");
  EXPECT_THAT(r.cost, ElementsAre(Pair("input", DoubleEq(1.5)), Pair("output", DoubleEq(0.0225)),
                                  Pair("total", DoubleEq(1.5225))));
  EXPECT_THAT(r.total_cost, Optional(DoubleEq(1.5225)));
}

TEST_F(PriceTableTest, TierConditionSumsEveryMatchingKey) {
  // The pattern `input` is unanchored: input (150000) + input_cache_read
  // (60000) = 210000 > 200000, although neither key alone crosses it.
  CostResult r =
      PriceTable::Compute(&MustMatch("claude-sonnet-4-5-20250929"),
                          Usage({{"input", 150000}, {"input_cache_read", 60000}, {"output", 10}}));
  EXPECT_EQ(r.tier_name, "Large Context");
  // 150000 * 6e-06 + 60000 * 6e-07 + 10 * 2.25e-05
  EXPECT_THAT(r.total_cost, Optional(DoubleEq(0.900 + 0.036 + 0.000225)));
}

TEST_F(PriceTableTest, UserProvidedCostWins) {
  CostResult r = PriceTable::Compute(
      &MustMatch("gpt-4o"),
      Usage({{"input", 1000}, {"output", 500}}, {{"input", 0.1}, {"output", 0.2}}));
  EXPECT_EQ(r.tier_name, "Standard");
  EXPECT_THAT(r.usage, ElementsAre(Pair("input", 1000), Pair("output", 500), Pair("total", 1500)));
  EXPECT_THAT(r.cost,
              ElementsAre(Pair("input", 0.1), Pair("output", 0.2), Pair("total", DoubleEq(0.3))));
  EXPECT_THAT(r.total_cost, Optional(DoubleEq(0.3)));
}

TEST_F(PriceTableTest, UserProvidedTotalIsTheTotalCost) {
  CostResult r = PriceTable::Compute(&MustMatch("gpt-4o"),
                                     Usage({{"input", 1000}}, {{"input", 0.1}, {"total", 0.5}}));
  EXPECT_THAT(r.cost, ElementsAre(Pair("input", 0.1), Pair("total", 0.5)));
  EXPECT_THAT(r.total_cost, Optional(0.5));
}

TEST_F(PriceTableTest, UserProvidedCostWithOtherKeysHasNoTotal) {
  CostResult r = PriceTable::Compute(
      &MustMatch("gpt-4o"),
      Usage({{"input", 1000}}, {{"input", 0.1}, {"input_cached_tokens", 0.05}}));
  EXPECT_THAT(r.cost, ElementsAre(Pair("input", 0.1), Pair("input_cached_tokens", 0.05)));
  EXPECT_EQ(r.total_cost, std::nullopt);
}

TEST_F(PriceTableTest, LegacyUsageWithCosts) {
  boost::json::value usage = ParseJson(
      R"({"input": 100, "output": 50, "inputCost": 0.01, "outputCost": 0.02, "totalCost": 0.03})");
  CostResult r =
      PriceTable::Compute(&MustMatch("gpt-4o"), NormalizeProvidedUsage(&usage, nullptr, nullptr));
  EXPECT_THAT(r.usage, ElementsAre(Pair("input", 100), Pair("output", 50), Pair("total", 150)));
  EXPECT_THAT(r.cost, ElementsAre(Pair("input", 0.01), Pair("output", 0.02), Pair("total", 0.03)));
  EXPECT_THAT(r.total_cost, Optional(0.03));

  usage = ParseJson(R"({"input": 100, "output": 50, "inputCost": 0.01, "outputCost": 0.02})");
  r = PriceTable::Compute(&MustMatch("gpt-4o"), NormalizeProvidedUsage(&usage, nullptr, nullptr));
  EXPECT_THAT(r.cost, ElementsAre(Pair("input", 0.01), Pair("output", 0.02),
                                  Pair("total", DoubleEq(0.03))));
  EXPECT_THAT(r.total_cost, Optional(DoubleEq(0.03)));
}

TEST_F(PriceTableTest, NoMatchNoCost) {
  ASSERT_EQ(table_->Match("p", "my-private-llm"), nullptr);
  CostResult r = PriceTable::Compute(nullptr, Usage({{"input", 10}, {"output", 5}}));
  EXPECT_THAT(r.usage, ElementsAre(Pair("input", 10), Pair("output", 5), Pair("total", 15)));
  EXPECT_THAT(r.cost, IsEmpty());
  EXPECT_EQ(r.total_cost, std::nullopt);
  EXPECT_EQ(r.model_id, "");
  EXPECT_EQ(r.tier_id, "");
}

TEST_F(PriceTableTest, NoMatchStillKeepsUserProvidedCost) {
  CostResult r = PriceTable::Compute(nullptr, Usage({}, {{"total", 1.5}}));
  EXPECT_THAT(r.cost, ElementsAre(Pair("total", 1.5)));
  EXPECT_THAT(r.total_cost, Optional(1.5));
}

TEST_F(PriceTableTest, EmptyUsageIsNotCharged) {
  CostResult r = PriceTable::Compute(&MustMatch("gpt-4o"), Usage({}));
  EXPECT_THAT(r.usage, IsEmpty());
  EXPECT_THAT(r.cost, IsEmpty());
  EXPECT_EQ(r.total_cost, std::nullopt);
  EXPECT_EQ(r.model_id, kGpt4oId);
}

// --- Tier selection rules on hand-made models -----------------------------

TEST(TierSelectionTest, NonDefaultTierWithoutConditionsNeverMatches) {
  ModelPrice model = CustomModel("m", "^m$", {{"input", 1.0}});
  model.tiers.push_back(ConditionalTier("catch-all", 1, {}, {{"input", 2.0}}));
  CostResult r = PriceTable::Compute(&model, Usage({{"input", 10}}));
  EXPECT_EQ(r.tier_name, "Standard");
  EXPECT_THAT(r.total_cost, Optional(10.0));
}

TEST(TierSelectionTest, LowestPriorityMatchingTierWins) {
  ModelPrice model = CustomModel("m", "^m$", {{"input", 1.0}});
  model.tiers.push_back(ConditionalTier("p5", 5, {InputAbove(10)}, {{"input", 5.0}}));
  model.tiers.push_back(ConditionalTier("p2", 2, {InputAbove(10)}, {{"input", 2.0}}));
  model.tiers.push_back(ConditionalTier("p1", 1, {InputAbove(1000)}, {{"input", 9.0}}));
  CostResult r = PriceTable::Compute(&model, Usage({{"input", 100}}));
  EXPECT_EQ(r.tier_id, "p2");
  EXPECT_THAT(r.total_cost, Optional(200.0));
}

TEST(TierSelectionTest, AllConditionsMustHold) {
  ModelPrice model = CustomModel("m", "^m$", {{"input", 1.0}});
  model.tiers.push_back(ConditionalTier(
      "both", 1,
      {InputAbove(10), PricingCondition{"^output$", PricingCondition::Op::kLte, 5, false}},
      {{"input", 2.0}}));
  EXPECT_EQ(PriceTable::Compute(&model, Usage({{"input", 100}, {"output", 5}})).tier_id, "both");
  EXPECT_EQ(PriceTable::Compute(&model, Usage({{"input", 100}, {"output", 6}})).tier_id,
            "m_default");
}

TEST(TierSelectionTest, CaseSensitivityOfConditionPattern) {
  ModelPrice model = CustomModel("m", "^m$", {{"input", 1.0}});
  model.tiers.push_back(ConditionalTier(
      "upper", 1, {PricingCondition{"^INPUT$", PricingCondition::Op::kGt, 0, true}}, {}));
  EXPECT_EQ(PriceTable::Compute(&model, Usage({{"input", 100}})).tier_id, "m_default");
  model.tiers[1].conditions[0].case_sensitive = false;
  EXPECT_EQ(PriceTable::Compute(&model, Usage({{"input", 100}})).tier_id, "upper");
}

TEST(TierSelectionTest, InvalidConditionPatternFailsTheCondition) {
  ModelPrice model = CustomModel("m", "^m$", {{"input", 1.0}});
  model.tiers.push_back(ConditionalTier("broken", 1, {InputAbove(0, "(input")}, {}));
  EXPECT_EQ(PriceTable::Compute(&model, Usage({{"input", 100}})).tier_id, "m_default");
}

TEST(TierSelectionTest, Operators) {
  using Op = PricingCondition::Op;
  const UsageDetails usage = {{"input", 10}};
  auto tier_for = [&](Op op, double value) {
    ModelPrice model = CustomModel("m", "^m$", {});
    model.tiers.push_back(ConditionalTier("hit", 1, {{"^input$", op, value, false}}, {}));
    return PriceTable::Compute(&model, Usage(usage)).tier_id;
  };
  EXPECT_EQ(tier_for(Op::kGt, 9), "hit");
  EXPECT_EQ(tier_for(Op::kGt, 10), "m_default");
  EXPECT_EQ(tier_for(Op::kGte, 10), "hit");
  EXPECT_EQ(tier_for(Op::kLt, 10), "m_default");
  EXPECT_EQ(tier_for(Op::kLt, 11), "hit");
  EXPECT_EQ(tier_for(Op::kLte, 10), "hit");
  EXPECT_EQ(tier_for(Op::kEq, 10), "hit");
  EXPECT_EQ(tier_for(Op::kNeq, 10), "m_default");
}

TEST(TierSelectionTest, NoDefaultTierAndNoMatchMeansNoPrices) {
  ModelPrice model;
  model.id = "m";
  model.tiers.push_back(ConditionalTier("big", 1, {InputAbove(1000)}, {{"input", 1.0}}));
  CostResult r = PriceTable::Compute(&model, Usage({{"input", 10}}));
  EXPECT_EQ(r.model_id, "m");
  EXPECT_EQ(r.tier_id, "");
  EXPECT_THAT(r.cost, IsEmpty());
  EXPECT_EQ(r.total_cost, std::nullopt);
}

}  // namespace
}  // namespace loupe
