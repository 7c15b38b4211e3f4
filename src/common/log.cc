#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "boost/json.hpp"
#include "common/time_util.h"

namespace loupe {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<bool> g_json{false};

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    default:
      return "off";
  }
}

}  // namespace

void InitLoggingFromEnv() {
  if (const char* lvl = std::getenv("LANGFUSE_LOG_LEVEL")) {
    std::string v(lvl);
    if (v == "trace" || v == "debug") SetLogLevel(LogLevel::kDebug);
    if (v == "info") SetLogLevel(LogLevel::kInfo);
    if (v == "warn") SetLogLevel(LogLevel::kWarn);
    if (v == "error" || v == "fatal") SetLogLevel(LogLevel::kError);
  }
  if (const char* fmt = std::getenv("LANGFUSE_LOG_FORMAT")) {
    g_json = std::strcmp(fmt, "json") == 0;
  }
}

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  std::string line;
  if (g_json) {
    boost::json::object o;
    o["time"] = FormatIsoMillis(NowMillis());
    o["level"] = LevelName(level);
    o["msg"] = message;
    for (const auto& f : fields) o[f.key] = f.value;
    line = boost::json::serialize(o);
  } else {
    line = FormatIsoMillis(NowMillis());
    line += ' ';
    line += LevelName(level);
    line += ' ';
    line += message;
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      line += f.value;
    }
  }
  line += '\n';
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace loupe
