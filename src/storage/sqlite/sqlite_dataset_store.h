#pragma once

// The embedded DatasetStore on SQLite, in the metadata database file
// (meta.db) on a connection of its own (schema component "datasets").
// Dataset traffic is light (SDK experiment loops), so one connection behind
// a mutex serves it.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/dataset_store.h"

namespace loupe {

absl::StatusOr<std::unique_ptr<DatasetStore>> OpenSqliteDatasetStore(const std::string& path);

}  // namespace loupe
