#include "storage/sqlite/wal_buffer_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>

namespace loupe::sqlite {
namespace {

constexpr const char* kVfsName = "loupe-wal-buffer";
// Gathered writes go to the file once they reach this size, so a huge
// transaction does not hold its whole WAL in memory.
constexpr size_t kFlushBytes = size_t{8} << 20;
// The unix VFS writes at most 128 KB - 1 bytes per call (its write helper
// masks the length to 17 bits), so a flush is handed over in pieces.
constexpr size_t kWriteBytes = size_t{64} << 10;

sqlite3_vfs* g_base = nullptr;  // the default VFS, set once at registration
sqlite3_vfs g_vfs;

// A WAL file: the default VFS's file lives in the same allocation, after it.
struct WalFile {
  sqlite3_file base;         // pMethods = &kWalMethods
  sqlite3_file* real;        // the default VFS's open file
  std::string* pending;      // contiguous writes not yet handed to `real`
  sqlite3_int64 pending_at;  // file offset of pending[0]
};

constexpr size_t RealOffset() { return (sizeof(WalFile) + 15) & ~size_t{15}; }

WalFile* Wal(sqlite3_file* f) { return reinterpret_cast<WalFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Wal(f)->real; }

int Flush(WalFile* w) {
  int rc = SQLITE_OK;
  for (size_t at = 0; at < w->pending->size() && rc == SQLITE_OK; at += kWriteBytes) {
    const size_t n = std::min(kWriteBytes, w->pending->size() - at);
    rc = w->real->pMethods->xWrite(w->real, w->pending->data() + at, static_cast<int>(n),
                                   w->pending_at + static_cast<sqlite3_int64>(at));
  }
  // On failure the caller (a sync, read or close) reports the error and
  // SQLite abandons the transaction whose frames these were.
  w->pending->clear();
  return rc;
}

int WalClose(sqlite3_file* f) {
  WalFile* w = Wal(f);
  const int flushed = Flush(w);
  const int closed = w->real->pMethods->xClose(w->real);
  delete w->pending;
  w->pending = nullptr;
  return flushed != SQLITE_OK ? flushed : closed;
}

int WalRead(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  if (int rc = Flush(Wal(f)); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xRead(Real(f), out, amount, offset);
}

int WalWrite(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  WalFile* w = Wal(f);
  std::string& p = *w->pending;
  const sqlite3_int64 end = w->pending_at + static_cast<sqlite3_int64>(p.size());
  if (!p.empty() && offset >= w->pending_at && offset <= end) {
    // Within or right after the gathered run (SQLite rewrites a frame it
    // wrote earlier in the same transaction in place): update it in memory.
    const size_t at = static_cast<size_t>(offset - w->pending_at);
    if (at + static_cast<size_t>(amount) > p.size()) p.resize(at + static_cast<size_t>(amount));
    std::memcpy(p.data() + at, data, static_cast<size_t>(amount));
  } else {
    if (int rc = Flush(w); rc != SQLITE_OK) return rc;
    w->pending_at = offset;
    p.assign(static_cast<const char*>(data), static_cast<size_t>(amount));
  }
  return p.size() >= kFlushBytes ? Flush(w) : SQLITE_OK;
}

int WalTruncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = Flush(Wal(f)); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xTruncate(Real(f), size);
}

int WalSync(sqlite3_file* f, int flags) {
  if (int rc = Flush(Wal(f)); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xSync(Real(f), flags);
}

int WalFileSize(sqlite3_file* f, sqlite3_int64* size) {
  if (int rc = Flush(Wal(f)); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xFileSize(Real(f), size);
}

int WalLock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int WalUnlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int WalCheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}

int WalFileControl(sqlite3_file* f, int op, void* arg) {
  if (int rc = Flush(Wal(f)); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}

int WalSectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int WalDeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}

int WalShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
}
int WalShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void WalShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int WalShmUnmap(sqlite3_file* f, int delete_flag) {
  return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag);
}

int WalFetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  if (int rc = Flush(Wal(f)); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xFetch(Real(f), offset, amount, out);
}
int WalUnfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return Real(f)->pMethods->xUnfetch(Real(f), offset, p);
}

const sqlite3_io_methods kWalMethods = {
    3,
    WalClose,
    WalRead,
    WalWrite,
    WalTruncate,
    WalSync,
    WalFileSize,
    WalLock,
    WalUnlock,
    WalCheckReservedLock,
    WalFileControl,
    WalSectorSize,
    WalDeviceCharacteristics,
    WalShmMap,
    WalShmLock,
    WalShmBarrier,
    WalShmUnmap,
    WalFetch,
    WalUnfetch,
};

int Open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  // Everything but a WAL is the default VFS's file as it is.
  if (!(flags & SQLITE_OPEN_WAL)) return g_base->xOpen(g_base, name, f, flags, out_flags);
  WalFile* w = Wal(f);
  w->base.pMethods = nullptr;
  w->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + RealOffset());
  const int rc = g_base->xOpen(g_base, name, w->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  if (w->real->pMethods == nullptr || w->real->pMethods->iVersion < 3) {
    // Not the unix VFS this was written against: leave its file as it is.
    if (w->real->pMethods) w->real->pMethods->xClose(w->real);
    return g_base->xOpen(g_base, name, f, flags, out_flags);
  }
  w->pending = new std::string();
  w->pending_at = 0;
  w->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

}  // namespace

const char* WalBufferVfsName() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_base = sqlite3_vfs_find(nullptr);
    g_vfs = *g_base;  // every other method is the default VFS's own
    g_vfs.zName = kVfsName;
    g_vfs.pNext = nullptr;
    g_vfs.szOsFile = static_cast<int>(RealOffset()) + g_base->szOsFile;
    g_vfs.xOpen = Open;
    sqlite3_vfs_register(&g_vfs, 0);
  });
  return kVfsName;
}

}  // namespace loupe::sqlite
