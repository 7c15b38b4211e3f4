#pragma once

// Versioned schema migrations of the embedded stores. Each store component
// ("events", "meta", "prompts", ...) has its own list; each entry is applied
// once, in order, inside a transaction, and recorded in `schema_version`
// under the component's name. Released entries are never edited, only
// appended to.

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "storage/sqlite/sqlite_db.h"

namespace loupe::sqlite {

struct Migration {
  int version;
  std::string_view sql;
};

// Brings `component`'s tables in `db` up to the last version in `migrations`.
absl::Status ApplyMigrations(Db& db, std::string_view component,
                             const std::vector<Migration>& migrations);

const std::vector<Migration>& EventStoreMigrations();
const std::vector<Migration>& MetaStoreMigrations();

}  // namespace loupe::sqlite
