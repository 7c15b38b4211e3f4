#include "common/memory.h"

#include <malloc.h>

#ifdef LOUPE_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>

#include <string>

// Read by jemalloc at its initialization. Unused memory is returned to the OS
// within a second by a background thread, even when no thread allocates
// (the default would keep it until the next allocation activity), and two
// arenas are enough for the few threads that do real work.
extern "C" {
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2";
}
#endif

namespace loupe {

void ConfigureAllocator() {
#ifndef LOUPE_WITH_JEMALLOC
  // glibc gives each busy thread its own malloc arena; with a pool of request
  // threads that multiplies the memory an idle server keeps. A few suffice.
  mallopt(M_ARENA_MAX, 2);
#endif
}

void ReleaseFreeMemory() {
#ifdef LOUPE_WITH_JEMALLOC
  static const std::string kPurgeAll = "arena." + std::to_string(MALLCTL_ARENAS_ALL) + ".purge";
  mallctl(kPurgeAll.c_str(), nullptr, nullptr, nullptr, 0);
#else
  malloc_trim(0);
#endif
}

void ReleaseThreadCache() {
#ifdef LOUPE_WITH_JEMALLOC
  mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);
#endif
}

}  // namespace loupe
