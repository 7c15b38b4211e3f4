#include "query/filter.h"

#include <gtest/gtest.h>

namespace loupe {
namespace {

TEST(FilterTest, EmptyMeansNoConditions) {
  auto r = ParseFilterParam("", TraceFilterColumns());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  r = ParseFilterParam("[]", TraceFilterColumns());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(FilterTest, ParsesEachType) {
  auto r = ParseFilterParam(R"([
    {"type":"datetime","column":"timestamp","operator":">=","value":"2025-01-01T00:00:00Z"},
    {"type":"string","column":"User ID","operator":"contains","value":"bob"},
    {"type":"number","column":"totalCost","operator":">","value":0.5},
    {"type":"stringOptions","column":"environment","operator":"none of","value":["dev"]},
    {"type":"arrayOptions","column":"tags","operator":"all of","value":["a","b"]},
    {"type":"boolean","column":"bookmarked","operator":"=","value":true},
    {"type":"null","column":"sessionId","operator":"is null","value":""}
  ])",
                            TraceFilterColumns());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 7u);
  EXPECT_EQ((*r)[0].time_ms, 1735689600000);
  EXPECT_EQ((*r)[1].column, "userId");  // display names map to ids
  EXPECT_EQ((*r)[1].string_value, "bob");
  EXPECT_DOUBLE_EQ((*r)[2].number_value, 0.5);
  EXPECT_EQ((*r)[4].values.size(), 2u);
  EXPECT_TRUE((*r)[5].bool_value);
  EXPECT_EQ((*r)[6].op, "is null");
}

TEST(FilterTest, RejectsWithAReason) {
  struct Case {
    const char* json;
    const char* reason;
  } cases[] = {
      {"{not json", "Invalid JSON"},
      {R"({"type":"string"})", "array"},
      {R"([{"type":"regex","column":"name","operator":"=","value":"x"}])", "unknown type"},
      {R"([{"type":"string","column":"input","operator":"=","value":"x"}])", "cannot be filtered"},
      {R"([{"type":"string","column":"name","operator":">","value":"x"}])", "not valid"},
      {R"([{"type":"number","column":"name","operator":">","value":1}])", "does not take"},
      {R"([{"type":"number","column":"latency","operator":">","value":"1"}])", "number"},
      {R"([{"type":"datetime","column":"timestamp","operator":">","value":"soon"}])", "date-time"},
  };
  for (const auto& c : cases) {
    auto r = ParseFilterParam(c.json, TraceFilterColumns());
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.reason), std::string::npos) << r.status();
  }
}

TEST(FilterTest, StringConditionsInMemory) {
  auto parsed = ParseFilterParam(
      R"([{"type": "string", "column": "name", "operator": "=", "value": "exp"},
          {"type": "string", "column": "name", "operator": "contains", "value": "x"},
          {"type": "string", "column": "name", "operator": "does not contain", "value": "x"},
          {"type": "string", "column": "name", "operator": "starts with", "value": "ex"},
          {"type": "string", "column": "name", "operator": "ends with", "value": "xp"},
          {"type": "stringOptions", "column": "id", "operator": "any of", "value": ["a", "b"]},
          {"type": "stringOptions", "column": "id", "operator": "none of", "value": ["a"]},
          {"type": "null", "column": "datasetId", "operator": "is null", "value": ""},
          {"type": "null", "column": "datasetId", "operator": "is not null", "value": ""}])",
      ExperimentFilterColumns());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const std::vector<FilterCondition>& c = *parsed;
  std::optional<std::string> exp = "exp", other = "EXP", none;
  EXPECT_TRUE(MatchesStringCondition(c[0], exp));
  EXPECT_FALSE(MatchesStringCondition(c[0], other));  // case-sensitive
  EXPECT_FALSE(MatchesStringCondition(c[0], none));
  EXPECT_TRUE(MatchesStringCondition(c[1], exp));
  EXPECT_FALSE(MatchesStringCondition(c[1], none));
  EXPECT_FALSE(MatchesStringCondition(c[2], exp));
  EXPECT_TRUE(MatchesStringCondition(c[2], none));
  EXPECT_TRUE(MatchesStringCondition(c[3], exp));
  EXPECT_TRUE(MatchesStringCondition(c[4], exp));
  EXPECT_FALSE(MatchesStringCondition(c[4], std::optional<std::string>("p")));
  EXPECT_TRUE(MatchesStringCondition(c[5], std::optional<std::string>("b")));
  EXPECT_FALSE(MatchesStringCondition(c[5], none));
  EXPECT_FALSE(MatchesStringCondition(c[6], std::optional<std::string>("a")));
  EXPECT_TRUE(MatchesStringCondition(c[6], none));
  EXPECT_TRUE(MatchesStringCondition(c[7], none));
  EXPECT_FALSE(MatchesStringCondition(c[8], none));
  EXPECT_TRUE(MatchesStringCondition(c[8], exp));
  EXPECT_FALSE(ParseFilterParam(R"([{"type": "string", "column": "traceId", "operator": "=",
                                     "value": "t"}])",
                                ExperimentItemFilterColumns())
                   .ok());
}

}  // namespace
}  // namespace loupe
