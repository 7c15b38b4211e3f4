#pragma once

// /api/public/models: the custom models of the caller's project (model name,
// match pattern, tokenizer settings, flat prices or pricing tiers) listed
// together with the Langfuse-managed defaults, as Langfuse returns them.
//
// Custom models take precedence over the defaults when generations are
// priced at ingestion: every create and delete replaces the project's models
// in the PriceTable, and LoadCustomModelPrices() loads all of them at start.
// Defaults cannot be deleted (404); a custom model with the same name
// overrides one.

#include <map>
#include <string>

#include "absl/status/status.h"
#include "api/router.h"
#include "auth/api_key_auth.h"
#include "boost/json.hpp"
#include "cost/price_table.h"
#include "storage/model_store.h"

namespace loupe {

struct ModelsApiDeps {
  ApiKeyAuthenticator* auth = nullptr;
  ModelStore* models = nullptr;
  PriceTable* prices = nullptr;
};

// Puts every project's custom models into `prices`.
absl::Status LoadCustomModelPrices(ModelStore& models, PriceTable& prices);

// Keeps the custom models in a PriceTable in step with a ModelStore that
// other processes also write (metadata on PostgreSQL): a model created or
// deleted through another process prices this process's generations after
// the next Refresh(). Models change only by create and delete, so a
// project's list is replaced only when its ids or update times differ.
// Not thread-safe: one caller (the refresh thread).
class CustomModelSync {
 public:
  // Neither pointer is owned.
  CustomModelSync(ModelStore* models, PriceTable* prices) : models_(models), prices_(prices) {}
  absl::Status Refresh();

 private:
  ModelStore* models_;
  PriceTable* prices_;
  std::map<std::string, std::string> fingerprints_;  // project -> ids and update times
};

void RegisterModelsApi(Router& router, ModelsApiDeps deps);

// The work of GET, POST and DELETE /api/public/models for a project the
// caller was already authorized for (the web UI uses them behind its session
// auth): the same validation, JSON shapes and status codes, and the same
// price table reload after a change. `deps.auth` is not used.
HttpResponse ListModelsOfProject(const ModelsApiDeps& deps, const std::string& project_id, int page,
                                 int limit);
HttpResponse CreateModelInProject(const ModelsApiDeps& deps, const std::string& project_id,
                                  const boost::json::object& body);
HttpResponse DeleteModelOfProject(const ModelsApiDeps& deps, const std::string& project_id,
                                  const std::string& id);

}  // namespace loupe
