#include "queue/redis_client.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/hash.h"

namespace loupe {
namespace {

TEST(RedisUrlTest, ParsesTheFormsLangfuseAccepts) {
  auto o = ParseRedisUrl("redis://:s%40cret@cache.internal:6380/2");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->host, "cache.internal");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->password, "s@cret");
  EXPECT_EQ(o->username, "");
  EXPECT_EQ(o->database, 2);

  o = ParseRedisUrl("redis://default:pw@10.0.0.5");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->username, "default");
  EXPECT_EQ(o->password, "pw");
  EXPECT_EQ(o->port, 6379);
  EXPECT_EQ(o->database, 0);

  o = ParseRedisUrl("redis://localhost:6379");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->password, "");
}

TEST(RedisUrlTest, RefusesWithAMessage) {
  for (const char* bad : {"http://localhost:6379", "redis://", "redis://host:0", "redis://host:x",
                          "redis://host/abc", "rediss://host:6380"}) {
    auto o = ParseRedisUrl(bad);
    ASSERT_FALSE(o.ok()) << bad;
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(o.status().message().find("REDIS_CONNECTION_STRING"), std::string::npos) << bad;
  }
}

// The rest talks to a real Redis: LOUPE_TEST_REDIS_URL.
class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv("LOUPE_TEST_REDIS_URL");
    if (!url || !*url) GTEST_SKIP() << "LOUPE_TEST_REDIS_URL is not set";
    auto o = ParseRedisUrl(url);
    ASSERT_TRUE(o.ok()) << o.status();
    options_ = *o;
  }
  RedisOptions options_;
};

TEST_F(RedisClientTest, CommandsAndPipelinesKeepBinaryValues) {
  auto client = RedisClient::Open(options_);
  ASSERT_TRUE(client.ok()) << client.status();
  const std::string key = "loupe-test:" + RandomHex(6);
  const std::string value("a\0b\r\n c", 7);
  auto r = (*client)->Pipeline({{"SET", key, value}, {"GET", key}, {"DEL", key}, {"GET", key}});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].str, "OK");
  EXPECT_EQ((*r)[1].str, value);
  EXPECT_EQ((*r)[2].integer, 1);
  EXPECT_TRUE((*r)[3].is_nil());
  auto err = (*client)->Command({"NOSUCHCOMMAND"});
  ASSERT_TRUE(err.ok()) << err.status();
  EXPECT_TRUE(err->is_error());
}

TEST_F(RedisClientTest, WrongPasswordIsUnauthenticated) {
  RedisOptions wrong = options_;
  wrong.password = "not-the-password";
  auto client = RedisClient::Open(wrong);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnauthenticated) << client.status();
  EXPECT_NE(client.status().message().find("REDIS_CONNECTION_STRING"), std::string::npos);
}

TEST_F(RedisClientTest, NothingListeningIsUnavailable) {
  RedisOptions gone = options_;
  gone.port = 1;  // nothing listens on port 1
  auto client = RedisClient::Open(gone);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable) << client.status();
  EXPECT_NE(client.status().message().find("Redis at"), std::string::npos);
}

}  // namespace
}  // namespace loupe
