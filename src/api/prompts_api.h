#pragma once

// Langfuse prompt management under /api/public: the v2 routes (create a
// version, get by label or version with references resolved, list, add
// labels to a version, delete) and the legacy v1 /prompts routes that old
// SDKs call. Names may contain '/' (folders), sent encoded as %2F or as
// plain path segments.

#include "api/router.h"
#include "auth/api_key_auth.h"
#include "storage/prompt_store.h"

namespace loupe {

struct PromptApiDeps {
  PromptStore* prompts = nullptr;
  ApiKeyAuthenticator* auth = nullptr;
};

void RegisterPromptApi(Router& router, PromptApiDeps deps);

}  // namespace loupe
