#include <algorithm>
#include <charconv>
#include <set>
#include <string_view>

#include "storage/prompt_store.h"

namespace loupe {
namespace {

constexpr std::string_view kOpen = "@@@langfusePrompt:";
constexpr std::string_view kClose = "@@@";

// "key=value" → (key, value up to a second '='), as JavaScript's split("=")
// destructured into two names reads it.
std::pair<std::string_view, std::string_view> SplitKeyValue(std::string_view part) {
  size_t eq = part.find('=');
  if (eq == std::string_view::npos) return {part, {}};
  std::string_view value = part.substr(eq + 1);
  return {part.substr(0, eq), value.substr(0, value.find('='))};
}

}  // namespace

std::vector<PromptReference> ParsePromptReferences(std::string_view text) {
  std::vector<PromptReference> out;
  std::set<std::string_view> seen_tags;
  size_t pos = 0;
  while ((pos = text.find(kOpen, pos)) != std::string_view::npos) {
    size_t inner_begin = pos + kOpen.size();
    size_t end = text.find(kClose, inner_begin);
    if (end == std::string_view::npos) break;
    std::string_view tag = text.substr(pos, end + kClose.size() - pos);
    std::string_view inner = text.substr(inner_begin, end - inner_begin);
    pos = end + kClose.size();
    if (!seen_tags.insert(tag).second) continue;

    size_t bar = inner.find('|');
    if (bar == std::string_view::npos || inner.find('|', bar + 1) != std::string_view::npos) {
      continue;  // exactly two parts
    }
    auto [name_key, name] = SplitKeyValue(inner.substr(0, bar));
    if (name_key != "name" || name.empty()) continue;
    auto [key, value] = SplitKeyValue(inner.substr(bar + 1));
    PromptReference ref;
    ref.name = std::string(name);
    if (key == "version" && !value.empty()) {
      int v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || p != value.data() + value.size()) continue;
      ref.version = v;
    } else if (key == "label") {
      ref.label = std::string(value);
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), ref) == out.end()) out.push_back(std::move(ref));
  }
  return out;
}

}  // namespace loupe
