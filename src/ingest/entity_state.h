#pragma once

// The merge state of one trace, observation or score: every field with the
// order key of the event that last decided it. Applying events in any order
// gives the same state, which is what makes ingestion order-independent and
// idempotent across requests:
//   - kFirst fields (ids, start times, environment) keep the value of the
//     earliest event that set them;
//   - kLast fields keep the value of the latest event that set them (an
//     explicit null counts as set);
//   - kLastTruthy (input/output) keeps the latest truthy value;
//   - kPerKey maps (metadata, usage, cost, model parameters) apply the kLast
//     rule to each top-level key;
//   - kUnion (tags) is the sorted set union.
// "Earliest/latest" is by (envelope timestamp, create before update, hash of
// the event id), so re-sending an event changes nothing.
//
// Thread-compatible value type.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "absl/status/statusor.h"
#include "boost/json.hpp"
#include "ingest/event.h"

namespace loupe {

class EntityState {
 public:
  // (envelope timestamp in µs, 0 create / 1 update, hash of the event id)
  using OrderKey = std::tuple<int64_t, int64_t, int64_t>;

  EntityState() = default;
  // A state whose JSON is allocated from `sp`. With a monotonic resource held
  // by a raw pointer (non-owning) nothing is freed node by node; the
  // resource must then outlive the state and every value copied from it
  // with copy construction (which keeps the source's storage).
  explicit EntityState(boost::json::storage_ptr sp) : fields_(sp), derived_(sp) {}

  // Restores a state produced by Serialize(), allocated from `sp`. Fails on
  // corrupt input.
  static absl::StatusOr<EntityState> Parse(std::string_view serialized,
                                           boost::json::storage_ptr sp = {});
  std::string Serialize() const;

  bool empty() const { return fields_.empty(); }

  // Merges one event of the matching entity kind.
  void Apply(const IngestEvent& event);

  // The merged value of a field, or nullptr if no event set it. For kPerKey
  // fields this builds a plain object; use GetObject() for those.
  const boost::json::value* Get(std::string_view field) const;
  boost::json::object GetObject(std::string_view field) const;
  std::string GetString(std::string_view field) const;  // "" when unset/null/not a string
  bool Has(std::string_view field) const;               // set and not null

  // Values the write path derives (cost, matched model) are kept beside the
  // merged fields so reads do not recompute them.
  boost::json::object& derived() { return derived_; }
  const boost::json::object& derived() const { return derived_; }

  // Held fields: a field whose value a store keeps outside the state (in its
  // own compressed frame), so that merging later events does not decode and
  // re-encode it. The field's slot keeps its order key, so merges decide as
  // before; its value reads as null until Resolve() puts it back. A held
  // field that a later event overwrites stops being held.
  // Only the payload fields (input, output) may be held.
  static bool IsPayloadField(std::string_view field) {
    return field == "input" || field == "output";
  }
  // field -> the store's frame number
  const std::map<std::string, int, std::less<>>& held() const { return held_; }
  // Moves the field's value out of the state (the caller stored it in
  // `frame`); false if the field is unset.
  bool Hold(std::string_view field, int frame);
  // Puts a held field's value back.
  void Resolve(std::string_view field, const boost::json::value& value);

 private:
  boost::json::object fields_;
  boost::json::object derived_;
  std::map<std::string, int, std::less<>> held_;
  // The key slots omit when it is theirs; see Apply().
  OrderKey base_key_{0, 0, 0};
  bool has_base_key_ = false;
};

}  // namespace loupe
