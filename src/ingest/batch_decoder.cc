#include "ingest/batch_decoder.h"

#include <algorithm>
#include <boost/json/monotonic_resource.hpp>
#include <cctype>
#include <memory>
#include <optional>

#include "common/json_parse.h"
#include "common/time_util.h"
#include "cost/usage.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr size_t kMaxIdLength = 800;
constexpr size_t kMaxTraceNameLength = 1000;
constexpr size_t kMaxTextScoreLength = 500;

struct EventType {
  std::string_view name;
  EntityKind kind;
  bool is_update;
  std::string_view observation_type;  // empty: taken from the body (legacy observation-*)
};

constexpr EventType kEventTypes[] = {
    {"trace-create", EntityKind::kTrace, false, ""},
    {"score-create", EntityKind::kScore, false, ""},
    {"span-create", EntityKind::kObservation, false, "SPAN"},
    {"span-update", EntityKind::kObservation, true, "SPAN"},
    {"generation-create", EntityKind::kObservation, false, "GENERATION"},
    {"generation-update", EntityKind::kObservation, true, "GENERATION"},
    {"event-create", EntityKind::kObservation, false, "EVENT"},
    {"agent-create", EntityKind::kObservation, false, "AGENT"},
    {"tool-create", EntityKind::kObservation, false, "TOOL"},
    {"chain-create", EntityKind::kObservation, false, "CHAIN"},
    {"retriever-create", EntityKind::kObservation, false, "RETRIEVER"},
    {"evaluator-create", EntityKind::kObservation, false, "EVALUATOR"},
    {"embedding-create", EntityKind::kObservation, false, "EMBEDDING"},
    {"guardrail-create", EntityKind::kObservation, false, "GUARDRAIL"},
    {"observation-create", EntityKind::kObservation, false, ""},
    {"observation-update", EntityKind::kObservation, true, ""},
};

const EventType* FindEventType(std::string_view name) {
  for (const auto& t : kEventTypes) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// Collects the first problem found in a body, zod-style: "<path>: <what>".
class Validator {
 public:
  explicit Validator(json::object& body) : body_(body) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void Fail(std::string_view field, std::string_view what) {
    if (error_.empty()) error_ = std::string(field) + ": " + std::string(what);
  }

  // Optional nullable string.
  void String(std::string_view key, size_t max_len = 0) {
    const json::value* v = body_.if_contains(key);
    if (!v || v->is_null()) return;
    if (!v->is_string()) return Fail(key, "Expected string, received " + TypeName(*v));
    if (max_len && v->as_string().size() > max_len) {
      Fail(key, "String must contain at most " + std::to_string(max_len) + " character(s)");
    }
  }

  void Id(std::string_view key, bool required) {
    const json::value* v = body_.if_contains(key);
    if (!v || v->is_null()) {
      if (required) Fail(key, "Required");
      return;
    }
    if (!v->is_string()) return Fail(key, "Expected string, received " + TypeName(*v));
    const auto& s = v->as_string();
    if (s.empty() || s.size() > kMaxIdLength) return Fail(key, "must be 1 to 800 characters");
    if (std::find(s.begin(), s.end(), '\r') != s.end()) Fail(key, "must not contain \\r");
  }

  // Optional nullable date-time; replaced in the body by int64 milliseconds.
  void DateTime(std::string_view key) {
    json::value* v = body_.if_contains(key);
    if (!v || v->is_null()) return;
    if (!v->is_string()) return Fail(key, "Expected date-time string, received " + TypeName(*v));
    std::optional<int64_t> us = ParseIsoMicros(v->as_string());
    if (!us) return Fail(key, "Invalid datetime");
    *v = *us / 1000;
  }

  void Bool(std::string_view key) {
    const json::value* v = body_.if_contains(key);
    if (!v || v->is_null()) return;
    if (!v->is_bool()) Fail(key, "Expected boolean, received " + TypeName(*v));
  }

  void Enum(std::string_view key, std::initializer_list<std::string_view> allowed) {
    const json::value* v = body_.if_contains(key);
    if (!v || v->is_null()) return;
    if (!v->is_string()) return Fail(key, "Expected string, received " + TypeName(*v));
    for (auto a : allowed) {
      if (v->as_string() == a) return;
    }
    std::string list;
    for (auto a : allowed) {
      if (!list.empty()) list += " | ";
      list += "'" + std::string(a) + "'";
    }
    Fail(key, "Invalid enum value. Expected " + list);
  }

  void StringArray(std::string_view key) {
    const json::value* v = body_.if_contains(key);
    if (!v || v->is_null()) return;
    if (!v->is_array()) return Fail(key, "Expected array, received " + TypeName(*v));
    for (const auto& e : v->as_array()) {
      if (!e.is_string()) return Fail(key, "Expected array of strings");
    }
  }

  static std::string TypeName(const json::value& v) {
    switch (v.kind()) {
      case json::kind::null:
        return "null";
      case json::kind::bool_:
        return "boolean";
      case json::kind::int64:
      case json::kind::uint64:
      case json::kind::double_:
        return "number";
      case json::kind::string:
        return "string";
      case json::kind::array:
        return "array";
      case json::kind::object:
        return "object";
    }
    return "unknown";
  }

 private:
  json::object& body_;
  std::string error_;
};

// Langfuse stores metadata as a map of top-level keys; a primitive becomes
// {"metadata": "<value>"} and an array {"metadata": "<json>"}.
void NormalizeMetadata(json::object& body) {
  json::value* m = body.if_contains("metadata");
  if (!m || m->is_null() || m->is_object()) return;
  json::object wrapped;
  if (m->is_string()) {
    wrapped["metadata"] = m->as_string();
  } else {
    wrapped["metadata"] = json::serialize(*m);
  }
  *m = std::move(wrapped);
}

void NormalizeEnvironmentField(json::object& body) {
  const json::value* v = body.if_contains("environment");
  std::string env = (v && v->is_string()) ? NormalizeEnvironment(v->as_string()) : "default";
  body["environment"] = env;
}

void ValidateObservationBody(Validator& val, json::object& body, bool legacy_type) {
  val.Id("id", true);
  val.Id("traceId", false);
  val.String("name");
  val.DateTime("startTime");
  val.DateTime("endTime");
  val.DateTime("completionStartTime");
  val.Enum("level", {"DEBUG", "DEFAULT", "WARNING", "ERROR"});
  val.String("statusMessage");
  val.Id("parentObservationId", false);
  val.String("version");
  val.String("model");
  val.String("promptName");
  if (legacy_type) {
    val.Enum("type", {"GENERATION", "SPAN", "EVENT"});
  }
  if (const json::value* mp = body.if_contains("modelParameters")) {
    if (!mp->is_null() && !mp->is_object()) {
      val.Fail("modelParameters", "Expected object, received " + Validator::TypeName(*mp));
    }
  }
  const json::value* pv = body.if_contains("promptVersion");
  if (pv && !pv->is_null() && !pv->is_int64() && !pv->is_uint64()) {
    val.Fail("promptVersion", "Expected integer, received " + Validator::TypeName(*pv));
  }
  bool has_name = body.contains("promptName") && !body.at("promptName").is_null();
  bool has_version = pv && !pv->is_null();
  if (has_name != has_version) {
    val.Fail("promptName", "promptName and promptVersion must be set together");
  }
  for (std::string_view key : {"usage", "usageDetails", "costDetails"}) {
    const json::value* u = body.if_contains(key);
    if (u && !u->is_null() && !u->is_object()) {
      val.Fail(key, "Expected object, received " + Validator::TypeName(*u));
    }
  }
  if (!val.ok()) return;
  ProvidedUsage usage = NormalizeProvidedUsage(
      body.if_contains("usage"), body.if_contains("usageDetails"), body.if_contains("costDetails"));
  body.erase("usage");
  body.erase("usageDetails");
  body.erase("costDetails");
  if (!usage.usage.empty()) {
    json::object u;
    for (const auto& [k, n] : usage.usage) u[k] = n;
    body["_usage"] = std::move(u);
  }
  if (!usage.cost.empty()) {
    json::object c;
    for (const auto& [k, n] : usage.cost) c[k] = n;
    body["_cost"] = std::move(c);
  }
}

void ValidateTraceBody(Validator& val) {
  val.Id("id", false);
  val.DateTime("timestamp");
  val.String("name", kMaxTraceNameLength);
  val.String("externalId");
  val.String("userId");
  val.String("sessionId");
  val.String("release");
  val.String("version");
  val.Bool("public");
  val.StringArray("tags");
}

void ValidateScoreBody(Validator& val, json::object& body) {
  val.Id("id", false);
  val.Id("traceId", false);
  val.Id("sessionId", false);
  val.Id("datasetRunId", false);
  val.Id("observationId", false);
  val.String("comment");
  val.String("configId");
  val.String("queueId");
  val.String("executionTraceId");
  val.Enum("source", {"API", "EVAL", "ANNOTATION"});
  val.Enum("dataType", {"NUMERIC", "CATEGORICAL", "BOOLEAN", "TEXT", "CORRECTION"});
  const json::value* name = body.if_contains("name");
  if (!name || !name->is_string() || name->as_string().empty()) {
    val.Fail("name", name ? "String must contain at least 1 character(s)" : "Required");
  }
  const json::value* value = body.if_contains("value");
  if (!value || value->is_null()) {
    val.Fail("value", "Required");
  } else if (!value->is_number() && !value->is_string()) {
    val.Fail("value", "Expected number or string, received " + Validator::TypeName(*value));
  }
  if (!val.ok()) return;
  // Copies: inserting into `body` below may move its elements.
  const json::value value_copy = *value;
  value = &value_copy;
  const json::value* source_field = body.if_contains("source");
  const bool source_missing = !source_field || !source_field->is_string();
  const bool is_annotation = !source_missing && source_field->as_string() == "ANNOTATION";
  std::string data_type;
  if (const json::value* dt = body.if_contains("dataType"); dt && dt->is_string()) {
    data_type = dt->as_string();
  } else {
    data_type = value->is_number() ? "NUMERIC" : "CATEGORICAL";
  }
  bool has_config = body.contains("configId") && body.at("configId").is_string();
  if (data_type == "NUMERIC" && !value->is_number()) {
    val.Fail("value", "Value must be a number for data type NUMERIC");
  } else if ((data_type == "CATEGORICAL" || data_type == "TEXT" || data_type == "CORRECTION") &&
             !value->is_string()) {
    val.Fail("value", "Value must be a string for data type " + data_type);
  } else if (data_type == "BOOLEAN") {
    double d = value->is_number() ? value->to_number<double>() : -1;
    if (!value->is_number() || (d != 0 && d != 1)) {
      val.Fail("value", "Value must be a number equal to either 0 or 1 for data type BOOLEAN");
    }
  } else if (data_type == "TEXT") {
    size_t n = value->as_string().size();
    if (n == 0 || n > kMaxTextScoreLength) {
      val.Fail("value", "Value must be 1 to 500 characters for data type TEXT");
    }
  }
  if (data_type == "CORRECTION" && has_config) {
    val.Fail("configId", "CORRECTION scores cannot have a configId");
  }
  if (data_type == "CORRECTION" && (body.contains("sessionId") || body.contains("datasetRunId"))) {
    const json::value* s = body.if_contains("sessionId");
    const json::value* d = body.if_contains("datasetRunId");
    if ((s && !s->is_null()) || (d && !d->is_null())) {
      val.Fail("dataType", "CORRECTION scores are only allowed on traces and observations");
    }
  }
  if (is_annotation && !has_config) {
    val.Fail("configId", "ANNOTATION scores require a configId");
  }
  if (!val.ok()) return;
  body["dataType"] = data_type;
  if (source_missing) body["source"] = "API";
  // The stored representation: NUMERIC/BOOLEAN carry `value`; string types carry
  // `stringValue`; BOOLEAN also gets the "True"/"False" label Langfuse shows.
  if (data_type == "BOOLEAN") {
    bool truthy = value->to_number<double>() == 1;
    body["stringValue"] = truthy ? "True" : "False";
  } else if (value->is_string()) {
    body["stringValue"] = value->as_string();
    body["value"] = nullptr;
  }
}

void AddError(DecodedBatch* batch, std::string id, int status, std::string message,
              std::string error) {
  batch->errors.push_back({std::move(id), status, std::move(message), std::move(error)});
}

}  // namespace

std::string NormalizeEnvironment(std::string_view raw) {
  std::string env;
  env.reserve(raw.size());
  for (char c : raw) env.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (env.rfind("langfuse", 0) == 0) {
    env.erase(0, 8);
    if (!env.empty() && (env[0] == '-' || env[0] == '_')) env.erase(0, 1);
  }
  if (env.size() > 40) env.resize(40);
  if (env.empty()) return "default";
  for (char c : env) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return "default";
  }
  return env;
}

namespace {

// `movable_body` is non-null when the caller gave up the envelope, so the
// body can be moved into the event instead of deep-copied.
void DecodeEventImpl(const json::value& envelope, json::object* movable_body,
                     const DecodeOptions& options, DecodedBatch* batch) {
  const json::object* env = envelope.if_object();
  std::string id = "unknown";
  if (env) {
    if (const json::value* v = env->if_contains("id"); v && v->is_string()) {
      id = std::string(v->as_string());
    }
  }
  if (!env) {
    AddError(batch, id, 400, "Invalid request data", "event: Expected object");
    return;
  }
  const json::value* idv = env->if_contains("id");
  if (!idv || !idv->is_string() || idv->as_string().empty() ||
      idv->as_string().size() > kMaxIdLength) {
    AddError(batch, id, 400, "Invalid request data", "id: Required string of 1 to 800 characters");
    return;
  }
  const json::value* typev = env->if_contains("type");
  if (!typev || !typev->is_string()) {
    AddError(batch, id, 400, "Invalid request data", "type: Required");
    return;
  }
  std::string_view type_name = typev->as_string();
  if (type_name == "sdk-log") return;  // logged by the caller's SDK; never stored or answered
  if (type_name == "dataset-run-item-create") {
    AddError(batch, id, 400, "Invalid request data",
             "dataset-run-item-create events are only allowed for internal usage");
    return;
  }
  const EventType* type = FindEventType(type_name);
  if (!type) {
    AddError(batch, id, 400, "Invalid request data",
             "type: Invalid discriminator value '" + std::string(type_name) + "'");
    return;
  }
  if (options.scores_only && type->kind != EntityKind::kScore) {
    AddError(batch, id, 401, "Authentication error", "Access Scope Denied");
    return;
  }
  const json::value* tsv = env->if_contains("timestamp");
  if (!tsv || !tsv->is_string()) {
    AddError(batch, id, 400, "Invalid request data", "timestamp: Required");
    return;
  }
  // The envelope timestamp orders events, so it must be unambiguous: an offset
  // (Z or +hh:mm) is required, as in Langfuse's schema.
  std::optional<int64_t> ts = ParseIsoMicrosStrict(tsv->as_string());
  if (!ts) {
    AddError(batch, id, 400, "Invalid request data",
             "timestamp: Invalid datetime, expected ISO 8601 with an offset");
    return;
  }
  const json::value* bodyv = env->if_contains("body");
  if (!bodyv || !bodyv->is_object()) {
    AddError(batch, id, 400, "Invalid request data", "body: Expected object");
    return;
  }

  IngestEvent event;
  event.event_id = id;
  event.kind = type->kind;
  event.is_update = type->is_update;
  event.timestamp_us = *ts;
  if (movable_body) {
    // Move-construct rather than assign: assignment keeps the target's
    // memory resource and would copy the body out of the batch's arena
    // (see DecodeIngestionBatch), construction takes the body's own.
    std::destroy_at(&event.body);
    std::construct_at(&event.body, std::move(*movable_body));
  } else {
    event.body = bodyv->as_object();
  }
  event.sdk_name = options.sdk_name;
  event.sdk_version = options.sdk_version;
  json::object& body = event.body;

  Validator val(body);
  switch (type->kind) {
    case EntityKind::kTrace:
      ValidateTraceBody(val);
      break;
    case EntityKind::kObservation:
      ValidateObservationBody(val, body, type->observation_type.empty());
      break;
    case EntityKind::kScore:
      ValidateScoreBody(val, body);
      break;
  }
  if (!val.ok()) {
    AddError(batch, id, 400, "Invalid request data", val.error());
    return;
  }

  const json::value* entity_id = body.if_contains("id");
  if (!entity_id || !entity_id->is_string()) {
    // Langfuse acknowledges events without an entity id but cannot store them.
    batch->successes.push_back(id);
    return;
  }
  event.entity_id = std::string(entity_id->as_string());
  if (type->observation_type.empty()) {
    const json::value* t = body.if_contains("type");
    event.observation_type = (t && t->is_string()) ? std::string(t->as_string()) : "";
  } else {
    event.observation_type = std::string(type->observation_type);
  }
  NormalizeEnvironmentField(body);
  NormalizeMetadata(body);
  batch->successes.push_back(id);
  batch->events.push_back(std::move(event));
}

}  // namespace

void DecodeEvent(const json::value& envelope, const DecodeOptions& options, DecodedBatch* batch) {
  DecodeEventImpl(envelope, nullptr, options, batch);
}

void DecodeEvent(json::value&& envelope, const DecodeOptions& options, DecodedBatch* batch) {
  json::object* body = nullptr;
  if (json::object* env = envelope.if_object()) {
    if (json::value* b = env->if_contains("body"); b && b->is_object()) body = &b->as_object();
  }
  DecodeEventImpl(envelope, body, options, batch);
}

absl::StatusOr<DecodedBatch> DecodeIngestionBatch(std::string_view body,
                                                  const DecodeOptions& options) {
  boost::system::error_code ec;
  // The whole batch is parsed into one arena that the events' bodies keep
  // alive (the resource is reference-counted) and that is released in one
  // piece with the last of them: a batch is thousands of small JSON nodes,
  // and allocating and freeing them one by one was a tenth of the server's
  // CPU under load. The merge copies what it keeps into its own storage.
  //
  // Each event is held to the product's nesting limit (kMaxJsonDepth) on its
  // own, so that one event nested too deep is answered with its own error and
  // the rest of its batch is still stored. Events sit two levels down
  // ({"batch": [event]}), so a body within kMaxJsonDepth + 2 levels cannot
  // hold a too-deep event; only a deeper one (rare) is parsed again with the
  // stored-JSON limit and has its events' depths checked one by one. A body
  // deeper than that limit is rejected as a whole.
  json::storage_ptr arena = json::make_shared_resource<json::monotonic_resource>();
  json::value root = ParseJson(body, ec, arena, kMaxJsonDepth + 2);
  bool check_event_depth = false;
  if (ec == json::error::too_deep) {
    ec.clear();
    // Same arena, so the assignment moves rather than copies.
    root = ParseJson(body, ec, arena, kMaxStoredJsonDepth);
    check_event_depth = true;
  }
  if (ec) {
    return absl::InvalidArgumentError("Invalid JSON in request body: " +
                                      JsonErrorMessage(ec, kMaxStoredJsonDepth));
  }
  json::object* obj = root.if_object();
  if (!obj) return absl::InvalidArgumentError("batch: Expected an object with a `batch` array");
  json::value* batchv = obj->if_contains("batch");
  if (!batchv) return absl::InvalidArgumentError("batch: Required");
  if (!batchv->is_array()) return absl::InvalidArgumentError("batch: Expected array");
  DecodedBatch batch;
  json::array& arr = batchv->as_array();
  batch.events.reserve(arr.size());
  for (json::value& e : arr) {
    if (check_event_depth && JsonDepth(e) > kMaxJsonDepth) {
      const json::value* id = e.is_object() ? e.as_object().if_contains("id") : nullptr;
      AddError(&batch, id && id->is_string() ? std::string(id->as_string()) : "unknown", 400,
               "Invalid request data", "event: " + JsonTooDeepMessage());
      continue;
    }
    DecodeEvent(std::move(e), options, &batch);
  }
  return batch;
}

}  // namespace loupe
