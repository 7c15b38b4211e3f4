#pragma once

// The embedded AnnotationQueueStore on SQLite, in the metadata database file (meta.db)
// on a connection of its own (schema component "annotation_queues").

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/annotation_queue_store.h"

namespace loupe {

absl::StatusOr<std::unique_ptr<AnnotationQueueStore>> OpenSqliteAnnotationQueueStore(
    const std::string& path);

}  // namespace loupe
