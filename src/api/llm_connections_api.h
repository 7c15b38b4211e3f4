#pragma once

// /api/public/llm-connections: the LLM provider connections of the caller's
// project (project keys only), upserted by provider name. The secret key
// (and any extra headers) are stored encrypted with AES-256-GCM under
// ENCRYPTION_KEY and never returned: responses carry displaySecretKey
// ("..." and the last four characters) and the names of the extra headers.
// Without ENCRYPTION_KEY, creating or updating a connection is refused with
// a message saying how to set it; listing and deleting still work.

#include <string>

#include "api/router.h"
#include "auth/api_key_auth.h"
#include "boost/json.hpp"
#include "common/secret_cipher.h"
#include "storage/llm_connection_store.h"

namespace loupe {

struct LlmConnectionsApiDeps {
  ApiKeyAuthenticator* auth = nullptr;
  LlmConnectionStore* connections = nullptr;
  const SecretCipher* cipher = nullptr;  // null when ENCRYPTION_KEY is not set
};

void RegisterLlmConnectionsApi(Router& router, LlmConnectionsApiDeps deps);

// The work of GET, PUT and DELETE /api/public/llm-connections for a project
// the caller was already authorized for (the web UI uses them behind its
// session auth): the same validation, encryption, JSON shapes and status
// codes. `deps.auth` is not used.
HttpResponse ListLlmConnectionsOfProject(const LlmConnectionsApiDeps& deps,
                                         const std::string& project_id, int page, int limit);
HttpResponse UpsertLlmConnectionInProject(const LlmConnectionsApiDeps& deps,
                                          const std::string& project_id,
                                          const boost::json::object& body);
HttpResponse DeleteLlmConnectionOfProject(const LlmConnectionsApiDeps& deps,
                                          const std::string& project_id, const std::string& id);

}  // namespace loupe
