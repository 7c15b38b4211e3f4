#include "storage/sqlite/sqlite_event_store.h"

#include <lz4.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "common/hash.h"
#include "common/json_parse.h"
#include "common/log.h"
#include "common/memory.h"
#include "common/status_macros.h"
#include "common/time_util.h"
#include "ingest/materialize.h"
#include "query/latency_histogram.h"
#include "query/metrics.h"
#include "storage/sqlite/recent_ids.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/stmt_util.h"
#include "storage/sqlite/wal_buffer_vfs.h"

namespace loupe {
namespace {

namespace json = boost::json;
using sqlite::Db;
using sqlite::Stmt;

// Pages the event store's WAL may hold before they are copied back into the
// database (SQLite's default is 1,000; 4 KB pages, so ~80 MB).
constexpr int kCheckpointPages = 20000;
// The writer checkpoints itself only if the WAL grows this long anyway (the
// checkpointer fell behind, or readers kept it from catching up).
constexpr int kWriterCheckpointPages = 4 * kCheckpointPages;

// State blobs: 'j' + JSON, or 'z' + zstd(JSON) once worth compressing: the
// whole EntityState. Or 'p', a state whose payload fields are held apart
// (EntityState::held()) in frames of their own:
//   'p' varint(n) <n bytes: the state as 'j'/'z'> { varint(m) <m bytes: a frame> }
// where a frame is zstd of a JSON object {field: value}. Merging an event
// into a stored state then reads only the small part; a payload the event
// does not change is copied as compressed bytes rather than decompressed,
// parsed, printed and compressed again (the create-then-update pattern of
// the SDKs wrote every input twice).
constexpr size_t kCompressAbove = 512;
// Payload values together at least this long get a frame of their own.
constexpr size_t kFrameAbove = 512;

std::string Compress(std::string_view text) {
  // One context per thread: ZSTD_compress() would allocate and initialize a
  // fresh context (hundreds of KB) for every row.
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(),
                                                                       ZSTD_freeCCtx);
  std::string out(ZSTD_compressBound(text.size()), '\0');
  size_t n = ZSTD_compressCCtx(cctx.get(), out.data(), out.size(), text.data(), text.size(), 1);
  if (ZSTD_isError(n)) return {};
  out.resize(n);
  return out;
}

absl::StatusOr<std::string> Decompress(std::string_view body) {
  unsigned long long size = ZSTD_getFrameContentSize(body.data(), body.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ull << 31)) {
    return absl::DataLossError("corrupt compressed state");
  }
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(),
                                                                       ZSTD_freeDCtx);
  std::string out(size, '\0');
  size_t n = ZSTD_decompressDCtx(dctx.get(), out.data(), out.size(), body.data(), body.size());
  if (ZSTD_isError(n)) return absl::DataLossError("corrupt compressed state");
  out.resize(n);
  return out;
}

std::string EncodeText(const std::string& json_text) {
  if (json_text.size() > kCompressAbove) {
    std::string z = Compress(json_text);
    if (!z.empty()) return "z" + z;
  }
  return "j" + json_text;
}

// 'l' + the text's length (4 bytes, little-endian) + an LZ4 block: for the
// small rest of a state beside its payload frames, where LZ4 takes a
// fraction of zstd's fixed cost per call.
std::string EncodeTextFast(const std::string& json_text) {
  if (json_text.size() <= kCompressAbove || json_text.size() > LZ4_MAX_INPUT_SIZE) {
    return "j" + json_text;
  }
  const int bound = LZ4_compressBound(static_cast<int>(json_text.size()));
  std::string out(5 + bound, '\0');
  out[0] = 'l';
  const auto size = static_cast<uint32_t>(json_text.size());
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<char>((size >> (8 * i)) & 0xff);
  const int n = LZ4_compress_default(json_text.data(), out.data() + 5,
                                     static_cast<int>(json_text.size()), bound);
  if (n <= 0) return "j" + json_text;
  out.resize(5 + n);
  return out;
}

absl::StatusOr<std::string> DecodeText(std::string_view blob) {
  if (blob.empty()) return std::string();
  if (blob[0] == 'j') return std::string(blob.substr(1));
  if (blob[0] == 'z') return Decompress(blob.substr(1));
  if (blob[0] == 'l' && blob.size() >= 5) {
    uint32_t size = 0;
    for (int i = 0; i < 4; ++i) size |= uint32_t{static_cast<uint8_t>(blob[1 + i])} << (8 * i);
    if (size > static_cast<uint32_t>(LZ4_MAX_INPUT_SIZE)) {
      return absl::DataLossError("corrupt compressed state");
    }
    std::string out(size, '\0');
    const int n = LZ4_decompress_safe(blob.data() + 5, out.data(),
                                      static_cast<int>(blob.size() - 5), static_cast<int>(size));
    if (n < 0 || static_cast<uint32_t>(n) != size) {
      return absl::DataLossError("corrupt compressed state");
    }
    return out;
  }
  return absl::DataLossError("unknown state encoding");
}

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view& in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

// Splits a state blob into the state's own encoding and its payload frames
// (views into `blob`).
absl::Status SplitStateBlob(std::string_view blob, std::string_view* head,
                            std::vector<std::string_view>* frames) {
  frames->clear();
  if (blob.empty() || blob[0] != 'p') {
    *head = blob;
    return absl::OkStatus();
  }
  std::string_view in = blob.substr(1);
  uint64_t n = 0;
  if (!GetVarint(in, &n) || n > in.size()) return absl::DataLossError("corrupt state frames");
  *head = in.substr(0, n);
  in.remove_prefix(n);
  while (!in.empty()) {
    if (!GetVarint(in, &n) || n > in.size()) return absl::DataLossError("corrupt state frames");
    frames->push_back(in.substr(0, n));
    in.remove_prefix(n);
  }
  return absl::OkStatus();
}

// Payload frames compressed while preparing one request, by their text. A
// trace made from an OpenTelemetry root span carries that span's input and
// output: the span's frame is then the trace's, compressed once. Only the
// traces' frames are remembered (a request's traces are few beside its
// spans), and a frame is reused only for exactly the same text.
class FrameCache {
 public:
  enum Use { kRemember, kLookUp };

  const std::string* Find(const std::string& text) const {
    auto it = frames_.find(text);
    return it == frames_.end() ? nullptr : &it->second;
  }
  void Remember(std::string text, const std::string& frame) {
    frames_.emplace(std::move(text), frame);
  }

 private:
  absl::flat_hash_map<std::string, std::string> frames_;
};

// Encodes `state` for storage, holding its payload fields apart. Fields it
// already holds refer to `old_frames` (the frames of the blob it was read
// from), which are carried over as they are. Updates the state's held
// fields to the new blob's frame numbers.
std::string EncodeState(EntityState& state, const std::vector<std::string>& old_frames,
                        FrameCache* cache = nullptr, FrameCache::Use use = FrameCache::kLookUp) {
  std::vector<std::string_view> frames;
  std::string fresh_frame;
  std::map<int, int> renumbered;  // old frame -> new frame
  std::vector<std::pair<std::string, int>> held(state.held().begin(), state.held().end());
  for (auto& [field, old] : held) {
    if (old < 0 || static_cast<size_t>(old) >= old_frames.size()) continue;  // checked on read
    auto [it, added] = renumbered.emplace(old, static_cast<int>(frames.size()));
    if (added) frames.push_back(old_frames[old]);
    state.Hold(field, it->second);
  }
  // The payloads not held yet, as the JSON object a frame holds.
  std::string text = "{";
  std::vector<const char*> fresh;
  for (const char* field : {"input", "output"}) {
    if (state.held().count(field)) continue;
    const json::value* v = state.Get(field);
    if (!v || v->is_null()) continue;
    if (!fresh.empty()) text += ',';
    text += '"';
    text += field;
    text += "\":";
    text += json::serialize(*v);
    fresh.push_back(field);
  }
  text += '}';
  if (!fresh.empty() && text.size() >= kFrameAbove) {
    const std::string* cached = cache ? cache->Find(text) : nullptr;
    if (cached) {
      fresh_frame = *cached;
    } else {
      fresh_frame = Compress(text);
      if (cache && use == FrameCache::kRemember && !fresh_frame.empty()) {
        cache->Remember(std::move(text), fresh_frame);
      }
    }
    if (!fresh_frame.empty()) {
      for (const char* field : fresh) state.Hold(field, static_cast<int>(frames.size()));
      frames.push_back(fresh_frame);
    }
  }
  if (frames.empty()) return EncodeText(state.Serialize());
  // Without its payloads a state is mostly ids, times and small maps, for
  // which zstd's fixed cost per call (~5 µs here) outweighs its better ratio.
  std::string head = EncodeTextFast(state.Serialize());
  std::string out = "p";
  PutVarint(out, head.size());
  out += head;
  for (std::string_view f : frames) {
    PutVarint(out, f.size());
    out.append(f.data(), f.size());
  }
  return out;
}

// Reads a stored state. Held payload fields are resolved (the state is
// complete) unless `frames` is given, which then receives copies of the
// blob's frames for EncodeState(), or `payloads` is kSkip.
absl::StatusOr<EntityState> StateFromBlob(std::string_view blob, json::storage_ptr sp = {},
                                          std::vector<std::string>* frames = nullptr,
                                          Payloads payloads = Payloads::kInclude) {
  std::string_view head;
  std::vector<std::string_view> views;
  RETURN_IF_ERROR(SplitStateBlob(blob, &head, &views));
  ASSIGN_OR_RETURN(std::string text, DecodeText(head));
  ASSIGN_OR_RETURN(EntityState state, EntityState::Parse(text, sp));
  for (const auto& [field, frame] : state.held()) {
    if (frame < 0 || static_cast<size_t>(frame) >= views.size()) {
      return absl::DataLossError("corrupt entity state: missing payload frame");
    }
  }
  if (frames) frames->assign(views.begin(), views.end());
  if (frames || payloads == Payloads::kSkip) return state;
  std::map<int, json::value> decoded;
  std::vector<std::pair<std::string, int>> held(state.held().begin(), state.held().end());
  for (const auto& [field, frame] : held) {
    auto it = decoded.find(frame);
    if (it == decoded.end()) {
      ASSIGN_OR_RETURN(std::string frame_text, Decompress(views[frame]));
      boost::system::error_code ec;
      json::value v = ParseStoredJson(frame_text, ec, sp);
      if (ec || !v.is_object()) return absl::DataLossError("corrupt payload frame");
      it = decoded.emplace(frame, std::move(v)).first;
    }
    const json::value* value = it->second.as_object().if_contains(field);
    if (!value) return absl::DataLossError("corrupt payload frame");
    state.Resolve(field, *value);
  }
  return state;
}

// Whether the JSON text of a stored state (its own and its payload frames')
// contains `needle`, ignoring case: a cheap test before parsing it.
absl::StatusOr<bool> StateTextContains(std::string_view blob, const std::string& needle) {
  std::string_view head;
  std::vector<std::string_view> frames;
  RETURN_IF_ERROR(SplitStateBlob(blob, &head, &frames));
  ASSIGN_OR_RETURN(std::string text, DecodeText(head));
  if (strcasestr(text.c_str(), needle.c_str()) != nullptr) return true;
  for (std::string_view frame : frames) {
    ASSIGN_OR_RETURN(std::string frame_text, Decompress(frame));
    if (strcasestr(frame_text.c_str(), needle.c_str()) != nullptr) return true;
  }
  return false;
}

std::string TagsText(const std::vector<std::string>& tags) {
  json::array a;
  for (const auto& t : tags) a.emplace_back(t);
  return json::serialize(a);
}

int64_t HourOf(int64_t ms) { return ms - (ms % 3600000 + 3600000) % 3600000; }
int64_t DayOf(int64_t ms) { return ms - (ms % 86400000 + 86400000) % 86400000; }

// One pending Write() or maintenance job.
// An entity of one request, merged and priced on the request's own thread
// as if it were new. When the writer finds no stored state for it, the row
// and blob are used as they are; otherwise the writer merges the events into
// the stored state itself. This moves most CPU work off the single writer.
struct PreparedEntity {
  PreparedEntity() = default;
  explicit PreparedEntity(json::storage_ptr sp) : state(std::move(sp)) {}

  EntityKind kind = EntityKind::kTrace;
  std::string id;
  std::vector<const IngestEvent*> events;  // sorted; point into WriteRequest::events
  EntityState state;
  std::vector<std::string> frames;  // of the stored state, for its held fields
  std::string blob;                 // EncodeState(state, frames)
  std::variant<TraceRecord, ObservationRecord, ScoreRecord> record;
  // The stored row the entity was merged into (read on a reader connection),
  // or none when it was not stored yet. The writer uses the prepared result
  // only if the row is still at this revision; otherwise it merges again.
  struct Base {
    int64_t rowid = 0;
    int64_t rev = 0;
    bool has_state = false;
  };
  std::optional<Base> base;
  // The record before this request's events, for aggregate and rollup deltas.
  std::optional<std::variant<TraceRecord, ObservationRecord, ScoreRecord>> before;
};

struct WriteRequest {
  std::string project_id;
  std::vector<IngestEvent> events;
  // The prepared states' JSON (thousands of small nodes per request) is
  // allocated here and released in one piece; declared before `prepared`
  // so that it outlives everything allocated from it.
  json::monotonic_resource state_arena;
  std::vector<PreparedEntity> prepared;
  std::function<absl::Status(Db&)> job;  // set for non-ingest work (deletes)
  std::promise<absl::Status> done;
};

// Rollup key: (project, hour, environment, type, model); for type TRACE the
// last element is the trace name.
using RollupKey = std::tuple<int64_t, int64_t, std::string, std::string, std::string>;
// Latency histogram key: a rollup key and a latency bucket; the value is a
// count delta.
using LatencyKey = std::tuple<int64_t, int64_t, std::string, std::string, std::string, int>;
using LatencyDeltas = std::map<LatencyKey, int64_t>;
// Daily user rollup key: (project, day, environment, user id).
using UserKey = std::tuple<int64_t, int64_t, std::string, std::string>;
struct UserDelta {
  int64_t count = 0;
  double cost = 0;
};
using UserDeltas = std::map<UserKey, UserDelta>;
struct RollupDelta {
  int64_t count = 0;
  double cost = 0;
  int64_t input_tokens = 0, output_tokens = 0, total_tokens = 0;
};

// The event tables whose rows are found by id, in the order of their
// RecentIds in the store, and their id index tables (schema migration 7).
enum IdTable : int { kTraceIds = 0, kObservationIds = 1, kScoreIds = 2 };
// An entity's kind is its table's index (the writer converts one to the other).
static_assert(static_cast<int>(EntityKind::kTrace) == kTraceIds &&
              static_cast<int>(EntityKind::kObservation) == kObservationIds &&
              static_cast<int>(EntityKind::kScore) == kScoreIds);
constexpr int kIdTables = 3;
constexpr const char* kIdTableRows[kIdTables] = {"traces", "observations", "scores"};
constexpr const char* kIdTableState[kIdTables] = {"trace_state", "observation_state",
                                                  "score_state"};
constexpr const char* kIdTableIndex[kIdTables] = {"trace_ids", "observation_ids", "score_ids"};

// The rows of a table whose (project, id hash) is (?, ?), for
// "rowid IN " + kIdRows[table]: those merged into its id index and the one
// not merged yet (loupe_recent_row(), registered on every connection). Bound
// by BindIdRows.
constexpr const char* kIdRows[kIdTables] = {
    "(SELECT row FROM trace_ids WHERE project = ? AND id_hash = ? UNION ALL "
    "SELECT loupe_recent_row(0, ?, ?))",
    "(SELECT row FROM observation_ids WHERE project = ? AND id_hash = ? UNION ALL "
    "SELECT loupe_recent_row(1, ?, ?))",
    "(SELECT row FROM score_ids WHERE project = ? AND id_hash = ? UNION ALL "
    "SELECT loupe_recent_row(2, ?, ?))"};
int BindIdRows(Stmt& st, int i, int64_t project, int64_t id_hash) {
  st.Bind(i, project).Bind(i + 1, id_hash).Bind(i + 2, project).Bind(i + 3, id_hash);
  return i + 4;
}

// The row of a trace by (project, id), for "trace_row = " + TraceRowOf(); bound
// by BindTraceRowOf.
const std::string& TraceRowOf() {
  static const std::string* const sql =
      new std::string(std::string("(SELECT tr.rowid FROM traces tr WHERE tr.rowid IN ") +
                      kIdRows[kTraceIds] + " AND tr.id = ?)");
  return *sql;
}
void BindTraceRowOf(Stmt& st, int& i, const std::string& trace_id, int64_t project) {
  i = BindIdRows(st, i, project, IdHash64(trace_id));
  st.Bind(i++, trace_id);
}

// Rows of the traces a commit group has found or created, by (project, id).
using TraceRows = std::map<std::pair<int64_t, std::string>, int64_t>;

struct TraceDelta {
  int64_t count = 0;
  double cost = 0;
  std::optional<int64_t> min_start, max_end;
};

int64_t UsageSum(const std::map<std::string, int64_t>& usage, std::string_view prefix) {
  int64_t sum = 0;
  for (const auto& [k, v] : usage) {
    if (k.rfind(prefix, 0) == 0) sum += v;
  }
  return sum;
}

double CostSum(const std::map<std::string, double>& cost, std::string_view prefix) {
  double sum = 0;
  for (const auto& [k, v] : cost) {
    if (k.rfind(prefix, 0) == 0) sum += v;
  }
  return sum;
}

int64_t UsageTotal(const std::map<std::string, int64_t>& usage) {
  auto it = usage.find("total");
  return it != usage.end() ? it->second : 0;
}

// SQL for validated filter conditions. `columns` maps a filter column id to
// an SQL expression over the listed table; unknown ids cannot occur because
// ParseFilterParam checked them against the same view.
void AppendFilters(const std::vector<FilterCondition>& filters,
                   const std::map<std::string, std::string>& columns, std::string* where,
                   std::vector<std::function<void(Stmt&, int&)>>* binds) {
  for (const FilterCondition& f : filters) {
    auto it = columns.find(f.column);
    if (it == columns.end()) continue;
    const std::string& col = it->second;
    auto bind_text = [binds](std::string v) {
      binds->push_back([v = std::move(v)](Stmt& s, int& i) { s.Bind(i++, v); });
    };
    auto placeholders = [](size_t n) {
      std::string p;
      for (size_t k = 0; k < n; ++k) p += k ? ",?" : "?";
      return p;
    };
    switch (f.type) {
      case FilterType::kDatetime:
        *where += " AND " + col + " " + f.op + " ?";
        binds->push_back([v = f.time_ms](Stmt& s, int& i) { s.Bind(i++, v); });
        break;
      case FilterType::kNumber:
        *where += " AND " + col + " " + f.op + " ?";
        binds->push_back([v = f.number_value](Stmt& s, int& i) { s.Bind(i++, v); });
        break;
      case FilterType::kString:
        if (f.op == "=") {
          *where += " AND " + col + " = ?";
          bind_text(f.string_value);
        } else if (f.op == "contains") {
          *where += " AND instr(" + col + ", ?) > 0";
          bind_text(f.string_value);
        } else if (f.op == "does not contain") {
          *where += " AND (" + col + " IS NULL OR instr(" + col + ", ?) = 0)";
          bind_text(f.string_value);
        } else if (f.op == "starts with") {
          *where += " AND substr(" + col + ", 1, length(?)) = ?";
          bind_text(f.string_value);
          bind_text(f.string_value);
        } else {  // ends with
          *where += " AND substr(" + col + ", -length(?)) = ?";
          bind_text(f.string_value);
          bind_text(f.string_value);
        }
        break;
      case FilterType::kStringOptions:
        if (f.values.empty()) {
          if (f.op == "any of") *where += " AND 0";
          break;
        }
        if (f.op == "any of") {
          *where += " AND " + col + " IN (" + placeholders(f.values.size()) + ")";
        } else {
          *where += " AND (" + col + " IS NULL OR " + col + " NOT IN (" +
                    placeholders(f.values.size()) + "))";
        }
        for (const auto& v : f.values) bind_text(v);
        break;
      case FilterType::kArrayOptions: {
        if (f.values.empty()) {
          if (f.op == "any of") *where += " AND 0";
          break;
        }
        std::string in = "(" + placeholders(f.values.size()) + ")";
        if (f.op == "any of") {
          *where += " AND EXISTS (SELECT 1 FROM json_each(" + col + ") WHERE value IN " + in + ")";
        } else if (f.op == "none of") {
          *where +=
              " AND NOT EXISTS (SELECT 1 FROM json_each(" + col + ") WHERE value IN " + in + ")";
        } else {  // all of
          *where += " AND (SELECT COUNT(DISTINCT value) FROM json_each(" + col +
                    ") WHERE value IN " + in + ") = " + std::to_string(f.values.size());
        }
        for (const auto& v : f.values) bind_text(v);
        break;
      }
      case FilterType::kBoolean:
        *where += " AND " + col + (f.op == "=" ? " = ?" : " <> ?");
        binds->push_back([v = f.bool_value](Stmt& s, int& i) { s.Bind(i++, v ? 1 : 0); });
        break;
      case FilterType::kNull:
        *where += " AND " + col + (f.op == "is null" ? " IS NULL" : " IS NOT NULL");
        break;
    }
  }
}

// Restricts a keyset listing (time desc, id desc) to the rows after
// `keyset.after`.
void AppendKeyset(const KeysetRequest& keyset, const char* time_col, const char* id_col,
                  std::string* where, std::vector<std::function<void(Stmt&, int&)>>* binds) {
  if (!keyset.enabled || !keyset.after) return;
  *where +=
      std::string(" AND (") + time_col + " < ? OR (" + time_col + " = ? AND " + id_col + " < ?))";
  binds->push_back([p = *keyset.after](Stmt& s, int& i) {
    s.Bind(i++, p.time_ms);
    s.Bind(i++, p.time_ms);
    s.Bind(i++, p.id);
  });
}

const std::map<std::string, std::string>& TraceFilterSql() {
  static const std::map<std::string, std::string> kMap = {
      {"id", "t.id"},
      {"name", "t.name"},
      {"timestamp", "t.timestamp"},
      {"userId", "t.user_id"},
      {"sessionId", "t.session_id"},
      {"release", "t.release"},
      {"version", "t.version"},
      {"environment", "t.environment"},
      {"tags", "t.tags"},
      {"bookmarked", "t.bookmarked"},
      {"public", "t.public"},
      {"latency", "(COALESCE(t.max_end - t.min_start, 0) / 1000.0)"},
      {"totalCost", "t.total_cost"},
      {"observationCount", "t.obs_count"},
  };
  return kMap;
}

const std::map<std::string, std::string>& ObservationFilterSql() {
  static const std::map<std::string, std::string> kMap = {
      {"id", "o.id"},
      {"name", "o.name"},
      {"traceId", "o.trace_id"},
      {"type", "o.type"},
      {"level", "o.level"},
      {"environment", "o.environment"},
      {"model", "o.model"},
      {"providedModelName", "o.model"},
      {"version", "o.version"},
      {"parentObservationId", "o.parent_id"},
      {"startTime", "o.start_time"},
      {"endTime", "o.end_time"},
      {"latency", "((o.end_time - o.start_time) / 1000.0)"},
      {"totalCost", "o.total_cost"},
      {"inputTokens", "o.input_tokens"},
      {"outputTokens", "o.output_tokens"},
      {"totalTokens", "o.total_tokens"},
  };
  return kMap;
}

const std::map<std::string, std::string>& ScoreFilterSql() {
  static const std::map<std::string, std::string> kMap = {
      {"id", "s.id"},
      {"name", "s.name"},
      {"value", "s.value"},
      {"stringValue", "s.string_value"},
      {"source", "s.source"},
      {"dataType", "s.data_type"},
      {"timestamp", "s.timestamp"},
      {"environment", "s.environment"},
      {"traceId", "s.trace_id"},
      {"observationId", "s.observation_id"},
      {"sessionId", "s.session_id"},
      {"configId", "s.config_id"},
      // Not offered by the v2 `filter` parameter; the v3 list filters use them.
      {"queueId", "s.queue_id"},
      {"authorUserId", "s.author_user_id"},
      {"datasetRunId", "s.dataset_run_id"},
  };
  return kMap;
}

// How each metrics view maps onto the tables: the FROM clause, the time
// column, and SQL expressions for dimensions, measures and filter columns.
struct MetricsSql {
  std::string from;
  std::string where;  // view-specific restriction, after the project check
  std::string time;
  std::map<std::string, std::string> dims;
  std::map<std::string, std::string> measures;
  std::map<std::string, std::string> filters;
};

const MetricsSql& MetricsSqlFor(MetricsView view) {
  static const MetricsSql kTraces = {
      "traces t",
      "t.project = ? AND t.present = 1",
      "t.timestamp",
      {{"id", "t.id"},
       {"name", "t.name"},
       {"tags", "t.tags"},
       {"userId", "t.user_id"},
       {"sessionId", "t.session_id"},
       {"release", "t.release"},
       {"version", "t.version"},
       {"environment", "t.environment"},
       {"timestampMonth", "strftime('%Y-%m', t.timestamp / 1000, 'unixepoch')"}},
      {{"count", "1"},
       {"observationsCount", "t.obs_count"},
       {"scoresCount", "(SELECT COUNT(*) FROM scores s WHERE s.trace_row = t.rowid)"},
       {"uniqueUserIds", "t.user_id"},
       {"uniqueSessionIds", "t.session_id"},
       {"latency", "(t.max_end - t.min_start)"},
       {"totalTokens",
        "(SELECT SUM(o.total_tokens) FROM observations o WHERE o.trace_row = t.rowid)"},
       {"totalCost", "t.total_cost"}},
      {{"id", "t.id"},
       {"name", "t.name"},
       {"tags", "t.tags"},
       {"userId", "t.user_id"},
       {"sessionId", "t.session_id"},
       {"release", "t.release"},
       {"version", "t.version"},
       {"environment", "t.environment"},
       {"timestamp", "t.timestamp"}}};
  static const MetricsSql kObservations = {
      "observations o LEFT JOIN traces t ON t.rowid = o.trace_row",
      "o.project = ?",
      "o.start_time",
      {{"id", "o.id"},
       {"traceId", "o.trace_id"},
       {"traceName", "t.name"},
       {"environment", "o.environment"},
       {"parentObservationId", "o.parent_id"},
       {"type", "o.type"},
       {"name", "o.name"},
       {"level", "o.level"},
       {"version", "o.version"},
       {"providedModelName", "o.model"},
       {"promptName", "o.prompt_name"},
       {"promptVersion", "CAST(o.prompt_version AS TEXT)"},
       {"userId", "t.user_id"},
       {"sessionId", "t.session_id"},
       {"startTimeMonth", "strftime('%Y-%m', o.start_time / 1000, 'unixepoch')"}},
      {{"count", "1"},
       {"latency", "(o.end_time - o.start_time)"},
       {"streamingLatency", "(o.end_time - o.completion_start_time)"},
       {"timeToFirstToken", "(o.completion_start_time - o.start_time)"},
       {"inputTokens", "o.input_tokens"},
       {"outputTokens", "o.output_tokens"},
       {"totalTokens", "o.total_tokens"},
       {"outputTokensPerSecond",
        "(o.output_tokens * 1000.0 / NULLIF(o.end_time - o.start_time, 0))"},
       {"tokensPerSecond", "(o.total_tokens * 1000.0 / NULLIF(o.end_time - o.start_time, 0))"},
       {"inputCost", "o.input_cost"},
       {"outputCost", "o.output_cost"},
       {"totalCost", "o.total_cost"},
       {"countScores",
        "(SELECT COUNT(*) FROM scores s WHERE s.trace_row = o.trace_row AND "
        "s.observation_id = o.id)"}},
      {{"id", "o.id"},
       {"traceId", "o.trace_id"},
       {"traceName", "t.name"},
       {"environment", "o.environment"},
       {"parentObservationId", "o.parent_id"},
       {"type", "o.type"},
       {"name", "o.name"},
       {"level", "o.level"},
       {"version", "o.version"},
       {"providedModelName", "o.model"},
       {"promptName", "o.prompt_name"},
       {"userId", "t.user_id"},
       {"sessionId", "t.session_id"},
       {"startTime", "o.start_time"}}};
  auto scores = [](const char* data_type) {
    return MetricsSql{
        "scores s LEFT JOIN traces t ON t.rowid = s.trace_row LEFT JOIN observations o ON "
        "o.rowid IN (SELECT row FROM observation_ids WHERE project = s.project AND id_hash = "
        "s.observation_hash UNION ALL SELECT loupe_recent_row(1, s.project, "
        "s.observation_hash)) AND o.id = s.observation_id",
        std::string("s.project = ? AND s.data_type = '") + data_type + "'",
        "s.timestamp",
        {{"id", "s.id"},
         {"environment", "s.environment"},
         {"name", "s.name"},
         {"source", "s.source"},
         {"dataType", "s.data_type"},
         {"traceId", "s.trace_id"},
         {"configId", "s.config_id"},
         {"timestampMonth", "strftime('%Y-%m', s.timestamp / 1000, 'unixepoch')"},
         {"timestampDay", "strftime('%Y-%m-%d', s.timestamp / 1000, 'unixepoch')"},
         {"traceName", "t.name"},
         {"userId", "t.user_id"},
         {"sessionId", "t.session_id"},
         {"observationName", "o.name"},
         {"observationModelName", "o.model"},
         {"value", "CAST(s.value AS TEXT)"},
         {"stringValue", "s.string_value"}},
        {{"count", "1"}, {"value", "s.value"}},
        {{"id", "s.id"},
         {"environment", "s.environment"},
         {"name", "s.name"},
         {"source", "s.source"},
         {"dataType", "s.data_type"},
         {"traceId", "s.trace_id"},
         {"configId", "s.config_id"},
         {"traceName", "t.name"},
         {"userId", "t.user_id"},
         {"sessionId", "t.session_id"},
         {"value", "s.value"},
         {"stringValue", "s.string_value"},
         {"timestamp", "s.timestamp"}}};
  };
  static const MetricsSql kNumeric = scores("NUMERIC");
  static const MetricsSql kCategorical = scores("CATEGORICAL");
  static const MetricsSql kBoolean = scores("BOOLEAN");
  switch (view) {
    case MetricsView::kTraces:
      return kTraces;
    case MetricsView::kObservations:
      return kObservations;
    case MetricsView::kScoresNumeric:
      return kNumeric;
    case MetricsView::kScoresCategorical:
      return kCategorical;
    case MetricsView::kScoresBoolean:
      return kBoolean;
  }
  return kTraces;
}

class ReaderPool {
 public:
  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<Db> db) : pool_(pool), db_(std::move(db)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (db_) pool_->Release(std::move(db_));
    }
    Db& db() { return *db_; }

   private:
    ReaderPool* pool_;
    std::unique_ptr<Db> db_;
  };

  // Opens `n` read-only connections, each set up by `setup`.
  absl::Status Init(const std::string& path, int n, const std::function<absl::Status(Db&)>& setup) {
    for (int i = 0; i < n; ++i) {
      ASSIGN_OR_RETURN(auto db, Db::Open(path, true));
      RETURN_IF_ERROR(setup(*db));
      free_.push_back(std::move(db));
    }
    return absl::OkStatus();
  }

  Lease Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty(); });
    auto db = std::move(free_.back());
    free_.pop_back();
    used_since_release_ = true;
    return Lease(this, std::move(db));
  }

  void Clear() {
    std::lock_guard lock(mu_);
    free_.clear();
  }

  // Drops the page caches of the idle connections (leased ones keep theirs)
  // if any read ran since the last call.
  void ReleaseMemoryIfUsed() {
    std::lock_guard lock(mu_);
    if (!used_since_release_) return;
    for (auto& db : free_) sqlite3_db_release_memory(db->raw());
    used_since_release_ = false;
  }

 private:
  void Release(std::unique_ptr<Db> db) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(std::move(db));
    }
    cv_.notify_one();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Db>> free_;
  bool used_since_release_ = false;  // guarded by mu_
};

// loupe_latency_bucket(ms): LatencyBucket() as an SQL function (NULL for NULL).
void LatencyBucketSql(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc != 1 || sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  sqlite3_result_int(ctx, LatencyBucket(sqlite3_value_double(argv[0])));
}

// True when `sql` names a column of table alias `alias` ("t.name").
bool UsesAlias(std::string_view sql, char alias) {
  for (size_t i = 0; i + 1 < sql.size(); ++i) {
    if (sql[i] != alias || sql[i + 1] != '.') continue;
    const char before = i == 0 ? ' ' : sql[i - 1];
    if (!std::isalnum(static_cast<unsigned char>(before)) && before != '_') return true;
  }
  return false;
}

class SqliteEventStore final : public EventStore {
 public:
  SqliteEventStore(SqliteEventStoreOptions options, const PriceTable* prices)
      : options_(std::move(options)), prices_(prices) {}

  ~SqliteEventStore() override { Close(); }

  absl::Status Init() {
    // The writer's WAL writes are gathered into one write per commit
    // (wal_buffer_vfs.h): two system calls per page were a third of its time.
    ASSIGN_OR_RETURN(writer_db_, Db::Open(options_.path, false, sqlite::WalBufferVfsName()));
    // The WAL is copied back into the database every kCheckpointPages pages
    // rather than every 4,000: in a store of millions of rows most pages a
    // commit dirties are random index pages, and one that several commits
    // dirtied between two checkpoints is written back once (bench/README.md,
    // "Bytes written per event"). The copy (a read and a write per page, and
    // a sync of the database) runs on its own thread and connection, off the
    // writer's path: the writer only signals it (OnWalCommit, which replaces
    // SQLite's autocheckpoint). Should the WAL still grow to
    // kWriterCheckpointPages, the writer checkpoints itself.
    sqlite3_wal_hook(writer_db_->raw(), &SqliteEventStore::OnWalCommit, this);
    // The latency histogram migration computes buckets in SQL.
    if (int rc = sqlite3_create_function_v2(writer_db_->raw(), "loupe_latency_bucket", 1,
                                            SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                            &LatencyBucketSql, nullptr, nullptr, nullptr);
        rc != SQLITE_OK) {
      return sqlite::SqliteError(writer_db_->raw(), rc, "register loupe_latency_bucket");
    }
    RETURN_IF_ERROR(sqlite::ApplyMigrations(*writer_db_, "events", sqlite::EventStoreMigrations()));
    RETURN_IF_ERROR(RegisterRecentRow(*writer_db_));
    RETURN_IF_ERROR(LoadRecentIds(*writer_db_));
    RETURN_IF_ERROR(LoadProjectKeys(*writer_db_));
    RETURN_IF_ERROR(readers_.Init(options_.path, options_.reader_connections,
                                  [this](Db& db) { return RegisterRecentRow(db); }));
    ASSIGN_OR_RETURN(checkpoint_db_, Db::Open(options_.path, false));
    checkpointer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "loupe-checkpoint");
      CheckpointLoop();
    });
    writer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "loupe-writer");
      WriterLoop();
    });
    return absl::OkStatus();
  }

  // EventStore

  absl::Status Write(const std::string& project_id, std::vector<IngestEvent> events) override {
    if (events.empty()) return absl::OkStatus();
    auto req = std::make_unique<WriteRequest>();
    req->project_id = project_id;
    req->events = std::move(events);
    Prepare(*req);
    return Submit(std::move(req));
  }

  absl::StatusOr<std::optional<TraceRecord>> GetTrace(const std::string& project_id,
                                                      const std::string& id) override {
    auto lease = readers_.Acquire();
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return std::optional<TraceRecord>();
    ASSIGN_OR_RETURN(Stmt * st,
                     lease.db().Prepare(std::string(kTraceSelect) + " WHERE t.rowid IN " +
                                        kIdRows[kTraceIds] + " AND t.present = 1"));
    BindIdRows(*st, 1, *project, IdHash64(id));
    return FindById<TraceRecord>(*st, id, [&](Stmt& row) { return ReadTraceRow(row, project_id); });
  }

  absl::StatusOr<PageResult<TraceRecord>> ListTraces(const std::string& project_id,
                                                     const TraceQuery& q) override {
    PageResult<TraceRecord> result;
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return result;
    Binds binds;
    const std::string where = TraceWhere(q, &binds);
    auto lease = readers_.Acquire();
    Db& db = lease.db();
    ASSIGN_OR_RETURN(result.total_items, CountRows(db, "traces t" + where, *project, binds));

    ASSIGN_OR_RETURN(Stmt * st, db.Prepare(std::string(kTraceSelect) + where + TraceOrder(q) +
                                           " LIMIT ? OFFSET ?"));
    int i = BindAll(*st, *project, binds);
    st->Bind(i++, q.page.limit);
    st->Bind(i++, static_cast<int64_t>(q.page.page - 1) * q.page.limit);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      ASSIGN_OR_RETURN(TraceRecord rec, ReadTraceRow(*st, project_id));
      result.items.push_back(std::move(rec));
    }
    st->Reset();
    return result;
  }

  // Walks the listing's first `row_budget` rows in its order and searches
  // each one's state: a case-insensitive substring test on the decoded text
  // rules most rows out cheaply, and only the rows that pass are parsed to
  // check that the text is in the input or output rather than elsewhere.
  absl::StatusOr<TraceSearchResult> SearchTraces(const std::string& project_id, const TraceQuery& q,
                                                 const TraceTextSearch& search) override {
    TraceSearchResult result;
    auto project = ProjectKeyIfKnown(project_id);
    if (!project || search.text.empty() || search.row_budget <= 0) return result;
    // The needle as it appears inside JSON text (quotes and control
    // characters escaped).
    std::string needle = json::serialize(json::string(search.text));
    needle = needle.substr(1, needle.size() - 2);
    Binds binds;
    const std::string where = TraceWhere(q, &binds);
    auto lease = readers_.Acquire();
    Db& db = lease.db();
    // One read transaction: one snapshot, and no lock round trip per row.
    ASSIGN_OR_RETURN(auto snapshot, sqlite::Transaction::Begin(db, false));
    ASSIGN_OR_RETURN(Stmt * rows, db.Prepare("SELECT t.rowid FROM traces t" + where +
                                             TraceOrder(q) + " LIMIT ?"));
    int i = BindAll(*rows, *project, binds);
    rows->Bind(i, static_cast<int64_t>(search.row_budget) + 1);
    std::vector<int64_t> rowids;
    while (true) {
      ASSIGN_OR_RETURN(bool row, rows->Step());
      if (!row) break;
      rowids.push_back(rows->Int(0));
    }
    rows->Reset();
    if (rowids.size() > static_cast<size_t>(search.row_budget)) {
      result.budget_reached = true;
      rowids.resize(search.row_budget);
    }
    ASSIGN_OR_RETURN(Stmt * state, db.Prepare("SELECT state FROM trace_state WHERE rowid = ?"));
    const size_t skip = static_cast<size_t>(q.page.page - 1) * q.page.limit;
    std::vector<int64_t> page_rowids;
    for (int64_t rowid : rowids) {
      state->Bind(1, rowid);
      ASSIGN_OR_RETURN(bool found, state->Step());
      bool match = false;
      // Most states do not contain the text anywhere: only those that do are
      // parsed to see whether it is in their input or output.
      if (found) {
        ASSIGN_OR_RETURN(bool anywhere, StateTextContains(state->Blob(0), needle));
        if (anywhere) {
          ASSIGN_OR_RETURN(EntityState parsed, StateFromBlob(state->Blob(0)));
          for (const char* field : {"input", "output"}) {
            const json::value* v = parsed.Get(field);
            if (v && !v->is_null() &&
                strcasestr(json::serialize(*v).c_str(), needle.c_str()) != nullptr) {
              match = true;
              break;
            }
          }
        }
      }
      state->Reset();
      ++result.searched;
      if (!match) continue;
      if (static_cast<size_t>(result.page.total_items) >= skip &&
          page_rowids.size() < static_cast<size_t>(q.page.limit)) {
        page_rowids.push_back(rowid);
      }
      ++result.page.total_items;
    }
    ASSIGN_OR_RETURN(Stmt * get, db.Prepare(std::string(kTraceSelect) + " WHERE t.rowid = ?"));
    for (int64_t rowid : page_rowids) {
      get->Bind(1, rowid);
      ASSIGN_OR_RETURN(bool row, get->Step());
      if (row) {
        auto rec = ReadTraceRow(*get, project_id);
        if (!rec.ok()) {
          get->Reset();
          return rec.status();
        }
        result.page.items.push_back(std::move(*rec));
      }
      get->Reset();
    }
    RETURN_IF_ERROR(snapshot->Commit());
    return result;
  }

  absl::StatusOr<int64_t> DeleteTraces(const std::string& project_id,
                                       const std::vector<std::string>& ids) override {
    auto deleted = std::make_shared<int64_t>(0);
    auto req = std::make_unique<WriteRequest>();
    req->job = [this, project_id, ids, deleted](Db& db) -> absl::Status {
      auto project = ProjectKeyIfKnown(project_id);
      if (!project) return absl::OkStatus();
      for (const auto& id : ids) {
        int64_t h = IdHash64(id);
        ASSIGN_OR_RETURN(
            Stmt * find,
            db.Prepare(std::string("SELECT rowid, present FROM traces WHERE rowid IN ") +
                       kIdRows[kTraceIds] + " AND id = ?"));
        find->Bind(BindIdRows(*find, 1, *project, h), id);
        std::vector<int64_t> rowids;
        while (true) {
          ASSIGN_OR_RETURN(bool row, find->Step());
          if (!row) break;
          rowids.push_back(find->Int(0));
          if (find->Int(1) == 1) ++*deleted;
        }
        find->Reset();
        std::map<RollupKey, RollupDelta> rollups;
        LatencyDeltas latencies;
        UserDeltas users;
        for (int64_t r : rowids) {
          ASSIGN_OR_RETURN(Stmt * t, db.Prepare("SELECT timestamp, environment, "
                                                "COALESCE(name, ''), total_cost, max_end - "
                                                "min_start, user_id FROM traces WHERE rowid = ? "
                                                "AND present = 1"));
          t->Bind(1, r);
          ASSIGN_OR_RETURN(bool present, t->Step());
          if (present) {
            RollupKey key{*project, HourOf(t->Int(0)), t->Text(1), "TRACE", t->Text(2)};
            RollupDelta& d = rollups[key];
            d.count -= 1;
            d.cost -= t->Double(3);
            if (!t->IsNull(4)) AddLatency(&latencies, key, t->Int(4), -1);
            if (!t->IsNull(5)) {
              UserDelta& u = users[{*project, DayOf(t->Int(0)), t->Text(1), t->Text(5)}];
              u.count -= 1;
              u.cost -= t->Double(3);
            }
          }
          t->Reset();
          RETURN_IF_ERROR(DeleteRow(db, kTraceIds, r));
        }
        for (IdTable t : {kObservationIds, kScoreIds}) {
          const std::string table = kIdTableRows[t];
          std::string sel = "SELECT rowid FROM " + table + " INDEXED BY " + table +
                            "_by_trace WHERE trace_row = ?";
          ASSIGN_OR_RETURN(Stmt * rows, db.Prepare(sel));
          std::vector<int64_t> victims;
          for (int64_t trace_row : rowids) {
            rows->Bind(1, trace_row);
            while (true) {
              ASSIGN_OR_RETURN(bool row, rows->Step());
              if (!row) break;
              victims.push_back(rows->Int(0));
            }
            rows->Reset();
          }
          for (int64_t r : victims) {
            if (t == kObservationIds) {
              // Take the observation's share out of the hourly rollups.
              ASSIGN_OR_RETURN(
                  Stmt * o, db.Prepare("SELECT start_time, environment, type, COALESCE(model, ''), "
                                       "COALESCE(total_cost, 0), COALESCE(input_tokens, 0), "
                                       "COALESCE(output_tokens, 0), COALESCE(total_tokens, 0), "
                                       "end_time - start_time FROM observations WHERE rowid = ?"));
              o->Bind(1, r);
              ASSIGN_OR_RETURN(bool found, o->Step());
              if (found) {
                RollupKey key{*project, HourOf(o->Int(0)), o->Text(1), o->Text(2), o->Text(3)};
                RollupDelta& d = rollups[key];
                if (!o->IsNull(8)) AddLatency(&latencies, key, o->Int(8), -1);
                d.count -= 1;
                d.cost -= o->Double(4);
                d.input_tokens -= o->Int(5);
                d.output_tokens -= o->Int(6);
                d.total_tokens -= o->Int(7);
              }
              o->Reset();
            }
            RETURN_IF_ERROR(DeleteRow(db, t, r));
          }
        }
        RETURN_IF_ERROR(ApplyRollups(db, rollups));
        RETURN_IF_ERROR(ApplyLatencies(db, latencies));
        RETURN_IF_ERROR(ApplyUsers(db, users));
      }
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(Submit(std::move(req)));
    return *deleted;
  }

  absl::StatusOr<std::optional<ObservationRecord>> GetObservation(const std::string& project_id,
                                                                  const std::string& id) override {
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return std::optional<ObservationRecord>();
    auto lease = readers_.Acquire();
    ASSIGN_OR_RETURN(Stmt * st,
                     lease.db().Prepare(std::string(kObservationSelect) + " WHERE o.rowid IN " +
                                        kIdRows[kObservationIds]));
    BindIdRows(*st, 1, *project, IdHash64(id));
    return FindById<ObservationRecord>(
        *st, id, [&](Stmt& row) { return ReadObservationRow(row, project_id); });
  }

  absl::StatusOr<PageResult<ObservationRecord>> ListObservations(
      const std::string& project_id, const ObservationQuery& q) override {
    PageResult<ObservationRecord> result;
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return result;
    std::string where = " WHERE o.project = ?";
    std::vector<std::function<void(Stmt&, int&)>> binds;
    auto add_eq = [&](const char* col, const std::optional<std::string>& v) {
      AddEquals("o.", col, v, &where, &binds);
    };
    add_eq("name", q.name);
    add_eq("type", q.type);
    add_eq("level", q.level);
    add_eq("parent_id", q.parent_observation_id);
    add_eq("version", q.version);
    if (q.trace_id) {
      where += " AND o.trace_row = " + TraceRowOf();
      binds.push_back(
          [v = *q.trace_id, p = *project](Stmt& s, int& i) { BindTraceRowOf(s, i, v, p); });
    }
    if (q.user_id) {
      where +=
          " AND o.trace_row IN (SELECT rowid FROM traces WHERE project = o.project AND "
          "user_id = ? AND present = 1)";
      binds.push_back([v = *q.user_id](Stmt& s, int& i) { s.Bind(i++, v); });
    }
    AddInList(" AND o.environment", q.environments, &where, &binds);
    if (q.from_start_ms) {
      where += " AND o.start_time >= ?";
      binds.push_back([v = *q.from_start_ms](Stmt& s, int& i) { s.Bind(i++, v); });
    }
    if (q.to_start_ms) {
      where += " AND o.start_time < ?";
      binds.push_back([v = *q.to_start_ms](Stmt& s, int& i) { s.Bind(i++, v); });
    }
    AppendFilters(q.filters, ObservationFilterSql(), &where, &binds);
    AppendKeyset(q.keyset, "o.start_time", "o.id", &where, &binds);
    auto lease = readers_.Acquire();
    Db& db = lease.db();
    if (!q.keyset.enabled) {
      ASSIGN_OR_RETURN(result.total_items,
                       CountRows(db, "observations o" + where, *project, binds));
    }
    // The keyset order breaks ties on id so that a (time, id) position
    // identifies one row; the offset listing keeps insertion order.
    const char* order = q.keyset.enabled ? " ORDER BY o.start_time DESC, o.id DESC"
                                         : " ORDER BY o.start_time DESC, o.rowid DESC";
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare(std::string(kObservationSelect) + where + order +
                                           " LIMIT ? OFFSET ?"));
    int i = BindAll(*st, *project, binds);
    st->Bind(i++, q.page.limit);
    st->Bind(i++,
             q.keyset.enabled ? int64_t{0} : static_cast<int64_t>(q.page.page - 1) * q.page.limit);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      ASSIGN_OR_RETURN(auto rec, ReadObservationRow(*st, project_id));
      result.items.push_back(std::move(rec));
    }
    st->Reset();
    return result;
  }

  absl::StatusOr<std::vector<ObservationRecord>> ObservationsOfTrace(
      const std::string& project_id, const std::string& trace_id) override {
    std::vector<ObservationRecord> out;
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return out;
    auto lease = readers_.Acquire();
    ASSIGN_OR_RETURN(
        Stmt * st, lease.db().Prepare(
                       Indexed(kObservationSelect, "observations o", "observations_by_trace") +
                       " WHERE o.trace_row = " + TraceRowOf() + " ORDER BY o.start_time, o.rowid"));
    int i = 1;
    BindTraceRowOf(*st, i, trace_id, *project);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      ASSIGN_OR_RETURN(auto rec, ReadObservationRow(*st, project_id));
      out.push_back(std::move(rec));
    }
    st->Reset();
    return out;
  }

  absl::StatusOr<std::vector<ObservationRecord>> ObservationOutlinesOfTrace(
      const std::string& project_id, const std::string& trace_id) override {
    std::vector<ObservationRecord> out;
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return out;
    auto lease = readers_.Acquire();
    // Only warnings and errors need the state (for their status message), so
    // the payload blobs of ordinary observations are never read.
    ASSIGN_OR_RETURN(
        Stmt * st,
        lease.db().Prepare(
            "SELECT o.id, o.parent_id, o.type, o.name, o.start_time, o.end_time, "
            "o.completion_start_time, o.level, o.model, o.input_tokens, o.output_tokens, "
            "o.total_tokens, o.total_cost, o.environment, o.version, o.prompt_name, "
            "o.prompt_version, o.created_at, o.updated_at, CASE WHEN o.level IN ('WARNING', "
            "'ERROR') THEN (SELECT s.state FROM observation_state s WHERE s.rowid = o.rowid) END "
            "FROM observations o INDEXED BY observations_by_trace WHERE o.trace_row = " +
            TraceRowOf() + " ORDER BY o.start_time, o.rowid"));
    int bound = 1;
    BindTraceRowOf(*st, bound, trace_id, *project);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      ObservationRecord o;
      o.id = st->Text(0);
      o.project_id = project_id;
      o.trace_id = trace_id;
      o.parent_observation_id = st->OptText(1);
      o.type = st->Text(2);
      o.name = st->OptText(3);
      o.start_time_ms = st->Int(4);
      o.end_time_ms = st->OptInt(5);
      o.completion_start_time_ms = st->OptInt(6);
      o.level = st->Text(7);
      o.model = st->OptText(8);
      int64_t in = st->Int(9), output = st->Int(10), total = st->Int(11);
      if (in || output || total) {
        o.usage_details["input"] = in;
        o.usage_details["output"] = output;
        o.usage_details["total"] = total;
      }
      o.total_cost = st->OptDouble(12);
      o.environment = st->Text(13);
      o.version = st->OptText(14);
      o.prompt_name = st->OptText(15);
      o.prompt_version = st->OptInt(16);
      o.created_at_ms = st->Int(17);
      o.updated_at_ms = st->Int(18);
      if (!st->IsNull(19)) {
        ASSIGN_OR_RETURN(EntityState state,
                         StateFromBlob(st->Blob(19), {}, nullptr, Payloads::kSkip));
        o.status_message =
            MaterializeObservation(project_id, o.id, &state, nullptr, Payloads::kSkip)
                .status_message;
      }
      out.push_back(std::move(o));
    }
    st->Reset();
    return out;
  }

  absl::StatusOr<std::vector<std::string>> ObservationIdsOfTrace(
      const std::string& project_id, const std::string& trace_id) override {
    std::vector<std::string> out;
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return out;
    auto lease = readers_.Acquire();
    ASSIGN_OR_RETURN(Stmt * st, lease.db().Prepare(
                                    "SELECT id FROM observations INDEXED BY observations_by_trace "
                                    "WHERE trace_row = " +
                                    TraceRowOf() + " ORDER BY start_time, rowid"));
    int i = 1;
    BindTraceRowOf(*st, i, trace_id, *project);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.push_back(st->Text(0));
    }
    st->Reset();
    return out;
  }

  absl::StatusOr<std::optional<ScoreRecord>> GetScore(const std::string& project_id,
                                                      const std::string& id) override {
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return std::optional<ScoreRecord>();
    auto lease = readers_.Acquire();
    ASSIGN_OR_RETURN(Stmt * st, lease.db().Prepare(std::string(kScoreSelect) +
                                                   " WHERE s.rowid IN " + kIdRows[kScoreIds]));
    BindIdRows(*st, 1, *project, IdHash64(id));
    return FindById<ScoreRecord>(*st, id, [&](Stmt& row) { return ReadScoreRow(row, project_id); });
  }

  absl::StatusOr<PageResult<ScoreRecord>> ListScores(const std::string& project_id,
                                                     const ScoreQuery& q) override {
    PageResult<ScoreRecord> result;
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return result;
    std::string where = " WHERE s.project = ?";
    std::vector<std::function<void(Stmt&, int&)>> binds;
    auto add_eq = [&](const char* col, const std::optional<std::string>& v) {
      AddEquals("s.", col, v, &where, &binds);
    };
    add_eq("name", q.name);
    add_eq("source", q.source);
    add_eq("config_id", q.config_id);
    add_eq("session_id", q.session_id);
    add_eq("dataset_run_id", q.dataset_run_id);
    add_eq("observation_id", q.observation_id);
    add_eq("queue_id", q.queue_id);
    add_eq("data_type", q.data_type);
    if (q.trace_id) {
      where += " AND s.trace_row = " + TraceRowOf();
      binds.push_back(
          [v = *q.trace_id, p = *project](Stmt& s, int& i) { BindTraceRowOf(s, i, v, p); });
    }
    AddInList(" AND s.environment", q.environments, &where, &binds);
    AddInList(" AND s.id", q.score_ids, &where, &binds);
    if (q.from_ms) {
      where += " AND s.timestamp >= ?";
      binds.push_back([v = *q.from_ms](Stmt& s, int& i) { s.Bind(i++, v); });
    }
    if (q.to_ms) {
      where += " AND s.timestamp < ?";
      binds.push_back([v = *q.to_ms](Stmt& s, int& i) { s.Bind(i++, v); });
    }
    if (q.value && q.value_operator) {
      where += " AND s.value " + *q.value_operator + " ?";
      binds.push_back([v = *q.value](Stmt& s, int& i) { s.Bind(i++, v); });
    } else if (q.value) {
      where += " AND s.value = ?";
      binds.push_back([v = *q.value](Stmt& s, int& i) { s.Bind(i++, v); });
    }
    AppendFilters(q.filters, ScoreFilterSql(), &where, &binds);
    if (q.user_id || !q.trace_tags.empty()) {
      where += " AND EXISTS (SELECT 1 FROM traces t WHERE t.rowid = s.trace_row AND t.present = 1";
      if (q.user_id) {
        where += " AND t.user_id = ?";
        binds.push_back([v = *q.user_id](Stmt& s, int& i) { s.Bind(i++, v); });
      }
      for (const auto& tag : q.trace_tags) {
        where += " AND EXISTS (SELECT 1 FROM json_each(t.tags) WHERE json_each.value = ?)";
        binds.push_back([tag](Stmt& s, int& i) { s.Bind(i++, tag); });
      }
      where += ")";
    }
    AppendKeyset(q.keyset, "s.timestamp", "s.id", &where, &binds);
    auto lease = readers_.Acquire();
    Db& db = lease.db();
    if (!q.keyset.enabled) {
      ASSIGN_OR_RETURN(result.total_items, CountRows(db, "scores s" + where, *project, binds));
    }
    // See ListObservations for why the keyset order breaks ties on id.
    const char* order = q.keyset.enabled ? " ORDER BY s.timestamp DESC, s.id DESC"
                                         : " ORDER BY s.timestamp DESC, s.rowid DESC";
    ASSIGN_OR_RETURN(Stmt * st,
                     db.Prepare(std::string(kScoreSelect) + where + order + " LIMIT ? OFFSET ?"));
    int i = BindAll(*st, *project, binds);
    st->Bind(i++, q.page.limit);
    st->Bind(i++,
             q.keyset.enabled ? int64_t{0} : static_cast<int64_t>(q.page.page - 1) * q.page.limit);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      ASSIGN_OR_RETURN(auto rec, ReadScoreRow(*st, project_id));
      result.items.push_back(std::move(rec));
    }
    st->Reset();
    return result;
  }

  absl::StatusOr<std::vector<ScoreRecord>> ScoresOfTrace(const std::string& project_id,
                                                         const std::string& trace_id) override {
    std::vector<ScoreRecord> out;
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return out;
    auto lease = readers_.Acquire();
    ASSIGN_OR_RETURN(Stmt * st,
                     lease.db().Prepare(Indexed(kScoreSelect, "scores s", "scores_by_trace") +
                                        " WHERE s.trace_row = " + TraceRowOf() +
                                        " ORDER BY s.timestamp, s.rowid"));
    int i = 1;
    BindTraceRowOf(*st, i, trace_id, *project);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      ASSIGN_OR_RETURN(auto rec, ReadScoreRow(*st, project_id));
      out.push_back(std::move(rec));
    }
    st->Reset();
    return out;
  }

  absl::StatusOr<std::vector<ScoreNameCount>> RecentScoreNames(const std::string& project_id,
                                                               int limit) override {
    std::vector<ScoreNameCount> out;
    auto project = ProjectKeyIfKnown(project_id);
    if (!project || limit <= 0) return out;
    auto lease = readers_.Acquire();
    ASSIGN_OR_RETURN(Stmt * st,
                     lease.db().Prepare("SELECT name, data_type, COUNT(*) FROM (SELECT name, "
                                        "data_type FROM scores INDEXED BY scores_by_time WHERE "
                                        "project = ? ORDER BY timestamp DESC LIMIT ?) GROUP BY "
                                        "name, data_type ORDER BY name, data_type"));
    st->Bind(1, *project).Bind(2, static_cast<int64_t>(limit));
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      out.push_back({st->Text(0), st->Text(1), st->Int(2)});
    }
    st->Reset();
    return out;
  }

  absl::StatusOr<bool> DeleteScore(const std::string& project_id, const std::string& id) override {
    auto found = std::make_shared<bool>(false);
    auto req = std::make_unique<WriteRequest>();
    req->job = [this, project_id, id, found](Db& db) -> absl::Status {
      auto project = ProjectKeyIfKnown(project_id);
      if (!project) return absl::OkStatus();
      ASSIGN_OR_RETURN(Stmt * find,
                       db.Prepare(std::string("SELECT rowid FROM scores WHERE rowid IN ") +
                                  kIdRows[kScoreIds] + " AND id = ?"));
      find->Bind(BindIdRows(*find, 1, *project, IdHash64(id)), id);
      std::vector<int64_t> rows;
      while (true) {
        ASSIGN_OR_RETURN(bool row, find->Step());
        if (!row) break;
        rows.push_back(find->Int(0));
      }
      find->Reset();
      for (int64_t r : rows) {
        RETURN_IF_ERROR(DeleteRow(db, kScoreIds, r));
        *found = true;
      }
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(Submit(std::move(req)));
    return *found;
  }

  absl::StatusOr<PageResult<SessionRecord>> ListSessions(const std::string& project_id,
                                                         const SessionQuery& q) override {
    PageResult<SessionRecord> result;
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return result;
    std::string where = " WHERE project = ?";
    std::vector<std::function<void(Stmt&, int&)>> binds;
    if (q.from_ms) {
      where += " AND created_at >= ?";
      binds.push_back([v = *q.from_ms](Stmt& s, int& i) { s.Bind(i++, v); });
    }
    if (q.to_ms) {
      where += " AND created_at < ?";
      binds.push_back([v = *q.to_ms](Stmt& s, int& i) { s.Bind(i++, v); });
    }
    AddInList(" AND environment", q.environments, &where, &binds);
    auto lease = readers_.Acquire();
    Db& db = lease.db();
    ASSIGN_OR_RETURN(result.total_items, CountRows(db, "sessions" + where, *project, binds));
    ASSIGN_OR_RETURN(Stmt * st,
                     db.Prepare("SELECT id, environment, created_at FROM sessions" + where +
                                " ORDER BY created_at DESC, id LIMIT ? OFFSET ?"));
    int i = BindAll(*st, *project, binds);
    st->Bind(i++, q.page.limit);
    st->Bind(i++, static_cast<int64_t>(q.page.page - 1) * q.page.limit);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      SessionRecord s;
      s.id = st->Text(0);
      s.project_id = project_id;
      s.environment = st->Text(1);
      s.created_at_ms = st->Int(2);
      result.items.push_back(std::move(s));
    }
    st->Reset();
    return result;
  }

  absl::StatusOr<std::optional<SessionRecord>> GetSession(const std::string& project_id,
                                                          const std::string& id) override {
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return std::optional<SessionRecord>();
    auto lease = readers_.Acquire();
    ASSIGN_OR_RETURN(Stmt * st, lease.db().Prepare("SELECT environment, created_at FROM sessions "
                                                   "WHERE project = ? AND id = ?"));
    st->Bind(1, *project).Bind(2, id);
    ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<SessionRecord>();
    SessionRecord s;
    s.id = id;
    s.project_id = project_id;
    s.environment = st->Text(0);
    s.created_at_ms = st->Int(1);
    st->Reset();
    return std::optional<SessionRecord>(std::move(s));
  }

  absl::StatusOr<std::vector<TraceRecord>> TracesOfSession(const std::string& project_id,
                                                           const std::string& session_id) override {
    std::vector<TraceRecord> out;
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return out;
    auto lease = readers_.Acquire();
    ASSIGN_OR_RETURN(Stmt * st, lease.db().Prepare(std::string(kTraceSelect) +
                                                   " WHERE t.project = ? AND t.session_id = ? "
                                                   "AND t.present = 1 ORDER BY t.timestamp"));
    st->Bind(1, *project).Bind(2, session_id);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      ASSIGN_OR_RETURN(auto rec, ReadTraceRow(*st, project_id));
      out.push_back(std::move(rec));
    }
    st->Reset();
    return out;
  }

  absl::StatusOr<json::array> QueryMetrics(const std::string& project_id,
                                           const MetricsQuery& q) override {
    MetricsAggregator agg(q);
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return agg.Finish();
    auto lease = readers_.Acquire();
    Db& db = lease.db();
    // Whole hours come from the hourly rollups when the query allows it; only
    // the partial hours at the edges of the range are read row by row. This
    // is what keeps dashboards fast on tens of millions of observations.
    // Per-user trace totals: whole days from the daily user rollups.
    constexpr int64_t kDay = 86400000;
    const int64_t first_day = DayOf(q.from_ms + kDay - 1), last_day = DayOf(q.to_ms);
    if (first_day < last_day && UserRollupEligible(q)) {
      RETURN_IF_ERROR(ScanUserRollups(db, *project, q, first_day, last_day, agg));
      if (q.from_ms < first_day) {
        RETURN_IF_ERROR(ScanMetricRows(db, *project, q, q.from_ms, first_day, agg));
      }
      if (last_day < q.to_ms) {
        RETURN_IF_ERROR(ScanMetricRows(db, *project, q, last_day, q.to_ms, agg));
      }
      return agg.Finish();
    }
    constexpr int64_t kHour = 3600000;
    const int64_t first_full = (q.from_ms + kHour - 1) / kHour * kHour;
    const int64_t last_full = q.to_ms / kHour * kHour;
    // Latency percentiles over many rows come from the hourly latency
    // histograms, with the edge rows filed into the same buckets: exact to
    // within one bucket (~9 %). Over few rows they are computed exactly.
    if (first_full < last_full && RollupEligible(q)) {
      const bool percentiles = std::any_of(q.metrics.begin(), q.metrics.end(),
                                           [](const MetricSpec& m) { return IsPercentile(m); });
      if (percentiles) agg.UseLatencyHistograms();
      int64_t rows = 0;
      RETURN_IF_ERROR(ScanRollups(db, *project, q, first_full, last_full, agg, &rows));
      if (percentiles && rows <= options_.exact_percentile_rows) {
        MetricsAggregator exact(q);
        RETURN_IF_ERROR(ScanMetricRows(db, *project, q, q.from_ms, q.to_ms, exact));
        return exact.Finish();
      }
      if (percentiles) {
        RETURN_IF_ERROR(ScanLatencyHistograms(db, *project, q, first_full, last_full, agg));
      }
      if (q.from_ms < first_full) {
        RETURN_IF_ERROR(ScanMetricRows(db, *project, q, q.from_ms, first_full, agg));
      }
      if (last_full < q.to_ms) {
        RETURN_IF_ERROR(ScanMetricRows(db, *project, q, last_full, q.to_ms, agg));
      }
      return agg.Finish();
    }
    RETURN_IF_ERROR(ScanMetricRows(db, *project, q, q.from_ms, q.to_ms, agg));
    return agg.Finish();
  }

  // Rollup columns of the dimensions, measures and filters a rollup can serve.
  static const std::map<std::string, std::string>& RollupColumns(MetricsView view) {
    static const std::map<std::string, std::string> kObservations = {
        {"type", "type"},
        {"providedModelName", "model"},
        {"environment", "environment"},
        {"count", "count"},
        {"totalCost", "cost"},
        {"inputTokens", "input_tokens"},
        {"outputTokens", "output_tokens"},
        {"totalTokens", "total_tokens"}};
    static const std::map<std::string, std::string> kTraces = {{"environment", "environment"},
                                                               {"name", "model"},
                                                               {"count", "count"},
                                                               {"totalCost", "cost"}};
    static const std::map<std::string, std::string> kNone;
    if (view == MetricsView::kObservations) return kObservations;
    if (view == MetricsView::kTraces) return kTraces;
    return kNone;
  }

  // Traces by user (and environment) with counts and cost sums, filtered
  // on environment and on having a user, at day granularity or coarser.
  static bool UserRollupEligible(const MetricsQuery& q) {
    if (q.view != MetricsView::kTraces) return false;
    if (q.granularity && *q.granularity != "day" && *q.granularity != "week" &&
        *q.granularity != "month") {
      return false;
    }
    if (std::find(q.dimensions.begin(), q.dimensions.end(), "userId") == q.dimensions.end()) {
      return false;
    }
    for (const auto& d : q.dimensions) {
      if (d != "userId" && d != "environment") return false;
    }
    for (const auto& m : q.metrics) {
      bool row_count = m.measure == "count" && (m.aggregation == "count" || m.aggregation == "sum");
      bool cost = m.measure == "totalCost" && m.aggregation == "sum";
      if (!row_count && !cost) return false;
    }
    // The rollup has a row only for traces with a user: without the
    // "userId is not null" filter, traces without one would be missing.
    bool users_only = false;
    for (const auto& f : q.filters) {
      bool environment =
          f.column == "environment" &&
          ((f.type == FilterType::kString && f.op == "=") || f.type == FilterType::kStringOptions);
      bool has_user = f.column == "userId" && f.type == FilterType::kNull && f.op == "is not null";
      if (!environment && !has_user) return false;
      users_only = users_only || has_user;
    }
    return users_only;
  }

  // Adds the daily user rollups of [from_ms, to_ms) (whole days) to `agg`.
  absl::Status ScanUserRollups(Db& db, int64_t project, const MetricsQuery& q, int64_t from_ms,
                               int64_t to_ms, MetricsAggregator& agg) {
    std::string select = "SELECT day, count";
    for (const auto& d : q.dimensions) select += d == "userId" ? ", user_id" : ", environment";
    for (const auto& m : q.metrics) select += m.measure == "totalCost" ? ", cost" : ", count";
    std::string where = " FROM user_rollup_daily WHERE project = ? AND day >= ? AND day < ?";
    std::vector<std::function<void(Stmt&, int&)>> binds;
    std::vector<FilterCondition> filters;  // every row has a user
    for (const auto& f : q.filters) {
      if (f.column == "environment") filters.push_back(f);
    }
    AppendFilters(filters, {{"environment", "environment"}}, &where, &binds);
    return AddRollupRows(db, select + where, project, from_ms, to_ms, binds, q, agg).status();
  }

  static bool IsPercentile(const MetricSpec& m) {
    return m.measure == "latency" && m.aggregation.size() == 3 && m.aggregation[0] == 'p';
  }

  static bool RollupEligible(const MetricsQuery& q) {
    if (!HistogramRollupCompatible(q)) return false;
    const auto& cols = RollupColumns(q.view);
    if (cols.empty()) return false;
    for (const auto& d : q.dimensions) {
      if (!cols.count(d) || d == "count" || d == "totalCost") return false;
    }
    for (const auto& m : q.metrics) {
      if (IsPercentile(m)) continue;
      if (!cols.count(m.measure) || m.measure == "type" || m.measure == "environment" ||
          m.measure == "providedModelName" || m.measure == "name") {
        return false;
      }
    }
    for (const auto& f : q.filters) {
      if (!cols.count(f.column)) return false;
      bool exact =
          (f.type == FilterType::kString && f.op == "=") || f.type == FilterType::kStringOptions;
      if (!exact) return false;
    }
    return true;
  }

  // Adds the rollups of [from_ms, to_ms) (whole hours) to `agg` and the
  // number of rows they stand for to *rows.
  absl::Status ScanRollups(Db& db, int64_t project, const MetricsQuery& q, int64_t from_ms,
                           int64_t to_ms, MetricsAggregator& agg, int64_t* rows) {
    const auto& cols = RollupColumns(q.view);
    std::string select = "SELECT hour, count";
    for (const auto& d : q.dimensions) select += ", " + cols.at(d);
    for (const auto& m : q.metrics)
      select += ", " + (IsPercentile(m) ? "NULL" : cols.at(m.measure));
    std::string where = " FROM rollup_hourly WHERE project = ? AND hour >= ? AND hour < ?";
    where += q.view == MetricsView::kTraces ? " AND type = 'TRACE'" : " AND type <> 'TRACE'";
    std::vector<std::function<void(Stmt&, int&)>> binds;
    std::map<std::string, std::string> filter_cols;
    for (const auto& f : q.filters) filter_cols[f.column] = cols.at(f.column);
    AppendFilters(q.filters, filter_cols, &where, &binds);
    ASSIGN_OR_RETURN(int64_t n,
                     AddRollupRows(db, select + where, project, from_ms, to_ms, binds, q, agg));
    *rows += n;
    return absl::OkStatus();
  }

  // Runs a rollup query whose columns are the bucket time, the number of rows
  // a rollup row stands for, the query's dimensions and its metrics (first
  // parameters: project, range start, range end; then `binds`), and adds its
  // rows to `agg`. Returns the number of rows they stand for.
  absl::StatusOr<int64_t> AddRollupRows(Db& db, const std::string& sql, int64_t project,
                                        int64_t from_ms, int64_t to_ms,
                                        const std::vector<std::function<void(Stmt&, int&)>>& binds,
                                        const MetricsQuery& q, MetricsAggregator& agg) {
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare(sql));
    sqlite::ResetOnExit reset(st);
    st->Bind(1, project).Bind(2, from_ms).Bind(3, to_ms);
    int i = 4;
    for (const auto& b : binds) b(*st, i);
    const size_t nd = q.dimensions.size();
    MetricsRow row;
    row.dimensions.resize(nd);
    row.values.resize(q.metrics.size());
    int64_t rows = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool has, st->Step());
      if (!has) break;
      row.bucket_ms = q.granularity ? BucketStart(st->Int(0), *q.granularity) : 0;
      for (size_t d = 0; d < nd; ++d) {
        row.dimensions[d] = RollupDimension(q.dimensions[d], st->Text(static_cast<int>(2 + d)));
      }
      for (size_t k = 0; k < q.metrics.size(); ++k) {
        row.values[k] = st->OptDouble(static_cast<int>(2 + nd + k));
      }
      agg.AddAggregated(row, st->Int(1));
      rows += st->Int(1);
    }
    return rows;
  }

  // The rollups key "no model" and "no trace name" as ''; rows report null.
  static std::optional<std::string> RollupDimension(const std::string& dimension,
                                                    std::string value) {
    if (value.empty() && (dimension == "providedModelName" || dimension == "name")) {
      return std::nullopt;
    }
    return value;
  }

  // Adds the latency histograms of [from_ms, to_ms) (whole hours) to the
  // percentile metrics of `q`.
  absl::Status ScanLatencyHistograms(Db& db, int64_t project, const MetricsQuery& q,
                                     int64_t from_ms, int64_t to_ms, MetricsAggregator& agg) {
    auto column = [](const std::string& field) -> std::string {
      if (field == "providedModelName" || field == "name") return "key";
      return field;  // type, environment
    };
    std::string select = "SELECT hour, bucket, count";
    for (const auto& d : q.dimensions) select += ", " + column(d);
    std::string where = " FROM latency_hourly WHERE project = ? AND hour >= ? AND hour < ?";
    where += q.view == MetricsView::kTraces ? " AND type = 'TRACE'" : " AND type <> 'TRACE'";
    std::vector<std::function<void(Stmt&, int&)>> binds;
    std::map<std::string, std::string> filter_cols;
    for (const auto& f : q.filters) filter_cols[f.column] = column(f.column);
    AppendFilters(q.filters, filter_cols, &where, &binds);
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare(select + where));
    st->Bind(1, project).Bind(2, from_ms).Bind(3, to_ms);
    int i = 4;
    for (auto& b : binds) b(*st, i);
    const size_t nd = q.dimensions.size();
    MetricsRow key;
    key.dimensions.resize(nd);
    while (true) {
      ASSIGN_OR_RETURN(bool has, st->Step());
      if (!has) break;
      key.bucket_ms = q.granularity ? BucketStart(st->Int(0), *q.granularity) : 0;
      for (size_t d = 0; d < nd; ++d) {
        key.dimensions[d] = RollupDimension(q.dimensions[d], st->Text(static_cast<int>(3 + d)));
      }
      const int bucket = static_cast<int>(st->Int(1));
      const int64_t count = st->Int(2);
      for (size_t k = 0; k < q.metrics.size(); ++k) {
        if (IsPercentile(q.metrics[k])) agg.AddHistogram(key, k, bucket, count);
      }
    }
    st->Reset();
    return absl::OkStatus();
  }

  // Reads the rows of a metrics view in [from_ms, to_ms) and aggregates them
  // in C++ rather than with SQLite's GROUP BY sorter, which is several times
  // slower per row (and has no percentiles).
  absl::Status ScanMetricRows(Db& db, int64_t project, const MetricsQuery& q, int64_t from_ms,
                              int64_t to_ms, MetricsAggregator& agg) {
    const MetricsSql& m = MetricsSqlFor(q.view);
    std::string select = "SELECT " + m.time;
    for (const auto& d : q.dimensions) select += ", " + m.dims.at(d);
    for (const auto& metric : q.metrics) select += ", " + m.measures.at(metric.measure);
    std::string where = " WHERE " + m.where + " AND " + m.time + " >= ? AND " + m.time + " < ?";
    std::vector<std::function<void(Stmt&, int&)>> binds;
    binds.push_back([v = from_ms](Stmt& s, int& i) { s.Bind(i++, v); });
    binds.push_back([v = to_ms](Stmt& s, int& i) { s.Bind(i++, v); });
    AppendFilters(q.filters, m.filters, &where, &binds);
    // The observations view joins the trace only for the trace's columns;
    // without them the join would cost a trace lookup per row for nothing.
    std::string from = m.from;
    if (q.view == MetricsView::kObservations && !UsesAlias(select + where, 't')) {
      from = "observations o";
    }
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare(select + " FROM " + from + where));
    int i = 1;
    st->Bind(i++, project);
    for (auto& b : binds) b(*st, i);
    const size_t nd = q.dimensions.size();
    MetricsRow row;
    row.dimensions.resize(nd);
    row.values.resize(q.metrics.size());
    while (true) {
      ASSIGN_OR_RETURN(bool has, st->Step());
      if (!has) break;
      int64_t t = st->Int(0);
      row.bucket_ms = q.granularity ? BucketStart(t, *q.granularity) : 0;
      for (size_t d = 0; d < nd; ++d) row.dimensions[d] = st->OptText(static_cast<int>(1 + d));
      for (size_t k = 0; k < q.metrics.size(); ++k) {
        int col = static_cast<int>(1 + nd + k);
        if (st->IsNull(col)) {
          row.values[k].reset();
        } else if (st->IsText(col)) {
          // Text measures (unique users/sessions) count distinct values.
          row.values[k] = static_cast<double>(IdHash64(st->Text(col)));
        } else {
          row.values[k] = st->Double(col);
        }
      }
      agg.Add(row);
    }
    st->Reset();
    return absl::OkStatus();
  }

  absl::StatusOr<PageResult<DailyMetricsRow>> DailyMetrics(const std::string& project_id,
                                                           const DailyMetricsQuery& q) override {
    PageResult<DailyMetricsRow> result;
    auto project = ProjectKeyIfKnown(project_id);
    if (!project) return result;
    std::string where = " WHERE t.project = ? AND t.present = 1";
    std::vector<std::function<void(Stmt&, int&)>> binds;
    if (q.trace_name) {
      where += " AND t.name = ?";
      binds.push_back([v = *q.trace_name](Stmt& s, int& i) { s.Bind(i++, v); });
    }
    if (q.user_id) {
      where += " AND t.user_id = ?";
      binds.push_back([v = *q.user_id](Stmt& s, int& i) { s.Bind(i++, v); });
    }
    for (const auto& tag : q.tags) {
      where += " AND EXISTS (SELECT 1 FROM json_each(t.tags) WHERE json_each.value = ?)";
      binds.push_back([tag](Stmt& s, int& i) { s.Bind(i++, tag); });
    }
    AddInList(" AND t.environment", q.environments, &where, &binds);
    if (q.from_ms) {
      where += " AND t.timestamp >= ?";
      binds.push_back([v = *q.from_ms](Stmt& s, int& i) { s.Bind(i++, v); });
    }
    if (q.to_ms) {
      where += " AND t.timestamp < ?";
      binds.push_back([v = *q.to_ms](Stmt& s, int& i) { s.Bind(i++, v); });
    }
    const std::string day = "date(t.timestamp / 1000, 'unixepoch')";
    auto lease = readers_.Acquire();
    Db& db = lease.db();
    auto bind_all = [&](Stmt* st) {
      int i = 1;
      st->Bind(i++, *project);
      for (auto& b : binds) b(*st, i);
      return i;
    };
    ASSIGN_OR_RETURN(Stmt * count,
                     db.Prepare("SELECT COUNT(DISTINCT " + day + ") FROM traces t" + where));
    bind_all(count);
    ASSIGN_OR_RETURN(bool has, count->Step());
    result.total_items = has ? count->Int(0) : 0;
    count->Reset();
    ASSIGN_OR_RETURN(Stmt * days,
                     db.Prepare("SELECT " + day + " AS d, COUNT(*) FROM traces t" + where +
                                " GROUP BY d ORDER BY d DESC LIMIT ? OFFSET ?"));
    int i = bind_all(days);
    days->Bind(i++, q.page.limit);
    days->Bind(i++, static_cast<int64_t>(q.page.page - 1) * q.page.limit);
    std::map<std::string, size_t> index;
    while (true) {
      ASSIGN_OR_RETURN(bool row, days->Step());
      if (!row) break;
      DailyMetricsRow r;
      r.date = days->Text(0);
      r.count_traces = days->Int(1);
      index[r.date] = result.items.size();
      result.items.push_back(std::move(r));
    }
    days->Reset();
    if (result.items.empty()) return result;
    ASSIGN_OR_RETURN(
        Stmt * usage,
        db.Prepare("SELECT " + day +
                   " AS d, COALESCE(o.model, ''), SUM(COALESCE(o.input_tokens, 0)), "
                   "SUM(COALESCE(o.output_tokens, 0)), SUM(COALESCE(o.total_tokens, 0)), "
                   "COUNT(*), COUNT(DISTINCT o.trace_id), SUM(COALESCE(o.total_cost, 0)) FROM "
                   "observations o JOIN traces t ON t.rowid = o.trace_row" +
                   where + " AND d >= ? AND d <= ? GROUP BY d, o.model"));
    i = bind_all(usage);
    usage->Bind(i++, result.items.back().date);
    usage->Bind(i++, result.items.front().date);
    while (true) {
      ASSIGN_OR_RETURN(bool row, usage->Step());
      if (!row) break;
      auto it = index.find(usage->Text(0));
      if (it == index.end()) continue;
      DailyMetricsRow& r = result.items[it->second];
      DailyModelUsage u;
      u.model = usage->Text(1);
      u.input_usage = usage->Int(2);
      u.output_usage = usage->Int(3);
      u.total_usage = usage->Int(4);
      u.count_observations = usage->Int(5);
      u.count_traces = usage->Int(6);
      u.total_cost = usage->Double(7);
      r.count_observations += u.count_observations;
      r.total_cost += u.total_cost;
      // Langfuse lists usage only for observations with a model.
      if (!u.model.empty()) r.usage.push_back(std::move(u));
    }
    usage->Reset();
    return result;
  }

  absl::Status Ping() override {
    auto lease = readers_.Acquire();
    return lease.db().Exec("SELECT 1");
  }

  void Close() override {
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      closed_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_stop_ = true;
    }
    checkpoint_cv_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
    checkpoint_db_.reset();
    readers_.Clear();
    writer_db_.reset();
  }

 private:
  static constexpr const char* kTraceSelect =
      "SELECT t.rowid, t.id, t.created_at, t.updated_at, t.obs_count, t.total_cost, t.min_start, "
      "t.max_end, t.bookmarked, s.state FROM traces t JOIN trace_state s ON s.rowid = t.rowid";
  static constexpr const char* kObservationSelect =
      "SELECT o.rowid, o.id, o.created_at, o.updated_at, s.state FROM observations o JOIN "
      "observation_state s ON s.rowid = o.rowid";
  static constexpr const char* kScoreSelect =
      "SELECT s.rowid, s.id, s.created_at, s.updated_at, st.state FROM scores s JOIN score_state "
      "st ON st.rowid = s.rowid";

  using Binds = std::vector<std::function<void(Stmt&, int&)>>;

  // Binds the project and then the filter values, in the order the WHERE
  // clause names them; returns the next parameter index.
  static int BindAll(Stmt& st, int64_t project, const Binds& binds) {
    int i = 1;
    st.Bind(i++, project);
    for (const auto& b : binds) b(st, i);
    return i;
  }

  // COUNT(*) over `from_where` ("table alias WHERE ..."), a page's totalItems.
  static absl::StatusOr<int64_t> CountRows(Db& db, const std::string& from_where, int64_t project,
                                           const Binds& binds) {
    ASSIGN_OR_RETURN(Stmt * count, db.Prepare("SELECT COUNT(*) FROM " + from_where));
    BindAll(*count, project, binds);
    ASSIGN_OR_RETURN(bool has, count->Step());
    int64_t n = has ? count->Int(0) : 0;
    count->Reset();
    return n;
  }

  // The WHERE clause of a trace listing (the project is its first
  // parameter), with the filter values to bind in `binds`.
  static std::string TraceWhere(const TraceQuery& q, Binds* binds) {
    std::string where = " WHERE t.project = ? AND t.present = 1";
    auto add_eq = [&](const char* col, const std::optional<std::string>& v) {
      AddEquals("t.", col, v, &where, binds);
    };
    add_eq("user_id", q.user_id);
    add_eq("name", q.name);
    add_eq("session_id", q.session_id);
    add_eq("release", q.release);
    add_eq("version", q.version);
    AddInList(" AND t.environment", q.environments, &where, binds);
    if (q.from_ms) {
      where += " AND t.timestamp >= ?";
      binds->push_back([v = *q.from_ms](Stmt& s, int& i) { s.Bind(i++, v); });
    }
    if (q.to_ms) {
      where += " AND t.timestamp < ?";
      binds->push_back([v = *q.to_ms](Stmt& s, int& i) { s.Bind(i++, v); });
    }
    for (const auto& tag : q.tags) {
      where += " AND EXISTS (SELECT 1 FROM json_each(t.tags) WHERE json_each.value = ?)";
      binds->push_back([tag](Stmt& s, int& i) { s.Bind(i++, tag); });
    }
    AppendFilters(q.filters, TraceFilterSql(), &where, binds);
    // Scores by trace through their index on the trace's row: a probe per
    // candidate trace rather than a scan of every score.
    for (const auto& c : q.scores) {
      where +=
          " AND EXISTS (SELECT 1 FROM scores s INDEXED BY scores_by_trace WHERE s.trace_row = "
          "t.rowid AND s.name = ?";
      binds->push_back([name = c.name](Stmt& s, int& i) { s.Bind(i++, name); });
      where += c.value.column == "stringValue" ? " AND s.data_type = 'CATEGORICAL'"
                                               : " AND s.data_type <> 'CATEGORICAL'";
      AppendFilters({c.value}, ScoreFilterSql(), &where, binds);
      where += ")";
    }
    return where;
  }

  // " ORDER BY ..." of a trace listing; the rowid breaks ties.
  static std::string TraceOrder(const TraceQuery& q) {
    static const std::map<std::string, std::string> kOrderColumns = {
        {"timestamp", "t.timestamp"},
        {"name", "t.name"},
        {"userId", "t.user_id"},
        {"sessionId", "t.session_id"},
        {"release", "t.release"},
        {"version", "t.version"},
        {"environment", "t.environment"},
        {"createdAt", "t.created_at"},
        {"updatedAt", "t.updated_at"},
        {"totalCost", "t.total_cost"},
        {"latency", "(t.max_end - t.min_start)"},
        {"id", "t.id"}};
    auto col = kOrderColumns.find(q.order_by);
    const std::string order = col == kOrderColumns.end() ? "t.timestamp" : col->second;
    const char* dir = q.descending ? " DESC" : " ASC";
    return " ORDER BY " + order + dir + ", t.rowid" + dir;
  }

  // `select` with "INDEXED BY index" after its `table_alias` ("traces t").
  // The per-id and per-trace lookups name their index because an ORDER BY on
  // time could otherwise tempt the planner into walking the project's whole
  // time index instead.
  static std::string Indexed(std::string_view select, std::string_view table_alias,
                             std::string_view index) {
    std::string out(select);
    size_t at = out.find(table_alias);
    if (at != std::string::npos) {
      out.insert(at + table_alias.size(), " INDEXED BY " + std::string(index));
    }
    return out;
  }

  // Steps a statement selecting rows by (project, id hash) with the id in
  // column 1 and reads the row whose id really is `id` (hashes can collide).
  template <typename Record, typename Reader>
  static absl::StatusOr<std::optional<Record>> FindById(Stmt& st, const std::string& id,
                                                        Reader read) {
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (st.Text(1) != id) continue;
      ASSIGN_OR_RETURN(Record rec, read(st));
      st.Reset();
      return std::optional<Record>(std::move(rec));
    }
    st.Reset();
    return std::optional<Record>();
  }

  // " AND <alias><column> = ?" when `value` is set.
  static void AddEquals(std::string_view alias, std::string_view column,
                        const std::optional<std::string>& value, std::string* where,
                        std::vector<std::function<void(Stmt&, int&)>>* binds) {
    if (!value) return;
    *where += " AND " + std::string(alias) + std::string(column) + " = ?";
    binds->push_back([v = *value](Stmt& s, int& i) { s.Bind(i++, v); });
  }

  static void AddInList(const std::string& prefix, const std::vector<std::string>& values,
                        std::string* where, std::vector<std::function<void(Stmt&, int&)>>* binds) {
    if (values.empty()) return;
    *where += prefix + " IN (";
    for (size_t k = 0; k < values.size(); ++k) *where += k ? ",?" : "?";
    *where += ")";
    for (const auto& v : values) binds->push_back([v](Stmt& s, int& i) { s.Bind(i++, v); });
  }

  static absl::Status ExecBind(Db& db, const std::string& sql, int64_t v) {
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare(sql));
    st->Bind(1, v);
    auto s = st->Run();
    st->Reset();
    return s;
  }

  absl::StatusOr<TraceRecord> ReadTraceRow(Stmt& st, const std::string& project_id) {
    ASSIGN_OR_RETURN(EntityState state, StateFromBlob(st.Blob(9)));
    TraceRecord rec = MaterializeTrace(project_id, st.Text(1), state);
    rec.created_at_ms = st.Int(2);
    rec.updated_at_ms = st.Int(3);
    rec.observation_count = st.Int(4);
    rec.total_cost = st.Double(5);
    rec.min_start_ms = st.OptInt(6);
    rec.max_end_ms = st.OptInt(7);
    rec.bookmarked = st.Int(8) != 0;
    return rec;
  }

  absl::StatusOr<ObservationRecord> ReadObservationRow(Stmt& st, const std::string& project_id) {
    ASSIGN_OR_RETURN(EntityState state, StateFromBlob(st.Blob(4)));
    ObservationRecord rec = MaterializeObservation(project_id, st.Text(1), &state, nullptr);
    rec.created_at_ms = st.Int(2);
    rec.updated_at_ms = st.Int(3);
    return rec;
  }

  absl::StatusOr<ScoreRecord> ReadScoreRow(Stmt& st, const std::string& project_id) {
    ASSIGN_OR_RETURN(EntityState state, StateFromBlob(st.Blob(4)));
    ScoreRecord rec = MaterializeScore(project_id, st.Text(1), state);
    rec.created_at_ms = st.Int(2);
    rec.updated_at_ms = st.Int(3);
    return rec;
  }

  // ---- project keys: small integers standing in for project ids in rows.

  absl::Status LoadProjectKeys(Db& db) {
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare("SELECT key, id FROM project_keys"));
    std::lock_guard lock(keys_mu_);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      project_keys_[st->Text(1)] = st->Int(0);
    }
    st->Reset();
    return absl::OkStatus();
  }

  std::optional<int64_t> ProjectKeyIfKnown(const std::string& project_id) {
    std::lock_guard lock(keys_mu_);
    auto it = project_keys_.find(project_id);
    if (it == project_keys_.end()) return std::nullopt;
    return it->second;
  }

  // Writer thread only. The key becomes visible to readers only after the
  // transaction that inserts it commits, which is before any reader can see
  // rows that use it.
  absl::StatusOr<int64_t> ProjectKeyForWrite(Db& db, const std::string& project_id,
                                             std::vector<std::string>* added) {
    if (auto k = ProjectKeyIfKnown(project_id)) return *k;
    // Several requests of one group may bring the same new project.
    if (auto it = pending_keys_.find(project_id); it != pending_keys_.end()) return it->second;
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare("INSERT INTO project_keys(id) VALUES (?)"));
    st->Bind(1, project_id);
    RETURN_IF_ERROR(st->Run());
    st->Reset();
    int64_t key = db.LastInsertRowId();
    pending_keys_[project_id] = key;
    added->push_back(project_id);
    return key;
  }

  // ---- the writer

  // Runs on the caller's thread: groups the request's events by entity and
  // builds each entity's row as if it were new (see PreparedEntity).
  void Prepare(WriteRequest& req) {
    std::map<std::pair<int, std::string_view>, size_t> index;
    const json::storage_ptr arena(&req.state_arena);
    for (const IngestEvent& e : req.events) {
      auto [it, inserted] =
          index.try_emplace({static_cast<int>(e.kind), e.entity_id}, req.prepared.size());
      if (inserted) {
        PreparedEntity p(arena);
        p.kind = e.kind;
        p.id = e.entity_id;
        req.prepared.push_back(std::move(p));
      }
      req.prepared[it->second].events.push_back(&e);
    }
    // Entities already stored (updates from an earlier request) are merged
    // here too, from a reader's snapshot; see PreparedEntity::base. Only
    // rows whose ids are still listed in memory are looked for: updates
    // mostly follow their creates closely, and a lookup in the id index, on
    // a random page for a new id, cost more than it saved. The writer merges
    // an entity found only there itself.
    std::optional<ReaderPool::Lease> lease;
    std::optional<int64_t> project = ProjectKeyIfKnown(req.project_id);
    if (project) lease.emplace(readers_.Acquire());
    // Traces first: the payload frames they compress are offered to the
    // observations after them (see FrameCache).
    FrameCache trace_frames;
    auto prepare = [&](PreparedEntity& p) {
      if (lease) {
        auto stored = LoadEntity(lease->db(), static_cast<IdTable>(p.kind), *project, p.id, true,
                                 arena, /*recent_only=*/true);
        if (!stored.ok()) {
          p.base = PreparedEntity::Base{-1, -1, false};  // never matches: the writer merges
        } else if (*stored) {
          p.base = PreparedEntity::Base{(*stored)->rowid, (*stored)->rev, (*stored)->has_state};
          if ((*stored)->has_state) {
            p.state = std::move((*stored)->state);
            p.frames = std::move((*stored)->frames);
            switch (p.kind) {
              case EntityKind::kTrace:
                p.before = MaterializeTrace(req.project_id, p.id, p.state, Payloads::kSkip);
                break;
              case EntityKind::kObservation:
                p.before = MaterializeObservation(req.project_id, p.id, &p.state, nullptr,
                                                  Payloads::kSkip);
                break;
              case EntityKind::kScore:
                break;
            }
          }
        }
      }
      SortEvents(p.events);
      for (const IngestEvent* e : p.events) p.state.Apply(*e);
      switch (p.kind) {
        case EntityKind::kTrace:
          p.record = MaterializeTrace(req.project_id, p.id, p.state, Payloads::kSkip);
          break;
        case EntityKind::kObservation:
          p.record =
              MaterializeObservation(req.project_id, p.id, &p.state, prices_, Payloads::kSkip);
          break;
        case EntityKind::kScore:
          p.record = MaterializeScore(req.project_id, p.id, p.state);
          break;
      }
      p.blob =
          EncodeState(p.state, p.frames, &trace_frames,
                      p.kind == EntityKind::kTrace ? FrameCache::kRemember : FrameCache::kLookUp);
    };
    for (PreparedEntity& p : req.prepared) {
      if (p.kind == EntityKind::kTrace) prepare(p);
    }
    for (PreparedEntity& p : req.prepared) {
      if (p.kind != EntityKind::kTrace) prepare(p);
    }
  }

  absl::Status Submit(std::unique_ptr<WriteRequest> owned) {
    // The caller keeps a reference so that the request (parsed events and
    // prepared rows, often megabytes) is freed on the caller's thread rather
    // than on the writer, whose time is the store's throughput.
    std::shared_ptr<WriteRequest> req = std::move(owned);
    std::future<absl::Status> done = req->done.get_future();
    {
      std::lock_guard lock(mu_);
      if (closed_) return absl::UnavailableError("event store is shut down");
      if (queued_events_ + req->events.size() > options_.max_queued_events && queued_events_ > 0) {
        return absl::ResourceExhaustedError("ingestion queue is full, retry later");
      }
      queued_events_ += req->events.size();
      queue_.push_back(req);
    }
    cv_.notify_one();
    return done.get();
  }

  // sqlite3_wal_hook: runs on the writer after each commit, with the WAL's
  // length in pages. The checkpoint itself happens on the checkpointer.
  // A checkpoint is asked for every kCheckpointPages new pages rather than
  // after every commit past that length, so a page that several commits
  // dirtied in between is copied back once.
  static int OnWalCommit(void* self, sqlite3*, const char*, int pages) {
    auto* store = static_cast<SqliteEventStore*>(self);
    if (pages < store->wal_pages_at_last_signal_) {
      store->wal_pages_at_last_signal_ = 0;  // the WAL started over
    }
    if (pages - store->wal_pages_at_last_signal_ >= kCheckpointPages) {
      store->wal_pages_at_last_signal_ = pages;
      {
        std::lock_guard lock(store->checkpoint_mu_);
        store->checkpoint_wanted_ = true;
      }
      store->checkpoint_cv_.notify_one();
    }
    // The hook replaces the autocheckpoint: keep its backstop.
    if (pages >= kWriterCheckpointPages) {
      (void)sqlite3_wal_checkpoint_v2(store->writer_db_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                      nullptr, nullptr);
    }
    return SQLITE_OK;
  }

  // Copies the WAL back into the database whenever the writer asks, beside
  // the writer's next transactions (a passive checkpoint never blocks them).
  // The writer starts the WAL over once a checkpoint has caught up with it.
  void CheckpointLoop() {
    while (true) {
      {
        std::unique_lock lock(checkpoint_mu_);
        checkpoint_cv_.wait(lock, [&] { return checkpoint_stop_ || checkpoint_wanted_; });
        if (checkpoint_stop_) return;
        checkpoint_wanted_ = false;
      }
      const int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_->raw(), nullptr,
                                               SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        LogError("WAL checkpoint failed", {{"error", sqlite3_errstr(rc)}});
      }
    }
  }

  void WriterLoop() {
    bool released = true;
    while (true) {
      std::vector<std::shared_ptr<WriteRequest>> group;
      {
        std::unique_lock lock(mu_);
        // After a quiet spell, hand the page caches back to the OS: an idle
        // server should not hold the memory its last burst of load needed.
        if (!cv_.wait_for(lock, kIdleRelease, [&] { return closed_ || !queue_.empty(); })) {
          lock.unlock();
          if (!released) {
            // Ids are merged while idle, so an idle store holds none in memory.
            if (absl::Status s = MergeAllIds(); !s.ok()) {
              LogError("merging ids failed", {{"error", s.ToString()}});
            }
            // Keep the planner's statistics current as tables grow.
            (void)writer_db_->Exec("PRAGMA optimize");
            // Readers of an idle store find every page in the database file
            // rather than through a WAL of up to kCheckpointPages pages.
            (void)sqlite3_wal_checkpoint_v2(writer_db_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                            nullptr, nullptr);
            sqlite3_db_release_memory(writer_db_->raw());
            released = true;
          }
          for (auto& r : recent_ids_) r.ForgetMerged(kIdleRelease);
          readers_.ReleaseMemoryIfUsed();
          ReleaseThreadCache();
          ReleaseFreeMemory();
          continue;
        }
        released = false;
        if (queue_.empty() && closed_) return;
        size_t events = 0;
        while (!queue_.empty() && (group.empty() || events < options_.max_group_events)) {
          events += queue_.front()->events.size();
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        queued_events_ -= events;
      }
      absl::Status s = CommitGroup(group);
      if (!s.ok()) {
        LogError("write transaction failed", {{"error", s.ToString()}});
        IdChangesRolledBack();
        // The transaction rolled back; project keys it inserted are gone too.
        std::lock_guard lock(keys_mu_);
        pending_keys_.clear();
      }
      for (auto& req : group) {
        // Drop the writer's reference before waking the caller, so the
        // caller's is the last one and the caller frees the request.
        std::promise<absl::Status> done = std::move(req->done);
        req.reset();
        done.set_value(s);
      }
    }
  }

  // An entity touched by a group: all its events, and the prepared row when
  // exactly one request of the group brought it.
  struct GroupEntity {
    std::vector<const IngestEvent*> events;
    PreparedEntity* prepared = nullptr;
    int requests = 0;
  };

  struct Loaded {
    int64_t rowid = 0;
    int64_t rev = 0;
    bool has_state = false;
    EntityState state;  // payload fields held; see StateFromBlob()
    std::vector<std::string> frames;
  };

  // True when the writer may store `p`'s prepared result as it is: the row is
  // exactly as it was when `p` was prepared.
  static bool StillCurrent(const PreparedEntity* p, const std::optional<Loaded>& head) {
    if (!p) return false;
    if (!head) return !p->base;
    return p->base && p->base->rowid == head->rowid && p->base->rev == head->rev &&
           p->base->has_state == head->has_state;
  }

  // Finds the row of an entity by id in table `t` and loads its merge state.
  // With `with_state` false only the row's identity and revision are read.
  absl::StatusOr<std::optional<Loaded>> LoadEntity(Db& db, IdTable t, int64_t project,
                                                   const std::string& id, bool with_state = true,
                                                   json::storage_ptr sp = {},
                                                   bool recent_only = false) {
    ASSIGN_OR_RETURN(auto rows, RowsById(db, t, project, IdHash64(id), recent_only));
    ASSIGN_OR_RETURN(
        Stmt * st,
        db.Prepare("SELECT e.rowid, e.id, " + std::string(with_state ? "s.state" : "s.rowid") +
                   ", e.rev FROM " + kIdTableRows[t] + " e LEFT JOIN " + kIdTableState[t] +
                   " s ON s.rowid = e.rowid WHERE e.rowid = ?"));
    std::optional<Loaded> out;
    for (int64_t candidate : rows) {
      st->Reset();
      st->Bind(1, candidate);
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) continue;
      if (st->Text(1) != id) continue;
      // Constructed with `sp` so that the parsed state is moved into it, not
      // copied (assignment keeps the target's storage).
      Loaded l{0, 0, false, EntityState(sp), {}};
      l.rowid = st->Int(0);
      l.rev = st->Int(3);
      if (!st->IsNull(2)) {
        l.has_state = true;
        if (with_state) {
          ASSIGN_OR_RETURN(l.state, StateFromBlob(st->Blob(2), sp, &l.frames));
        }
      }
      out = std::move(l);
      break;
    }
    st->Reset();
    return out;
  }

  // The rows of table `t` that may have id hash `id_hash` in `project`: the
  // one listed in recent_ids_, then those in the id index (the list is
  // looked at first, so that a row merged in between is not missed), unless
  // `recent_only`. The caller compares the ids. Cheaper than kIdRows, whose IN builds a
  // temporary table per lookup, for the lookups of every write.
  absl::StatusOr<std::vector<int64_t>> RowsById(Db& db, IdTable t, int64_t project, int64_t id_hash,
                                                bool recent_only = false) {
    std::vector<int64_t> rows;
    if (auto recent = recent_ids_[t].Find(project, id_hash)) rows.push_back(*recent);
    if (recent_only) return rows;
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare(std::string("SELECT row FROM ") + kIdTableIndex[t] +
                                           " WHERE project = ? AND id_hash = ?"));
    st->Bind(1, project).Bind(2, id_hash);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      if (rows.empty() || st->Int(0) != rows.front()) rows.push_back(st->Int(0));
    }
    st->Reset();
    return rows;
  }

  // Makes a row just inserted into table `t` findable by id: listed in
  // recent_ids_ until merged into the id index, or indexed at once if its
  // key is listed already or its rowid was used before (a deleted last row's
  // rowid comes back, and Init() only lists rows past the highest it saw).
  absl::Status IndexNewRow(Db& db, IdTable t, int64_t project, int64_t id_hash, int64_t rowid) {
    const sqlite::RecentIds::Entry e{project, id_hash, rowid};
    if (rowid > highest_row_[t] && recent_ids_[t].Add(e)) {
      txn_id_changes_.push_back({t, e, true});
      txn_highest_row_[t] = std::max(txn_highest_row_[t], rowid);
      return absl::OkStatus();
    }
    return InsertIdEntry(db, t, e);
  }

  // Puts `e` into the id index of table `t` (no-op if it is there).
  absl::Status InsertIdEntry(Db& db, IdTable t, const sqlite::RecentIds::Entry& e) {
    ASSIGN_OR_RETURN(Stmt * st,
                     db.Prepare(std::string("INSERT OR IGNORE INTO ") + kIdTableIndex[t] +
                                "(project, id_hash, row) VALUES (?, ?, ?)"));
    st->Bind(1, e.project).Bind(2, e.id_hash).Bind(3, e.row);
    RETURN_IF_ERROR(st->Run());
    st->Reset();
    return absl::OkStatus();
  }

  // Deletes row `rowid` of table `t` with its merge state and id entries.
  absl::Status DeleteRow(Db& db, IdTable t, int64_t rowid) {
    const std::string table = kIdTableRows[t];
    ASSIGN_OR_RETURN(Stmt * del, db.Prepare("DELETE FROM " + table +
                                            " WHERE rowid = ? RETURNING project, id_hash"));
    del->Bind(1, rowid);
    ASSIGN_OR_RETURN(bool found, del->Step());
    std::optional<sqlite::RecentIds::Entry> e;
    if (found) e = sqlite::RecentIds::Entry{del->Int(0), del->Int(1), rowid};
    // RETURNING rows are all computed by the first step; finish the statement.
    while (found) {
      ASSIGN_OR_RETURN(found, del->Step());
    }
    del->Reset();
    RETURN_IF_ERROR(
        ExecBind(db, std::string("DELETE FROM ") + kIdTableState[t] + " WHERE rowid = ?", rowid));
    if (!e) return absl::OkStatus();
    ASSIGN_OR_RETURN(Stmt * ids, db.Prepare(std::string("DELETE FROM ") + kIdTableIndex[t] +
                                            " WHERE project = ? AND id_hash = ? AND row = ?"));
    ids->Bind(1, e->project).Bind(2, e->id_hash).Bind(3, rowid);
    RETURN_IF_ERROR(ids->Run());
    ids->Reset();
    if (recent_ids_[t].Find(e->project, e->id_hash) == rowid) {
      recent_ids_[t].Remove(*e);
      txn_id_changes_.push_back({t, *e, false});
    }
    return absl::OkStatus();
  }

  // Stores the next slice of each table's running id merge in the current
  // transaction; `slices` receives them for IdChangesCommitted().
  absl::Status StoreMergeSlices(
      Db& db, std::array<std::optional<sqlite::RecentIds::Slice>, kIdTables>* slices) {
    for (int t = 0; t < kIdTables; ++t) {
      if (!recent_ids_[t].merging()) continue;
      sqlite::RecentIds::Slice slice = recent_ids_[t].NextSlice(merge_slice_rows_[t]);
      for (const auto& e : slice.entries) {
        RETURN_IF_ERROR(InsertIdEntry(db, static_cast<IdTable>(t), e));
      }
      if (slice.completes) {
        ASSIGN_OR_RETURN(Stmt * mark, db.Prepare("UPDATE id_index_marks SET indexed_through = "
                                                 "MAX(indexed_through, ?) WHERE tbl = ?"));
        mark->Bind(1, recent_ids_[t].merge_through()).Bind(2, kIdTableRows[t]);
        RETURN_IF_ERROR(mark->Run());
        mark->Reset();
      }
      (*slices)[t] = std::move(slice);
    }
    return absl::OkStatus();
  }

  // After the commit of a transaction: records its merge slices and id
  // changes, and starts a merge for each table with enough new rows.
  void IdChangesCommitted(std::array<std::optional<sqlite::RecentIds::Slice>, kIdTables>& slices) {
    for (int t = 0; t < kIdTables; ++t) {
      highest_row_[t] = std::max(highest_row_[t], txn_highest_row_[t]);
      txn_highest_row_[t] = 0;
      if (slices[t]) recent_ids_[t].SliceStored(*slices[t]);
      // A merge pays off once the new ids far outnumber the pages of the id
      // index (~200 entries a page): each page of the index is then written
      // once for many of them. It runs a slice per commit, so that no commit
      // carries the whole of it.
      const size_t unmerged = recent_ids_[t].unmerged();
      const size_t threshold =
          std::max<size_t>(kMinMergeRows, static_cast<size_t>(highest_row_[t] / 16));
      if (!recent_ids_[t].merging() && unmerged >= threshold) {
        merge_slice_rows_[t] = std::max<size_t>(kMinMergeSliceRows, unmerged / 64);
        recent_ids_[t].BeginMerge();
      }
      recent_ids_[t].ForgetMerged(kKeepMerged);
    }
    txn_id_changes_.clear();
  }

  // After a rollback: takes back the id changes of the transaction.
  void IdChangesRolledBack() {
    for (auto it = txn_id_changes_.rbegin(); it != txn_id_changes_.rend(); ++it) {
      if (it->added) {
        recent_ids_[it->table].Remove(it->entry);
      } else {
        (void)recent_ids_[it->table].Add(it->entry);
      }
    }
    txn_id_changes_.clear();
    for (int64_t& h : txn_highest_row_) h = 0;
  }

  // Merges every listed id into the id indexes, a transaction per slice,
  // while no write is waiting (an idle store holds no ids in memory).
  absl::Status MergeAllIds() {
    for (int t = 0; t < kIdTables; ++t) {
      if (recent_ids_[t].merging() || recent_ids_[t].unmerged() == 0) continue;
      merge_slice_rows_[t] = kIdleMergeSliceRows;
      recent_ids_[t].BeginMerge();
    }
    while (true) {
      bool any = false;
      for (const auto& r : recent_ids_) any = any || r.merging();
      if (!any) return absl::OkStatus();
      {
        std::lock_guard lock(mu_);
        if (!queue_.empty() || closed_) return absl::OkStatus();
      }
      std::array<std::optional<sqlite::RecentIds::Slice>, kIdTables> slices;
      ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(*writer_db_, true));
      RETURN_IF_ERROR(StoreMergeSlices(*writer_db_, &slices));
      RETURN_IF_ERROR(txn->Commit());
      IdChangesCommitted(slices);
    }
  }

  // Lists the rows past each id index's mark (rows of a merge that had not
  // completed, or never began, when the store last closed).
  absl::Status LoadRecentIds(Db& db) {
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(db, true));
    for (int t = 0; t < kIdTables; ++t) {
      const std::string table = kIdTableRows[t];
      ASSIGN_OR_RETURN(Stmt * mark,
                       db.Prepare("SELECT indexed_through FROM id_index_marks WHERE tbl = ?"));
      mark->Bind(1, table);
      ASSIGN_OR_RETURN(bool has_mark, mark->Step());
      const int64_t through = has_mark ? mark->Int(0) : 0;
      mark->Reset();
      ASSIGN_OR_RETURN(Stmt * rows, db.Prepare("SELECT project, id_hash, rowid FROM " + table +
                                               " WHERE rowid > ? ORDER BY rowid"));
      rows->Bind(1, through);
      highest_row_[t] = through;
      while (true) {
        ASSIGN_OR_RETURN(bool row, rows->Step());
        if (!row) break;
        RETURN_IF_ERROR(
            IndexNewRow(db, static_cast<IdTable>(t), rows->Int(0), rows->Int(1), rows->Int(2)));
      }
      rows->Reset();
      ASSIGN_OR_RETURN(Stmt * max, db.Prepare("SELECT COALESCE(MAX(rowid), 0) FROM " + table));
      ASSIGN_OR_RETURN(bool has_max, max->Step());
      if (has_max) txn_highest_row_[t] = std::max(txn_highest_row_[t], max->Int(0));
      max->Reset();
    }
    RETURN_IF_ERROR(txn->Commit());
    std::array<std::optional<sqlite::RecentIds::Slice>, kIdTables> none;
    IdChangesCommitted(none);
    return absl::OkStatus();
  }

  // loupe_recent_row(table, project, id_hash): the row listed in the store's
  // RecentIds of `table` for (project, id_hash), or NULL.
  static void RecentRowSql(sqlite3_context* ctx, int, sqlite3_value** argv) {
    auto* recent = static_cast<const sqlite::RecentIds*>(sqlite3_user_data(ctx));
    const int t = sqlite3_value_int(argv[0]);
    if (t < 0 || t >= kIdTables) {
      sqlite3_result_error(ctx, "loupe_recent_row: unknown table", -1);
      return;
    }
    auto row = recent[t].Find(sqlite3_value_int64(argv[1]), sqlite3_value_int64(argv[2]));
    if (row) {
      sqlite3_result_int64(ctx, *row);
    } else {
      sqlite3_result_null(ctx);
    }
  }

  absl::Status RegisterRecentRow(Db& db) {
    if (int rc = sqlite3_create_function_v2(db.raw(), "loupe_recent_row", 3, SQLITE_UTF8,
                                            recent_ids_.data(), &RecentRowSql, nullptr, nullptr,
                                            nullptr);
        rc != SQLITE_OK) {
      return sqlite::SqliteError(db.raw(), rc, "register loupe_recent_row");
    }
    return absl::OkStatus();
  }

  absl::Status PutState(Db& db, const std::string& state_table, int64_t rowid,
                        std::string_view blob) {
    ASSIGN_OR_RETURN(Stmt * st, db.Prepare("INSERT OR REPLACE INTO " + state_table +
                                           "(rowid, state) VALUES (?, ?)"));
    st->Bind(1, rowid).BindBlob(2, blob);
    RETURN_IF_ERROR(st->Run());
    st->Reset();
    return absl::OkStatus();
  }

  // Adds rollup deltas (which may be negative) to the hourly rollups.
  absl::Status ApplyRollups(Db& db, const std::map<RollupKey, RollupDelta>& rollups) {
    for (const auto& [key, d] : rollups) {
      if (d.count == 0 && d.cost == 0 && d.total_tokens == 0 && d.input_tokens == 0 &&
          d.output_tokens == 0) {
        continue;
      }
      ASSIGN_OR_RETURN(
          Stmt * st,
          db.Prepare(
              "INSERT INTO rollup_hourly(project, hour, environment, type, model, count, "
              "cost, input_tokens, output_tokens, total_tokens) VALUES (?,?,?,?,?,?,?,?,?,?) "
              "ON CONFLICT(project, hour, environment, type, model) DO UPDATE SET "
              "count = count + excluded.count, cost = cost + excluded.cost, "
              "input_tokens = input_tokens + excluded.input_tokens, "
              "output_tokens = output_tokens + excluded.output_tokens, "
              "total_tokens = total_tokens + excluded.total_tokens"));
      st->Bind(1, std::get<0>(key)).Bind(2, std::get<1>(key)).Bind(3, std::get<2>(key));
      st->Bind(4, std::get<3>(key)).Bind(5, std::get<4>(key)).Bind(6, d.count).Bind(7, d.cost);
      st->Bind(8, d.input_tokens).Bind(9, d.output_tokens).Bind(10, d.total_tokens);
      RETURN_IF_ERROR(st->Run());
      st->Reset();
    }
    return absl::OkStatus();
  }

  static void AddLatency(LatencyDeltas* latencies, const RollupKey& key, int64_t latency_ms,
                         int64_t delta) {
    const auto& [project, hour, environment, type, name] = key;
    (*latencies)[{project, hour, environment, type, name,
                  LatencyBucket(static_cast<double>(latency_ms))}] += delta;
  }

  // Adds latency histogram deltas (which may be negative).
  absl::Status ApplyLatencies(Db& db, const LatencyDeltas& latencies) {
    for (const auto& [key, delta] : latencies) {
      if (delta == 0) continue;
      ASSIGN_OR_RETURN(Stmt * st,
                       db.Prepare("INSERT INTO latency_hourly(project, hour, environment, type, "
                                  "key, bucket, count) VALUES (?,?,?,?,?,?,?) ON CONFLICT(project, "
                                  "hour, environment, type, key, bucket) DO UPDATE SET count = "
                                  "count + excluded.count"));
      st->Bind(1, std::get<0>(key)).Bind(2, std::get<1>(key)).Bind(3, std::get<2>(key));
      st->Bind(4, std::get<3>(key)).Bind(5, std::get<4>(key)).Bind(6, std::get<5>(key));
      st->Bind(7, delta);
      RETURN_IF_ERROR(st->Run());
      st->Reset();
    }
    return absl::OkStatus();
  }

  // Adds daily user rollup deltas (which may be negative).
  absl::Status ApplyUsers(Db& db, const UserDeltas& users) {
    for (const auto& [key, d] : users) {
      if (d.count == 0 && d.cost == 0) continue;
      ASSIGN_OR_RETURN(Stmt * st,
                       db.Prepare("INSERT INTO user_rollup_daily(project, day, environment, "
                                  "user_id, count, cost) VALUES (?,?,?,?,?,?) ON "
                                  "CONFLICT(project, day, environment, user_id) DO UPDATE SET "
                                  "count = count + excluded.count, cost = cost + excluded.cost"));
      st->Bind(1, std::get<0>(key)).Bind(2, std::get<1>(key)).Bind(3, std::get<2>(key));
      st->Bind(4, std::get<3>(key)).Bind(5, d.count).Bind(6, d.cost);
      RETURN_IF_ERROR(st->Run());
      st->Reset();
    }
    return absl::OkStatus();
  }

  absl::Status CommitGroup(std::vector<std::shared_ptr<WriteRequest>>& group) {
    Db& db = *writer_db_;
    ASSIGN_OR_RETURN(auto txn, sqlite::Transaction::Begin(db, true));
    std::vector<std::string> added_keys;
    // Entities of this group with their events; merging them in memory first
    // means an entity touched by several events is read and written once.
    using EntityKey = std::tuple<int, int64_t, std::string>;  // kind, project, id
    std::map<EntityKey, GroupEntity> entities;
    std::map<int64_t, std::string> project_ids;
    for (auto& req : group) {
      if (req->job) {
        RETURN_IF_ERROR(req->job(db));
        continue;
      }
      ASSIGN_OR_RETURN(int64_t project, ProjectKeyForWrite(db, req->project_id, &added_keys));
      project_ids[project] = req->project_id;
      for (PreparedEntity& p : req->prepared) {
        GroupEntity& g = entities[{static_cast<int>(p.kind), project, p.id}];
        g.events.insert(g.events.end(), p.events.begin(), p.events.end());
        // The prepared row is only valid when this request is the entity's
        // only source in the group.
        g.prepared = g.requests++ == 0 ? &p : nullptr;
      }
    }
    const int64_t now = NowMillis();
    std::map<std::pair<int64_t, std::string>, TraceDelta> trace_deltas;
    TraceRows trace_rows;
    std::map<RollupKey, RollupDelta> rollups;
    LatencyDeltas latencies;
    UserDeltas users;

    // Traces sort first, so the rows of the traces this group writes are
    // known before the observations and scores that point at them.
    for (auto& [key, g] : entities) {
      auto [kind, project, id] = key;
      const std::string& project_id = project_ids[project];
      switch (static_cast<EntityKind>(kind)) {
        case EntityKind::kTrace:
          RETURN_IF_ERROR(WriteTrace(db, project, project_id, id, g, now, &trace_rows, &rollups,
                                     &latencies, &users));
          break;
        case EntityKind::kObservation:
          RETURN_IF_ERROR(WriteObservation(db, project, project_id, id, g, now, &trace_rows,
                                           &trace_deltas, &rollups, &latencies));
          break;
        case EntityKind::kScore:
          RETURN_IF_ERROR(WriteScore(db, project, project_id, id, g, now, &trace_rows));
          break;
      }
    }
    for (auto& [key, delta] : trace_deltas) {
      RETURN_IF_ERROR(ApplyTraceDelta(db, key.first, key.second, delta, now, &trace_rows, &rollups,
                                      &latencies, &users));
    }
    RETURN_IF_ERROR(ApplyRollups(db, rollups));
    RETURN_IF_ERROR(ApplyLatencies(db, latencies));
    RETURN_IF_ERROR(ApplyUsers(db, users));
    std::array<std::optional<sqlite::RecentIds::Slice>, kIdTables> slices;
    RETURN_IF_ERROR(StoreMergeSlices(db, &slices));
    RETURN_IF_ERROR(txn->Commit());
    IdChangesCommitted(slices);
    // Publish project keys only now that their rows are durable.
    std::lock_guard lock(keys_mu_);
    for (const auto& id : added_keys) project_keys_[id] = pending_keys_[id];
    pending_keys_.clear();
    return absl::OkStatus();
  }

  static void SortEvents(std::vector<const IngestEvent*>& events) {
    std::sort(events.begin(), events.end(), [](const IngestEvent* a, const IngestEvent* b) {
      return std::tie(a->timestamp_us, a->is_update, a->event_id) <
             std::tie(b->timestamp_us, b->is_update, b->event_id);
    });
  }

  // The row of trace `trace_id`, found through `rows` (this group's traces)
  // or the id index, else created as a row that lists ignore until the
  // trace itself arrives (present = 0), as for observations that come first.
  absl::StatusOr<int64_t> TraceRowFor(Db& db, int64_t project, const std::string& trace_id,
                                      int64_t now, TraceRows* rows) {
    auto it = rows->find({project, trace_id});
    if (it != rows->end()) return it->second;
    ASSIGN_OR_RETURN(auto candidates, RowsById(db, kTraceIds, project, IdHash64(trace_id)));
    ASSIGN_OR_RETURN(Stmt * find, db.Prepare("SELECT 1 FROM traces WHERE rowid = ? AND id = ?"));
    std::optional<int64_t> rowid;
    for (int64_t candidate : candidates) {
      find->Bind(1, candidate).Bind(2, trace_id);
      ASSIGN_OR_RETURN(bool row, find->Step());
      find->Reset();
      if (row) {
        rowid = candidate;
        break;
      }
    }
    if (!rowid) {
      ASSIGN_OR_RETURN(Stmt * ins, db.Prepare("INSERT INTO traces(project, id, id_hash, present, "
                                              "created_at, updated_at) VALUES (?,?,?,0,?,?)"));
      ins->Bind(1, project).Bind(2, trace_id).Bind(3, IdHash64(trace_id)).Bind(4, now).Bind(5, now);
      RETURN_IF_ERROR(ins->Run());
      ins->Reset();
      rowid = db.LastInsertRowId();
      RETURN_IF_ERROR(IndexNewRow(db, kTraceIds, project, IdHash64(trace_id), *rowid));
    }
    rows->emplace(std::make_pair(project, trace_id), *rowid);
    return *rowid;
  }

  absl::Status WriteTrace(Db& db, int64_t project, const std::string& project_id,
                          const std::string& id, GroupEntity& g, int64_t now, TraceRows* rows,
                          std::map<RollupKey, RollupDelta>* rollups, LatencyDeltas* latencies,
                          UserDeltas* users) {
    ASSIGN_OR_RETURN(auto loaded, LoadEntity(db, kTraceIds, project, id, false));
    bool was_present = loaded && loaded->has_state;
    std::optional<TraceRecord> before;
    TraceRecord t;
    std::string blob;
    if (StillCurrent(g.prepared, loaded)) {
      t = std::move(std::get<TraceRecord>(g.prepared->record));
      blob = std::move(g.prepared->blob);
      if (g.prepared->before) before = std::move(std::get<TraceRecord>(*g.prepared->before));
    } else {
      if (loaded) {
        ASSIGN_OR_RETURN(loaded, LoadEntity(db, kTraceIds, project, id));
      }
      EntityState state = loaded ? std::move(loaded->state) : EntityState();
      std::vector<std::string> frames;
      if (loaded) frames = std::move(loaded->frames);
      if (was_present) before = MaterializeTrace(project_id, id, state, Payloads::kSkip);
      SortEvents(g.events);
      for (const IngestEvent* e : g.events) state.Apply(*e);
      t = MaterializeTrace(project_id, id, state, Payloads::kSkip);
      blob = EncodeState(state, frames);
    }
    // The trace's aggregates so far (from its observations) move with it to
    // the rollup of its (possibly new) hour, environment and name.
    double cost = 0;
    std::optional<int64_t> latency;
    if (loaded) {
      ASSIGN_OR_RETURN(Stmt * agg, db.Prepare("SELECT total_cost, max_end - min_start FROM "
                                              "traces WHERE rowid = ?"));
      agg->Bind(1, loaded->rowid);
      ASSIGN_OR_RETURN(bool row, agg->Step());
      if (row) {
        cost = agg->Double(0);
        latency = agg->OptInt(1);
      }
      agg->Reset();
    }
    auto contribute = [&](const TraceRecord& r, int sign) {
      RollupKey key{project, HourOf(r.timestamp_ms), r.environment, "TRACE", r.name.value_or("")};
      RollupDelta& d = (*rollups)[key];
      d.count += sign;
      d.cost += sign * cost;
      if (latency) AddLatency(latencies, key, *latency, sign);
      if (r.user_id) {
        UserDelta& u = (*users)[{project, DayOf(r.timestamp_ms), r.environment, *r.user_id}];
        u.count += sign;
        u.cost += sign * cost;
      }
    };
    if (before) contribute(*before, -1);
    contribute(t, +1);

    int64_t rowid;
    // SQLite rewrites the entry of every index whose columns an UPDATE sets,
    // changed or not: an upsert that keeps the indexed columns (the usual
    // trace-create with the output) leaves them out, so the user, session,
    // name and time indexes' pages are not dirtied again.
    const bool index_columns_kept =
        was_present && before && before->timestamp_ms == t.timestamp_ms && before->name == t.name &&
        before->user_id == t.user_id && before->session_id == t.session_id;
    if (loaded) {
      rowid = loaded->rowid;
      ASSIGN_OR_RETURN(
          Stmt * st,
          db.Prepare(index_columns_kept ? "UPDATE traces SET release = ?, version = ?, "
                                          "environment = ?, tags = ?, public = ?, updated_at = ?, "
                                          "rev = rev + 1 WHERE rowid = ?"
                                        : "UPDATE traces SET present = 1, timestamp = ?, name = ?, "
                                          "user_id = ?, session_id = ?, release = ?, version = ?, "
                                          "environment = ?, tags = ?, public = ?, updated_at = ?, "
                                          "rev = rev + 1 WHERE rowid = ?"));
      int i = 1;
      if (!index_columns_kept) {
        st->Bind(i++, t.timestamp_ms);
        st->Bind(i++, t.name);
        st->Bind(i++, t.user_id);
        st->Bind(i++, t.session_id);
      }
      st->Bind(i++, t.release);
      st->Bind(i++, t.version);
      st->Bind(i++, t.environment);
      st->Bind(i++, TagsText(t.tags));
      st->Bind(i++, t.is_public ? 1 : 0);
      st->Bind(i++, now);
      st->Bind(i, rowid);
      RETURN_IF_ERROR(st->Run());
      st->Reset();
    } else {
      ASSIGN_OR_RETURN(Stmt * st,
                       db.Prepare("INSERT INTO traces(project, id, id_hash, present, timestamp, "
                                  "name, user_id, session_id, release, version, environment, "
                                  "tags, public, created_at, updated_at) VALUES "
                                  "(?,?,?,1,?,?,?,?,?,?,?,?,?,?,?)"));
      st->Bind(1, project).Bind(2, id).Bind(3, IdHash64(id)).Bind(4, t.timestamp_ms);
      st->Bind(5, t.name).Bind(6, t.user_id).Bind(7, t.session_id).Bind(8, t.release);
      st->Bind(9, t.version).Bind(10, t.environment).Bind(11, TagsText(t.tags));
      st->Bind(12, t.is_public ? 1 : 0).Bind(13, now).Bind(14, now);
      RETURN_IF_ERROR(st->Run());
      st->Reset();
      rowid = db.LastInsertRowId();
      RETURN_IF_ERROR(IndexNewRow(db, kTraceIds, project, IdHash64(id), rowid));
    }
    rows->emplace(std::make_pair(project, id), rowid);
    RETURN_IF_ERROR(PutState(db, "trace_state", rowid, blob));
    if (t.session_id) {
      ASSIGN_OR_RETURN(Stmt * st, db.Prepare("INSERT OR IGNORE INTO sessions(project, id, "
                                             "environment, created_at) VALUES (?,?,?,?)"));
      st->Bind(1, project).Bind(2, *t.session_id).Bind(3, t.environment).Bind(4, now);
      RETURN_IF_ERROR(st->Run());
      st->Reset();
    }
    return absl::OkStatus();
  }

  absl::Status WriteObservation(Db& db, int64_t project, const std::string& project_id,
                                const std::string& id, GroupEntity& g, int64_t now,
                                TraceRows* trace_rows,
                                std::map<std::pair<int64_t, std::string>, TraceDelta>* traces,
                                std::map<RollupKey, RollupDelta>* rollups,
                                LatencyDeltas* latencies) {
    ASSIGN_OR_RETURN(auto loaded, LoadEntity(db, kObservationIds, project, id, false));
    std::optional<ObservationRecord> before;
    ObservationRecord o;
    std::string blob;
    if (StillCurrent(g.prepared, loaded)) {
      o = std::move(std::get<ObservationRecord>(g.prepared->record));
      blob = std::move(g.prepared->blob);
      if (g.prepared->before) before = std::move(std::get<ObservationRecord>(*g.prepared->before));
    } else {
      if (loaded) {
        ASSIGN_OR_RETURN(loaded, LoadEntity(db, kObservationIds, project, id));
      }
      EntityState state = loaded ? std::move(loaded->state) : EntityState();
      std::vector<std::string> frames;
      if (loaded) frames = std::move(loaded->frames);
      if (loaded) {
        before = MaterializeObservation(project_id, id, &state, nullptr, Payloads::kSkip);
      }
      SortEvents(g.events);
      for (const IngestEvent* e : g.events) state.Apply(*e);
      o = MaterializeObservation(project_id, id, &state, prices_, Payloads::kSkip);
      blob = EncodeState(state, frames);
    }

    auto contribute = [&](const ObservationRecord& r, int sign) {
      TraceDelta& td = (*traces)[{project, r.trace_id}];
      td.count += sign;
      td.cost += sign * r.total_cost.value_or(0);
      if (sign > 0) {
        td.min_start = td.min_start ? std::min(*td.min_start, r.start_time_ms) : r.start_time_ms;
        int64_t end = r.end_time_ms.value_or(r.start_time_ms);
        td.max_end = td.max_end ? std::max(*td.max_end, end) : end;
      }
      RollupKey key{project, HourOf(r.start_time_ms), r.environment, r.type, r.model.value_or("")};
      RollupDelta& rd = (*rollups)[key];
      if (r.end_time_ms) AddLatency(latencies, key, *r.end_time_ms - r.start_time_ms, sign);
      rd.count += sign;
      rd.cost += sign * r.total_cost.value_or(0);
      rd.input_tokens += sign * UsageSum(r.usage_details, "input");
      rd.output_tokens += sign * UsageSum(r.usage_details, "output");
      rd.total_tokens += sign * UsageTotal(r.usage_details);
    };
    if (before) contribute(*before, -1);
    contribute(o, +1);
    ASSIGN_OR_RETURN(int64_t trace_row, TraceRowFor(db, project, o.trace_id, now, trace_rows));

    // As for traces: an update that keeps the trace and start time leaves
    // those columns out, so their indexes are not rewritten.
    const bool index_columns_kept = loaded && before && before->trace_id == o.trace_id &&
                                    before->start_time_ms == o.start_time_ms;
    auto bind_common = [&](Stmt* st, int first) {
      int i = first;
      if (!index_columns_kept) {
        st->Bind(i++, o.trace_id);
        st->Bind(i++, IdHash64(o.trace_id));
        st->Bind(i++, trace_row);
      }
      st->Bind(i++, o.type);
      st->Bind(i++, o.name);
      if (!index_columns_kept) st->Bind(i++, o.start_time_ms);
      st->Bind(i++, o.end_time_ms);
      st->Bind(i++, o.parent_observation_id);
      st->Bind(i++, o.level);
      st->Bind(i++, o.environment);
      st->Bind(i++, o.model);
      st->Bind(i++, o.version);
      st->Bind(i++, o.total_cost);
      st->Bind(i++, UsageSum(o.usage_details, "input"));
      st->Bind(i++, UsageSum(o.usage_details, "output"));
      st->Bind(i++, UsageTotal(o.usage_details));
      st->Bind(i++, o.prompt_name);
      st->Bind(i++, o.prompt_version);
      st->Bind(i++, o.completion_start_time_ms);
      std::optional<double> input_cost, output_cost;
      if (!o.cost_details.empty()) {
        input_cost = CostSum(o.cost_details, "input");
        output_cost = CostSum(o.cost_details, "output");
      }
      st->Bind(i++, input_cost);
      st->Bind(i++, output_cost);
      st->Bind(i++, now);
      return i;
    };
    int64_t rowid;
    if (loaded) {
      rowid = loaded->rowid;
      ASSIGN_OR_RETURN(
          Stmt * st,
          db.Prepare(index_columns_kept
                         ? "UPDATE observations SET type = ?, name = ?, end_time = ?, "
                           "parent_id = ?, level = ?, environment = ?, model = ?, version = ?, "
                           "total_cost = ?, input_tokens = ?, output_tokens = ?, "
                           "total_tokens = ?, prompt_name = ?, prompt_version = ?, "
                           "completion_start_time = ?, input_cost = ?, output_cost = ?, "
                           "updated_at = ?, rev = rev + 1 WHERE rowid = ?"
                         : "UPDATE observations SET trace_id = ?, trace_hash = ?, "
                           "trace_row = ?, type = ?, name = ?, start_time = ?, end_time = ?, "
                           "parent_id = ?, level = ?, environment = ?, model = ?, version = ?, "
                           "total_cost = ?, input_tokens = ?, output_tokens = ?, "
                           "total_tokens = ?, prompt_name = ?, prompt_version = ?, "
                           "completion_start_time = ?, input_cost = ?, output_cost = ?, "
                           "updated_at = ?, rev = rev + 1 WHERE rowid = ?"));
      int i = bind_common(st, 1);
      st->Bind(i, rowid);
      RETURN_IF_ERROR(st->Run());
      st->Reset();
    } else {
      ASSIGN_OR_RETURN(
          Stmt * st,
          db.Prepare(
              "INSERT INTO observations(trace_id, trace_hash, trace_row, type, name, start_time, "
              "end_time, parent_id, level, environment, model, version, total_cost, "
              "input_tokens, output_tokens, total_tokens, prompt_name, prompt_version, "
              "completion_start_time, input_cost, output_cost, updated_at, project, id, "
              "id_hash, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
      int i = bind_common(st, 1);
      st->Bind(i++, project);
      st->Bind(i++, id);
      st->Bind(i++, IdHash64(id));
      st->Bind(i++, now);
      RETURN_IF_ERROR(st->Run());
      st->Reset();
      rowid = db.LastInsertRowId();
      RETURN_IF_ERROR(IndexNewRow(db, kObservationIds, project, IdHash64(id), rowid));
    }
    return PutState(db, "observation_state", rowid, blob);
  }

  absl::Status ApplyTraceDelta(Db& db, int64_t project, const std::string& trace_id,
                               const TraceDelta& d, int64_t now, TraceRows* trace_rows,
                               std::map<RollupKey, RollupDelta>* rollups, LatencyDeltas* latencies,
                               UserDeltas* users) {
    ASSIGN_OR_RETURN(int64_t rowid, TraceRowFor(db, project, trace_id, now, trace_rows));
    ASSIGN_OR_RETURN(Stmt * find,
                     db.Prepare("SELECT rowid, present, timestamp, environment, COALESCE(name, "
                                "''), min_start, max_end, user_id FROM traces WHERE rowid = ?"));
    find->Bind(1, rowid);
    ASSIGN_OR_RETURN(bool row, find->Step());
    if (row) {
      // A listed trace's cost and latency are in its hour's rollups: move
      // them by this delta (the UPDATE below applies the same rule).
      if (find->Int(1) == 1) {
        RollupKey key{project, HourOf(find->Int(2)), find->Text(3), "TRACE", find->Text(4)};
        (*rollups)[key].cost += d.cost;
        if (!find->IsNull(7)) {
          (*users)[{project, DayOf(find->Int(2)), find->Text(3), find->Text(7)}].cost += d.cost;
        }
        const std::optional<int64_t> min_start = find->OptInt(5), max_end = find->OptInt(6);
        std::optional<int64_t> new_min = min_start, new_max = max_end;
        if (d.min_start && (!new_min || *d.min_start < *new_min)) new_min = d.min_start;
        if (d.max_end && (!new_max || *d.max_end > *new_max)) new_max = d.max_end;
        if (new_min != min_start || new_max != max_end) {
          if (min_start && max_end) AddLatency(latencies, key, *max_end - *min_start, -1);
          if (new_min && new_max) AddLatency(latencies, key, *new_max - *new_min, +1);
        }
      }
    }
    find->Reset();
    ASSIGN_OR_RETURN(Stmt * st,
                     db.Prepare("UPDATE traces SET obs_count = obs_count + ?, total_cost = "
                                "total_cost + ?, min_start = CASE WHEN ? IS NULL THEN min_start "
                                "WHEN min_start IS NULL OR ? < min_start THEN ? ELSE min_start "
                                "END, max_end = CASE WHEN ? IS NULL THEN max_end WHEN max_end IS "
                                "NULL OR ? > max_end THEN ? ELSE max_end END WHERE rowid = ?"));
    st->Bind(1, d.count).Bind(2, d.cost);
    st->Bind(3, d.min_start).Bind(4, d.min_start).Bind(5, d.min_start);
    st->Bind(6, d.max_end).Bind(7, d.max_end).Bind(8, d.max_end).Bind(9, rowid);
    RETURN_IF_ERROR(st->Run());
    st->Reset();
    return absl::OkStatus();
  }

  absl::Status WriteScore(Db& db, int64_t project, const std::string& project_id,
                          const std::string& id, GroupEntity& g, int64_t now,
                          TraceRows* trace_rows) {
    ASSIGN_OR_RETURN(auto loaded, LoadEntity(db, kScoreIds, project, id, false));
    ScoreRecord s;
    std::string blob;
    if (StillCurrent(g.prepared, loaded)) {
      s = std::move(std::get<ScoreRecord>(g.prepared->record));
      blob = std::move(g.prepared->blob);
    } else {
      if (loaded) {
        ASSIGN_OR_RETURN(loaded, LoadEntity(db, kScoreIds, project, id));
      }
      EntityState state = loaded ? std::move(loaded->state) : EntityState();
      std::vector<std::string> frames;
      if (loaded) frames = std::move(loaded->frames);
      SortEvents(g.events);
      for (const IngestEvent* e : g.events) state.Apply(*e);
      s = MaterializeScore(project_id, id, state);
      blob = EncodeState(state, frames);
    }
    std::optional<int64_t> trace_hash, trace_row;
    if (s.trace_id) {
      trace_hash = IdHash64(*s.trace_id);
      ASSIGN_OR_RETURN(trace_row, TraceRowFor(db, project, *s.trace_id, now, trace_rows));
    }
    auto bind_common = [&](Stmt* st, int first) {
      int i = first;
      st->Bind(i++, s.trace_id);
      st->Bind(i++, trace_hash);
      st->Bind(i++, trace_row);
      st->Bind(i++, s.observation_id);
      st->Bind(i++, s.session_id);
      st->Bind(i++, s.dataset_run_id);
      st->Bind(i++, s.name);
      st->Bind(i++, s.value);
      st->Bind(i++, s.string_value);
      st->Bind(i++, s.source);
      st->Bind(i++, s.data_type);
      st->Bind(i++, s.timestamp_ms);
      st->Bind(i++, s.environment);
      st->Bind(i++, s.config_id);
      st->Bind(i++, s.queue_id);
      st->Bind(i++, s.author_user_id);
      std::optional<int64_t> observation_hash;
      if (s.observation_id) observation_hash = IdHash64(*s.observation_id);
      st->Bind(i++, observation_hash);
      st->Bind(i++, now);
      return i;
    };
    int64_t rowid;
    if (loaded) {
      rowid = loaded->rowid;
      ASSIGN_OR_RETURN(Stmt * st,
                       db.Prepare("UPDATE scores SET trace_id = ?, trace_hash = ?, trace_row = ?, "
                                  "observation_id = ?, session_id = ?, dataset_run_id = ?, "
                                  "name = ?, value = ?, string_value = ?, source = ?, "
                                  "data_type = ?, timestamp = ?, environment = ?, config_id = ?, "
                                  "queue_id = ?, author_user_id = ?, observation_hash = ?, "
                                  "updated_at = ?, rev = rev + 1 WHERE rowid = ?"));
      int i = bind_common(st, 1);
      st->Bind(i, rowid);
      RETURN_IF_ERROR(st->Run());
      st->Reset();
    } else {
      ASSIGN_OR_RETURN(
          Stmt * st,
          db.Prepare("INSERT INTO scores(trace_id, trace_hash, trace_row, observation_id, "
                     "session_id, dataset_run_id, name, value, string_value, source, data_type, "
                     "timestamp, environment, config_id, queue_id, author_user_id, "
                     "observation_hash, updated_at, project, id, id_hash, created_at) VALUES "
                     "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
      int i = bind_common(st, 1);
      st->Bind(i++, project);
      st->Bind(i++, id);
      st->Bind(i++, IdHash64(id));
      st->Bind(i++, now);
      RETURN_IF_ERROR(st->Run());
      st->Reset();
      rowid = db.LastInsertRowId();
      RETURN_IF_ERROR(IndexNewRow(db, kScoreIds, project, IdHash64(id), rowid));
    }
    return PutState(db, "score_state", rowid, blob);
  }

  static constexpr std::chrono::seconds kIdleRelease{2};

  // Immutable after construction.
  const SqliteEventStoreOptions options_;
  const PriceTable* const prices_;

  // Owned by the writer thread after Init().
  std::unique_ptr<Db> writer_db_;
  // Id merging (recent_ids.h): the rowid above which a new row may be listed
  // (the highest committed), the highest inserted by the open transaction,
  // its changes to recent_ids_ (taken back if it rolls back), and each
  // running merge's rows per commit.
  struct IdChange {
    int table;
    sqlite::RecentIds::Entry entry;
    bool added;
  };
  std::array<int64_t, kIdTables> highest_row_{};
  std::array<int64_t, kIdTables> txn_highest_row_{};
  std::vector<IdChange> txn_id_changes_;
  std::array<size_t, kIdTables> merge_slice_rows_{};
  static constexpr size_t kMinMergeRows = 16384;
  static constexpr size_t kMinMergeSliceRows = 2048;
  static constexpr size_t kIdleMergeSliceRows = 65536;
  // How long merged rows stay findable in memory at least: longer than any
  // reader's statement that started before their merge committed.
  static constexpr std::chrono::seconds kKeepMerged{15};
  int wal_pages_at_last_signal_ = 0;  // OnWalCommit's

  // The checkpointer's connection and thread; the flags under checkpoint_mu_.
  std::unique_ptr<Db> checkpoint_db_;
  std::thread checkpointer_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;
  bool checkpoint_stop_ = false;
  std::map<std::string, int64_t> pending_keys_;
  std::thread writer_;

  ReaderPool readers_;
  // Shared by the writer and the readers (loupe_recent_row()).
  std::array<sqlite::RecentIds, kIdTables> recent_ids_;

  // Protected by mu_: the write queue.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<WriteRequest>> queue_;
  size_t queued_events_ = 0;
  bool closed_ = false;

  // Protected by keys_mu_: committed project id → key.
  std::mutex keys_mu_;
  std::unordered_map<std::string, int64_t> project_keys_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<EventStore>> OpenSqliteEventStore(
    const SqliteEventStoreOptions& options, const PriceTable* prices) {
  auto store = std::make_unique<SqliteEventStore>(options, prices);
  RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<EventStore>(std::move(store));
}

}  // namespace loupe
