#pragma once

// Process-wide allocator settings. Loupe links jemalloc where it is available
// (release builds): request handling allocates and frees many small JSON
// nodes, which jemalloc's per-thread caches serve with less CPU than glibc's
// arenas. Sanitizer and fuzz builds use the libc allocator.

namespace loupe {

// Call once at start, before threads are created.
void ConfigureAllocator();

// Hands memory the allocator holds but does not use back to the OS. Called
// when the server goes idle, so an idle server stays small.
void ReleaseFreeMemory();

// Returns the calling thread's cache of freed blocks to the shared arenas.
// Threads that handle a heavy request call it afterwards: a thread that then
// sits idle would otherwise keep that memory out of reach of the purging
// above. Cheap next to such a request (tens of microseconds).
void ReleaseThreadCache();

}  // namespace loupe
