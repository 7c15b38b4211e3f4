// The ingestion queue against a real Redis (LOUPE_TEST_REDIS_URL), with the
// embedded event store and a local directory as the object store: what
// Enqueue accepted is stored by the workers exactly once, whatever happens
// to the worker that first read it.

#include "queue/ingest_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "blob/local_blob_store.h"
#include "common/hash.h"
#include "cost/price_table.h"
#include "ingest/batch_decoder.h"
#include "storage/sqlite/sqlite_event_store.h"

namespace loupe {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

class IngestQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("LOUPE_TEST_REDIS_URL");
    if (!url || !*url) GTEST_SKIP() << "LOUPE_TEST_REDIS_URL is not set";
    auto o = ParseRedisUrl(url);
    ASSERT_TRUE(o.ok()) << o.status();
    auto redis = RedisClient::Open(*o);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    dir_ = std::filesystem::temp_directory_path() / ("loupe-queue-test-" + RandomHex(8));
    std::filesystem::create_directories(dir_);
    auto blobs = OpenLocalBlobStore((dir_ / "blobs").string());
    ASSERT_TRUE(blobs.ok()) << blobs.status();
    blobs_ = *std::move(blobs);
    auto prices = PriceTable::FromEmbeddedDefaults();
    ASSERT_TRUE(prices.ok());
    prices_ = *std::move(prices);
    SqliteEventStoreOptions so;
    so.path = (dir_ / "events.db").string();
    auto store = OpenSqliteEventStore(so, prices_.get());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    IngestQueueOptions qo;
    qo.key_prefix = "loupe-test-" + RandomHex(6) + ":";  // private keys per test
    qo.partitions = 4;
    queue_ = std::make_unique<IngestQueue>(redis_.get(), blobs_.get(), qo);
  }

  void TearDown() override {
    workers_.clear();
    if (queue_) {
      std::vector<std::vector<std::string>> del;
      for (int p = 0; p < queue_->options().partitions; ++p) {
        del.push_back({"DEL", queue_->StreamKey(p), queue_->LeaseKey(p)});
      }
      del.push_back({"DEL", queue_->WorkersKey(), queue_->DeadLetterKey()});
      (void)redis_->Pipeline(del);
    }
    if (store_) store_->Close();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  IngestWorker* StartWorker(const std::string& id, IngestQueue* queue = nullptr) {
    IngestWorkerOptions wo;
    wo.worker_id = id;
    wo.lease_ttl = milliseconds(1500);
    wo.lease_interval = milliseconds(200);
    wo.block = milliseconds(100);
    wo.max_backoff = milliseconds(500);
    workers_.push_back(
        std::make_unique<IngestWorker>(queue ? queue : queue_.get(), store_.get(), wo));
    absl::Status s = workers_.back()->Start();
    EXPECT_TRUE(s.ok()) << s;
    return workers_.back().get();
  }

  std::vector<IngestEvent> Events(const std::string& batch_json) {
    auto batch = DecodeIngestionBatch(batch_json, DecodeOptions{});
    EXPECT_TRUE(batch.ok()) << batch.status();
    EXPECT_TRUE(batch->errors.empty());
    return batch->events;
  }

  // Polls until `done` or 10 s.
  static bool WaitFor(const std::function<bool()>& done) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
      if (done()) return true;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return done();
  }

  std::optional<TraceRecord> Trace(const std::string& project, const std::string& id) {
    auto t = store_->GetTrace(project, id);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : std::nullopt;
  }

  int64_t Int(const std::vector<std::string>& command) {
    auto r = redis_->Command(command);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->integer : -1;
  }

  int64_t QueuedEntries() {
    int64_t n = 0;
    for (int p = 0; p < queue_->options().partitions; ++p) n += Int({"XLEN", queue_->StreamKey(p)});
    return n;
  }

  std::filesystem::path dir_;
  std::unique_ptr<RedisClient> redis_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<PriceTable> prices_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<IngestQueue> queue_;
  std::vector<std::unique_ptr<IngestWorker>> workers_;
};

std::string TraceBatch(const std::string& trace, const std::string& name, int gens) {
  std::string out =
      R"({"batch":[{"id":")" + NewUuid() +
      R"(","type":"trace-create","timestamp":"2025-04-01T10:00:00.000Z","body":{"id":")" + trace +
      R"(","name":")" + name + R"("}})";
  for (int i = 0; i < gens; ++i) {
    out += R"(,{"id":")" + NewUuid() +
           R"(","type":"generation-create","timestamp":"2025-04-01T10:00:00.100Z","body":{"id":")" +
           trace + "-g" + std::to_string(i) + R"(","traceId":")" + trace +
           R"(","model":"gpt-4o","usageDetails":{"input":1000,"output":10}}})";
  }
  return out + "]}";
}

TEST_F(IngestQueueTest, EnqueuedEventsAreStoredAndTheEntriesRemoved) {
  ASSERT_TRUE(queue_->Enqueue("proj-a", Events(TraceBatch("t1", "first", 5))).ok());
  // Entries wait in Redis until a worker runs (a web process answers 207
  // before any worker has seen them).
  EXPECT_GT(QueuedEntries(), 0);
  EXPECT_FALSE(Trace("proj-a", "t1").has_value());
  StartWorker("w1");
  ASSERT_TRUE(WaitFor([&] {
    auto t = Trace("proj-a", "t1");
    return t && t->observation_count == 5;
  }));
  auto t = Trace("proj-a", "t1");
  EXPECT_EQ(t->name, "first");
  EXPECT_GT(t->total_cost, 0);  // priced by the worker, from the model
  ASSERT_TRUE(WaitFor([&] { return QueuedEntries() == 0; }));
  EXPECT_EQ(workers_[0]->health().events_written, 6);
  EXPECT_TRUE(workers_[0]->health().healthy);
}

TEST_F(IngestQueueTest, AnEntityKeepsItsPartitionAcrossBatches) {
  StartWorker("w1");
  ASSERT_TRUE(queue_->Enqueue("proj-a", Events(TraceBatch("t2", "before", 0))).ok());
  ASSERT_TRUE(queue_
                  ->Enqueue("proj-a", Events(R"({"batch":[{"id":"u1","type":"trace-create",
                    "timestamp":"2025-04-01T10:00:05.000Z","body":{"id":"t2","name":"after",
                    "output":"done"}}]})"))
                  .ok());
  ASSERT_TRUE(WaitFor([&] {
    auto t = Trace("proj-a", "t2");
    return t && t->name == "after";
  }));
  EXPECT_EQ(json::serialize(Trace("proj-a", "t2")->output), "\"done\"");
  IngestEvent a, b;
  a.kind = b.kind = EntityKind::kObservation;
  a.entity_id = b.entity_id = "obs-1";
  EXPECT_EQ(queue_->PartitionOf("p", a), queue_->PartitionOf("p", b));
}

TEST_F(IngestQueueTest, EntriesOfADeadWorkerAreClaimedAndStoredOnce) {
  ASSERT_TRUE(queue_->Enqueue("proj-a", Events(TraceBatch("t3", "orphan", 3))).ok());
  // A worker that read every entry and died before acknowledging any.
  for (int p = 0; p < queue_->options().partitions; ++p) {
    auto r = redis_->Pipeline(
        {{"XGROUP", "CREATE", queue_->StreamKey(p), IngestQueue::kGroup, "0", "MKSTREAM"},
         {"XREADGROUP", "GROUP", IngestQueue::kGroup, "dead-worker", "STREAMS",
          queue_->StreamKey(p), ">"}});
    ASSERT_TRUE(r.ok()) << r.status();
  }
  StartWorker("w2");
  ASSERT_TRUE(WaitFor([&] {
    auto t = Trace("proj-a", "t3");
    return t && t->observation_count == 3;
  }));
  ASSERT_TRUE(WaitFor([&] { return QueuedEntries() == 0; }));
  EXPECT_EQ(workers_[0]->health().events_written, 4);
}

TEST_F(IngestQueueTest, TwoWorkersSplitThePartitionsAndStoreEverything) {
  IngestWorker* w1 = StartWorker("w-one");
  IngestWorker* w2 = StartWorker("w-two");
  ASSERT_TRUE(WaitFor([&] {
    return w1->health().partitions_owned == 2 && w2->health().partitions_owned == 2;
  })) << w1->health().partitions_owned
      << " / " << w2->health().partitions_owned;
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(
        queue_->Enqueue("proj-b", Events(TraceBatch("tt" + std::to_string(i), "n", 2))).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return QueuedEntries() == 0; }));
  for (int i = 0; i < 40; ++i) {
    auto t = Trace("proj-b", "tt" + std::to_string(i));
    ASSERT_TRUE(t.has_value()) << i;
    EXPECT_EQ(t->observation_count, 2) << i;
  }
  EXPECT_EQ(w1->health().events_written + w2->health().events_written, 120);
  EXPECT_GT(w1->health().events_written, 0);
  EXPECT_GT(w2->health().events_written, 0);
  // One stops: its partitions pass to the other within a lease's lifetime.
  w1->Stop();
  ASSERT_TRUE(WaitFor([&] { return w2->health().partitions_owned == 4; }));
  ASSERT_TRUE(queue_->Enqueue("proj-b", Events(TraceBatch("late", "n", 4))).ok());
  ASSERT_TRUE(WaitFor([&] {
    auto t = Trace("proj-b", "late");
    return t && t->observation_count == 4;
  }));
}

TEST_F(IngestQueueTest, AnUnreadableObjectIsSetAsideWithoutBlockingThePartition) {
  for (int p = 0; p < queue_->options().partitions; ++p) {
    ASSERT_TRUE(blobs_->Put("events/corrupt-" + std::to_string(p) + ".json", "{not json").ok());
    ASSERT_TRUE(redis_
                    ->Command({"XADD", queue_->StreamKey(p), "*", "project", "proj-c", "object",
                               "events/corrupt-" + std::to_string(p) + ".json"})
                    .ok());
  }
  ASSERT_TRUE(queue_->Enqueue("proj-c", Events(TraceBatch("t4", "fine", 2))).ok());
  StartWorker("w3");
  ASSERT_TRUE(WaitFor([&] {
    auto t = Trace("proj-c", "t4");
    return t && t->observation_count == 2;
  }));
  ASSERT_TRUE(WaitFor([&] { return QueuedEntries() == 0; }));
  EXPECT_EQ(Int({"XLEN", queue_->DeadLetterKey()}), queue_->options().partitions);
}

// The local object store, with a gate that holds back the first object's
// Put until opened, and Puts of objects of `failing_project` refused: what
// the queue's group commit does with requests arriving while an object is
// stored, and with a group whose objects partly fail.
class GatedBlobStore : public BlobStore {
 public:
  GatedBlobStore(BlobStore* inner, std::string failing_project)
      : inner_(inner), failing_("\"project\":\"" + failing_project + "\"") {}

  absl::Status Put(std::string_view key, std::string_view data) override {
    {
      std::unique_lock lock(mu_);
      ++puts_;
      if (puts_ == 1) {
        first_started_ = true;
        changed_.notify_all();
        changed_.wait(lock, [&] { return open_; });
      }
    }
    if (data.find(failing_) != std::string_view::npos) {
      return absl::UnavailableError("object store refused the object");
    }
    return inner_->Put(key, data);
  }
  absl::StatusOr<std::string> Get(std::string_view key) override { return inner_->Get(key); }
  absl::StatusOr<bool> Exists(std::string_view key) override { return inner_->Exists(key); }
  absl::StatusOr<BlobInfo> Stat(std::string_view key) override { return inner_->Stat(key); }
  absl::Status Delete(std::string_view key) override { return inner_->Delete(key); }

  void WaitForFirstPut() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return first_started_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  int puts() {
    std::lock_guard lock(mu_);
    return puts_;
  }

 private:
  BlobStore* inner_;
  std::string failing_;
  std::mutex mu_;
  std::condition_variable changed_;
  int puts_ = 0;
  bool first_started_ = false;
  bool open_ = false;
};

TEST_F(IngestQueueTest, RequestsArrivingDuringAStoreShareTheNextObject) {
  GatedBlobStore gated(blobs_.get(), "proj-down");
  IngestQueue queue(redis_.get(), &gated, queue_->options());
  std::vector<absl::Status> results(7, absl::UnknownError("not run"));
  std::vector<std::thread> requests;
  requests.emplace_back(
      [&] { results[0] = queue.Enqueue("proj-g", Events(TraceBatch("g0", "n", 1))); });
  gated.WaitForFirstPut();
  // Six more while the first object is held back: three of a project whose
  // objects the store refuses, three of one whose objects it takes.
  for (int i = 1; i < 7; ++i) {
    requests.emplace_back([&, i] {
      const std::string project = i % 2 ? "proj-down" : "proj-g";
      results[i] = queue.Enqueue(project, Events(TraceBatch("g" + std::to_string(i), "n", 2)));
    });
  }
  std::this_thread::sleep_for(milliseconds(300));
  gated.Open();
  for (std::thread& t : requests) t.join();
  // The first request's object, then one per project for the six.
  EXPECT_EQ(gated.puts(), 3);
  for (int i = 0; i < 7; ++i) {
    if (i % 2) {
      EXPECT_EQ(results[i].code(), absl::StatusCode::kUnavailable) << i << ": " << results[i];
      EXPECT_NE(results[i].message().find("LANGFUSE_S3_EVENT_UPLOAD"), std::string::npos);
    } else {
      EXPECT_TRUE(results[i].ok()) << i << ": " << results[i];
    }
  }
  StartWorker("w-group");
  for (int i : {0, 2, 4, 6}) {
    ASSERT_TRUE(WaitFor([&] {
      auto t = Trace("proj-g", "g" + std::to_string(i));
      return t && t->observation_count == (i == 0 ? 1 : 2);
    })) << i;
  }
  ASSERT_TRUE(WaitFor([&] { return QueuedEntries() == 0; }));
  // Nothing of the refused requests was referenced or stored.
  EXPECT_EQ(workers_[0]->health().events_written, 2 + 3 * 3);
  for (int i : {1, 3, 5}) EXPECT_FALSE(Trace("proj-down", "g" + std::to_string(i)).has_value());
}

// The local object store, counting the objects read back.
class CountingBlobStore : public BlobStore {
 public:
  explicit CountingBlobStore(BlobStore* inner) : inner_(inner) {}
  absl::Status Put(std::string_view key, std::string_view data) override {
    return inner_->Put(key, data);
  }
  absl::StatusOr<std::string> Get(std::string_view key) override {
    ++gets_;
    return inner_->Get(key);
  }
  absl::StatusOr<bool> Exists(std::string_view key) override { return inner_->Exists(key); }
  absl::StatusOr<BlobInfo> Stat(std::string_view key) override { return inner_->Stat(key); }
  absl::Status Delete(std::string_view key) override { return inner_->Delete(key); }
  int gets() const { return gets_; }

 private:
  BlobStore* inner_;
  std::atomic<int> gets_{0};
};

class HotCopyTest : public IngestQueueTest {
 protected:
  // A queue over a store that counts reads. Members, so that they outlive
  // the workers (stopped in TearDown).
  IngestQueue& CountingQueue(IngestQueueOptions options) {
    counting_ = std::make_unique<CountingBlobStore>(blobs_.get());
    queue_with_counting_ = std::make_unique<IngestQueue>(redis_.get(), counting_.get(), options);
    return *queue_with_counting_;
  }
  std::unique_ptr<CountingBlobStore> counting_;
  std::unique_ptr<IngestQueue> queue_with_counting_;

  // The objects the streams reference, in order of their entries.
  std::vector<std::string> ReferencedObjects(IngestQueue& queue) {
    std::vector<std::string> out;
    for (int p = 0; p < queue.options().partitions; ++p) {
      auto r = redis_->Command({"XRANGE", queue.StreamKey(p), "-", "+"});
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) continue;
      for (const RedisReply& entry : r->elements) {
        const auto& fields = entry.elements[1].elements;
        for (size_t i = 0; i + 1 < fields.size(); i += 2) {
          if (fields[i].str == "object" &&
              std::find(out.begin(), out.end(), fields[i + 1].str) == out.end()) {
            out.push_back(fields[i + 1].str);
          }
        }
      }
    }
    return out;
  }
  bool HasCopy(IngestQueue& queue, const std::string& object) {
    return Int({"EXISTS", queue.HotCopyKey(object)}) == 1;
  }
};

TEST_F(HotCopyTest, AWorkerThatKeepsUpReadsTheCopyAndDropsItOnceStored) {
  IngestQueue& queue = CountingQueue(queue_->options());
  ASSERT_TRUE(queue.Enqueue("proj-h", Events(TraceBatch("h1", "hot", 6))).ok());
  const std::vector<std::string> objects = ReferencedObjects(queue);
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_TRUE(HasCopy(queue, objects[0]));
  // The object itself is in the bucket all the same: it is the durable record.
  EXPECT_TRUE(*blobs_->Exists(objects[0]));
  StartWorker("w-hot", &queue);
  ASSERT_TRUE(WaitFor([&] {
    auto t = Trace("proj-h", "h1");
    return t && t->observation_count == 6;
  }));
  ASSERT_TRUE(WaitFor([&] { return QueuedEntries() == 0; }));
  EXPECT_EQ(counting_->gets(), 0);
  // Every entry naming it is acknowledged, so the copy is gone before it expires.
  EXPECT_TRUE(WaitFor([&] { return !HasCopy(queue, objects[0]); }));
  EXPECT_TRUE(*blobs_->Exists(objects[0]));
}

TEST_F(HotCopyTest, AnExpiredCopyIsReadFromTheObjectStore) {
  IngestQueue& queue = CountingQueue(queue_->options());
  ASSERT_TRUE(queue.Enqueue("proj-h", Events(TraceBatch("h2", "cold", 3))).ok());
  const std::vector<std::string> objects = ReferencedObjects(queue);
  ASSERT_EQ(objects.size(), 1u);
  ASSERT_EQ(Int({"DEL", queue.HotCopyKey(objects[0])}), 1);  // as if it had expired
  StartWorker("w-cold", &queue);
  ASSERT_TRUE(WaitFor([&] {
    auto t = Trace("proj-h", "h2");
    return t && t->observation_count == 3;
  }));
  EXPECT_EQ(counting_->gets(), 1);
}

TEST_F(HotCopyTest, NoCopiesWhileTheStreamsAreBacklogged) {
  IngestQueueOptions o = queue_->options();
  o.hot_copy_max_backlog = 3;
  IngestQueue& queue = CountingQueue(o);
  // No worker yet: every batch (an entry in each of its partitions) adds to
  // the backlog, which each commit measures for the next.
  const int batches = 6;
  for (int i = 0; i < batches; ++i) {
    ASSERT_TRUE(queue.Enqueue("proj-h", Events(TraceBatch("b" + std::to_string(i), "n", 3))).ok());
  }
  const std::vector<std::string> objects = ReferencedObjects(queue);
  ASSERT_EQ(objects.size(), static_cast<size_t>(batches));
  int copies = 0;
  for (const std::string& object : objects) copies += HasCopy(queue, object) ? 1 : 0;
  EXPECT_GE(copies, 1);        // the first commit saw empty streams
  EXPECT_LT(copies, batches);  // later ones saw more than three entries
  StartWorker("w-behind", &queue);
  for (int i = 0; i < batches; ++i) {
    ASSERT_TRUE(WaitFor([&] {
      auto t = Trace("proj-h", "b" + std::to_string(i));
      return t && t->observation_count == 3;
    })) << i;
  }
  // The objects without a copy came from the bucket.
  EXPECT_EQ(counting_->gets(), batches - copies);
}

}  // namespace
}  // namespace loupe
