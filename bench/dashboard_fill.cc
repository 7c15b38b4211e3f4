// loupe_dashboard_fill: fills an events.db with many small traces and
// observations quickly, for the dashboard benchmark (bench/dashboard.sh).
//
// Going through HTTP would take hours for 10 M observations, so the events
// are written in-process through the same EventStore the server uses
// (OpenSqliteEventStore + Write), after the same validation the batch API
// applies (DecodeEvent). Each trace has 5 observations: a root span, a
// retrieval span, two generations (one of 5 models, usage so the server
// prices them, completion start time) and an event; 8 trace names, 1000
// users, half of the traces in sessions, start times spread evenly over the
// last --days days (ending now), latencies log-normal.
//
// With --big-trace N it also writes one trace ("big-trace", 30 s before
// now) with N observations shaped like the browser test's (tests/ui/e2e.mjs):
// a root span, ten children each with ten children and so on, every third
// observation a generation with chat input and output.
//
//   loupe_dashboard_fill --data-dir DIR --project ID [--observations N]
//                        [--days D] [--threads T] [--batch-traces B] [--big-trace N]
//
// Prints progress and a final JSON line with the rate.

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "boost/json.hpp"
#include "common/time_util.h"
#include "cost/price_table.h"
#include "ingest/batch_decoder.h"
#include "storage/sqlite/sqlite_event_store.h"

namespace {

namespace json = boost::json;

constexpr int kObservationsPerTrace = 5;
const char* const kModels[] = {"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet-20241022",
                               "claude-3-haiku-20240307", "gpt-3.5-turbo"};
const char* const kTraceNames[] = {"chat",      "rag-answer", "summarize", "classify",
                                   "translate", "extract",    "agent-run", "moderate"};
// Median latency (ms) per trace name, so the percentile tables differ.
const double kNameMedianMs[] = {1800, 2600, 3500, 600, 1200, 900, 7000, 300};

struct Args {
  std::string data_dir;
  std::string project;
  int64_t observations = 10'000'000;
  int days = 30;
  int threads = 3;
  int batch_traces = 200;
  int big_trace = 0;
};

std::string Iso(int64_t ms) { return loupe::FormatIsoMillis(ms); }

json::object Envelope(const std::string& id, const char* type, int64_t ms, json::object body) {
  json::object e;
  e["id"] = id;
  e["type"] = type;
  e["timestamp"] = Iso(ms);
  e["body"] = std::move(body);
  return e;
}

// Appends the 6 events of trace number `n` (1 trace + 5 observations).
void MakeTrace(int64_t n, int64_t start_ms, std::mt19937_64& rng, json::array* out) {
  std::lognormal_distribution<double> jitter(0.0, 0.6);
  std::uniform_int_distribution<int> user_dist(0, 999);
  const int name_idx = static_cast<int>(n % 8);
  const std::string tid = "t" + std::to_string(n);
  const double total = kNameMedianMs[name_idx] * jitter(rng);
  const int64_t end_ms = start_ms + static_cast<int64_t>(total) + 5;
  const std::string user = "user-" + std::to_string(user_dist(rng));

  json::object trace;
  trace["id"] = tid;
  trace["name"] = kTraceNames[name_idx];
  trace["timestamp"] = Iso(start_ms);
  trace["userId"] = user;
  if (n % 2 == 0) trace["sessionId"] = "s" + std::to_string(n / 6);
  trace["input"] = "question " + std::to_string(n);
  trace["output"] = "answer " + std::to_string(n);
  trace["tags"] = json::array{"bench"};
  out->push_back(Envelope("e" + tid, "trace-create", start_ms, std::move(trace)));

  const std::string root = tid + "-root";
  json::object span;
  span["id"] = root;
  span["traceId"] = tid;
  span["name"] = kTraceNames[name_idx];
  span["startTime"] = Iso(start_ms);
  span["endTime"] = Iso(end_ms);
  out->push_back(Envelope("e" + root, "span-create", start_ms, std::move(span)));

  const int64_t ret_end = start_ms + static_cast<int64_t>(total * 0.15) + 1;
  json::object ret;
  ret["id"] = tid + "-ret";
  ret["traceId"] = tid;
  ret["parentObservationId"] = root;
  ret["name"] = "retrieve";
  ret["startTime"] = Iso(start_ms + 1);
  ret["endTime"] = Iso(ret_end);
  out->push_back(Envelope("e" + tid + "-ret", "span-create", start_ms, std::move(ret)));

  int64_t t = ret_end;
  for (int g = 0; g < 2; ++g) {
    const int model_idx = static_cast<int>((n * 2 + g + n / 7) % 5);
    const int64_t gen_ms = static_cast<int64_t>(total * 0.4) + 1;
    json::object gen;
    const std::string gid = tid + "-g" + std::to_string(g);
    gen["id"] = gid;
    gen["traceId"] = tid;
    gen["parentObservationId"] = root;
    gen["name"] = g == 0 ? "plan" : "answer";
    gen["model"] = kModels[model_idx];
    gen["startTime"] = Iso(t);
    gen["completionStartTime"] = Iso(t + gen_ms / 4);
    gen["endTime"] = Iso(t + gen_ms);
    std::uniform_int_distribution<int> tokens(50, 2000);
    gen["usageDetails"] = json::object{{"input", tokens(rng)}, {"output", tokens(rng) / 4}};
    out->push_back(Envelope("e" + gid, "generation-create", t, std::move(gen)));
    t += gen_ms;
  }

  json::object ev;
  ev["id"] = tid + "-ev";
  ev["traceId"] = tid;
  ev["parentObservationId"] = root;
  ev["name"] = "cache-miss";
  ev["startTime"] = Iso(start_ms + 2);
  out->push_back(Envelope("e" + tid + "-ev", "event-create", start_ms, std::move(ev)));
}

// Appends the events of the big trace (trace-create first).
void MakeBigTrace(int n, int64_t t0, json::array* out) {
  const std::string tid = "big-trace";
  out->push_back(Envelope("e-" + tid, "trace-create", t0,
                          json::object{{"id", tid},
                                       {"name", "big-agent-run"},
                                       {"timestamp", Iso(t0)},
                                       {"input", "run the agent"},
                                       {"output", "done"}}));
  for (int i = 0; i < n; ++i) {
    const int64_t start = t0 + i * 2;
    const bool gen = i % 3 == 0 && i > 0;
    json::object body{{"id", tid + "-o" + std::to_string(i)},
                      {"traceId", tid},
                      {"name", (gen ? "llm-call-" : "step-") + std::to_string(i)},
                      {"startTime", Iso(start)},
                      {"endTime", Iso(start + 5 + i % 40)}};
    if (i > 0) body["parentObservationId"] = tid + "-o" + std::to_string(i < 10 ? 0 : i / 10);
    if (gen) {
      body["model"] = "gpt-4o-mini";
      body["usage"] = json::object{{"input", 100}, {"output", 20}};
      body["input"] =
          json::array{json::object{{"role", "user"}, {"content", "step " + std::to_string(i)}}};
      body["output"] = json::object{{"role", "assistant"}, {"content", "ok " + std::to_string(i)}};
    }
    out->push_back(Envelope("e-" + tid + "-o" + std::to_string(i),
                            gen ? "generation-create" : "span-create", start, std::move(body)));
  }
}

int Usage() {
  std::fprintf(stderr,
               "usage: loupe_dashboard_fill --data-dir DIR --project ID [--observations N] "
               "[--days D] [--threads T] [--batch-traces B] [--big-trace N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) return Usage();
    std::string v = argv[++i];
    if (k == "--data-dir") {
      a.data_dir = v;
    } else if (k == "--project") {
      a.project = v;
    } else if (k == "--observations") {
      a.observations = std::stoll(v);
    } else if (k == "--days") {
      a.days = std::stoi(v);
    } else if (k == "--threads") {
      a.threads = std::stoi(v);
    } else if (k == "--batch-traces") {
      a.batch_traces = std::stoi(v);
    } else if (k == "--big-trace") {
      a.big_trace = std::stoi(v);
    } else {
      return Usage();
    }
  }
  if (a.data_dir.empty() || a.project.empty()) return Usage();
  std::filesystem::create_directories(a.data_dir);

  auto prices = loupe::PriceTable::FromEmbeddedDefaults();
  if (!prices.ok()) {
    std::fprintf(stderr, "prices: %s\n", prices.status().ToString().c_str());
    return 1;
  }
  loupe::SqliteEventStoreOptions opts;
  opts.path = a.data_dir + "/events.db";
  auto store = loupe::OpenSqliteEventStore(opts, prices->get());
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }

  const int64_t traces = a.observations / kObservationsPerTrace;
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t span_ms = static_cast<int64_t>(a.days) * 86400000;
  // Traces start evenly over [now - days, now - 1 min), oldest first.
  const double step_ms = static_cast<double>(span_ms - 60000) / static_cast<double>(traces);
  const int64_t first_ms = now_ms - span_ms;

  std::atomic<int64_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  const auto t0 = std::chrono::steady_clock::now();
  auto worker = [&](int w) {
    std::mt19937_64 rng(1234 + static_cast<uint64_t>(w));
    loupe::DecodeOptions dopts;
    dopts.sdk_name = "bench";
    dopts.sdk_version = "1";
    while (!failed) {
      const int64_t begin = next.fetch_add(a.batch_traces);
      if (begin >= traces) break;
      const int64_t end = std::min<int64_t>(traces, begin + a.batch_traces);
      json::array events;
      for (int64_t n = begin; n < end; ++n) {
        MakeTrace(n, first_ms + static_cast<int64_t>(static_cast<double>(n) * step_ms), rng,
                  &events);
      }
      loupe::DecodedBatch batch;
      for (auto& e : events) loupe::DecodeEvent(std::move(e), dopts, &batch);
      if (!batch.errors.empty()) {
        std::fprintf(stderr, "invalid event: %s\n", batch.errors.front().message.c_str());
        failed = true;
        break;
      }
      // A few writers with small batches stay far below the store's queue
      // bound, so Write() never answers kResourceExhausted here.
      const absl::Status st = (*store)->Write(a.project, std::move(batch.events));
      if (!st.ok()) {
        std::fprintf(stderr, "write: %s\n", st.ToString().c_str());
        failed = true;
        break;
      }
      const int64_t d = done.fetch_add(end - begin) + (end - begin);
      if (d / 100000 != (d - (end - begin)) / 100000) {
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::fprintf(stderr, "%lld observations, %.0f s, %.0f obs/s\n",
                     static_cast<long long>(d * kObservationsPerTrace), s,
                     static_cast<double>(d * kObservationsPerTrace) / s);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < a.threads; ++w) threads.emplace_back(worker, w);
  for (auto& t : threads) t.join();
  if (failed) return 1;
  if (a.big_trace > 0) {
    json::array events;
    MakeBigTrace(a.big_trace, now_ms - 30000, &events);
    loupe::DecodedBatch batch;
    for (auto& e : events) loupe::DecodeEvent(std::move(e), loupe::DecodeOptions{}, &batch);
    if (!batch.errors.empty()) {
      std::fprintf(stderr, "invalid event: %s\n", batch.errors.front().message.c_str());
      return 1;
    }
    // In batches of 2000, as an SDK would send them.
    for (size_t i = 0; i < batch.events.size(); i += 2000) {
      std::vector<loupe::IngestEvent> part(
          std::make_move_iterator(batch.events.begin() + static_cast<std::ptrdiff_t>(i)),
          std::make_move_iterator(batch.events.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                             i + 2000, batch.events.size()))));
      if (auto st = (*store)->Write(a.project, std::move(part)); !st.ok()) {
        std::fprintf(stderr, "write: %s\n", st.ToString().c_str());
        return 1;
      }
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int64_t obs = done.load() * kObservationsPerTrace;
  std::printf(
      "{\"traces\": %lld, \"observations\": %lld, \"events\": %lld, \"seconds\": %.1f, "
      "\"events_per_s\": %.0f, \"from\": \"%s\", \"to\": \"%s\"}\n",
      static_cast<long long>(done.load()), static_cast<long long>(obs),
      static_cast<long long>(done.load() * (kObservationsPerTrace + 1)), s,
      static_cast<double>(done.load() * (kObservationsPerTrace + 1)) / s, Iso(first_ms).c_str(),
      Iso(now_ms).c_str());
  return 0;
}
