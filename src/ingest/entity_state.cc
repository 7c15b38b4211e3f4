#include "ingest/entity_state.h"

#include <algorithm>
#include <climits>
#include <set>
#include <tuple>
#include <vector>

#include "common/hash.h"
#include "common/json_parse.h"

namespace loupe {
namespace {

namespace json = boost::json;

enum class Rule { kIgnore, kFirst, kLast, kLastTruthy, kPerKey, kDeep, kUnion };

Rule TraceRule(std::string_view f) {
  if (f == "id" || f == "timestamp" || f == "_timestampFallback" || f == "environment") {
    return Rule::kFirst;
  }
  if (f == "input" || f == "output") return Rule::kLastTruthy;
  if (f == "metadata") return Rule::kDeep;
  if (f == "tags") return Rule::kUnion;
  if (f == "name" || f == "userId" || f == "sessionId" || f == "release" || f == "version" ||
      f == "externalId" || f == "public") {
    return Rule::kLast;
  }
  return Rule::kIgnore;
}

Rule ObservationRule(std::string_view f) {
  if (f == "id" || f == "traceId" || f == "type" || f == "startTime" || f == "environment" ||
      f == "_typeFallback" || f == "_startTimeFallback") {
    return Rule::kFirst;
  }
  if (f == "input" || f == "output") return Rule::kLastTruthy;
  if (f == "metadata") return Rule::kDeep;
  if (f == "modelParameters" || f == "_usage" || f == "_cost") return Rule::kPerKey;
  if (f == "endTime" || f == "completionStartTime" || f == "name" || f == "level" ||
      f == "statusMessage" || f == "parentObservationId" || f == "version" || f == "model" ||
      f == "promptName" || f == "promptVersion") {
    return Rule::kLast;
  }
  return Rule::kIgnore;
}

Rule ScoreRule(std::string_view f) {
  if (f == "id" || f == "timestamp" || f == "traceId" || f == "environment") return Rule::kFirst;
  if (f == "name" || f == "value" || f == "stringValue" || f == "dataType" || f == "source" ||
      f == "comment" || f == "metadata" || f == "observationId" || f == "sessionId" ||
      f == "datasetRunId" || f == "configId" || f == "queueId" || f == "authorUserId" ||
      f == "executionTraceId" || f == "_sdkName" || f == "_sdkVersion") {
    return Rule::kLast;
  }
  return Rule::kIgnore;
}

using OrderKey = EntityState::OrderKey;

// A slot is [value] when its key is the state's base key, else
// [value, ts, rank, tiebreak].
OrderKey KeyOf(const json::array& slot, const OrderKey& base) {
  if (slot.size() == 1) return base;
  auto num = [&](size_t i) -> int64_t {
    if (i >= slot.size()) return 0;
    const json::value& v = slot[i];
    return v.is_int64() ? v.as_int64() : 0;
  };
  return {num(1), num(2), num(3)};
}

// The slot is allocated from `sp`, the storage of the object it goes into:
// assigning a value from other storage would copy it again.
json::array MakeSlot(const json::value& value, const OrderKey& key, const OrderKey& base,
                     const json::storage_ptr& sp) {
  json::array slot(sp);
  if (key == base) {
    slot.push_back(value);
    return slot;
  }
  slot.reserve(4);
  slot.push_back(value);
  slot.push_back(std::get<0>(key));
  slot.push_back(std::get<1>(key));
  slot.push_back(std::get<2>(key));
  return slot;
}

bool IsSlot(const json::array& a) {
  return a.size() == 1 || (a.size() == 4 && a[1].is_int64() && a[2].is_int64() && a[3].is_int64());
}

bool Truthy(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return false;
    case json::kind::bool_:
      return v.as_bool();
    case json::kind::int64:
      return v.as_int64() != 0;
    case json::kind::uint64:
      return v.as_uint64() != 0;
    case json::kind::double_:
      return v.as_double() != 0;
    case json::kind::string:
      return !v.as_string().empty();
    default:
      return true;
  }
}

// Applies the kFirst/kLast/kLastTruthy rule to one slot in `container`.
// Returns whether the slot now holds `value`.
bool ApplyScalar(json::object& container, std::string_view name, const json::value& value,
                 const OrderKey& key, const OrderKey& base, Rule rule) {
  json::value* existing = container.if_contains(name);
  if (!existing || !existing->is_array()) {
    container[name] = MakeSlot(value, key, base, container.storage());
    return true;
  }
  OrderKey old = KeyOf(existing->as_array(), base);
  bool replace = rule == Rule::kFirst ? key < old : key >= old;
  if (replace) *existing = MakeSlot(value, key, base, container.storage());
  return replace;
}

// Deep merge (lodash `merge` semantics, made order-independent): a node holds
// the latest scalar written at its path ("s": a slot), the latest time an
// object was written there ("o": [] for the base key, else [ts, rank,
// tiebreak]) and its children ("c"). Whichever of scalar and object was
// written last decides the node's shape; children older than a later scalar
// are dropped.
json::array KeyArray(const OrderKey& key, const OrderKey& base, const json::storage_ptr& sp) {
  json::array a(sp);
  if (key == base) return a;
  a.push_back(std::get<0>(key));
  a.push_back(std::get<1>(key));
  a.push_back(std::get<2>(key));
  return a;
}

constexpr OrderKey kNoKey{INT64_MIN, INT64_MIN, INT64_MIN};

OrderKey KeyFromArray(const json::value* v, const OrderKey& base) {
  if (!v || !v->is_array()) return kNoKey;
  const json::array& a = v->as_array();
  if (a.empty()) return base;
  auto num = [&](size_t i) -> int64_t {
    return i < a.size() && a[i].is_int64() ? a[i].as_int64() : 0;
  };
  return {num(0), num(1), num(2)};
}

OrderKey ScalarKey(const json::object& node, const OrderKey& base) {
  const json::value* s = node.if_contains("s");
  if (!s || !s->is_array() || !IsSlot(s->as_array())) return kNoKey;
  return KeyOf(s->as_array(), base);
}

void ApplyDeep(json::object& node, const json::value& value, const OrderKey& key,
               const OrderKey& base) {
  if (value.is_object()) {
    if (KeyFromArray(node.if_contains("o"), base) < key) {
      node["o"] = KeyArray(key, base, node.storage());
    }
    json::value& children = node["c"];
    if (!children.is_object()) children.emplace_object();
    for (const auto& kv : value.as_object()) {
      json::value& child = children.as_object()[kv.key()];
      if (!child.is_object()) child.emplace_object();
      ApplyDeep(child.as_object(), kv.value(), key, base);
    }
    return;
  }
  if (ScalarKey(node, base) <= key) node["s"] = MakeSlot(value, key, base, node.storage());
}

// Returns the node's merged value; `latest` receives the newest key in it.
json::value MaterializeDeep(const json::object& node, const OrderKey& base, OrderKey* latest) {
  OrderKey scalar_key = ScalarKey(node, base);
  OrderKey object_key = KeyFromArray(node.if_contains("o"), base);
  *latest = std::max(scalar_key, object_key);
  if (node.contains("s") && scalar_key >= object_key) return node.at("s").as_array()[0];
  json::object out;
  const json::value* children = node.if_contains("c");
  if (!children || !children->is_object()) return out;
  std::vector<std::string_view> keys;
  for (const auto& kv : children->as_object()) keys.push_back(kv.key());
  std::sort(keys.begin(), keys.end());
  for (std::string_view k : keys) {
    const json::value& child = children->as_object().at(k);
    if (!child.is_object()) continue;
    OrderKey child_latest;
    json::value v = MaterializeDeep(child.as_object(), base, &child_latest);
    if (child_latest > scalar_key) out[k] = std::move(v);
  }
  return out;
}

}  // namespace

absl::StatusOr<EntityState> EntityState::Parse(std::string_view serialized,
                                               boost::json::storage_ptr sp) {
  EntityState state(sp);
  if (serialized.empty()) return state;
  boost::system::error_code ec;
  // The deep-merge state nests two levels per level of a metadata value, so a
  // state is deeper than the request it came from: it is read with the stored
  // JSON limit, far above twice kMaxJsonDepth, or a valid state would turn
  // into "corrupt" and fail every later write.
  static_assert(kMaxStoredJsonDepth > 2 * kMaxJsonDepth + 16);
  json::value v = ParseStoredJson(serialized, ec, sp);
  if (ec || !v.is_object()) return absl::DataLossError("corrupt entity state");
  json::object& o = v.as_object();
  // Moved, not copied: both use `sp`.
  if (json::value* f = o.if_contains("f"); f && f->is_object()) {
    state.fields_ = std::move(f->as_object());
  }
  if (json::value* d = o.if_contains("d"); d && d->is_object()) {
    state.derived_ = std::move(d->as_object());
  }
  if (const json::value* h = o.if_contains("h")) {
    const json::object* held = h->if_object();
    if (!held) return absl::DataLossError("corrupt entity state");
    for (const auto& kv : *held) {
      const json::array* slot = nullptr;
      if (const json::value* f = state.fields_.if_contains(kv.key())) slot = f->if_array();
      if (!IsPayloadField(kv.key()) || !kv.value().is_int64() || !slot || !IsSlot(*slot)) {
        return absl::DataLossError("corrupt entity state");
      }
      state.held_.emplace(std::string(kv.key()), static_cast<int>(kv.value().as_int64()));
    }
  }
  if (const json::value* k = o.if_contains("k")) {
    const json::array* a = k->if_array();
    if (!a || a->size() != 3 || !(*a)[0].is_int64() || !(*a)[1].is_int64() || !(*a)[2].is_int64()) {
      return absl::DataLossError("corrupt entity state");
    }
    state.base_key_ = {(*a)[0].as_int64(), (*a)[1].as_int64(), (*a)[2].as_int64()};
    state.has_base_key_ = true;
  }
  return state;
}

std::string EntityState::Serialize() const {
  // {"k":base key,"f":fields,"d":derived}, written piece by piece rather than
  // through a wrapper object, which would copy every field first.
  std::string out;
  if (has_base_key_) {
    out = "{\"k\":[" + std::to_string(std::get<0>(base_key_)) + "," +
          std::to_string(std::get<1>(base_key_)) + "," + std::to_string(std::get<2>(base_key_)) +
          "],\"f\":";
  } else {
    out = "{\"f\":";
  }
  out += json::serialize(fields_);
  if (!derived_.empty()) {
    out += ",\"d\":";
    out += json::serialize(derived_);
  }
  if (!held_.empty()) {
    json::object held;
    for (const auto& [field, frame] : held_) held[field] = frame;
    out += ",\"h\":";
    out += json::serialize(held);
  }
  out += '}';
  return out;
}

bool EntityState::Hold(std::string_view field, int frame) {
  json::value* v = fields_.if_contains(field);
  if (!IsPayloadField(field) || !v || !v->is_array() || !IsSlot(v->as_array())) return false;
  v->as_array()[0] = nullptr;
  held_.insert_or_assign(std::string(field), frame);
  return true;
}

void EntityState::Resolve(std::string_view field, const json::value& value) {
  auto it = held_.find(field);
  if (it == held_.end()) return;
  held_.erase(it);
  if (json::value* v = fields_.if_contains(field); v && v->is_array() && IsSlot(v->as_array())) {
    v->as_array()[0] = value;
  }
}

void EntityState::Apply(const IngestEvent& event) {
  const OrderKey key{event.timestamp_us, event.is_update ? 1 : 0, IdHash64(event.event_id)};
  // The first event's key becomes the base key: slots it decides are stored
  // without a key of their own (most entities are decided by one event).
  // Slots written before there was a base key (states of older versions)
  // keep their explicit keys, so the base key may be chosen at any time but
  // never changes once chosen.
  if (!has_base_key_) {
    base_key_ = key;
    has_base_key_ = true;
  }
  const OrderKey& base = base_key_;
  auto rule_for = [&](std::string_view f) {
    switch (event.kind) {
      case EntityKind::kTrace:
        return TraceRule(f);
      case EntityKind::kObservation:
        return ObservationRule(f);
      case EntityKind::kScore:
        return ScoreRule(f);
    }
    return Rule::kIgnore;
  };

  // Fields every event of a kind implies, even when the body omits them.
  json::object implied;
  const int64_t envelope_ms = event.timestamp_us / 1000;
  // The envelope time stands in for a missing trace timestamp / observation
  // start time, but only as a fallback: an explicit value from any event wins
  // over it, so an update whose envelope happens to be older than its create
  // cannot move the start.
  switch (event.kind) {
    case EntityKind::kTrace:
      implied["_timestampFallback"] = envelope_ms;
      break;
    case EntityKind::kObservation:
      implied["_startTimeFallback"] = envelope_ms;
      if (!event.observation_type.empty()) {
        implied[event.is_update ? "_typeFallback" : "type"] = event.observation_type;
      }
      break;
    case EntityKind::kScore:
      implied["timestamp"] = envelope_ms;
      if (!event.sdk_name.empty()) implied["_sdkName"] = event.sdk_name;
      if (!event.sdk_version.empty()) implied["_sdkVersion"] = event.sdk_version;
      break;
  }

  auto apply_field = [&](std::string_view name, const json::value& value) {
    Rule rule = rule_for(name);
    switch (rule) {
      case Rule::kIgnore:
        return;
      case Rule::kFirst:
        if (value.is_null()) return;  // an immutable field is never "set" to null
        ApplyScalar(fields_, name, value, key, base, rule);
        return;
      case Rule::kLast:
        ApplyScalar(fields_, name, value, key, base, rule);
        return;
      case Rule::kLastTruthy:
        if (!Truthy(value)) return;
        if (ApplyScalar(fields_, name, value, key, base, Rule::kLast) && !held_.empty()) {
          if (auto it = held_.find(name); it != held_.end()) held_.erase(it);
        }
        return;
      case Rule::kPerKey: {
        if (!value.is_object() || value.as_object().empty()) return;
        json::value& slotv = fields_[name];
        if (!slotv.is_object()) slotv.emplace_object();
        for (const auto& kv : value.as_object()) {
          ApplyScalar(slotv.as_object(), kv.key(), kv.value(), key, base, Rule::kLast);
        }
        return;
      }
      case Rule::kDeep: {
        if (!value.is_object()) return;
        json::value& node = fields_[name];
        if (!node.is_object()) node.emplace_object();
        ApplyDeep(node.as_object(), value, key, base);
        return;
      }
      case Rule::kUnion: {
        if (!value.is_array()) return;
        std::set<std::string> tags;
        if (const json::value* cur = fields_.if_contains(name); cur && cur->is_array()) {
          for (const auto& t : cur->as_array()) {
            if (t.is_string()) tags.emplace(t.as_string());
          }
        }
        for (const auto& t : value.as_array()) {
          if (t.is_string()) tags.emplace(t.as_string());
        }
        json::array out(fields_.storage());
        for (const auto& t : tags) out.emplace_back(t);
        fields_[name] = std::move(out);
        return;
      }
    }
  };

  for (const auto& kv : implied) apply_field(kv.key(), kv.value());
  for (const auto& kv : event.body) apply_field(kv.key(), kv.value());
}

const json::value* EntityState::Get(std::string_view field) const {
  const json::value* v = fields_.if_contains(field);
  if (!v) return nullptr;
  if (v->is_array()) {
    const json::array& a = v->as_array();
    // Scalar slots are [value] or [value, ts, rank, tiebreak]; union fields
    // are plain arrays.
    if (field != "tags" && IsSlot(a)) return &a[0];
  }
  return v;
}

json::object EntityState::GetObject(std::string_view field) const {
  json::object out;
  const json::value* v = fields_.if_contains(field);
  if (!v || !v->is_object()) return out;
  if (field == "metadata") {  // the only kDeep field
    OrderKey latest;
    json::value merged = MaterializeDeep(v->as_object(), base_key_, &latest);
    if (merged.is_object()) return std::move(merged.as_object());
    return out;
  }
  // Keys in sorted order, so the result does not depend on arrival order.
  std::vector<std::string_view> keys;
  for (const auto& kv : v->as_object()) keys.push_back(kv.key());
  std::sort(keys.begin(), keys.end());
  for (std::string_view k : keys) {
    const json::value& slot = v->as_object().at(k);
    if (slot.is_array() && !slot.as_array().empty()) out[k] = slot.as_array()[0];
  }
  return out;
}

std::string EntityState::GetString(std::string_view field) const {
  const json::value* v = Get(field);
  if (!v || !v->is_string()) return "";
  return std::string(v->as_string());
}

bool EntityState::Has(std::string_view field) const {
  const json::value* v = Get(field);
  return v && !v->is_null();
}

}  // namespace loupe
