#pragma once

// Langfuse datasets and experiments under /api/public: datasets (v2 create
// / get / list and the v1 routes the SDKs still call), dataset items
// (upsert by id, get, list, delete), dataset runs and the run items that
// link traces and observations to items, run deletion, and the experiments
// read API (experiments_api.h). A dataset's inputSchema and
// expectedOutputSchema (JSON Schema, see json_schema.h) are enforced on
// its items: an item that does not match is refused with 400 naming the
// field and where it fails, and so is a schema change that an existing item
// would not match.

#include "api/router.h"
#include "auth/api_key_auth.h"
#include "storage/dataset_store.h"
#include "storage/event_store.h"

namespace loupe {

struct DatasetApiDeps {
  DatasetStore* datasets = nullptr;
  // Finds the trace of a run item that names only an observation.
  EventStore* events = nullptr;
  ApiKeyAuthenticator* auth = nullptr;
};

void RegisterDatasetApi(Router& router, DatasetApiDeps deps);

}  // namespace loupe
