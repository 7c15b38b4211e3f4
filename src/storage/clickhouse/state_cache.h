#pragma once

// StateCache: the merge states a process last wrote, so that its next write
// of the same entity need not read the state back from ClickHouse (a
// trace's second batch of updates usually follows within a second).
//
// An entry is only a claim "version V of this entity had this state". The
// caller uses it only when the stored newest version is still V, so entries
// written by another process since, deleted rows and failed writes can never
// be used by mistake. Least recently used entries are dropped beyond the
// byte budget. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace loupe {

class StateCache {
 public:
  explicit StateCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  struct Entry {
    uint64_t row_version = 0;
    int64_t created_at = 0;
    std::string state;  // serialized EntityState
  };

  // `key` names the table and entity (e.g. "observations/<project>/<id>").
  void Put(const std::string& key, Entry entry) {
    const size_t size = key.size() + entry.state.size();
    if (size > max_bytes_) return;
    std::lock_guard lock(mu_);
    Erase(key);
    lru_.push_front({key, std::move(entry)});
    index_[key] = lru_.begin();
    bytes_ += size;
    while (bytes_ > max_bytes_) Erase(lru_.back().first);
  }

  // The state of `key` at `row_version`, if that is the version cached.
  std::optional<Entry> Get(const std::string& key, uint64_t row_version) {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end() || it->second->second.row_version != row_version) return std::nullopt;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }

  // Whatever state of `key` is cached, at its version: a guess the caller
  // must check against the stored version before relying on it.
  std::optional<Entry> Latest(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }

  size_t bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
  }

 private:
  using Item = std::pair<std::string, Entry>;

  void Erase(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    bytes_ -= it->first.size() + it->second->second.state.size();
    lru_.erase(it->second);
    index_.erase(it);
  }

  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::list<Item> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Item>::iterator> index_;
  size_t bytes_ = 0;
};

}  // namespace loupe
