#pragma once

// The embedded EventStore on SQLite (events.db in the data directory).
//
// Threading: one writer thread owns the only read-write connection and
// drains a bounded queue of write requests, committing everything that is
// pending in one transaction (group commit): a request's Write() returns
// after the commit that contains it. Reads use a pool of read-only WAL
// connections and never wait for the writer.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cost/price_table.h"
#include "storage/event_store.h"

namespace loupe {

struct SqliteEventStoreOptions {
  std::string path;  // database file
  int reader_connections = 4;
  // Upper bound of queued events before Write() answers kResourceExhausted
  // (the API turns it into 503 + Retry-After).
  size_t max_queued_events = 50000;
  // Largest number of events merged into one transaction.
  size_t max_group_events = 10000;
  // Latency percentiles of a metrics query over at most this many rows are
  // computed from the rows (exact); over more, from the hourly latency
  // histograms (exact to within one ~9 % bucket, at a cost independent of
  // the row count).
  int64_t exact_percentile_rows = 100000;
};

// `prices` must outlive the store.
absl::StatusOr<std::unique_ptr<EventStore>> OpenSqliteEventStore(
    const SqliteEventStoreOptions& options, const PriceTable* prices);

}  // namespace loupe
