#include "blob/sigv4.h"

#include <gtest/gtest.h>

#include <map>

#include "common/hash.h"

namespace loupe {
namespace {

// The AWS SigV4 test suite's credentials and time (aws-sig-v4-test-suite:
// service "service", 2015-08-30T12:36:00Z).
const AwsCredentials kSuiteCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                       ""};
constexpr int64_t kSuiteTime = 1440938160;

// The S3 API reference's examples ("Signature Calculations for the
// Authorization Header", "Authenticating Requests: Using Query Parameters"):
// bucket examplebucket, 2013-05-24T00:00:00Z.
const AwsCredentials kS3DocCredentials{"AKIAIOSFODNN7EXAMPLE",
                                       "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
constexpr int64_t kS3DocTime = 1369353600;
constexpr std::string_view kS3DocHost = "examplebucket.s3.amazonaws.com";

std::string SignatureOf(const std::string& authorization) {
  return authorization.substr(authorization.rfind('=') + 1);
}

TEST(SigV4Test, AmzDateAndUriEncode) {
  EXPECT_EQ(AmzDate(kSuiteTime), "20150830T123600Z");
  EXPECT_EQ(AmzDate(kS3DocTime), "20130524T000000Z");
  EXPECT_EQ(AmzDate(0), "19700101T000000Z");
  EXPECT_EQ(UriEncode("a-b_c.d~e", false), "a-b_c.d~e");
  EXPECT_EQ(UriEncode("a b/c+d=e&%", false), "a%20b%2Fc%2Bd%3De%26%25");
  EXPECT_EQ(UriEncode("/photos/été 2013/x$y.jpg", true), "/photos/%C3%A9t%C3%A9%202013/x%24y.jpg");
}

TEST(SigV4Test, SigningKeyMatchesTheIamExample) {
  // IAM user guide, "Deriving the signing key".
  std::string key = SigV4Signer::SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                            "us-east-1", "iam");
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : key) hex += std::string{kDigits[c >> 4], kDigits[c & 15]};
  EXPECT_EQ(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4Test, TestSuiteGetVanilla) {
  SigV4Signer signer(kSuiteCredentials, "us-east-1", "service");
  SigV4Request req{
      "GET", "/", {}, {{"Host", "example.amazonaws.com"}}, std::string(kEmptySha256Hex)};
  std::string auth = signer.SignHeaders(&req, kSuiteTime);
  EXPECT_EQ(SigV4Signer::CanonicalRequest(req),
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n" +
                std::string(kEmptySha256Hex));
  EXPECT_EQ(SigV4Signer::StringToSign("20150830T123600Z", "20150830/us-east-1/service/aws4_request",
                                      SigV4Signer::CanonicalRequest(req)),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Test, TestSuiteQueryOrderAndPost) {
  SigV4Signer signer(kSuiteCredentials, "us-east-1", "service");
  // get-vanilla-query-order-key-case: parameters sorted by name.
  SigV4Request get{"GET",
                   "/",
                   {{"Param2", "value2"}, {"Param1", "value1"}},
                   {{"Host", "example.amazonaws.com"}},
                   std::string(kEmptySha256Hex)};
  EXPECT_EQ(SignatureOf(signer.SignHeaders(&get, kSuiteTime)),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  // post-vanilla.
  SigV4Request post{
      "POST", "/", {}, {{"Host", "example.amazonaws.com"}}, std::string(kEmptySha256Hex)};
  EXPECT_EQ(SignatureOf(signer.SignHeaders(&post, kSuiteTime)),
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4Test, S3DocGetObject) {
  SigV4Signer signer(kS3DocCredentials, "us-east-1");
  SigV4Request req{"GET",
                   "/test.txt",
                   {},
                   {{"Host", std::string(kS3DocHost)},
                    {"Range", "bytes=0-9"},
                    {"x-amz-content-sha256", std::string(kEmptySha256Hex)}},
                   std::string(kEmptySha256Hex)};
  std::string auth = signer.SignHeaders(&req, kS3DocTime);
  EXPECT_EQ(Sha256Hex(SigV4Signer::CanonicalRequest(req)),
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, S3DocPutObject) {
  SigV4Signer signer(kS3DocCredentials, "us-east-1");
  const std::string payload = Sha256Hex("Welcome to Amazon S3.");
  ASSERT_EQ(payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SigV4Request req{"PUT",
                   UriEncode("/test$file.text", true),
                   {},
                   {{"Host", std::string(kS3DocHost)},
                    {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                    {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                    {"x-amz-content-sha256", payload}},
                   payload};
  std::string auth = signer.SignHeaders(&req, kS3DocTime);
  EXPECT_EQ(Sha256Hex(SigV4Signer::CanonicalRequest(req)),
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  EXPECT_EQ(SignatureOf(auth), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, S3DocBucketRequestsWithQueries) {
  SigV4Signer signer(kS3DocCredentials, "us-east-1");
  const SigV4Params headers = {{"Host", std::string(kS3DocHost)},
                               {"x-amz-content-sha256", std::string(kEmptySha256Hex)}};
  // GET Bucket lifecycle: a parameter without a value signs as "lifecycle=".
  SigV4Request lifecycle{"GET", "/", {{"lifecycle", ""}}, headers, std::string(kEmptySha256Hex)};
  EXPECT_EQ(SignatureOf(signer.SignHeaders(&lifecycle, kS3DocTime)),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  // GET Bucket (list objects), parameters given out of order.
  SigV4Request list{
      "GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, headers, std::string(kEmptySha256Hex)};
  EXPECT_EQ(SignatureOf(signer.SignHeaders(&list, kS3DocTime)),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4Test, S3DocPresignedGet) {
  SigV4Signer signer(kS3DocCredentials, "us-east-1");
  SigV4Request req{"GET", "/test.txt", {}, {{"Host", std::string(kS3DocHost)}}, "UNSIGNED-PAYLOAD"};
  signer.Presign(&req, kS3DocTime, 86400);
  std::map<std::string, std::string> q(req.query.begin(), req.query.end());
  EXPECT_EQ(q["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
  EXPECT_EQ(q["X-Amz-Credential"], "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request");
  EXPECT_EQ(q["X-Amz-Date"], "20130524T000000Z");
  EXPECT_EQ(q["X-Amz-Expires"], "86400");
  EXPECT_EQ(q["X-Amz-SignedHeaders"], "host");
  EXPECT_EQ(q["X-Amz-Signature"],
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  EXPECT_EQ(CanonicalQuery(req.query),
            "X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
            "&X-Amz-SignedHeaders=host");
}

TEST(SigV4Test, PresignSignsTheGivenHeaders) {
  SigV4Signer signer(kS3DocCredentials, "us-east-1");
  SigV4Request req{"PUT",
                   "/media/a",
                   {},
                   {{"Host", "localhost:9000"},
                    {"Content-Type", "image/png"},
                    {"Content-Length", "12"},
                    {"x-amz-checksum-sha256", "abc="}},
                   "UNSIGNED-PAYLOAD"};
  SigV4Request other = req;
  other.headers[1].second = "image/jpeg";
  signer.Presign(&req, kS3DocTime, 60);
  signer.Presign(&other, kS3DocTime, 60);
  std::map<std::string, std::string> a(req.query.begin(), req.query.end());
  std::map<std::string, std::string> b(other.query.begin(), other.query.end());
  EXPECT_EQ(a["X-Amz-SignedHeaders"], "content-length;content-type;host;x-amz-checksum-sha256");
  EXPECT_NE(a["X-Amz-Signature"], b["X-Amz-Signature"]);
}

TEST(SigV4Test, CanonicalHeadersAreTrimmedCollapsedAndMerged) {
  SigV4Request req{"GET",
                   "/",
                   {},
                   {{"Host", "h"}, {"X-Multi", "  a   b  "}, {"x-multi", "c"}},
                   std::string(kEmptySha256Hex)};
  EXPECT_EQ(SigV4Signer::CanonicalRequest(req),
            "GET\n/\n\nhost:h\nx-multi:a b,c\n\nhost;x-multi\n" + std::string(kEmptySha256Hex));
}

TEST(SigV4Test, SessionTokenIsSigned) {
  SigV4Signer signer({"AKID", "secret", "token/with+chars"}, "eu-west-1");
  SigV4Request req{"GET", "/b/k", {}, {{"Host", "h"}}, std::string(kEmptySha256Hex)};
  std::string auth = signer.SignHeaders(&req, kS3DocTime);
  EXPECT_NE(auth.find("SignedHeaders=host;x-amz-date;x-amz-security-token,"), std::string::npos)
      << auth;
  EXPECT_NE(auth.find("/20130524/eu-west-1/s3/aws4_request"), std::string::npos) << auth;
  SigV4Request presigned{"GET", "/b/k", {}, {{"Host", "h"}}, "UNSIGNED-PAYLOAD"};
  signer.Presign(&presigned, kS3DocTime, 60);
  EXPECT_NE(CanonicalQuery(presigned.query).find("X-Amz-Security-Token=token%2Fwith%2Bchars"),
            std::string::npos);
}

}  // namespace
}  // namespace loupe
