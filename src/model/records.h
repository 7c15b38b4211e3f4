#pragma once

// Plain value types for the entities Loupe stores: traces, observations,
// scores and sessions, as the read side sees them after merging. No I/O.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "boost/json.hpp"

namespace loupe {

struct TraceRecord {
  std::string id;
  std::string project_id;
  int64_t timestamp_ms = 0;
  std::optional<std::string> name;
  std::optional<std::string> user_id;
  std::optional<std::string> session_id;
  std::optional<std::string> release;
  std::optional<std::string> version;
  std::optional<std::string> external_id;
  std::string environment = "default";
  std::vector<std::string> tags;
  bool is_public = false;
  bool bookmarked = false;
  boost::json::value input;   // null when absent
  boost::json::value output;  // null when absent
  boost::json::object metadata;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  // Aggregates over the trace's observations, maintained at write time.
  int64_t observation_count = 0;
  double total_cost = 0;
  std::optional<int64_t> min_start_ms;
  std::optional<int64_t> max_end_ms;
};

struct ObservationRecord {
  std::string id;
  std::string project_id;
  std::string trace_id;
  std::string type = "SPAN";
  std::optional<std::string> parent_observation_id;
  std::optional<std::string> name;
  std::string environment = "default";
  int64_t start_time_ms = 0;
  std::optional<int64_t> end_time_ms;
  std::optional<int64_t> completion_start_time_ms;
  std::optional<std::string> version;
  std::string level = "DEFAULT";
  std::optional<std::string> status_message;
  boost::json::value input;
  boost::json::value output;
  boost::json::object metadata;
  std::optional<std::string> model;
  boost::json::value model_parameters;  // object or null
  std::optional<std::string> prompt_name;
  std::optional<int64_t> prompt_version;
  std::map<std::string, int64_t> usage_details;
  std::map<std::string, double> cost_details;
  std::optional<double> total_cost;
  std::optional<std::string> internal_model_id;
  std::optional<std::string> pricing_tier_id;
  std::optional<std::string> pricing_tier_name;
  // Unit prices of the matched model's chosen tier, for the legacy view fields.
  std::optional<double> input_price;
  std::optional<double> output_price;
  std::optional<double> total_price;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct ScoreRecord {
  std::string id;
  std::string project_id;
  std::optional<std::string> trace_id;
  std::optional<std::string> observation_id;
  std::optional<std::string> session_id;
  std::optional<std::string> dataset_run_id;
  std::string name;
  std::string source = "API";
  std::string data_type = "NUMERIC";
  std::optional<double> value;
  std::optional<std::string> string_value;
  std::optional<std::string> comment;
  boost::json::object metadata;
  std::optional<std::string> author_user_id;
  std::optional<std::string> config_id;
  std::optional<std::string> queue_id;
  std::optional<std::string> execution_trace_id;
  std::string environment = "default";
  int64_t timestamp_ms = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct SessionRecord {
  std::string id;
  std::string project_id;
  std::string environment = "default";
  int64_t created_at_ms = 0;
};

}  // namespace loupe
