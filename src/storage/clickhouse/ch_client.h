#pragma once

// A small ClickHouse client over the HTTP interface (libcurl): statements,
// queries answered as JSONEachRow rows, and JSONEachRow inserts. Values are
// put into SQL only as literals made by SqlQuote(), so the client needs no
// query parameters and works with old ClickHouse versions.
//
// Errors: no answer (connection refused, DNS, timeout) is kUnavailable naming
// ClickHouse's URL (CLICKHOUSE_URL, never the password); rejected credentials
// are kUnauthenticated naming CLICKHOUSE_USER / CLICKHOUSE_PASSWORD; overload
// answers (too many queries, memory limit, HTTP 503) are kUnavailable; other
// errors are kInternal carrying ClickHouse's "Code: N. DB::Exception: ..."
// message.
//
// Thread-safe: requests run concurrently on pooled connections.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/json.hpp"

namespace loupe {

struct ClickHouseOptions {
  std::string url = "http://localhost:8123";  // http(s)://host:port of the HTTP interface
  std::string user = "default";
  std::string password;
  std::string database = "default";
  int64_t connect_timeout_ms = 5000;
  int64_t request_timeout_ms = 60000;
};

// Options from CLICKHOUSE_URL, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD and
// CLICKHOUSE_DB; nullopt when CLICKHOUSE_URL is unset or empty. Fails when the
// URL is not http(s)://.
absl::StatusOr<std::optional<ClickHouseOptions>> ClickHouseOptionsFromEnv();

// `value` as an SQL string literal: quoted, with backslash and single quote
// escaped.
std::string SqlQuote(std::string_view value);
// `name` as an identifier in backquotes (backslash and backquote escaped).
std::string SqlIdentifier(std::string_view name);
// "(" + quoted values joined by "," + ")"; "('')" never matches an empty list
// of ids, so callers skip empty lists themselves.
std::string SqlList(const std::vector<std::string>& values);

// Reading JSONEachRow values: ClickHouse may send 64-bit integers as quoted
// strings (output_format_json_quote_64bit_integers), so numbers are accepted
// in either form. Missing keys and nulls read as 0 / "" / nullopt.
int64_t ChInt(const boost::json::object& row, std::string_view key);
std::optional<int64_t> ChOptInt(const boost::json::object& row, std::string_view key);
double ChDouble(const boost::json::object& row, std::string_view key);
std::optional<double> ChOptDouble(const boost::json::object& row, std::string_view key);
std::string ChString(const boost::json::object& row, std::string_view key);
std::optional<std::string> ChOptString(const boost::json::object& row, std::string_view key);

class ClickHouseClient {
 public:
  explicit ClickHouseClient(ClickHouseOptions options);
  ~ClickHouseClient();
  ClickHouseClient(const ClickHouseClient&) = delete;
  ClickHouseClient& operator=(const ClickHouseClient&) = delete;

  const ClickHouseOptions& options() const { return options_; }

  // "ClickHouse at <url>", the URL without credentials; prefixes errors.
  std::string Describe() const;

  // Runs a statement whose output is not needed (DDL, ALTER, ...), in the
  // configured database.
  absl::Status Execute(std::string_view sql);
  // Runs a statement with no current database (CREATE DATABASE before the
  // database exists).
  absl::Status ExecuteWithoutDatabase(std::string_view sql);
  // Runs a SELECT (without a FORMAT clause) and returns its rows.
  absl::StatusOr<std::vector<boost::json::object>> Query(std::string_view sql);
  // Query() with no current database (before the database exists).
  absl::StatusOr<std::vector<boost::json::object>> QueryWithoutDatabase(std::string_view sql);
  // INSERT INTO `table` FORMAT JSONEachRow with `rows`: one JSON object per
  // line. Atomic for inserts smaller than ClickHouse's max_insert_block_size.
  absl::Status Insert(std::string_view table, std::string_view rows);

 private:
  absl::StatusOr<std::string> Post(std::string_view query_param, std::string_view body,
                                   bool with_database, bool buffer_result);
  absl::StatusOr<std::vector<boost::json::object>> QueryRows(std::string_view sql,
                                                             bool with_database);

  const ClickHouseOptions options_;
  struct Pool;
  std::unique_ptr<Pool> pool_;
};

}  // namespace loupe
