#pragma once

// The embedded MediaStore on SQLite, in the metadata database file (meta.db)
// on a connection of its own (schema component "media").

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/media_store.h"

namespace loupe {

absl::StatusOr<std::unique_ptr<MediaStore>> OpenSqliteMediaStore(const std::string& path);

}  // namespace loupe
