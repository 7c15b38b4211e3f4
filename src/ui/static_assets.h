#pragma once

// The web UI's built files (web/dist), compiled into the binary by
// src/ui/embed_assets.cmake, and how they are served: files by exact path
// (content-hashed /assets/* cached for a year), every other page path with
// index.html so the single-page app's router takes over, security headers
// (Content-Security-Policy and friends) on all of it, gzip when accepted.
//
// When the UI was not built, the table holds one index.html that says so.

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/http_types.h"

namespace loupe {

struct UiAsset {
  std::string_view path;  // "/index.html", "/assets/index-abc123.js"
  std::string_view content_type;
  std::string_view body;
};

// Defined by the generated ui_assets.cc.
extern const UiAsset kUiAssets[];
extern const size_t kUiAssetCount;
extern const bool kUiAssetsBuilt;  // false: the fallback page only

// Adds Content-Security-Policy, X-Content-Type-Options, X-Frame-Options and
// Referrer-Policy to a response of the UI (pages and /api/ui JSON alike).
void AddUiSecurityHeaders(HttpResponse& res);

// Serves the embedded files. Immutable after construction; thread-safe.
class StaticAssets {
 public:
  StaticAssets();

  // GET/HEAD of `req.path`: the file with that path, else index.html.
  HttpResponse Serve(const HttpRequest& req) const;

 private:
  struct Entry {
    const UiAsset* asset;
    std::string gzipped;  // empty when compression does not pay
  };
  HttpResponse Respond(const HttpRequest& req, const Entry& e, bool immutable) const;

  std::unordered_map<std::string_view, Entry> by_path_;
  const Entry* index_ = nullptr;
};

}  // namespace loupe
