// loupe_loadgen: the client side of the Loupe benchmark.
//
//   loupe_loadgen load  --port P [--connections 8] [--observations 5000000] [--rate 0] ...
//       Posts 100-event batches over N keep-alive connections until the store
//       holds the requested number of observations (at most --rate events/s
//       when set); reports events/s per observation band, request latency and
//       ingest-to-visible latency.
//   loupe_loadgen otlp  --port P [--connections 8] [--spans 1000000] ...
//       Posts OTLP/HTTP protobuf exports of 512 spans (otlp_load.h); reports
//       spans/s, request latency and server CPU.
//   loupe_loadgen list  --port P [--requests 200]
//       First page of GET /api/public/traces with a userId or name filter.
//   loupe_loadgen report --dir RESULTS
//       Prints the Markdown summary of the JSON files of one run.
//
// Every phase writes a JSON file (--json) that `report` reads.

#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "flags.h"
#include "http_client.h"
#include "otlp_load.h"
#include "sys_stats.h"
#include "workload.h"

namespace loupe::bench {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

int64_t MicrosSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
}

json::object LatencyJson(const Latencies& l) {
  json::object o;
  o["count"] = l.count();
  o["p50"] = l.PercentileMs(0.50);
  o["p99"] = l.PercentileMs(0.99);
  o["max"] = l.MaxMs();
  o["mean"] = l.MeanMs();
  return o;
}

void WriteJson(const std::string& path, const json::value& v) {
  if (path.empty()) return;
  std::ofstream out(path);
  out << json::serialize(v) << "\n";
}

struct Connection {
  std::string host;
  int port = 0;
  std::string auth;
  HttpConnection Open() const { return HttpConnection(host, port, auth); }
};

Connection ConnectionFromFlags(const Flags& f) {
  Connection c;
  c.host = f.Str("host", "127.0.0.1");
  c.port = static_cast<int>(f.Int("port", 3000));
  c.auth = BasicAuth(f.Str("public-key", "pk-lf-bench"), f.Str("secret-key", "sk-lf-bench"));
  return c;
}

// ---------------------------------------------------------------- load

// Server and client counters at one moment; bands are differences of two.
struct Mark {
  double seconds = 0;
  int64_t events = 0, observations = 0, requests = 0, request_bytes = 0;
  double server_cpu = 0, client_cpu = 0;
  MachineCpu machine;
  std::map<pid_t, double> server_threads;
  int64_t data_bytes = 0, server_write_bytes = 0;
};

// Spaces out the benchmark's own GETs: the next check may start after
// max(interval, cost_factor x the last GET's duration), so when reads get
// slow (they grow with the store) they take at most ~1/cost_factor of one
// core away from ingestion instead of swamping it (default 20; the
// scale-out run, whose reads wait on ClickHouse rather than burn CPU, uses
// a smaller factor to get enough probes).
class ReadGate {
 public:
  ReadGate(int64_t interval_us, int64_t cost_factor)
      : interval_us_(interval_us), cost_factor_(cost_factor) {}
  // True for the one caller that may check now.
  bool TryEnter(int64_t now_us) {
    int64_t next = next_us_.load();
    return now_us >= next && next_us_.compare_exchange_strong(next, INT64_MAX);
  }
  void Leave(int64_t now_us, int64_t get_us) {
    next_us_ = now_us + std::max(interval_us_, cost_factor_ * get_us);
  }

 private:
  const int64_t interval_us_;
  const int64_t cost_factor_;
  std::atomic<int64_t> next_us_{0};
};

// A batch whose trace the probe thread polls from its own connection while
// the worker waits for the 207.
struct Probe {
  std::string trace_id;
  Clock::time_point sent;
  std::atomic<int64_t> ack_us{-1};  // from `sent`; set by the worker
};

class LoadRun {
 public:
  LoadRun(const Flags& f)
      : conn_(ConnectionFromFlags(f)),
        connections_(static_cast<int>(f.Int("connections", 8))),
        target_observations_(f.Int("observations", 5000000)),
        band_(f.Int("band", 1000000)),
        server_pid_(static_cast<pid_t>(f.Int("server-pid", 0))),
        data_dir_(f.Str("data-dir")),
        visible_gate_(f.Int("visible-interval-ms", 1000) * 1000, f.Int("read-cost-factor", 20)),
        probe_gate_(f.Int("probe-interval-ms", 1000) * 1000, f.Int("read-cost-factor", 20)),
        seed_(static_cast<uint64_t>(f.Int("seed", 1))),
        rate_(f.Int("rate", 0)),
        probe_poll_ms_(f.Int("probe-poll-ms", 1)),
        timeline_path_(f.Str("timeline")) {}

  json::object Run() {
    start_ = Clock::now();
    band_latency_.resize(static_cast<size_t>(target_observations_ / band_ + 2));
    band_get_latency_.resize(band_latency_.size());
    marks_.push_back(TakeMark());
    std::vector<std::thread> threads;
    for (int w = 0; w < connections_; ++w) threads.emplace_back([this, w] { Worker(w); });
    std::thread probe([this] { ProbeLoop(); });
    std::thread monitor([this] { MonitorLoop(); });
    for (auto& t : threads) t.join();
    {
      std::lock_guard lock(mu_);
      finished_ = true;
      if (marks_.back().observations < observations_) marks_.push_back(TakeMark());
    }
    done_cv_.notify_all();
    probe_cv_.notify_all();
    probe.join();
    monitor.join();
    return Report();
  }

 private:
  Mark TakeMark() {
    Mark m;
    m.seconds = MicrosSince(start_) / 1e6;
    m.events = events_;
    m.observations = observations_;
    m.requests = requests_;
    m.request_bytes = request_bytes_;
    m.client_cpu = SelfCpuSeconds();
    m.machine = MachineCpuSeconds();
    if (server_pid_ > 0) {
      m.server_cpu = ProcessCpuSeconds(server_pid_);
      m.server_threads = ThreadCpuSeconds(server_pid_);
      m.server_write_bytes = ProcIo(server_pid_, "write_bytes");
    }
    if (!data_dir_.empty()) m.data_bytes = DirectoryBytes(data_dir_);
    return m;
  }

  void Worker(int index) {
    WorkloadOptions wo;
    wo.seed = seed_ * 1000 + static_cast<uint64_t>(index);
    WorkloadGenerator gen(wo);
    HttpConnection http = conn_.Open();
    HttpConnection reader = conn_.Open();  // for the poll-after-207 check
    while (true) {
      Batch batch = gen.Next(true);
      int64_t before = claimed_.fetch_add(batch.observations_created);
      if (before >= target_observations_) break;
      Pace(static_cast<int64_t>(batch.events.size()));
      Post(http, batch, &reader);
    }
    // The updates of the traces started in the last batch.
    Batch flush = gen.Next(false);
    if (!flush.events.empty()) Post(http, flush, nullptr);
  }

  // With --rate, holds the sender until its batch fits the rate: a shared
  // schedule of send times across all connections (open loop, so a slow
  // server shows as latency, not as a lower offered rate).
  void Pace(int64_t events) {
    if (rate_ <= 0) return;
    int64_t slot;
    {
      std::lock_guard lock(pace_mu_);
      slot = next_send_us_;
      next_send_us_ += events * 1000000 / rate_;
    }
    int64_t wait = slot - MicrosSince(start_);
    if (wait > 0) std::this_thread::sleep_for(std::chrono::microseconds(wait));
  }

  void Post(HttpConnection& http, const Batch& batch, HttpConnection* visibility_reader) {
    std::string body = WorkloadGenerator::Body(batch);
    std::shared_ptr<Probe> probe;
    if (probe_wanted_.exchange(false)) {
      if (batch.new_trace_ids.empty()) {
        probe_wanted_ = true;  // a flush batch has no new trace: leave it to another
      } else {
        probe = std::make_shared<Probe>();
        probe->trace_id = batch.new_trace_ids.front();
      }
    }
    // Choose the batch to check before sending it: choosing by the 207 would
    // favour slow requests (the one in flight when the gate opens is likely a
    // long one).
    bool check_visible = visibility_reader && !batch.new_trace_ids.empty() &&
                         visible_gate_.TryEnter(MicrosSince(start_));
    Clock::time_point sent = Clock::now();
    if (probe) {
      probe->sent = sent;
      std::lock_guard lock(probe_mu_);
      probe_ = probe;
      probe_cv_.notify_all();
    }
    HttpResult r = http.Post("/api/public/ingestion", body);
    int64_t latency = MicrosSince(sent);
    if (probe) probe->ack_us = latency;
    // The 207 lists per-event failures under "errors"; a fully successful
    // batch has an empty list.
    bool ok = r.status == 207;
    bool event_errors = ok && r.body.find("\"errors\":[]") == std::string::npos;
    if (!ok) {
      if (check_visible) visible_gate_.Leave(MicrosSince(start_), 0);
      std::lock_guard lock(mu_);
      ++errors_;
      if (errors_ <= 5) {
        std::cerr << "ingestion failed: status " << r.status << " " << r.error << " "
                  << r.body.substr(0, 200) << "\n";
      }
      return;
    }
    {
      std::lock_guard lock(mu_);
      size_t band = static_cast<size_t>(observations_ / band_);
      if (band < band_latency_.size()) band_latency_[band].Add(latency);
      all_latency_.Add(latency);
      events_ += static_cast<int64_t>(batch.events.size());
      observations_ += batch.observations_created;
      request_bytes_ += static_cast<int64_t>(body.size());
      ++requests_;
      if (event_errors) ++event_error_batches_;
      // Crossing a band boundary closes that band.
      if (observations_ / band_ > marks_.back().observations / band_) marks_.push_back(TakeMark());
    }
    if (check_visible) {
      // Durable acknowledgement: the trace must be readable as soon as the
      // 207 is back.
      std::string target = "/api/public/traces/" + batch.new_trace_ids.back();
      Clock::time_point acked = Clock::now();
      int polls = 0;
      int64_t first_get = -1;
      while (true) {
        HttpResult g = visibility_reader->Get(target);
        if (++polls == 1) first_get = MicrosSince(acked);
        if (g.status == 200 || MicrosSince(sent) > 60000000) break;
      }
      visible_gate_.Leave(MicrosSince(start_), first_get);
      std::lock_guard lock(mu_);
      visible_after_ack_.Add(MicrosSince(sent));
      visible_get_.Add(first_get);
      size_t band = static_cast<size_t>(observations_ / band_);
      if (band < band_get_latency_.size()) band_get_latency_[band].Add(first_get);
      if (polls > 1) ++visible_after_ack_misses_;
    }
  }

  // One request at a time from a separate connection: pick a batch as it is
  // sent and poll its trace until it is readable.
  void ProbeLoop() {
    HttpConnection http = conn_.Open();
    while (true) {
      {
        // Wait for the gate (checked every 50 ms) or the end of the run.
        std::unique_lock lock(mu_);
        if (done_cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return finished_; })) {
          return;
        }
      }
      if (!probe_gate_.TryEnter(MicrosSince(start_))) continue;
      std::shared_ptr<Probe> probe;
      {
        std::unique_lock lock(probe_mu_);
        probe_ = nullptr;
        probe_wanted_ = true;
        probe_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return probe_ || Finished(); });
        probe = probe_;
      }
      if (!probe) {
        probe_wanted_ = false;
        probe_gate_.Leave(MicrosSince(start_), 0);
        continue;
      }
      std::string target = "/api/public/traces/" + probe->trace_id;
      int polls = 0;
      int64_t visible = 0, slowest_get = 0;
      while (true) {
        Clock::time_point t0 = Clock::now();
        HttpResult g = http.Get(target);
        ++polls;
        slowest_get = std::max(slowest_get, MicrosSince(t0));
        visible = MicrosSince(probe->sent);
        if (g.status == 200 || visible > 60000000) break;
        // The pause between polls bounds the probe's own load on the server
        // (and is the most a lag figure can be over the true one).
        std::this_thread::sleep_for(std::chrono::milliseconds(probe_poll_ms_));
      }
      probe_gate_.Leave(MicrosSince(start_), slowest_get);
      // The ack may come after the trace became visible: wait for it.
      int64_t ack = probe->ack_us.load();
      for (int i = 0; ack < 0 && i < 30000; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ack = probe->ack_us.load();
      }
      std::lock_guard lock(mu_);
      probe_visible_.Add(visible);
      probe_polls_ += polls;
      if (ack >= 0) {
        probe_ack_.Add(ack);
        probe_visible_minus_ack_.Add(visible - ack);
        if (visible < ack) ++probe_visible_before_ack_;
        // When in the run each probe's batch was sent, and its lag: shows
        // whether slow probes cluster (a backlog) or are spread out.
        const double sent_s = std::chrono::duration<double>(probe->sent - start_).count();
        probe_samples_.push_back(json::array{std::round(sent_s * 10) / 10, (visible - ack) / 1000});
      }
    }
  }

  bool Finished() {
    std::lock_guard lock(mu_);
    return finished_;
  }

  // One line per second for plots: time, counters, CPU and sizes.
  void MonitorLoop() {
    std::ofstream out;
    if (!timeline_path_.empty()) {
      out.open(timeline_path_);
      out << "seconds,events,observations,events_per_sec,server_cpu_pct,client_cpu_pct,"
             "server_rss_mb,data_mb\n";
    }
    Mark last;
    {
      std::lock_guard lock(mu_);
      last = marks_.front();
    }
    while (true) {
      {
        std::unique_lock lock(mu_);
        if (done_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return finished_; })) return;
      }
      Mark m;
      {
        std::lock_guard lock(mu_);
        m.seconds = MicrosSince(start_) / 1e6;
        m.events = events_;
        m.observations = observations_;
      }
      m.client_cpu = SelfCpuSeconds();
      if (server_pid_ > 0) m.server_cpu = ProcessCpuSeconds(server_pid_);
      double dt = m.seconds - last.seconds;
      int64_t rss = server_pid_ > 0 ? ProcStatusKb(server_pid_, "VmRSS") : 0;
      int64_t data = data_dir_.empty() ? 0 : DirectoryBytes(data_dir_);
      char line[256];
      std::snprintf(line, sizeof(line), "%.1f,%lld,%lld,%.0f,%.0f,%.0f,%.1f,%.1f\n", m.seconds,
                    static_cast<long long>(m.events), static_cast<long long>(m.observations),
                    (m.events - last.events) / dt, 100 * (m.server_cpu - last.server_cpu) / dt,
                    100 * (m.client_cpu - last.client_cpu) / dt, rss / 1024.0, data / 1048576.0);
      if (out.is_open()) out << line << std::flush;
      // A progress line every 10 s for whoever watches the run.
      if (static_cast<int64_t>(m.seconds) % 10 == 0) {
        std::cerr << "[" << static_cast<int64_t>(m.seconds) << "s] " << m.observations
                  << " observations, " << m.events << " events, "
                  << static_cast<int64_t>((m.events - last.events) / dt) << " events/s\n";
      }
      last = m;
    }
  }

  json::object Report() {
    json::object o;
    const Mark& first = marks_.front();
    const Mark& last = marks_.back();
    double secs = last.seconds - first.seconds;
    o["connections"] = connections_;
    o["offered_rate"] = rate_;
    o["target_observations"] = target_observations_;
    o["band_observations"] = band_;
    o["seconds"] = secs;
    o["requests"] = requests_;
    o["failed_requests"] = errors_;
    o["batches_with_event_errors"] = event_error_batches_;
    o["events"] = events_;
    o["observations"] = observations_;
    o["events_per_sec"] = (last.events - first.events) / secs;
    o["observations_per_sec"] = (last.observations - first.observations) / secs;
    o["request_mb_per_sec"] = (last.request_bytes - first.request_bytes) / secs / 1048576.0;
    o["mean_event_bytes"] =
        events_ ? static_cast<double>(request_bytes_) / static_cast<double>(events_) : 0.0;
    o["server_cpu_pct"] = 100 * (last.server_cpu - first.server_cpu) / secs;
    o["client_cpu_pct"] = 100 * (last.client_cpu - first.client_cpu) / secs;
    o["other_cpu_pct"] =
        100 *
        ((last.machine.busy - first.machine.busy) - (last.server_cpu - first.server_cpu) -
         (last.client_cpu - first.client_cpu)) /
        secs;
    o["data_mb"] = last.data_bytes / 1048576.0;
    o["latency_ms"] = LatencyJson(all_latency_);
    json::object vis = LatencyJson(visible_after_ack_);
    vis["not_visible_on_first_poll"] = visible_after_ack_misses_;
    vis["get_after_ack_ms"] = LatencyJson(visible_get_);
    o["visible_poll_after_ack_ms"] = vis;
    json::object probe = LatencyJson(probe_visible_);
    probe["polls"] = probe_polls_;
    probe["visible_before_ack"] = probe_visible_before_ack_;
    probe["ack_ms"] = LatencyJson(probe_ack_);
    probe["visible_minus_ack_ms"] = LatencyJson(probe_visible_minus_ack_);
    probe["samples_s_ms"] = probe_samples_;  // [seconds into the run when sent, lag ms]
    o["visible_probe_ms"] = probe;
    json::array bands;
    for (size_t i = 1; i < marks_.size(); ++i) {
      const Mark& a = marks_[i - 1];
      const Mark& b = marks_[i];
      double dt = b.seconds - a.seconds;
      json::object band;
      band["from_observations"] = a.observations;
      band["to_observations"] = b.observations;
      band["seconds"] = dt;
      band["events_per_sec"] = (b.events - a.events) / dt;
      band["observations_per_sec"] = (b.observations - a.observations) / dt;
      size_t index = static_cast<size_t>(a.observations / band_);
      const Latencies& l = band_latency_[std::min(index, band_latency_.size() - 1)];
      band["p50_ms"] = l.PercentileMs(0.5);
      band["p99_ms"] = l.PercentileMs(0.99);
      const Latencies& g = band_get_latency_[std::min(index, band_get_latency_.size() - 1)];
      band["get_trace_p50_ms"] = g.PercentileMs(0.5);
      band["get_trace_samples"] = g.count();
      band["server_cpu_pct"] = 100 * (b.server_cpu - a.server_cpu) / dt;
      band["client_cpu_pct"] = 100 * (b.client_cpu - a.client_cpu) / dt;
      // The busiest server thread: near 100% means one thread (the single
      // SQLite writer) is the limit.
      double busiest = 0;
      for (const auto& [tid, cpu] : b.server_threads) {
        auto it = a.server_threads.find(tid);
        busiest = std::max(busiest, cpu - (it == a.server_threads.end() ? 0 : it->second));
      }
      band["busiest_server_thread_pct"] = 100 * busiest / dt;
      // Other processes on the machine compete for the same 2 cores.
      band["other_cpu_pct"] = 100 *
                              ((b.machine.busy - a.machine.busy) - (b.server_cpu - a.server_cpu) -
                               (b.client_cpu - a.client_cpu)) /
                              dt;
      band["iowait_pct"] = 100 * (b.machine.iowait - a.machine.iowait) / dt;
      band["server_write_mb_per_sec"] =
          (b.server_write_bytes - a.server_write_bytes) / dt / 1048576.0;
      band["data_mb_at_end"] = b.data_bytes / 1048576.0;
      bands.push_back(std::move(band));
    }
    o["bands"] = std::move(bands);
    return o;
  }

  const Connection conn_;
  const int connections_;
  const int64_t target_observations_;
  const int64_t band_;
  const pid_t server_pid_;
  const std::string data_dir_;
  ReadGate visible_gate_;
  ReadGate probe_gate_;
  const uint64_t seed_;
  const int64_t rate_;           // events/s offered; 0 = as fast as acknowledged
  const int64_t probe_poll_ms_;  // pause between a probe's GETs
  const std::string timeline_path_;
  Clock::time_point start_;
  std::mutex pace_mu_;
  int64_t next_send_us_ = 0;  // guarded by pace_mu_
  std::atomic<int64_t> claimed_{0};
  std::atomic<bool> probe_wanted_{false};

  // Protected by mu_.
  std::mutex mu_;
  std::condition_variable done_cv_;
  bool finished_ = false;
  int64_t events_ = 0, observations_ = 0, requests_ = 0, request_bytes_ = 0;
  int64_t errors_ = 0, event_error_batches_ = 0;
  std::vector<Mark> marks_;
  std::vector<Latencies> band_latency_, band_get_latency_;
  Latencies all_latency_, visible_after_ack_, visible_get_;
  int64_t visible_after_ack_misses_ = 0;
  Latencies probe_visible_, probe_ack_, probe_visible_minus_ack_;
  json::array probe_samples_;
  int64_t probe_polls_ = 0, probe_visible_before_ack_ = 0;

  // Protected by probe_mu_: the batch handed to the probe thread.
  std::mutex probe_mu_;
  std::condition_variable probe_cv_;
  std::shared_ptr<Probe> probe_;
};

// ---------------------------------------------------------------- list

// totalItems of a list response, or -1.
int64_t TotalItems(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return -1;
  const json::value* meta = v.as_object().if_contains("meta");
  if (!meta || !meta->is_object()) return -1;
  const json::value* total = meta->as_object().if_contains("totalItems");
  return total && total->is_int64() ? total->as_int64() : -1;
}

json::object TimedCount(HttpConnection& http, const std::string& target) {
  Clock::time_point t0 = Clock::now();
  HttpResult r = http.Get(target);
  json::object o;
  o["status"] = r.status;
  o["ms"] = MicrosSince(t0) / 1000.0;
  o["total_items"] = r.status == 200 ? TotalItems(r.body) : -1;
  return o;
}

int RunList(const Flags& f) {
  Connection conn = ConnectionFromFlags(f);
  HttpConnection http = conn.Open();
  const int requests = static_cast<int>(f.Int("requests", 200));
  const int warmup = static_cast<int>(f.Int("warmup", 3));
  // Per case: once it is spent the case stops (after at least one measured
  // request), so a pathologically slow query cannot stall the run.
  const int64_t budget_us = f.Int("seconds-per-case", 120) * 1000000;
  const int users = static_cast<int>(f.Int("users", 1000));
  std::mt19937_64 rng(static_cast<uint64_t>(f.Int("seed", 7)));
  json::object out;
  out["traces"] = TimedCount(http, "/api/public/traces?limit=1");
  out["observations"] = TimedCount(http, "/api/public/observations?limit=1");
  std::cerr << "store: " << out["traces"].as_object()["total_items"] << " traces, "
            << out["observations"].as_object()["total_items"] << " observations\n";

  struct Case {
    const char* name;
    std::function<std::string()> target;
  };
  std::uniform_int_distribution<int> user(0, users - 1);
  const auto& names = TraceNames();
  // The default response lists each trace's observation and score ids (two
  // lookups per trace); fields=core,io,metrics leaves them out, which
  // separates the filtered page query from those per-trace lookups.
  const std::string kCore = "&fields=core,io,metrics";
  std::vector<Case> cases = {
      {"userId", [&] { return "/api/public/traces?userId=" + UserId(user(rng)) + "&limit=50"; }},
      {"userId_core",
       [&] { return "/api/public/traces?userId=" + UserId(user(rng)) + "&limit=50" + kCore; }},
      {"name",
       [&] { return "/api/public/traces?name=" + names[rng() % names.size()] + "&limit=50"; }},
      {"name_core",
       [&] {
         return "/api/public/traces?name=" + names[rng() % names.size()] + "&limit=50" + kCore;
       }},
      {"none", [&] { return std::string("/api/public/traces?limit=50"); }},
      {"none_core", [&] { return "/api/public/traces?limit=50" + kCore; }},
  };
  json::object results;
  for (const Case& c : cases) {
    Latencies lat;
    int64_t failures = 0, total_items = 0, items = 0;
    Clock::time_point case_start = Clock::now();
    int warm = 0;
    while (static_cast<int64_t>(lat.count()) + failures < requests) {
      if (lat.count() + failures > 0 && MicrosSince(case_start) > budget_us) break;
      std::string target = c.target();
      Clock::time_point t0 = Clock::now();
      HttpResult r = http.Get(target);
      int64_t us = MicrosSince(t0);
      // Warm-up requests are not counted, unless they are slow anyway.
      if (warm < warmup && us < 1000000) {
        ++warm;
        continue;
      }
      warm = warmup;
      if (r.status != 200) {
        ++failures;
        continue;
      }
      lat.Add(us);
      total_items += TotalItems(r.body);
      boost::system::error_code ec;
      json::value v = json::parse(r.body, ec);
      if (!ec && v.is_object() && v.as_object().contains("data")) {
        items += static_cast<int64_t>(v.as_object()["data"].as_array().size());
      }
    }
    json::object o = LatencyJson(lat);
    o["failures"] = failures;
    o["stopped_by_time_budget"] = static_cast<int>(lat.count()) + failures < requests;
    o["mean_total_items"] = lat.count() ? total_items / static_cast<int64_t>(lat.count()) : 0;
    o["mean_page_items"] = lat.count() ? items / static_cast<int64_t>(lat.count()) : 0;
    std::cerr << "list " << c.name << ": p50 " << lat.PercentileMs(0.5) << " ms, p99 "
              << lat.PercentileMs(0.99) << " ms\n";
    results[c.name] = std::move(o);
  }
  out["requests"] = requests;
  out["list_ms"] = std::move(results);
  WriteJson(f.Str("json"), out);
  return 0;
}

// ---------------------------------------------------------------- report

json::value ReadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(ss.str(), ec);
  return ec ? json::value(nullptr) : v;
}

double Num(const json::value& v, std::initializer_list<const char*> path) {
  const json::value* cur = &v;
  for (const char* key : path) {
    if (!cur->is_object()) return 0;
    cur = cur->as_object().if_contains(key);
    if (!cur) return 0;
  }
  return cur->is_number() ? cur->to_number<double>() : 0;
}

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string Verdict(bool met) { return met ? "met" : "**not met**"; }

int RunReport(const Flags& f) {
  std::string dir = f.Str("dir", ".");
  json::value load = ReadJson(dir + "/load.json");
  json::value ceiling = ReadJson(dir + "/ceiling.json");
  json::value list = ReadJson(dir + "/list.json");
  json::value rss = ReadJson(dir + "/rss.json");
  json::value otlp = ReadJson(dir + "/otlp.json");
  std::ostringstream md;
  double eps = Num(load, {"events_per_sec"});
  double ceil_rps = Num(ceiling, {"rows_per_sec"});
  double obs = Num(load, {"observations"});
  double traces = Num(list, {"traces", "total_items"});
  double rss_start = Num(rss, {"start_kb"}) / 1024;
  double rss_idle = Num(rss, {"after_load_idle_kb"}) / 1024;
  double rss_end = Num(rss, {"after_list_idle_kb"}) / 1024;

  md << "| measure | result | target | verdict |\n|---|---|---|---|\n";
  md << "| sustained ingestion, durable 207 (" << Fmt("%.0f", Num(load, {"connections"}))
     << " connections, 100-event batches) | " << Fmt("%.0f", eps) << " events/s over "
     << Fmt("%.0f", Num(load, {"events"})) << " events, store grown to " << Fmt("%.2f", obs / 1e6)
     << " M observations | >= 25,000 events/s past 5 M observations | "
     << Verdict(eps >= 25000 && obs >= 5e6) << (obs < 5e6 ? " (quick run: store < 5 M)" : "")
     << " |\n";
  md << "| ingestion request latency p50 / p99 | " << Fmt("%.1f", Num(load, {"latency_ms", "p50"}))
     << " / " << Fmt("%.1f", Num(load, {"latency_ms", "p99"})) << " ms | - | - |\n";
  if (otlp.is_object()) {
    // Same server, after the batch load and the list queries (see run.sh).
    double sps = Num(otlp, {"spans_per_sec"});
    md << "| OTLP ingestion, protobuf, durable 200 (" << Fmt("%.0f", Num(otlp, {"connections"}))
       << " connections, " << Fmt("%.0f", Num(otlp, {"spans_per_request"}))
       << "-span requests, after the batch load) | " << Fmt("%.0f", sps) << " spans/s over "
       << Fmt("%.0f", Num(otlp, {"spans"})) << " spans (" << Fmt("%.0f", Num(otlp, {"traces"}))
       << " traces, mean span " << Fmt("%.0f", Num(otlp, {"mean_span_bytes"})) << " B, "
       << Fmt("%.0f", Num(otlp, {"failed_requests"})) << " failed, "
       << Fmt("%.0f", Num(otlp, {"rejected_spans"})) << " spans rejected); server CPU "
       << Fmt("%.0f", Num(otlp, {"server_cpu_pct"})) << " %, busiest thread "
       << Fmt("%.0f", Num(otlp, {"busiest_server_thread_pct"})) << " %, client "
       << Fmt("%.0f", Num(otlp, {"client_cpu_pct"})) << " %, other processes "
       << Fmt("%.0f", Num(otlp, {"other_cpu_pct"})) << " % | >= 25,000 spans/s | "
       << Verdict(sps >= 25000) << " |\n";
    md << "| OTLP request latency p50 / p99 | " << Fmt("%.1f", Num(otlp, {"latency_ms", "p50"}))
       << " / " << Fmt("%.1f", Num(otlp, {"latency_ms", "p99"})) << " ms ("
       << Fmt("%.0f", Num(otlp, {"latency_ms", "count"})) << " requests) | - | - |\n";
  }
  md << "| ingest-to-visible, GET right after the 207 (p50 / p99) | "
     << Fmt("%.1f", Num(load, {"visible_poll_after_ack_ms", "p50"})) << " / "
     << Fmt("%.1f", Num(load, {"visible_poll_after_ack_ms", "p99"})) << " ms ("
     << Fmt("%.0f", Num(load, {"visible_poll_after_ack_ms", "not_visible_on_first_poll"})) << " of "
     << Fmt("%.0f", Num(load, {"visible_poll_after_ack_ms", "count"}))
     << " not visible on the first GET; the GET itself p50 "
     << Fmt("%.1f", Num(load, {"visible_poll_after_ack_ms", "get_after_ack_ms", "p50"}))
     << " ms) | ~= request latency | - |\n";
  md << "| ingest-to-visible, polled from another connection (p50 / p99) | "
     << Fmt("%.1f", Num(load, {"visible_probe_ms", "p50"})) << " / "
     << Fmt("%.1f", Num(load, {"visible_probe_ms", "p99"})) << " ms; visible - ack p50 "
     << Fmt("%.1f", Num(load, {"visible_probe_ms", "visible_minus_ack_ms", "p50"})) << " ms ("
     << Fmt("%.0f", Num(load, {"visible_probe_ms", "count"}))
     << " probes) | ~= request latency | - |\n";
  md << "| bare SQLite ceiling (WAL, synchronous=FULL, 1000-row txns) | " << Fmt("%.0f", ceil_rps)
     << " rows/s | - | - |\n";
  md << "| Loupe / ceiling | " << Fmt("%.1f", ceil_rps > 0 ? 100 * eps / ceil_rps : 0)
     << " % | - | - |\n";
  // Filtered first pages; the verdict applies to the filters (userId, name).
  struct ListCase {
    const char* key;
    const char* label;
    bool filtered;
  };
  const ListCase list_cases[] = {
      {"userId", "userId filter", true},
      {"userId_core", "userId filter, fields=core,io,metrics", true},
      {"name", "name filter", true},
      {"name_core", "name filter, fields=core,io,metrics", true},
      {"none", "no filter", false},
      {"none_core", "no filter, fields=core,io,metrics", false},
  };
  for (const ListCase& c : list_cases) {
    double p50 = Num(list, {"list_ms", c.key, "p50"});
    double p99 = Num(list, {"list_ms", c.key, "p99"});
    md << "| trace list, " << c.label << ", limit=50 (p50 / p99) | " << Fmt("%.1f", p50) << " / "
       << Fmt("%.1f", p99) << " ms (" << Fmt("%.0f", Num(list, {"list_ms", c.key, "count"}))
       << " requests, " << Fmt("%.0f", Num(list, {"list_ms", c.key, "mean_total_items"}))
       << " matching traces) at " << Fmt("%.2f", traces / 1e6) << " M traces | "
       << (c.filtered ? "< 50 ms at 1 M traces | " : "- | ");
    if (c.filtered) {
      md << Verdict(p99 < 50 && traces >= 1e6) << (traces < 1e6 ? " (store < 1 M traces)" : "");
    } else {
      md << "-";
    }
    md << " |\n";
  }
  md << "| idle RSS after start | " << Fmt("%.1f", rss_start) << " MB | < 50 MB | "
     << Verdict(rss_start > 0 && rss_start < 50) << " |\n";
  md << "| idle RSS after the load | " << Fmt("%.1f", rss_idle) << " MB ("
     << Fmt("%.0f", Num(rss, {"idle_after_load_s"}))
     << " s after it, once the server was idle) | < 50 MB | "
     << Verdict(rss_idle > 0 && rss_idle < 50) << " |\n";
  md << "| idle RSS after the list queries | " << Fmt("%.1f", rss_end) << " MB (peak "
     << Fmt("%.1f", Num(rss, {"peak_kb"}) / 1024) << " MB) | < 50 MB | "
     << Verdict(rss_end > 0 && rss_end < 50) << " |\n";

  md << "\nPer observation band (latencies of ingestion requests; GET trace = GET "
        "/api/public/traces/{id} right after a 207):\n\n| observations | events/s | "
        "observations/s | p50 ms | p99 ms | GET trace p50 ms | server CPU % | busiest server "
        "thread % | client CPU % | other processes CPU % | "
        "iowait % | server disk writes MB/s | data dir MB |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  if (load.is_object() && load.as_object().contains("bands")) {
    for (const json::value& b : load.as_object().at("bands").as_array()) {
      md << "| " << Fmt("%.2f", Num(b, {"from_observations"}) / 1e6) << "-"
         << Fmt("%.2f M", Num(b, {"to_observations"}) / 1e6) << " | "
         << Fmt("%.0f", Num(b, {"events_per_sec"})) << " | "
         << Fmt("%.0f", Num(b, {"observations_per_sec"})) << " | "
         << Fmt("%.1f", Num(b, {"p50_ms"})) << " | " << Fmt("%.1f", Num(b, {"p99_ms"})) << " | "
         << Fmt("%.1f", Num(b, {"get_trace_p50_ms"})) << " | "
         << Fmt("%.0f", Num(b, {"server_cpu_pct"})) << " | "
         << Fmt("%.0f", Num(b, {"busiest_server_thread_pct"})) << " | "
         << Fmt("%.0f", Num(b, {"client_cpu_pct"})) << " | "
         << Fmt("%.0f", Num(b, {"other_cpu_pct"})) << " | " << Fmt("%.0f", Num(b, {"iowait_pct"}))
         << " | " << Fmt("%.1f", Num(b, {"server_write_mb_per_sec"})) << " | "
         << Fmt("%.0f", Num(b, {"data_mb_at_end"})) << " |\n";
    }
  }
  md << "\nLoad: " << Fmt("%.0f", Num(load, {"seconds"})) << " s, "
     << Fmt("%.0f", Num(load, {"requests"})) << " requests ("
     << Fmt("%.0f", Num(load, {"failed_requests"})) << " failed, "
     << Fmt("%.0f", Num(load, {"batches_with_event_errors"}))
     << " with per-event errors), mean event " << Fmt("%.0f", Num(load, {"mean_event_bytes"}))
     << " B, " << Fmt("%.1f", Num(load, {"request_mb_per_sec"}))
     << " MB/s of request bodies; server CPU " << Fmt("%.0f", Num(load, {"server_cpu_pct"}))
     << " %, client CPU " << Fmt("%.0f", Num(load, {"client_cpu_pct"})) << " %, other processes "
     << Fmt("%.0f", Num(load, {"other_cpu_pct"})) << " % (of one core; the machine has "
     << std::thread::hardware_concurrency() << "); data dir " << Fmt("%.0f", Num(load, {"data_mb"}))
     << " MB.\n";
  md << "Ceiling: " << Fmt("%.0f", Num(ceiling, {"rows"})) << " rows of mean "
     << Fmt("%.0f", Num(ceiling, {"mean_row_bytes"})) << " B in "
     << Fmt("%.1f", Num(ceiling, {"seconds"})) << " s ("
     << Fmt("%.1f", Num(ceiling, {"mb_per_sec"})) << " MB/s, "
     << Fmt("%.0f", Num(ceiling, {"commits_per_sec"})) << " commits/s).\n";
  md << "Counts: " << Fmt("%.0f", traces) << " traces (COUNT in "
     << Fmt("%.0f", Num(list, {"traces", "ms"})) << " ms), "
     << Fmt("%.0f", Num(list, {"observations", "total_items"})) << " observations (COUNT in "
     << Fmt("%.0f", Num(list, {"observations", "ms"})) << " ms).\n";
  std::cout << md.str();
  return 0;
}

int Usage() {
  std::cerr << "usage: loupe_loadgen load|otlp|list|report [--flags]; see bench/README.md\n";
  return 2;
}

}  // namespace
}  // namespace loupe::bench

int main(int argc, char** argv) {
  using namespace loupe::bench;
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) return Usage();
  std::string command = argv[1];
  try {
    Flags flags(argc, argv, 2);
    if (command == "load") {
      LoadRun run(flags);
      boost::json::object result = run.Run();
      WriteJson(flags.Str("json"), result);
      std::cerr << "load: " << result["events_per_sec"] << " events/s\n";
      return result["failed_requests"].as_int64() > 0 ? 1 : 0;
    }
    if (command == "otlp") {
      boost::json::object result = RunOtlpLoad(flags);
      WriteJson(flags.Str("json"), result);
      std::cerr << "otlp: " << result["spans_per_sec"] << " spans/s\n";
      return result["failed_requests"].as_int64() > 0 ? 1 : 0;
    }
    if (command == "list") return RunList(flags);
    if (command == "report") return RunReport(flags);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  return Usage();
}
