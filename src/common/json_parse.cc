#include "common/json_parse.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace loupe {

namespace json = boost::json;

json::parse_options JsonParseOptions(std::size_t max_depth) {
  json::parse_options options;
  options.max_depth = max_depth;
  return options;
}

json::value ParseJson(std::string_view text, boost::system::error_code& ec, json::storage_ptr sp,
                      std::size_t max_depth) {
  return json::parse(json::string_view(text.data(), text.size()), ec, std::move(sp),
                     JsonParseOptions(max_depth));
}

json::value ParseJson(std::string_view text, json::storage_ptr sp, std::size_t max_depth) {
  return json::parse(json::string_view(text.data(), text.size()), std::move(sp),
                     JsonParseOptions(max_depth));
}

json::value ParseStoredJson(std::string_view text, boost::system::error_code& ec,
                            json::storage_ptr sp) {
  return ParseJson(text, ec, std::move(sp), kMaxStoredJsonDepth);
}

absl::StatusOr<json::value> ParseJsonOrError(std::string_view text, std::size_t max_depth) {
  boost::system::error_code ec;
  json::value v = ParseJson(text, ec, {}, max_depth);
  if (ec) return absl::InvalidArgumentError(JsonErrorMessage(ec, max_depth));
  return v;
}

std::string JsonErrorMessage(const boost::system::error_code& ec, std::size_t max_depth) {
  if (ec == json::error::too_deep) return JsonTooDeepMessage(max_depth);
  return ec.message();
}

std::string JsonTooDeepMessage(std::size_t max_depth) {
  return "JSON nested deeper than " + std::to_string(max_depth) + " levels";
}

std::size_t JsonDepth(const json::value& v) {
  // Depth-first over containers with an explicit stack of (value, depth).
  std::size_t deepest = 0;
  std::vector<std::pair<const json::value*, std::size_t>> stack;
  stack.emplace_back(&v, 0);
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (const json::array* a = node->if_array()) {
      deepest = std::max(deepest, depth + 1);
      for (const json::value& e : *a) {
        if (e.is_structured()) stack.emplace_back(&e, depth + 1);
      }
    } else if (const json::object* o = node->if_object()) {
      deepest = std::max(deepest, depth + 1);
      for (const auto& kv : *o) {
        if (kv.value().is_structured()) stack.emplace_back(&kv.value(), depth + 1);
      }
    }
  }
  return deepest;
}

}  // namespace loupe
