#include "storage/prompt_rules.h"

#include <algorithm>

namespace loupe {
namespace {

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

bool IsPromptLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

bool IsPromptIdentifier(std::string_view s) {
  if (s.empty() || !IsAsciiLetter(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAsciiLetter(c) || (c >= '0' && c <= '9') || c == '_'; });
}

std::string PromptLabelError(std::string_view label) {
  if (label.empty() || label.size() > kMaxPromptLabelLength) {
    return "Label must be 1 to 36 characters long";
  }
  if (!std::all_of(label.begin(), label.end(), IsPromptLabelChar)) {
    return "Label must be lowercase alphanumeric with optional underscores, hyphens, or periods";
  }
  return "";
}

std::string PromptNameError(std::string_view name) {
  if (name.empty()) return "Enter a name";
  if (name.size() > kMaxPromptNameLength) return "Name must be at most 255 characters";
  if (name.find('|') != std::string_view::npos) return "Prompt name cannot contain '|' character";
  if (name == "new") return "Prompt name cannot be 'new'";
  size_t lt = name.find('<');
  if (lt != std::string_view::npos && name.find('>', lt) != std::string_view::npos) {
    return "Text cannot contain HTML tags";
  }
  if (name.front() == '/') return "Name cannot start with a slash";
  if (name.back() == '/') return "Name cannot end with a slash";
  if (name.find("//") != std::string_view::npos) return "Name cannot contain consecutive slashes";
  return "";
}

std::set<std::string> PromptVariables(std::string_view text) {
  std::set<std::string> out;
  size_t pos = 0;
  while ((pos = text.find("{{", pos)) != std::string_view::npos) {
    size_t end = text.find("}}", pos + 2);
    if (end == std::string_view::npos) break;
    std::string_view inner = text.substr(pos + 2, end - pos - 2);
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!inner.empty() && space(inner.front())) inner.remove_prefix(1);
    while (!inner.empty() && space(inner.back())) inner.remove_suffix(1);
    if (IsPromptIdentifier(inner)) out.emplace(inner);
    pos = end + 2;
  }
  return out;
}

}  // namespace loupe
