#pragma once

// The metrics query API (GET /api/public/metrics and /v2/metrics): a query
// object names a view (traces, observations, scores-*), dimensions to group
// by, measures with aggregations, filters, an optional time bucket and a
// time range. This module parses and validates queries against the catalog
// of each view and aggregates rows; storage backends only supply the rows
// (or, for engines that aggregate themselves, implement the same contract).
//
// Thread-compatible.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/json.hpp"
#include "query/filter.h"

namespace loupe {

enum class MetricsView {
  kTraces,
  kObservations,
  kScoresNumeric,
  kScoresCategorical,
  kScoresBoolean
};

struct MetricSpec {
  std::string measure;      // e.g. "count", "latency", "totalCost"
  std::string aggregation;  // sum avg count max min p50 p75 p90 p95 p99 histogram uniq
  std::string alias() const { return aggregation + "_" + measure; }
};

struct MetricsQuery {
  MetricsView view = MetricsView::kTraces;
  std::vector<std::string> dimensions;
  std::vector<MetricSpec> metrics;
  std::vector<FilterCondition> filters;
  // Bucket width in ms for the time dimension; unset = no time dimension.
  std::optional<std::string> granularity;  // minute hour day week month (resolved from auto)
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  std::vector<std::pair<std::string, bool>> order_by;  // field, descending
  int bins = 10;
  int row_limit = 1000;
};

// Parses the `query` parameter. `v2` rejects the traces view, as the v2
// endpoint does. Errors are InvalidArgument and name the bad field.
absl::StatusOr<MetricsQuery> ParseMetricsQuery(std::string_view json, bool v2);

// Filter columns of each view (dimensions are filterable too).
const std::vector<FilterColumn>& MetricsFilterColumns(MetricsView view);

// One input row for aggregation: dimension values (strings, null = absent)
// in query.dimensions order, the bucket start when a time dimension is
// asked for, and one numeric value per metric (null = no value).
struct MetricsRow {
  std::vector<std::optional<std::string>> dimensions;
  int64_t bucket_ms = 0;
  std::vector<std::optional<double>> values;
};

// Groups rows and computes each metric. Not thread-safe.
class MetricsAggregator {
 public:
  explicit MetricsAggregator(const MetricsQuery& query);
  ~MetricsAggregator();
  void Add(const MetricsRow& row);
  // Adds `rows` already-aggregated rows whose values are sums (from rollup
  // tables). Only valid for queries RollupCompatible() or
  // HistogramRollupCompatible() accepts (a percentile's value is ignored).
  void AddAggregated(const MetricsRow& sums, int64_t rows);
  // Percentiles from latency histograms (query/latency_histogram.h): from
  // here on, Add() files the values of percentile metrics into histogram
  // buckets too, so rows and rollup histograms combine, and Finish()
  // interpolates those percentiles from the buckets (approximate: within one
  // bucket of the exact value). Call before the first Add().
  void UseLatencyHistograms() { histograms_ = true; }
  // Adds `count` values in latency bucket `bucket` to metric `metric` (a
  // percentile) of the group of `key` (dimensions and bucket_ms; its values
  // are ignored). Rows are counted by AddAggregated(), not here.
  void AddHistogram(const MetricsRow& key, size_t metric, int bucket, int64_t count);
  // The response rows: dimension fields, "time_dimension" (ISO) when
  // bucketed, and "<aggregation>_<measure>" per metric; ordered and limited.
  boost::json::array Finish();

 private:
  struct Group;
  Group& GroupOf(const MetricsRow& row);
  const MetricsQuery& query_;
  bool histograms_ = false;
  std::map<std::pair<int64_t, std::vector<std::optional<std::string>>>, Group*> groups_;
};

// True when every metric is a sum (or a count of rows), so pre-aggregated
// rollup rows can stand in for the rows they summarize.
bool RollupCompatible(const MetricsQuery& query);

// True when every metric is a sum, a count of rows or a percentile of
// `latency`, so rollups with latency histograms can serve the query.
bool HistogramRollupCompatible(const MetricsQuery& query);

// Start of the bucket containing `ms` (UTC; weeks start on Monday).
int64_t BucketStart(int64_t ms, std::string_view granularity);

}  // namespace loupe
