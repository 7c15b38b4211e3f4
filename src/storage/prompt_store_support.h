#pragma once

// What the PromptStore implementations (SQLite, PostgreSQL) share beyond
// their SQL: the stored form of labels and tags, label bookkeeping, the keys
// of their read caches and the resolution of `@@@langfusePrompt:...@@@`
// references. Pure functions; the database is reached only through the
// finder a resolution is given.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/json.hpp"
#include "storage/prompt_store.h"

namespace loupe {

// More distinct reads than this in one project (names x selectors) empty
// that project's read cache instead of growing it further.
inline constexpr size_t kMaxCachedPromptReadsPerProject = 20000;

// A stored JSON column (content, config); null when it does not parse.
boost::json::value ParseStoredPromptJson(const std::string& text);

// Labels and tags are stored as JSON arrays of strings, in the order given.
std::vector<std::string> ParsePromptStringArray(const std::string& text);
std::string SerializePromptStringArray(const std::vector<std::string>& values);

// Appends the values of `add` not yet in `out`, keeping first occurrences.
void AppendDistinct(std::vector<std::string>& out, const std::vector<std::string>& add);
bool HasLabel(const PromptRecord& p, std::string_view label);
// Removes `labels` from `p`; true when it had any of them.
bool RemoveLabels(PromptRecord& p, const std::vector<std::string>& labels);

// The record of the next version of `v.name`, after `latest` (none for a
// new name): version latest + 1, its labels plus "latest", its tags or else
// those of `latest`, created at `now_ms`. Fails with kInvalidArgument when
// `latest` has another type.
absl::StatusOr<PromptRecord> NextPromptVersion(const std::string& project_id,
                                               const NewPromptVersion& v,
                                               const PromptRecord* latest, int64_t now_ms);

// The key of a Get() result in a project's read cache.
std::string PromptReadCacheKey(const std::string& name, const PromptSelector& selector,
                               bool resolve);

// The version of `name` that `selector` picks in `project_id`, if any.
using PromptFinder = std::function<absl::StatusOr<std::optional<PromptRecord>>(
    const std::string& project_id, const std::string& name, const PromptSelector& selector)>;

// Replaces every reference in `root`'s serialized content by the referenced
// text prompt's resolved text (JSON-escaped, so it drops into the strings of
// chat messages as well), following the rules in prompt_store.h: at most
// kMaxPromptNestingDepth levels, no cycles, no other version of the root's
// own name. Violations fail with `error_code`. `graph` receives the prompts
// pulled in.
absl::StatusOr<std::string> ResolvePromptContent(const PromptRecord& root, std::string content,
                                                 absl::StatusCode error_code,
                                                 const PromptFinder& find,
                                                 PromptResolutionGraph* graph);

}  // namespace loupe
