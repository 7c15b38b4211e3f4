#include "sys_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

namespace loupe::bench {
namespace {

// utime + stime of a /proc/.../stat line, in seconds. The command name (field
// 2) may contain spaces, so parsing starts after its closing parenthesis.
double StatCpuSeconds(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return 0;
  size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(line.substr(close + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  // After the name: state(3) ... utime(14) stime(15).
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int64_t KeyedValue(const std::string& path, const std::string& field) {
  std::ifstream in(path);
  std::string line;
  std::string key = field + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stoll(line.substr(key.size()));
  }
  return -1;
}

}  // namespace

double ProcessCpuSeconds(pid_t pid) {
  return StatCpuSeconds("/proc/" + std::to_string(pid) + "/stat");
}

std::map<pid_t, double> ThreadCpuSeconds(pid_t pid) {
  std::map<pid_t, double> out;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    pid_t tid = static_cast<pid_t>(std::stol(entry.path().filename().string()));
    out[tid] = StatCpuSeconds(entry.path().string() + "/stat");
  }
  return out;
}

double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

MachineCpu MachineCpuSeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  // cpu user nice system idle iowait irq softirq steal ...
  unsigned long long v[8] = {};
  in >> cpu;
  for (auto& x : v) in >> x;
  double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  MachineCpu m;
  m.busy = static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / tick;
  m.iowait = static_cast<double>(v[4]) / tick;
  return m;
}

int64_t ProcStatusKb(pid_t pid, const std::string& field) {
  return KeyedValue("/proc/" + std::to_string(pid) + "/status", field);
}

int64_t ProcIo(pid_t pid, const std::string& field) {
  return KeyedValue("/proc/" + std::to_string(pid) + "/io", field);
}

int64_t DirectoryBytes(const std::string& path) {
  int64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    if (entry.is_regular_file(ec)) total += static_cast<int64_t>(entry.file_size(ec));
  }
  return total;
}

void Latencies::Append(const Latencies& other) {
  samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
}

double Latencies::PercentileMs(double q) const {
  if (samples_.empty()) return 0;
  std::vector<int64_t> sorted = samples_;
  std::sort(sorted.begin(), sorted.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]) / 1000.0;
}

double Latencies::MeanMs() const {
  if (samples_.empty()) return 0;
  double sum = std::accumulate(samples_.begin(), samples_.end(), 0.0);
  return sum / static_cast<double>(samples_.size()) / 1000.0;
}

}  // namespace loupe::bench
