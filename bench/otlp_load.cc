#include "otlp_load.h"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "sys_stats.h"
#include "workload.h"

namespace loupe::bench {
namespace {

namespace json = boost::json;
namespace otlp_collector = opentelemetry::proto::collector::trace::v1;
namespace otlp_common = opentelemetry::proto::common::v1;
namespace otlp_trace = opentelemetry::proto::trace::v1;
using Clock = std::chrono::steady_clock;

int64_t MicrosSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
}

int64_t UnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Spans per trace: root, retrieval span, generation, tool call.
constexpr int kSpansPerTrace = 4;

// Builds ExportTraceServiceRequests shaped like what the Langfuse Python SDK
// v3 (an OpenTelemetry tracer with scope "langfuse-sdk") exports for a RAG
// chat turn with an OpenAI call instrumented by a gen_ai instrumentation:
//
//   root span   langfuse.trace.name, user.id, session.id (half the traces),
//               observation input/output (the SDK sets langfuse.trace.input
//               only on an explicit update_trace; the root's I/O stands for it)
//   ├─ retrieve span with input/output
//   └─ generation  gen_ai.request.model = gpt-4o, token usage, chat messages
//      └─ tool call
//
// All spans of a trace go into the same request (they end together, and the
// BatchSpanProcessor exports in end order). Every input and output is a JSON
// string of 0.5-4 KB cut from the same English-like corpus as the batch-API
// workload, so the payloads compress alike. Not thread-safe: one per worker.
class OtlpGenerator {
 public:
  explicit OtlpGenerator(uint64_t seed) : rng_(seed) { TextCorpus(); }

  struct Request {
    std::string body;
    int spans = 0;
    int traces = 0;
  };

  Request Next(int spans) {
    otlp_collector::ExportTraceServiceRequest req;
    auto* rs = req.add_resource_spans();
    auto* resource = rs->mutable_resource();
    Str(resource->add_attributes(), "service.name", "support-bot");
    Str(resource->add_attributes(), "telemetry.sdk.language", "python");
    Str(resource->add_attributes(), "telemetry.sdk.name", "opentelemetry");
    Str(resource->add_attributes(), "telemetry.sdk.version", "1.27.0");
    Str(resource->add_attributes(), "deployment.environment", "production");
    auto* ss = rs->add_scope_spans();
    ss->mutable_scope()->set_name("langfuse-sdk");
    ss->mutable_scope()->set_version("3.2.1");
    Str(ss->mutable_scope()->add_attributes(), "public_key", "pk-lf-bench");
    Request out;
    while (out.spans < spans) {
      AddTrace(*ss, std::min(kSpansPerTrace, spans - out.spans));
      out.spans += std::min(kSpansPerTrace, spans - out.spans);
      ++out.traces;
    }
    out.body = req.SerializeAsString();
    return out;
  }

 private:
  static void Str(otlp_common::KeyValue* kv, const char* key, std::string value) {
    kv->set_key(key);
    kv->mutable_value()->set_string_value(std::move(value));
  }
  static void Int(otlp_common::KeyValue* kv, const char* key, int64_t value) {
    kv->set_key(key);
    kv->mutable_value()->set_int_value(value);
  }

  std::string Bytes(size_t n) {
    std::string b(n, '\0');
    for (size_t i = 0; i < n; i += 8) {
      uint64_t r = rng_();
      for (size_t j = 0; j < 8 && i + j < n; ++j) b[i + j] = static_cast<char>(r >> (8 * j));
    }
    return b;
  }

  // Corpus text of a size drawn from [512, 4096] minus the JSON around it.
  std::string_view Text(size_t overhead) {
    std::uniform_int_distribution<size_t> size(512, 4096);
    size_t n = size(rng_);
    n = n > overhead + 16 ? n - overhead : 16;
    const std::string& c = TextCorpus();
    std::uniform_int_distribution<size_t> offset(0, c.size() - n - 1);
    return std::string_view(c).substr(offset(rng_), n);
  }

  // {"<key>":"<text>"}, 0.5-4 KB in all.
  std::string JsonText(std::string_view key) {
    std::string s = "{\"";
    s.append(key).append("\":\"");
    s.append(Text(s.size() + 2)).append("\"}");
    return s;
  }

  otlp_trace::Span* NewSpan(otlp_trace::ScopeSpans& ss, const std::string& trace_id,
                            const std::string& parent, const char* name, int64_t start_ns,
                            int64_t end_ns) {
    auto* span = ss.add_spans();
    span->set_trace_id(trace_id);
    span->set_span_id(Bytes(8));
    if (!parent.empty()) span->set_parent_span_id(parent);
    span->set_name(name);
    span->set_kind(otlp_trace::Span::SPAN_KIND_INTERNAL);
    span->set_start_time_unix_nano(static_cast<uint64_t>(start_ns));
    span->set_end_time_unix_nano(static_cast<uint64_t>(end_ns));
    span->mutable_status()->set_code(otlp_trace::Status::STATUS_CODE_OK);
    return span;
  }

  void AddTrace(otlp_trace::ScopeSpans& ss, int spans) {
    const auto& names = TraceNames();
    std::string trace_id = Bytes(16);
    int64_t end = UnixNanos();
    int64_t start = end - 2'000'000'000;  // a 2 s chat turn
    ++counter_;

    auto* root = NewSpan(ss, trace_id, "", names[counter_ % names.size()].c_str(), start, end);
    Str(root->add_attributes(), "langfuse.trace.name", names[counter_ % names.size()]);
    Str(root->add_attributes(), "user.id", UserId(static_cast<int>(rng_() % 1000)));
    if (counter_ % 2 == 0) {
      char session[32];
      std::snprintf(session, sizeof(session), "session-%05d", static_cast<int>(rng_() % 20000));
      Str(root->add_attributes(), "session.id", session);
    }
    Str(root->add_attributes(), "langfuse.trace.metadata.channel", "web");
    Str(root->add_attributes(), "langfuse.observation.type", "span");
    Str(root->add_attributes(), "langfuse.observation.input", JsonText("question"));
    Str(root->add_attributes(), "langfuse.observation.output", JsonText("answer"));
    if (spans < 2) return;

    auto* retrieve =
        NewSpan(ss, trace_id, root->span_id(), "retrieve", start + 10'000'000, start + 250'000'000);
    Str(retrieve->add_attributes(), "langfuse.observation.type", "span");
    Str(retrieve->add_attributes(), "langfuse.observation.input", JsonText("query"));
    Str(retrieve->add_attributes(), "langfuse.observation.output", JsonText("documents"));
    if (spans < 3) return;

    auto* gen = NewSpan(ss, trace_id, root->span_id(), "chat gpt-4o", start + 260'000'000,
                        end - 20'000'000);
    gen->set_kind(otlp_trace::Span::SPAN_KIND_CLIENT);
    Str(gen->add_attributes(), "langfuse.observation.type", "generation");
    Str(gen->add_attributes(), "gen_ai.system", "openai");
    Str(gen->add_attributes(), "gen_ai.operation.name", "chat");
    Str(gen->add_attributes(), "gen_ai.request.model", "gpt-4o");
    Str(gen->add_attributes(), "gen_ai.response.model", "gpt-4o-2024-08-06");
    gen->add_attributes()->set_key("gen_ai.request.temperature");
    gen->mutable_attributes()->rbegin()->mutable_value()->set_double_value(0.2);
    std::uniform_int_distribution<int64_t> tokens(50, 2000);
    Int(gen->add_attributes(), "gen_ai.usage.input_tokens", tokens(rng_));
    Int(gen->add_attributes(), "gen_ai.usage.output_tokens", tokens(rng_) / 4);
    std::string input =
        "[{\"role\":\"system\",\"content\":\"You are a support assistant.\"},"
        "{\"role\":\"user\",\"content\":\"";
    input.append(Text(input.size() + 3)).append("\"}]");
    Str(gen->add_attributes(), "langfuse.observation.input", std::move(input));
    std::string output = "{\"role\":\"assistant\",\"content\":\"";
    output.append(Text(output.size() + 2)).append("\"}");
    Str(gen->add_attributes(), "langfuse.observation.output", std::move(output));
    if (spans < 4) return;

    auto* tool = NewSpan(ss, trace_id, gen->span_id(), "lookup_order", start + 900'000'000,
                         start + 950'000'000);
    Str(tool->add_attributes(), "langfuse.observation.type", "tool");
    Str(tool->add_attributes(), "gen_ai.tool.name", "lookup_order");
    Str(tool->add_attributes(), "langfuse.observation.input", JsonText("arguments"));
    Str(tool->add_attributes(), "langfuse.observation.output", JsonText("result"));
  }

  std::mt19937_64 rng_;
  uint64_t counter_ = 0;
};

struct Marks {
  double seconds = 0;
  double server_cpu = 0, client_cpu = 0;
  MachineCpu machine;
  std::map<pid_t, double> threads;
};

}  // namespace

json::object RunOtlpLoad(const Flags& f) {
  const std::string host = f.Str("host", "127.0.0.1");
  const int port = static_cast<int>(f.Int("port", 3000));
  const std::string auth =
      BasicAuth(f.Str("public-key", "pk-lf-bench"), f.Str("secret-key", "sk-lf-bench"));
  const int connections = static_cast<int>(f.Int("connections", 8));
  const int64_t target = f.Int("spans", 1000000);
  const int per_request = static_cast<int>(f.Int("spans-per-request", 512));
  const pid_t server_pid = static_cast<pid_t>(f.Int("server-pid", 0));
  const uint64_t seed = static_cast<uint64_t>(f.Int("seed", 1));

  std::atomic<int64_t> claimed{0};
  std::mutex mu;
  std::condition_variable done_cv;
  bool finished = false;
  int64_t spans = 0, traces = 0, requests = 0, bytes = 0, failed = 0, rejected = 0;
  Latencies latency;

  Clock::time_point start = Clock::now();
  auto mark = [&] {
    Marks m;
    m.seconds = MicrosSince(start) / 1e6;
    m.client_cpu = SelfCpuSeconds();
    m.machine = MachineCpuSeconds();
    if (server_pid > 0) {
      m.server_cpu = ProcessCpuSeconds(server_pid);
      m.threads = ThreadCpuSeconds(server_pid);
    }
    return m;
  };
  Marks first = mark();

  auto worker = [&](int index) {
    // Separate seeds from the batch-API load, so ids do not repeat across it.
    OtlpGenerator gen(seed * 7919 + 1000003 + static_cast<uint64_t>(index));
    HttpConnection http(host, port, auth);
    while (true) {
      int64_t before = claimed.fetch_add(per_request);
      if (before >= target) break;
      OtlpGenerator::Request req =
          gen.Next(static_cast<int>(std::min<int64_t>(per_request, target - before)));
      Clock::time_point sent = Clock::now();
      HttpResult r = http.Post("/api/public/otel/v1/traces", req.body, "application/x-protobuf");
      int64_t us = MicrosSince(sent);
      // 200 with an empty ExportTraceServiceResponse: every span accepted
      // (and, with Loupe's durable acknowledgement, committed).
      otlp_collector::ExportTraceServiceResponse response;
      bool ok = r.status == 200 && response.ParseFromString(r.body);
      std::lock_guard lock(mu);
      if (!ok) {
        if (++failed <= 5) {
          std::cerr << "otlp export failed: status " << r.status << " " << r.error << " "
                    << r.body.substr(0, 200) << "\n";
        }
        continue;
      }
      if (response.has_partial_success() && response.partial_success().rejected_spans() > 0) {
        rejected += response.partial_success().rejected_spans();
        if (rejected == response.partial_success().rejected_spans()) {
          std::cerr << "otlp spans rejected: " << response.partial_success().error_message()
                    << "\n";
        }
      }
      latency.Add(us);
      spans += req.spans;
      traces += req.traces;
      bytes += static_cast<int64_t>(req.body.size());
      ++requests;
    }
  };

  // Progress for whoever watches the run.
  std::thread monitor([&] {
    int64_t last = 0;
    double last_s = 0;
    std::unique_lock lock(mu);
    while (!done_cv.wait_for(lock, std::chrono::seconds(10), [&] { return finished; })) {
      double s = MicrosSince(start) / 1e6;
      std::cerr << "[otlp " << static_cast<int64_t>(s) << "s] " << spans << " spans, "
                << static_cast<int64_t>((spans - last) / (s - last_s)) << " spans/s\n";
      last = spans;
      last_s = s;
    }
  });
  std::vector<std::thread> threads;
  for (int w = 0; w < connections; ++w) threads.emplace_back(worker, w);
  for (auto& t : threads) t.join();
  Marks last = mark();
  {
    std::lock_guard lock(mu);
    finished = true;
  }
  done_cv.notify_all();
  monitor.join();

  double secs = last.seconds - first.seconds;
  double busiest = 0;
  for (const auto& [tid, cpu] : last.threads) {
    auto it = first.threads.find(tid);
    busiest = std::max(busiest, cpu - (it == first.threads.end() ? 0.0 : it->second));
  }
  double server_cpu = last.server_cpu - first.server_cpu;
  double client_cpu = last.client_cpu - first.client_cpu;
  json::object o;
  o["connections"] = connections;
  o["spans_per_request"] = per_request;
  o["seconds"] = secs;
  o["requests"] = requests;
  o["failed_requests"] = failed;
  o["rejected_spans"] = rejected;
  o["spans"] = spans;
  o["traces"] = traces;
  o["spans_per_sec"] = spans / secs;
  o["request_mb_per_sec"] = bytes / secs / 1048576.0;
  o["mean_span_bytes"] = spans ? static_cast<double>(bytes) / static_cast<double>(spans) : 0.0;
  o["mean_request_bytes"] =
      requests ? static_cast<double>(bytes) / static_cast<double>(requests) : 0.0;
  o["server_cpu_pct"] = 100 * server_cpu / secs;
  o["busiest_server_thread_pct"] = 100 * busiest / secs;
  o["client_cpu_pct"] = 100 * client_cpu / secs;
  o["other_cpu_pct"] =
      100 * ((last.machine.busy - first.machine.busy) - server_cpu - client_cpu) / secs;
  o["iowait_pct"] = 100 * (last.machine.iowait - first.machine.iowait) / secs;
  json::object lat;
  lat["count"] = latency.count();
  lat["p50"] = latency.PercentileMs(0.50);
  lat["p99"] = latency.PercentileMs(0.99);
  lat["max"] = latency.MaxMs();
  lat["mean"] = latency.MeanMs();
  o["latency_ms"] = std::move(lat);
  return o;
}

}  // namespace loupe::bench
