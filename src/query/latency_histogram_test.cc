#include "query/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "query/metrics.h"

namespace loupe {
namespace {

TEST(LatencyHistogramTest, BucketsAreLogSpacedAndContainTheirValues) {
  EXPECT_EQ(LatencyBucket(-5), 0);
  EXPECT_EQ(LatencyBucket(0), 0);
  EXPECT_EQ(LatencyBucket(0.99), 0);
  EXPECT_EQ(LatencyBucket(1), 1);
  EXPECT_EQ(LatencyBucket(2), 1 + kLatencyBucketsPerDoubling);
  EXPECT_EQ(LatencyBucket(1024), 1 + 10 * kLatencyBucketsPerDoubling);
  EXPECT_EQ(LatencyBucket(1e30), kLatencyBuckets - 1);
  for (double ms : {1.0, 1.5, 7.0, 99.9, 1000.0, 1234.5, 60000.0, 3.6e6}) {
    int b = LatencyBucket(ms);
    EXPECT_LE(LatencyBucketLower(b), ms) << ms;
    EXPECT_LT(ms, LatencyBucketUpper(b)) << ms;
    // Each bucket is 2^(1/8) wide: ~9 %.
    EXPECT_NEAR(LatencyBucketUpper(b) / LatencyBucketLower(b), std::exp2(1.0 / 8), 1e-9);
  }
}

TEST(LatencyHistogramTest, EmptyAndSingleBucket) {
  EXPECT_EQ(HistogramPercentile({}, 0.5), 0);
  EXPECT_EQ(HistogramPercentile({{5, 0}}, 0.5), 0);
  // One value: the middle of its bucket for every q.
  const int b = LatencyBucket(100);
  const double mid = (LatencyBucketLower(b) + LatencyBucketUpper(b)) / 2;
  EXPECT_DOUBLE_EQ(HistogramPercentile({{b, 1}}, 0), mid);
  EXPECT_DOUBLE_EQ(HistogramPercentile({{b, 1}}, 0.99), mid);
}

TEST(LatencyHistogramTest, InterpolatesWithinAndBetweenBuckets) {
  // Four values in two buckets: ranks 0,1 in bucket a, ranks 2,3 in bucket c.
  const int a = 10, c = 20;
  std::map<int, int64_t> h{{a, 2}, {c, 2}};
  const double a_lo = LatencyBucketLower(a), a_w = LatencyBucketUpper(a) - a_lo;
  const double c_lo = LatencyBucketLower(c), c_w = LatencyBucketUpper(c) - c_lo;
  EXPECT_DOUBLE_EQ(HistogramPercentile(h, 0), a_lo + 0.25 * a_w);
  EXPECT_DOUBLE_EQ(HistogramPercentile(h, 1), c_lo + 0.75 * c_w);
  // Median: position 1.5, halfway between rank 1 (bucket a) and rank 2 (c).
  const double r1 = a_lo + 0.75 * a_w, r2 = c_lo + 0.25 * c_w;
  EXPECT_DOUBLE_EQ(HistogramPercentile(h, 0.5), (r1 + r2) / 2);
}

TEST(LatencyHistogramTest, WithinOneBucketOfTheExactPercentile) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(7.0, 1.2);  // median ~1.1 s
  std::vector<double> values(20000);
  std::map<int, int64_t> h;
  for (double& v : values) {
    v = std::round(dist(rng));
    ++h[LatencyBucket(v)];
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.95, 0.99}) {
    const double pos = q * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(pos));
    const double exact = values[lo] + (values[lo + 1] - values[lo]) * (pos - std::floor(pos));
    const double approx = HistogramPercentile(h, q);
    // Within one bucket width (~9 %) of the exact value.
    EXPECT_NEAR(approx, exact, exact * (std::exp2(1.0 / 8) - 1)) << q;
  }
}

TEST(LatencyHistogramTest, AggregatorCombinesRowsAndRollupHistograms) {
  MetricsQuery q;
  q.view = MetricsView::kObservations;
  q.dimensions = {"providedModelName"};
  q.metrics = {{"latency", "p50"}, {"latency", "p99"}, {"count", "count"}};
  ASSERT_TRUE(HistogramRollupCompatible(q));
  MetricsAggregator agg(q);
  agg.UseLatencyHistograms();
  MetricsRow key;
  key.dimensions = {std::string("gpt-4o")};
  key.values.resize(3);
  // 99 rolled-up values around 100 ms (one of them has no latency) ...
  agg.AddAggregated(key, 100);
  agg.AddHistogram(key, 0, LatencyBucket(100), 99);
  agg.AddHistogram(key, 1, LatencyBucket(100), 99);
  // ... and one row read one by one, 10 s.
  MetricsRow row = key;
  row.values = {10000.0, 10000.0, 1.0};
  agg.Add(row);
  auto out = agg.Finish();
  ASSERT_EQ(out.size(), 1u);
  const auto& r = out[0].as_object();
  EXPECT_EQ(r.at("count_count").as_int64(), 101);
  const int b = LatencyBucket(100);
  EXPECT_GE(r.at("p50_latency").as_double(), LatencyBucketLower(b));
  EXPECT_LT(r.at("p50_latency").as_double(), LatencyBucketUpper(b));
  // p99 of 100 values: position 98.01, between the last 100 ms value and 10 s.
  EXPECT_GT(r.at("p99_latency").as_double(), LatencyBucketUpper(b));
  EXPECT_LT(r.at("p99_latency").as_double(), 10000);

  MetricsQuery avg = q;
  avg.metrics = {{"latency", "avg"}};
  EXPECT_FALSE(HistogramRollupCompatible(avg));
  MetricsQuery other = q;
  other.metrics = {{"totalTokens", "p50"}};
  EXPECT_FALSE(HistogramRollupCompatible(other));
}

}  // namespace
}  // namespace loupe
