#include "ui/session_auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/time_util.h"
#include "storage/sqlite/sqlite_meta_store.h"

namespace loupe {
namespace {

class SessionAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("loupe-ui-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto meta = OpenSqliteMetaStore((dir_ / "meta.db").string());
    ASSERT_TRUE(meta.ok()) << meta.status();
    meta_ = std::move(*meta);
  }
  void TearDown() override {
    meta_->Close();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::unique_ptr<MetaStore> meta_;
};

TEST(HmacTest, MatchesRfc4231TestCase2) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(PasswordTest, HashVerifiesOnlyTheSamePassword) {
  std::string h = HashNewPassword("correct horse");
  ASSERT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
  EXPECT_TRUE(VerifyPassword(h, "correct horse"));
  EXPECT_FALSE(VerifyPassword(h, "correct horse "));
  EXPECT_FALSE(VerifyPassword("not a hash", "x"));
}

TEST_F(SessionAuthTest, CreateValidateRevoke) {
  UiAuthOptions o;
  o.secret = "s3cret";
  SessionManager sm(*meta_, o);
  auto cookie = sm.Create("user-1");
  ASSERT_TRUE(cookie.ok()) << cookie.status();
  auto s = sm.Validate(*cookie);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->user_id, "user-1");

  // A tampered signature or token is not a session.
  std::string bad = *cookie;
  bad.back() = bad.back() == '0' ? '1' : '0';
  EXPECT_FALSE(sm.Validate(bad)->has_value());
  std::string bad_token = *cookie;
  bad_token[0] = bad_token[0] == '0' ? '1' : '0';
  EXPECT_FALSE(sm.Validate(bad_token)->has_value());
  EXPECT_FALSE(sm.Validate("")->has_value());
  EXPECT_FALSE(sm.Validate("abc.def")->has_value());

  // Another secret does not accept this cookie.
  UiAuthOptions other = o;
  other.secret = "other";
  SessionManager sm2(*meta_, other);
  EXPECT_FALSE(sm2.Validate(*cookie)->has_value());

  ASSERT_TRUE(sm.Revoke(*cookie).ok());
  EXPECT_FALSE(sm.Validate(*cookie)->has_value());
}

TEST_F(SessionAuthTest, ExpiredSessionIsRejectedAndDeleted) {
  UiAuthOptions o;
  o.secret = "s";
  o.session_max_age_ms = -1;  // already expired when created
  SessionManager sm(*meta_, o);
  auto cookie = sm.Create("user-1");
  ASSERT_TRUE(cookie.ok());
  EXPECT_FALSE(sm.Validate(*cookie)->has_value());
  auto count = meta_->DeleteExpiredUserSessions(NowMillis() + 1000);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0);  // Validate already removed it
}

TEST_F(SessionAuthTest, CookieHeaders) {
  UiAuthOptions o;
  o.secret = "s";
  o.session_max_age_ms = 3600 * 1000;
  SessionManager plain(*meta_, o);
  EXPECT_EQ(plain.SetCookie("v"), "loupe-session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600");
  EXPECT_EQ(plain.CookieFrom("a=1; loupe-session=xyz; b=2"), "xyz");
  EXPECT_EQ(plain.CookieFrom("a=1"), "");
  o.secure_cookies = true;
  SessionManager secure(*meta_, o);
  EXPECT_EQ(secure.SetCookie("v"),
            "__Host-loupe-session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600; Secure");
  EXPECT_NE(secure.ClearCookie().find("Max-Age=0"), std::string::npos);
}

TEST_F(SessionAuthTest, UsersByEmailAreCaseInsensitiveAndUnique) {
  UserRecord u;
  u.id = "u1";
  u.email = "Ann@Example.com";
  u.name = "Ann";
  u.password_hash = "h";
  ASSERT_TRUE(meta_->CreateUser(u).ok());
  auto found = meta_->FindUserByEmail("ann@example.COM");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, "u1");
  u.id = "u2";
  u.email = "ann@example.com";
  EXPECT_EQ(meta_->CreateUser(u).code(), absl::StatusCode::kAlreadyExists);
}

TEST(AttemptLimiterTest, BlocksAfterMaxFailuresWithinTheWindow) {
  AttemptLimiter l(3, 1000);
  EXPECT_EQ(l.RetryAfterMs("k", 0), 0);
  l.Record("k", 0);
  l.Record("k", 100);
  EXPECT_EQ(l.RetryAfterMs("k", 200), 0);
  l.Record("k", 200);
  EXPECT_EQ(l.RetryAfterMs("k", 300), 700);  // the first failure leaves the window at 1000
  EXPECT_EQ(l.RetryAfterMs("other", 300), 0);
  EXPECT_EQ(l.RetryAfterMs("k", 1000), 0);
  l.Record("k", 1000);
  l.Clear("k");
  EXPECT_EQ(l.RetryAfterMs("k", 1001), 0);
}

}  // namespace
}  // namespace loupe
