#pragma once

// The advanced `filter` query parameter of the list endpoints (GET /traces,
// /observations, /v2/scores) and the metrics API: a JSON array of
// {type, column, operator, value, key?} conditions, all of which must hold.
// Parsing validates every condition against the columns a view exposes, so
// the storage backends only translate already-valid conditions.
//
// Pure functions, thread-compatible.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace loupe {

enum class FilterType {
  kDatetime,       // >, <, >=, <=; value ISO date-time
  kString,         // =, contains, does not contain, starts with, ends with
  kNumber,         // =, >, <, >=, <=
  kStringOptions,  // any of, none of; value string[]
  kArrayOptions,   // any of, none of, all of; value string[] (e.g. tags)
  kBoolean,        // =, <>
  kNull,           // is null, is not null
};

// A column a view can be filtered on: its API name and the value type.
struct FilterColumn {
  std::string_view id;       // e.g. "userId"
  std::string_view display;  // e.g. "User ID" (also accepted)
  FilterType type;           // kString columns also take kStringOptions, kNull
};

struct FilterCondition {
  std::string column;  // the column's id
  FilterType type = FilterType::kString;
  std::string op;  // normalized operator ("=", ">", "contains", "any of", ...)
  std::string string_value;
  double number_value = 0;
  int64_t time_ms = 0;
  bool bool_value = false;
  std::vector<std::string> values;
};

// The filterable columns of each view.
const std::vector<FilterColumn>& TraceFilterColumns();
const std::vector<FilterColumn>& ObservationFilterColumns();
const std::vector<FilterColumn>& ScoreFilterColumns();
// The experiments API: experiments (id, name, datasetId) and their items
// (experimentId, experimentName, experimentItemId, datasetId).
const std::vector<FilterColumn>& ExperimentFilterColumns();
const std::vector<FilterColumn>& ExperimentItemFilterColumns();

// Parses the `filter` parameter. Fails with InvalidArgument naming the bad
// condition (invalid JSON, unknown column or type, operator not valid for the
// type, malformed value).
absl::StatusOr<std::vector<FilterCondition>> ParseFilterParam(
    std::string_view json, const std::vector<FilterColumn>& columns);

// Whether `value` (nullopt: the row has none) satisfies `c`, a condition on
// a string column (kString, kStringOptions or kNull), as the SQL backends
// evaluate it: case-sensitive, and the negations ("does not contain",
// "none of") hold for a missing value. For rows filtered in memory.
bool MatchesStringCondition(const FilterCondition& c, const std::optional<std::string>& value);

}  // namespace loupe
