// One suite for every MediaStore backend: the embedded SQLite store and the
// PostgreSQL one must answer each method alike. PostgreSQL runs when
// LOUPE_TEST_DATABASE_URL names a database (tests/scaleout does, against a
// real server); project ids are unique per run, so the database may be
// reused.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/hash.h"
#include "storage/postgres/pg_admin_stores.h"
#include "storage/postgres/pg_client.h"
#include "storage/sqlite/sqlite_media_store.h"

namespace loupe {
namespace {

const char* DatabaseUrl() {
  const char* url = std::getenv("LOUPE_TEST_DATABASE_URL");
  return url && *url ? url : nullptr;
}

class MediaStoreConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres" && !DatabaseUrl()) {
      GTEST_SKIP() << "LOUPE_TEST_DATABASE_URL is not set";
    }
    path_ =
        (std::filesystem::temp_directory_path() / ("loupe-media-" + RandomHex(8) + ".db")).string();
    ASSERT_NO_FATAL_FAILURE(Open(&store_));
  }

  void TearDown() override {
    store_.reset();
    if (GetParam() == "sqlite") {
      for (const char* suffix : {"", "-wal", "-shm"}) {
        std::error_code ec;
        std::filesystem::remove(path_ + suffix, ec);
      }
    }
  }

  // Opens the store as a (re)starting server does.
  void Open(std::unique_ptr<MediaStore>* out) {
    if (GetParam() == "sqlite") {
      auto store = OpenSqliteMediaStore(path_);
      ASSERT_TRUE(store.ok()) << store.status();
      *out = *std::move(store);
      return;
    }
    auto pool = pg::Pool::Open({DatabaseUrl()});
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto store = OpenPostgresMediaStore(std::shared_ptr<pg::Pool>(*std::move(pool)));
    ASSERT_TRUE(store.ok()) << store.status();
    *out = *std::move(store);
  }

  // A project id unique to this run.
  std::string P(const std::string& name) const { return name + "-" + run_; }

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

  const std::string run_ = RandomHex(6);
  std::string path_;
  std::unique_ptr<MediaStore> store_;
};

TEST_P(MediaStoreConformanceTest, DedupesByHashAndKeepsWhatWasUploaded) {
  auto first = store_->CreateOrGet(Declared(P("p"), "image/png"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->uploaded_at_ms.has_value());
  EXPECT_EQ(first->id, "mediaid0000000000000001");
  EXPECT_EQ(first->blob_key, "media/p/mediaid");
  EXPECT_EQ(first->created_at_ms, 1000);
  EXPECT_EQ(first->updated_at_ms, 1000);
  // Not uploaded yet: a new declaration replaces the type.
  MediaRecord again = Declared(P("p"), "image/jpeg");
  again.created_at_ms = 1500;
  again.content_length = 12;
  auto second = store_->CreateOrGet(again);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->content_type, "image/jpeg");
  EXPECT_EQ(second->content_length, 12);
  EXPECT_EQ(second->created_at_ms, 1000);
  EXPECT_EQ(second->updated_at_ms, 1500);
  ASSERT_TRUE(store_->MarkUploaded(P("p"), first->id, "image/jpeg", 10, 2000).ok());
  // Uploaded: the row keeps the uploaded type until bytes arrive again.
  auto third = store_->CreateOrGet(Declared(P("p"), "image/png"));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->content_type, "image/jpeg");
  EXPECT_EQ(third->content_length, 10);
  EXPECT_EQ(third->uploaded_at_ms, 2000);
  EXPECT_EQ(third->updated_at_ms, 2000);
  // Another project has its own row for the same bytes.
  auto other = store_->CreateOrGet(Declared(P("q"), "image/png"));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->uploaded_at_ms.has_value());
}

TEST_P(MediaStoreConformanceTest, UploadReportsAndMissingRows) {
  auto m = store_->CreateOrGet(Declared(P("p"), "image/png"));
  ASSERT_TRUE(m.ok());
  MediaUploadReport r{3000, 403, std::string("denied"), std::nullopt};
  ASSERT_TRUE(store_->RecordUploadReport(P("p"), m->id, r).ok());
  auto got = store_->Get(P("p"), m->id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->upload_http_status, 403);
  EXPECT_EQ((*got)->upload_http_error, "denied");
  EXPECT_EQ((*got)->reported_uploaded_at_ms, 3000);
  EXPECT_FALSE((*got)->upload_time_ms.has_value());
  // The client's report is not an upload.
  EXPECT_FALSE((*got)->uploaded_at_ms.has_value());
  EXPECT_EQ(store_->RecordUploadReport(P("q"), m->id, r).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->MarkUploaded(P("p"), "nope", "image/png", 1, 1).code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(store_->Get(P("q"), m->id)->has_value());

  MediaUploadReport ok{4000, 200, std::nullopt, 25};
  ASSERT_TRUE(store_->RecordUploadReport(P("p"), m->id, ok).ok());
  got = store_->Get(P("p"), m->id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->upload_http_status, 200);
  EXPECT_FALSE((*got)->upload_http_error.has_value());
  EXPECT_EQ((*got)->upload_time_ms, 25);
}

TEST_P(MediaStoreConformanceTest, LinksAreIdempotentPerField) {
  const std::string p = P("p");
  MediaLink trace{p, "m1", std::string("t1"), std::nullopt, std::nullopt, std::nullopt, "input"};
  MediaLink obs{p,       "m1", std::string("t1"), std::string("o1"), std::nullopt, std::nullopt,
                "output"};
  MediaLink item{
      p, "m1", std::nullopt, std::nullopt, std::string("d1"), std::string("i1"), "expectedOutput"};
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(store_->Link(trace).ok());
    ASSERT_TRUE(store_->Link(obs).ok());
    ASSERT_TRUE(store_->Link(item).ok());
  }
  MediaLink none{p, "m1", std::nullopt, std::nullopt, std::nullopt, std::nullopt, "input"};
  EXPECT_EQ(store_->Link(none).code(), absl::StatusCode::kInvalidArgument);
  auto links = store_->ListLinks(p, "m1");
  ASSERT_TRUE(links.ok()) << links.status();
  ASSERT_EQ(links->size(), 3u);
  EXPECT_EQ((*links)[0].trace_id, "t1");
  EXPECT_EQ((*links)[0].field, "input");
  EXPECT_FALSE((*links)[0].observation_id.has_value());
  EXPECT_FALSE((*links)[0].dataset_item_id.has_value());
  EXPECT_EQ((*links)[1].observation_id, "o1");
  EXPECT_EQ((*links)[1].trace_id, "t1");
  EXPECT_EQ((*links)[2].dataset_item_id, "i1");
  EXPECT_EQ((*links)[2].dataset_id, "d1");
  EXPECT_FALSE((*links)[2].trace_id.has_value());
  EXPECT_EQ((*links)[2].project_id, p);
  EXPECT_EQ((*links)[2].media_id, "m1");
  EXPECT_TRUE(store_->ListLinks(P("q"), "m1")->empty());
  EXPECT_TRUE(store_->ListLinks(p, "m2")->empty());
}

// Links of one kind come in the order they were made; another field of the
// same object is another link.
TEST_P(MediaStoreConformanceTest, LinksOfOneKindInTheOrderMade) {
  const std::string p = P("p");
  for (const char* t : {"tz", "ta", "tm"}) {
    ASSERT_TRUE(
        store_->Link({p, "m", std::string(t), std::nullopt, std::nullopt, std::nullopt, "input"})
            .ok());
  }
  ASSERT_TRUE(
      store_->Link({p, "m", std::string("tz"), std::nullopt, std::nullopt, std::nullopt, "output"})
          .ok());
  auto links = store_->ListLinks(p, "m");
  ASSERT_TRUE(links.ok());
  // Made within a few milliseconds: order by time, then by insertion.
  std::vector<std::string> got;
  for (const MediaLink& l : *links) got.push_back(*l.trace_id + "/" + l.field);
  EXPECT_EQ(got, (std::vector<std::string>{"tz/input", "ta/input", "tm/input", "tz/output"}));
}

TEST_P(MediaStoreConformanceTest, ReopeningKeepsRowsAndSchema) {
  ASSERT_TRUE(store_->CreateOrGet(Declared(P("p"), "image/png")).ok());
  store_.reset();
  std::unique_ptr<MediaStore> reopened;
  ASSERT_NO_FATAL_FAILURE(Open(&reopened));
  EXPECT_TRUE(reopened->Get(P("p"), "mediaid0000000000000001")->has_value());
}

// Requests racing with the same bytes (on PostgreSQL they could come from
// different processes) all get the one row; racing links leave one link.
TEST_P(MediaStoreConformanceTest, RacingUploadsOfTheSameBytesShareOneRow) {
  const std::string p = P("p");
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        MediaRecord m = Declared(p, "image/png");
        m.created_at_ms = 1000 + t;
        auto got = store_->CreateOrGet(m);
        if (!got.ok() || got->id != "mediaid0000000000000001" || got->created_at_ms < 1000 ||
            got->created_at_ms >= 1000 + kThreads) {
          ++failures;
        }
        if (!store_
                 ->Link({p, got.ok() ? got->id : "", std::string("t"), std::nullopt, std::nullopt,
                         std::nullopt, "input"})
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->ListLinks(p, "mediaid0000000000000001")->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, MediaStoreConformanceTest,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace loupe
