#include "common/time_util.h"

#include <gtest/gtest.h>

namespace loupe {
namespace {

TEST(TimeUtilTest, ParsesUtcWithMillis) {
  auto us = ParseIsoMicros("2026-11-26T23:13:44.258Z");
  ASSERT_TRUE(us.has_value());
  EXPECT_EQ(FormatIsoMillis(*us / 1000), "2026-11-26T23:13:44.258Z");
}

TEST(TimeUtilTest, KeepsMicrosecondsForOrdering) {
  auto a = ParseIsoMicros("2025-06-01T08:00:00.000050Z");
  auto b = ParseIsoMicros("2025-06-01T08:00:00.000100Z");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*b - *a, 50);
}

TEST(TimeUtilTest, AppliesOffsets) {
  auto a = ParseIsoMicros("2025-06-01T10:00:00+02:00");
  auto b = ParseIsoMicros("2025-06-01T08:00:00Z");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
}

TEST(TimeUtilTest, NaiveTimesAreUtcUnlessStrict) {
  EXPECT_EQ(ParseIsoMicros("2025-06-01T08:00:00"), ParseIsoMicros("2025-06-01T08:00:00Z"));
  EXPECT_FALSE(ParseIsoMicrosStrict("2025-06-01T08:00:00").has_value());
}

TEST(TimeUtilTest, RejectsGarbage) {
  for (const char* bad : {"", "yesterday", "2025-13-01T00:00:00Z", "2025-06-01T25:00:00Z",
                          "2025-06-01T08:00:00.Z", "2025-06-01T08:00:00Zjunk", "2025-06-01X"}) {
    EXPECT_FALSE(ParseIsoMicros(bad).has_value()) << bad;
  }
}

TEST(TimeUtilTest, FormatsEpochAndNegative) {
  EXPECT_EQ(FormatIsoMillis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIsoMillis(-1), "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace loupe
