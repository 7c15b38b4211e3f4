#include "api/json_schema.h"

// valijson reports what it cannot handle by throwing; every call into it is
// wrapped so that none escapes this file.
#define VALIJSON_USE_EXCEPTIONS 1

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "re2/re2.h"
#include "valijson/adapters/boost_json_adapter.hpp"
#include "valijson/constraint_builder.hpp"
#include "valijson/constraints/concrete_constraints.hpp"
#include "valijson/schema.hpp"
#include "valijson/schema_parser.hpp"
#include "valijson/validation_results.hpp"
#include "valijson/validator.hpp"

namespace loupe {
namespace {

namespace json = boost::json;
using valijson::adapters::Adapter;

// Keywords that Compile() rewrites into these, evaluated by the constraints
// below. Clients cannot send them: they are not draft-07 keywords.
constexpr const char* kPatternKeyword = "x-loupe-pattern";
constexpr const char* kUniqueItemsKeyword = "x-loupe-unique-items";
constexpr const char* kStepKeyword = "x-loupe-step";

// Steps (subschemas applied to a value) allowed per node of the value, plus
// a floor for small values: generous for any real schema, small enough that
// an exploding one stops within a fraction of a second. The time limit
// bounds what a large value can cost (real schemas check a few MB in well
// under it).
constexpr int64_t kStepsPerValueNode = 20;
constexpr int64_t kMinSteps = 100000;
constexpr std::chrono::milliseconds kMaxCheckTime{2000};
constexpr int kStepsPerClockRead = 1024;

// ------------------------------------------------------------ custom constraints

class StepBudgetExceeded : public std::runtime_error {
 public:
  StepBudgetExceeded() : std::runtime_error("step budget exceeded") {}
};

// What is left of the evaluation running on this thread.
struct Budget {
  int64_t steps_left = 0;
  int steps_to_clock_read = 0;
  std::chrono::steady_clock::time_point deadline;
};
thread_local Budget tls_budget;

// Counts one application of a subschema (every schema object carries it),
// and stops the evaluation when the budget is spent.
class StepConstraint : public valijson::constraints::PolyConstraint {
 public:
  bool validate(const Adapter&, const std::vector<std::string>&,
                valijson::ValidationResults*) const override {
    Budget& b = tls_budget;
    if (--b.steps_left < 0) throw StepBudgetExceeded();
    if (--b.steps_to_clock_read <= 0) {
      b.steps_to_clock_read = kStepsPerClockRead;
      if (std::chrono::steady_clock::now() > b.deadline) throw StepBudgetExceeded();
    }
    return true;
  }

 private:
  Constraint* cloneInto(void* ptr) const override { return new (ptr) StepConstraint(*this); }
  size_t sizeOf() const override { return sizeof(StepConstraint); }
};

class PatternConstraint : public valijson::constraints::PolyConstraint {
 public:
  PatternConstraint(std::shared_ptr<const RE2> re, std::string pattern)
      : re_(std::move(re)), pattern_(std::move(pattern)) {}

  bool validate(const Adapter& target, const std::vector<std::string>& context,
                valijson::ValidationResults* results) const override {
    if (!target.isString()) return true;
    if (RE2::PartialMatch(target.asString(), *re_)) return true;
    if (results) {
      results->pushError(context, "String does not match the pattern '" + pattern_ + "'.");
    }
    return false;
  }

 private:
  Constraint* cloneInto(void* ptr) const override { return new (ptr) PatternConstraint(*this); }
  size_t sizeOf() const override { return sizeof(PatternConstraint); }

  std::shared_ptr<const RE2> re_;
  std::string pattern_;
};

// A form of a value that is equal for equal JSON values: object members
// sorted, numbers compared as numbers (1 and 1.0 are the same).
void Canonical(const Adapter& v, std::string& out) {
  if (v.isObject()) {
    std::map<std::string, std::string> members;
    v.applyToObject([&](const std::string& name, const Adapter& member) {
      Canonical(member, members[name]);
      return true;
    });
    out += '{';
    for (const auto& [name, text] : members) {
      out += json::serialize(json::string(name));
      out += ':';
      out += text;
      out += ',';
    }
    out += '}';
  } else if (v.isArray()) {
    out += '[';
    v.applyToArray([&](const Adapter& element) {
      Canonical(element, out);
      out += ',';
      return true;
    });
    out += ']';
  } else if (v.isString()) {
    out += json::serialize(json::string(v.asString()));
  } else if (v.isNumber()) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.17g", v.getNumber());
    out += buf;
  } else if (v.isBool()) {
    out += v.getBool() ? "true" : "false";
  } else {
    out += "null";
  }
}

class UniqueItemsConstraint : public valijson::constraints::PolyConstraint {
 public:
  bool validate(const Adapter& target, const std::vector<std::string>& context,
                valijson::ValidationResults* results) const override {
    if (!target.isArray()) return true;
    std::unordered_set<std::string> seen;
    size_t index = 0;
    std::optional<size_t> duplicate;
    target.applyToArray([&](const Adapter& element) {
      std::string form;
      Canonical(element, form);
      if (!seen.insert(std::move(form)).second) {
        duplicate = index;
        return false;
      }
      ++index;
      return true;
    });
    if (!duplicate) return true;
    if (results) {
      results->pushError(context, "Array items are not unique (item #" +
                                      std::to_string(*duplicate) + " repeats an earlier one).");
    }
    return false;
  }

 private:
  Constraint* cloneInto(void* ptr) const override { return new (ptr) UniqueItemsConstraint(*this); }
  size_t sizeOf() const override { return sizeof(UniqueItemsConstraint); }
};

template <typename C>
class SimpleBuilder : public valijson::ConstraintBuilder {
 public:
  valijson::constraints::Constraint* make(const Adapter&) const override { return new C(); }
};

// Patterns were checked by Compile(); this only builds the matcher.
class PatternBuilder : public valijson::ConstraintBuilder {
 public:
  valijson::constraints::Constraint* make(const Adapter& value) const override {
    std::string pattern = value.asString();
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_shared<const RE2>(pattern, options);
    if (!re->ok()) throw std::runtime_error("invalid pattern '" + pattern + "'");
    return new PatternConstraint(std::move(re), std::move(pattern));
  }
};

// ------------------------------------------------------------ checking and rewriting

// Where a node is, as a JSON pointer fragment ("#/properties/a").
std::string Where(const std::string& pointer) { return "#" + pointer; }

std::string EscapePointerToken(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// "#/definitions/a%20b" → "/definitions/a b" (the JSON pointer, with
// percent-escapes decoded, tokens still ~-escaped).
std::optional<std::string> LocalRefPointer(std::string_view ref) {
  if (ref.empty() || ref[0] != '#') return std::nullopt;
  std::string out;
  for (size_t i = 1; i < ref.size(); ++i) {
    if (ref[i] == '%' && i + 2 < ref.size() &&
        std::isxdigit(static_cast<unsigned char>(ref[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(ref[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(ref.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += ref[i];
    }
  }
  if (!out.empty() && out[0] != '/') return std::nullopt;  // "#foo": a named anchor
  return out;
}

// Draft-07 keywords that hold values rather than subschemas.
constexpr std::string_view kValueKeywords =
    " $schema $id $ref $comment title description default examples readOnly writeOnly type enum "
    "const multipleOf maximum exclusiveMaximum minimum exclusiveMinimum maxLength minLength "
    "maxItems minItems maxProperties minProperties required contentMediaType contentEncoding ";

bool IsKnownValueKeyword(std::string_view k) {
  return !k.empty() && k.find(' ') == std::string_view::npos &&
         kValueKeywords.find(" " + std::string(k) + " ") != std::string_view::npos;
}

bool IsSingleSchemaKeyword(std::string_view k) {
  return k == "additionalItems" || k == "additionalProperties" || k == "contains" ||
         k == "propertyNames" || k == "if" || k == "then" || k == "else" || k == "not";
}

// Keywords whose subschemas apply to the same value (not to a part of it).
bool AppliesToSameValue(std::string_view k) {
  return k == "allOf" || k == "anyOf" || k == "oneOf" || k == "not" || k == "if" || k == "then" ||
         k == "else" || k == "dependencies";
}

// Walks a client's schema, checking it and building the copy the validator
// compiles, and records the graph of subschemas that apply to the same value
// (combinators and $refs) to find cycles in it.
class SchemaRewriter {
 public:
  absl::StatusOr<json::value> Rewrite(const json::value& root) {
    json::value out = Schema(root, "");
    if (!error_.empty()) return absl::InvalidArgumentError(error_);
    for (const auto& [from, target] : refs_) {
      if (!nodes_.contains(target)) {
        return absl::InvalidArgumentError("$ref at " + Where(from) +
                                          " does not point at a schema " +
                                          "of this document: " + Where(target));
      }
      same_value_[from].push_back(target);
    }
    if (auto cycle = FindCycle()) {
      return absl::InvalidArgumentError("$ref cycle that never steps into the value: " + *cycle);
    }
    return out;
  }

 private:
  void Fail(const std::string& pointer, const std::string& what) {
    if (error_.empty()) error_ = what + " at " + Where(pointer);
  }

  json::value Schema(const json::value& node, const std::string& pointer) {
    nodes_.insert(pointer);
    if (node.is_bool()) return node;
    const json::object* obj = node.if_object();
    if (!obj) {
      Fail(pointer, "expected a schema (an object or a boolean)");
      return nullptr;
    }
    json::object out;
    for (const auto& kv : *obj) {
      std::string_view key = kv.key();
      const json::value& v = kv.value();
      std::string here = pointer + "/" + EscapePointerToken(key);
      if (IsSingleSchemaKeyword(key)) {
        out[key] = Schema(v, here);
        if (AppliesToSameValue(key)) same_value_[pointer].push_back(here);
      } else if (key == "allOf" || key == "anyOf" || key == "oneOf" ||
                 (key == "items" && v.is_array())) {
        out[key] = SchemaArray(v, here, key, AppliesToSameValue(key) ? &pointer : nullptr);
      } else if (key == "items") {
        out[key] = Schema(v, here);
      } else if (key == "properties" || key == "definitions" || key == "$defs") {
        out[key] = SchemaMap(v, here, nullptr, key);
      } else if (key == "dependencies") {
        out[key] = SchemaMap(v, here, &pointer, key);
      } else if (key == "patternProperties") {
        Fail(here, "patternProperties is not supported");
      } else if (key == "pattern") {
        if (!v.is_string()) {
          Fail(here, "pattern must be a string");
          continue;
        }
        RE2::Options options;
        options.set_log_errors(false);
        RE2 re(std::string(v.as_string()), options);
        if (!re.ok()) {
          Fail(here, "pattern '" + std::string(v.as_string()) +
                         "' cannot be used (lookaround and backreferences are not supported): " +
                         re.error());
          continue;
        }
        out[kPatternKeyword] = v;
      } else if (key == "uniqueItems") {
        if (!v.is_bool()) {
          Fail(here, "uniqueItems must be a boolean");
        } else if (v.as_bool()) {
          out[kUniqueItemsKeyword] = true;
        }
      } else if (key == "format") {
        continue;  // an annotation: formats are not checked
      } else if (key == "$schema") {
        std::string_view uri = v.is_string() ? std::string_view(v.as_string()) : "";
        if (uri.find("draft-04") == uri.npos && uri.find("draft-06") == uri.npos &&
            uri.find("draft-07") == uri.npos) {
          Fail(here, "only JSON Schema draft-07 (or older) is supported, $schema is " +
                         json::serialize(v));
        }
      } else if (key == "$id") {
        continue;  // $refs are resolved within the document only
      } else if (key == "$ref") {
        std::optional<std::string> target =
            v.is_string() ? LocalRefPointer(v.as_string()) : std::nullopt;
        if (!target) {
          Fail(here, "$ref must point into this document (\"#/...\"), got " + json::serialize(v));
          continue;
        }
        refs_.emplace_back(pointer, *target);
        out[key] = v;
      } else if (IsKnownValueKeyword(key)) {
        out[key] = v;
      } else {
        Fail(here, "unknown keyword '" + std::string(key) + "'");
      }
    }
    out[kStepKeyword] = true;
    return out;
  }

  // allOf / anyOf / oneOf (non-empty, applied to `parent`'s value) or the
  // array form of items.
  json::value SchemaArray(const json::value& node, const std::string& pointer, std::string_view key,
                          const std::string* parent) {
    const json::array* arr = node.if_array();
    if (!arr || (key != "items" && arr->empty())) {
      Fail(pointer, std::string(key) + " must be a non-empty array of schemas");
      return nullptr;
    }
    json::array out;
    for (size_t i = 0; i < arr->size(); ++i) {
      std::string here = pointer + "/" + std::to_string(i);
      out.push_back(Schema((*arr)[i], here));
      if (parent) same_value_[*parent].push_back(here);
    }
    return out;
  }

  // properties / definitions / $defs (schemas by name), or dependencies
  // (schemas or arrays of property names) whose schemas apply to `parent`'s
  // value.
  json::value SchemaMap(const json::value& node, const std::string& pointer,
                        const std::string* parent, std::string_view key) {
    const json::object* obj = node.if_object();
    if (!obj) {
      Fail(pointer, std::string(key) + " must be an object");
      return nullptr;
    }
    json::object out;
    for (const auto& kv : *obj) {
      std::string here = pointer + "/" + EscapePointerToken(kv.key());
      if (parent && kv.value().is_array()) {
        out[kv.key()] = kv.value();  // property dependencies: names, not a schema
        continue;
      }
      out[kv.key()] = Schema(kv.value(), here);
      if (parent) same_value_[*parent].push_back(here);
    }
    return out;
  }

  // A cycle in same_value_, as "#/a → #/b → #/a", if there is one.
  std::optional<std::string> FindCycle() {
    std::map<std::string, int> state;  // 1: on the path, 2: done
    std::vector<std::string> path;
    std::function<std::optional<std::string>(const std::string&)> visit =
        [&](const std::string& node) -> std::optional<std::string> {
      int& s = state[node];
      if (s == 2) return std::nullopt;
      if (s == 1) {
        std::string text;
        auto start = std::find(path.begin(), path.end(), node);
        for (auto it = start; it != path.end(); ++it) text += Where(*it) + " → ";
        return text + Where(node);
      }
      s = 1;
      path.push_back(node);
      auto edges = same_value_.find(node);
      if (edges != same_value_.end()) {
        for (const std::string& next : edges->second) {
          if (auto cycle = visit(next)) return cycle;
        }
      }
      path.pop_back();
      state[node] = 2;
      return std::nullopt;
    };
    for (const std::string& node : nodes_) {
      if (auto cycle = visit(node)) return cycle;
    }
    return std::nullopt;
  }

  std::string error_;
  std::set<std::string> nodes_;  // pointers of every subschema
  std::map<std::string, std::vector<std::string>> same_value_;
  std::vector<std::pair<std::string, std::string>> refs_;  // (from, target pointer)
};

int64_t CountNodes(const json::value& v) {
  int64_t n = 1;
  if (const json::object* o = v.if_object()) {
    for (const auto& kv : *o) n += CountNodes(kv.value());
  } else if (const json::array* a = v.if_array()) {
    for (const json::value& e : *a) n += CountNodes(e);
  }
  return n;
}

// valijson's context ("<root>", "[question]", "[0]") as a JSON pointer.
std::string PointerOf(const std::vector<std::string>& context) {
  std::string out;
  for (const std::string& c : context) {
    if (c.size() >= 2 && c.front() == '[' && c.back() == ']') {
      out += "/" + EscapePointerToken(std::string_view(c).substr(1, c.size() - 2));
    }
  }
  return out.empty() ? "/" : out;
}

}  // namespace

struct JsonSchema::Impl {
  std::optional<bool> constant;  // a boolean schema: everything / nothing matches
  valijson::Schema schema;
};

JsonSchema::JsonSchema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JsonSchema::~JsonSchema() = default;

absl::StatusOr<std::unique_ptr<JsonSchema>> JsonSchema::Compile(const json::value& schema) {
  if (json::serialize(schema).size() > kMaxSchemaChars) {
    return absl::InvalidArgumentError("schema is longer than " + std::to_string(kMaxSchemaChars) +
                                      " characters");
  }
  auto impl = std::make_unique<Impl>();
  if (schema.is_bool()) {
    impl->constant = schema.as_bool();
    return std::unique_ptr<JsonSchema>(new JsonSchema(std::move(impl)));
  }
  SchemaRewriter rewriter;
  absl::StatusOr<json::value> rewritten = rewriter.Rewrite(schema);
  if (!rewritten.ok()) return rewritten.status();
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    // The parser owns (and deletes) its builders.
    parser.addConstraintBuilder(kStepKeyword, new SimpleBuilder<StepConstraint>());
    parser.addConstraintBuilder(kUniqueItemsKeyword, new SimpleBuilder<UniqueItemsConstraint>());
    parser.addConstraintBuilder(kPatternKeyword, new PatternBuilder());
    valijson::adapters::BoostJsonAdapter adapter(*rewritten);
    parser.populateSchema(adapter, impl->schema);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(e.what());
  }
  return std::unique_ptr<JsonSchema>(new JsonSchema(std::move(impl)));
}

absl::Status JsonSchema::Validate(const json::value& value) const {
  if (impl_->constant) {
    if (*impl_->constant) return absl::OkStatus();
    return absl::InvalidArgumentError("/: the schema (false) allows no value");
  }
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::BoostJsonAdapter adapter(value);
  bool ok = false;
  tls_budget = {kMinSteps + kStepsPerValueNode * CountNodes(value), kStepsPerClockRead,
                std::chrono::steady_clock::now() + kMaxCheckTime};
  try {
    ok = validator.validate(impl_->schema, adapter, &results);
  } catch (const StepBudgetExceeded&) {
    return absl::InvalidArgumentError(
        "the value is too large or the schema too complex to check it in reasonable time");
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(std::string("the schema cannot be checked: ") + e.what());
  }
  if (ok) return absl::OkStatus();
  valijson::ValidationResults::Error error;
  if (!results.popError(error)) return absl::InvalidArgumentError("/: does not match the schema");
  return absl::InvalidArgumentError(PointerOf(error.context) + ": " + error.description);
}

}  // namespace loupe
