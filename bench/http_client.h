#pragma once

// A blocking HTTP/1.1 keep-alive client on Boost.Beast: one connection, one
// request at a time, like one SDK exporter thread. Reconnects once when the
// server closed an idle connection.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <optional>
#include <string>

namespace loupe::bench {

struct HttpResult {
  int status = 0;  // 0: transport error (see `error`)
  std::string body;
  std::string error;
};

class HttpConnection {
 public:
  // `authorization` is the full header value, e.g. "Basic ...".
  HttpConnection(std::string host, int port, std::string authorization);

  HttpResult Get(const std::string& target);
  HttpResult Post(const std::string& target, const std::string& body,
                  const char* content_type = "application/json");

 private:
  HttpResult Send(bool post, const std::string& target, const std::string& body,
                  const char* content_type);
  bool Connect(std::string* error);

  std::string host_;
  int port_;
  std::string authorization_;
  boost::asio::io_context ioc_;
  std::optional<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
};

std::string BasicAuth(const std::string& user, const std::string& password);

}  // namespace loupe::bench
