#pragma once

// Page cursors of the cursor-paged read APIs (v2 observations, v3 scores,
// experiments): URL-safe base64 without padding of a small JSON object that
// holds the last row's position. Clients treat them as opaque.

#include <optional>
#include <string>
#include <string_view>

#include "boost/json.hpp"

namespace loupe {

std::string EncodeCursorObject(const boost::json::object& fields);

// The object inside `cursor`, or nullopt when it holds none. Either base64
// alphabet is accepted, with or without padding, because clients may
// re-encode the cursor (e.g. '+' for '-') before sending it back.
std::optional<boost::json::object> DecodeCursorObject(std::string_view cursor);

}  // namespace loupe
