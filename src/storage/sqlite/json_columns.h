#pragma once

// Lists of strings kept in one TEXT column as a JSON array (Postgres keeps
// them as text[] in Langfuse).

#include <string>
#include <vector>

#include "boost/json.hpp"
#include "common/json_parse.h"

namespace loupe::sqlite {

inline std::string StringsToJson(const std::vector<std::string>& values) {
  boost::json::array arr;
  for (const std::string& v : values) arr.emplace_back(v);
  return boost::json::serialize(arr);
}

// Unreadable or non-string elements are skipped.
inline std::vector<std::string> StringsFromJson(const std::string& text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  boost::json::value v = ParseStoredJson(text, ec);
  if (ec || !v.is_array()) return out;
  for (const boost::json::value& e : v.get_array()) {
    if (e.is_string()) out.emplace_back(e.get_string());
  }
  return out;
}

}  // namespace loupe::sqlite
