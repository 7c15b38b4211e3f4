#include "query/metrics.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <set>

#include "common/json_parse.h"
#include "common/time_util.h"
#include "query/latency_histogram.h"

namespace loupe {
namespace {

namespace json = boost::json;

struct ViewCatalog {
  std::vector<std::string_view> dimensions;
  std::vector<std::string_view> measures;
  std::vector<FilterColumn> filter_columns;
};

const ViewCatalog& Catalog(MetricsView view) {
  static const ViewCatalog kTraces = {{"id", "name", "tags", "userId", "sessionId", "release",
                                       "version", "environment", "timestampMonth"},
                                      {"count", "observationsCount", "scoresCount", "uniqueUserIds",
                                       "uniqueSessionIds", "latency", "totalTokens", "totalCost"},
                                      {{"id", "ID", FilterType::kString},
                                       {"name", "Name", FilterType::kString},
                                       {"tags", "Tags", FilterType::kArrayOptions},
                                       {"userId", "User ID", FilterType::kString},
                                       {"sessionId", "Session ID", FilterType::kString},
                                       {"release", "Release", FilterType::kString},
                                       {"version", "Version", FilterType::kString},
                                       {"environment", "Environment", FilterType::kString},
                                       {"timestamp", "Timestamp", FilterType::kDatetime}}};
  static const ViewCatalog kObservations = {
      {"id", "traceId", "traceName", "environment", "parentObservationId", "type", "name", "level",
       "version", "providedModelName", "promptName", "promptVersion", "userId", "sessionId",
       "startTimeMonth"},
      {"count", "latency", "streamingLatency", "inputTokens", "outputTokens", "totalTokens",
       "outputTokensPerSecond", "tokensPerSecond", "inputCost", "outputCost", "totalCost",
       "timeToFirstToken", "countScores"},
      {{"id", "ID", FilterType::kString},
       {"traceId", "Trace ID", FilterType::kString},
       {"traceName", "Trace Name", FilterType::kString},
       {"environment", "Environment", FilterType::kString},
       {"parentObservationId", "Parent Observation ID", FilterType::kString},
       {"type", "Type", FilterType::kString},
       {"name", "Name", FilterType::kString},
       {"level", "Level", FilterType::kString},
       {"version", "Version", FilterType::kString},
       {"providedModelName", "Model", FilterType::kString},
       {"promptName", "Prompt Name", FilterType::kString},
       {"userId", "User ID", FilterType::kString},
       {"sessionId", "Session ID", FilterType::kString},
       {"startTime", "Start Time", FilterType::kDatetime}}};
  static const ViewCatalog kScores = {
      {"id", "environment", "name", "source", "dataType", "traceId", "configId", "timestampMonth",
       "timestampDay", "traceName", "userId", "sessionId", "observationName",
       "observationModelName", "value", "stringValue"},
      {"count", "value"},
      {{"id", "ID", FilterType::kString},
       {"environment", "Environment", FilterType::kString},
       {"name", "Name", FilterType::kString},
       {"source", "Source", FilterType::kString},
       {"dataType", "Data Type", FilterType::kString},
       {"traceId", "Trace ID", FilterType::kString},
       {"configId", "Config ID", FilterType::kString},
       {"traceName", "Trace Name", FilterType::kString},
       {"userId", "User ID", FilterType::kString},
       {"sessionId", "Session ID", FilterType::kString},
       {"value", "Value", FilterType::kNumber},
       {"stringValue", "String Value", FilterType::kString},
       {"timestamp", "Timestamp", FilterType::kDatetime}}};
  switch (view) {
    case MetricsView::kTraces:
      return kTraces;
    case MetricsView::kObservations:
      return kObservations;
    default:
      return kScores;
  }
}

bool Contains(const std::vector<std::string_view>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

std::string Join(const std::vector<std::string_view>& list) {
  std::string out;
  for (auto v : list) out += (out.empty() ? "" : ", ") + std::string(v);
  return out;
}

constexpr std::string_view kAggregations[] = {"sum", "avg", "count", "max", "min",       "p50",
                                              "p75", "p90", "p95",   "p99", "histogram", "uniq"};

std::string ResolveAutoGranularity(int64_t from_ms, int64_t to_ms) {
  const int64_t span = to_ms - from_ms;
  constexpr int64_t kHour = 3600000, kDay = 24 * kHour;
  if (span <= 2 * kHour) return "minute";
  if (span <= 3 * kDay) return "hour";
  if (span <= 60 * kDay) return "day";
  if (span <= 366 * kDay) return "week";
  return "month";
}

double Percentile(std::vector<double>& values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  // Linear interpolation between closest ranks, as ClickHouse's quantile does.
  double pos = q * static_cast<double>(values.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, values.size() - 1);
  double frac = pos - static_cast<double>(lo);
  return values[lo] + (values[hi] - values[lo]) * frac;
}

}  // namespace

const std::vector<FilterColumn>& MetricsFilterColumns(MetricsView view) {
  return Catalog(view).filter_columns;
}

int64_t BucketStart(int64_t ms, std::string_view granularity) {
  constexpr int64_t kMinute = 60000, kHour = 3600000, kDay = 86400000;
  auto floor_to = [&](int64_t width) { return ms - ((ms % width) + width) % width; };
  if (granularity == "minute") return floor_to(kMinute);
  if (granularity == "hour") return floor_to(kHour);
  if (granularity == "day") return floor_to(kDay);
  if (granularity == "week") {
    int64_t day = floor_to(kDay);
    int64_t days = day / kDay;                   // 1970-01-01 was a Thursday
    int64_t weekday = ((days + 3) % 7 + 7) % 7;  // 0 = Monday
    return day - weekday * kDay;
  }
  // month
  std::time_t t = static_cast<std::time_t>(floor_to(kDay) / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

absl::StatusOr<MetricsQuery> ParseMetricsQuery(std::string_view text, bool v2) {
  if (text.empty()) return absl::InvalidArgumentError("query: Required");
  boost::system::error_code ec;
  json::value root = ParseJson(text, ec);
  if (ec == boost::json::error::too_deep) {
    return absl::InvalidArgumentError("query: " + JsonErrorMessage(ec));
  }
  if (ec || !root.is_object()) {
    return absl::InvalidArgumentError("query: must be a JSON object");
  }
  const json::object& o = root.as_object();
  auto str = [&](const json::object& obj, std::string_view key) -> std::string {
    const json::value* v = obj.if_contains(key);
    return (v && v->is_string()) ? std::string(v->as_string()) : std::string();
  };
  MetricsQuery q;
  std::string view = str(o, "view");
  if (view == "traces" && !v2) {
    q.view = MetricsView::kTraces;
  } else if (view == "observations") {
    q.view = MetricsView::kObservations;
  } else if (view == "scores-numeric") {
    q.view = MetricsView::kScoresNumeric;
  } else if (view == "scores-categorical") {
    q.view = MetricsView::kScoresCategorical;
  } else if (view == "scores-boolean") {
    q.view = MetricsView::kScoresBoolean;
  } else {
    return absl::InvalidArgumentError(
        "view: must be one of " + std::string(v2 ? "" : "traces, ") +
        "observations, scores-numeric, scores-categorical, scores-boolean; got '" + view + "'");
  }
  const ViewCatalog& catalog = Catalog(q.view);

  if (const json::value* dims = o.if_contains("dimensions"); dims && !dims->is_null()) {
    if (!dims->is_array()) return absl::InvalidArgumentError("dimensions: expected an array");
    for (const auto& d : dims->as_array()) {
      std::string field = d.is_object() ? str(d.as_object(), "field") : "";
      if (!Contains(catalog.dimensions, field)) {
        return absl::InvalidArgumentError("dimensions: unknown field '" + field + "' for view " +
                                          view + "; expected one of " + Join(catalog.dimensions));
      }
      q.dimensions.push_back(field);
    }
  }
  const json::value* metrics = o.if_contains("metrics");
  if (!metrics || !metrics->is_array() || metrics->as_array().empty()) {
    return absl::InvalidArgumentError("metrics: at least one {measure, aggregation} is required");
  }
  for (const auto& m : metrics->as_array()) {
    if (!m.is_object()) return absl::InvalidArgumentError("metrics: expected objects");
    MetricSpec spec{str(m.as_object(), "measure"), str(m.as_object(), "aggregation")};
    if (!Contains(catalog.measures, spec.measure)) {
      return absl::InvalidArgumentError("metrics: unknown measure '" + spec.measure +
                                        "' for view " + view + "; expected one of " +
                                        Join(catalog.measures));
    }
    if (std::find(std::begin(kAggregations), std::end(kAggregations), spec.aggregation) ==
        std::end(kAggregations)) {
      return absl::InvalidArgumentError(
          "metrics: unknown aggregation '" + spec.aggregation +
          "'; expected one of sum, avg, count, max, min, p50, p75, p90, p95, p99, histogram, uniq");
    }
    q.metrics.push_back(std::move(spec));
  }
  if (const json::value* filters = o.if_contains("filters"); filters && !filters->is_null()) {
    auto parsed = ParseFilterParam(json::serialize(*filters), catalog.filter_columns);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError("filters: " + std::string(parsed.status().message()));
    }
    q.filters = std::move(*parsed);
  }
  for (const char* key : {"fromTimestamp", "toTimestamp"}) {
    std::string v = str(o, key);
    auto us = ParseIsoMicros(v);
    if (!us) return absl::InvalidArgumentError(std::string(key) + ": required ISO date-time");
    (key[0] == 'f' ? q.from_ms : q.to_ms) = *us / 1000;
  }
  if (q.from_ms >= q.to_ms) {
    return absl::InvalidArgumentError("fromTimestamp must be before toTimestamp");
  }
  if (const json::value* td = o.if_contains("timeDimension"); td && !td->is_null()) {
    std::string g = td->is_object() ? str(td->as_object(), "granularity") : "";
    if (g == "auto") g = ResolveAutoGranularity(q.from_ms, q.to_ms);
    if (g != "minute" && g != "hour" && g != "day" && g != "week" && g != "month") {
      return absl::InvalidArgumentError(
          "timeDimension.granularity: must be one of auto, minute, hour, day, week, month");
    }
    q.granularity = g;
  }
  if (const json::value* order = o.if_contains("orderBy"); order && !order->is_null()) {
    if (!order->is_array()) return absl::InvalidArgumentError("orderBy: expected an array");
    for (const auto& ob : order->as_array()) {
      if (!ob.is_object()) return absl::InvalidArgumentError("orderBy: expected objects");
      std::string field = str(ob.as_object(), "field");
      std::string dir = str(ob.as_object(), "direction");
      if (dir != "asc" && dir != "desc") {
        return absl::InvalidArgumentError("orderBy.direction: must be asc or desc");
      }
      bool known = Contains(std::vector<std::string_view>(q.dimensions.begin(), q.dimensions.end()),
                            field) ||
                   field == "time_dimension";
      for (const auto& m : q.metrics) known |= m.alias() == field || m.measure == field;
      if (!known) {
        return absl::InvalidArgumentError("orderBy.field: '" + field +
                                          "' is neither a requested dimension nor a metric");
      }
      q.order_by.emplace_back(field, dir == "desc");
    }
  }
  if (const json::value* config = o.if_contains("config"); config && config->is_object()) {
    if (const json::value* bins = config->as_object().if_contains("bins");
        bins && !bins->is_null()) {
      if (!bins->is_int64() || bins->as_int64() < 1 || bins->as_int64() > 100) {
        return absl::InvalidArgumentError("config.bins: must be an integer from 1 to 100");
      }
      q.bins = static_cast<int>(bins->as_int64());
    }
    if (const json::value* rl = config->as_object().if_contains("row_limit");
        rl && !rl->is_null()) {
      if (!rl->is_int64() || rl->as_int64() < 1 || rl->as_int64() > 1000) {
        return absl::InvalidArgumentError("config.row_limit: must be an integer from 1 to 1000");
      }
      q.row_limit = static_cast<int>(rl->as_int64());
    }
  }
  return q;
}

// ---------------------------------------------------------------- aggregation

struct MetricsAggregator::Group {
  struct Acc {
    int64_t count = 0;  // non-null values
    double sum = 0;
    double min = 0, max = 0;
    std::vector<double> values;              // kept for percentiles and histograms
    std::map<int, int64_t> latency_buckets;  // percentiles from latency histograms
    std::set<std::string> distinct;
  };
  std::vector<std::optional<std::string>> dims;
  int64_t bucket_ms = 0;
  int64_t rows = 0;
  std::vector<Acc> accs;
};

MetricsAggregator::MetricsAggregator(const MetricsQuery& query) : query_(query) {}

MetricsAggregator::~MetricsAggregator() {
  for (auto& [k, g] : groups_) delete g;
}

MetricsAggregator::Group& MetricsAggregator::GroupOf(const MetricsRow& row) {
  auto key = std::make_pair(query_.granularity ? row.bucket_ms : 0, row.dimensions);
  Group*& g = groups_[key];
  if (!g) {
    g = new Group();
    g->dims = row.dimensions;
    g->bucket_ms = key.first;
    g->accs.resize(query_.metrics.size());
  }
  return *g;
}

void MetricsAggregator::Add(const MetricsRow& row) {
  Group* g = &GroupOf(row);
  ++g->rows;
  for (size_t i = 0; i < query_.metrics.size() && i < row.values.size(); ++i) {
    const auto& v = row.values[i];
    if (!v) continue;
    Group::Acc& a = g->accs[i];
    if (a.count == 0) {
      a.min = a.max = *v;
    } else {
      a.min = std::min(a.min, *v);
      a.max = std::max(a.max, *v);
    }
    ++a.count;
    a.sum += *v;
    const std::string& agg = query_.metrics[i].aggregation;
    if (agg[0] == 'p' && histograms_) {
      ++a.latency_buckets[LatencyBucket(*v)];
    } else if (agg[0] == 'p' || agg == "histogram") {
      a.values.push_back(*v);
    }
    if (agg == "uniq") a.distinct.insert(std::to_string(*v));
  }
}

void MetricsAggregator::AddAggregated(const MetricsRow& sums, int64_t rows) {
  if (rows <= 0) return;
  Group* g = &GroupOf(sums);
  g->rows += rows;
  for (size_t i = 0; i < query_.metrics.size() && i < sums.values.size(); ++i) {
    if (!sums.values[i]) continue;
    Group::Acc& a = g->accs[i];
    a.count += rows;
    a.sum += *sums.values[i];
  }
}

void MetricsAggregator::AddHistogram(const MetricsRow& key, size_t metric, int bucket,
                                     int64_t count) {
  if (count <= 0 || metric >= query_.metrics.size()) return;
  Group& g = GroupOf(key);
  Group::Acc& a = g.accs[metric];
  a.latency_buckets[bucket] += count;
  a.count += count;
}

bool HistogramRollupCompatible(const MetricsQuery& query) {
  if (query.granularity && *query.granularity == "minute") return false;
  for (const MetricSpec& m : query.metrics) {
    bool row_count = m.measure == "count" && (m.aggregation == "count" || m.aggregation == "sum");
    bool percentile = m.measure == "latency" && m.aggregation[0] == 'p';
    if (!row_count && !percentile && m.aggregation != "sum") return false;
  }
  return true;
}

bool RollupCompatible(const MetricsQuery& query) {
  if (query.granularity && *query.granularity == "minute") return false;
  for (const MetricSpec& m : query.metrics) {
    bool row_count = m.measure == "count" && (m.aggregation == "count" || m.aggregation == "sum");
    if (!row_count && m.aggregation != "sum") return false;
  }
  return true;
}

json::array MetricsAggregator::Finish() {
  std::vector<json::object> rows;
  for (auto& [key, g] : groups_) {
    json::object row;
    for (size_t i = 0; i < query_.dimensions.size(); ++i) {
      const auto& d = g->dims[i];
      row[query_.dimensions[i]] = d ? json::value(*d) : json::value(nullptr);
    }
    if (query_.granularity) row["time_dimension"] = FormatIsoMillis(g->bucket_ms);
    for (size_t i = 0; i < query_.metrics.size(); ++i) {
      const MetricSpec& m = query_.metrics[i];
      Group::Acc& a = g->accs[i];
      json::value out;
      if (m.aggregation == "count") {
        out = m.measure == "count" ? g->rows : a.count;
      } else if (m.aggregation == "sum") {
        out = m.measure == "count" ? static_cast<double>(g->rows) : a.sum;
      } else if (m.aggregation == "avg") {
        out = a.count ? json::value(a.sum / static_cast<double>(a.count)) : json::value(nullptr);
      } else if (m.aggregation == "min") {
        out = a.count ? json::value(a.min) : json::value(nullptr);
      } else if (m.aggregation == "max") {
        out = a.count ? json::value(a.max) : json::value(nullptr);
      } else if (m.aggregation == "uniq") {
        out = static_cast<int64_t>(a.distinct.size());
      } else if (m.aggregation == "histogram") {
        json::array bins;
        if (!a.values.empty()) {
          double lo = a.min, hi = a.max;
          int n = query_.bins;
          double width = (hi - lo) / n;
          std::vector<int64_t> counts(static_cast<size_t>(n), 0);
          for (double v : a.values) {
            int b = width > 0 ? static_cast<int>((v - lo) / width) : 0;
            counts[static_cast<size_t>(std::clamp(b, 0, n - 1))]++;
          }
          for (int b = 0; b < n; ++b) {
            if (width <= 0 && b > 0) break;
            json::array bin;
            bin.emplace_back(lo + width * b);
            bin.emplace_back(width > 0 ? lo + width * (b + 1) : hi);
            bin.emplace_back(counts[static_cast<size_t>(b)]);
            bins.push_back(std::move(bin));
          }
        }
        out = std::move(bins);
      } else {  // pNN
        double q = std::stod(m.aggregation.substr(1)) / 100.0;
        if (!a.latency_buckets.empty()) {
          out = HistogramPercentile(a.latency_buckets, q);
        } else {
          out = a.values.empty() ? json::value(nullptr) : json::value(Percentile(a.values, q));
        }
      }
      row[m.alias()] = std::move(out);
    }
    rows.push_back(std::move(row));
  }
  // Explicit order first; otherwise by time bucket, then by the first metric
  // descending (the "top N" a dashboard wants).
  auto cmp_values = [](const json::value* a, const json::value* b) -> int {
    if (!a || a->is_null()) return (!b || b->is_null()) ? 0 : -1;
    if (!b || b->is_null()) return 1;
    if (a->is_number() && b->is_number()) {
      double x = a->to_number<double>(), y = b->to_number<double>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    std::string x = a->is_string() ? std::string(a->as_string()) : json::serialize(*a);
    std::string y = b->is_string() ? std::string(b->as_string()) : json::serialize(*b);
    return x.compare(y) < 0 ? -1 : (x == y ? 0 : 1);
  };
  std::vector<std::pair<std::string, bool>> order = query_.order_by;
  for (auto& [field, desc] : order) {
    for (const auto& m : query_.metrics) {
      if (m.measure == field) field = m.alias();
    }
  }
  if (order.empty()) {
    if (query_.granularity) order.emplace_back("time_dimension", false);
    order.emplace_back(query_.metrics.front().alias(), true);
  }
  std::stable_sort(rows.begin(), rows.end(), [&](const json::object& a, const json::object& b) {
    for (const auto& [field, desc] : order) {
      int c = cmp_values(a.if_contains(field), b.if_contains(field));
      if (c != 0) return desc ? c > 0 : c < 0;
    }
    return false;
  });
  json::array out;
  for (auto& r : rows) {
    if (static_cast<int>(out.size()) >= query_.row_limit) break;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace loupe
