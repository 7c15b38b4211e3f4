#pragma once

// The two IngestSinks (ingest/ingest_sink.h): into the EventStore directly,
// or onto the durable ingestion queue.

#include <string>
#include <vector>

#include "ingest/ingest_sink.h"
#include "queue/ingest_queue.h"
#include "storage/event_store.h"

namespace loupe {

// Embedded mode: the store's group commit makes the events durable and
// visible before Accept returns.
class EventStoreSink : public IngestSink {
 public:
  explicit EventStoreSink(EventStore* store) : store_(store) {}
  absl::Status Accept(const std::string& project_id, std::vector<IngestEvent> events) override {
    return store_->Write(project_id, std::move(events));
  }
  bool visible_on_accept() const override { return true; }

 private:
  EventStore* store_;
};

// Scale-out mode: durable in the object store and Redis; a worker stores
// the events moments later.
class QueueSink : public IngestSink {
 public:
  explicit QueueSink(IngestQueue* queue) : queue_(queue) {}
  absl::Status Accept(const std::string& project_id, std::vector<IngestEvent> events) override {
    return queue_->Enqueue(project_id, events);
  }
  bool visible_on_accept() const override { return false; }

 private:
  IngestQueue* queue_;
};

}  // namespace loupe
