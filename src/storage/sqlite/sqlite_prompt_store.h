#pragma once

// The embedded PromptStore on SQLite, in the metadata database file (meta.db)
// on a connection of its own (schema component "prompts"). Writes are rare
// and serialized behind one mutex; reads of single versions are answered
// from an in-memory cache (see storage/prompt_store.h).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/prompt_store.h"

namespace loupe {

absl::StatusOr<std::unique_ptr<PromptStore>> OpenSqlitePromptStore(const std::string& path);

}  // namespace loupe
