#pragma once

// Structured logging to stderr. The level and format come from
// LANGFUSE_LOG_LEVEL (trace|debug|info|warn|error|fatal) and
// LANGFUSE_LOG_FORMAT (text|json). Thread-safe: each line is written with a
// single write(2).

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace loupe {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

struct LogField {
  std::string_view key;
  std::string value;
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  template <typename T>
  LogField(std::string_view k, T v) : key(k), value(std::to_string(v)) {}
};

// Configures the global logger from the environment. Call once at start.
void InitLoggingFromEnv();
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});

inline void LogDebug(std::string_view m, std::initializer_list<LogField> f = {}) {
  if (LogEnabled(LogLevel::kDebug)) Log(LogLevel::kDebug, m, f);
}
inline void LogInfo(std::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, m, f);
}
inline void LogWarn(std::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarn, m, f);
}
inline void LogError(std::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, m, f);
}

}  // namespace loupe
