#include "storage/clickhouse/state_cache.h"

#include <gtest/gtest.h>

namespace loupe {
namespace {

TEST(StateCacheTest, ReturnsAStateOnlyAtItsVersion) {
  StateCache cache(1 << 20);
  cache.Put("observations/p/a", {7, 100, "{\"a\":1}"});
  auto hit = cache.Get("observations/p/a", 7);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->state, "{\"a\":1}");
  EXPECT_EQ(hit->created_at, 100);
  // Another process wrote (or deleted) a newer version: not usable.
  EXPECT_FALSE(cache.Get("observations/p/a", 8).has_value());
  EXPECT_FALSE(cache.Get("observations/p/b", 7).has_value());
}

TEST(StateCacheTest, LatestReturnsWhateverVersionIsCached) {
  StateCache cache(1 << 20);
  EXPECT_FALSE(cache.Latest("observations/p/a").has_value());
  cache.Put("observations/p/a", {7, 100, "{\"a\":1}"});
  cache.Put("observations/p/a", {9, 100, "{\"a\":2}"});
  auto latest = cache.Latest("observations/p/a");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->row_version, 9u);
  EXPECT_EQ(latest->state, "{\"a\":2}");
}

TEST(StateCacheTest, APutReplacesTheEntityAndItsSize) {
  StateCache cache(1 << 20);
  cache.Put("k", {1, 0, std::string(100, 'x')});
  cache.Put("k", {2, 0, std::string(10, 'y')});
  EXPECT_FALSE(cache.Get("k", 1).has_value());
  ASSERT_TRUE(cache.Get("k", 2).has_value());
  EXPECT_EQ(cache.bytes(), 1 + 10u);
}

TEST(StateCacheTest, DropsTheLeastRecentlyUsedBeyondTheBudget) {
  StateCache cache(3 * 11);  // three entries of 1 + 10 bytes
  cache.Put("a", {1, 0, std::string(10, 'a')});
  cache.Put("b", {1, 0, std::string(10, 'b')});
  cache.Put("c", {1, 0, std::string(10, 'c')});
  ASSERT_TRUE(cache.Get("a", 1).has_value());  // "b" is now the oldest
  cache.Put("d", {1, 0, std::string(10, 'd')});
  EXPECT_TRUE(cache.Get("a", 1).has_value());
  EXPECT_FALSE(cache.Get("b", 1).has_value());
  EXPECT_TRUE(cache.Get("c", 1).has_value());
  EXPECT_TRUE(cache.Get("d", 1).has_value());
  EXPECT_LE(cache.bytes(), 33u);
  // An entry larger than the whole budget is not kept.
  cache.Put("e", {1, 0, std::string(100, 'e')});
  EXPECT_FALSE(cache.Get("e", 1).has_value());
  EXPECT_TRUE(cache.Get("d", 1).has_value());
}

}  // namespace
}  // namespace loupe
