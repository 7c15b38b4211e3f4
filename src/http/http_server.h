#pragma once

// HTTP/1.1 server on Boost.Beast: keep-alive, chunked and gzip request
// bodies, per-route body limits, CORS, and graceful shutdown.
//
// Threading: a fixed pool of `threads` runs the io_context; a handler runs on
// one of them and may block (e.g. waiting for a durable commit), so the pool
// size bounds the number of requests in progress. Each connection is
// serialized on its own strand.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "http/http_types.h"

namespace loupe {

struct HttpServerOptions {
  std::string bind_address = "0.0.0.0";
  int port = 3000;  // 0 = pick a free port
  int threads = 16;
  // Largest accepted request body (after decompression too) for a path.
  std::function<size_t(std::string_view path)> body_limit = [](std::string_view) {
    return size_t{1} << 20;
  };
  int idle_timeout_seconds = 75;
};

using HttpHandler = std::function<HttpResponse(HttpRequest&)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();

  // Binds and starts serving on the thread pool. Fails if the port is taken.
  absl::Status Start();
  int port() const;

  // Stops accepting, lets in-flight requests finish (up to `grace_seconds`),
  // closes idle connections and joins the threads. Idempotent.
  void Shutdown(int grace_seconds);

  struct Impl;  // public so the connection code in http_server.cc can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace loupe
