#pragma once

// The cursor-paged read APIs of Langfuse v3: GET /api/public/v2/observations
// (field groups, IO as raw strings) and GET /api/public/v3/scores (typed
// values, subjects). Cursors are base64 of a JSON keyset position, so paging
// stays exact while new rows arrive.

#include "api/public_api.h"
#include "api/router.h"

namespace loupe {

void RegisterV2ReadsApi(Router& router, PublicApiDeps deps);

}  // namespace loupe
