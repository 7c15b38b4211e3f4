#include "storage/postgres/pg_client.h"

#include <gtest/gtest.h>

namespace loupe::pg {
namespace {

TEST(RedactUrlTest, DropsThePasswordOnly) {
  EXPECT_EQ(RedactUrl("postgresql://lf:s3cret@db:5432/langfuse?sslmode=require"),
            "postgresql://lf@db:5432/langfuse?sslmode=require");
  EXPECT_EQ(RedactUrl("postgres://lf:p%40ss@db/langfuse"), "postgres://lf@db/langfuse");
  EXPECT_EQ(RedactUrl("postgresql://lf@db/langfuse"), "postgresql://lf@db/langfuse");
  EXPECT_EQ(RedactUrl("postgresql://db/langfuse?password=x&sslmode=disable"),
            "postgresql://db/langfuse?sslmode=disable");
  EXPECT_EQ(RedactUrl("postgresql://db/langfuse?password=x"), "postgresql://db/langfuse");
}

TEST(PoolTest, UnreachableServerNamesPostgresAndTheVariable) {
  auto pool = Pool::Open({"postgresql://u:topsecret@127.0.0.1:1/db?connect_timeout=2"});
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kUnavailable);
  const std::string msg(pool.status().message());
  EXPECT_NE(msg.find("PostgreSQL at postgresql://u@127.0.0.1:1/db"), std::string::npos) << msg;
  EXPECT_NE(msg.find("DATABASE_URL"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("topsecret"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(PoolTest, RejectsABadConnectionLimit) {
  auto pool = Pool::Open({"postgresql://127.0.0.1:1/db?connection_limit=zero"});
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loupe::pg
