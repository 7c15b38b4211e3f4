#pragma once

// CommentStore: comments on traces, observations, sessions and prompts
// (Langfuse's comments). Checking that the commented object exists is the
// caller's job.
//
// Contract: everything is durable on return and all methods are
// thread-safe. "Not found" is an empty optional; storage failures are
// kUnavailable / kInternal.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/event_store.h"

namespace loupe {

struct CommentRecord {
  std::string id;
  std::string project_id;
  std::string object_type;  // TRACE | OBSERVATION | SESSION | PROMPT
  std::string object_id;
  std::string content;
  std::optional<std::string> author_user_id;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct CommentQuery {
  PageRequest page;
  std::optional<std::string> object_type, object_id, author_user_id;
};

class CommentStore {
 public:
  virtual ~CommentStore() = default;

  virtual absl::Status Create(const CommentRecord& comment) = 0;
  virtual absl::StatusOr<std::optional<CommentRecord>> Get(const std::string& project_id,
                                                           const std::string& id) = 0;
  // In the order they were written.
  virtual absl::StatusOr<PageResult<CommentRecord>> List(const std::string& project_id,
                                                         const CommentQuery& query) = 0;
};

}  // namespace loupe
