#pragma once

// The embedded MetaStore on SQLite (meta.db in the data directory). Metadata
// traffic is small, so one connection behind a mutex serves it; the hot
// lookup (API keys) is cached above this layer.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/meta_store.h"

namespace loupe {

absl::StatusOr<std::unique_ptr<MetaStore>> OpenSqliteMetaStore(const std::string& path);

}  // namespace loupe
