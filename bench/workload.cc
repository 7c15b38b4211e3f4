#include "workload.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace loupe::bench {
namespace {

// Words with a skewed (Zipf-like) frequency, so the payloads compress about
// as well as real prompts and completions do.
constexpr const char* kWords[] = {
    "the",      "of",        "and",         "to",           "a",         "in",       "is",
    "for",      "that",      "refund",      "order",        "customer",  "with",     "on",
    "as",       "your",      "be",          "by",           "are",       "this",     "policy",
    "account",  "can",       "please",      "we",           "will",      "it",       "from",
    "or",       "have",      "an",          "not",          "days",      "business", "processed",
    "payment",  "shipping",  "address",     "support",      "request",   "within",   "item",
    "return",   "label",     "invoice",     "subscription", "plan",      "upgrade",  "cancel",
    "billing",  "card",      "bank",        "transfer",     "delivery",  "tracking", "number",
    "question", "answer",    "document",    "section",      "retrieved", "context",  "model",
    "response", "assistant", "user",        "system",       "summary",   "details",  "following",
    "based",    "provided",  "information", "according",    "knowledge", "base",     "article",
    "steps",    "first",     "then",        "finally",      "note",      "that",     "if",
    "you",      "need",      "more",        "help",         "contact",   "team",     "email",
    "phone",    "hours",     "monday",      "friday",       "weekend",   "holiday",  "exception",
    "warranty", "product",   "damaged",     "replacement",  "eligible",  "purchase", "date",
    "receipt",  "original",  "method",      "credit",       "balance",   "store",    "online",
    "portal",   "login",     "password",    "reset",        "security",  "verify",   "identity",
    "code",     "message",   "error",       "retry",        "later",     "timeout",  "service",
};
constexpr size_t kWordCount = sizeof(kWords) / sizeof(kWords[0]);
constexpr const char* kModels[] = {"gpt-4o", "claude-3-5-sonnet-20241022"};

const std::string& Corpus() {
  static const std::string* corpus = [] {
    auto* out = new std::string();
    std::mt19937_64 rng(42);
    std::vector<double> weights;
    for (size_t i = 0; i < kWordCount; ++i) weights.push_back(1.0 / (1.0 + i));
    std::discrete_distribution<size_t> word(weights.begin(), weights.end());
    std::uniform_int_distribution<int> punct(0, 14);
    out->reserve(1 << 21);
    while (out->size() < (1 << 21)) {
      out->append(kWords[word(rng)]);
      int p = punct(rng);
      out->append(p == 0 ? ". " : p == 1 ? ", " : " ");
    }
    return out;
  }();
  return *corpus;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

const std::vector<std::string>& TraceNames() {
  static const std::vector<std::string> names = {"rag-pipeline",    "chat-turn",  "summarize",
                                                 "classify-ticket", "agent-run",  "extract",
                                                 "translate",       "code-review"};
  return names;
}

const std::string& TextCorpus() { return Corpus(); }

std::string UserId(int index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "user-%04d", index);
  return buf;
}

WorkloadGenerator::WorkloadGenerator(const WorkloadOptions& options)
    : options_(options), rng_(options.seed) {
  Corpus();  // build it outside any timed section
}

std::string WorkloadGenerator::NewId() {
  uint64_t a = rng_(), b = rng_();
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string WorkloadGenerator::Timestamp(int64_t us) const {
  time_t secs = static_cast<time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(us % 1000000));
  return buf;
}

std::string_view WorkloadGenerator::Text(size_t bytes) {
  const std::string& c = Corpus();
  std::uniform_int_distribution<size_t> offset(0, c.size() - bytes - 1);
  return std::string_view(c).substr(offset(rng_), bytes);
}

std::string WorkloadGenerator::Padded(std::string_view prefix, std::string_view suffix) {
  std::uniform_int_distribution<int> size(options_.min_event_bytes, options_.max_event_bytes);
  size_t target = static_cast<size_t>(size(rng_));
  size_t fixed = prefix.size() + suffix.size();
  size_t text = target > fixed + 16 ? target - fixed : 16;
  std::string out;
  out.reserve(fixed + text);
  out.append(prefix).append(Text(text)).append(suffix);
  return out;
}

void WorkloadGenerator::AddEvent(Batch& batch, std::string_view type, int64_t ts_us,
                                 const std::string& body_prefix, std::string_view body_suffix) {
  Event e;
  e.id = NewId();
  e.type = type;
  std::string prefix = "{\"id\":\"" + e.id + "\",\"type\":\"" + std::string(type) +
                       "\",\"timestamp\":\"" + Timestamp(ts_us) + "\",\"body\":" + body_prefix;
  e.json = Padded(prefix, std::string(body_suffix) + "}");
  batch.events.push_back(std::move(e));
}

void WorkloadGenerator::AddCreates(Batch& batch, int64_t now_us) {
  Pending p;
  p.trace_id = NewId();
  p.span_id = NewId();
  p.generation_id = NewId();
  p.model = kModels[counter_ % 2];
  p.start_us = now_us;
  const auto& names = TraceNames();
  std::uniform_int_distribution<int> user(0, options_.users - 1);
  std::string ts = Timestamp(now_us);
  std::string trace = "{\"id\":\"" + p.trace_id + "\",\"timestamp\":\"" + ts + "\",\"name\":\"" +
                      names[rng_() % names.size()] + "\",\"userId\":\"" + UserId(user(rng_)) +
                      "\",";
  // Half of the traces belong to a session of about four traces.
  if (counter_ % 2 == 0) {
    trace += "\"sessionId\":\"sess-" + std::to_string(options_.seed) + "-" +
             std::to_string(counter_ / 8) + "\",";
  }
  trace +=
      "\"release\":\"v1.4.2\",\"version\":\"3\",\"metadata\":{\"tenant\":\"acme\",\"region\":"
      "\"eu-west-1\"},\"tags\":[\"rag\",\"beta\"],\"environment\":\"production\",\"input\":{"
      "\"question\":\"";
  AddEvent(batch, "trace-create", now_us, trace, "\"}}");
  AddEvent(batch, "span-create", now_us + 1000,
           "{\"id\":\"" + p.span_id + "\",\"traceId\":\"" + p.trace_id +
               "\",\"name\":\"retrieve\",\"startTime\":\"" + Timestamp(now_us + 1000) +
               "\",\"environment\":\"production\",\"metadata\":{\"index\":\"kb-v3\"},\"input\":{"
               "\"query\":\"",
           "\"}}");
  AddEvent(batch, "generation-create", now_us + 2000,
           "{\"id\":\"" + p.generation_id + "\",\"traceId\":\"" + p.trace_id +
               "\",\"parentObservationId\":\"" + p.span_id +
               "\",\"name\":\"answer\",\"startTime\":\"" + Timestamp(now_us + 2000) +
               "\",\"model\":\"" + p.model +
               "\",\"modelParameters\":{\"temperature\":\"0.1\",\"max_tokens\":1024},"
               "\"promptName\":\"support-answer\",\"promptVersion\":7,\"environment\":"
               "\"production\",\"input\":[{\"role\":\"system\",\"content\":\"You are a helpful "
               "support assistant.\"},{\"role\":\"user\",\"content\":\"",
           "\"}]}");
  batch.observations_created += 2;
  batch.new_trace_ids.push_back(p.trace_id);
  pending_.push_back(std::move(p));
  AddExtraEvent(batch, pending_.back(), now_us + 3000);
  ++counter_;
}

void WorkloadGenerator::AddExtraEvent(Batch& batch, const Pending& p, int64_t now_us) {
  AddEvent(batch, "event-create", now_us,
           "{\"id\":\"" + NewId() + "\",\"traceId\":\"" + p.trace_id +
               "\",\"parentObservationId\":\"" + p.generation_id +
               "\",\"name\":\"cache-miss\",\"startTime\":\"" + Timestamp(now_us) +
               "\",\"level\":\"WARNING\",\"statusMessage\":\"semantic cache miss\","
               "\"environment\":\"production\",\"metadata\":{\"note\":\"",
           "\"}}");
  batch.observations_created += 1;
}

void WorkloadGenerator::AddUpdates(Batch& batch, const Pending& p, int64_t now_us) {
  std::uniform_int_distribution<int> tokens(50, 2000);
  int in = tokens(rng_), out = tokens(rng_) / 4;
  AddEvent(batch, "span-update", now_us,
           "{\"id\":\"" + p.span_id + "\",\"traceId\":\"" + p.trace_id + "\",\"endTime\":\"" +
               Timestamp(now_us) +
               "\",\"environment\":\"production\",\"output\":[{\"doc_id\":\"kb-12\",\"score\":0.83,"
               "\"text\":\"",
           "\"}]}");
  AddEvent(batch, "generation-update", now_us + 1000,
           "{\"id\":\"" + p.generation_id + "\",\"traceId\":\"" + p.trace_id + "\",\"endTime\":\"" +
               Timestamp(now_us + 1000) + "\",\"completionStartTime\":\"" +
               Timestamp(p.start_us + 400000) +
               "\",\"usageDetails\":{\"input\":" + std::to_string(in) +
               ",\"output\":" + std::to_string(out) + ",\"total\":" + std::to_string(in + out) +
               "},\"level\":\"DEFAULT\",\"environment\":\"production\",\"output\":{\"role\":"
               "\"assistant\",\"content\":\"",
           "\"}}");
  AddEvent(batch, "trace-create", now_us + 2000,
           "{\"id\":\"" + p.trace_id + "\",\"environment\":\"production\",\"output\":\"", "\"}");
  AddEvent(batch, "score-create", now_us + 3000,
           "{\"id\":\"" + NewId() + "\",\"traceId\":\"" + p.trace_id + "\",\"observationId\":\"" +
               p.generation_id +
               "\",\"name\":\"helpfulness\",\"value\":0.9,\"dataType\":\"NUMERIC\","
               "\"environment\":\"production\",\"comment\":\"",
           "\"}");
}

Batch WorkloadGenerator::Next(bool new_traces) {
  Batch batch;
  batch.events.reserve(static_cast<size_t>(options_.events_per_batch));
  int64_t now = NowMicros();
  std::vector<Pending> previous = std::move(pending_);
  pending_.clear();
  for (const Pending& p : previous) AddUpdates(batch, p, now);
  if (!new_traces) return batch;
  const size_t limit = static_cast<size_t>(options_.events_per_batch);
  for (int i = 0; i < options_.new_traces_per_batch && batch.events.size() + 4 <= limit; ++i) {
    AddCreates(batch, now + 10 * i);
  }
  // Fill up with more events on the new traces (round-robin).
  for (size_t i = 0; batch.events.size() < limit && !pending_.empty(); ++i) {
    AddExtraEvent(batch, pending_[i % pending_.size()], now + 5000 + static_cast<int64_t>(i));
  }
  return batch;
}

std::string WorkloadGenerator::Body(const Batch& batch) {
  size_t size = 16;
  for (const Event& e : batch.events) size += e.json.size() + 1;
  std::string out;
  out.reserve(size);
  out.append("{\"batch\":[");
  for (size_t i = 0; i < batch.events.size(); ++i) {
    if (i) out.push_back(',');
    out.append(batch.events[i].json);
  }
  out.append("]}");
  return out;
}

}  // namespace loupe::bench
