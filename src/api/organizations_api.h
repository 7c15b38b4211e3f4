#pragma once

// The organization-key API (Basic auth with an organization key only):
// projects of the organization (POST /projects, PUT and DELETE
// /projects/{id}, GET /organizations/projects), their API keys
// (/projects/{id}/apiKeys), the organization's own keys
// (GET /organizations/apiKeys) and memberships (/organizations/memberships,
// /projects/{id}/memberships). GET /projects (the project of a project key)
// belongs to the public API.
//
// Deleting a project hides it and revokes its keys at once; changed keys are
// dropped from the authenticator's cache, so a revoked key stops working
// with the next request.

#include "api/router.h"
#include "auth/api_key_auth.h"
#include "storage/meta_store.h"

namespace loupe {

struct OrganizationsApiDeps {
  ApiKeyAuthenticator* auth = nullptr;
  MetaStore* meta = nullptr;
};

void RegisterOrganizationsApi(Router& router, OrganizationsApiDeps deps);

}  // namespace loupe
