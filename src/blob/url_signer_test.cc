#include "blob/url_signer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/hash.h"

namespace loupe {
namespace {

const std::string kSecret(32, 's');

TEST(UrlSignerTest, RoundTripsPayload) {
  UrlSigner signer(kSecret);
  std::string payload = "{\"p\":\"proj\",\"m\":\"id\"}\n\0bin";
  std::string token = signer.Sign("media-upload", payload, 2000);
  // Only URL-safe characters: the token is a path segment.
  for (char c : token)
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')
        << token;
  auto got = signer.Verify("media-upload", token, 1999);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, payload);
}

TEST(UrlSignerTest, ExpiredTokenIsRejected) {
  UrlSigner signer(kSecret);
  std::string token = signer.Sign("media-upload", "x", 1000);
  EXPECT_EQ(signer.Verify("media-upload", token, 1000).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(signer.Verify("media-upload", token, 5000).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST(UrlSignerTest, ForgeriesAreRejected) {
  UrlSigner signer(kSecret);
  std::string token = signer.Sign("media-upload", "payload", 1000);
  const size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  // Another secret.
  EXPECT_EQ(UrlSigner(std::string(32, 't')).Verify("media-upload", token, 1).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Another purpose.
  EXPECT_EQ(signer.Verify("media-download", token, 1).status().code(),
            absl::StatusCode::kPermissionDenied);
  // A later expiry with the old signature.
  std::string extended = token.substr(0, dot1) + ".99999" + token.substr(dot2);
  EXPECT_EQ(signer.Verify("media-upload", extended, 1).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Another payload with the old signature.
  std::string swapped = Base64UrlEncode("payloaD") + token.substr(dot1);
  EXPECT_EQ(signer.Verify("media-upload", swapped, 1).status().code(),
            absl::StatusCode::kPermissionDenied);
  // A flipped signature character.
  std::string flipped = token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(signer.Verify("media-upload", flipped, 1).status().code(),
            absl::StatusCode::kPermissionDenied);
  for (const char* bad : {"", ".", "..", "a.b", "a.b.c.d", "!!.1.AA", "YQ.x1.AA", "YQ..AA"}) {
    EXPECT_EQ(signer.Verify("media-upload", bad, 1).status().code(),
              absl::StatusCode::kPermissionDenied)
        << bad;
  }
}

TEST(UrlSignerTest, Base64UrlMatchesRfc4648) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  std::string out;
  ASSERT_TRUE(Base64UrlDecode("-_8", &out));
  EXPECT_EQ(out, "\xfb\xff");
  EXPECT_FALSE(Base64UrlDecode("a+b/", &out));
  EXPECT_FALSE(Base64UrlDecode("abcde", &out));
}

TEST(UrlSignerTest, SecretFileIsCreatedOnceAndKept) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("loupe-secret-" + RandomHex(8))).string();
  auto first = LoadOrCreateSecretFile(path);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->size(), 32u);
  auto second = LoadOrCreateSecretFile(path);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::group_read,
            std::filesystem::perms::none);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace loupe
