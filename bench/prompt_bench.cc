// loupe_prompt_bench: throughput and latency of GET /api/public/v2/prompts/{name}
// (the SDKs' hottest read) over keep-alive connections.
//
// Sets up one prompt (POST /api/public/v2/prompts with the production label),
// checks that a GET returns it, then keeps `--connections` connections busy
// for `--seconds`, each sending the next GET as soon as the previous response
// is complete (closed loop, no pipelining), like many SDK instances whose
// prompt caches expire. The client is a small epoll loop per thread so that
// as much of the machine as possible is left to the server.
//
//   loupe_prompt_bench --port 3000 [--host 127.0.0.1] [--connections 64]
//       [--threads 1] [--seconds 10] [--warmup 2] [--name bench-prompt]
//       [--query label=production] [--public-key pk-lf-..] [--secret-key sk-lf-..]
//
// Prints one JSON object: requests/s, latency percentiles (µs), errors.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 3000;
  int connections = 64;
  int threads = 1;
  double seconds = 10;
  double warmup = 2;
  std::string name = "bench-prompt";
  std::string query = "label=production";
  std::string public_key = "pk-lf-test";
  std::string secret_key = "sk-lf-test";
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "loupe_prompt_bench: %s\n", message.c_str());
  std::exit(1);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + arg);
      return argv[++i];
    };
    if (arg == "--host") {
      o.host = value();
    } else if (arg == "--port") {
      o.port = std::atoi(value().c_str());
    } else if (arg == "--connections") {
      o.connections = std::max(1, std::atoi(value().c_str()));
    } else if (arg == "--threads") {
      o.threads = std::max(1, std::atoi(value().c_str()));
    } else if (arg == "--seconds") {
      o.seconds = std::atof(value().c_str());
    } else if (arg == "--warmup") {
      o.warmup = std::atof(value().c_str());
    } else if (arg == "--name") {
      o.name = value();
    } else if (arg == "--query") {
      o.query = value();
    } else if (arg == "--public-key") {
      o.public_key = value();
    } else if (arg == "--secret-key") {
      o.secret_key = value();
    } else {
      Die("unknown argument " + arg);
    }
  }
  return o;
}

std::string Base64(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v =
        (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string UrlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

int Connect(const Options& o) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Die("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  if (::inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) Die("bad --host " + o.host);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    Die("cannot connect to " + o.host + ":" + std::to_string(o.port));
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Length of the first complete response in `buf` (0 while incomplete) and
// its status code. Loupe answers with Content-Length, never chunked.
size_t CompleteResponse(const std::string& buf, int* status) {
  size_t head_end = buf.find("\r\n\r\n");
  if (head_end == std::string::npos) return 0;
  *status = buf.size() > 12 ? std::atoi(buf.c_str() + 9) : 0;
  size_t content_length = 0;
  size_t pos = 0;
  while (pos < head_end) {
    size_t eol = buf.find("\r\n", pos);
    std::string_view line(buf.data() + pos, eol - pos);
    if (line.size() > 15 && strncasecmp(line.data(), "content-length:", 15) == 0) {
      content_length = std::strtoul(line.data() + 15, nullptr, 10);
    }
    pos = eol + 2;
  }
  size_t total = head_end + 4 + content_length;
  return buf.size() >= total ? total : 0;
}

// One blocking request on a fresh connection; returns the whole response.
std::string RoundTrip(const Options& o, const std::string& request) {
  int fd = Connect(o);
  if (::send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
    Die("send failed");
  }
  std::string buf;
  char chunk[65536];
  int status = 0;
  while (CompleteResponse(buf, &status) == 0) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) Die("connection closed during set-up");
    buf.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return buf;
}

struct ThreadResult {
  uint64_t requests = 0;
  uint64_t errors = 0;
  std::vector<uint32_t> latencies_us;
};

struct Conn {
  int fd = -1;
  std::string in;
  Clock::time_point sent;
};

void RunLoop(const Options& o, const std::string& request, int connections,
             Clock::time_point measure_from, Clock::time_point until, ThreadResult* out) {
  int ep = ::epoll_create1(0);
  std::vector<Conn> conns(static_cast<size_t>(connections));
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = Connect(o);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  auto send_request = [&](Conn& c) {
    c.sent = Clock::now();
    if (::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      Die("send failed (server gone?)");
    }
  };
  for (Conn& c : conns) send_request(c);
  out->latencies_us.reserve(1 << 20);
  std::vector<epoll_event> events(conns.size());
  char chunk[65536];
  while (true) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    Clock::time_point now = Clock::now();
    if (now >= until) break;
    for (int e = 0; e < n; ++e) {
      Conn& c = conns[events[e].data.u64];
      ssize_t got = ::recv(c.fd, chunk, sizeof chunk, 0);
      if (got <= 0) Die("connection closed by the server");
      c.in.append(chunk, static_cast<size_t>(got));
      int status = 0;
      size_t len = CompleteResponse(c.in, &status);
      if (len == 0) continue;
      c.in.erase(0, len);
      if (c.sent >= measure_from) {
        ++out->requests;
        if (status != 200) ++out->errors;
        out->latencies_us.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now - c.sent).count()));
      }
      send_request(c);
    }
  }
  for (Conn& c : conns) ::close(c.fd);
  ::close(ep);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  std::string auth = "Basic " + Base64(o.public_key + ":" + o.secret_key);
  std::string host_header = o.host + ":" + std::to_string(o.port);

  std::string body = "{\"name\":\"" + o.name +
                     "\",\"type\":\"text\",\"prompt\":\"You are a helpful assistant. Answer "
                     "{{question}} in the style of {{style}}.\",\"labels\":[\"production\"],"
                     "\"config\":{\"model\":\"gpt-4o\",\"temperature\":0.2},\"tags\":[\"bench\"]}";
  std::string create = "POST /api/public/v2/prompts HTTP/1.1\r\nHost: " + host_header +
                       "\r\nAuthorization: " + auth +
                       "\r\nContent-Type: application/json\r\nConnection: close\r\n"
                       "Content-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body;
  std::string created = RoundTrip(o, create);
  int status = 0;
  CompleteResponse(created, &status);
  if (status != 201) Die("creating the prompt failed:\n" + created);

  std::string target = "/api/public/v2/prompts/" + UrlEncode(o.name);
  if (!o.query.empty()) target += "?" + o.query;
  // Headers as the JS SDK sends them.
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + host_header +
                        "\r\nAuthorization: " + auth +
                        "\r\nX-Langfuse-Sdk-Name: javascript\r\nX-Langfuse-Sdk-Version: 3.39.2"
                        "\r\nX-Langfuse-Public-Key: " +
                        o.public_key + "\r\nAccept: */*\r\n\r\n";
  std::string check =
      RoundTrip(o, request.substr(0, request.size() - 2) + "Connection: close\r\n\r\n");
  CompleteResponse(check, &status);
  if (status != 200) Die("GET of the prompt failed:\n" + check);
  size_t response_bytes = check.size();

  Clock::time_point start = Clock::now();
  Clock::time_point measure_from =
      start + std::chrono::microseconds(static_cast<int64_t>(o.warmup * 1e6));
  Clock::time_point until =
      measure_from + std::chrono::microseconds(static_cast<int64_t>(o.seconds * 1e6));
  std::vector<ThreadResult> results(static_cast<size_t>(o.threads));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    int share = o.connections / o.threads + (t < o.connections % o.threads ? 1 : 0);
    threads.emplace_back(RunLoop, std::cref(o), std::cref(request), std::max(share, 1),
                         measure_from, until, &results[static_cast<size_t>(t)]);
  }
  for (std::thread& t : threads) t.join();

  ThreadResult all;
  for (ThreadResult& r : results) {
    all.requests += r.requests;
    all.errors += r.errors;
    all.latencies_us.insert(all.latencies_us.end(), r.latencies_us.begin(), r.latencies_us.end());
  }
  std::sort(all.latencies_us.begin(), all.latencies_us.end());
  auto pct = [&](double p) -> uint32_t {
    if (all.latencies_us.empty()) return 0;
    size_t i = static_cast<size_t>(p * static_cast<double>(all.latencies_us.size() - 1));
    return all.latencies_us[i];
  };
  std::printf(
      "{\"endpoint\":\"GET %s\",\"connections\":%d,\"client_threads\":%d,\"seconds\":%.1f,"
      "\"requests\":%llu,\"errors\":%llu,\"requests_per_second\":%.0f,\"response_bytes\":%zu,"
      "\"latency_us\":{\"p50\":%u,\"p90\":%u,\"p99\":%u,\"p999\":%u,\"max\":%u}}\n",
      target.c_str(), o.connections, o.threads, o.seconds,
      static_cast<unsigned long long>(all.requests), static_cast<unsigned long long>(all.errors),
      static_cast<double>(all.requests) / o.seconds, response_bytes, pct(0.5), pct(0.9), pct(0.99),
      pct(0.999), all.latencies_us.empty() ? 0 : all.latencies_us.back());
  return all.errors == 0 ? 0 : 2;
}
