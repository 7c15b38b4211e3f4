#pragma once

// Langfuse datasets and experiments under /api/public: datasets (v2 create
// / get / list and the v1 routes the SDKs still call), dataset items
// (upsert by id, get, list, delete), dataset runs and the run items that
// link traces and observations to items, and run deletion.

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
