#include "cost/price_table.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "boost/json.hpp"
#include "common/json_parse.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "re2/re2.h"

namespace loupe {

// Defined in the source generated from resources/default-model-prices.json.
extern const std::string_view kDefaultModelPricesJson;

namespace {

namespace json = boost::json;

// The packaged abseil has its own string_view, which std::string_view does not
// convert to; these keep the call sites free of conversions.
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out.append(part);
  return out;
}

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string_view ToStd(json::string_view s) { return std::string_view(s.data(), s.size()); }

// ---------------------------------------------------------------------------
// Regexes

std::unique_ptr<RE2> CompileRegex(std::string_view pattern, bool case_sensitive) {
  RE2::Options options;
  options.set_log_errors(false);  // callers report failures in their own words
  options.set_case_sensitive(case_sensitive);
  auto re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) return nullptr;
  return re;
}

// Langfuse tests matchPattern with Postgres `~` and usageDetailPattern with
// JavaScript's RegExp.test: both search anywhere in the string, so the
// patterns carry their own ^...$ anchors when they want them.
bool Contains(const RE2& re, std::string_view text) {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), re);
}

// Compiled usageDetailPattern regexes, shared by the whole process. The same
// handful of conditions is evaluated for every generation of a tiered model,
// and Compute() is static, so they cannot live with the model. Bounded by
// starting over when full; holders keep their shared_ptr alive.
class ConditionRegexCache {
 public:
  // Returns nullptr when the pattern does not compile with RE2.
  std::shared_ptr<const RE2> Get(const std::string& pattern, bool case_sensitive) {
    auto key = std::make_pair(pattern, case_sensitive);
    absl::MutexLock lock(&mu_);
    if (auto it = regexes_.find(key); it != regexes_.end()) return it->second;
    if (regexes_.size() >= kCapacity) regexes_.clear();
    std::shared_ptr<const RE2> re = CompileRegex(pattern, case_sensitive);
    regexes_.emplace(std::move(key), re);
    return re;
  }

 private:
  static constexpr size_t kCapacity = 1024;
  absl::Mutex mu_;
  absl::flat_hash_map<std::pair<std::string, bool>, std::shared_ptr<const RE2>> regexes_
      ABSL_GUARDED_BY(mu_);
};

ConditionRegexCache& ConditionRegexes() {
  static auto* cache = new ConditionRegexCache();  // never destroyed: used from any thread
  return *cache;
}

// ---------------------------------------------------------------------------
// Tiers and prices

int64_t SaturatingAdd(int64_t a, int64_t b) {
  if (b > 0 && a > std::numeric_limits<int64_t>::max() - b) {
    return std::numeric_limits<int64_t>::max();
  }
  return a + b;
}

bool ConditionHolds(const PricingCondition& condition, const UsageDetails& usage) {
  std::shared_ptr<const RE2> re =
      ConditionRegexes().Get(condition.usage_detail_pattern, condition.case_sensitive);
  if (re == nullptr) return false;  // Langfuse also fails a condition it cannot evaluate
  int64_t sum = 0;
  for (const auto& [key, units] : usage) {
    if (Contains(*re, key)) sum = SaturatingAdd(sum, units);
  }
  const double value = static_cast<double>(sum);
  switch (condition.op) {
    case PricingCondition::Op::kGt:
      return value > condition.value;
    case PricingCondition::Op::kGte:
      return value >= condition.value;
    case PricingCondition::Op::kLt:
      return value < condition.value;
    case PricingCondition::Op::kLte:
      return value <= condition.value;
    case PricingCondition::Op::kEq:
      return value == condition.value;
    case PricingCondition::Op::kNeq:
      return value != condition.value;
  }
  return false;
}

// The non-default tier with the lowest priority whose conditions all hold,
// else the default tier. Does not rely on `tiers` being sorted, since project
// models come from callers; on equal priorities the earlier tier wins, like
// Langfuse's stable sort.
const PricingTier* SelectTier(const ModelPrice& model, const UsageDetails& usage) {
  const PricingTier* matched = nullptr;
  const PricingTier* fallback = nullptr;
  for (const PricingTier& tier : model.tiers) {
    if (tier.is_default) {
      if (fallback == nullptr) fallback = &tier;
      continue;
    }
    if (matched != nullptr && tier.priority >= matched->priority) continue;
    // A tier without conditions would match everything; Langfuse treats it as
    // matching nothing, so only the default tier can be unconditional.
    if (tier.conditions.empty()) continue;
    const bool holds =
        std::all_of(tier.conditions.begin(), tier.conditions.end(),
                    [&](const PricingCondition& c) { return ConditionHolds(c, usage); });
    if (holds) matched = &tier;
  }
  return matched != nullptr ? matched : fallback;
}

// price × units as Langfuse computes it: decimal.js multiplies the exact
// decimal price and only the product is rounded to a double, so 2.5e-06 × 3
// is 7.5e-06, where a binary multiplication gives 7.500000000000001e-06.
// The decimal a price was written as is its shortest round-trip form; its
// digits times the units fit in 128 bits, and from_chars rounds once.
double MultiplyPrice(double price, int64_t units) {
  if (!std::isfinite(price) || units < 0) return price * static_cast<double>(units);
  char text[64];
  auto [end, ec] =
      std::to_chars(text, text + sizeof(text), std::fabs(price), std::chars_format::scientific);
  if (ec != std::errc()) return price * static_cast<double>(units);

  // `text` is "d[.ddd]e±x".
  uint64_t mantissa = 0;
  int fraction_digits = 0;
  bool in_fraction = false;
  const char* p = text;
  for (; p < end && *p != 'e'; ++p) {
    if (*p == '.') {
      in_fraction = true;
      continue;
    }
    mantissa = mantissa * 10 + static_cast<uint64_t>(*p - '0');
    if (in_fraction) ++fraction_digits;
  }
  int exponent = 0;
  if (p < end) {
    ++p;  // 'e'
    if (p < end && *p == '+') ++p;
    std::from_chars(p, end, exponent);
  }

  __extension__ using Uint128 = unsigned __int128;
  Uint128 product = static_cast<Uint128>(mantissa) * static_cast<uint64_t>(units);
  char digits[48];
  char* d = digits + sizeof(digits);
  do {
    *--d = static_cast<char>('0' + static_cast<int>(product % 10));
    product /= 10;
  } while (product != 0);
  std::string decimal(d, digits + sizeof(digits) - d);
  decimal += 'e';
  decimal += std::to_string(exponent - fraction_digits);

  double result = 0;
  if (std::from_chars(decimal.data(), decimal.data() + decimal.size(), result).ec != std::errc()) {
    return price * static_cast<double>(units);
  }
  return price < 0 ? -result : result;
}

// ---------------------------------------------------------------------------
// Loading

// A model together with its compiled match pattern.
struct CompiledModel {
  ModelPrice model;
  std::unique_ptr<RE2> pattern;
};

// Models in match order. Never modified once built, so pointers to its
// elements stay valid for as long as the list lives.
using ModelList = std::vector<CompiledModel>;

// Compiles the patterns (skipping models whose pattern RE2 rejects), sorts
// tiers by priority and orders the models for matching: latest start_date
// first, undated models last, ties in input order.
std::unique_ptr<ModelList> BuildModelList(std::vector<ModelPrice> models) {
  auto list = std::make_unique<ModelList>();
  list->reserve(models.size());
  for (ModelPrice& model : models) {
    std::unique_ptr<RE2> pattern = CompileRegex(model.match_pattern, /*case_sensitive=*/true);
    if (pattern == nullptr) {
      LogWarn("skipping model: match pattern does not compile with RE2",
              {{"model", model.model_name}, {"id", model.id}, {"pattern", model.match_pattern}});
      continue;
    }
    std::stable_sort(
        model.tiers.begin(), model.tiers.end(),
        [](const PricingTier& a, const PricingTier& b) { return a.priority < b.priority; });
    list->push_back(CompiledModel{std::move(model), std::move(pattern)});
  }
  std::stable_sort(list->begin(), list->end(), [](const CompiledModel& a, const CompiledModel& b) {
    const auto& x = a.model.start_date_ms;
    const auto& y = b.model.start_date_ms;
    if (x.has_value() != y.has_value()) return x.has_value();
    return x.has_value() && *x > *y;
  });
  return list;
}

const ModelPrice* FirstMatch(const ModelList& models, std::string_view model_name) {
  for (const CompiledModel& entry : models) {
    if (Contains(*entry.pattern, model_name)) return &entry.model;
  }
  return nullptr;
}

absl::Status Malformed(size_t index, std::string_view what) {
  return absl::InvalidArgumentError(
      Cat({"default model prices: entry ", std::to_string(index), ": ", what}));
}

absl::StatusOr<std::string> RequiredString(const json::object& o, std::string_view key,
                                           size_t index) {
  const json::value* v = o.if_contains(key);
  const json::string* s = v == nullptr ? nullptr : v->if_string();
  if (s == nullptr) return Malformed(index, Cat({"`", key, "` must be a string"}));
  return std::string(*s);
}

std::optional<double> JsonNumber(const json::value& v) {
  if (const double* d = v.if_double()) return *d;
  if (const int64_t* i = v.if_int64()) return static_cast<double>(*i);
  if (const uint64_t* u = v.if_uint64()) return static_cast<double>(*u);
  // Decimal columns are sometimes exported as strings.
  if (const json::string* s = v.if_string()) {
    double parsed = 0;
    const char* end = s->data() + s->size();
    auto [ptr, ec] = std::from_chars(s->data(), end, parsed);
    if (ec == std::errc() && ptr == end) return parsed;
  }
  return std::nullopt;
}

// An ISO timestamp field as epoch milliseconds; absent or null is nullopt.
absl::StatusOr<std::optional<int64_t>> OptionalTimestamp(const json::object& o,
                                                         std::string_view key, size_t index) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<int64_t>();
  const json::string* s = v->if_string();
  std::optional<int64_t> micros = s == nullptr ? std::nullopt : ParseIsoMicros(*s);
  if (!micros) return Malformed(index, Cat({"`", key, "` is not an ISO date-time"}));
  return std::optional<int64_t>(*micros / 1000);
}

absl::StatusOr<PricingCondition::Op> ParseOperator(std::string_view op, size_t index) {
  if (op == "gt") return PricingCondition::Op::kGt;
  if (op == "gte") return PricingCondition::Op::kGte;
  if (op == "lt") return PricingCondition::Op::kLt;
  if (op == "lte") return PricingCondition::Op::kLte;
  if (op == "eq") return PricingCondition::Op::kEq;
  if (op == "neq") return PricingCondition::Op::kNeq;
  return Malformed(index, Cat({"unknown condition operator `", op, "`"}));
}

absl::StatusOr<PricingCondition> ParseCondition(const json::value& value, size_t index) {
  const json::object* o = value.if_object();
  if (o == nullptr) return Malformed(index, "a condition is not an object");
  PricingCondition condition;
  ASSIGN_OR_RETURN(condition.usage_detail_pattern, RequiredString(*o, "usageDetailPattern", index));
  ASSIGN_OR_RETURN(std::string op, RequiredString(*o, "operator", index));
  ASSIGN_OR_RETURN(condition.op, ParseOperator(op, index));
  const json::value* threshold = o->if_contains("value");
  std::optional<double> number = threshold == nullptr ? std::nullopt : JsonNumber(*threshold);
  if (!number) return Malformed(index, "a condition `value` is not a number");
  condition.value = *number;
  if (const json::value* cs = o->if_contains("caseSensitive")) {
    if (const bool* b = cs->if_bool()) condition.case_sensitive = *b;
  }
  return condition;
}

absl::StatusOr<PricingTier> ParseTier(const json::value& value, size_t index) {
  const json::object* o = value.if_object();
  if (o == nullptr) return Malformed(index, "a pricing tier is not an object");
  PricingTier tier;
  ASSIGN_OR_RETURN(tier.id, RequiredString(*o, "id", index));
  ASSIGN_OR_RETURN(tier.name, RequiredString(*o, "name", index));
  if (const json::value* v = o->if_contains("isDefault")) {
    const bool* b = v->if_bool();
    if (b == nullptr) return Malformed(index, "`isDefault` must be a boolean");
    tier.is_default = *b;
  }
  if (const json::value* v = o->if_contains("priority")) {
    const int64_t* i = v->if_int64();
    if (i == nullptr || *i < std::numeric_limits<int>::min() ||
        *i > std::numeric_limits<int>::max()) {
      return Malformed(index, "`priority` must be an integer");
    }
    tier.priority = static_cast<int>(*i);
  }
  if (const json::value* v = o->if_contains("conditions"); v != nullptr && !v->is_null()) {
    const json::array* conditions = v->if_array();
    if (conditions == nullptr) return Malformed(index, "`conditions` must be an array");
    for (const json::value& c : *conditions) {
      ASSIGN_OR_RETURN(PricingCondition condition, ParseCondition(c, index));
      tier.conditions.push_back(std::move(condition));
    }
  }
  const json::value* prices_value = o->if_contains("prices");
  const json::object* prices = prices_value == nullptr ? nullptr : prices_value->if_object();
  if (prices == nullptr) return Malformed(index, "`prices` must be an object");
  for (const auto& entry : *prices) {
    std::optional<double> price = JsonNumber(entry.value());
    if (!price) return Malformed(index, Cat({"price `", ToStd(entry.key()), "` is not a number"}));
    tier.prices[std::string(entry.key())] = *price;
  }
  return tier;
}

absl::StatusOr<ModelPrice> ParseModel(const json::value& value, size_t index) {
  const json::object* o = value.if_object();
  if (o == nullptr) return Malformed(index, "not an object");
  ModelPrice model;
  ASSIGN_OR_RETURN(model.id, RequiredString(*o, "id", index));
  ASSIGN_OR_RETURN(model.model_name, RequiredString(*o, "modelName", index));
  ASSIGN_OR_RETURN(model.match_pattern, RequiredString(*o, "matchPattern", index));
  ASSIGN_OR_RETURN(model.start_date_ms, OptionalTimestamp(*o, "startDate", index));
  ASSIGN_OR_RETURN(std::optional<int64_t> created, OptionalTimestamp(*o, "createdAt", index));
  ASSIGN_OR_RETURN(std::optional<int64_t> updated, OptionalTimestamp(*o, "updatedAt", index));
  model.created_at_ms = created.value_or(0);
  model.updated_at_ms = updated.value_or(model.created_at_ms);
  if (const json::value* v = o->if_contains("unit")) {
    if (const json::string* s = v->if_string()) model.unit = std::string(*s);
  }
  if (const json::value* v = o->if_contains("tokenizerId")) {
    if (const json::string* s = v->if_string()) model.tokenizer_id = std::string(*s);
  }
  if (const json::value* v = o->if_contains("tokenizerConfig"); v != nullptr && !v->is_null()) {
    model.tokenizer_config_json = json::serialize(*v);
  }
  const json::value* tiers_value = o->if_contains("pricingTiers");
  const json::array* tiers = tiers_value == nullptr ? nullptr : tiers_value->if_array();
  if (tiers == nullptr) return Malformed(index, "`pricingTiers` must be an array");
  for (const json::value& t : *tiers) {
    ASSIGN_OR_RETURN(PricingTier tier, ParseTier(t, index));
    model.tiers.push_back(std::move(tier));
  }
  return model;
}

// ---------------------------------------------------------------------------
// Match cache

// Memoized Match() results keyed by (project, model name); a cached nullptr
// records that nothing matches. Bounded with two generations: when `current_`
// is full it becomes `previous_` and the older generation is dropped, and a
// hit in `previous_` is promoted. Names in steady use therefore survive a
// rollover, while one-off names age out — an approximate LRU without
// per-entry bookkeeping.
class MatchCache {
 public:
  std::optional<const ModelPrice*> Find(std::string_view project, std::string_view model) {
    const KeyView key(project, model);
    absl::MutexLock lock(&mu_);
    if (auto it = current_.find(key); it != current_.end()) return it->second;
    auto it = previous_.find(key);
    if (it == previous_.end()) return std::nullopt;
    const ModelPrice* found = it->second;
    InsertLocked(key, found);
    return found;
  }

  void Insert(std::string_view project, std::string_view model, const ModelPrice* found) {
    // Model names come from clients; do not let a few huge ones pin memory.
    if (model.size() > kMaxCachedNameLength) return;
    absl::MutexLock lock(&mu_);
    InsertLocked(KeyView(project, model), found);
  }

  void ForgetProject(std::string_view project) {
    absl::MutexLock lock(&mu_);
    for (Map* map : {&current_, &previous_}) {
      for (auto it = map->begin(); it != map->end();) {
        if (it->first.first == project) {
          map->erase(it++);
        } else {
          ++it;
        }
      }
    }
  }

 private:
  using Key = std::pair<std::string, std::string>;
  using KeyView = std::pair<std::string_view, std::string_view>;
  // Transparent, so lookups on the ingest path need no string copies.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(KeyView key) const { return absl::Hash<KeyView>()(key); }
  };
  struct KeyEq {
    using is_transparent = void;
    bool operator()(KeyView a, KeyView b) const { return a == b; }
  };
  using Map = absl::flat_hash_map<Key, const ModelPrice*, KeyHash, KeyEq>;

  static constexpr size_t kGenerationCapacity = 4096;
  static constexpr size_t kMaxCachedNameLength = 256;

  void InsertLocked(KeyView key, const ModelPrice* found) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (current_.size() >= kGenerationCapacity) {
      previous_ = std::move(current_);
      current_ = Map();
    }
    current_.insert_or_assign(Key(key.first, key.second), found);
  }

  absl::Mutex mu_;
  Map current_ ABSL_GUARDED_BY(mu_);
  Map previous_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

struct PriceTable::Impl {
  std::unique_ptr<const ModelList> defaults;  // immutable after construction

  // Guards the project models. Match() holds it shared across lookup *and*
  // cache insert, so SetProjectModels() (exclusive) cannot swap the models in
  // between and leave a stale pointer cached past its own invalidation. Lock
  // order: mu, then the cache's own mutex.
  mutable absl::Mutex mu;
  absl::flat_hash_map<std::string, std::unique_ptr<const ModelList>> project_models
      ABSL_GUARDED_BY(mu);
  mutable MatchCache cache;

  // Lists replaced by SetProjectModels(), kept for a grace period. A caller
  // may be between Match() and Compute() on another thread when the update
  // lands; freeing at once would hand it freed memory. Updates are rare admin
  // actions, so holding old lists for a while costs next to nothing.
  static constexpr absl::Duration kRetiredGracePeriod = absl::Minutes(5);
  std::vector<std::pair<absl::Time, std::unique_ptr<const ModelList>>> retired ABSL_GUARDED_BY(mu);
};

PriceTable::PriceTable() : impl_(std::make_unique<Impl>()) {}
PriceTable::~PriceTable() = default;

absl::StatusOr<std::unique_ptr<PriceTable>> PriceTable::FromDefaultPricesJson(
    std::string_view text) {
  boost::system::error_code ec;
  json::value root = ParseJson(text, ec, {}, kMaxStoredJsonDepth);
  if (ec) {
    return absl::InvalidArgumentError(Cat({"default model prices: invalid JSON: ", ec.message()}));
  }
  const json::array* entries = root.if_array();
  if (entries == nullptr) {
    return absl::InvalidArgumentError("default model prices: expected a JSON array");
  }
  std::vector<ModelPrice> models;
  models.reserve(entries->size());
  for (size_t i = 0; i < entries->size(); ++i) {
    ASSIGN_OR_RETURN(ModelPrice model, ParseModel((*entries)[i], i));
    models.push_back(std::move(model));
  }
  std::unique_ptr<PriceTable> table(new PriceTable());
  table->impl_->defaults = BuildModelList(std::move(models));
  return table;
}

absl::StatusOr<std::unique_ptr<PriceTable>> PriceTable::FromEmbeddedDefaults() {
  return FromDefaultPricesJson(kDefaultModelPricesJson);
}

void PriceTable::SetProjectModels(const std::string& project_id, std::vector<ModelPrice> models) {
  // The project id is what separates custom models from defaults downstream,
  // so it is set here rather than trusted from the caller.
  for (ModelPrice& model : models) model.project_id = project_id;
  std::unique_ptr<const ModelList> list = BuildModelList(std::move(models));  // slow; unlocked

  const absl::Time now = absl::Now();
  std::vector<std::unique_ptr<const ModelList>> expired;
  {
    absl::MutexLock lock(&impl_->mu);
    auto it = impl_->project_models.find(project_id);
    if (it != impl_->project_models.end()) {
      impl_->retired.emplace_back(now, std::move(it->second));
      impl_->project_models.erase(it);
    }
    if (!list->empty()) impl_->project_models.emplace(project_id, std::move(list));
    impl_->cache.ForgetProject(project_id);

    auto& retired = impl_->retired;
    auto first_kept = std::partition(retired.begin(), retired.end(), [&](const auto& entry) {
      return now - entry.first >= Impl::kRetiredGracePeriod;
    });
    for (auto r = retired.begin(); r != first_kept; ++r) expired.push_back(std::move(r->second));
    retired.erase(retired.begin(), first_kept);
  }
  // `expired` is freed here, outside the lock.
}

const ModelPrice* PriceTable::Match(std::string_view project_id,
                                    std::string_view model_name) const {
  if (model_name.empty()) return nullptr;
  absl::ReaderMutexLock lock(&impl_->mu);
  if (std::optional<const ModelPrice*> cached = impl_->cache.Find(project_id, model_name)) {
    return *cached;
  }
  const ModelPrice* found = nullptr;
  if (auto it = impl_->project_models.find(ToAbsl(project_id)); it != impl_->project_models.end()) {
    found = FirstMatch(*it->second, model_name);
  }
  if (found == nullptr) found = FirstMatch(*impl_->defaults, model_name);
  impl_->cache.Insert(project_id, model_name, found);
  return found;
}

CostResult PriceTable::Compute(const ModelPrice* model, const ProvidedUsage& provided) {
  CostResult result;
  result.usage = provided.usage;
  // data-model §4 step 4: a missing total is the sum of *all* keys, detail
  // keys such as input_cached_tokens included.
  if (!result.usage.empty() && !result.usage.contains("total")) {
    int64_t total = 0;
    for (const auto& [key, units] : result.usage) total = SaturatingAdd(total, units);
    result.usage["total"] = total;
  }

  const PricingTier* tier = nullptr;
  if (model != nullptr) {
    result.model_id = model->id;
    tier = SelectTier(*model, result.usage);
    if (tier != nullptr) {
      result.tier_id = tier->id;
      result.tier_name = tier->name;
    }
  }

  // Any cost sent by the client is taken as the whole truth: nothing is
  // computed, and a total is only derived when it is unambiguous.
  if (!provided.cost.empty()) {
    result.cost = provided.cost;
    if (auto it = result.cost.find("total"); it != result.cost.end()) {
      result.total_cost = it->second;
    } else if (std::all_of(result.cost.begin(), result.cost.end(), [](const auto& e) {
                 return e.first == "input" || e.first == "output";
               })) {
      const double input = result.cost.contains("input") ? result.cost.at("input") : 0.0;
      const double output = result.cost.contains("output") ? result.cost.at("output") : 0.0;
      result.total_cost = input + output;
      result.cost["total"] = *result.total_cost;
    }
    return result;
  }

  if (tier == nullptr) return result;
  for (const auto& [key, units] : result.usage) {
    if (auto price = tier->prices.find(key); price != tier->prices.end()) {
      result.cost[key] = MultiplyPrice(price->second, units);
    }
  }
  if (auto it = result.cost.find("total"); it != result.cost.end()) {
    result.total_cost = it->second;
  } else if (!result.cost.empty()) {
    double sum = 0;
    for (const auto& [key, cost] : result.cost) sum += cost;
    result.total_cost = sum;
    result.cost["total"] = sum;
  }
  return result;
}

std::vector<const ModelPrice*> PriceTable::DefaultModels() const {
  std::vector<const ModelPrice*> out;
  out.reserve(impl_->defaults->size());
  for (const CompiledModel& entry : *impl_->defaults) out.push_back(&entry.model);
  return out;
}

}  // namespace loupe
