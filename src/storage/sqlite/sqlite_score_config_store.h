#pragma once

// The embedded ScoreConfigStore on SQLite, in the metadata database file
// (meta.db) on a connection of its own (schema component "score_configs").
// Config reads on the ingestion path are answered from memory.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/score_config_store.h"

namespace loupe {

absl::StatusOr<std::unique_ptr<ScoreConfigStore>> OpenSqliteScoreConfigStore(
    const std::string& path);

}  // namespace loupe
