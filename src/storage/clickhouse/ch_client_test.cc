// The ClickHouse HTTP client: literal quoting, value reading, and the
// mapping of failures to statuses. The tests that need a server run when
// LOUPE_TEST_CLICKHOUSE_URL names one (tests/scaleout starts one over chdb;
// LOUPE_TEST_CLICKHOUSE_USER / _PASSWORD give its credentials).

#include "storage/clickhouse/ch_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/hash.h"

namespace loupe {
namespace {

namespace json = boost::json;

TEST(SqlQuoteTest, EscapesBackslashAndQuote) {
  EXPECT_EQ(SqlQuote(""), "''");
  EXPECT_EQ(SqlQuote("abc"), "'abc'");
  EXPECT_EQ(SqlQuote("it's"), R"('it\'s')");
  EXPECT_EQ(SqlQuote(R"(a\b)"), R"('a\\b')");
  EXPECT_EQ(SqlQuote(R"(\')"), R"('\\\'')");
  EXPECT_EQ(SqlQuote("x'); DROP TABLE t; --"), R"('x\'); DROP TABLE t; --')");
  EXPECT_EQ(SqlIdentifier("db`x"), "`db\\`x`");
  EXPECT_EQ(SqlList({"a", "b'c"}), R"(('a','b\'c'))");
}

TEST(ChValueTest, ReadsQuotedAndPlainNumbers) {
  json::object row{{"a", "42"},
                   {"b", 7},
                   {"c", nullptr},
                   {"d", "1.5"},
                   {"e", 2.25},
                   {"f", "x"},
                   {"g", "18446744073709551615"}};
  EXPECT_EQ(ChInt(row, "a"), 42);
  EXPECT_EQ(ChInt(row, "b"), 7);
  EXPECT_EQ(ChOptInt(row, "c"), std::nullopt);
  EXPECT_EQ(ChOptInt(row, "missing"), std::nullopt);
  EXPECT_EQ(ChDouble(row, "d"), 1.5);
  EXPECT_EQ(ChDouble(row, "e"), 2.25);
  EXPECT_EQ(ChOptDouble(row, "c"), std::nullopt);
  EXPECT_EQ(ChString(row, "f"), "x");
  EXPECT_EQ(ChOptString(row, "c"), std::nullopt);
  EXPECT_EQ(ChOptInt(row, "g"), -1);  // UInt64 max, as its bits
}

// A local port with nothing listening on it.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(ClickHouseClientTest, NothingListeningIsUnavailableWithoutThePassword) {
  ClickHouseOptions o;
  o.url = "http://someone:urlsecret@127.0.0.1:" + std::to_string(ClosedPort());
  o.password = "topsecret";
  o.connect_timeout_ms = 2000;
  ClickHouseClient client(o);
  absl::Status s = client.Execute("SELECT 1");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("ClickHouse at http://127.0.0.1:"), std::string::npos) << s;
  EXPECT_NE(s.message().find("CLICKHOUSE_URL"), std::string::npos) << s;
  EXPECT_EQ(s.message().find("secret"), std::string::npos) << s;
  auto rows = client.Query("SELECT 1");
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kUnavailable);
}

TEST(ClickHouseClientTest, NoAnswerInTimeIsUnavailable) {
  // A socket that listens but never answers: the connection completes in the
  // kernel's backlog, the request then waits in vain.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ClickHouseOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  o.request_timeout_ms = 300;
  ClickHouseClient client(o);
  absl::Status s = client.Execute("SELECT 1");
  close(fd);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("CLICKHOUSE_URL"), std::string::npos) << s;
}

TEST(ClickHouseOptionsTest, FromEnvironment) {
  unsetenv("CLICKHOUSE_URL");
  auto none = ClickHouseOptionsFromEnv();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  setenv("CLICKHOUSE_URL", "clickhouse:8123", 1);
  EXPECT_EQ(ClickHouseOptionsFromEnv().status().code(), absl::StatusCode::kInvalidArgument);
  setenv("CLICKHOUSE_URL", "http://ch:8123", 1);
  setenv("CLICKHOUSE_USER", "loupe", 1);
  setenv("CLICKHOUSE_PASSWORD", "pw", 1);
  setenv("CLICKHOUSE_DB", "observability", 1);
  auto o = ClickHouseOptionsFromEnv();
  ASSERT_TRUE(o.ok() && o->has_value()) << o.status();
  EXPECT_EQ((*o)->url, "http://ch:8123");
  EXPECT_EQ((*o)->user, "loupe");
  EXPECT_EQ((*o)->password, "pw");
  EXPECT_EQ((*o)->database, "observability");
  for (const char* v :
       {"CLICKHOUSE_URL", "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD", "CLICKHOUSE_DB"}) {
    unsetenv(v);
  }
}

class ClickHouseServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("LOUPE_TEST_CLICKHOUSE_URL");
    if (!url || !*url) GTEST_SKIP() << "LOUPE_TEST_CLICKHOUSE_URL is not set";
    options_.url = url;
    if (const char* u = std::getenv("LOUPE_TEST_CLICKHOUSE_USER")) options_.user = u;
    if (const char* p = std::getenv("LOUPE_TEST_CLICKHOUSE_PASSWORD")) options_.password = p;
    options_.database = "loupe_client_test_" + RandomHex(6);
  }
  ClickHouseOptions options_;
};

TEST_F(ClickHouseServerTest, QuotedLiteralsRoundTrip) {
  options_.database = "default";
  ClickHouseClient client(options_);
  for (std::string value : {std::string("plain"), std::string("it's"), std::string(R"(a\b)"),
                            std::string("\\'"), std::string("line\nbreak\ttab"),
                            std::string("ünïcødé ✓"), std::string("'); SELECT 2; --")}) {
    auto rows = client.Query("SELECT " + SqlQuote(value) + " AS v");
    ASSERT_TRUE(rows.ok()) << rows.status();
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ(ChString(rows->front(), "v"), value);
  }
}

TEST_F(ClickHouseServerTest, CreatesInsertsAndQueries) {
  ClickHouseClient client(options_);
  ASSERT_TRUE(client
                  .ExecuteWithoutDatabase("CREATE DATABASE IF NOT EXISTS " +
                                          SqlIdentifier(options_.database))
                  .ok());
  ASSERT_TRUE(client
                  .Execute("CREATE TABLE t (id String, n Int64, x Nullable(Float64)) ENGINE = "
                           "MergeTree ORDER BY id")
                  .ok());
  ASSERT_TRUE(client
                  .Insert("t", R"({"id":"a","n":9007199254740993,"x":1.5})"
                               "\n"
                               R"({"id":"b'\\","n":-2,"x":null})"
                               "\n")
                  .ok());
  auto rows = client.Query("SELECT id, n, x FROM t ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(ChString((*rows)[0], "id"), "a");
  EXPECT_EQ(ChInt((*rows)[0], "n"), 9007199254740993);
  EXPECT_EQ(ChOptDouble((*rows)[0], "x"), 1.5);
  EXPECT_EQ(ChString((*rows)[1], "id"), "b'\\");
  EXPECT_EQ(ChInt((*rows)[1], "n"), -2);
  EXPECT_EQ(ChOptDouble((*rows)[1], "x"), std::nullopt);
  auto found = client.Query("SELECT n FROM t WHERE id = " + SqlQuote("b'\\"));
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(ChInt(found->front(), "n"), -2);
  ASSERT_TRUE(
      client.ExecuteWithoutDatabase("DROP DATABASE " + SqlIdentifier(options_.database)).ok());
}

TEST_F(ClickHouseServerTest, WrongPasswordIsUnauthenticated) {
  ClickHouseOptions o = options_;
  o.password = options_.password + "-wrong";
  ClickHouseClient client(o);
  absl::Status s = client.Execute("SELECT 1");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_NE(s.message().find("CLICKHOUSE_USER"), std::string::npos) << s;
  EXPECT_NE(s.message().find("CLICKHOUSE_PASSWORD"), std::string::npos) << s;
  EXPECT_EQ(s.message().find(o.password), std::string::npos) << s;
}

TEST_F(ClickHouseServerTest, SyntaxErrorCarriesClickHouseMessage) {
  ClickHouseClient client(options_);
  absl::Status s = client.ExecuteWithoutDatabase("SELEC 1");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  EXPECT_NE(s.message().find("Code: 62"), std::string::npos) << s;
  EXPECT_NE(s.message().find("Syntax error"), std::string::npos) << s;
  auto rows = client.Query("SELECT * FROM no_such_table_here");
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace loupe
