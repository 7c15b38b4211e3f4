#include "storage/sqlite/recent_ids.h"

#include <algorithm>
#include <mutex>
#include <tuple>

namespace loupe::sqlite {

bool RecentIds::Add(const Entry& e) {
  const Key key{e.project, e.id_hash};
  std::unique_lock lock(mu_);
  if (active_.contains(key) || merging_.contains(key) || merged_.contains(key) ||
      merged_old_.contains(key)) {
    return false;
  }
  active_.emplace(key, e.row);
  return true;
}

void RecentIds::Remove(const Entry& e) {
  const Key key{e.project, e.id_hash};
  std::unique_lock lock(mu_);
  auto erase_from = [&](Map& map) {
    auto it = map.find(key);
    if (it != map.end() && it->second == e.row) map.erase(it);
  };
  erase_from(active_);
  erase_from(merging_);
  erase_from(merged_);
  erase_from(merged_old_);
}

std::optional<int64_t> RecentIds::Find(int64_t project, int64_t id_hash) const {
  const Key key{project, id_hash};
  std::shared_lock lock(mu_);
  if (auto it = active_.find(key); it != active_.end()) return it->second;
  for (const Map* map : {&merging_, &merged_, &merged_old_}) {
    if (auto it = map->find(key); it != map->end()) return it->second;
  }
  return std::nullopt;
}

size_t RecentIds::unmerged() const {
  std::shared_lock lock(mu_);
  return active_.size();
}

bool RecentIds::merging() const {
  std::shared_lock lock(mu_);
  return merging_active_;
}

void RecentIds::BeginMerge() {
  std::vector<Entry> order;
  {
    std::shared_lock lock(mu_);
    order.reserve(active_.size());
    for (const auto& [key, row] : active_) order.push_back({key.first, key.second, row});
  }
  // Sorted outside the lock: only the writer changes active_.
  std::sort(order.begin(), order.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.project, a.id_hash) < std::tie(b.project, b.id_hash);
  });
  std::unique_lock lock(mu_);
  merge_through_ = 0;
  for (const Entry& e : order) merge_through_ = std::max(merge_through_, e.row);
  merging_ = std::move(active_);
  active_ = Map();
  merge_order_ = std::move(order);
  merge_stored_ = 0;
  merging_active_ = true;
}

int64_t RecentIds::merge_through() const {
  std::shared_lock lock(mu_);
  return merge_through_;
}

RecentIds::Slice RecentIds::NextSlice(size_t max) const {
  std::shared_lock lock(mu_);
  Slice out;
  size_t i = merge_stored_;
  for (; i < merge_order_.size() && out.entries.size() < max; ++i) {
    const Entry& e = merge_order_[i];
    // Skip rows removed since the merge began.
    auto it = merging_.find(Key{e.project, e.id_hash});
    if (it != merging_.end() && it->second == e.row) out.entries.push_back(e);
  }
  out.end = i;
  out.completes = i == merge_order_.size();
  return out;
}

void RecentIds::SliceStored(const Slice& slice) {
  std::unique_lock lock(mu_);
  merge_stored_ = slice.end;
  if (!slice.completes) return;
  merged_.merge(merging_);
  merging_ = Map();
  merge_order_ = std::vector<Entry>();
  merge_stored_ = 0;
  merging_active_ = false;
}

void RecentIds::ForgetMerged(Clock::duration keep) {
  const Clock::time_point now = Clock::now();
  std::unique_lock lock(mu_);
  if (now - rotated_at_ < keep) return;
  merged_old_ = std::move(merged_);
  merged_ = Map();
  rotated_at_ = now;
}

size_t RecentIds::size() const {
  std::shared_lock lock(mu_);
  return active_.size() + merging_.size() + merged_.size() + merged_old_.size();
}

}  // namespace loupe::sqlite
