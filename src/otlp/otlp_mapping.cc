#include "otlp/otlp_mapping.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "common/json_parse.h"
#include "common/time_util.h"

namespace loupe::otlp {
namespace {

namespace json = boost::json;
using std::string_view;

// ------------------------------------------------------------------ JS-like value helpers
//
// Langfuse's mapping is JavaScript; where it stringifies values, Loupe renders
// them the same way (numbers as JavaScript prints them, not Boost.JSON's
// exponent form).

std::string JsNumber(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return "0";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  if (ec != std::errc()) return "0";
  std::string_view sci(buf, end - buf);  // [-]d[.ddd]e±XX
  bool negative = sci.front() == '-';
  if (negative) sci.remove_prefix(1);
  size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int exp10 = std::atoi(std::string(sci.substr(e + 1)).c_str());
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;  // position of the decimal point
  std::string out = negative ? "-" : "";
  if (k <= n && n <= 21) {
    out += digits + std::string(n - k, '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, n) + "." + digits.substr(n);
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(-n, '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += "e";
    out += n - 1 >= 0 ? "+" : "-";
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

// JSON.stringify
void JsStringifyTo(const json::value& v, std::string* out) {
  switch (v.kind()) {
    case json::kind::double_:
      if (std::isfinite(v.get_double())) {
        *out += JsNumber(v.get_double());
      } else {
        *out += "null";
      }
      return;
    case json::kind::array: {
      *out += '[';
      bool first = true;
      for (const json::value& e : v.get_array()) {
        if (!first) *out += ',';
        first = false;
        JsStringifyTo(e, out);
      }
      *out += ']';
      return;
    }
    case json::kind::object: {
      *out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) *out += ',';
        first = false;
        *out += json::serialize(json::string(kv.key()));
        *out += ':';
        JsStringifyTo(kv.value(), out);
      }
      *out += '}';
      return;
    }
    default:
      *out += json::serialize(v);
  }
}

std::string JsStringify(const json::value& v) {
  std::string out;
  JsStringifyTo(v, &out);
  return out;
}

// A string as is, anything else as JSON text (Langfuse's
// `typeof v === "string" ? v : JSON.stringify(v)`).
std::string Text(const json::value& v) {
  if (const json::string* s = v.if_string()) return std::string(*s);
  return JsStringify(v);
}

// String(v) / v.toString()
std::string JsToString(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::null:
      return "null";
    case json::kind::array: {
      std::string out;
      bool first = true;
      for (const json::value& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        if (!e.is_null()) out += JsToString(e);
      }
      return out;
    }
    case json::kind::object:
      return "[object Object]";
    case json::kind::double_:
      return JsNumber(v.get_double());
    default:
      return json::serialize(v);
  }
}

bool Truthy(const json::value* v) {
  if (v == nullptr) return false;
  switch (v->kind()) {
    case json::kind::null:
      return false;
    case json::kind::bool_:
      return v->get_bool();
    case json::kind::int64:
      return v->get_int64() != 0;
    case json::kind::uint64:
      return v->get_uint64() != 0;
    case json::kind::double_:
      return v->get_double() != 0 && !std::isnan(v->get_double());
    case json::kind::string:
      return !v->get_string().empty();
    default:
      return true;
  }
}

// Langfuse's hasMeaningfulValue: not null, "", [] or {}.
bool Meaningful(const json::value* v) {
  if (v == nullptr || v->is_null()) return false;
  if (const json::string* s = v->if_string()) return !s->empty();
  if (const json::array* a = v->if_array()) return !a->empty();
  if (const json::object* o = v->if_object()) return !o->empty();
  return true;
}

bool NotNull(const json::value* v) { return v != nullptr && !v->is_null(); }

// Number(v); nullopt for NaN.
std::optional<double> JsToNumber(const json::value& v) {
  switch (v.kind()) {
    case json::kind::int64:
      return static_cast<double>(v.get_int64());
    case json::kind::uint64:
      return static_cast<double>(v.get_uint64());
    case json::kind::double_:
      if (std::isnan(v.get_double())) return std::nullopt;
      return v.get_double();
    case json::kind::bool_:
      return v.get_bool() ? 1.0 : 0.0;
    case json::kind::string: {
      std::string s(v.get_string());
      size_t b = s.find_first_not_of(" \t\n\r");
      if (b == std::string::npos) return std::nullopt;  // "" is 0 in JS, but means "no value"
      size_t e = s.find_last_not_of(" \t\n\r");
      s = s.substr(b, e - b + 1);
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (end != s.c_str() + s.size() || std::isnan(d)) return std::nullopt;
      return d;
    }
    default:
      return std::nullopt;
  }
}

// A JSON number for a usage/cost value: integral values as integers.
json::value NumberValue(double d) {
  if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.007199254740992e15) {
    return static_cast<int64_t>(d);
  }
  return d;
}

std::optional<json::value> ParseJsonText(string_view text) {
  boost::system::error_code ec;
  json::value v = ParseJson(text, ec);
  if (ec) return std::nullopt;
  return v;
}

// A JSON value carried as a string attribute, parsed; non-strings as is.
std::optional<json::value> ParseIfString(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (const json::string* s = v->if_string()) return ParseJsonText(*s);
  return *v;
}

bool StartsWith(string_view s, string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

std::string Lower(string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Upper(string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
std::string TruncateUtf8(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

// Values nested deeper than this are kept as their JSON text at that level:
// deep values cost the merge state (which nests metadata twice as deep) more
// than they tell anyone. Far below kMaxJsonDepth, so a mapped event is always
// within the nesting limit every ingested event is held to.
constexpr int kMaxValueDepth = 32;

void CapDepth(json::value* v, int depth = 0) {
  if (!v->is_array() && !v->is_object()) return;
  if (depth >= kMaxValueDepth) {
    *v = json::string(JsStringify(*v));
    return;
  }
  if (json::array* a = v->if_array()) {
    for (json::value& e : *a) CapDepth(&e, depth + 1);
  } else {
    for (auto& kv : v->get_object()) CapDepth(&kv.value(), depth + 1);
  }
}

}  // namespace

std::string FormatIsoMicros(int64_t micros) {
  // Hand-rolled (Howard Hinnant's civil-from-days) rather than strftime or
  // snprintf: every span formats several of these.
  int64_t secs = micros >= 0 ? micros / 1000000 : -((-micros + 999999) / 1000000);
  int64_t frac = micros - secs * 1000000;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2);
  char buf[32];
  auto put = [&](int pos, int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i) {
      buf[pos + i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, year, 4);
  buf[4] = '-';
  put(5, month, 2);
  buf[7] = '-';
  put(8, day, 2);
  buf[10] = 'T';
  put(11, rem / 3600, 2);
  buf[13] = ':';
  put(14, rem / 60 % 60, 2);
  buf[16] = ':';
  put(17, rem % 60, 2);
  buf[19] = '.';
  put(20, frac, 6);
  buf[26] = 'Z';
  return std::string(buf, 27);
}

namespace {

// ------------------------------------------------------------------ the mapper

constexpr string_view kLangfuseSdkScope = "langfuse-sdk";

// Keys read as input/output by some rule; they never go to metadata.attributes.
constexpr string_view kIoKeys[] = {
    "langfuse.trace.input",
    "langfuse.trace.output",
    "langfuse.observation.input",
    "langfuse.observation.output",
    "ai.prompt.messages",
    "ai.prompt",
    "ai.toolCall.args",
    "ai.response.text",
    "ai.result.text",
    "ai.toolCall.result",
    "ai.response.object",
    "ai.result.object",
    "ai.response.toolCalls",
    "ai.result.toolCalls",
    "genkit:input",
    "genkit:output",
    "flue.turn.input",
    "flue.tool.arguments",
    "flue.task.prompt",
    "flue.workflow.payload",
    "flue.turn.output",
    "flue.tool.result",
    "flue.task.result",
    "flue.operation.result",
    "flue.workflow.result",
    "gcp.vertex.agent.llm_request",
    "gcp.vertex.agent.llm_response",
    "gcp.vertex.agent.tool_call_args",
    "gcp.vertex.agent.tool_response",
    "prompt",
    "all_messages_events",
    "events",
    "lk.input_text",
    "lk.user_transcript",
    "lk.chat_ctx",
    "lk.user_input",
    "lk.function_tool.output",
    "lk.response.text",
    "mlflow.spanInputs",
    "mlflow.spanOutputs",
    "traceloop.entity.input",
    "traceloop.entity.output",
    "input.value",
    "output.value",
    "final_result",
    "pydantic_ai.all_messages",
    "tool_arguments",
    "tool_response",
    "input",
    "output",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
};

// Prefixes whose keys never go to metadata.attributes (I/O or metadata keys).
constexpr string_view kFilteredPrefixes[] = {
    "gen_ai.prompt",         "gen_ai.completion",       "llm.input_messages",
    "llm.output_messages",   "langfuse.trace.metadata", "langfuse.observation.metadata",
    "ai.telemetry.metadata",
};

const std::unordered_map<string_view, string_view>& LevelAliases() {
  static const auto* m = new std::unordered_map<string_view, string_view>{
      {"DEBUG", "DEBUG"},     {"TRACE", "DEBUG"},     {"VERBOSE", "DEBUG"},  {"DEFAULT", "DEFAULT"},
      {"INFO", "DEFAULT"},    {"LOG", "DEFAULT"},     {"NOTICE", "DEFAULT"}, {"OK", "DEFAULT"},
      {"SUCCESS", "DEFAULT"}, {"WARNING", "WARNING"}, {"WARN", "WARNING"},   {"ERROR", "ERROR"},
      {"FATAL", "ERROR"},     {"CRITICAL", "ERROR"},
  };
  return *m;
}

constexpr string_view kLivekitDebugSpans[] = {
    "user_speaking",
    "eou_detection",
    "llm_request_run",
    "tts_node",
    "tts_request",
    "tts_request_run",
    "tts_stream_adapter",
    "agent_speaking",
    "drain_agent_activity",
    "on_exit",
    "on_enter",
    "llm_fallback_adapter",
    "tts_fallback_adapter",
    "start_agent_activity",
};

constexpr string_view kVercelGenerationOps[] = {
    "ai.generateText.doGenerate", "ai.streamText.doStream", "ai.generateObject.doGenerate",
    "ai.streamObject.doStream"};
constexpr string_view kVercelEmbeddingOps[] = {"ai.embedMany.doEmbed", "ai.embed.doEmbed"};
constexpr string_view kVercelToolOps[] = {"ai.toolCall"};

struct Io {
  std::optional<json::value> input;
  std::optional<json::value> output;
};

enum class Domain { kObservation, kTrace };

class SpanMapper {
 public:
  SpanMapper(const json::object& resource, const Scope& scope, const Span& span)
      : resource_(resource),
        scope_(scope),
        span_(span),
        attrs_(span.attributes),
        start_iso_(FormatIsoMicros(span.start_us)),
        end_iso_(FormatIsoMicros(span.end_us)) {}

  const std::string& StartIso() const { return start_iso_; }

  const json::value* A(string_view key) const { return attrs_.if_contains(key); }
  const json::value* R(string_view key) const { return resource_.if_contains(key); }

  bool IsLangfuseSdk() const { return StartsWith(scope_.name, kLangfuseSdkScope); }

  bool IsRoot() const {
    if (span_.parent_span_id.empty()) return true;
    const json::value* v = A("langfuse.internal.as_root");
    if (v == nullptr) return false;
    if (const bool* b = v->if_bool()) return *b;
    return v->is_string() && v->get_string() == "true";
  }

  bool IsAgentInvocation() const {
    const json::value* op = A("gen_ai.operation.name");
    return op && op->is_string() &&
           (op->get_string() == "invoke_agent" || op->get_string() == "agent_step");
  }

  // ------------------------------------------------------------ type (§5.4)

  std::string Type() const {
    if (auto t = PythonSdkGenerationFix()) return *t;
    if (const json::value* v = A("langfuse.observation.type"); Meaningful(v) && v->is_string()) {
      static constexpr string_view kTypes[] = {"span",      "generation", "event", "embedding",
                                               "agent",     "tool",       "chain", "retriever",
                                               "guardrail", "evaluator"};
      std::string t = Lower(v->get_string());
      for (string_view k : kTypes) {
        if (t == k) return Upper(t);
      }
    }
    if (const json::value* v = A("openinference.span.kind"); Meaningful(v) && v->is_string()) {
      std::string k = Upper(v->get_string());
      if (k == "LLM") return "GENERATION";
      static constexpr string_view kKinds[] = {"CHAIN", "RETRIEVER", "EMBEDDING", "AGENT",
                                               "TOOL",  "GUARDRAIL", "EVALUATOR"};
      for (string_view kind : kKinds) {
        if (k == kind) return k;
      }
    }
    if (const json::value* v = A("gen_ai.operation.name"); Meaningful(v) && v->is_string()) {
      string_view op = v->get_string();
      if (op == "chat" || op == "completion" || op == "text_completion" ||
          op == "generate_content" || op == "generate") {
        return "GENERATION";
      }
      if (op == "embeddings") return "EMBEDDING";
      if (op == "invoke_agent" || op == "create_agent") return "AGENT";
      if (op == "execute_tool") return "TOOL";
    }
    if (const json::value* v = A("genkit:metadata:subtype"); Meaningful(v) && v->is_string()) {
      string_view st = v->get_string();
      if (st == "model" || st == "background-model") return "GENERATION";
      if (st == "embedder") return "EMBEDDING";
      if (st == "tool" || st == "tool.v2") return "TOOL";
      if (st == "retriever") return "RETRIEVER";
      if (st == "evaluator") return "EVALUATOR";
    }
    bool vercel_model = Meaningful(A("langfuse.observation.model.name")) ||
                        Meaningful(A("ai.model.id")) || Meaningful(A("gen_ai.request.model")) ||
                        Meaningful(A("gen_ai.response.model"));
    if (vercel_model) {
      if (VercelOperation(kVercelGenerationOps)) return "GENERATION";
      if (VercelOperation(kVercelEmbeddingOps)) return "EMBEDDING";
    }
    if (VercelOperation(kVercelToolOps)) return "TOOL";
    if (Meaningful(A("gen_ai.tool.name")) || Meaningful(A("gen_ai.tool.call.id"))) return "TOOL";
    if (Meaningful(A("flue.tool.name")) || Meaningful(A("flue.tool.call_id"))) return "TOOL";
    if (Meaningful(A("flue.task.id")) || Meaningful(A("flue.task.agent"))) return "AGENT";
    if (scope_.name == "livekit-agents") {
      if (span_.name == "agent_turn" || span_.name == "start_agent_activity") return "AGENT";
      if (span_.name == "function_tool") return "TOOL";
    }
    for (string_view k : {"langfuse.observation.model.name", "gen_ai.request.model",
                          "gen_ai.response.model", "llm.model_name", "model"}) {
      if (Meaningful(A(k))) return "GENERATION";
    }
    return "SPAN";
  }

  // Python SDK <= 3.3 exported generations as type "span".
  std::optional<std::string> PythonSdkGenerationFix() const {
    const json::value* t = A("langfuse.observation.type");
    const json::value* lang = R("telemetry.sdk.language");
    if (!t || !t->is_string() || t->get_string() != "span" || scope_.name != "langfuse-sdk" ||
        !lang || !lang->is_string() || lang->get_string() != "python") {
      return std::nullopt;
    }
    if (!scope_.version.empty()) {
      int major = 0, minor = 0;
      std::sscanf(scope_.version.c_str(), "%d.%d", &major, &minor);
      if (major > 3 || (major == 3 && minor > 3)) return std::nullopt;
    }
    for (string_view k :
         {"langfuse.observation.model.name", "langfuse.observation.cost_details",
          "langfuse.observation.usage_details", "langfuse.observation.completion_start_time",
          "langfuse.observation.model.parameters", "langfuse.observation.prompt.name",
          "langfuse.observation.prompt.version"}) {
      if (A(k) != nullptr) return "GENERATION";
    }
    return std::nullopt;
  }

  template <size_t N>
  bool VercelOperation(const string_view (&ops)[N]) const {
    const json::value* name = A("operation.name");
    if (Meaningful(name) && name->is_string()) {
      for (string_view op : ops) {
        if (StartsWith(name->get_string(), op)) return true;
      }
    }
    const json::value* id = A("ai.operationId");
    if (Meaningful(id) && id->is_string()) {
      for (string_view op : ops) {
        if (id->get_string() == op) return true;
      }
    }
    return false;
  }

  // ------------------------------------------------------------ simple fields (§5.6)

  std::string Name() const {
    for (string_view k : {"gen_ai.tool.name", "genkit:name", "logfire.msg"}) {
      if (const json::value* v = A(k); Truthy(v)) return Text(*v);
    }
    if (const json::value* v = A("ai.toolCall.name"); NotNull(v)) return Text(*v);
    if (const json::value* op = A("ai.operationId"); op != nullptr) {
      std::string prefix;
      if (const json::value* f = A("ai.telemetry.functionId"); Truthy(f)) {
        prefix = JsToString(*f) + ":";
      }
      return prefix + JsToString(*op);
    }
    return span_.name;
  }

  std::string Environment() const {
    for (string_view k :
         {"langfuse.environment", "deployment.environment.name", "deployment.environment"}) {
      if (const json::value* v = A(k); Truthy(v)) return Text(*v);
      if (const json::value* v = R(k); Truthy(v)) return Text(*v);
    }
    return "default";
  }

  std::optional<std::string> Version() const {
    if (const json::value* v = A("langfuse.version"); NotNull(v)) return Text(*v);
    if (const json::value* v = R("service.version"); NotNull(v)) return Text(*v);
    return std::nullopt;
  }

  std::optional<std::string> Release() const {
    if (const json::value* v = A("langfuse.release"); NotNull(v)) return Text(*v);
    if (const json::value* v = R("langfuse.release"); NotNull(v)) return Text(*v);
    return std::nullopt;
  }

  std::string Level() const {
    if (const json::value* v = A("langfuse.observation.level"); NotNull(v)) {
      auto it = LevelAliases().find(Upper(Text(*v)));
      if (it != LevelAliases().end()) return std::string(it->second);
    }
    if (span_.status_code == 2) return "ERROR";
    if (scope_.name == "livekit-agents") {
      for (string_view n : kLivekitDebugSpans) {
        if (span_.name == n) return "DEBUG";
      }
    }
    return "DEFAULT";
  }

  std::optional<std::string> StatusMessage() const {
    if (const json::value* v = A("langfuse.observation.status_message"); NotNull(v)) {
      return Text(*v);
    }
    if (!span_.status_message.empty()) return span_.status_message;
    return std::nullopt;
  }

  std::optional<std::string> Model() const {
    if (IsAgentInvocation()) return std::nullopt;
    for (string_view k :
         {"langfuse.observation.model.name", "gen_ai.response.model", "ai.model.id",
          "gen_ai.request.model", "llm.response.model", "llm.model_name", "model"}) {
      if (const json::value* v = A(k); Truthy(v)) return Text(*v);
    }
    if (const json::value* st = A("genkit:metadata:subtype");
        st && st->is_string() && st->get_string() == "model") {
      if (const json::value* v = A("genkit:name"); Truthy(v)) return Text(*v);
    }
    return std::nullopt;
  }

  std::optional<std::string> FirstTruthyText(std::initializer_list<string_view> keys) const {
    for (string_view k : keys) {
      if (const json::value* v = A(k); Truthy(v)) return Text(*v);
    }
    return std::nullopt;
  }

  std::optional<std::string> UserId() const {
    return FirstTruthyText(
        {"langfuse.user.id", "user.id", "langfuse.observation.metadata.langfuse_user_id",
         "langfuse.trace.metadata.langfuse_user_id", "ai.telemetry.metadata.userId"});
  }

  std::optional<std::string> SessionId() const {
    return FirstTruthyText({"langfuse.session.id", "session.id", "gen_ai.conversation.id",
                            "langfuse.observation.metadata.langfuse_session_id",
                            "langfuse.trace.metadata.langfuse_session_id",
                            "ai.telemetry.metadata.sessionId"});
  }

  std::vector<std::string> Tags() const {
    const json::value* v = nullptr;
    for (string_view k :
         {"langfuse.trace.tags", "langfuse.tags", "langfuse.observation.metadata.langfuse_tags",
          "langfuse.trace.metadata.langfuse_tags", "ai.telemetry.metadata.tags", "tag.tags"}) {
      if (Truthy(A(k))) {
        v = A(k);
        break;
      }
    }
    std::vector<std::string> out;
    if (v == nullptr) return out;
    auto from_array = [&](const json::array& a) {
      for (const json::value& e : a) out.push_back(JsToString(e));
    };
    if (const json::array* a = v->if_array()) {
      from_array(*a);
      return out;
    }
    if (const json::string* s = v->if_string()) {
      string_view sv = *s;
      size_t b = sv.find_first_not_of(" \t\n\r");
      if (b != string_view::npos && sv[b] == '[') {
        if (auto parsed = ParseJsonText(sv); parsed && parsed->is_array()) {
          from_array(parsed->get_array());
          return out;
        }
      }
      if (sv.find(',') != string_view::npos) {
        size_t i = 0;
        while (i <= sv.size()) {
          size_t j = sv.find(',', i);
          if (j == string_view::npos) j = sv.size();
          string_view part = sv.substr(i, j - i);
          size_t pb = part.find_first_not_of(" \t\n\r");
          size_t pe = part.find_last_not_of(" \t\n\r");
          out.emplace_back(pb == string_view::npos ? "" : part.substr(pb, pe - pb + 1));
          i = j + 1;
        }
        return out;
      }
      out.emplace_back(sv);
      return out;
    }
    return out;
  }

  std::optional<bool> Public() const {
    const json::value* v = A("langfuse.trace.public");
    if (!NotNull(v)) v = A("langfuse.public");
    if (!NotNull(v)) return std::nullopt;
    if (const bool* b = v->if_bool()) return *b;
    return v->is_string() && v->get_string() == "true";
  }

  bool HasTraceUpdates() const {
    for (string_view k : {"langfuse.trace.name",
                          "langfuse.trace.input",
                          "langfuse.trace.output",
                          "langfuse.trace.metadata",
                          "user.id",
                          "session.id",
                          "langfuse.trace.public",
                          "langfuse.trace.tags",
                          "langfuse.user.id",
                          "langfuse.session.id",
                          "langfuse.observation.metadata.langfuse_user_id",
                          "langfuse.observation.metadata.langfuse_session_id",
                          "langfuse.observation.metadata.langfuse_tags",
                          "langfuse.trace.metadata.langfuse_session_id",
                          "langfuse.trace.metadata.langfuse_user_id",
                          "langfuse.trace.metadata.langfuse_tags",
                          "ai.telemetry.metadata.sessionId",
                          "ai.telemetry.metadata.userId",
                          "ai.telemetry.metadata.tags",
                          "tag.tags"}) {
      if (Truthy(A(k))) return true;
    }
    for (const auto& kv : attrs_) {
      if (StartsWith(kv.key(), "langfuse.trace.metadata")) return true;
    }
    return false;
  }

  std::optional<std::string> CompletionStartTime() const {
    if (const json::value* v = A("langfuse.observation.completion_start_time");
        v && v->is_string()) {
      string_view s = v->get_string();
      if (auto us = ParseIsoMicros(s)) return FormatIsoMicros(*us);
      if (auto parsed = ParseJsonText(s); parsed && parsed->is_string()) {
        if (auto us = ParseIsoMicros(parsed->get_string())) return FormatIsoMicros(*us);
      }
    }
    const json::value* ms = A("ai.response.msToFirstChunk");
    if (!NotNull(ms)) ms = A("ai.stream.msToFirstChunk");
    if (Truthy(ms)) {
      if (auto n = JsToNumber(*ms); n && std::isfinite(*n) && std::fabs(*n) < 1e12) {
        // Langfuse adds the rounded-up milliseconds to the millisecond start.
        int64_t start_ms = span_.start_us / 1000;
        return FormatIsoMicros((start_ms + static_cast<int64_t>(std::ceil(*n))) * 1000);
      }
    }
    return std::nullopt;
  }

  // ------------------------------------------------------------ prompt link

  std::optional<json::object> AiSdkPrompt() const {
    const json::value* v = A("ai.telemetry.metadata.langfusePrompt");
    if (!Truthy(v)) return std::nullopt;
    auto parsed = ParseIfString(v);
    if (!parsed || !parsed->is_object()) return std::nullopt;
    return parsed->get_object();
  }

  void AddPrompt(json::object* body) const {
    std::optional<json::object> ai = AiSdkPrompt();
    auto pick = [&](string_view a, string_view b, string_view ai_key) -> const json::value* {
      if (const json::value* v = A(a); NotNull(v)) return v;
      if (const json::value* v = A(b); NotNull(v)) return v;
      if (ai) {
        if (const json::value* v = ai->if_contains(ai_key); NotNull(v)) return v;
      }
      return nullptr;
    };
    const json::value* name =
        pick("langfuse.observation.prompt.name", "langfuse.prompt.name", "name");
    const json::value* version =
        pick("langfuse.observation.prompt.version", "langfuse.prompt.version", "version");
    if (name == nullptr || version == nullptr) return;
    std::string name_text = Text(*name);
    if (name_text.empty()) return;
    std::optional<int64_t> v;
    if (const int64_t* i = version->if_int64()) {
      v = *i;
    } else if (const uint64_t* u = version->if_uint64()) {
      if (*u <= static_cast<uint64_t>(INT64_MAX)) v = static_cast<int64_t>(*u);
    } else if (auto n = JsToNumber(*version); n && std::trunc(*n) == *n && std::fabs(*n) < 1e15) {
      v = static_cast<int64_t>(*n);
    }
    if (!v) return;
    (*body)["promptName"] = name_text;
    (*body)["promptVersion"] = *v;
  }

  // ------------------------------------------------------------ model parameters

  static json::object Sanitized(const json::object& params) {
    json::object out;
    for (const auto& kv : params) {
      const json::value& v = kv.value();
      if (v.is_string() || v.is_number()) {
        out[kv.key()] = v;
      } else {
        out[kv.key()] = JsStringify(v);
      }
    }
    return out;
  }

  std::optional<json::object> ObjectAttr(string_view key) const {
    const json::value* v = A(key);
    if (!Truthy(v)) return std::nullopt;
    auto parsed = ParseIfString(v);
    if (!parsed || !parsed->is_object()) return std::nullopt;
    return std::move(parsed->get_object());
  }

  json::object ModelParameters() const {
    std::optional<json::object> explicit_params =
        ObjectAttr("langfuse.observation.model.parameters");
    if (explicit_params && scope_.name != "ai") return Sanitized(*explicit_params);
    if (std::optional<json::object> input = ObjectAttr("genkit:input")) {
      if (const json::value* config = input->if_contains("config"); config && config->is_object()) {
        return Sanitized(config->get_object());
      }
    }
    if (scope_.name == "ai") {
      json::object out;
      auto put = [&](string_view name, std::initializer_list<string_view> keys) {
        for (string_view k : keys) {
          if (const json::value* v = A(k); v != nullptr) {
            if (!v->is_null()) out[name] = JsToString(*v);
            return;
          }
        }
      };
      put("maxSteps", {"ai.settings.maxSteps"});
      put("toolChoice", {"ai.prompt.toolChoice"});
      put("maxTokens", {"gen_ai.request.max_tokens"});
      put("finishReason", {"gen_ai.response.finish_reasons", "gen_ai.finishReason"});
      put("system", {"gen_ai.system", "ai.model.provider"});
      put("maxRetries", {"ai.settings.maxRetries"});
      put("mode", {"ai.settings.mode"});
      put("temperature", {"gen_ai.request.temperature"});
      std::optional<json::value> provider = ParseIfString(A("ai.response.providerMetadata"));
      const json::value* tier = nullptr;
      if (provider && provider->is_object()) {
        if (const json::value* openai = provider->get_object().if_contains("openai");
            openai && openai->is_object()) {
          tier = openai->get_object().if_contains("serviceTier");
        }
      }
      if (NotNull(tier)) {
        out["service_tier"] = JsToString(*tier);
      } else {
        put("service_tier", {"gen_ai.request.service_tier"});
      }
      if (explicit_params) {
        for (const auto& kv : Sanitized(*explicit_params)) out[kv.key()] = kv.value();
      }
      return out;
    }
    if (std::optional<json::object> p = ObjectAttr("llm.invocation_parameters")) {
      return Sanitized(*p);
    }
    if (std::optional<json::object> p = ObjectAttr("model_config")) return Sanitized(*p);
    json::object out;
    for (const auto& kv : attrs_) {
      string_view key = kv.key();
      for (string_view prefix : {"gen_ai.request.", "llm.invocation_parameters."}) {
        if (StartsWith(key, prefix) && key.size() > prefix.size()) {
          string_view param = key.substr(prefix.size());
          if (param != "model") out[param] = kv.value();
        }
      }
    }
    return Sanitized(out);
  }

  // ------------------------------------------------------------ usage and cost

  json::object UsageDetails() const {
    if (IsAgentInvocation()) return {};
    if (const json::value* v = A("langfuse.observation.usage_details"); Truthy(v)) {
      if (!v->is_string()) return {};
      if (auto parsed = ParseJsonText(v->get_string())) {
        if (parsed->is_object()) return std::move(parsed->get_object());
        return {};
      }
      // Invalid JSON: fall through to the conventions below.
    }
    if (std::optional<json::object> output = ObjectAttr("genkit:output")) {
      if (const json::value* u = output->if_contains("usage"); u && u->is_object()) {
        return GenkitUsage(u->get_object());
      }
    }
    if (scope_.name == "ai") return VercelUsage();
    return GenericUsage();
  }

  static json::object GenkitUsage(const json::object& u) {
    auto num = [&](string_view k) -> std::optional<double> {
      const json::value* v = u.if_contains(k);
      return v ? JsToNumber(*v) : std::nullopt;
    };
    json::object out;
    auto thoughts = num("thoughtsTokens");
    if (auto in = num("inputTokens")) out["input"] = NumberValue(*in);
    if (auto o = num("outputTokens")) out["output"] = NumberValue(*o - thoughts.value_or(0));
    if (auto t = num("totalTokens")) out["total"] = NumberValue(*t);
    if (thoughts) out["output_reasoning"] = NumberValue(*thoughts);
    return out;
  }

  std::optional<double> NumAttr(string_view k) const {
    const json::value* v = A(k);
    return v ? JsToNumber(*v) : std::nullopt;
  }

  json::object VercelUsage() const {
    std::map<std::string, double> u;
    auto first = [&](std::initializer_list<string_view> keys) -> std::optional<double> {
      for (string_view k : keys) {
        if (A(k) != nullptr) return NumAttr(k);
      }
      return std::nullopt;
    };
    auto set_if_absent = [&](const std::string& key, const json::value* v) {
      if (v == nullptr || u.count(key)) return;
      if (auto n = JsToNumber(*v)) u[key] = *n;
    };
    std::optional<double> input =
        first({"gen_ai.usage.prompt_tokens", "gen_ai.usage.input_tokens"});
    std::optional<double> output =
        first({"gen_ai.usage.completion_tokens", "gen_ai.usage.output_tokens"});
    std::optional<double> total = first({"ai.usage.tokens"});
    if (auto n = NumAttr("ai.usage.cachedInputTokens")) u["input_cached_tokens"] = *n;
    if (auto n = NumAttr("ai.usage.reasoningTokens")) u["output_reasoning_tokens"] = *n;
    std::optional<json::value> provider = ParseIfString(A("ai.response.providerMetadata"));
    if (provider && provider->is_object()) {
      const json::object& p = provider->get_object();
      if (const json::value* openai = p.if_contains("openai"); openai && openai->is_object()) {
        const json::object& o = openai->get_object();
        set_if_absent("input_cached_tokens", o.if_contains("cachedPromptTokens"));
        set_if_absent("accepted_prediction_tokens", o.if_contains("acceptedPredictionTokens"));
        set_if_absent("rejected_prediction_tokens", o.if_contains("rejectedPredictionTokens"));
        set_if_absent("output_reasoning_tokens", o.if_contains("reasoningTokens"));
      }
      if (const json::value* anthropic = p.if_contains("anthropic");
          anthropic && anthropic->is_object()) {
        if (const json::value* usage = anthropic->get_object().if_contains("usage");
            usage && usage->is_object()) {
          const json::object& au = usage->get_object();
          set_if_absent("input_cache_creation", au.if_contains("cache_creation_input_tokens"));
          set_if_absent("input_cached_tokens", au.if_contains("cache_read_input_tokens"));
          if (const json::value* cc = au.if_contains("cache_creation"); cc && cc->is_object()) {
            const json::object& c = cc->get_object();
            if (const json::value* v = c.if_contains("ephemeral_5m_input_tokens");
                v && v->is_number()) {
              set_if_absent("input_cache_creation_5m", v);
            }
            if (const json::value* v = c.if_contains("ephemeral_1h_input_tokens");
                v && v->is_number()) {
              set_if_absent("input_cache_creation_1h", v);
            }
            double rest = u["input_cache_creation"] - u["input_cache_creation_5m"] -
                          u["input_cache_creation_1h"];
            u["input_cache_creation"] = std::max(rest, 0.0);
          }
        }
      }
      if (const json::value* bedrock = p.if_contains("bedrock"); bedrock && bedrock->is_object()) {
        if (const json::value* usage = bedrock->get_object().if_contains("usage");
            usage && usage->is_object()) {
          const json::object& bu = usage->get_object();
          set_if_absent("input_cache_read", bu.if_contains("cacheReadInputTokens"));
          set_if_absent("input_cache_write", bu.if_contains("cacheWriteInputTokens"));
          set_if_absent("input_cache_creation", bu.if_contains("cacheCreationInputTokens"));
        }
      }
    }
    auto get = [&](const char* k) {
      auto it = u.find(k);
      return it == u.end() ? 0.0 : it->second;
    };
    // Langfuse sets input/output to 0 even when the span reports no tokens;
    // Loupe leaves them out then, so non-LLM spans carry no usage.
    if (input) {
      u["input"] = std::max(*input - get("input_cached_tokens") - get("input_cache_creation") -
                                get("input_cache_creation_5m") - get("input_cache_creation_1h") -
                                get("input_cache_read"),
                            0.0);
    }
    if (output) u["output"] = std::max(*output - get("output_reasoning_tokens"), 0.0);
    if (total) u["total"] = *total;
    json::object out;
    for (const auto& [k, v] : u) out[k] = NumberValue(v);
    return out;
  }

  json::object GenericUsage() const {
    std::map<std::string, double, std::less<>> raw;
    for (const auto& kv : attrs_) {
      string_view key = kv.key();
      string_view rest;
      if (StartsWith(key, "gen_ai.usage.") && key != "gen_ai.usage.cost") {
        rest = key.substr(13);
      } else if (StartsWith(key, "llm.token_count.")) {
        rest = key.substr(16);
      } else {
        continue;
      }
      if (rest.empty() || raw.count(rest)) continue;
      if (auto n = JsToNumber(kv.value())) raw.emplace(std::string(rest), *n);
    }
    if (raw.empty()) return {};
    std::vector<string_view> consumed;
    auto first = [&](std::initializer_list<string_view> keys) -> std::optional<double> {
      std::optional<double> found;
      for (string_view k : keys) {
        consumed.push_back(k);
        if (auto it = raw.find(k); it != raw.end() && !found) found = it->second;
      }
      return found;
    };
    std::optional<double> input = first({"prompt_tokens", "input_tokens", "prompt"});
    std::optional<double> output = first({"completion_tokens", "output_tokens", "completion"});
    std::optional<double> total = first({"total_tokens", "total"});
    std::optional<double> cached =
        first({"cache_read.input_tokens", "cache_read_input_tokens", "cache_read_tokens",
               "details.cache_read_input_tokens", "details.cache_read_tokens",
               "prompt_details.cache_read", "input_cached_tokens"});
    std::optional<double> creation =
        first({"cache_creation.input_tokens", "cache_creation_input_tokens", "cache_write_tokens",
               "details.cache_write_tokens", "details.cache_creation_input_tokens",
               "prompt_details.cache_write", "input_cache_creation"});
    std::optional<double> reasoning = first(
        {"reasoning.output_tokens", "completion_details.reasoning", "output_reasoning_tokens"});
    std::optional<double> audio = first({"completion_details.audio", "output_audio_tokens"});
    json::object out;
    if (input)
      out["input"] = NumberValue(std::max(*input - cached.value_or(0) - creation.value_or(0), 0.0));
    if (output)
      out["output"] =
          NumberValue(std::max(*output - reasoning.value_or(0) - audio.value_or(0), 0.0));
    if (total) out["total"] = NumberValue(*total);
    if (cached) out["input_cached_tokens"] = NumberValue(*cached);
    if (creation) out["input_cache_creation"] = NumberValue(*creation);
    if (reasoning) out["output_reasoning_tokens"] = NumberValue(*reasoning);
    if (audio) out["output_audio_tokens"] = NumberValue(*audio);
    static constexpr string_view kSourceNames[] = {
        "prompt_tokens", "input_tokens", "prompt",       "completion_tokens",
        "output_tokens", "completion",   "total_tokens", "total"};
    for (const auto& [k, v] : raw) {
      if (std::find(consumed.begin(), consumed.end(), k) != consumed.end()) continue;
      if (StartsWith(k, "details.cache_read")) continue;
      string_view key = k;
      if (StartsWith(key, "details.")) key.remove_prefix(8);
      if (std::find(std::begin(kSourceNames), std::end(kSourceNames), key) !=
              std::end(kSourceNames) ||
          out.contains(key)) {
        continue;
      }
      out[key] = NumberValue(v);
    }
    return out;
  }

  json::object CostDetails() const {
    if (IsAgentInvocation()) return {};
    if (const json::value* v = A("langfuse.observation.cost_details"); Truthy(v)) {
      auto parsed = ParseIfString(v);
      if (parsed && parsed->is_object()) return std::move(parsed->get_object());
      return {};
    }
    for (string_view k : {"gen_ai.usage.cost", "llm.cost.total"}) {
      if (const json::value* v = A(k); Truthy(v)) {
        json::object out;
        if (auto n = JsToNumber(*v)) out["total"] = *n;
        return out;
      }
    }
    return {};
  }

  // ------------------------------------------------------------ metadata

  // Langfuse-convention metadata of one domain: the JSON object in
  // `<prefix>` (or langfuse.metadata), then flattened `<prefix>.<key>`,
  // `langfuse.metadata.<key>` and `ai.telemetry.metadata.<key>` attributes.
  static json::object ExtractMetadata(const json::object& attrs, Domain domain) {
    string_view prefix = domain == Domain::kObservation ? "langfuse.observation.metadata"
                                                        : "langfuse.trace.metadata";
    json::object out;
    const json::value* top = attrs.if_contains(prefix);
    if (!Truthy(top)) top = attrs.if_contains("langfuse.metadata");
    if (Truthy(top)) {
      if (const json::string* s = top->if_string()) {
        if (auto parsed = ParseJsonText(*s)) {
          if (parsed->is_object()) {
            out = std::move(parsed->get_object());
          } else {
            // The Python SDK sends non-dict metadata as one JSON value; keep it
            // the way the batch API keeps non-object metadata.
            out["metadata"] = *parsed;
          }
        }
      } else if (const json::object* o = top->if_object()) {
        out = *o;
      }
    }
    static constexpr string_view kExcluded[] = {
        "ai.telemetry.metadata.userId", "ai.telemetry.metadata.sessionId",
        "ai.telemetry.metadata.tags", "ai.telemetry.metadata.langfusePrompt"};
    for (const auto& kv : attrs) {
      string_view key = kv.key();
      if (std::find(std::begin(kExcluded), std::end(kExcluded), key) != std::end(kExcluded)) {
        continue;
      }
      for (string_view p :
           {prefix, string_view("langfuse.metadata"), string_view("ai.telemetry.metadata")}) {
        if (key.size() > p.size() + 1 && StartsWith(key, p) && key[p.size()] == '.') {
          out[key.substr(p.size() + 1)] = kv.value();
        }
      }
    }
    if (const json::value* tools = attrs.if_contains("ai.prompt.tools"); Truthy(tools)) {
      out["tools"] = *tools;
    }
    return out;
  }

  json::object FilteredAttributes() const {
    json::object out;
    for (const auto& kv : attrs_) {
      string_view key = kv.key();
      if (std::find(std::begin(kIoKeys), std::end(kIoKeys), key) != std::end(kIoKeys)) continue;
      bool filtered = false;
      for (string_view p : kFilteredPrefixes) {
        if (StartsWith(key, p)) filtered = true;
      }
      if (filtered) continue;
      out[key] = Text(kv.value());
    }
    return out;
  }

  json::object ScopeJson() const {
    json::object o;
    if (!scope_.name.empty()) o["name"] = scope_.name;
    if (!scope_.version.empty()) o["version"] = scope_.version;
    o["attributes"] = scope_.attributes;
    return o;
  }

  static void MergeInto(json::object* into, const json::object& from) {
    for (const auto& kv : from) (*into)[kv.key()] = kv.value();
  }

  // ------------------------------------------------------------ input / output (§5.5)

  // Parses a messages value (JSON string or array) and prepends the system
  // instructions as a system message when the messages have none.
  static json::value WithSystemInstructions(const json::value& messages,
                                            const json::value* instructions) {
    if (!Truthy(instructions)) return messages;
    std::optional<json::value> parsed = ParseIfString(&messages);
    if (!parsed || !parsed->is_array()) return messages;
    json::array& list = parsed->get_array();
    for (const json::value& m : list) {
      if (const json::object* o = m.if_object()) {
        if (const json::value* role = o->if_contains("role");
            role && role->is_string() && role->get_string() == "system") {
          return *parsed;
        }
      }
    }
    json::object system;
    system["role"] = "system";
    std::optional<json::value> instr = ParseIfString(instructions);
    if (instr && instr->is_array()) {
      system["parts"] = std::move(*instr);
    } else {
      system["content"] = *instructions;
    }
    list.insert(list.begin(), json::value(std::move(system)));
    return *parsed;
  }

  static bool NumericSegment(string_view s) {
    return !s.empty() && s.size() <= 6 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  }

  // Sets `value` at parts[from..] below `cur`, creating objects, or arrays
  // where the next segment is numeric (JavaScript's setNestedValue).
  static void SetPath(json::value* cur, const std::vector<string_view>& parts, size_t from,
                      const json::value& value) {
    static constexpr size_t kMaxKeyPathSlots = 10001;
    for (size_t i = from; i < parts.size(); ++i) {
      string_view seg = parts[i];
      if (seg == "__proto__" || seg == "constructor" || seg == "prototype") return;
      json::value* slot = nullptr;
      if (json::array* arr = cur->if_array()) {
        if (!NumericSegment(seg)) return;
        size_t idx = static_cast<size_t>(std::atoi(std::string(seg).c_str()));
        if (idx >= kMaxKeyPathSlots) return;
        while (arr->size() <= idx) arr->push_back(nullptr);
        slot = &(*arr)[idx];
      } else if (json::object* obj = cur->if_object()) {
        slot = &(*obj)[seg];
      } else {
        return;
      }
      if (i + 1 == parts.size()) {
        *slot = value;
        return;
      }
      if (!slot->is_object() && !slot->is_array()) {
        *slot =
            NumericSegment(parts[i + 1]) ? json::value(json::array()) : json::value(json::object());
      }
      cur = slot;
    }
  }

  // Rebuilds flattened attributes such as `gen_ai.prompt.0.role` into a
  // nested value ([{role}]). When any key has a numeric first segment the
  // result is an array with an object per index, as in Langfuse; an exact
  // `<prefix>` attribute wins.
  static std::optional<json::value> FromKeyPaths(const json::object& attrs, string_view prefix) {
    if (const json::value* exact = attrs.if_contains(prefix); Truthy(exact)) return *exact;
    std::vector<std::pair<std::vector<string_view>, const json::value*>> paths;
    bool top_array = false;
    for (const auto& kv : attrs) {
      string_view key = kv.key();
      if (key.size() <= prefix.size() + 1 || !StartsWith(key, prefix) ||
          key[prefix.size()] != '.') {
        continue;
      }
      std::vector<string_view> parts;
      string_view rest = key.substr(prefix.size() + 1);
      size_t i = 0;
      while (i <= rest.size()) {
        size_t j = rest.find('.', i);
        if (j == string_view::npos) j = rest.size();
        parts.push_back(rest.substr(i, j - i));
        i = j + 1;
      }
      if (parts.size() > static_cast<size_t>(kMaxValueDepth)) continue;
      if (parts.size() > 1 && NumericSegment(parts[0])) top_array = true;
      paths.emplace_back(std::move(parts), &kv.value());
    }
    if (paths.empty()) return std::nullopt;
    if (!top_array) {
      json::value root = json::object();
      for (const auto& [parts, value] : paths) SetPath(&root, parts, 0, *value);
      return root;
    }
    json::value root = json::array();
    for (const auto& [parts, value] : paths) {
      if (!NumericSegment(parts[0])) continue;
      size_t idx = static_cast<size_t>(std::atoi(std::string(parts[0]).c_str()));
      if (idx >= 10001) continue;
      json::array& arr = root.get_array();
      while (arr.size() <= idx) arr.push_back(nullptr);
      if (parts.size() == 1) {
        arr[idx] = *value;
        continue;
      }
      if (!arr[idx].is_object()) arr[idx] = json::object();
      SetPath(&arr[idx], parts, 1, *value);
    }
    return root;
  }

  static json::object EventAttributesWithRole(const SpanEvent& e, string_view role) {
    json::object o;
    o["role"] = role;
    for (const auto& kv : e.attributes) o[kv.key()] = kv.value();
    return o;
  }

  // The rules of client-wire-formats.md §5.5 in priority order. Each side
  // (input, output) comes from the first rule that has it; once both are
  // found the remaining rules are skipped.
  Io InputOutput(Domain domain) const {
    Io io;
    auto take = [&](const json::value* in, const json::value* out) {
      if (!io.input && Truthy(in)) io.input = *in;
      if (!io.output && Truthy(out)) io.output = *out;
      return io.input && io.output;
    };
    auto take_values = [&](std::optional<json::value> in, std::optional<json::value> out) {
      if (!io.input && in && Truthy(&*in)) io.input = std::move(in);
      if (!io.output && out && Truthy(&*out)) io.output = std::move(out);
      return io.input && io.output;
    };

    // 1. Langfuse SDK attributes (null-checked, not truthiness, like Langfuse).
    {
      const json::value* in = A("langfuse.observation.input");
      const json::value* out = A("langfuse.observation.output");
      if (domain == Domain::kTrace) {
        if (const json::value* t = A("langfuse.trace.input"); Truthy(t)) in = t;
        if (const json::value* t = A("langfuse.trace.output"); Truthy(t)) out = t;
      }
      if (NotNull(in)) io.input = *in;
      if (NotNull(out)) io.output = *out;
      if (io.input && io.output) return io;
    }

    // 2. Genkit.
    if (scope_.name == "genkit-tracer") {
      auto unwrap = [&](string_view key, string_view field) -> std::optional<json::value> {
        const json::value* v = A(key);
        if (!Truthy(v)) return std::nullopt;
        if (auto parsed = ParseIfString(v); parsed && parsed->is_object()) {
          if (const json::value* f = parsed->get_object().if_contains(field); NotNull(f)) return *f;
        }
        return *v;
      };
      if (take_values(unwrap("genkit:input", "messages"), unwrap("genkit:output", "message"))) {
        return io;
      }
    }

    // 3. Vercel AI SDK: knows both sides; final.
    if (scope_.name == "ai") {
      const json::value* in = nullptr;
      for (string_view k : {"ai.prompt.messages", "ai.prompt", "ai.toolCall.args"}) {
        if ((in = A(k)) != nullptr) break;
      }
      if (!Truthy(in)) in = A("gen_ai.input.messages");
      std::optional<json::value> out;
      const json::value* text = A("ai.response.text");
      const json::value* calls = A("ai.response.toolCalls");
      if (text && calls) {
        json::object msg;
        msg["role"] = "assistant";
        msg["content"] = *text;
        msg["tool_calls"] = *calls;
        out = json::value(JsStringify(msg));
      } else if (Truthy(text)) {
        out = *text;
      } else {
        for (string_view k : {"ai.result.text", "ai.toolCall.result", "ai.response.object",
                              "ai.result.object", "ai.response.toolCalls", "ai.result.toolCalls"}) {
          if (const json::value* v = A(k)) {
            out = *v;
            break;
          }
        }
      }
      if (!out || !Truthy(&*out)) {
        if (const json::value* v = A("gen_ai.output.messages")) out = *v;
      }
      take(in, nullptr);
      take_values(std::nullopt, std::move(out));
      return io;
    }

    // 4. Flue.
    if (scope_.name == "@flue/opentelemetry") {
      const json::value* in = nullptr;
      for (string_view k : {"flue.turn.input", "flue.tool.arguments", "flue.task.prompt",
                            "flue.workflow.payload"}) {
        if (NotNull(in = A(k))) break;
      }
      std::optional<json::value> parsed_in;
      if (NotNull(in)) parsed_in = ParseIfString(in).value_or(*in);
      const json::value* out = nullptr;
      for (string_view k : {"flue.turn.output", "flue.tool.result", "flue.task.result",
                            "flue.operation.result", "flue.workflow.result"}) {
        if (NotNull(out = A(k))) break;
      }
      if (take_values(std::move(parsed_in),
                      NotNull(out) ? std::optional<json::value>(*out) : std::nullopt)) {
        return io;
      }
    }

    // 5. GenAI semconv >= 1.37: one event with the whole operation.
    for (const SpanEvent& e : span_.events) {
      if (e.name != "gen_ai.client.inference.operation.details") continue;
      const json::object& ea = e.attributes;
      std::optional<json::value> in, out;
      if (const json::value* m = ea.if_contains("gen_ai.input.messages"); Truthy(m)) {
        in = WithSystemInstructions(*m, ea.if_contains("gen_ai.system_instructions"));
      } else if (const json::value* a = ea.if_contains("gen_ai.tool.call.arguments"); Truthy(a)) {
        in = *a;
      }
      if (const json::value* m = ea.if_contains("gen_ai.output.messages"); Truthy(m)) {
        out = *m;
      } else if (const json::value* r = ea.if_contains("gen_ai.tool.call.result"); Truthy(r)) {
        out = *r;
      }
      if (take_values(std::move(in), std::move(out))) return io;
      break;
    }

    // 6. GenAI message events.
    {
      json::array in, out;
      for (const SpanEvent& e : span_.events) {
        if (e.name == "gen_ai.system.message" || e.name == "gen_ai.user.message" ||
            e.name == "gen_ai.assistant.message" || e.name == "gen_ai.tool.message") {
          string_view role = string_view(e.name).substr(7);  // drop "gen_ai."
          role = role.substr(0, role.size() - 8);            // drop ".message"
          in.push_back(EventAttributesWithRole(e, role));
        } else if (e.name == "gen_ai.choice") {
          out.push_back(e.attributes);
        }
      }
      if (!in.empty() || !out.empty()) {
        std::optional<json::value> output;
        if (out.size() == 1) {
          output = std::move(out[0]);
        } else if (!out.empty()) {
          output = std::move(out);
        }
        if (take_values(in.empty() ? std::nullopt : std::optional<json::value>(std::move(in)),
                        std::move(output))) {
          return io;
        }
      }
    }

    // 7. Legacy Semantic Kernel events: their attributes, read again by these rules.
    {
      const SpanEvent* prompt = nullptr;
      const SpanEvent* completion = nullptr;
      for (const SpanEvent& e : span_.events) {
        if (!prompt && e.name == "gen_ai.content.prompt") prompt = &e;
        if (!completion && e.name == "gen_ai.content.completion") completion = &e;
      }
      if (prompt || completion) {
        auto reread = [&](const SpanEvent* e, bool want_input) -> std::optional<json::value> {
          if (e == nullptr || e->attributes.empty()) return std::nullopt;
          Span inner;
          inner.start_us = span_.start_us;
          inner.attributes = e->attributes;
          const json::object no_resource;
          SpanMapper m(no_resource, scope_, inner);
          Io sub = m.InputOutput(Domain::kObservation);
          std::optional<json::value> v = want_input ? sub.input : sub.output;
          if (v) return v;
          return json::value(e->attributes);
        };
        if (take_values(reread(prompt, true), reread(completion, false))) return io;
      }
    }

    // 8. Google ADK: llm_request/response are "{}" on tool spans.
    {
      const json::value* in = A("gcp.vertex.agent.llm_request");
      const json::value* out = A("gcp.vertex.agent.llm_response");
      auto empty = [](const json::value* v) {
        return !Truthy(v) || (v->is_string() && v->get_string() == "{}");
      };
      if (empty(in)) in = A("gcp.vertex.agent.tool_call_args");
      if (empty(out)) out = A("gcp.vertex.agent.tool_response");
      if (take(in, out)) return io;
    }

    // 9. Logfire.
    if (take(A("prompt"), A("all_messages_events"))) return io;

    // 10. LiveKit.
    {
      const json::value* in = nullptr;
      for (string_view k : {"lk.input_text", "lk.user_transcript", "lk.chat_ctx"}) {
        if (NotNull(in = A(k))) break;
      }
      const json::value* out = A("lk.function_tool.output");
      if (!Truthy(out)) out = A("lk.response.text");
      if (take(in, out)) return io;
    }

    // 11. Logfire `events` attribute: a JSON array of GenAI events.
    if (const json::value* ev = A("events"); ev && (ev->is_string() || ev->is_array())) {
      std::optional<json::value> list = ParseIfString(ev);
      if (list && list->is_array()) {
        json::array inputs;
        std::optional<json::value> choice;
        for (const json::value& e : list->get_array()) {
          const json::object* o = e.if_object();
          const json::value* name = o ? o->if_contains("event.name") : nullptr;
          bool is_choice = name && name->is_string() && name->get_string() == "gen_ai.choice";
          if (is_choice) {
            if (!choice) choice = e;
          } else {
            inputs.push_back(e);
          }
        }
        if (take_values(
                inputs.empty() ? std::nullopt : std::optional<json::value>(std::move(inputs)),
                std::move(choice))) {
          return io;
        }
      }
    }

    // 12.-15. MLflow, Traceloop, OpenInference/SmolAgents, Pydantic/Pipecat.
    if (take(A("mlflow.spanInputs"), A("mlflow.spanOutputs"))) return io;
    if (take(A("traceloop.entity.input"), A("traceloop.entity.output"))) return io;
    if (take(A("input.value"), A("output.value"))) return io;
    if (take(A("input"), A("output"))) return io;

    // 16. Pydantic AI agent run.
    if (scope_.name == "pydantic-ai") {
      std::optional<json::value> in;
      if (const json::value* m = A("pydantic_ai.all_messages"); Truthy(m)) {
        in = WithSystemInstructions(*m, A("gen_ai.system_instructions"));
      }
      const json::value* out = A("final_result");
      if (take_values(std::move(in),
                      NotNull(out) ? std::optional<json::value>(*out) : std::nullopt)) {
        return io;
      }
    }

    // 17. Pydantic AI tools.
    if (take(A("tool_arguments"), A("tool_response"))) return io;

    // 18.-19. Flattened messages (OpenLLMetry, OpenInference).
    if (take_values(FromKeyPaths(attrs_, "gen_ai.prompt"),
                    FromKeyPaths(attrs_, "gen_ai.completion"))) {
      return io;
    }
    if (take_values(FromKeyPaths(attrs_, "llm.input_messages"),
                    FromKeyPaths(attrs_, "llm.output_messages"))) {
      return io;
    }

    // 20. GenAI semconv attributes.
    {
      std::optional<json::value> in, out;
      if (const json::value* m = A("gen_ai.input.messages"); Truthy(m)) {
        in = WithSystemInstructions(*m, A("gen_ai.system_instructions"));
      } else if (const json::value* a = A("gen_ai.tool.call.arguments"); Truthy(a)) {
        in = *a;
      }
      if (const json::value* m = A("gen_ai.output.messages"); Truthy(m)) {
        out = *m;
      } else if (const json::value* r = A("gen_ai.tool.call.result"); Truthy(r)) {
        out = *r;
      }
      take_values(std::move(in), std::move(out));
    }
    return io;
  }

  // ------------------------------------------------------------ events

  json::object ObservationBody(const std::string& type) const {
    json::object b;
    b["id"] = span_.span_id;
    b["traceId"] = span_.trace_id;
    if (!span_.parent_span_id.empty()) b["parentObservationId"] = span_.parent_span_id;
    b["name"] = Name();
    b["startTime"] = start_iso_;
    b["endTime"] = end_iso_;
    if (auto t = CompletionStartTime()) b["completionStartTime"] = *t;
    b["environment"] = Environment();
    b["level"] = Level();
    if (auto m = StatusMessage()) b["statusMessage"] = *m;
    if (auto v = Version()) b["version"] = *v;
    if (auto m = Model()) b["model"] = *m;
    if (json::object p = ModelParameters(); !p.empty()) b["modelParameters"] = std::move(p);
    if (json::object u = UsageDetails(); !u.empty()) b["usageDetails"] = std::move(u);
    if (json::object c = CostDetails(); !c.empty()) b["costDetails"] = std::move(c);
    if (type == "GENERATION") AddPrompt(&b);
    Io io = InputOutput(Domain::kObservation);
    if (io.input) b["input"] = std::move(*io.input);
    if (io.output) b["output"] = std::move(*io.output);

    json::object metadata = ExtractMetadata(resource_, Domain::kTrace);
    MergeInto(&metadata, ExtractMetadata(attrs_, Domain::kObservation));
    if (!IsLangfuseSdk()) metadata["attributes"] = FilteredAttributes();
    metadata["resourceAttributes"] = resource_;
    metadata["scope"] = ScopeJson();
    b["metadata"] = std::move(metadata);
    CapBodyDepth(&b);
    return b;
  }

  static void CapBodyDepth(json::object* b) {
    for (const char* k : {"input", "output", "metadata"}) {
      if (json::value* v = b->if_contains(k)) CapDepth(v);
    }
  }

  // Fields shared by the full and the partial trace.
  void AddTraceFields(json::object* b) const {
    if (auto v = Version()) (*b)["version"] = *v;
    if (auto r = Release()) (*b)["release"] = *r;
    if (auto u = UserId()) (*b)["userId"] = *u;
    if (auto s = SessionId()) (*b)["sessionId"] = *s;
    if (auto p = Public()) (*b)["public"] = *p;
    std::vector<std::string> tags = Tags();
    if (!tags.empty()) {
      json::array a;
      for (auto& t : tags) a.emplace_back(t);
      (*b)["tags"] = std::move(a);
    }
  }

  json::object ShallowTraceBody() const {
    json::object b;
    b["id"] = span_.trace_id;
    b["timestamp"] = start_iso_;
    b["environment"] = Environment();
    return b;
  }

  json::object FullTraceBody() const {
    json::object b = ShallowTraceBody();
    const json::value* trace_name = A("langfuse.trace.name");
    b["name"] = TruncateUtf8(NotNull(trace_name) ? Text(*trace_name) : Name(), 1000);
    AddTraceFields(&b);
    Io io = InputOutput(Domain::kTrace);
    if (io.input) b["input"] = std::move(*io.input);
    if (io.output) b["output"] = std::move(*io.output);
    json::object metadata = ExtractMetadata(resource_, Domain::kTrace);
    MergeInto(&metadata, ExtractMetadata(attrs_, Domain::kTrace));
    MergeInto(&metadata, ExtractMetadata(attrs_, Domain::kObservation));
    if (!IsLangfuseSdk()) metadata["attributes"] = FilteredAttributes();
    metadata["resourceAttributes"] = resource_;
    metadata["scope"] = ScopeJson();
    b["metadata"] = std::move(metadata);
    CapBodyDepth(&b);
    return b;
  }

  json::object PartialTraceBody() const {
    json::object b = ShallowTraceBody();
    if (const json::value* n = A("langfuse.trace.name"); NotNull(n)) {
      b["name"] = TruncateUtf8(Text(*n), 1000);
    }
    AddTraceFields(&b);
    if (const json::value* in = A("langfuse.trace.input"); NotNull(in)) b["input"] = *in;
    if (const json::value* out = A("langfuse.trace.output"); NotNull(out)) b["output"] = *out;
    json::object metadata = ExtractMetadata(resource_, Domain::kTrace);
    MergeInto(&metadata, ExtractMetadata(attrs_, Domain::kTrace));
    metadata["resourceAttributes"] = resource_;
    metadata["scope"] = ScopeJson();
    b["metadata"] = std::move(metadata);
    CapBodyDepth(&b);
    return b;
  }

 private:
  const json::object& resource_;
  const Scope& scope_;
  const Span& span_;
  const json::object& attrs_;
  const std::string start_iso_;
  const std::string end_iso_;
};

json::object Envelope(std::string id, std::string_view type, const std::string& timestamp,
                      json::object body) {
  json::object e;
  e["id"] = std::move(id);
  e["type"] = type;
  e["timestamp"] = timestamp;
  e["body"] = std::move(body);
  return e;
}

}  // namespace

MappedExport MapExport(const ExportRequest& request) {
  MappedExport out;
  struct Shallow {
    std::string trace_id;
    int64_t start_us;
    std::string span_id;
    size_t span_index;
    json::object body;
  };
  std::unordered_map<std::string, Shallow> shallow;  // by trace id
  std::unordered_map<std::string, bool> has_trace_event;
  for (const ResourceSpans& rs : request.resource_spans) {
    for (const ScopeSpans& ss : rs.scope_spans) {
      for (const Span& span : ss.spans) {
        size_t index = out.span_ids.size();
        out.span_ids.push_back(span.span_id);
        SpanMapper m(rs.resource_attributes, ss.scope, span);
        std::string prefix = span.span_id + "-" + span.trace_id;
        if (m.IsRoot() || m.HasTraceUpdates()) {
          json::object body = m.IsRoot() ? m.FullTraceBody() : m.PartialTraceBody();
          out.events.push_back(
              Envelope(prefix + "-trace", "trace-create", m.StartIso(), std::move(body)));
          out.event_span.push_back(index);
          has_trace_event[span.trace_id] = true;
        } else {
          auto it = shallow.find(span.trace_id);
          if (it == shallow.end() || std::tie(span.start_us, span.span_id) <
                                         std::tie(it->second.start_us, it->second.span_id)) {
            shallow[span.trace_id] = {span.trace_id, span.start_us, span.span_id, index,
                                      m.ShallowTraceBody()};
          }
        }
        std::string type = m.Type();
        out.events.push_back(Envelope(prefix + "-obs", Lower(type) + "-create", m.StartIso(),
                                      m.ObservationBody(type)));
        out.event_span.push_back(index);
      }
    }
  }
  // Deterministic order for the shallow traces (the map's is not).
  std::vector<Shallow*> pending;
  for (auto& [trace_id, s] : shallow) {
    if (!has_trace_event.count(trace_id)) pending.push_back(&s);
  }
  std::sort(pending.begin(), pending.end(),
            [](const Shallow* a, const Shallow* b) { return a->span_index < b->span_index; });
  for (Shallow* s : pending) {
    std::string timestamp(s->body["timestamp"].get_string());
    out.events.push_back(Envelope(s->span_id + "-" + s->trace_id + "-trace", "trace-create",
                                  timestamp, std::move(s->body)));
    out.event_span.push_back(s->span_index);
  }
  return out;
}

}  // namespace loupe::otlp
