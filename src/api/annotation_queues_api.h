#pragma once

// /api/public/annotation-queues: review queues of the caller's project
// (project keys only), the objects queued in them and the users assigned to
// them. A queue names the score configs its reviewers fill in (they must
// exist in the project); queue names are unique per project (409); users
// can only be assigned when they have access to the project.

#include "api/router.h"
#include "auth/api_key_auth.h"
#include "storage/annotation_queue_store.h"
#include "storage/meta_store.h"
#include "storage/score_config_store.h"

namespace loupe {

struct AnnotationQueuesApiDeps {
  ApiKeyAuthenticator* auth = nullptr;
  AnnotationQueueStore* queues = nullptr;
  ScoreConfigStore* score_configs = nullptr;
  MetaStore* meta = nullptr;
};

void RegisterAnnotationQueuesApi(Router& router, AnnotationQueuesApiDeps deps);

}  // namespace loupe
