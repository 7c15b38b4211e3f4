#pragma once

// The experiments read API of Langfuse (cursor-paged): GET
// /api/public/experiments and /api/public/experiment-items. An experiment
// is a dataset run and an experiment item one of its run items; their
// times, level, environment and IO come from the trace or observation the
// run item links to, so that the time filters (fromStartTime, required, and
// toStartTime) select what ran in that window, as on Langfuse where both are
// read from the events table. A run item whose trace or observation is not
// (or no longer) stored still counts, at the time the run item was created.

#include "api/datasets_api.h"
#include "api/router.h"

namespace loupe {

void RegisterExperimentsApi(Router& router, DatasetApiDeps deps);

}  // namespace loupe
