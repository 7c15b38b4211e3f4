#include "common/json_parse.h"

#include <gtest/gtest.h>

#include <string>

namespace loupe {
namespace {

namespace json = boost::json;

// An array nested `depth` levels deep around a number: [[[1]]] for 3.
std::string NestedArray(std::size_t depth) {
  return std::string(depth, '[') + "1" + std::string(depth, ']');
}

TEST(JsonParseTest, AcceptsNestingUpToTheLimit) {
  boost::system::error_code ec;
  json::value v = ParseJson(NestedArray(kMaxJsonDepth), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(JsonDepth(v), kMaxJsonDepth);
}

TEST(JsonParseTest, RejectsNestingBeyondTheLimitWithAClearMessage) {
  boost::system::error_code ec;
  ParseJson(NestedArray(kMaxJsonDepth + 1), ec);
  ASSERT_TRUE(ec);
  EXPECT_EQ(JsonErrorMessage(ec), "JSON nested deeper than 256 levels");

  absl::StatusOr<json::value> parsed = ParseJsonOrError(NestedArray(300));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message(), "JSON nested deeper than 256 levels");

  EXPECT_THROW(ParseJson(NestedArray(300)), boost::system::system_error);
}

TEST(JsonParseTest, OtherErrorsKeepTheParserMessage) {
  boost::system::error_code ec;
  ParseJson("{\"a\":", ec);
  ASSERT_TRUE(ec);
  EXPECT_EQ(JsonErrorMessage(ec), ec.message());
}

TEST(JsonParseTest, StoredJsonParsesBackDeeperThanRequestsAllow) {
  boost::system::error_code ec;
  json::value v = ParseStoredJson(NestedArray(2 * kMaxJsonDepth + 10), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(JsonDepth(v), 2 * kMaxJsonDepth + 10);
  ParseStoredJson(NestedArray(kMaxStoredJsonDepth + 1), ec);
  EXPECT_EQ(ec, json::error::too_deep);
}

TEST(JsonParseTest, DepthCountsContainersOnly) {
  EXPECT_EQ(JsonDepth(json::value(1)), 0u);
  EXPECT_EQ(JsonDepth(json::value("x")), 0u);
  EXPECT_EQ(JsonDepth(ParseJson("[]")), 1u);
  EXPECT_EQ(JsonDepth(ParseJson("{}")), 1u);
  EXPECT_EQ(JsonDepth(ParseJson(R"({"a":1,"b":{"c":[{"d":{}}]},"e":[2]})")), 5u);
}

}  // namespace
}  // namespace loupe
