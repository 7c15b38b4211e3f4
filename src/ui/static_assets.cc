#include "ui/static_assets.h"

#include <zlib.h>

namespace loupe {
namespace {

// gzip of `in`, or empty when zlib fails.
std::string Gzip(std::string_view in) {
  z_stream zs{};
  // 15 + 16: a gzip (not zlib) wrapper, which is what Content-Encoding means.
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return "";
  }
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? out : "";
}

bool AcceptsGzip(const HttpRequest& req) {
  return req.Header("accept-encoding").find("gzip") != std::string::npos;
}

}  // namespace

void AddUiSecurityHeaders(HttpResponse& res) {
  // Only the app's own files run; no inline script or style, no framing, no
  // plugins, no form posts elsewhere. Styles set through the DOM (the style
  // property) are not inline styles and stay allowed.
  res.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
                           "object-src 'none'; base-uri 'self'; form-action 'self'; "
                           "frame-ancestors 'none'");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("X-Frame-Options", "DENY");
  res.headers.emplace_back("Referrer-Policy", "same-origin");
}

StaticAssets::StaticAssets() {
  for (size_t i = 0; i < kUiAssetCount; ++i) {
    const UiAsset& a = kUiAssets[i];
    Entry e{&a, ""};
    const bool text = a.content_type.rfind("text/", 0) == 0 ||
                      a.content_type.find("javascript") != std::string_view::npos ||
                      a.content_type.find("json") != std::string_view::npos ||
                      a.content_type.find("svg") != std::string_view::npos;
    if (text && a.body.size() > 1024) {
      std::string z = Gzip(a.body);
      if (!z.empty() && z.size() < a.body.size() * 9 / 10) e.gzipped = std::move(z);
    }
    by_path_.emplace(a.path, std::move(e));
  }
  auto it = by_path_.find("/index.html");
  if (it != by_path_.end()) index_ = &it->second;
}

HttpResponse StaticAssets::Respond(const HttpRequest& req, const Entry& e, bool immutable) const {
  HttpResponse res;
  res.status = 200;
  res.content_type = std::string(e.asset->content_type);
  if (!e.gzipped.empty() && AcceptsGzip(req)) {
    res.body = e.gzipped;
    res.headers.emplace_back("Content-Encoding", "gzip");
  } else {
    res.body = std::string(e.asset->body);
  }
  res.headers.emplace_back("Vary", "Accept-Encoding");
  // Hashed file names change with their content; the page itself must be
  // revalidated so a new build's assets are picked up.
  res.headers.emplace_back("Cache-Control",
                           immutable ? "public, max-age=31536000, immutable" : "no-cache");
  if (req.method == "HEAD") res.body.clear();
  AddUiSecurityHeaders(res);
  return res;
}

HttpResponse StaticAssets::Serve(const HttpRequest& req) const {
  auto it = by_path_.find(std::string_view(req.path));
  if (it != by_path_.end() && req.path != "/index.html") {
    return Respond(req, it->second, req.path.rfind("/assets/", 0) == 0);
  }
  // A missing hashed asset is a stale page asking for an old build's file:
  // answering with HTML would fail confusingly as a script, so say 404.
  if (req.path.rfind("/assets/", 0) == 0 || !index_) {
    HttpResponse res;
    res.status = 404;
    res.content_type = "text/plain; charset=utf-8";
    res.body = "Not found\n";
    AddUiSecurityHeaders(res);
    return res;
  }
  return Respond(req, *index_, false);
}

}  // namespace loupe
