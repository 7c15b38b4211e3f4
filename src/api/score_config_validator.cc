#include "api/score_config_validator.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

#include "common/status_macros.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr size_t kMaxScoreConfigNameLength = 35;
constexpr size_t kMaxTextScoreLength = 500;

// Numbers in messages as JavaScript prints them: 10, not 10.000000.
std::string FormatNumber(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return std::to_string(v);
  return std::string(buf, end);
}

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

absl::Status AgainstConfig(std::string_view what) {
  return Invalid("Ingested score body not valid against provided config: " + std::string(what));
}

absl::Status Mismatch(const std::string& expected, const std::string& got) {
  return Invalid("Data type mismatch based on config: expected " + expected + ", got " + got);
}

// Counts code points, so that a non-ASCII name is measured as the user sees it.
size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

absl::Status ValidateScoreConfigName(const std::string& name) {
  size_t length = Utf8Length(name);
  if (length == 0) return Invalid("name: String must contain at least 1 character(s)");
  if (length > kMaxScoreConfigNameLength) {
    return Invalid("name: String must contain at most 35 character(s)");
  }
  for (unsigned char c : name) {
    // Non-ASCII bytes belong to letters of other scripts, which Langfuse's
    // Unicode-aware rule admits.
    bool allowed = c >= 0x80 || std::isalnum(c) || c == ' ' || c == '_' || c == '.' || c == '(' ||
                   c == ')' || c == '-';
    if (!allowed) {
      return Invalid(
          "name: Name can only contain letters, numbers, spaces, underscores, periods, "
          "parentheses and hyphens");
    }
  }
  return absl::OkStatus();
}

std::vector<ScoreConfigCategory> BooleanScoreConfigCategories() {
  return {{1, "True"}, {0, "False"}};
}

absl::Status ValidateScoreConfigRules(const ScoreConfigRecord& c) {
  const bool has_range = c.min_value.has_value() || c.max_value.has_value();
  if (c.data_type == "NUMERIC") {
    if (c.categories) return Invalid("categories: Categories are not allowed for NUMERIC configs");
    if (c.min_value && c.max_value && *c.max_value <= *c.min_value) {
      return Invalid("Maximum value must be greater than Minimum value");
    }
    return absl::OkStatus();
  }
  if (c.data_type == "CATEGORICAL") {
    if (has_range) {
      return Invalid("minValue/maxValue: A range is only allowed for NUMERIC configs");
    }
    if (!c.categories) return Invalid("categories: Required for CATEGORICAL configs");
    std::set<std::string> labels;
    std::set<double> values;
    for (const ScoreConfigCategory& cat : *c.categories) {
      if (cat.label.empty()) {
        return Invalid(
            "categories: Category must be an array of objects with label value pairs, where "
            "labels and values are unique.");
      }
      if (!labels.insert(cat.label).second) {
        return Invalid("Duplicate category label: " + cat.label +
                       ", category labels must be unique");
      }
      if (!values.insert(cat.value).second) {
        return Invalid("Duplicate category value: " + FormatNumber(cat.value) +
                       ", category values must be unique");
      }
    }
    return absl::OkStatus();
  }
  if (c.data_type == "BOOLEAN") {
    if (has_range) {
      return Invalid("minValue/maxValue: A range is only allowed for NUMERIC configs");
    }
    std::vector<ScoreConfigCategory> expected = BooleanScoreConfigCategories();
    bool same = c.categories && c.categories->size() == expected.size();
    for (size_t i = 0; same && i < expected.size(); ++i) {
      same = (*c.categories)[i].label == expected[i].label &&
             (*c.categories)[i].value == expected[i].value;
    }
    if (!same) {
      return Invalid(
          "categories: Boolean configs have exactly the categories "
          "[{\"label\":\"True\",\"value\":1},{\"label\":\"False\",\"value\":0}]");
    }
    return absl::OkStatus();
  }
  if (c.data_type == "TEXT") {
    if (c.categories) return Invalid("categories: Categories are not allowed for TEXT configs");
    if (has_range) {
      return Invalid("minValue/maxValue: A range is only allowed for NUMERIC configs");
    }
    return absl::OkStatus();
  }
  return Invalid(
      "dataType: Invalid enum value. Expected 'NUMERIC' | 'CATEGORICAL' | 'BOOLEAN' | "
      "'TEXT', received '" +
      c.data_type + "'");
}

absl::Status ScoreConfigValidator::Validate(const std::string& project_id,
                                            IngestEvent& event) const {
  if (event.kind != EntityKind::kScore) return absl::OkStatus();
  json::object& body = event.body;
  const json::value* config_id = body.if_contains("configId");
  if (!config_id || !config_id->is_string()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<ScoreConfigRecord> config,
                   store_.Get(project_id, std::string(config_id->get_string())));
  if (!config) {
    return Invalid("The configId you provided does not match a valid config in this project");
  }
  if (config->is_archived) {
    return Invalid(
        "Config is archived and cannot be used to create new scores. Please restore the config "
        "first.");
  }

  // The decoder has set dataType (given or inferred from the value): NUMERIC
  // and BOOLEAN carry `value`, the string types `stringValue`. An inferred
  // type cannot be told from a given one, so a numeric value against a
  // BOOLEAN config and a string against a TEXT config are taken as meant.
  const json::value* dt = body.if_contains("dataType");
  const std::string declared = dt && dt->is_string() ? std::string(dt->get_string()) : "";
  const bool numeric = declared == "NUMERIC" || declared == "BOOLEAN";
  const json::value* value = body.if_contains("value");
  const json::value* string_value = body.if_contains("stringValue");
  std::optional<double> number;
  if (numeric && value && value->is_number()) number = value->to_number<double>();
  std::optional<std::string> label;
  if (!numeric && string_value && string_value->is_string()) {
    label = std::string(string_value->get_string());
  }

  const std::string& type = config->data_type;
  json::object updated;  // fields to set once everything checks out
  if (type == "NUMERIC") {
    if (declared != "NUMERIC" || !number) return Mismatch(type, declared);
    if (config->max_value && *number > *config->max_value) {
      return AgainstConfig("Value exceeds maximum value of " + FormatNumber(*config->max_value) +
                           " defined in config");
    }
    if (config->min_value && *number < *config->min_value) {
      return AgainstConfig("Value is below minimum value of " + FormatNumber(*config->min_value) +
                           " defined in config");
    }
  } else if (type == "BOOLEAN") {
    if (!numeric || !number) return Mismatch(type, declared);
    if (*number != 0 && *number != 1) return AgainstConfig("Value must be either 0 or 1");
    updated["dataType"] = "BOOLEAN";
    updated["stringValue"] = *number == 1 ? "True" : "False";
  } else if (type == "CATEGORICAL") {
    if (declared != "CATEGORICAL" || !label) return Mismatch(type, declared);
    const ScoreConfigCategory* match = nullptr;
    if (config->categories) {
      for (const ScoreConfigCategory& c : *config->categories) {
        if (c.label == *label) match = &c;
      }
    }
    if (!match) {
      return AgainstConfig("Value " + *label +
                           " does not map to a valid category. Pass a valid category value.");
    }
    updated["value"] = match->value;
  } else if (type == "TEXT") {
    if (numeric || !label) return Mismatch(type, declared);
    size_t n = Utf8Length(*label);
    if (n == 0 || n > kMaxTextScoreLength) {
      return AgainstConfig("Value must be 1 to 500 characters for data type TEXT");
    }
    updated["dataType"] = "TEXT";
  } else {
    return Invalid("The config " + config->id + " has an unknown data type " + type);
  }
  body["name"] = config->name;
  for (auto& [key, v] : updated) body[key] = v;
  return absl::OkStatus();
}

absl::Status ScoreConfigValidator::ValidateBatch(const std::string& project_id,
                                                 DecodedBatch* batch) const {
  std::vector<IngestEvent> kept;
  kept.reserve(batch->events.size());
  for (IngestEvent& event : batch->events) {
    absl::Status s = Validate(project_id, event);
    if (s.ok()) {
      kept.push_back(std::move(event));
      continue;
    }
    if (s.code() != absl::StatusCode::kInvalidArgument) return s;
    auto it = std::find(batch->successes.begin(), batch->successes.end(), event.event_id);
    if (it != batch->successes.end()) batch->successes.erase(it);
    batch->errors.push_back(
        {event.event_id, 400, "Invalid request data", std::string(s.message())});
  }
  batch->events = std::move(kept);
  return absl::OkStatus();
}

}  // namespace loupe
