#pragma once

// The embedded LlmConnectionStore on SQLite, in the metadata database file (meta.db)
// on a connection of its own (schema component "llm_connections").

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/llm_connection_store.h"

namespace loupe {

absl::StatusOr<std::unique_ptr<LlmConnectionStore>> OpenSqliteLlmConnectionStore(
    const std::string& path);

}  // namespace loupe
