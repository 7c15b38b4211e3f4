// Payload fields (input, output) are stored in frames of their own beside the
// rest of an entity's state: an update that leaves a payload unchanged
// carries its compressed frame over byte for byte, and every read still sees
// the merged values, whatever order the events came in.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "boost/json.hpp"
#include "common/hash.h"
#include "common/time_util.h"
#include "ingest/batch_decoder.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/sqlite_event_store.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr const char* kProject = "proj-payloads";
constexpr int64_t kBase = 1743501600000;  // 2025-04-01T10:00:00Z

std::string Text(const std::string& seed, size_t bytes) {
  std::string out;
  for (int i = 0; out.size() < bytes; ++i)
    out += seed + " " + std::to_string(i * 7919 % 1000) + " ";
  return out;
}

// A stored state blob taken apart: its kind byte and, for 'p', its frames.
struct Blob {
  char kind = 0;
  std::vector<std::string> frames;
};

Blob Split(const std::string& blob) {
  Blob out;
  if (blob.empty()) return out;
  out.kind = blob[0];
  if (out.kind != 'p') return out;
  size_t pos = 1;
  auto varint = [&]() {
    uint64_t v = 0;
    for (int shift = 0; pos < blob.size(); shift += 7) {
      auto byte = static_cast<uint8_t>(blob[pos++]);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) break;
    }
    return v;
  };
  pos += varint();  // the rest of the state
  while (pos < blob.size()) {
    uint64_t n = varint();
    out.frames.push_back(blob.substr(pos, n));
    pos += n;
  }
  return out;
}

class EventStorePayloadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("loupe-payloads-test-" + NewUuid());
    std::filesystem::create_directories(dir_);
    SqliteEventStoreOptions opts;
    opts.path = (dir_ / "events.db").string();
    auto s = OpenSqliteEventStore(opts, nullptr);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Write(const char* type, json::object body, int64_t at_ms) {
    DecodedBatch batch;
    json::object e{{"id", "ev-" + std::to_string(next_event_++)},
                   {"type", type},
                   {"timestamp", FormatIsoMillis(at_ms)},
                   {"body", std::move(body)}};
    DecodeEvent(json::value(std::move(e)), DecodeOptions{}, &batch);
    ASSERT_TRUE(batch.errors.empty()) << batch.errors.front().message;
    ASSERT_TRUE(store_->Write(kProject, std::move(batch.events)).ok());
  }
  ObservationRecord Get(const std::string& id) {
    auto r = store_->GetObservation(kProject, id);
    EXPECT_TRUE(r.ok() && r->has_value()) << id;
    return r.ok() && r->has_value() ? **r : ObservationRecord{};
  }
  std::string StateOf(const std::string& table, const std::string& entity_table,
                      const std::string& id) {
    auto db = sqlite::Db::Open((dir_ / "events.db").string(), true);
    EXPECT_TRUE(db.ok()) << db.status();
    if (!db.ok()) return {};
    auto st = (*db)->Prepare("SELECT s.state FROM " + table + " s JOIN " + entity_table +
                             " e ON e.rowid = s.rowid WHERE e.id = ?");
    EXPECT_TRUE(st.ok()) << st.status();
    if (!st.ok()) return {};
    (*st)->Bind(1, id);
    auto row = (*st)->Step();
    EXPECT_TRUE(row.ok() && *row) << id;
    return row.ok() && *row ? std::string((*st)->Blob(0)) : std::string();
  }
  void SetState(const std::string& id, const std::string& blob) {
    auto db = sqlite::Db::Open((dir_ / "events.db").string(), false);
    ASSERT_TRUE(db.ok()) << db.status();
    auto st = (*db)->Prepare(
        "UPDATE observation_state SET state = ? WHERE rowid = (SELECT rowid FROM observations "
        "WHERE id = ?)");
    ASSERT_TRUE(st.ok()) << st.status();
    (*st)->BindBlob(1, blob).Bind(2, id);
    ASSERT_TRUE((*st)->Run().ok());
  }

  std::filesystem::path dir_;
  std::unique_ptr<EventStore> store_;
  int next_event_ = 0;
};

TEST_F(EventStorePayloadsTest, UpdateCarriesTheUnchangedInputFrameOver) {
  const std::string input = Text("question", 3000);
  const std::string output = Text("answer", 3000);
  Write("generation-create",
        json::object{{"id", "gen-1"},
                     {"traceId", "t-1"},
                     {"name", "answer"},
                     {"startTime", FormatIsoMillis(kBase)},
                     {"input", {{"q", input}}}},
        kBase);
  const Blob created = Split(StateOf("observation_state", "observations", "gen-1"));
  ASSERT_EQ(created.kind, 'p');
  ASSERT_EQ(created.frames.size(), 1u);

  Write("generation-update",
        json::object{{"id", "gen-1"},
                     {"traceId", "t-1"},
                     {"output", output},
                     {"endTime", FormatIsoMillis(kBase + 500)}},
        kBase + 500);
  const Blob updated = Split(StateOf("observation_state", "observations", "gen-1"));
  ASSERT_EQ(updated.kind, 'p');
  ASSERT_EQ(updated.frames.size(), 2u);
  EXPECT_EQ(updated.frames[0], created.frames[0]);  // the input's frame, not compressed again

  ObservationRecord o = Get("gen-1");
  EXPECT_EQ(o.input, json::value({{"q", input}}));
  EXPECT_EQ(o.output, json::value(output));
  EXPECT_EQ(o.end_time_ms, kBase + 500);
  EXPECT_EQ(o.name, "answer");
}

TEST_F(EventStorePayloadsTest, HeldPayloadsMergeInAnyOrder) {
  // The same four events, in two orders across separate writes: the later
  // input wins over the held earlier one, and an older input loses to it.
  const std::string early = Text("early", 2000), late = Text("late", 2000);
  const std::string output = Text("out", 2000);
  struct Event {
    const char* type;
    json::object body;
    int64_t at;
  };
  auto events = [&](const std::string& id) {
    return std::vector<Event>{
        {"span-create",
         {{"id", id},
          {"traceId", "t-2"},
          {"name", "s"},
          {"startTime", FormatIsoMillis(kBase)},
          {"input", early}},
         kBase},
        {"span-update", {{"id", id}, {"traceId", "t-2"}, {"output", output}}, kBase + 10},
        {"span-update", {{"id", id}, {"traceId", "t-2"}, {"input", late}}, kBase + 20},
        {"span-update", {{"id", id}, {"traceId", "t-2"}, {"input", ""}}, kBase + 30},
    };
  };
  for (auto& e : events("forward")) Write(e.type, e.body, e.at);
  auto backward = events("backward");
  for (auto it = backward.rbegin(); it != backward.rend(); ++it) Write(it->type, it->body, it->at);

  for (const char* id : {"forward", "backward"}) {
    ObservationRecord o = Get(id);
    EXPECT_EQ(o.input, json::value(late)) << id;  // an empty input never wins
    EXPECT_EQ(o.output, json::value(output)) << id;
    EXPECT_EQ(o.name, "s") << id;
    // The overwritten early input left no frame behind.
    const Blob b = Split(StateOf("observation_state", "observations", id));
    EXPECT_EQ(b.kind, 'p') << id;
    size_t bytes = 0;
    for (const auto& f : b.frames) bytes += f.size();
    EXPECT_LE(b.frames.size(), 2u) << id;
    EXPECT_GT(bytes, 0u) << id;
  }
}

TEST_F(EventStorePayloadsTest, StatesOfOlderBuildsReadAndMerge) {
  // Older builds stored the whole state as JSON ('j') or zstd ('z'); such a
  // state is read as it is and split into frames at its next update.
  Write("span-create",
        json::object{{"id", "old-1"}, {"traceId", "t-3"}, {"startTime", FormatIsoMillis(kBase)}},
        kBase);
  const std::string input = Text("stored", 1500);
  SetState("old-1", "j" + json::serialize(
                              json::object{{"f",
                                            {{"id", json::array{"old-1"}},
                                             {"traceId", json::array{"t-3"}},
                                             {"type", json::array{"SPAN"}},
                                             {"name", json::array{"legacy"}},
                                             {"startTime", json::array{kBase}},
                                             {"input", json::array{input, kBase * 1000, 0, 1}}}}}));
  EXPECT_EQ(Get("old-1").input, json::value(input));
  EXPECT_EQ(Get("old-1").name, "legacy");

  const std::string output = Text("new", 1500);
  Write("span-update", json::object{{"id", "old-1"}, {"traceId", "t-3"}, {"output", output}},
        kBase + 100);
  ObservationRecord o = Get("old-1");
  EXPECT_EQ(o.input, json::value(input));
  EXPECT_EQ(o.output, json::value(output));
  EXPECT_EQ(o.name, "legacy");
  EXPECT_EQ(Split(StateOf("observation_state", "observations", "old-1")).kind, 'p');
}

TEST_F(EventStorePayloadsTest, SmallPayloadsStayInTheState) {
  Write("trace-create",
        json::object{{"id", "trace-small"}, {"name", "n"}, {"input", "hi"}, {"output", "ok"}},
        kBase);
  EXPECT_EQ(Split(StateOf("trace_state", "traces", "trace-small")).kind, 'j');
  auto t = store_->GetTrace(kProject, "trace-small");
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ((*t)->input, json::value("hi"));
  EXPECT_EQ((*t)->output, json::value("ok"));
}

}  // namespace
}  // namespace loupe
