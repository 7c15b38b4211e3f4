#pragma once

// Synthetic Langfuse ingestion traffic shared by the load generator and the
// bare-SQLite ceiling, so both write the very same event bodies.
//
// Each trace is sent the way the Python SDK v2 does it, over two batches:
//   batch k:   trace-create, span-create, generation-create, event-create
//   batch k+1: span-update, generation-update, trace-create (upsert with the
//              output), score-create
// so half of the events of a steady-state batch update entities that are
// already stored (the server has to load and merge their state). Every event
// is padded with English-like text to a size drawn uniformly from
// [min_event_bytes, max_event_bytes].

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace loupe::bench {

struct WorkloadOptions {
  uint64_t seed = 1;
  int users = 1000;            // userId values: user-0000 .. user-0999
  int events_per_batch = 100;  // every batch has exactly this many events
  int new_traces_per_batch = 12;
  int min_event_bytes = 512;
  int max_event_bytes = 4096;
};

// One ingestion event: the JSON object that goes into "batch".
struct Event {
  std::string id;
  std::string_view type;
  std::string json;
};

struct Batch {
  std::vector<Event> events;
  std::vector<std::string> new_trace_ids;  // traces whose trace-create is in this batch
  int observations_created = 0;            // span/generation/event-create events
};

// The trace names and the number of users, so the list benchmark can filter
// on values that exist.
const std::vector<std::string>& TraceNames();
std::string UserId(int index);
// The shared English-like text (2 MB, no characters that need JSON escaping)
// the payloads are cut from.
const std::string& TextCorpus();

// Not thread-safe: one per worker thread.
class WorkloadGenerator {
 public:
  explicit WorkloadGenerator(const WorkloadOptions& options);

  // The next batch: updates for the traces started in the previous batch,
  // then new traces, then extra events on the new traces to fill the batch.
  // With `new_traces` false only the pending updates are returned (the final
  // flush of a worker).
  Batch Next(bool new_traces = true);

  // {"batch":[...]} for POST /api/public/ingestion.
  static std::string Body(const Batch& batch);

 private:
  struct Pending {
    std::string trace_id, span_id, generation_id, model;
    int64_t start_us = 0;
  };

  std::string NewId();
  std::string Timestamp(int64_t us) const;
  // Text of `bytes` characters cut from the shared corpus (no characters that
  // need JSON escaping).
  std::string_view Text(size_t bytes);
  // Pads `prefix` + text + `suffix` to the drawn event size.
  std::string Padded(std::string_view prefix, std::string_view suffix);
  void AddEvent(Batch& batch, std::string_view type, int64_t ts_us, const std::string& body_prefix,
                std::string_view body_suffix);
  void AddCreates(Batch& batch, int64_t now_us);
  void AddUpdates(Batch& batch, const Pending& p, int64_t now_us);
  void AddExtraEvent(Batch& batch, const Pending& p, int64_t now_us);

  WorkloadOptions options_;
  std::mt19937_64 rng_;
  std::vector<Pending> pending_;  // traces started in the previous batch
  uint64_t counter_ = 0;
};

}  // namespace loupe::bench
