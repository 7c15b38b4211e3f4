#pragma once

// A SQLite VFS that coalesces the writes of a write-ahead log.
//
// SQLite writes every WAL frame with two small writes (a 24-byte header, then
// the page), so a commit of a thousand pages costs two thousand write system
// calls on the single writer thread. This VFS delegates everything to the
// default VFS except the writes to files opened as a WAL, which it gathers in
// memory while they are contiguous and hands to the file in one write before
// anything that could observe the file: a sync (so a commit is in the file,
// and durable, before SQLite publishes it to readers), a read, a size query,
// a truncation, a write elsewhere, or close. What reaches the disk and when it
// is synced are exactly as without it.

namespace loupe::sqlite {

// The name to pass to sqlite3_open_v2 (or Db::Open); the VFS is registered,
// not as the default, on the first call. Thread-safe.
const char* WalBufferVfsName();

}  // namespace loupe::sqlite
