#pragma once

// The embedded ModelStore on SQLite, in the metadata database file (meta.db)
// on a connection of its own (schema component "models").

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/model_store.h"

namespace loupe {

absl::StatusOr<std::unique_ptr<ModelStore>> OpenSqliteModelStore(const std::string& path);

}  // namespace loupe
