#include "storage/sqlite/sqlite_media_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/hash.h"

namespace loupe {
namespace {

class SqliteMediaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ =
        (std::filesystem::temp_directory_path() / ("loupe-media-" + RandomHex(8) + ".db")).string();
    auto store = OpenSqliteMediaStore(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  static MediaRecord Declared(std::string project, std::string type) {
    MediaRecord m;
    m.id = "mediaid0000000000000001";
    m.project_id = std::move(project);
    m.sha256_hash = "hash";
    m.content_type = std::move(type);
    m.content_length = 10;
    m.blob_key = "media/p/mediaid";
    m.created_at_ms = 1000;
    return m;
  }

  std::string path_;
  std::unique_ptr<MediaStore> store_;
};

TEST_F(SqliteMediaStoreTest, DedupesByHashAndKeepsWhatWasUploaded) {
  auto first = store_->CreateOrGet(Declared("p", "image/png"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->uploaded_at_ms.has_value());
  // Not uploaded yet: a new declaration replaces the type.
  auto second = store_->CreateOrGet(Declared("p", "image/jpeg"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->content_type, "image/jpeg");
  ASSERT_TRUE(store_->MarkUploaded("p", first->id, "image/jpeg", 10, 2000).ok());
  // Uploaded: the row keeps the uploaded type until bytes arrive again.
  auto third = store_->CreateOrGet(Declared("p", "image/png"));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->content_type, "image/jpeg");
  EXPECT_EQ(third->uploaded_at_ms, 2000);
  // Another project has its own row for the same bytes.
  auto other = store_->CreateOrGet(Declared("q", "image/png"));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->uploaded_at_ms.has_value());
}

TEST_F(SqliteMediaStoreTest, UploadReportsAndMissingRows) {
  auto m = store_->CreateOrGet(Declared("p", "image/png"));
  ASSERT_TRUE(m.ok());
  MediaUploadReport r{3000, 403, std::string("denied"), std::nullopt};
  ASSERT_TRUE(store_->RecordUploadReport("p", m->id, r).ok());
  auto got = store_->Get("p", m->id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->upload_http_status, 403);
  EXPECT_EQ((*got)->upload_http_error, "denied");
  EXPECT_EQ((*got)->reported_uploaded_at_ms, 3000);
  EXPECT_FALSE((*got)->upload_time_ms.has_value());
  EXPECT_EQ(store_->RecordUploadReport("q", m->id, r).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->MarkUploaded("p", "nope", "image/png", 1, 1).code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(store_->Get("q", m->id)->has_value());
}

TEST_F(SqliteMediaStoreTest, LinksAreIdempotentPerField) {
  MediaLink trace{"p", "m1", std::string("t1"), std::nullopt, std::nullopt, std::nullopt, "input"};
  MediaLink obs{"p",          "m1",         std::string("t1"), std::string("o1"),
                std::nullopt, std::nullopt, "output"};
  MediaLink item{"p",
                 "m1",
                 std::nullopt,
                 std::nullopt,
                 std::string("d1"),
                 std::string("i1"),
                 "expectedOutput"};
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(store_->Link(trace).ok());
    ASSERT_TRUE(store_->Link(obs).ok());
    ASSERT_TRUE(store_->Link(item).ok());
  }
  MediaLink none{"p", "m1", std::nullopt, std::nullopt, std::nullopt, std::nullopt, "input"};
  EXPECT_EQ(store_->Link(none).code(), absl::StatusCode::kInvalidArgument);
  auto links = store_->ListLinks("p", "m1");
  ASSERT_TRUE(links.ok()) << links.status();
  ASSERT_EQ(links->size(), 3u);
  EXPECT_EQ((*links)[0].trace_id, "t1");
  EXPECT_FALSE((*links)[0].observation_id.has_value());
  EXPECT_EQ((*links)[1].observation_id, "o1");
  EXPECT_EQ((*links)[2].dataset_item_id, "i1");
  EXPECT_TRUE(store_->ListLinks("q", "m1")->empty());
}

TEST_F(SqliteMediaStoreTest, ReopeningKeepsRowsAndSchema) {
  ASSERT_TRUE(store_->CreateOrGet(Declared("p", "image/png")).ok());
  store_.reset();
  auto reopened = OpenSqliteMediaStore(path_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_TRUE((*reopened)->Get("p", "mediaid0000000000000001")->has_value());
}

}  // namespace
}  // namespace loupe
