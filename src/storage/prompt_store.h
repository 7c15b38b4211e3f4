#pragma once

// PromptStore: versioned prompts of a project (Langfuse prompt management).
//
// Contract:
//  - A prompt is identified by (project, name); each CreateVersion() adds
//    version max(existing)+1 (the first is 1). Content is immutable after
//    creation; only labels (and the tags shared by all versions) change.
//  - Labels are unique per name: giving a label to one version removes it
//    from every other version of that name in the same transaction.
//  - `latest` is maintained by the store and cannot be set by callers: it is
//    on the newest version after every create, and when the version carrying
//    it is deleted it moves to the highest remaining version.
//  - Tags belong to the name: a create with tags rewrites them on every
//    version; a create without tags (nullopt) inherits the latest version's.
//  - All versions of a name have the same type ("text" or "chat").
//  - Prompt references `@@@langfusePrompt:name=N|version=V@@@` and
//    `@@@langfusePrompt:name=N|label=L@@@` inside a prompt are resolved by
//    Get(resolve=true): each is replaced by the (recursively resolved) text
//    of the referenced text prompt. References nest at most
//    kMaxPromptNestingDepth levels, must not form a cycle and must not point
//    at another version of the root prompt's own name. CreateVersion() checks
//    this against the current data and fails with kInvalidArgument; when
//    later label moves break it, Get() fails with kFailedPrecondition.
//  - Deleting versions that other prompts reference (by version, or by a
//    label no remaining version would carry) fails with kFailedPrecondition.
//  - Get() is served from memory after the first read; every change in a
//    project drops that project's cached reads, so a read never returns
//    data older than the last completed change.
//  - Everything is durable on return and all methods are thread-safe.
//    Errors: kInvalidArgument / kNotFound / kFailedPrecondition with a
//    message meant for the API client; kUnavailable / kInternal for storage
//    failures.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/json.hpp"

namespace loupe {

inline constexpr int kMaxPromptNestingDepth = 5;
inline constexpr const char* kLatestPromptLabel = "latest";
inline constexpr const char* kProductionPromptLabel = "production";

struct PromptRecord {
  std::string id;
  std::string project_id;
  std::string name;
  int version = 0;
  std::string type;           // "text" | "chat"
  boost::json::value prompt;  // string (text) or array of messages (chat)
  boost::json::value config;  // any JSON; {} when none was given
  std::vector<std::string> labels;
  std::vector<std::string> tags;
  std::optional<std::string> commit_message;
  std::string created_by = "API";
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct NewPromptVersion {
  std::string name;
  std::string type = "text";
  boost::json::value prompt;
  boost::json::value config = boost::json::object();
  // Without `latest`, which the store adds.
  std::vector<std::string> labels;
  // nullopt: keep the tags of the latest version.
  std::optional<std::vector<std::string>> tags;
  std::optional<std::string> commit_message;
  std::string created_by = "API";
};

// Exactly one of the two is set.
struct PromptSelector {
  std::optional<int> version;
  std::optional<std::string> label;

  static PromptSelector Version(int v) { return {v, std::nullopt}; }
  static PromptSelector Label(std::string l) { return {std::nullopt, std::move(l)}; }
};

struct PromptNode {
  std::string id;
  std::string name;
  int version = 0;
};

// Which prompts a resolved prompt pulled in: parent prompt id → the prompts
// it references, in the order they were resolved.
struct PromptResolutionGraph {
  PromptNode root;
  std::vector<std::pair<std::string, std::vector<PromptNode>>> dependencies;
};

struct ResolvedPrompt {
  PromptRecord record;  // `prompt` holds the resolved content
  // Set only when the prompt references other prompts and was resolved.
  std::optional<PromptResolutionGraph> graph;
};

struct PromptListQuery {
  std::optional<std::string> name;
  std::optional<std::string> label;
  std::optional<std::string> tag;
  std::optional<int> version;
  std::optional<int64_t> from_updated_ms;  // inclusive
  std::optional<int64_t> to_updated_ms;    // exclusive
  int page = 1;                            // 1-based
  int limit = 10;
};

// One prompt name, aggregated over its versions that match the filters.
struct PromptMetaRecord {
  std::string name;
  std::string type;
  std::vector<int> versions;        // ascending
  std::vector<std::string> labels;  // sorted, distinct
  std::vector<std::string> tags;
  int64_t last_updated_at_ms = 0;
  boost::json::value last_config;  // config of the highest matching version
};

struct PromptMetaPage {
  std::vector<PromptMetaRecord> items;
  int64_t total_items = 0;
};

class PromptStore {
 public:
  virtual ~PromptStore() = default;

  // Adds the next version of `v.name` and returns it as stored.
  virtual absl::StatusOr<PromptRecord> CreateVersion(const std::string& project_id,
                                                     const NewPromptVersion& v) = 0;

  // The version chosen by `selector`, or nullptr when there is none. With
  // `resolve`, references are inlined and the graph is filled in. The result
  // is shared with the cache and must not be modified.
  virtual absl::StatusOr<std::shared_ptr<const ResolvedPrompt>> Get(const std::string& project_id,
                                                                    const std::string& name,
                                                                    const PromptSelector& selector,
                                                                    bool resolve) = 0;

  // The version with this id (a prompt version's id, as comments name it),
  // unresolved; nullopt when the project has none.
  virtual absl::StatusOr<std::optional<PromptRecord>> GetById(const std::string& project_id,
                                                              const std::string& id) = 0;

  // Prompt names ordered by name, one page of them.
  virtual absl::StatusOr<PromptMetaPage> List(const std::string& project_id,
                                              const PromptListQuery& query) = 0;

  // Adds `labels` to a version (taking them from the other versions) and
  // returns the updated version; kNotFound when the version does not exist,
  // kInvalidArgument for `latest`.
  virtual absl::StatusOr<PromptRecord> AddLabels(const std::string& project_id,
                                                 const std::string& name, int version,
                                                 const std::vector<std::string>& labels) = 0;

  // Deletes the version with `version` or the one carrying `label`, or every
  // version of the name when both are nullopt. kNotFound when nothing matches.
  virtual absl::Status Delete(const std::string& project_id, const std::string& name,
                              std::optional<int> version, std::optional<std::string> label) = 0;

  virtual void Close() = 0;
};

// A reference found in prompt content (see the contract above).
struct PromptReference {
  std::string name;
  std::optional<int> version;  // set for `|version=`, else `label` is
  std::string label;

  bool operator==(const PromptReference&) const = default;
};

// Parses the references in serialized prompt content the way Langfuse does:
// `@@@langfusePrompt:` + `name=<n>|version=<v>` or `name=<n>|label=<l>` +
// `@@@`; anything else between the markers is not a reference. Distinct, in
// order of first appearance.
std::vector<PromptReference> ParsePromptReferences(std::string_view serialized_content);

}  // namespace loupe
