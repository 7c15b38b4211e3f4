#pragma once

// Maps (method, path pattern) to handlers. Patterns are literal segments and
// `{name}` captures, e.g. "/api/public/traces/{traceId}". A path that matches
// a pattern under another method answers 405.

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "http/http_types.h"

namespace loupe {

using PathParams = std::map<std::string, std::string>;
using RouteHandler = std::function<HttpResponse(HttpRequest&, const PathParams&)>;

class Router {
 public:
  void Add(std::string method, std::string pattern, RouteHandler handler);

  // Handles requests whose path matches no route (instead of the 404), e.g.
  // the web UI's pages, whose client-side paths are open-ended.
  void SetFallback(RouteHandler handler) { fallback_ = std::move(handler); }

  // Dispatches; unknown paths get the fallback or 404, known paths with
  // another method 405.
  HttpResponse Dispatch(HttpRequest& request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    RouteHandler handler;
  };
  static std::vector<std::string> Split(const std::string& path);
  std::vector<Route> routes_;
  RouteHandler fallback_;
};

}  // namespace loupe
