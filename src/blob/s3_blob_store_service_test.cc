// S3BlobStore against a real S3 server (Swift's s3api, which verifies every
// SigV4 signature and payload hash). tests/scaleout/test_s3_blob_store.py
// starts the server with scripts/start-services.sh and runs this binary with:
//
//   LOUPE_TEST_S3_ENDPOINT        http://127.0.0.1:<port> (path-style)
//   LOUPE_TEST_S3_VHOST_ENDPOINT  http://localhost:<port> (<bucket>.localhost resolves to loopback)
//   LOUPE_TEST_S3_BUCKET, LOUPE_TEST_S3_REGION, LOUPE_TEST_S3_ACCESS_KEY, LOUPE_TEST_S3_SECRET

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "blob/s3_blob_store.h"
#include "common/hash.h"

namespace loupe {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

S3Options BaseOptions() {
  S3Options o;
  o.endpoint = Env("LOUPE_TEST_S3_ENDPOINT");
  o.bucket = Env("LOUPE_TEST_S3_BUCKET");
  o.region = Env("LOUPE_TEST_S3_REGION");
  o.access_key_id = Env("LOUPE_TEST_S3_ACCESS_KEY");
  o.secret_access_key = Env("LOUPE_TEST_S3_SECRET");
  o.force_path_style = true;
  o.settings_prefix = "LANGFUSE_S3_MEDIA_UPLOAD_";
  // Each run writes under a prefix of its own.
  o.prefix = "service-test-" + RandomHex(6) + "/";
  return o;
}

std::unique_ptr<S3BlobStore> OpenStore(S3Options o) {
  auto store = S3BlobStore::Open(std::move(o));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

struct HttpResult {
  long status = 0;
  std::string body;
  std::string headers;
};

size_t Append(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// A plain, unsigned request, as an SDK sends to a presigned URL.
HttpResult Fetch(const std::string& method, const std::string& url,
                 const std::vector<std::string>& headers = {}, const std::string& body = "") {
  HttpResult r;
  CURL* h = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& line : headers) list = curl_slist_append(list, line.c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, Append);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.headers);
  if (method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (method == "PUT") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
  return r;
}

class S3ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Env("LOUPE_TEST_S3_ENDPOINT").empty())
        << "LOUPE_TEST_S3_* not set: run through tests/scaleout (it starts the S3 server)";
  }
};

TEST_F(S3ServiceTest, PutGetStatDeleteUnderThePrefix) {
  S3Options o = BaseOptions();
  const std::string prefix = o.prefix;
  auto store = OpenStore(o);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->CheckAccess().ok()) << store->CheckAccess();

  EXPECT_FALSE(*store->Exists("media/p1/abc"));
  EXPECT_EQ(store->Get("media/p1/abc").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Stat("media/p1/abc").status().code(), absl::StatusCode::kNotFound);

  std::string bytes = "\x89PNG\r\n\x1a\n";
  bytes += std::string("\0\xff binary", 9);
  ASSERT_TRUE(store->Put("media/p1/abc", bytes).ok());
  EXPECT_TRUE(*store->Exists("media/p1/abc"));
  EXPECT_EQ(*store->Get("media/p1/abc"), bytes);
  auto info = store->Stat("media/p1/abc");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->size, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(info->content_type, "application/octet-stream");

  // The object is at prefix + key in the bucket.
  S3Options bare = BaseOptions();
  bare.prefix = "";
  auto root = OpenStore(bare);
  ASSERT_TRUE(root);
  EXPECT_EQ(*root->Get(prefix + "media/p1/abc"), bytes);
  EXPECT_NE(store->ObjectUrl("media/p1/abc").find("/" + o.bucket + "/" + prefix + "media/p1/abc"),
            std::string::npos);

  // Replacing, an empty object, deleting, deleting again.
  ASSERT_TRUE(store->Put("media/p1/abc", "second").ok());
  EXPECT_EQ(*store->Get("media/p1/abc"), "second");
  ASSERT_TRUE(store->Put("media/p1/empty", "").ok());
  EXPECT_EQ(*store->Get("media/p1/empty"), "");
  ASSERT_TRUE(store->Delete("media/p1/abc").ok());
  ASSERT_TRUE(store->Delete("media/p1/empty").ok());
  EXPECT_FALSE(*store->Exists("media/p1/abc"));
  EXPECT_TRUE(store->Delete("media/p1/abc").ok());
  // Keys follow the BlobStore rules.
  EXPECT_EQ(store->Put("../escape", "x").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(S3ServiceTest, LargeObjectsGoUpInParts) {
  S3Options o = BaseOptions();
  o.multipart_threshold = 5 << 20;
  o.part_size = 5 << 20;
  auto store = OpenStore(o);
  ASSERT_TRUE(store);
  std::string data;
  data.reserve((12 << 20) + 3);
  for (size_t i = 0; data.size() < (size_t{12} << 20) + 3; ++i) {
    data += Sha256Raw(std::to_string(i));
  }
  data.resize((size_t{12} << 20) + 3);  // three parts, the last one short
  ASSERT_TRUE(store->Put("big/object", data).ok());
  auto info = store->Stat("big/object");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->size, static_cast<int64_t>(data.size()));
  auto got = store->Get("big/object");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(*got == data) << "multipart object differs (" << got->size() << " bytes)";
  // S3 marks a multipart object's ETag with its number of parts.
  auto head = store->PresignedUrl("HEAD", "big/object", 60, {});
  ASSERT_TRUE(head.ok());
  HttpResult r = Fetch("HEAD", *head);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.headers.find("-3\""), std::string::npos) << r.headers;
  EXPECT_TRUE(store->Delete("big/object").ok());
}

TEST_F(S3ServiceTest, ConcurrentRequestsShareOneStore) {
  auto store = OpenStore(BaseOptions());
  ASSERT_TRUE(store);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const std::string key = "concurrent/" + std::to_string(t) + "-" + std::to_string(i);
        const std::string value = key + RandomHex(8);
        if (!store->Put(key, value).ok()) ++failures;
        auto got = store->Get(key);
        if (!got.ok() || *got != value) ++failures;
        if (!store->Delete(key).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(S3ServiceTest, VirtualHostStyle) {
  S3Options o = BaseOptions();
  o.endpoint = Env("LOUPE_TEST_S3_VHOST_ENDPOINT");
  o.force_path_style = false;
  auto store = OpenStore(o);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->ObjectUrl("k/v").rfind("http://" + o.bucket + ".localhost:", 0), 0u)
      << store->ObjectUrl("k/v");
  ASSERT_TRUE(store->CheckAccess().ok()) << store->CheckAccess();
  ASSERT_TRUE(store->Put("k/v", "virtual").ok());
  EXPECT_EQ(*store->Get("k/v"), "virtual");
  auto url = store->PresignedUrl("GET", "k/v", 60, {});
  ASSERT_TRUE(url.ok());
  HttpResult r = Fetch("GET", *url);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "virtual");
  EXPECT_TRUE(store->Delete("k/v").ok());
}

TEST_F(S3ServiceTest, PresignedUrlsAreBoundToMethodKeyHeadersAndSignature) {
  auto store = OpenStore(BaseOptions());
  ASSERT_TRUE(store);
  const std::string body = "presigned bytes";
  const std::string sha = Sha256Raw(body);
  unsigned char b64[64];
  const int n = EVP_EncodeBlock(b64, reinterpret_cast<const unsigned char*>(sha.data()),
                                static_cast<int>(sha.size()));
  const std::string sha_b64(reinterpret_cast<const char*>(b64), static_cast<size_t>(n));
  auto put = store->PresignedUrl("PUT", "media/presigned", 60,
                                 {{"content-type", "image/png"},
                                  {"content-length", std::to_string(body.size())},
                                  {"x-amz-checksum-sha256", sha_b64}});
  ASSERT_TRUE(put.ok()) << put.status();
  const std::vector<std::string> headers = {"Content-Type: image/png",
                                            "x-amz-checksum-sha256: " + sha_b64};
  // Another content type than the signed one: refused.
  EXPECT_EQ(Fetch("PUT", *put, {"Content-Type: image/jpeg", headers[1]}, body).status, 403);
  // Another length: refused.
  EXPECT_EQ(Fetch("PUT", *put, headers, body + "x").status, 403);
  // A tampered signature: refused.
  std::string forged = *put;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_EQ(Fetch("PUT", forged, headers, body).status, 403);
  // As signed: stored, with the signed content type.
  HttpResult ok = Fetch("PUT", *put, headers, body);
  EXPECT_EQ(ok.status, 200) << ok.body;
  auto info = store->Stat("media/presigned");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->content_type, "image/png");
  EXPECT_EQ(info->size, static_cast<int64_t>(body.size()));

  auto get = store->PresignedUrl("GET", "media/presigned", 60, {});
  ASSERT_TRUE(get.ok());
  HttpResult got = Fetch("GET", *get);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, body);
  // A GET URL does not allow a PUT.
  EXPECT_EQ(Fetch("PUT", *get, headers, body).status, 403);
  // Limits of the URL itself.
  EXPECT_FALSE(store->PresignedUrl("GET", "media/presigned", 8 * 24 * 3600, {}).ok());
  EXPECT_FALSE(store->PresignedUrl("DELETE", "media/presigned", 60, {}).ok());
  EXPECT_TRUE(store->Delete("media/presigned").ok());
}

TEST_F(S3ServiceTest, WrongSettingsAreNamedAtStart) {
  {
    S3Options o = BaseOptions();
    o.secret_access_key = "not-the-secret";
    auto store = OpenStore(o);
    absl::Status s = store->CheckAccess();
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_NE(s.message().find("LANGFUSE_S3_MEDIA_UPLOAD_SECRET_ACCESS_KEY"), std::string::npos)
        << s;
    EXPECT_NE(s.message().find("SignatureDoesNotMatch"), std::string::npos) << s;
    // Operations name the bucket, key and S3's answer.
    absl::Status put = store->Put("media/x", "x");
    EXPECT_EQ(put.code(), absl::StatusCode::kUnavailable) << put;
    EXPECT_NE(put.message().find("s3://" + o.bucket + "/" + o.prefix + "media/x"),
              std::string::npos)
        << put;
    EXPECT_NE(put.message().find("HTTP 403 SignatureDoesNotMatch"), std::string::npos) << put;
  }
  {
    S3Options o = BaseOptions();
    o.bucket = "no-such-bucket-" + RandomHex(4);
    absl::Status s = OpenStore(o)->CheckAccess();
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_NE(s.message().find("LANGFUSE_S3_MEDIA_UPLOAD_BUCKET"), std::string::npos) << s;
  }
  {
    S3Options o = BaseOptions();
    o.region = "eu-west-3";
    absl::Status s = OpenStore(o)->CheckAccess();
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_NE(s.message().find("LANGFUSE_S3_MEDIA_UPLOAD_REGION"), std::string::npos) << s;
  }
  {
    S3Options o = BaseOptions();
    o.endpoint = "http://127.0.0.1:9";  // discard port: nothing listens
    absl::Status s = OpenStore(o)->CheckAccess();
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    EXPECT_NE(s.message().find("LANGFUSE_S3_MEDIA_UPLOAD_ENDPOINT"), std::string::npos) << s;
  }
}

}  // namespace
}  // namespace loupe
