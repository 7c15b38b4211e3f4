#pragma once

// The rows of one event table (traces, observations or scores) whose ids are
// not yet in the table's id index, and the merging of them into it.
//
// Ids are random, so an index keyed by them takes each new row on a random
// page: once the index outgrows the page cache every new row costs a page in
// the WAL and another at checkpoint (bench/README.md, "Where the bytes go").
// New rows are listed here instead and merged into the id index in key order,
// a slice per commit, once there are many more of them than the index has
// pages, so that each page of the index is written once for many rows.
//
// Contract:
//  - At most one row per (project, id hash) is listed: Add() refuses a key
//    that is present, and the caller indexes that row directly.
//  - Find() sees every row added and not removed, including merged rows for
//    a while after their merge committed (see ForgetMerged()), so that a
//    reader whose snapshot predates the merge still finds them.
//  - Thread-safe. The writer adds, removes and merges; readers Find().

#include <chrono>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace loupe::sqlite {

class RecentIds {
 public:
  using Clock = std::chrono::steady_clock;
  using Key = std::pair<int64_t, int64_t>;  // project, id hash

  struct Entry {
    int64_t project = 0;
    int64_t id_hash = 0;
    int64_t row = 0;
  };

  // Lists `e`; false (and nothing listed) if its key is listed already.
  bool Add(const Entry& e);
  // Forgets `e` wherever it is listed (no-op if it is not).
  void Remove(const Entry& e);
  // The listed row of (project, id hash).
  std::optional<int64_t> Find(int64_t project, int64_t id_hash) const;

  // Rows added since the last merge began.
  size_t unmerged() const;
  bool merging() const;
  // Starts merging every row added so far (requires !merging()).
  void BeginMerge();
  // The highest row of the current merge.
  int64_t merge_through() const;
  struct Slice {
    std::vector<Entry> entries;  // in key order
    bool completes = false;      // nothing of the merge is left after them
    size_t end = 0;              // position in the merge after them
  };
  // Up to `max` entries of the current merge after the last stored slice.
  Slice NextSlice(size_t max) const;
  // Records that `slice` is committed to the id index. When it completed the
  // merge, the merge's rows stay findable until ForgetMerged() lets go.
  void SliceStored(const Slice& slice);
  // Forgets the rows of merges completed at least `keep` ago, and perhaps
  // some up to 2 x `keep` ago: the merged rows are held in two generations
  // (rather than one per merge) so that a lookup, which mostly misses, checks
  // at most four maps.
  void ForgetMerged(Clock::duration keep);
  // Entries held in all generations (for tests and memory accounting).
  size_t size() const;

 private:
  // Hash maps: most lookups are for new ids and miss in every map.
  using Map = absl::flat_hash_map<Key, int64_t>;

  mutable std::shared_mutex mu_;
  Map active_;
  Map merging_;
  bool merging_active_ = false;
  int64_t merge_through_ = 0;
  std::vector<Entry> merge_order_;  // merging_ at BeginMerge(), in key order
  size_t merge_stored_ = 0;         // entries of merge_order_ committed
  Map merged_;                      // merges completed since rotated_at_
  Map merged_old_;                  // merges completed in the generation before
  Clock::time_point rotated_at_ = Clock::now();
};

}  // namespace loupe::sqlite
