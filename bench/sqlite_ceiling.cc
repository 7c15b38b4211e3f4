// loupe_sqlite_ceiling: how fast can this disk take the benchmark's events
// as plain SQLite rows with the same durability as Loupe?
//
//   loupe_sqlite_ceiling --path DIR/ceiling.db [--rows 2000000] [--txn 1000] [--json out]
//
// One bare table, WAL, synchronous=FULL, one prepared INSERT, 1000 rows per
// transaction, and the very event JSON that the load generator sends (same
// generator, same sizes). Loupe cannot ingest faster than this on the same
// disk; its rate divided by this one is what its own work costs.

#include <sqlite3.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "flags.h"
#include "workload.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace json = boost::json;

bool Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::cerr << "sqlite: " << (err ? err : "?") << " in " << sql << "\n";
    sqlite3_free(err);
    return false;
  }
  return true;
}

int Run(const loupe::bench::Flags& f) {
  const std::string path = f.Str("path", "ceiling.db");
  const int64_t rows = f.Int("rows", 2000000);
  const int64_t txn_rows = f.Int("txn", 1000);
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);

  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::cerr << "cannot open " << path << "\n";
    return 1;
  }
  // The writer pragmas of Loupe's events.db, so only the schema and the work
  // per row differ.
  if (!Exec(db,
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-131072;"
            "PRAGMA wal_autocheckpoint=4000;"
            "CREATE TABLE events(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, "
            "type TEXT NOT NULL, body TEXT NOT NULL);")) {
    return 1;
  }
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO events(id, type, body) VALUES (?, ?, ?)", -1, &insert,
                     nullptr);

  loupe::bench::WorkloadOptions options;
  options.seed = 99;
  loupe::bench::WorkloadGenerator gen(options);
  std::vector<loupe::bench::Event> pending;
  int64_t done = 0, bytes = 0, commits = 0;
  double busy = 0;  // seconds inside transactions; event generation is not timed
  while (done < rows) {
    while (pending.size() < static_cast<size_t>(txn_rows)) {
      auto batch = gen.Next(true);
      for (auto& e : batch.events) pending.push_back(std::move(e));
    }
    int64_t n = std::min<int64_t>(txn_rows, rows - done);
    Clock::time_point t0 = Clock::now();
    if (!Exec(db, "BEGIN")) return 1;
    for (int64_t i = 0; i < n; ++i) {
      const auto& e = pending[static_cast<size_t>(i)];
      sqlite3_bind_text(insert, 1, e.id.data(), static_cast<int>(e.id.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 2, e.type.data(), static_cast<int>(e.type.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 3, e.json.data(), static_cast<int>(e.json.size()), SQLITE_STATIC);
      if (sqlite3_step(insert) != SQLITE_DONE) {
        std::cerr << "insert: " << sqlite3_errmsg(db) << "\n";
        return 1;
      }
      sqlite3_reset(insert);
      bytes += static_cast<int64_t>(e.json.size());
    }
    if (!Exec(db, "COMMIT")) return 1;
    busy += std::chrono::duration<double>(Clock::now() - t0).count();
    pending.erase(pending.begin(), pending.begin() + n);
    done += n;
    ++commits;
  }
  sqlite3_finalize(insert);
  sqlite3_close(db);
  int64_t file_bytes = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    auto size = std::filesystem::file_size(path + suffix, ec);
    if (!ec) file_bytes += static_cast<int64_t>(size);
  }
  if (f.Str("keep") != "true") {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }

  json::object o;
  o["rows"] = done;
  o["txn_rows"] = txn_rows;
  o["seconds"] = busy;
  o["rows_per_sec"] = static_cast<double>(done) / busy;
  o["commits_per_sec"] = static_cast<double>(commits) / busy;
  o["mb_per_sec"] = static_cast<double>(bytes) / busy / 1048576.0;
  o["mean_row_bytes"] = static_cast<double>(bytes) / static_cast<double>(done);
  o["file_mb"] = static_cast<double>(file_bytes) / 1048576.0;
  std::string out = json::serialize(o);
  std::cerr << "ceiling: " << out << "\n";
  if (!f.Str("json").empty()) std::ofstream(f.Str("json")) << out << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(loupe::bench::Flags(argc, argv, 1));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}
