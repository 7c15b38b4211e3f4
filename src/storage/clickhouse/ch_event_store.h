#pragma once

// The EventStore on ClickHouse (CLICKHOUSE_URL), over its HTTP interface.
//
// Tables traces, observations and scores hold one row per version of an
// entity (ReplacingMergeTree): the narrow columns that lists and filters
// read, and the entity's merge state (ingest/entity_state.h), from which
// reads build the records and writes continue merging. Reads collapse the
// versions (FINAL), so they never show an entity twice.
//
// Write() merges exactly as the SQLite store does: it reads the current
// states of the batch's entities (one query per table), applies the events,
// prices observations, and inserts the new versions (one INSERT per table).
// Writes are serialized within the process by a mutex; two processes must
// not write the same project at once (the write queue will assign
// ownership). Each INSERT is atomic, but a batch spans up to three tables: a
// failed Write() may leave part of the batch applied. Merging is idempotent,
// so the caller's retry of the whole batch converges to the same state.
//
// The schema is created and migrated on open; applied migrations are
// recorded in the table loupe_schema_migrations. Needs ClickHouse 23.2 or
// newer (ReplacingMergeTree with is_deleted); tested on 24.3+.
//
// Not available yet (kUnimplemented): SearchTraces, RecentScoreNames,
// ListSessions, GetSession, TracesOfSession, QueryMetrics, DailyMetrics;
// trace listings ordered or filtered by totalCost, latency or
// observationCount.

#include <memory>

#include "absl/status/statusor.h"
#include "cost/price_table.h"
#include "storage/clickhouse/ch_client.h"
#include "storage/event_store.h"

namespace loupe {

// Connects, creates the database if needed and applies pending migrations.
// `prices` must outlive the store.
absl::StatusOr<std::unique_ptr<EventStore>> OpenClickHouseEventStore(
    const ClickHouseOptions& options, const PriceTable* prices);

}  // namespace loupe
