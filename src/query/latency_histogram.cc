#include "query/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace loupe {

int LatencyBucket(double ms) {
  if (!(ms >= 1.0)) return 0;  // also NaN
  const double b = std::floor(std::log2(ms) * kLatencyBucketsPerDoubling) + 1;
  return static_cast<int>(std::min<double>(b, kLatencyBuckets - 1));
}

double LatencyBucketLower(int b) {
  if (b <= 0) return 0;
  return std::exp2(static_cast<double>(b - 1) / kLatencyBucketsPerDoubling);
}

double LatencyBucketUpper(int b) {
  if (b <= 0) return 1;
  return std::exp2(static_cast<double>(b) / kLatencyBucketsPerDoubling);
}

double HistogramPercentile(const std::map<int, int64_t>& histogram, double q) {
  int64_t n = 0;
  for (const auto& [b, c] : histogram) n += std::max<int64_t>(c, 0);
  if (n == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // Value of the rank-th smallest value (0-based): the bucket's values are
  // taken as evenly spread, the i-th of c at lower + (i + 0.5) / c * width.
  auto value_at = [&](int64_t rank) {
    int64_t seen = 0;
    for (const auto& [b, c] : histogram) {
      if (c <= 0) continue;
      if (rank < seen + c) {
        const double lo = LatencyBucketLower(b), hi = LatencyBucketUpper(b);
        const double within = (static_cast<double>(rank - seen) + 0.5) / static_cast<double>(c);
        return lo + (hi - lo) * within;
      }
      seen += c;
    }
    return LatencyBucketUpper(histogram.rbegin()->first);
  };
  const double pos = q * static_cast<double>(n - 1);
  const auto lo = static_cast<int64_t>(std::floor(pos));
  const int64_t hi = std::min(lo + 1, n - 1);
  const double frac = pos - static_cast<double>(lo);
  const double a = value_at(lo);
  return frac == 0 ? a : a + (value_at(hi) - a) * frac;
}

}  // namespace loupe
