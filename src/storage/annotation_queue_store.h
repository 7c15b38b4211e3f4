#pragma once

// AnnotationQueueStore: annotation queues of a project, the traces,
// observations and sessions queued in them for review, and which users are
// assigned to each queue (Langfuse's annotation_queues,
// annotation_queue_items and annotation_queue_assignments).
//
// Contract:
//  - Queue names are unique per project: CreateQueue() fails with
//    kAlreadyExists.
//  - Items and assignments belong to one queue of one project; every lookup
//    takes both, so an id from another project or queue is "not found".
//  - Everything is durable on return and all methods are thread-safe.
//    "Not found" is an empty optional or `false`; storage failures are
//    kUnavailable / kInternal.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/event_store.h"

namespace loupe {

struct AnnotationQueueRecord {
  std::string id;
  std::string project_id;
  std::string name;
  std::optional<std::string> description;
  std::vector<std::string> score_config_ids;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct AnnotationQueueItemRecord {
  std::string id;
  std::string project_id;
  std::string queue_id;
  std::string object_id;
  std::string object_type;  // TRACE | OBSERVATION | SESSION
  std::string status;       // PENDING | COMPLETED
  std::optional<int64_t> completed_at_ms;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

class AnnotationQueueStore {
 public:
  virtual ~AnnotationQueueStore() = default;

  virtual absl::Status CreateQueue(const AnnotationQueueRecord& queue) = 0;
  virtual absl::StatusOr<std::optional<AnnotationQueueRecord>> GetQueue(
      const std::string& project_id, const std::string& queue_id) = 0;
  // Newest first.
  virtual absl::StatusOr<PageResult<AnnotationQueueRecord>> ListQueues(
      const std::string& project_id, const PageRequest& page) = 0;

  virtual absl::Status CreateItem(const AnnotationQueueItemRecord& item) = 0;
  virtual absl::StatusOr<std::optional<AnnotationQueueItemRecord>> GetItem(
      const std::string& project_id, const std::string& queue_id, const std::string& item_id) = 0;
  // Newest first; `status` filters when set.
  virtual absl::StatusOr<PageResult<AnnotationQueueItemRecord>> ListItems(
      const std::string& project_id, const std::string& queue_id,
      const std::optional<std::string>& status, const PageRequest& page) = 0;
  // Replaces status, completed_at and updated_at of an existing item.
  virtual absl::Status UpdateItem(const AnnotationQueueItemRecord& item) = 0;
  virtual absl::StatusOr<bool> DeleteItem(const std::string& project_id,
                                          const std::string& queue_id,
                                          const std::string& item_id) = 0;

  // Assigning twice is not an error; removing a missing assignment neither.
  virtual absl::Status Assign(const std::string& project_id, const std::string& queue_id,
                              const std::string& user_id) = 0;
  virtual absl::Status Unassign(const std::string& project_id, const std::string& queue_id,
                                const std::string& user_id) = 0;
  virtual absl::StatusOr<std::vector<std::string>> AssignedUsers(const std::string& project_id,
                                                                 const std::string& queue_id) = 0;
};

}  // namespace loupe
