#include "storage/pricing_tier_json.h"

#include <cmath>
#include <string>

namespace loupe {

namespace json = boost::json;

namespace {

// Integral values as integers, as Langfuse (JavaScript) writes them: a
// threshold of 200000, not 2E5.
json::value Number(double v) {
  if (std::isfinite(v) && std::trunc(v) == v && std::fabs(v) <= 9007199254740992.0) {
    return static_cast<int64_t>(v);
  }
  return v;
}

}  // namespace

std::string_view PricingOperatorName(PricingCondition::Op op) {
  switch (op) {
    case PricingCondition::Op::kGt:
      return "gt";
    case PricingCondition::Op::kGte:
      return "gte";
    case PricingCondition::Op::kLt:
      return "lt";
    case PricingCondition::Op::kLte:
      return "lte";
    case PricingCondition::Op::kEq:
      return "eq";
    case PricingCondition::Op::kNeq:
      return "neq";
  }
  return "gt";
}

bool ParsePricingOperator(std::string_view name, PricingCondition::Op* op) {
  static constexpr std::pair<std::string_view, PricingCondition::Op> kOps[] = {
      {"gt", PricingCondition::Op::kGt}, {"gte", PricingCondition::Op::kGte},
      {"lt", PricingCondition::Op::kLt}, {"lte", PricingCondition::Op::kLte},
      {"eq", PricingCondition::Op::kEq}, {"neq", PricingCondition::Op::kNeq},
  };
  for (const auto& [n, o] : kOps) {
    if (n == name) {
      *op = o;
      return true;
    }
  }
  return false;
}

json::object PricingTierToJson(const PricingTier& tier) {
  json::object o;
  o["id"] = tier.id;
  o["name"] = tier.name;
  o["isDefault"] = tier.is_default;
  o["priority"] = tier.priority;
  json::array conditions;
  for (const PricingCondition& c : tier.conditions) {
    json::object co;
    co["usageDetailPattern"] = c.usage_detail_pattern;
    co["operator"] = PricingOperatorName(c.op);
    co["value"] = Number(c.value);
    co["caseSensitive"] = c.case_sensitive;
    conditions.push_back(std::move(co));
  }
  o["conditions"] = std::move(conditions);
  json::object prices;
  for (const auto& [usage_type, price] : tier.prices) prices[usage_type] = Number(price);
  o["prices"] = std::move(prices);
  return o;
}

json::array PricingTiersToJson(const std::vector<PricingTier>& tiers) {
  json::array out;
  for (const PricingTier& t : tiers) out.push_back(PricingTierToJson(t));
  return out;
}

namespace {

std::optional<double> NumberOf(const json::value* v) {
  if (!v || !v->is_number()) return std::nullopt;
  boost::system::error_code ec;
  double d = v->to_number<double>(ec);
  if (ec) return std::nullopt;
  return d;
}

std::string String(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

absl::StatusOr<std::vector<PricingTier>> PricingTiersFromJson(const json::value& v) {
  const json::array* arr = v.if_array();
  if (!arr) return absl::InvalidArgumentError("pricing tiers: expected an array");
  std::vector<PricingTier> out;
  for (const json::value& tv : *arr) {
    const json::object* o = tv.if_object();
    if (!o) return absl::InvalidArgumentError("pricing tiers: a tier is not an object");
    PricingTier t;
    t.id = String(*o, "id");
    t.name = String(*o, "name");
    if (const json::value* d = o->if_contains("isDefault"); d && d->is_bool()) {
      t.is_default = d->get_bool();
    }
    t.priority = static_cast<int>(NumberOf(o->if_contains("priority")).value_or(0));
    if (const json::value* cv = o->if_contains("conditions"); cv && cv->is_array()) {
      for (const json::value& c : cv->get_array()) {
        const json::object* co = c.if_object();
        if (!co) return absl::InvalidArgumentError("pricing tiers: a condition is not an object");
        PricingCondition cond;
        cond.usage_detail_pattern = String(*co, "usageDetailPattern");
        if (!ParsePricingOperator(String(*co, "operator"), &cond.op)) {
          return absl::InvalidArgumentError("pricing tiers: unknown condition operator");
        }
        cond.value = NumberOf(co->if_contains("value")).value_or(0);
        if (const json::value* cs = co->if_contains("caseSensitive"); cs && cs->is_bool()) {
          cond.case_sensitive = cs->get_bool();
        }
        t.conditions.push_back(std::move(cond));
      }
    }
    if (const json::value* pv = o->if_contains("prices"); pv && pv->is_object()) {
      for (const auto& entry : pv->get_object()) {
        if (std::optional<double> price = NumberOf(&entry.value())) {
          t.prices[std::string(entry.key())] = *price;
        }
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace loupe
