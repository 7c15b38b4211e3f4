#pragma once

// The PromptStore on PostgreSQL (DATABASE_URL), shared by every Loupe process
// of a scale-out deployment (schema component "prompts"). Writes of a
// project are serialized by a transaction-scoped advisory lock, so version
// numbers, label moves and dependency checks behave as on SQLite even when
// several processes write at once. Reads of single versions are answered
// from an in-memory cache that is checked against the project's change
// counter in the database, so a change made by any process is seen at once.

#include <memory>

#include "absl/status/statusor.h"
#include "storage/postgres/pg_client.h"
#include "storage/prompt_store.h"

namespace loupe {

// Applies the component's migrations on `pool`, which may be shared with the
// other PostgreSQL stores; Close() leaves the pool open.
absl::StatusOr<std::unique_ptr<PromptStore>> OpenPostgresPromptStore(
    std::shared_ptr<pg::Pool> pool);

}  // namespace loupe
