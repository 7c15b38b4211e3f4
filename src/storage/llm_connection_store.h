#pragma once

// LlmConnectionStore: the LLM provider connections of a project (Langfuse's
// llm_api_keys), used by evaluations and the playground. Secrets arrive here
// already encrypted (common/secret_cipher.h); the store never sees them in
// clear text.
//
// Contract:
//  - A connection is identified by (project, provider): Upsert() replaces
//    the connection of that provider, keeping its id and creation time.
//  - Everything is durable on return and all methods are thread-safe.
//    "Not found" is an empty optional or `false`; storage failures are
//    kUnavailable / kInternal.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/event_store.h"

namespace loupe {

struct LlmConnectionRecord {
  std::string id;
  std::string project_id;
  std::string provider;  // display name, unique per project
  std::string adapter;   // openai | anthropic | azure | bedrock | google-vertex-ai | ...
  std::string encrypted_secret_key;
  std::string display_secret_key;
  std::optional<std::string> base_url;
  std::vector<std::string> custom_models;
  bool with_default_models = true;
  // The extra headers as encrypted JSON; only their names are in clear.
  std::optional<std::string> encrypted_extra_headers;
  std::vector<std::string> extra_header_keys;
  std::optional<std::string> config_json;  // adapter settings (bedrock region, ...)
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct UpsertedLlmConnection {
  LlmConnectionRecord connection;  // as stored
  bool created = false;            // false when an existing connection was replaced
};

class LlmConnectionStore {
 public:
  virtual ~LlmConnectionStore() = default;

  // Id and created_at of `connection` are used only when it is new.
  virtual absl::StatusOr<UpsertedLlmConnection> Upsert(const LlmConnectionRecord& connection) = 0;
  // Newest first.
  virtual absl::StatusOr<PageResult<LlmConnectionRecord>> List(const std::string& project_id,
                                                               const PageRequest& page) = 0;
  virtual absl::StatusOr<std::optional<LlmConnectionRecord>> Get(const std::string& project_id,
                                                                 const std::string& id) = 0;
  virtual absl::StatusOr<bool> Delete(const std::string& project_id, const std::string& id) = 0;
};

}  // namespace loupe
