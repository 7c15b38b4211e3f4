#include "blob/local_blob_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/hash.h"

namespace loupe {
namespace {

namespace fs = std::filesystem;

class LocalBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("loupe-blob-test-" + RandomHex(8));
    auto store = OpenLocalBlobStore(root_.string());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(LocalBlobStoreTest, PutGetExistsDelete) {
  EXPECT_FALSE(*store_->Exists("media/p1/abc"));
  EXPECT_EQ(store_->Get("media/p1/abc").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->Put("media/p1/abc", "hello").ok());
  EXPECT_TRUE(*store_->Exists("media/p1/abc"));
  EXPECT_EQ(*store_->Get("media/p1/abc"), "hello");
  auto info = store_->Stat("media/p1/abc");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->size, 5);
  // A directory on the way to keys is no object.
  EXPECT_EQ(store_->Stat("media/p1").status().code(), absl::StatusCode::kNotFound);
  // No URLs of its own: the media API serves the bytes itself.
  EXPECT_EQ(store_->PresignedUrl("GET", "media/p1/abc", 60, {}).status().code(),
            absl::StatusCode::kUnimplemented);
  ASSERT_TRUE(store_->Delete("media/p1/abc").ok());
  EXPECT_FALSE(*store_->Exists("media/p1/abc"));
  EXPECT_EQ(store_->Stat("media/p1/abc").status().code(), absl::StatusCode::kNotFound);
  // Deleting what is not there is not an error.
  EXPECT_TRUE(store_->Delete("media/p1/abc").ok());
}

TEST_F(LocalBlobStoreTest, PutReplacesAndKeepsBinaryBytes) {
  std::string binary("\0\x01\xff\n\r", 5);
  ASSERT_TRUE(store_->Put("k", "first version, longer").ok());
  ASSERT_TRUE(store_->Put("k", binary).ok());
  EXPECT_EQ(*store_->Get("k"), binary);
  ASSERT_TRUE(store_->Put("empty", "").ok());
  EXPECT_EQ(*store_->Get("empty"), "");
}

TEST_F(LocalBlobStoreTest, LeavesNoTemporaryFiles) {
  ASSERT_TRUE(store_->Put("a/b/c", std::string(100000, 'x')).ok());
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(root_)) {
    if (e.is_regular_file()) names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"c"});
}

TEST_F(LocalBlobStoreTest, RemovesStaleTemporaryFilesOnOpen) {
  ASSERT_TRUE(store_->Put("a/obj", "kept").ok());
  // What a crash between create and rename leaves behind.
  { std::ofstream(root_ / "a" / ".tmp-deadbeef") << "partial"; }
  auto reopened = OpenLocalBlobStore(root_.string());
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE(fs::exists(root_ / "a" / ".tmp-deadbeef"));
  EXPECT_EQ(*(*reopened)->Get("a/obj"), "kept");
}

TEST_F(LocalBlobStoreTest, RejectsKeysThatCouldEscapeTheRoot) {
  for (const char* key :
       {"", "/abs", "a/../b", "..", "a//b", "a/", ".tmp-x", "a/.hidden", "sp ace", "back\\slash"}) {
    EXPECT_EQ(store_->Put(key, "x").code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store_->Get(key).status().code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store_->Exists(key).status().code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store_->Delete(key).code(), absl::StatusCode::kInvalidArgument) << key;
  }
  EXPECT_TRUE(ValidateBlobKey("media/proj-1/AbC_d-e.png").ok());
  EXPECT_FALSE(ValidateBlobKey(std::string(201, 'a')).ok());
}

TEST_F(LocalBlobStoreTest, ConcurrentPutsOfOneKeyEndWithOneWholeValue) {
  std::vector<std::thread> threads;
  const std::string a(200000, 'a'), b(300000, 'b');
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 5; ++j) ASSERT_TRUE(store_->Put("same", i % 2 ? a : b).ok());
    });
  }
  for (auto& t : threads) t.join();
  std::string got = *store_->Get("same");
  EXPECT_TRUE(got == a || got == b);
}

TEST(LocalBlobStoreOpenTest, FailsWhenRootCannotBeCreated) {
  const std::string file =
      (fs::temp_directory_path() / ("loupe-blob-file-" + RandomHex(8))).string();
  { std::ofstream(file) << "not a directory"; }
  auto store = OpenLocalBlobStore(file + "/blobs");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  fs::remove(file);
}

}  // namespace
}  // namespace loupe
