// loupe: an LLM observability server that speaks the Langfuse API.
//
//   loupe [serve]     the API, the web UI and storing events (the default)
//   loupe web         the API and the web UI; events go to the queue
//   loupe worker      stores queued events (health on PORT, default 3030)
//   loupe version     print the version

#include <signal.h>

#include <cstdio>
#include <cstring>

#include "common/log.h"
#include "common/memory.h"
#include "server/config.h"
#include "server/server.h"

#ifndef LOUPE_VERSION
#define LOUPE_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  const char* command = argc > 1 ? argv[1] : "serve";
  if (std::strcmp(command, "version") == 0 || std::strcmp(command, "--version") == 0) {
    std::printf("loupe %s\n", LOUPE_VERSION);
    return 0;
  }
  loupe::Role role = loupe::Role::kServe;
  if (std::strcmp(command, "web") == 0) {
    role = loupe::Role::kWeb;
  } else if (std::strcmp(command, "worker") == 0) {
    role = loupe::Role::kWorker;
  } else if (std::strcmp(command, "serve") != 0) {
    std::fprintf(stderr, "usage: loupe [serve|web|worker|version]\n");
    return 2;
  }
  // Signals are taken synchronously by RunUntilSignal(); block them before any
  // thread starts so every thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  loupe::ConfigureAllocator();

  loupe::InitLoggingFromEnv();
  auto config = loupe::ConfigFromEnv(role);
  if (!config.ok()) {
    loupe::LogError("invalid configuration", {{"error", std::string(config.status().message())}});
    return 2;
  }
  auto server = loupe::Server::Create(*config);
  if (!server.ok()) {
    loupe::LogError("failed to start", {{"error", server.status().ToString()}});
    return 1;
  }
  (*server)->RunUntilSignal();
  return 0;
}
