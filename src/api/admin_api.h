#pragma once

// The instance admin API of a self-hosted Langfuse (/api/admin/...,
// Bearer $ADMIN_API_KEY): organizations (list, create, get, update, delete
// when they have no projects) and their organization API keys, which open
// the organization-key API (organizations_api.h). Without ADMIN_API_KEY
// every route answers 403.

#include <string>

#include "api/router.h"
#include "auth/api_key_auth.h"
#include "storage/meta_store.h"

namespace loupe {

struct AdminApiDeps {
  ApiKeyAuthenticator* auth = nullptr;
  MetaStore* meta = nullptr;
  std::string admin_api_key;  // empty: the admin API is disabled
};

void RegisterAdminApi(Router& router, AdminApiDeps deps);

}  // namespace loupe
