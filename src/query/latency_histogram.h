#pragma once

// Latency histograms with fixed log-spaced buckets, kept per hour in the
// stores' rollups so that latency percentiles over millions of rows are read
// from a few thousand counters instead of the rows.
//
// Bucket 0 holds latencies below 1 ms (and negative ones); bucket b >= 1
// holds [2^((b-1)/8), 2^(b/8)) ms, so each bucket is ~9 % wide; the last
// bucket is open-ended (everything from ~2^(kLatencyBuckets-2)/8 ms, about
// 11 days, on). A percentile read from a histogram is interpolated linearly
// within its bucket: it is exact to within one bucket width (about +-4.5 %
// of the value), not exact.
//
// Pure functions, thread-safe.

#include <cstdint>
#include <map>

namespace loupe {

inline constexpr int kLatencyBuckets = 240;
inline constexpr int kLatencyBucketsPerDoubling = 8;

// The bucket of a latency in milliseconds.
int LatencyBucket(double ms);

// Lower and upper bound of bucket `b` in milliseconds (the last bucket's
// upper bound is its lower bound times one bucket factor).
double LatencyBucketLower(int b);
double LatencyBucketUpper(int b);

// The q-quantile (0 <= q <= 1) of the values a histogram counts (bucket ->
// count; counts <= 0 are ignored), with the rank convention of an exact
// percentile over sorted values (position q * (n - 1), interpolated), the
// value placed within its bucket as if the bucket's values were spread
// evenly over it. Returns 0 for an empty histogram.
double HistogramPercentile(const std::map<int, int64_t>& histogram, double q);

}  // namespace loupe
