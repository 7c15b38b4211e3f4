// The WAL-buffering VFS: a commit through it is visible to a connection on
// the default VFS as soon as it returns, large transactions (spilled pages,
// buffers past the flush size, checkpoints that restart the WAL) keep every
// row, and a process that dies right after a commit without closing anything
// loses nothing it committed.

#include "storage/sqlite/wal_buffer_vfs.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/hash.h"
#include "storage/sqlite/sqlite_db.h"

namespace loupe::sqlite {
namespace {

class WalBufferVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("loupe-walvfs-test-" + NewUuid());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "t.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Db> OpenBuffered() {
    auto db = Db::Open(path_, false, WalBufferVfsName());
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }
  // Rows and the sum of their lengths, read through the default VFS.
  std::pair<int64_t, int64_t> CountFromReader() {
    auto reader = Db::Open(path_, true);
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return {-1, -1};
    auto st = (*reader)->Prepare("SELECT COUNT(*), COALESCE(SUM(length(v)), 0) FROM t");
    EXPECT_TRUE(st.ok()) << st.status();
    if (!st.ok()) return {-1, -1};
    auto row = (*st)->Step();
    EXPECT_TRUE(row.ok() && *row);
    std::pair<int64_t, int64_t> out{(*st)->Int(0), (*st)->Int(1)};
    (*st)->Reset();
    return out;
  }
  static void Insert(Db& db, int rows, int bytes) {
    ASSERT_TRUE(db.Exec("BEGIN IMMEDIATE").ok());
    auto st = db.Prepare("INSERT INTO t(k, v) VALUES (?, randomblob(?))");
    ASSERT_TRUE(st.ok()) << st.status();
    for (int i = 0; i < rows; ++i) {
      (*st)->Bind(1, static_cast<int64_t>(IdHash64(NewUuid()))).Bind(2, bytes);
      auto run = (*st)->Run();
      ASSERT_TRUE(run.ok()) << run;
      (*st)->Reset();
    }
    ASSERT_TRUE(db.Exec("COMMIT").ok());
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(WalBufferVfsTest, CommitsAreVisibleToDefaultVfsReadersAtOnce) {
  auto db = OpenBuffered();
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->Exec("CREATE TABLE t(k INTEGER, v BLOB); CREATE INDEX t_k ON t(k)").ok());
  for (int round = 1; round <= 20; ++round) {
    Insert(*db, 50, 300);
    EXPECT_EQ(CountFromReader(), std::make_pair(int64_t{round * 50}, int64_t{round * 50 * 300}));
  }
}

TEST_F(WalBufferVfsTest, LargeTransactionsAndCheckpointsKeepEveryRow) {
  auto db = OpenBuffered();
  ASSERT_TRUE(db);
  // A small cache spills pages into the WAL mid-transaction (and rewrites
  // them there); 40 MB transactions pass the flush size; a low checkpoint
  // interval restarts the WAL from its start between transactions.
  ASSERT_TRUE(db->Exec("PRAGMA cache_size=100; PRAGMA wal_autocheckpoint=1000; CREATE TABLE "
                       "t(k INTEGER, v BLOB); CREATE INDEX t_k ON t(k)")
                  .ok());
  for (int round = 1; round <= 3; ++round) {
    Insert(*db, 20000, 2000);
    EXPECT_EQ(CountFromReader(),
              std::make_pair(int64_t{round * 20000}, int64_t{round * 20000} * 2000));
  }
  auto check = db->Prepare("PRAGMA integrity_check");
  ASSERT_TRUE(check.ok());
  ASSERT_TRUE(*(*check)->Step());
  EXPECT_EQ((*check)->Text(0), "ok");
  (*check)->Reset();
}

TEST_F(WalBufferVfsTest, ADeathRightAfterCommitLosesNothingCommitted) {
  {
    auto db = OpenBuffered();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->Exec("CREATE TABLE t(k INTEGER, v BLOB)").ok());
  }
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // No destructors, no close, no checkpoint: as if killed after COMMIT.
    auto db = Db::Open(path_, false, WalBufferVfsName());
    if (!db.ok()) _exit(2);
    if (!(*db)->Exec("BEGIN IMMEDIATE").ok()) _exit(3);
    for (int i = 0; i < 500; ++i) {
      if (!(*db)
               ->Exec("INSERT INTO t(k, v) VALUES (" + std::to_string(i) + ", randomblob(1000))")
               .ok()) {
        _exit(4);
      }
    }
    if (!(*db)->Exec("COMMIT").ok()) _exit(5);
    (void)(*db)->Exec("BEGIN IMMEDIATE; INSERT INTO t(k, v) VALUES (-1, randomblob(10))");
    _exit(0);  // the second transaction never commits
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(CountFromReader(), std::make_pair(int64_t{500}, int64_t{500 * 1000}));
}

}  // namespace
}  // namespace loupe::sqlite
