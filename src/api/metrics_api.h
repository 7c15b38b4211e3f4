#pragma once

// Metrics endpoints: GET /api/public/metrics (v1, all views),
// /api/public/v2/metrics (no traces view) and the legacy
// /api/public/metrics/daily used by older scripts.

#include "api/public_api.h"
#include "api/router.h"

namespace loupe {

void RegisterMetricsApi(Router& router, PublicApiDeps deps);

}  // namespace loupe
