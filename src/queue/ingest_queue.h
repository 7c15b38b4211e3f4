#pragma once

// The durable ingestion queue of the scale-out mode (REDIS_* with
// LANGFUSE_S3_EVENT_UPLOAD_*).
//
// Accepting (IngestQueue::Enqueue, on the web processes): the validated
// events of a request become part of one object in the event bucket and a
// reference in the Redis stream of every partition they fall into; the
// request is acknowledged only after both. Requests that arrive while an
// object is being stored share the next one (group commit): under load a
// web process makes a few large objects rather than one per request, which
// is what the object store and the workers' fetches cost. While the workers
// keep up, Redis also holds a short-lived copy of each object, so the object
// store serves one request per object (the PUT). All events of one entity
// fall into the same partition (a hash of project, kind and id).
//
// Storing (IngestWorker, on the worker processes): each partition is leased
// to one worker at a time, so no two workers merge the same entity at once.
// A worker reads its partitions' streams through a consumer group, loads the
// objects, writes the events to the EventStore and acknowledges (and
// deletes) the stream entries only after the write returned. Entries a dead
// worker had read but not acknowledged are claimed by the partition's next
// owner. Events are idempotent by id, so an entry processed twice changes
// nothing; a failed write is retried with backoff until it succeeds.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "blob/blob_store.h"
#include "ingest/event.h"
#include "ingest/event_codec.h"
#include "queue/redis_client.h"
#include "storage/event_store.h"

namespace loupe {

struct IngestQueueOptions {
  std::string key_prefix = "loupe:";  // of every Redis key the queue uses
  // LOUPE_INGEST_PARTITIONS: how many streams events are spread over, the
  // most workers that can store in parallel. Keep it fixed for a
  // deployment's life: changing it moves entities between partitions.
  int partitions = 8;
  // How long Redis keeps a copy of each new object beside its stream
  // entries, so that a worker that keeps up reads the events from there and
  // the object store serves one request per object instead of two (zero: no
  // copies). The object in the bucket stays the durable record; a worker
  // falls back to it whenever the copy is gone.
  std::chrono::milliseconds hot_copy_ttl{5000};
  // No copies while the streams hold more entries than this: the workers are
  // behind and would come to the copies after they expired, so they would
  // only take Redis memory.
  int64_t hot_copy_max_backlog = 1000;
};

class IngestQueue {
 public:
  // Neither pointer is owned; both must outlive the queue.
  IngestQueue(RedisClient* redis, BlobStore* blobs, IngestQueueOptions options)
      : redis_(redis), blobs_(blobs), options_(std::move(options)) {}

  // Makes `events` durable: returns OK only once the object is stored and
  // every partition's stream references it. kUnavailable when the object
  // store or Redis cannot be reached (the caller answers 503).
  absl::Status Enqueue(const std::string& project_id, const std::vector<IngestEvent>& events);

  int PartitionOf(const std::string& project_id, const IngestEvent& event) const;
  std::string StreamKey(int partition) const;
  std::string LeaseKey(int partition) const;
  std::string WorkersKey() const { return options_.key_prefix + "ingest:workers"; }
  std::string DeadLetterKey() const { return options_.key_prefix + "ingest:dead"; }
  // Where Redis keeps the copy of `object` (see hot_copy_ttl).
  std::string HotCopyKey(const std::string& object) const {
    return options_.key_prefix + "ingest:copy:" + object;
  }
  static constexpr const char* kGroup = "workers";

  RedisClient& redis() { return *redis_; }
  BlobStore& blobs() { return *blobs_; }
  const IngestQueueOptions& options() const { return options_; }

 private:
  // A request waiting in Enqueue for the object that will hold its events.
  struct Waiter {
    const std::string* project_id;
    const std::vector<IngestEvent>* events;
    size_t bytes;  // of the events' bodies, to bound an object's size
    absl::Status result;
    bool done = false;
  };
  // Stores the events of `group` (objects, one per project, side by side;
  // then their stream entries) and sets every waiter's result.
  void Commit(const std::vector<Waiter*>& group);

  RedisClient* redis_;
  BlobStore* blobs_;
  IngestQueueOptions options_;
  std::mutex mu_;
  std::condition_variable committed_;
  std::vector<Waiter*> waiting_ ABSL_GUARDED_BY(mu_);
  bool committing_ ABSL_GUARDED_BY(mu_) = false;
  // Entries in the streams as last seen by a commit, per partition.
  std::vector<std::atomic<int64_t>> stream_lengths_ =
      std::vector<std::atomic<int64_t>>(static_cast<size_t>(std::max(1, options_.partitions)));
};

struct IngestWorkerOptions {
  std::string worker_id;  // unique among live workers; generated when empty
  // A lease not renewed within this time passes to another worker.
  std::chrono::milliseconds lease_ttl{15000};
  std::chrono::milliseconds lease_interval{2000};  // renew, rebalance, look for dead workers
  std::chrono::milliseconds block{500};            // longest wait for new entries
  int read_count = 200;                            // entries per partition per round
  std::chrono::milliseconds max_backoff{30000};
};

class IngestWorker {
 public:
  IngestWorker(IngestQueue* queue, EventStore* store, IngestWorkerOptions options);
  ~IngestWorker();

  // Creates the consumer groups and starts the worker thread.
  absl::Status Start();
  // Finishes the round in progress, releases the leases and returns.
  void Stop();

  struct Health {
    bool healthy = false;  // the last round reached Redis and found no stuck write
    int partitions_owned = 0;
    int64_t entries_done = 0;
    int64_t events_written = 0;
    std::string last_error;
  };
  Health health() const;

 private:
  struct Entry {
    int partition;
    std::string id;
    std::string project;
    std::string object;
    int parts = 0;  // entries naming the object in all partitions (0: not recorded)
  };
  // Entries read together and the event objects they reference.
  struct Round {
    std::vector<Entry> entries;
    std::map<std::string, absl::StatusOr<EncodedBatch>> batches;  // by object name
    std::chrono::milliseconds fetch_time{0};
  };
  void Run();
  absl::Status ManageLeases();
  absl::Status ClaimOrphans(int partition);
  enum class ReadMode {
    kPending,      // entries this worker read (or claimed) and has not acknowledged
    kWaitForNew,   // new entries, waiting up to options_.block for the first
    kWaitBriefly,  // new entries, waiting a few milliseconds for the first
    kNew,          // new entries, without waiting
  };
  // Reads entries of `partitions` and fetches their objects. Thread-safe.
  absl::StatusOr<Round> ReadRound(const std::set<int>& partitions, ReadMode mode);
  absl::StatusOr<std::vector<Entry>> Read(const std::set<int>& partitions, ReadMode mode);
  absl::Status Fetch(Round& round);
  // The next round, gathered while the current one is stored: reads and
  // fetches new entries until `stop` is set (after at least one read) or the
  // round is full, so that when the store ends the next round's objects are
  // already in hand. Thread-safe.
  absl::StatusOr<Round> Prefetch(const std::set<int>& partitions, const std::atomic<bool>& stop);
  // Writes the round's events; each returned step must succeed before the
  // round is acknowledged.
  absl::StatusOr<std::vector<StagedWrite>> Store(const Round& round);
  absl::Status Acknowledge(const std::vector<Entry>& entries);
  void DeadLetter(const Entry& entry, const absl::Status& why);
  void ReleaseAll();
  void NoteError(const absl::Status& s);

  IngestQueue* queue_;
  EventStore* store_;
  IngestWorkerOptions options_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::set<int> owned_;  // worker thread only
  std::chrono::steady_clock::time_point next_lease_check_{};

  mutable std::mutex mu_;
  Health health_ ABSL_GUARDED_BY(mu_);
};

}  // namespace loupe
