#include "storage/prompt_store_support.h"

#include <algorithm>
#include <iterator>
#include <set>

#include "common/hash.h"
#include "common/json_parse.h"
#include "common/status_macros.h"

namespace loupe {
namespace {

namespace json = boost::json;

std::string DescribeReference(const PromptReference& ref) {
  return ref.version ? ref.name + " - version " + std::to_string(*ref.version)
                     : ref.name + " - label " + ref.label;
}

void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
  size_t pos = 0;
  while ((pos = text.find(from, pos)) != std::string::npos) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
}

void AddDependency(PromptResolutionGraph& graph, const std::string& parent_id,
                   const PromptRecord& child) {
  auto it = std::find_if(graph.dependencies.begin(), graph.dependencies.end(),
                         [&](const auto& e) { return e.first == parent_id; });
  if (it == graph.dependencies.end()) {
    graph.dependencies.emplace_back(parent_id, std::vector<PromptNode>{});
    it = std::prev(graph.dependencies.end());
  }
  it->second.push_back({child.id, child.name, child.version});
}

absl::StatusOr<std::string> Resolve(const PromptRecord& current, std::string content, int level,
                                    PromptResolutionGraph& graph, std::set<std::string>& seen,
                                    absl::StatusCode error_code, const PromptFinder& find) {
  auto fail = [&](std::string message) { return absl::Status(error_code, message); };
  if (level >= kMaxPromptNestingDepth) {
    return fail("Maximum nesting depth exceeded (" + std::to_string(kMaxPromptNestingDepth) + ")");
  }
  const PromptNode& root = graph.root;
  // A prompt may not pull in another version of the root's own name: that
  // is a cycle as soon as labels move.
  if (seen.count(current.id) || (current.name == root.name && current.id != root.id)) {
    return fail("Circular dependency detected involving prompt '" + current.name + "' version " +
                std::to_string(current.version));
  }
  std::vector<PromptReference> refs = ParsePromptReferences(content);
  if (refs.empty()) return content;
  seen.insert(current.id);
  for (const PromptReference& ref : refs) {
    PromptSelector selector =
        ref.version ? PromptSelector::Version(*ref.version) : PromptSelector::Label(ref.label);
    ASSIGN_OR_RETURN(std::optional<PromptRecord> child,
                     find(current.project_id, ref.name, selector));
    if (!child) return fail("Prompt dependency not found: " + DescribeReference(ref));
    if (child->type != "text") {
      return fail("Prompt dependency is not a text prompt: " + DescribeReference(ref));
    }
    AddDependency(graph, current.id, *child);
    ASSIGN_OR_RETURN(std::string child_text, Resolve(*child, json::serialize(child->prompt),
                                                     level + 1, graph, seen, error_code, find));
    // A text prompt serializes as a JSON string literal; its inside is the
    // escaped text that replaces the tag.
    std::string_view escaped(child_text);
    if (escaped.size() >= 2 && escaped.front() == '"' && escaped.back() == '"') {
      escaped = escaped.substr(1, escaped.size() - 2);
    }
    ReplaceAll(content,
               "@@@langfusePrompt:name=" + child->name +
                   "|version=" + std::to_string(child->version) + "@@@",
               escaped);
    for (const std::string& l : child->labels) {
      ReplaceAll(content, "@@@langfusePrompt:name=" + child->name + "|label=" + l + "@@@", escaped);
    }
  }
  seen.erase(current.id);
  return content;
}

}  // namespace

json::value ParseStoredPromptJson(const std::string& text) {
  boost::system::error_code ec;
  json::value v = ParseStoredJson(text, ec);
  return ec ? json::value(nullptr) : v;
}

std::vector<std::string> ParsePromptStringArray(const std::string& text) {
  std::vector<std::string> out;
  json::value v = ParseStoredPromptJson(text);
  if (const json::array* arr = v.if_array()) {
    for (const json::value& e : *arr) {
      if (const json::string* s = e.if_string()) out.emplace_back(*s);
    }
  }
  return out;
}

std::string SerializePromptStringArray(const std::vector<std::string>& values) {
  json::array arr;
  for (const std::string& s : values) arr.emplace_back(s);
  return json::serialize(arr);
}

void AppendDistinct(std::vector<std::string>& out, const std::vector<std::string>& add) {
  for (const std::string& s : add) {
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
}

bool HasLabel(const PromptRecord& p, std::string_view label) {
  return std::find(p.labels.begin(), p.labels.end(), label) != p.labels.end();
}

bool RemoveLabels(PromptRecord& p, const std::vector<std::string>& labels) {
  size_t before = p.labels.size();
  std::erase_if(p.labels, [&](const std::string& l) {
    return std::find(labels.begin(), labels.end(), l) != labels.end();
  });
  return p.labels.size() != before;
}

absl::StatusOr<PromptRecord> NextPromptVersion(const std::string& project_id,
                                               const NewPromptVersion& v,
                                               const PromptRecord* latest, int64_t now_ms) {
  if (latest && latest->type != v.type) {
    return absl::InvalidArgumentError(
        "Previous versions have different prompt type. Create a new prompt with a different "
        "name.");
  }
  PromptRecord p;
  p.id = NewUuid();
  p.project_id = project_id;
  p.name = v.name;
  p.version = latest ? latest->version + 1 : 1;
  p.type = v.type;
  p.prompt = v.prompt;
  p.config = v.config.is_null() ? json::value(json::object()) : v.config;
  AppendDistinct(p.labels, v.labels);
  AppendDistinct(p.labels, {kLatestPromptLabel});
  if (v.tags) {
    AppendDistinct(p.tags, *v.tags);
  } else if (latest) {
    p.tags = latest->tags;
  }
  p.commit_message = v.commit_message;
  p.created_by = v.created_by;
  p.created_at_ms = p.updated_at_ms = now_ms;
  return p;
}

std::string PromptReadCacheKey(const std::string& name, const PromptSelector& selector,
                               bool resolve) {
  std::string key;
  key.reserve(name.size() + 24);
  key += resolve ? 'r' : 'u';
  if (selector.version) {
    key += 'v';
    key += std::to_string(*selector.version);
  } else {
    key += 'l';
    key += selector.label.value_or("");
  }
  key += '\x1f';
  key += name;
  return key;
}

absl::StatusOr<std::string> ResolvePromptContent(const PromptRecord& root, std::string content,
                                                 absl::StatusCode error_code,
                                                 const PromptFinder& find,
                                                 PromptResolutionGraph* graph) {
  graph->root = {root.id, root.name, root.version};
  graph->dependencies.clear();
  std::set<std::string> seen;
  return Resolve(root, std::move(content), 0, *graph, seen, error_code, find);
}

}  // namespace loupe
