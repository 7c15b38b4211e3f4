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

}  // namespace
}  // namespace loupe
