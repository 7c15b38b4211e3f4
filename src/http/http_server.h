#pragma once

// HTTP/1.1 server on Boost.Beast: keep-alive, chunked and gzip request
// bodies, per-route body limits, CORS, and graceful shutdown.
//
// Threading: `io_threads` run the io_context (socket reads and writes, and
// handlers of requests that never block, e.g. reads). Requests that may block
// (writes that wait for a durable commit) run on a fixed pool of
// `worker_threads`, whose size bounds the number of such requests in
// progress; their responses are written back on the connection's strand.
// Keeping the I/O threads few (about one per core) avoids handing every
// request between many threads.

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
  int io_threads = 2;
  int worker_threads = 16;
  // True when a request's handler may block and must leave the I/O threads.
  std::function<bool(const HttpRequest&)> may_block = [](const HttpRequest& r) {
    return r.method != "GET" && r.method != "HEAD" && r.method != "OPTIONS";
  };
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
