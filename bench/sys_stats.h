#pragma once

// Small readers of /proc and latency percentiles for the benchmark reports.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace loupe::bench {

// CPU seconds (user + system) of a process, or of each of its threads.
double ProcessCpuSeconds(pid_t pid);
std::map<pid_t, double> ThreadCpuSeconds(pid_t pid);
// CPU seconds of this process (the client).
double SelfCpuSeconds();
// Machine-wide CPU seconds from /proc/stat: busy (not idle, not iowait) and
// iowait, summed over all cores.
struct MachineCpu {
  double busy = 0, iowait = 0;
};
MachineCpu MachineCpuSeconds();
// A field of /proc/<pid>/status in kB (e.g. "VmRSS", "VmHWM"); -1 if unknown.
int64_t ProcStatusKb(pid_t pid, const std::string& field);
// Bytes of /proc/<pid>/io ("write_bytes", "syscw", ...); -1 if unknown.
int64_t ProcIo(pid_t pid, const std::string& field);
// Total size of the regular files in a directory (not recursive).
int64_t DirectoryBytes(const std::string& path);

// Latency samples in microseconds.
class Latencies {
 public:
  void Add(int64_t us) { samples_.push_back(us); }
  void Append(const Latencies& other);
  size_t count() const { return samples_.size(); }
  // q in [0, 1]; nearest-rank on a sorted copy. 0 when empty.
  double PercentileMs(double q) const;
  double MeanMs() const;
  double MaxMs() const { return PercentileMs(1.0); }

 private:
  std::vector<int64_t> samples_;
};

}  // namespace loupe::bench
