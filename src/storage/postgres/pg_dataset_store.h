#pragma once

// The DatasetStore on PostgreSQL (DATABASE_URL), shared by every Loupe process
// of a scale-out deployment (schema component "datasets"). Writes of a
// project are serialized by a transaction-scoped advisory lock, so upserts
// by name, item versions and the run a first run item creates behave as on
// SQLite even when several processes write at once.

#include <memory>

#include "absl/status/statusor.h"
#include "storage/dataset_store.h"
#include "storage/postgres/pg_client.h"

namespace loupe {

// Applies the component's migrations on `pool`, which may be shared with the
// other PostgreSQL stores; Close() leaves the pool open.
absl::StatusOr<std::unique_ptr<DatasetStore>> OpenPostgresDatasetStore(
    std::shared_ptr<pg::Pool> pool);

}  // namespace loupe
