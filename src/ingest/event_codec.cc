#include "ingest/event_codec.h"

#include "common/json_parse.h"

namespace loupe {
namespace json = boost::json;

namespace {

constexpr int64_t kFormatVersion = 1;

const json::string* StringField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? &v->get_string() : nullptr;
}

}  // namespace

std::string EncodeEventBatch(const std::string& project_id,
                             const std::vector<IngestEvent>& events) {
  return EncodeEventBatch(project_id, std::vector<const std::vector<IngestEvent>*>{&events});
}

std::string EncodeEventBatch(const std::string& project_id,
                             const std::vector<const std::vector<IngestEvent>*>& parts) {
  json::object root;
  root["v"] = kFormatVersion;
  root["project"] = project_id;
  json::array& out = root["events"].emplace_array();
  size_t count = 0;
  for (const auto* part : parts) count += part->size();
  out.reserve(count);
  for (const auto* part : parts) {
    for (const IngestEvent& e : *part) {
      json::object o;
      o["id"] = e.event_id;
      o["kind"] = static_cast<int64_t>(e.kind);
      o["update"] = e.is_update;
      o["ts_us"] = e.timestamp_us;
      o["entity"] = e.entity_id;
      if (!e.observation_type.empty()) o["obs_type"] = e.observation_type;
      if (!e.sdk_name.empty()) o["sdk"] = e.sdk_name;
      if (!e.sdk_version.empty()) o["sdk_version"] = e.sdk_version;
      o["body"] = e.body;
      out.emplace_back(std::move(o));
    }
  }
  return json::serialize(root);
}

absl::StatusOr<EncodedBatch> DecodeEventBatch(std::string_view encoded) {
  const auto corrupt = [](std::string_view what) {
    return absl::DataLossError("encoded event batch: " + std::string(what));
  };
  boost::system::error_code ec;
  json::value root = ParseStoredJson(encoded, ec);
  if (ec || !root.is_object()) return corrupt("not a JSON object");
  const json::object& r = root.get_object();
  const json::value* version = r.if_contains("v");
  if (!version || !version->is_int64() || version->get_int64() != kFormatVersion) {
    return corrupt("unknown format version");
  }
  const json::string* project = StringField(r, "project");
  const json::value* events = r.if_contains("events");
  if (!project || !events || !events->is_array()) return corrupt("missing project or events");
  EncodedBatch batch;
  batch.project_id = std::string(*project);
  batch.events.reserve(events->get_array().size());
  for (const json::value& v : events->get_array()) {
    if (!v.is_object()) return corrupt("event is not an object");
    const json::object& o = v.get_object();
    const json::string* id = StringField(o, "id");
    const json::string* entity = StringField(o, "entity");
    const json::value* kind = o.if_contains("kind");
    const json::value* update = o.if_contains("update");
    const json::value* ts = o.if_contains("ts_us");
    const json::value* body = o.if_contains("body");
    if (!id || !entity || !kind || !kind->is_int64() || kind->get_int64() < 0 ||
        kind->get_int64() > static_cast<int64_t>(EntityKind::kScore) || !update ||
        !update->is_bool() || !ts || !ts->is_int64() || !body || !body->is_object()) {
      return corrupt("event with missing or mistyped fields");
    }
    IngestEvent e;
    e.event_id = std::string(*id);
    e.kind = static_cast<EntityKind>(kind->get_int64());
    e.is_update = update->get_bool();
    e.timestamp_us = ts->get_int64();
    e.entity_id = std::string(*entity);
    if (const json::string* t = StringField(o, "obs_type")) e.observation_type = std::string(*t);
    if (const json::string* s = StringField(o, "sdk")) e.sdk_name = std::string(*s);
    if (const json::string* s = StringField(o, "sdk_version")) e.sdk_version = std::string(*s);
    e.body = body->get_object();
    batch.events.push_back(std::move(e));
  }
  return batch;
}

}  // namespace loupe
