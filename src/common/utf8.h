#pragma once

// Cutting UTF-8 text by characters, not bytes: a byte cut can split a
// multi-byte character and leave invalid UTF-8, which PostgreSQL rejects and
// JSON clients mangle.

#include <cstddef>
#include <string_view>

namespace loupe {

inline bool IsUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The first `n` characters of `s` (all of it when shorter).
inline std::string_view Utf8Prefix(std::string_view s, size_t n) {
  size_t i = 0;
  for (size_t chars = 0; i < s.size() && chars < n; ++chars) {
    ++i;
    while (i < s.size() && IsUtf8Continuation(s[i])) ++i;
  }
  return s.substr(0, i);
}

// The last `n` characters of `s` (all of it when shorter).
inline std::string_view Utf8Suffix(std::string_view s, size_t n) {
  size_t i = s.size();
  for (size_t chars = 0; i > 0 && chars < n; ++chars) {
    --i;
    while (i > 0 && IsUtf8Continuation(s[i])) --i;
  }
  return s.substr(i);
}

// How many characters `s` holds.
inline size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += IsUtf8Continuation(c) ? 0 : 1;
  return n;
}

}  // namespace loupe
