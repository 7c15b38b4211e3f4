#pragma once

// The Langfuse-compatible public API under /api/public: ingestion (batch and
// the legacy single-entity routes), traces, observations, sessions, scores,
// projects and health. Handlers parse, authenticate and validate, then call
// the stores; they hold no state of their own.

#include <atomic>
#include <string>

#include "api/router.h"
#include "api/score_config_validator.h"
#include "auth/api_key_auth.h"
#include "ingest/ingest_sink.h"
#include "storage/event_store.h"
#include "storage/meta_store.h"

namespace loupe {

struct PublicApiDeps {
  EventStore* events = nullptr;  // reads
  IngestSink* ingest = nullptr;  // every ingestion route writes here
  MetaStore* meta = nullptr;
  ApiKeyAuthenticator* auth = nullptr;
  // Checks scores that name a configId against that config; optional.
  const ScoreConfigValidator* score_configs = nullptr;
  // Set once shutdown begins; /api/public/ready then answers 500.
  const std::atomic<bool>* shutting_down = nullptr;
};

// The Langfuse server version Loupe's API matches, reported by /health.
inline constexpr const char* kCompatibleLangfuseVersion = "3.225.4";

void RegisterPublicApi(Router& router, PublicApiDeps deps);

}  // namespace loupe
