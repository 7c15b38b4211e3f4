#include "http/http_server.h"

#include <zlib.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/memory.h"

namespace loupe {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kHeaderLimit = 64 * 1024;
// A request that took longer than this allocated enough that its thread's
// allocation cache is worth handing back (ReleaseThreadCache) before the
// thread may go idle.
constexpr auto kHeavyRequest = std::chrono::milliseconds(2);
// Bodies with a declared length at least this big are read straight into
// their final string (see Session::ReadBodyDirect).
constexpr size_t kDirectBodyMin = 64 * 1024;
// The most a body read waits to have in the socket before it wakes up.
constexpr size_t kMaxBodyLowWater = 256 * 1024;

std::string ErrorJson(std::string_view message, std::string_view error) {
  std::string out = "{\"message\":\"";
  out += message;
  out += "\",\"error\":\"";
  out += error;
  out += "\"}";
  return out;
}

// Inflates a gzip or zlib body; fails when it is corrupt or larger than `limit`.
bool Gunzip(const std::string& in, size_t limit, std::string* out, bool* too_large) {
  z_stream zs{};
  if (inflateInit2(&zs, 32 + MAX_WBITS) != Z_OK) return false;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  out->clear();
  char buf[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return false;
    }
    out->append(buf, sizeof(buf) - zs.avail_out);
    if (out->size() > limit) {
      *too_large = true;
      inflateEnd(&zs);
      return false;
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return false;  // truncated stream
    }
  }
  inflateEnd(&zs);
  return true;
}

class Session;

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  std::atomic<bool> draining{false};
  std::atomic<bool> stopped{false};
  int bound_port = 0;

  // Declared before the io_context: destroying the io_context destroys the
  // sessions still referenced by its pending handlers, and they unregister
  // themselves here.
  std::mutex sessions_mu;
  std::condition_variable sessions_cv;
  std::set<Session*> sessions;  // guarded by sessions_mu
  int busy_sessions = 0;        // guarded by sessions_mu

  asio::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  asio::thread_pool workers;

  Impl(HttpServerOptions o, HttpHandler h)
      : options(std::move(o)),
        handler(std::move(h)),
        workers(static_cast<size_t>(std::max(1, options.worker_threads))) {}

  void Accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
  }

  ~Session() {
    std::lock_guard lock(server_->sessions_mu);
    server_->sessions.erase(this);
    server_->sessions_cv.notify_all();
  }

  void Start() {
    {
      std::lock_guard lock(server_->sessions_mu);
      server_->sessions.insert(this);
    }
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
  }

  // Called at shutdown for connections waiting for a new request.
  void CloseIfIdle() {
    auto self_ptr = weak_from_this().lock();
    if (!self_ptr) return;  // already being destroyed
    asio::post(stream_.get_executor(), [self = std::move(self_ptr)] {
      if (!self->busy_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.close();
      }
    });
  }

 private:
  void ReadHeader() {
    if (server_->draining) return Close();
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // Body limits are per route, so the body is read only after the header.
    parser_->body_limit(boost::none);
    stream_.expires_after(std::chrono::seconds(server_->options.idle_timeout_seconds));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (ec) return Close();
    SetBusy(true);
    auto& req = parser_->get();
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    limit_ = server_->options.body_limit(path);
    // A declared length over the limit is refused before reading the body.
    if (parser_->content_length() && *parser_->content_length() > limit_) {
      return SendTooLarge();
    }
    parser_->body_limit(limit_);
    if (req[http::field::expect] == "100-continue") {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(stream_, *cont,
                        [self = shared_from_this(), cont](beast::error_code wec, size_t) {
                          if (wec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(std::chrono::seconds(60));
    auto length = parser_->content_length();
    if (length && !parser_->chunked() && *length >= kDirectBodyMin) {
      return ReadBodyDirect(static_cast<size_t>(*length));
    }
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  // Reads a body of known length into one string with reads as large as the
  // socket allows. The parser's own body reads take at most 64 KB each and
  // wake up for every segment that arrives, which made a 2.5 MB OTLP export
  // cost thousands of reads (and timer updates); here the socket's low-water
  // mark holds each wake-up back until up to 256 KB are waiting.
  void ReadBodyDirect(size_t length) {
    direct_body_.resize(length);
    size_t have = std::min(buffer_.size(), length);
    std::memcpy(direct_body_.data(), buffer_.data().data(), have);
    buffer_.consume(have);
    direct_read_ = have;
    ContinueBodyDirect();
  }

  void ContinueBodyDirect() {
    size_t remaining = direct_body_.size() - direct_read_;
    if (remaining == 0) {
      SetLowWater(1);
      return OnRequest(std::move(direct_body_));
    }
    SetLowWater(std::min(remaining, kMaxBodyLowWater));
    stream_.async_read_some(asio::buffer(direct_body_.data() + direct_read_, remaining),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->Close();
                              self->direct_read_ += n;
                              self->ContinueBodyDirect();
                            });
  }

  void SetLowWater(size_t bytes) {
    if (bytes == low_water_) return;
    beast::error_code ec;
    stream_.socket().set_option(asio::socket_base::receive_low_watermark(static_cast<int>(bytes)),
                                ec);
    low_water_ = bytes;  // a failure only costs extra wake-ups
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == http::error::body_limit) return SendTooLarge();
    if (ec) return Close();
    OnRequest(std::move(parser_->get().body()));
  }

  // A whole request has arrived: its header is in the parser, its (possibly
  // still compressed) body in `body`.
  void OnRequest(std::string body) {
    stream_.expires_never();
    auto& req = parser_->get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.remote_address = remote_;
    std::string_view target(request.target);
    size_t q = target.find('?');
    request.path = PercentDecode(target.substr(0, q), false);
    if (q != std::string_view::npos) {
      std::string_view qs = target.substr(q + 1);
      while (!qs.empty()) {
        size_t amp = qs.find('&');
        std::string_view part = qs.substr(0, amp);
        size_t eq = part.find('=');
        std::string key = PercentDecode(part.substr(0, eq), true);
        std::string value =
            eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1), true);
        if (!key.empty()) request.query.emplace_back(std::move(key), std::move(value));
        if (amp == std::string_view::npos) break;
        qs = qs.substr(amp + 1);
      }
    }
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value(field.value());
      auto [it, inserted] = request.headers.emplace(name, value);
      if (!inserted) it->second += ", " + value;
    }
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    std::string encoding(req[http::field::content_encoding]);
    HttpResponse response;
    if (!encoding.empty() && encoding != "identity") {
      if (encoding != "gzip" && encoding != "deflate" && encoding != "x-gzip") {
        response = HttpResponse::Json(
            415, ErrorJson("Unsupported Content-Encoding: " + encoding, "InvalidRequestError"));
        return Send(std::move(response));
      }
      std::string inflated;
      bool too_large = false;
      if (!Gunzip(body, limit_, &inflated, &too_large)) {
        if (too_large) return SendTooLarge();
        response = HttpResponse::Json(
            400, ErrorJson("Failed to decompress request body", "InvalidRequestError"));
        return Send(std::move(response));
      }
      request.body = std::move(inflated);
    } else {
      request.body = std::move(body);
    }
    if (!server_->options.may_block(request)) {
      const auto start = std::chrono::steady_clock::now();
      response = server_->handler(request);
      if (std::chrono::steady_clock::now() - start > kHeavyRequest) ReleaseThreadCache();
      return Send(std::move(response), &request);
    }
    // A blocking handler runs on the worker pool; the response goes back
    // through the connection's strand, which keeps its I/O serialized.
    auto shared_request = std::make_shared<HttpRequest>(std::move(request));
    asio::post(server_->workers, [self = shared_from_this(), shared_request] {
      HttpResponse r = self->server_->handler(*shared_request);
      ReleaseThreadCache();  // writes are heavy; see kHeavyRequest
      asio::post(self->stream_.get_executor(), [self, shared_request, r = std::move(r)]() mutable {
        self->Send(std::move(r), shared_request.get());
      });
    });
  }

  void SendTooLarge() {
    keep_alive_ = false;  // the rest of the body is never read
    version_ = parser_->get().version();
    HttpResponse r = HttpResponse::Json(
        413, ErrorJson("Request body exceeds the limit of " + std::to_string(limit_) + " bytes",
                       "PayloadTooLargeError"));
    Send(std::move(r));
  }

  void Send(HttpResponse response, const HttpRequest* request = nullptr) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version_ ? version_ : 11);
    res->result(static_cast<unsigned>(response.status));
    res->set(http::field::server, "loupe");
    if (!response.content_type.empty() && response.status != 204) {
      res->set(http::field::content_type, response.content_type);
    }
    for (auto& [k, v] : response.headers) res->set(k, v);
    if (response.status != 204) res->body() = std::move(response.body);
    bool keep = keep_alive_ && !server_->draining;
    res->keep_alive(keep);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep](beast::error_code ec, size_t) {
                        self->SetBusy(false);
                        if (ec || !keep) return self->Close();
                        self->ReadHeader();
                      });
  }

  void SetBusy(bool busy) {
    if (busy_ == busy) return;
    busy_ = busy;
    std::lock_guard lock(server_->sessions_mu);
    server_->busy_sessions += busy ? 1 : -1;
    server_->sessions_cv.notify_all();
  }

  void Close() {
    SetBusy(false);
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{64 * 1024};
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string direct_body_;  // see ReadBodyDirect
  size_t direct_read_ = 0;
  size_t low_water_ = 1;  // the socket's SO_RCVLOWAT
  HttpServer::Impl* server_;
  std::string remote_;
  size_t limit_ = 0;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool busy_ = false;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor->async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (!draining) LogWarn("accept failed", {{"error", ec.message()}});
      if (draining || ec == asio::error::operation_aborted) return;
    } else {
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket), this)->Start();
    }
    if (!draining) Accept();
  });
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { Shutdown(0); }

absl::Status HttpServer::Start() {
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->options.bind_address, ec);
  if (ec) return absl::InvalidArgumentError("bad bind address: " + ec.message());
  tcp::endpoint endpoint(address, static_cast<unsigned short>(impl_->options.port));
  impl_->acceptor.emplace(impl_->ioc);
  impl_->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(endpoint, ec);
  if (!ec) impl_->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError("cannot listen on port " + std::to_string(impl_->options.port) +
                                  ": " + ec.message());
  }
  impl_->bound_port = impl_->acceptor->local_endpoint().port();
  impl_->Accept();
  int n = std::max(1, impl_->options.io_threads);
  for (int i = 0; i < n; ++i) {
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  }
  return absl::OkStatus();
}

int HttpServer::port() const { return impl_->bound_port; }

void HttpServer::Shutdown(int grace_seconds) {
  if (impl_->stopped.exchange(true)) return;
  impl_->draining = true;
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_seconds);
  {
    std::unique_lock lock(impl_->sessions_mu);
    // In-flight requests finish and answer; idle keep-alive connections close.
    for (Session* s : impl_->sessions) s->CloseIfIdle();
    impl_->sessions_cv.wait_until(lock, deadline, [&] { return impl_->busy_sessions == 0; });
  }
  // Workers first: their last responses are posted to the io_context.
  impl_->workers.join();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
}

}  // namespace loupe
