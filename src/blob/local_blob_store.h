#pragma once

// A BlobStore on a local directory (Loupe keeps it at $LOUPE_DATA_DIR/blobs):
// one file per object, at the key's path under the root.
//
// A Put writes a temporary file beside the target (".tmp-<random>", a name
// no valid key can have), fsyncs it, renames it over the target and fsyncs
// the directory, so a crash leaves either the old object or the new one.
// Temporary files left by a crash are removed when the store is opened.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "blob/blob_store.h"

namespace loupe {

// Creates `root` if needed. Fails with kUnavailable when it cannot.
absl::StatusOr<std::unique_ptr<BlobStore>> OpenLocalBlobStore(const std::string& root);

}  // namespace loupe
