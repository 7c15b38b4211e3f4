#include "api/router.h"

#include "api/responses.h"

namespace loupe {

std::vector<std::string> Router::Split(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

void Router::Add(std::string method, std::string pattern, RouteHandler handler) {
  routes_.push_back({std::move(method), Split(pattern), std::move(handler)});
}

HttpResponse Router::Dispatch(HttpRequest& request) const {
  // Segments are split on the raw (still percent-encoded) target so that an
  // encoded '/' inside a name stays one segment.
  std::string raw_path = request.target.substr(0, request.target.find('?'));
  std::vector<std::string> raw = Split(raw_path);
  bool path_matched = false;
  for (const Route& route : routes_) {
    if (route.segments.size() != raw.size()) continue;
    PathParams params;
    bool ok = true;
    for (size_t i = 0; i < raw.size() && ok; ++i) {
      const std::string& seg = route.segments[i];
      if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
        params[seg.substr(1, seg.size() - 2)] = PercentDecode(raw[i], false);
      } else {
        ok = seg == raw[i];
      }
    }
    if (!ok) continue;
    path_matched = true;
    if (route.method == request.method) return route.handler(request, params);
  }
  if (path_matched) {
    return ErrorResponse(405, "MethodNotAllowedError", "Method " + request.method + " not allowed");
  }
  if (fallback_) return fallback_(request, {});
  return ErrorResponse(404, "LangfuseNotFoundError", "Route not found: " + request.path);
}

}  // namespace loupe
