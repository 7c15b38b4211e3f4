#include "query/filter.h"

#include <algorithm>

#include "boost/json.hpp"
#include "common/json_parse.h"
#include "common/time_util.h"

namespace loupe {
namespace {

namespace json = boost::json;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

struct TypeInfo {
  std::string_view name;
  FilterType type;
  std::vector<std::string_view> operators;
};

const std::vector<TypeInfo>& Types() {
  static const std::vector<TypeInfo> kTypes = {
      {"datetime", FilterType::kDatetime, {">", "<", ">=", "<="}},
      {"string",
       FilterType::kString,
       {"=", "contains", "does not contain", "starts with", "ends with"}},
      {"number", FilterType::kNumber, {"=", ">", "<", ">=", "<="}},
      {"stringOptions", FilterType::kStringOptions, {"any of", "none of"}},
      {"categoryOptions", FilterType::kStringOptions, {"any of", "none of"}},
      {"arrayOptions", FilterType::kArrayOptions, {"any of", "none of", "all of"}},
      {"boolean", FilterType::kBoolean, {"=", "<>"}},
      {"null", FilterType::kNull, {"is null", "is not null"}},
  };
  return kTypes;
}

// Which filter types a column of a given type accepts.
bool Compatible(FilterType column, FilterType filter) {
  if (filter == FilterType::kNull) return true;
  if (column == filter) return true;
  return column == FilterType::kString && filter == FilterType::kStringOptions;
}

std::string Describe(size_t index) { return "filter[" + std::to_string(index) + "]"; }

}  // namespace

const std::vector<FilterColumn>& TraceFilterColumns() {
  static const std::vector<FilterColumn> kColumns = {
      {"id", "ID", FilterType::kString},
      {"name", "Name", FilterType::kString},
      {"timestamp", "Timestamp", FilterType::kDatetime},
      {"userId", "User ID", FilterType::kString},
      {"sessionId", "Session ID", FilterType::kString},
      {"release", "Release", FilterType::kString},
      {"version", "Version", FilterType::kString},
      {"environment", "Environment", FilterType::kString},
      {"tags", "Tags", FilterType::kArrayOptions},
      {"bookmarked", "Bookmarked", FilterType::kBoolean},
      {"public", "Public", FilterType::kBoolean},
      {"latency", "Latency (s)", FilterType::kNumber},
      {"totalCost", "Total Cost ($)", FilterType::kNumber},
      {"observationCount", "Observation Count", FilterType::kNumber},
  };
  return kColumns;
}

const std::vector<FilterColumn>& ObservationFilterColumns() {
  static const std::vector<FilterColumn> kColumns = {
      {"id", "ID", FilterType::kString},
      {"name", "Name", FilterType::kString},
      {"traceId", "Trace ID", FilterType::kString},
      {"type", "Type", FilterType::kString},
      {"level", "Level", FilterType::kString},
      {"environment", "Environment", FilterType::kString},
      {"model", "Model", FilterType::kString},
      {"providedModelName", "Provided Model Name", FilterType::kString},
      {"version", "Version", FilterType::kString},
      {"parentObservationId", "Parent Observation ID", FilterType::kString},
      {"startTime", "Start Time", FilterType::kDatetime},
      {"endTime", "End Time", FilterType::kDatetime},
      {"latency", "Latency (s)", FilterType::kNumber},
      {"totalCost", "Total Cost ($)", FilterType::kNumber},
      {"inputTokens", "Input Tokens", FilterType::kNumber},
      {"outputTokens", "Output Tokens", FilterType::kNumber},
      {"totalTokens", "Total Tokens", FilterType::kNumber},
  };
  return kColumns;
}

const std::vector<FilterColumn>& ScoreFilterColumns() {
  static const std::vector<FilterColumn> kColumns = {
      {"id", "ID", FilterType::kString},
      {"name", "Name", FilterType::kString},
      {"value", "Value", FilterType::kNumber},
      {"stringValue", "String Value", FilterType::kString},
      {"source", "Source", FilterType::kString},
      {"dataType", "Data Type", FilterType::kString},
      {"timestamp", "Timestamp", FilterType::kDatetime},
      {"environment", "Environment", FilterType::kString},
      {"traceId", "Trace ID", FilterType::kString},
      {"observationId", "Observation ID", FilterType::kString},
      {"sessionId", "Session ID", FilterType::kString},
      {"configId", "Config ID", FilterType::kString},
  };
  return kColumns;
}

const std::vector<FilterColumn>& ExperimentFilterColumns() {
  static const std::vector<FilterColumn> kColumns = {
      {"id", "ID", FilterType::kString},
      {"name", "Name", FilterType::kString},
      {"datasetId", "Dataset ID", FilterType::kString},
  };
  return kColumns;
}

const std::vector<FilterColumn>& ExperimentItemFilterColumns() {
  static const std::vector<FilterColumn> kColumns = {
      {"experimentId", "Experiment ID", FilterType::kString},
      {"experimentName", "Experiment Name", FilterType::kString},
      {"experimentItemId", "Experiment Item ID", FilterType::kString},
      {"datasetId", "Dataset ID", FilterType::kString},
  };
  return kColumns;
}

bool MatchesStringCondition(const FilterCondition& c, const std::optional<std::string>& value) {
  const std::string& s = c.string_value;
  switch (c.type) {
    case FilterType::kNull:
      return (c.op == "is null") != value.has_value();
    case FilterType::kStringOptions: {
      bool listed = value && std::find(c.values.begin(), c.values.end(), *value) != c.values.end();
      return c.op == "any of" ? listed : !listed;
    }
    case FilterType::kString:
      if (c.op == "does not contain") return !value || value->find(s) == std::string::npos;
      if (!value) return false;
      if (c.op == "=") return *value == s;
      if (c.op == "contains") return value->find(s) != std::string::npos;
      if (c.op == "starts with") return value->starts_with(s);
      return value->ends_with(s);  // ends with
    default:
      return false;  // not a condition on a string column
  }
}

absl::StatusOr<std::vector<FilterCondition>> ParseFilterParam(
    std::string_view text, const std::vector<FilterColumn>& columns) {
  std::vector<FilterCondition> out;
  if (text.empty()) return out;
  boost::system::error_code ec;
  json::value root = ParseJson(text, ec);
  if (ec == boost::json::error::too_deep) {
    return absl::InvalidArgumentError("Invalid JSON in filter parameter: " + JsonErrorMessage(ec));
  }
  if (ec) return absl::InvalidArgumentError("Invalid JSON in filter parameter");
  if (!root.is_array()) return absl::InvalidArgumentError("filter: expected a JSON array");
  const json::array& arr = root.as_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    const json::object* f = arr[i].if_object();
    if (!f) return absl::InvalidArgumentError(Describe(i) + ": expected an object");
    auto str = [&](std::string_view key) -> std::string {
      const json::value* v = f->if_contains(key);
      return (v && v->is_string()) ? std::string(v->as_string()) : std::string();
    };
    std::string type_name = str("type"), column_name = str("column"), op = str("operator");
    const TypeInfo* type = nullptr;
    for (const auto& t : Types()) {
      if (t.name == type_name) type = &t;
    }
    if (!type) {
      return absl::InvalidArgumentError(Describe(i) + ": unknown type '" + type_name + "'");
    }
    const FilterColumn* column = nullptr;
    for (const auto& c : columns) {
      if (EqualsIgnoreCase(c.id, column_name) || EqualsIgnoreCase(c.display, column_name)) {
        column = &c;
      }
    }
    if (!column) {
      std::string known;
      for (const auto& c : columns) known += (known.empty() ? "" : ", ") + std::string(c.id);
      return absl::InvalidArgumentError(Describe(i) + ": column '" + column_name +
                                        "' cannot be filtered on; filterable columns: " + known);
    }
    if (!Compatible(column->type, type->type)) {
      return absl::InvalidArgumentError(Describe(i) + ": column '" + std::string(column->id) +
                                        "' does not take a " + type_name + " filter");
    }
    if (std::find(type->operators.begin(), type->operators.end(), op) == type->operators.end()) {
      std::string ops;
      for (auto o : type->operators) ops += (ops.empty() ? "'" : ", '") + std::string(o) + "'";
      return absl::InvalidArgumentError(Describe(i) + ": operator '" + op + "' is not valid for " +
                                        type_name + " filters; expected one of " + ops);
    }
    FilterCondition c;
    c.column = std::string(column->id);
    c.type = type->type;
    c.op = op;
    const json::value* value = f->if_contains("value");
    switch (type->type) {
      case FilterType::kDatetime: {
        if (!value || !value->is_string()) {
          return absl::InvalidArgumentError(Describe(i) + ": value must be a date-time string");
        }
        auto us = ParseIsoMicros(value->as_string());
        if (!us) return absl::InvalidArgumentError(Describe(i) + ": invalid date-time value");
        c.time_ms = *us / 1000;
        break;
      }
      case FilterType::kString:
        if (!value || !value->is_string()) {
          return absl::InvalidArgumentError(Describe(i) + ": value must be a string");
        }
        c.string_value = std::string(value->as_string());
        break;
      case FilterType::kNumber:
        if (!value || !value->is_number()) {
          return absl::InvalidArgumentError(Describe(i) + ": value must be a number");
        }
        c.number_value = value->to_number<double>();
        break;
      case FilterType::kStringOptions:
      case FilterType::kArrayOptions:
        if (!value || !value->is_array()) {
          return absl::InvalidArgumentError(Describe(i) + ": value must be an array of strings");
        }
        for (const auto& v : value->as_array()) {
          if (!v.is_string()) {
            return absl::InvalidArgumentError(Describe(i) + ": value must be an array of strings");
          }
          c.values.emplace_back(v.as_string());
        }
        break;
      case FilterType::kBoolean:
        if (!value || !value->is_bool()) {
          return absl::InvalidArgumentError(Describe(i) + ": value must be a boolean");
        }
        c.bool_value = value->as_bool();
        break;
      case FilterType::kNull:
        break;
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace loupe
