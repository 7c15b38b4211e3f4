#include "storage/sqlite/recent_ids.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace loupe::sqlite {
namespace {

using Entry = RecentIds::Entry;

TEST(RecentIdsTest, ListsOneRowPerKey) {
  RecentIds ids;
  EXPECT_TRUE(ids.Add({1, 100, 7}));
  EXPECT_FALSE(ids.Add({1, 100, 8}));  // same project and hash: indexed directly
  EXPECT_TRUE(ids.Add({2, 100, 9}));   // another project
  EXPECT_EQ(ids.Find(1, 100), 7);
  EXPECT_EQ(ids.Find(2, 100), 9);
  EXPECT_EQ(ids.Find(1, 101), std::nullopt);
  ids.Remove({1, 100, 8});  // not the listed row: no-op
  EXPECT_EQ(ids.Find(1, 100), 7);
  ids.Remove({1, 100, 7});
  EXPECT_EQ(ids.Find(1, 100), std::nullopt);
  EXPECT_TRUE(ids.Add({1, 100, 8}));
}

TEST(RecentIdsTest, MergesInKeyOrderASliceAtATime) {
  RecentIds ids;
  for (int64_t row = 1; row <= 10; ++row) ASSERT_TRUE(ids.Add({1, 1000 - row * 7, row}));
  ids.BeginMerge();
  EXPECT_TRUE(ids.merging());
  EXPECT_EQ(ids.unmerged(), 0u);
  EXPECT_EQ(ids.merge_through(), 10);
  // Rows added during the merge wait for the next one.
  ASSERT_TRUE(ids.Add({1, 5, 11}));
  EXPECT_EQ(ids.unmerged(), 1u);

  std::vector<int64_t> hashes;
  int slices = 0;
  while (ids.merging()) {
    RecentIds::Slice slice = ids.NextSlice(4);
    EXPECT_LE(slice.entries.size(), 4u);
    for (const Entry& e : slice.entries) hashes.push_back(e.id_hash);
    // Until stored, the same slice comes back.
    EXPECT_EQ(ids.NextSlice(4).entries.size(), slice.entries.size());
    ids.SliceStored(slice);
    ++slices;
  }
  EXPECT_EQ(slices, 3);
  ASSERT_EQ(hashes.size(), 10u);
  EXPECT_TRUE(std::is_sorted(hashes.begin(), hashes.end()));
  // Merged rows are still found until forgotten.
  EXPECT_EQ(ids.Find(1, 1000 - 7), 1);
  EXPECT_FALSE(ids.Add({1, 1000 - 7, 12}));
  EXPECT_EQ(ids.size(), 11u);
}

TEST(RecentIdsTest, RowsRemovedDuringAMergeAreNotMerged) {
  RecentIds ids;
  for (int64_t row = 1; row <= 6; ++row) ASSERT_TRUE(ids.Add({1, row, row}));
  ids.BeginMerge();
  RecentIds::Slice first = ids.NextSlice(2);
  ids.SliceStored(first);
  ids.Remove({1, 4, 4});
  RecentIds::Slice rest = ids.NextSlice(10);
  EXPECT_TRUE(rest.completes);
  ASSERT_EQ(rest.entries.size(), 3u);
  EXPECT_EQ(rest.entries[0].row, 3);
  EXPECT_EQ(rest.entries[1].row, 5);
  EXPECT_EQ(rest.entries[2].row, 6);
  ids.SliceStored(rest);
  EXPECT_FALSE(ids.merging());
  EXPECT_EQ(ids.Find(1, 4), std::nullopt);
}

TEST(RecentIdsTest, ForgetsMergedRowsAfterTheirKeepTime) {
  RecentIds ids;
  ASSERT_TRUE(ids.Add({1, 1, 1}));
  ids.BeginMerge();
  ids.SliceStored(ids.NextSlice(100));
  ASSERT_TRUE(ids.Add({1, 2, 2}));  // not merged: never forgotten
  const auto keep = std::chrono::milliseconds(50);
  ids.ForgetMerged(keep);
  EXPECT_EQ(ids.Find(1, 1), 1);  // merged just now
  std::this_thread::sleep_for(keep * 2);
  ids.ForgetMerged(keep);  // moved to the older generation
  EXPECT_EQ(ids.Find(1, 1), 1);
  std::this_thread::sleep_for(keep * 2);
  ids.ForgetMerged(keep);
  EXPECT_EQ(ids.Find(1, 1), std::nullopt);
  EXPECT_EQ(ids.Find(1, 2), 2);
  EXPECT_EQ(ids.size(), 1u);
}

}  // namespace
}  // namespace loupe::sqlite
