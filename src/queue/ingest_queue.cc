#include "queue/ingest_queue.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <future>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "ingest/event_codec.h"

namespace loupe {

namespace {

using Clock = std::chrono::steady_clock;

// What one group commit puts into an object at most (event bodies); a
// request larger than this is an object of its own.
constexpr size_t kMaxGroupBytes = 16 << 20;

// Larger objects get no copy in Redis (see hot_copy_ttl): a few of them
// would hold as much memory as hundreds of ordinary ones.
constexpr size_t kMaxHotCopyBytes = 4 << 20;

// Renews a lease only while it still names this worker.
constexpr const char* kRenewScript =
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
constexpr const char* kReleaseScript =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
    "else return 0 end";

int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string DateSegment() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

absl::Status ReplyError(const char* command, const RedisReply& r) {
  return absl::UnavailableError(absl::StrCat("Redis ", command, ": ", r.str));
}

}  // namespace

int IngestQueue::PartitionOf(const std::string& project_id, const IngestEvent& event) const {
  std::string key =
      absl::StrCat(project_id, "\x1f", static_cast<int>(event.kind), "\x1f", event.entity_id);
  uint64_t h = static_cast<uint64_t>(IdHash64(key));
  return static_cast<int>(h % static_cast<uint64_t>(options_.partitions));
}

std::string IngestQueue::StreamKey(int partition) const {
  return absl::StrCat(options_.key_prefix, "ingest:", partition);
}

std::string IngestQueue::LeaseKey(int partition) const {
  return absl::StrCat(options_.key_prefix, "ingest:lease:", partition);
}

absl::Status IngestQueue::Enqueue(const std::string& project_id,
                                  const std::vector<IngestEvent>& events) {
  if (events.empty()) return absl::OkStatus();
  size_t bytes = 0;
  for (const IngestEvent& e : events) bytes += e.body.size();
  Waiter me{&project_id, &events, bytes, absl::OkStatus(), false};
  std::unique_lock lock(mu_);
  waiting_.push_back(&me);
  // Whoever finds no commit running stores what is waiting, its own request
  // included unless the size bound leaves it for the next group.
  while (!me.done) {
    if (committing_) {
      committed_.wait(lock);
      continue;
    }
    committing_ = true;
    std::vector<Waiter*> group;
    size_t group_bytes = 0;
    auto it = waiting_.begin();
    for (; it != waiting_.end(); ++it) {
      if (!group.empty() && group_bytes + (*it)->bytes > kMaxGroupBytes) break;
      group_bytes += (*it)->bytes;
      group.push_back(*it);
    }
    waiting_.erase(waiting_.begin(), it);
    lock.unlock();
    Commit(group);
    lock.lock();
    for (Waiter* w : group) w->done = true;
    committing_ = false;
    committed_.notify_all();
  }
  return me.result;
}

void IngestQueue::Commit(const std::vector<Waiter*>& group) {
  std::map<std::string, std::vector<Waiter*>> by_project;
  for (Waiter* w : group) by_project[*w->project_id].push_back(w);
  struct Object {
    std::string name;
    std::set<int> partitions;
    std::future<absl::StatusOr<std::string>> put;  // the object's bytes once stored
    absl::Status stored;                           // of the PUT, named for the client
  };
  std::map<std::string, Object> objects;  // by project
  for (const auto& [project, waiters] : by_project) {
    Object& o = objects[project];
    o.name = absl::StrCat("events/", DateSegment(), "/", NewUuid(), ".json");
    std::vector<const std::vector<IngestEvent>*> parts;
    for (const Waiter* w : waiters) {
      parts.push_back(w->events);
      for (const IngestEvent& e : *w->events) o.partitions.insert(PartitionOf(project, e));
    }
    o.put = std::async(std::launch::async,
                       [this, name = o.name, project = project,
                        parts = std::move(parts)]() -> absl::StatusOr<std::string> {
                         std::string bytes = EncodeEventBatch(project, parts);
                         RETURN_IF_ERROR(blobs_->Put(name, bytes));
                         return bytes;
                       });
  }
  int64_t backlog = 0;
  for (const auto& length : stream_lengths_) backlog += length.load();
  const bool copy = options_.hot_copy_ttl.count() > 0 && backlog <= options_.hot_copy_max_backlog;
  // What each command of the pipeline is, to read its reply.
  enum class Command { kCopy, kAdd, kLength };
  std::vector<Command> kinds;
  std::vector<std::vector<std::string>> commands;
  std::set<int> touched;
  for (auto& [project, o] : objects) {
    absl::StatusOr<std::string> bytes = o.put.get();
    if (!bytes.ok()) {
      o.stored = absl::UnavailableError(
          absl::StrCat("event storage (LANGFUSE_S3_EVENT_UPLOAD_*): ", bytes.status().message()));
      continue;
    }
    // Before the entries, so a worker that reads an entry finds the copy.
    if (copy && bytes->size() <= kMaxHotCopyBytes) {
      commands.push_back({"SET", HotCopyKey(o.name), std::move(*bytes), "PX",
                          std::to_string(options_.hot_copy_ttl.count())});
      kinds.push_back(Command::kCopy);
    }
    for (int p : o.partitions) {
      // "parts": how many entries name the object, so that the worker that
      // acknowledges all of them knows the copy is no longer needed.
      commands.push_back({"XADD", StreamKey(p), "*", "project", project, "object", o.name, "parts",
                          std::to_string(o.partitions.size())});
      kinds.push_back(Command::kAdd);
      touched.insert(p);
    }
  }
  std::vector<int> measured(touched.begin(), touched.end());
  for (int p : measured) {
    commands.push_back({"XLEN", StreamKey(p)});
    kinds.push_back(Command::kLength);
  }
  absl::Status referenced = absl::OkStatus();
  if (!commands.empty()) {
    absl::StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline(commands);
    if (!replies.ok()) {
      referenced = replies.status();
    } else {
      size_t next_length = 0;
      for (size_t i = 0; i < replies->size() && i < kinds.size(); ++i) {
        const RedisReply& r = (*replies)[i];
        switch (kinds[i]) {
          case Command::kCopy:  // a copy Redis refused only costs its worker a fetch
            break;
          case Command::kAdd:
            if (r.is_error() && referenced.ok()) referenced = ReplyError("XADD", r);
            break;
          case Command::kLength: {
            const int p = measured[next_length++];
            if (r.type == RedisReply::Type::kInteger &&
                p < static_cast<int>(stream_lengths_.size())) {
              stream_lengths_[static_cast<size_t>(p)] = r.integer;
            }
            break;
          }
        }
      }
    }
  }
  for (auto& [project, waiters] : by_project) {
    const Object& o = objects[project];
    for (Waiter* w : waiters) w->result = o.stored.ok() ? referenced : o.stored;
  }
}

IngestWorker::IngestWorker(IngestQueue* queue, EventStore* store, IngestWorkerOptions options)
    : queue_(queue), store_(store), options_(std::move(options)) {
  if (options_.worker_id.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    options_.worker_id = absl::StrCat(host, "-", getpid(), "-", RandomHex(4));
  }
}

IngestWorker::~IngestWorker() { Stop(); }

absl::Status IngestWorker::Start() {
  std::vector<std::vector<std::string>> commands;
  for (int p = 0; p < queue_->options().partitions; ++p) {
    // From the stream's start: entries added before the first worker ever
    // ran must not be skipped.
    commands.push_back(
        {"XGROUP", "CREATE", queue_->StreamKey(p), IngestQueue::kGroup, "0", "MKSTREAM"});
  }
  ASSIGN_OR_RETURN(std::vector<RedisReply> replies, queue_->redis().Pipeline(commands));
  for (const RedisReply& r : replies) {
    if (r.is_error() && r.str.rfind("BUSYGROUP", 0) != 0) return ReplyError("XGROUP CREATE", r);
  }
  running_ = true;
  thread_ = std::thread([this] { Run(); });
  LogInfo("ingestion worker started",
          {{"worker", options_.worker_id}, {"partitions", queue_->options().partitions}});
  return absl::OkStatus();
}

void IngestWorker::Stop() {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
  ReleaseAll();
  LogInfo("ingestion worker stopped", {{"worker", options_.worker_id}});
}

IngestWorker::Health IngestWorker::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return health_;
}

void IngestWorker::NoteError(const absl::Status& s) {
  std::lock_guard<std::mutex> lock(mu_);
  health_.healthy = false;
  health_.last_error = s.ToString();
}

void IngestWorker::Run() {
  std::chrono::milliseconds backoff{0};
  // The next round, read and fetched while the current one is stored: a
  // round's time is what a newly acknowledged event waits to be readable.
  std::future<absl::StatusOr<Round>> ahead;
  auto ahead_stop = std::make_shared<std::atomic<bool>>(false);
  auto drop_ahead = [&] {
    // Its entries stay pending for this worker; the next round reads the
    // pending entries first.
    *ahead_stop = true;
    if (ahead.valid()) ahead.get().IgnoreError();
  };
  // The last stored round's finishing step (recounts, then acknowledgement),
  // which runs while the next round is stored. Its entries stay pending
  // until it is done.
  std::future<absl::Status> finishing;
  auto join_finishing = [&] { return finishing.valid() ? finishing.get() : absl::OkStatus(); };
  while (running_) {
    if (backoff.count() > 0) {
      // Sleep in slices so Stop() is not held up by a long backoff.
      auto until = Clock::now() + backoff;
      while (running_ && Clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (!running_) break;
    }
    absl::Status s = absl::OkStatus();
    if (Clock::now() >= next_lease_check_) {
      s = ManageLeases();
      next_lease_check_ = Clock::now() + options_.lease_interval;
    }
    if (!s.ok() || owned_.empty()) drop_ahead();
    if (s.ok() && owned_.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (s.ok()) {
      absl::StatusOr<Round> round = absl::UnknownError("");
      if (ahead.valid()) {
        *ahead_stop = true;
        round = ahead.get();
        if (round.ok()) {
          // Partitions given up meanwhile are the next owner's to store.
          std::erase_if(round->entries, [&](const Entry& e) { return !owned_.count(e.partition); });
          // And what arrived while the last round was stored joins this one
          // rather than waiting a whole round more.
          absl::StatusOr<std::vector<Entry>> more = Read(owned_, ReadMode::kNew);
          if (more.ok()) {
            for (Entry& e : *more) round->entries.push_back(std::move(e));
            absl::Status fetched = Fetch(*round);
            if (!fetched.ok()) round = fetched;
          } else {
            round = more.status();
          }
        }
      } else {
        // First what this worker read (or claimed) and has not
        // acknowledged, then new entries. A round still finishing has its
        // entries pending too: it ends first, so they are not read again.
        s = join_finishing();
        if (!s.ok()) {
          round = s;
        } else {
          round = ReadRound(owned_, ReadMode::kPending);
        }
        if (round.ok() && round->entries.empty()) round = ReadRound(owned_, ReadMode::kWaitForNew);
      }
      if (!round.ok()) {
        s = round.status();
      } else if (!round->entries.empty()) {
        ahead_stop = std::make_shared<std::atomic<bool>>(false);
        ahead = std::async(std::launch::async, [this, partitions = owned_, stop = ahead_stop] {
          return Prefetch(partitions, *stop);
        });
        absl::StatusOr<std::vector<StagedWrite>> staged = Store(*round);
        absl::Status previous = join_finishing();
        s = staged.ok() ? previous : staged.status();
        if (s.ok()) {
          finishing = std::async(std::launch::async,
                                 [this, writes = std::move(*staged), entries = round->entries]() {
                                   for (const StagedWrite& w : writes) RETURN_IF_ERROR(w.finish());
                                   return Acknowledge(entries);
                                 });
        } else {
          drop_ahead();
        }
      } else {
        s = join_finishing();
        if (!s.ok()) drop_ahead();
      }
    }
    if (s.ok()) {
      backoff = std::chrono::milliseconds(0);
      std::lock_guard<std::mutex> lock(mu_);
      health_.healthy = true;
      health_.partitions_owned = static_cast<int>(owned_.size());
    } else {
      NoteError(s);
      backoff =
          std::min(options_.max_backoff, std::max(std::chrono::milliseconds(100), backoff * 2));
      LogWarn("ingestion worker round failed; retrying",
              {{"error", s.ToString()}, {"retry_ms", static_cast<int64_t>(backoff.count())}});
    }
  }
  drop_ahead();
  absl::Status last = join_finishing();
  if (!last.ok()) NoteError(last);
}

absl::Status IngestWorker::ManageLeases() {
  RedisClient& redis = queue_->redis();
  const int partitions = queue_->options().partitions;
  const std::string ttl = std::to_string(options_.lease_ttl.count());
  const int64_t now = WallMillis();
  ASSIGN_OR_RETURN(
      std::vector<RedisReply> r,
      redis.Pipeline({{"ZADD", queue_->WorkersKey(), std::to_string(now), options_.worker_id},
                      {"ZREMRANGEBYSCORE", queue_->WorkersKey(), "-inf",
                       std::to_string(now - options_.lease_ttl.count())},
                      {"ZCARD", queue_->WorkersKey()}}));
  for (const RedisReply& x : r) {
    if (x.is_error()) return ReplyError("ZADD/ZCARD", x);
  }
  const int64_t workers = std::max<int64_t>(1, r[2].integer);
  const int share = static_cast<int>((partitions + workers - 1) / workers);

  // Renew what is held; a lease that expired meanwhile may be someone else's.
  if (!owned_.empty()) {
    std::vector<std::vector<std::string>> renew;
    std::vector<int> order(owned_.begin(), owned_.end());
    for (int p : order) {
      renew.push_back({"EVAL", kRenewScript, "1", queue_->LeaseKey(p), options_.worker_id, ttl});
    }
    ASSIGN_OR_RETURN(std::vector<RedisReply> renewed, redis.Pipeline(renew));
    for (size_t i = 0; i < order.size(); ++i) {
      if (renewed[i].is_error()) return ReplyError("EVAL", renewed[i]);
      if (renewed[i].integer != 1) {
        owned_.erase(order[i]);
        LogWarn("ingestion partition lease lost", {{"partition", order[i]}});
      }
    }
  }
  // Give back what is over this worker's share, so newcomers get work.
  while (static_cast<int>(owned_.size()) > share) {
    int p = *owned_.rbegin();
    ASSIGN_OR_RETURN(RedisReply x, redis.Command({"EVAL", kReleaseScript, "1", queue_->LeaseKey(p),
                                                  options_.worker_id}));
    if (x.is_error()) return ReplyError("EVAL", x);
    owned_.erase(p);
  }
  // Take free partitions up to the share, starting at a worker-specific
  // offset so that workers starting together try different ones first.
  const int offset = static_cast<int>(static_cast<uint64_t>(IdHash64(options_.worker_id)) %
                                      static_cast<uint64_t>(partitions));
  for (int i = 0; i < partitions && static_cast<int>(owned_.size()) < share; ++i) {
    int p = (offset + i) % partitions;
    if (owned_.count(p)) continue;
    ASSIGN_OR_RETURN(RedisReply x, redis.Command({"SET", queue_->LeaseKey(p), options_.worker_id,
                                                  "NX", "PX", ttl}));
    if (x.is_error()) return ReplyError("SET", x);
    if (x.is_nil()) continue;  // held by another worker
    owned_.insert(p);
    RETURN_IF_ERROR(ClaimOrphans(p));
    LogInfo("ingestion partition taken", {{"partition", p}, {"worker", options_.worker_id}});
  }
  return absl::OkStatus();
}

// Moves the entries other consumers read but never acknowledged (a worker
// that died, or held the partition before) into this worker's pending list,
// where the next round picks them up first.
absl::Status IngestWorker::ClaimOrphans(int partition) {
  std::string cursor = "0-0";
  for (int guard = 0; guard < 10000; ++guard) {
    ASSIGN_OR_RETURN(
        RedisReply r,
        queue_->redis().Command({"XAUTOCLAIM", queue_->StreamKey(partition), IngestQueue::kGroup,
                                 options_.worker_id, "0", cursor, "COUNT", "500", "JUSTID"}));
    if (r.is_error()) return ReplyError("XAUTOCLAIM", r);
    if (r.type != RedisReply::Type::kArray || r.elements.empty()) break;
    cursor = r.elements[0].str;
    if (cursor == "0-0" || cursor.empty()) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<IngestWorker::Round> IngestWorker::ReadRound(const std::set<int>& partitions,
                                                            ReadMode mode) {
  Round round;
  ASSIGN_OR_RETURN(round.entries, Read(partitions, mode));
  RETURN_IF_ERROR(Fetch(round));
  return round;
}

absl::StatusOr<IngestWorker::Round> IngestWorker::Prefetch(const std::set<int>& partitions,
                                                           const std::atomic<bool>& stop) {
  // A round as large as one read of every partition: more would only make
  // the events at its end wait longer.
  const size_t full = static_cast<size_t>(options_.read_count) * partitions.size();
  Round round;
  bool first = true;
  while (round.entries.size() < full) {
    // The first read waits as long as a round would; later ones only
    // briefly, so that the loop notices `stop` soon once the store ends.
    ASSIGN_OR_RETURN(std::vector<Entry> more,
                     Read(partitions, first ? ReadMode::kWaitForNew : ReadMode::kWaitBriefly));
    first = false;
    for (Entry& e : more) round.entries.push_back(std::move(e));
    // Objects already loaded by an earlier read are not fetched again.
    RETURN_IF_ERROR(Fetch(round));
    if (stop) break;
  }
  return round;
}

absl::StatusOr<std::vector<IngestWorker::Entry>> IngestWorker::Read(const std::set<int>& partitions,
                                                                    ReadMode mode) {
  const bool pending = mode == ReadMode::kPending;
  std::vector<std::string> cmd = {"XREADGROUP",       "GROUP", IngestQueue::kGroup,
                                  options_.worker_id, "COUNT", std::to_string(options_.read_count)};
  if (mode == ReadMode::kWaitForNew || mode == ReadMode::kWaitBriefly) {
    constexpr std::chrono::milliseconds kBriefly{20};
    cmd.push_back("BLOCK");
    cmd.push_back(std::to_string(mode == ReadMode::kWaitForNew
                                     ? options_.block.count()
                                     : std::min(options_.block, kBriefly).count()));
  }
  cmd.push_back("STREAMS");
  std::map<std::string, int> partition_of;
  for (int p : partitions) {
    cmd.push_back(queue_->StreamKey(p));
    partition_of[queue_->StreamKey(p)] = p;
  }
  for (size_t i = 0; i < partitions.size(); ++i) cmd.push_back(pending ? "0" : ">");
  ASSIGN_OR_RETURN(RedisReply r, queue_->redis().Command(cmd));
  if (r.is_error()) return ReplyError("XREADGROUP", r);
  std::vector<Entry> out;
  if (r.type != RedisReply::Type::kArray) return out;  // nil: nothing within BLOCK
  for (const RedisReply& stream : r.elements) {
    if (stream.elements.size() != 2) continue;
    auto it = partition_of.find(stream.elements[0].str);
    if (it == partition_of.end()) continue;
    for (const RedisReply& item : stream.elements[1].elements) {
      if (item.elements.empty()) continue;
      Entry e;
      e.partition = it->second;
      e.id = item.elements[0].str;
      if (item.elements.size() > 1) {
        const auto& fields = item.elements[1].elements;
        for (size_t i = 0; i + 1 < fields.size(); i += 2) {
          if (fields[i].str == "project") e.project = fields[i + 1].str;
          if (fields[i].str == "object") e.object = fields[i + 1].str;
          if (fields[i].str == "parts") e.parts = std::atoi(fields[i + 1].str.c_str());
        }
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

// Objects of one round fetched at once (S3 round trips overlap).
constexpr int kFetchThreads = 8;

absl::Status IngestWorker::Fetch(Round& round) {
  const auto started = std::chrono::steady_clock::now();
  // Objects are shared by the partitions one request touched; load each once,
  // several at a time: a round's time is what a new event waits to be stored.
  auto& batches = round.batches;
  {
    std::vector<std::string> objects;
    for (const Entry& e : round.entries) {
      if (!e.object.empty() && batches.emplace(e.object, absl::UnknownError("")).second) {
        objects.push_back(e.object);
      }
    }
    // The copies Redis still holds, in one round trip; only the others are
    // fetched from the object store. A copy that does not decode is fetched
    // too: the object is the durable record.
    if (!objects.empty()) {
      std::vector<std::string> mget = {"MGET"};
      for (const std::string& o : objects) mget.push_back(queue_->HotCopyKey(o));
      absl::StatusOr<RedisReply> copies = queue_->redis().Command(mget);
      if (copies.ok() && copies->type == RedisReply::Type::kArray &&
          copies->elements.size() == objects.size()) {
        std::vector<std::string> missing;
        for (size_t i = 0; i < objects.size(); ++i) {
          const RedisReply& copy = copies->elements[i];
          absl::StatusOr<EncodedBatch> decoded = absl::NotFoundError("");
          if (copy.type == RedisReply::Type::kString) decoded = DecodeEventBatch(copy.str);
          if (decoded.ok()) {
            batches[objects[i]] = std::move(decoded);
          } else {
            missing.push_back(objects[i]);
          }
        }
        objects = std::move(missing);
      }
    }
    std::vector<absl::StatusOr<std::string>> bytes(objects.size(), absl::UnknownError(""));
    std::atomic<size_t> next{0};
    auto fetch = [&] {
      for (size_t i = next++; i < objects.size(); i = next++)
        bytes[i] = queue_->blobs().Get(objects[i]);
    };
    std::vector<std::thread> fetchers;
    for (int t = 1; t < std::min<int>(kFetchThreads, static_cast<int>(objects.size())); ++t) {
      fetchers.emplace_back(fetch);
    }
    fetch();
    for (std::thread& t : fetchers) t.join();
    for (size_t i = 0; i < objects.size(); ++i) {
      if (!bytes[i].ok() && bytes[i].status().code() != absl::StatusCode::kNotFound) {
        return absl::UnavailableError(absl::StrCat("event storage (LANGFUSE_S3_EVENT_UPLOAD_*): ",
                                                   bytes[i].status().message()));
      }
      batches[objects[i]] = bytes[i].ok() ? DecodeEventBatch(*bytes[i])
                                          : absl::StatusOr<EncodedBatch>(bytes[i].status());
    }
  }
  round.fetch_time += std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StagedWrite>> IngestWorker::Store(const Round& round) {
  const auto started = std::chrono::steady_clock::now();
  const auto& entries = round.entries;
  std::map<std::string, std::vector<IngestEvent>> by_project;
  int64_t events = 0;
  for (const Entry& e : entries) {
    if (e.object.empty()) continue;  // deleted entry: nothing left to store
    auto it = round.batches.find(e.object);
    if (!it->second.ok()) {
      DeadLetter(e, it->second.status());
      continue;
    }
    for (const IngestEvent& ev : it->second->events) {
      if (queue_->PartitionOf(it->second->project_id, ev) != e.partition) continue;
      by_project[it->second->project_id].push_back(ev);
      ++events;
    }
  }
  std::vector<StagedWrite> writes;
  for (auto& [project, list] : by_project) {
    ASSIGN_OR_RETURN(StagedWrite w, store_->WriteStaged(project, std::move(list)));
    writes.push_back(std::move(w));
  }
  auto ms = [](auto d) {
    return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  LogDebug("ingestion round stored",
           {{"entries", static_cast<int64_t>(entries.size())},
            {"objects", static_cast<int64_t>(round.batches.size())},
            {"events", events},
            {"fetch_ms", static_cast<int64_t>(round.fetch_time.count())},
            {"write_ms", ms(std::chrono::steady_clock::now() - started)}});
  std::lock_guard<std::mutex> lock(mu_);
  health_.entries_done += static_cast<int64_t>(entries.size());
  health_.events_written += events;
  return writes;
}

absl::Status IngestWorker::Acknowledge(const std::vector<Entry>& entries) {
  std::map<int, std::vector<std::string>> ids;
  for (const Entry& e : entries) ids[e.partition].push_back(e.id);
  std::vector<std::vector<std::string>> commands;
  for (auto& [p, list] : ids) {
    std::vector<std::string> ack = {"XACK", queue_->StreamKey(p), IngestQueue::kGroup};
    std::vector<std::string> del = {"XDEL", queue_->StreamKey(p)};
    ack.insert(ack.end(), list.begin(), list.end());
    del.insert(del.end(), list.begin(), list.end());
    commands.push_back(std::move(ack));
    commands.push_back(std::move(del));
  }
  const size_t acknowledgements = commands.size();
  // Copies of objects whose every entry is acknowledged here go now rather
  // than when they expire.
  std::map<std::string, int> entries_of;
  for (const Entry& e : entries) {
    if (e.parts > 0 && ++entries_of[e.object] == e.parts) {
      commands.push_back({"DEL", queue_->HotCopyKey(e.object)});
    }
  }
  ASSIGN_OR_RETURN(std::vector<RedisReply> replies, queue_->redis().Pipeline(commands));
  for (size_t i = 0; i < replies.size() && i < acknowledgements; ++i) {
    if (replies[i].is_error()) return ReplyError("XACK", replies[i]);
  }
  return absl::OkStatus();
}

// An entry whose object is gone or unreadable can never be stored; it is
// set aside (with the reason) instead of blocking its partition forever.
void IngestWorker::DeadLetter(const Entry& entry, const absl::Status& why) {
  LogError("ingestion entry cannot be stored; moved to the dead-letter stream",
           {{"object", entry.object}, {"project", entry.project}, {"error", why.ToString()}});
  absl::StatusOr<RedisReply> r =
      queue_->redis().Command({"XADD", queue_->DeadLetterKey(), "*", "project", entry.project,
                               "object", entry.object, "error", why.ToString()});
  if (!r.ok()) LogWarn("dead-letter stream not written", {{"error", r.status().ToString()}});
}

void IngestWorker::ReleaseAll() {
  std::vector<std::vector<std::string>> commands;
  for (int p : owned_) {
    commands.push_back({"EVAL", kReleaseScript, "1", queue_->LeaseKey(p), options_.worker_id});
  }
  commands.push_back({"ZREM", queue_->WorkersKey(), options_.worker_id});
  absl::StatusOr<std::vector<RedisReply>> r = queue_->redis().Pipeline(commands);
  if (!r.ok()) LogWarn("ingestion leases not released", {{"error", r.status().ToString()}});
  owned_.clear();
}

}  // namespace loupe
