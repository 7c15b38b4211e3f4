#pragma once

// ScoreConfigStore: the score configs of a project (Langfuse's
// score_configs), which define a score's data type, numeric range or
// categories, and against which ingested scores with a configId are checked.
//
// Contract:
//  - Records are stored as given; validating them (data type rules, names,
//    ranges) is the caller's job.
//  - Get() is served from memory after the first read of a config (scores
//    are checked against it on the ingestion path); Update() refreshes the
//    cached copy, so a read never returns data older than the last
//    completed write.
//  - Everything is durable on return and all methods are thread-safe.
//    "Not found" is an empty optional (Get) or kNotFound (Update); storage
//    failures are kUnavailable / kInternal.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/event_store.h"

namespace loupe {

struct ScoreConfigCategory {
  double value = 0;
  std::string label;
};

struct ScoreConfigRecord {
  std::string id;
  std::string project_id;
  std::string name;
  std::string data_type;  // NUMERIC | CATEGORICAL | BOOLEAN | TEXT
  bool is_archived = false;
  std::optional<double> min_value;
  std::optional<double> max_value;
  std::optional<std::vector<ScoreConfigCategory>> categories;
  std::optional<std::string> description;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

class ScoreConfigStore {
 public:
  virtual ~ScoreConfigStore() = default;

  // Inserts a new config (kAlreadyExists when the id is taken).
  virtual absl::Status Create(const ScoreConfigRecord& config) = 0;
  // Replaces every field of an existing config of the same project.
  virtual absl::Status Update(const ScoreConfigRecord& config) = 0;
  virtual absl::StatusOr<std::optional<ScoreConfigRecord>> Get(const std::string& project_id,
                                                               const std::string& id) = 0;
  // Newest first.
  virtual absl::StatusOr<PageResult<ScoreConfigRecord>> List(const std::string& project_id,
                                                             const PageRequest& page) = 0;
};

}  // namespace loupe
