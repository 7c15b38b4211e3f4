#pragma once

// First-start and headless initialization: creates the organization,
// project, API key and user named by LANGFUSE_INIT_* (idempotently, on every
// start), or, when nothing is configured and no key exists yet, a default
// organization, project and key pair that are printed once.

#include "absl/status/status.h"
#include "auth/api_key_auth.h"
#include "server/config.h"
#include "storage/meta_store.h"

namespace loupe {

absl::Status Bootstrap(const Config& config, MetaStore& meta, const ApiKeyAuthenticator& auth,
                       int port);

// argon2id hash in the PHC string format.
std::string HashPassword(const std::string& password);

}  // namespace loupe
