#pragma once

// The web UI: its JSON API under /api/ui/... and the single-page app itself
// (embedded files; every other GET outside /api answers with index.html so
// that Langfuse's page paths, e.g. the `htmlPath` of a trace, open the page).
//
// Authentication is a session cookie (see session_auth.h); API keys are not
// accepted here. Every project route resolves the caller's role in that
// project (a project membership overrides the organization role) and answers
// 404 when the caller has none, so one project's data, or even its existence,
// is never shown to a member of another. Roles: VIEWER reads traces,
// sessions, users, dashboards, prompts, datasets, scores, models and LLM
// connections; MEMBER also sees the member list, creates prompt versions,
// moves labels and creates and deletes project models; ADMIN and OWNER also
// manage API keys, members and LLM connections and create projects. Writes are refused with 403
// when the request carries an Origin of another site (with SameSite=Lax cookies, a second guard
// against cross-site requests).
//
// Routes (JSON bodies; errors are {"error", "message"}):
//   GET  /api/ui/auth/config                  {signUpDisabled}
//   POST /api/ui/auth/sign-in {email,password} sets the cookie; 401 bad
//        credentials; 429 (Retry-After) after too many failures
//   POST /api/ui/auth/sign-up {name,email,password}
//   POST /api/ui/auth/sign-out
//   GET  /api/ui/auth/session                 user, organizations, projects, roles
//   POST /api/ui/organizations {name}
//   POST /api/ui/organizations/{orgId}/projects {name}
//   GET|POST /api/ui/projects/{projectId}/api-keys, DELETE .../api-keys/{id}
//   POST /api/ui/account {name}               the caller's own name
//   POST /api/ui/account/password {currentPassword, newPassword}: ends the
//        caller's other sessions
//   GET|POST /api/ui/projects/{projectId}/members {email, role}, DELETE
//        .../members/{userId}: the organization's members and pending
//        invitations; an existing account is added by email, any other email
//        gets an invitation (201) that becomes a membership when it signs
//        up; nobody grants or removes above their own role
//   DELETE /api/ui/projects/{projectId}/invitations/{invitationId}
//   GET  /api/ui/projects/{projectId}/traces  paging, orderBy/order, `filter`
//        (Langfuse filter JSON over the trace columns, plus `level` and
//        `model`, matched through the trace's observations, and score
//        conditions {type: numberObject|categoryOptions, column: "scores",
//        key: name}), `search`: text in the input or output, searched in
//        the listing's first 20,000 traces (LOUPE_UI_SEARCH_ROWS; meta.search
//        says how many were searched). Rows carry their scores per name.
//   GET  /api/ui/projects/{projectId}/score-names  names and data types of
//        the newest scores and of the score configs
//   GET  /api/ui/projects/{projectId}/traces/{traceId}  trace, observations
//        (columnar, no input/output), scores
//   GET  /api/ui/projects/{projectId}/observations/{observationId}
//   GET  /api/ui/projects/{projectId}/sessions[/{sessionId}]
//   GET  /api/ui/projects/{projectId}/users
//   GET  /api/ui/projects/{projectId}/metrics?query=  the metrics query API
//   GET  /api/ui/projects/{projectId}/prompts  names with type, versions,
//        labels, tags, last update (page, limit, `name` substring)
//   POST /api/ui/projects/{projectId}/prompts {name, type, prompt, config,
//        labels, tags, commitMessage}: a new version (MEMBER and above)
//   GET  /api/ui/projects/{projectId}/prompts/{name}  every version, newest
//        first (names with folders are sent %2F-encoded)
//   POST /api/ui/projects/{projectId}/prompts/{name}/versions/{version}/labels
//        {labels}: moves the labels to that version (MEMBER and above)
//   GET  /api/ui/projects/{projectId}/datasets  with item and run counts
//   GET  /api/ui/projects/{projectId}/datasets/{datasetId}  the dataset, one
//        page of items, its runs with average scores per score name
//   GET  /api/ui/projects/{projectId}/datasets/{datasetId}/runs/{runName}
//        the run's items with their traces and scores
//   GET  /api/ui/projects/{projectId}/scores  paging and filters (name,
//        source, dataType, traceId, datasetRunId, operator+value)
//   GET  /api/ui/projects/{projectId}/score-configs
//   GET  /api/ui/projects/{projectId}/models  Loupe's default models and the
//        project's own, as GET /api/public/models (page, limit up to 1000)
//   POST /api/ui/projects/{projectId}/models, DELETE .../models/{id}: a
//        project model, validated as POST /api/public/models (MEMBER and above)
//   GET  /api/ui/projects/{projectId}/llm-connections  as GET
//        /api/public/llm-connections: displaySecretKey only, never the secret
//   POST /api/ui/projects/{projectId}/llm-connections, DELETE
//        .../llm-connections/{id}: create or update by provider, as PUT
//        /api/public/llm-connections (ADMIN and OWNER)
//   POST /api/ui/projects/{projectId}/batch-exports {table: "traces"|"scores",
//        format: "csv"|"jsonl", and that list's filters (traces: filter,
//        orderBy, order, search; scores: name, source, dataType, traceId,
//        ...)}: writes the file to the batch-export store and answers {id,
//        status, rows, rowLimit, truncated, url, expiresAt} (MEMBER and
//        above; see batch_export.h)
//   GET  /api/ui/batch-exports/download/{token}  the file of a signed link

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "api/router.h"
#include "auth/api_key_auth.h"
#include "common/secret_cipher.h"
#include "cost/price_table.h"
#include "storage/dataset_store.h"
#include "storage/event_store.h"
#include "storage/llm_connection_store.h"
#include "storage/meta_store.h"
#include "storage/model_store.h"
#include "storage/prompt_store.h"
#include "storage/score_config_store.h"
#include "ui/batch_export.h"

namespace loupe {

struct UiDeps {
  MetaStore* meta = nullptr;
  EventStore* events = nullptr;
  ApiKeyAuthenticator* auth = nullptr;  // hashes new keys, drops revoked ones
  std::string data_dir;                 // where a generated NEXTAUTH_SECRET is kept
  std::string public_url;               // NEXTAUTH_URL (https turns on Secure cookies)
  PromptStore* prompts = nullptr;
  DatasetStore* datasets = nullptr;
  ScoreConfigStore* score_configs = nullptr;
  ModelStore* models = nullptr;
  PriceTable* prices = nullptr;  // custom models are reloaded into it on change
  LlmConnectionStore* llm_connections = nullptr;
  const SecretCipher* cipher = nullptr;  // null when ENCRYPTION_KEY is not set
  // Where batch exports are written; null disables them (503).
  std::shared_ptr<BatchExportStorage> exports;
};

// Registers the UI routes and makes the UI the router's fallback. Fails when
// the session secret cannot be loaded or created.
absl::Status RegisterUi(Router& router, const UiDeps& deps);

}  // namespace loupe
