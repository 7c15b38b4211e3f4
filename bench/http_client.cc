#include "http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>

namespace loupe::bench {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

HttpConnection::HttpConnection(std::string host, int port, std::string authorization)
    : host_(std::move(host)), port_(port), authorization_(std::move(authorization)) {}

bool HttpConnection::Connect(std::string* error) {
  beast::error_code ec;
  tcp::resolver resolver(ioc_);
  auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
  if (ec) {
    *error = "resolve: " + ec.message();
    return false;
  }
  stream_.emplace(ioc_);
  stream_->connect(endpoints, ec);
  if (ec) {
    *error = "connect: " + ec.message();
    stream_.reset();
    return false;
  }
  // Latency matters more than packet count for a benchmark client.
  stream_->socket().set_option(tcp::no_delay(true), ec);
  buffer_.clear();
  return true;
}

HttpResult HttpConnection::Get(const std::string& target) {
  return Send(false, target, {}, nullptr);
}

HttpResult HttpConnection::Post(const std::string& target, const std::string& body,
                                const char* content_type) {
  return Send(true, target, body, content_type);
}

HttpResult HttpConnection::Send(bool post, const std::string& target, const std::string& body,
                                const char* content_type) {
  HttpResult result;
  http::request<http::string_body> req(post ? http::verb::post : http::verb::get, target, 11);
  req.set(http::field::host, host_);
  req.set(http::field::authorization, authorization_);
  req.set(http::field::user_agent, "loupe-bench");
  req.keep_alive(true);
  if (post) {
    req.set(http::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
  }
  // A second attempt only when the first failed on the transport (the server
  // may close an idle keep-alive connection); an HTTP error is returned as is.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!stream_ && !Connect(&result.error)) continue;
    beast::error_code ec;
    http::write(*stream_, req, ec);
    if (!ec) {
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      http::read(*stream_, buffer_, parser, ec);
      if (!ec) {
        auto& res = parser.get();
        result.status = static_cast<int>(res.result_int());
        result.body = std::move(res.body());
        result.error.clear();
        if (!res.keep_alive()) stream_.reset();
        return result;
      }
    }
    result.error = ec.message();
    stream_.reset();
  }
  return result;
}

std::string BasicAuth(const std::string& user, const std::string& password) {
  std::string plain = user + ":" + password;
  std::string out(beast::detail::base64::encoded_size(plain.size()), '\0');
  out.resize(beast::detail::base64::encode(out.data(), plain.data(), plain.size()));
  return "Basic " + out;
}

}  // namespace loupe::bench
