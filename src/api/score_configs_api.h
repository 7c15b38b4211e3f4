#pragma once

// /api/public/score-configs: create, list, get and update the score configs
// of the caller's project (project keys only). BOOLEAN configs always carry
// the categories [{1,"True"},{0,"False"}]; every write is checked against
// the data type rules of score_config_validator.h.

#include "api/router.h"
#include "auth/api_key_auth.h"
#include "storage/score_config_store.h"

namespace loupe {

struct ScoreConfigsApiDeps {
  ApiKeyAuthenticator* auth = nullptr;
  ScoreConfigStore* configs = nullptr;
};

void RegisterScoreConfigsApi(Router& router, ScoreConfigsApiDeps deps);

}  // namespace loupe
