#pragma once

// Validation rules for prompts shared by every way of writing one (the public
// API and the web UI): names, labels, and the `{{variable}}` names the SDKs'
// compile() substitutes. Pure functions.

#include <cstddef>
#include <set>
#include <string>
#include <string_view>

namespace loupe {

inline constexpr size_t kMaxPromptNameLength = 255;
inline constexpr size_t kMaxPromptLabelLength = 36;
inline constexpr size_t kMaxPromptCommitMessageLength = 500;

// [a-z0-9_.-]
bool IsPromptLabelChar(char c);
// A letter followed by letters, digits or underscores (variable and
// placeholder names).
bool IsPromptIdentifier(std::string_view s);

// Empty when valid, else what is wrong, in the words the public API uses.
std::string PromptLabelError(std::string_view label);
std::string PromptNameError(std::string_view name);

// The `{{variable}}` names of a text (spaces inside the braces allowed).
std::set<std::string> PromptVariables(std::string_view text);

}  // namespace loupe
