#pragma once

// The embedded CommentStore on SQLite, in the metadata database file (meta.db)
// on a connection of its own (schema component "comments").

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/comment_store.h"

namespace loupe {

absl::StatusOr<std::unique_ptr<CommentStore>> OpenSqliteCommentStore(const std::string& path);

}  // namespace loupe
