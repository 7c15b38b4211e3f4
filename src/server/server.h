#pragma once

// Wires a running Loupe: opens the stores chosen by the configuration, runs
// the bootstrap, registers the API and serves HTTP. Shutdown order: stop
// accepting, finish in-flight requests, drain and commit the write queue,
// close the stores.

#include <atomic>
#include <memory>

#include "absl/status/status.h"
#include "server/config.h"

namespace loupe {

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Create(const Config& config);
  ~Server();

  int port() const;
  // Blocks until SIGINT or SIGTERM, then shuts down gracefully.
  void RunUntilSignal();
  void Shutdown();

 private:
  Server() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loupe
