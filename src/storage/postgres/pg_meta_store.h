#pragma once

// The MetaStore on PostgreSQL (DATABASE_URL), shared by every Loupe process
// of a scale-out deployment. Schema migrations run at open; a pool of
// connections serves the methods from many threads.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/meta_store.h"
#include "storage/postgres/pg_client.h"

namespace loupe {

// Fails with kUnavailable, naming PostgreSQL and DATABASE_URL (without the
// password), when the database cannot be reached or rejects the login.
absl::StatusOr<std::unique_ptr<MetaStore>> OpenPostgresMetaStore(const std::string& database_url);

// On a pool shared with the other PostgreSQL stores of the process. Close()
// closes the pool: close this store last.
absl::StatusOr<std::unique_ptr<MetaStore>> OpenPostgresMetaStore(std::shared_ptr<pg::Pool> pool);

}  // namespace loupe
