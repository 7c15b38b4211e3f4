#pragma once

// OTLP/gRPC trace receiver: opentelemetry.proto.collector.trace.v1.
// TraceService/Export, what OpenTelemetry exporters send to port 4317.
//
// Same contract as the OTLP/HTTP route: project Basic auth (from the
// `authorization` metadata), the Langfuse mapping, the batch API's
// validation, a durable commit before the answer, and partial success for
// rejected spans. Status codes follow the OTLP spec: UNAUTHENTICATED and
// PERMISSION_DENIED for keys, INVALID_ARGUMENT for a bad ingestion version,
// UNAVAILABLE (retryable) when the store is busy or down.
//
// Thread-safe; gRPC runs the calls on its own threads.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "auth/api_key_auth.h"
#include "ingest/ingest_sink.h"

namespace grpc {
class Server;
}

namespace loupe {

inline constexpr int kDefaultOtlpGrpcPort = 4317;

struct OtlpGrpcPortSetting {
  int port = kDefaultOtlpGrpcPort;  // 0: disabled
  // Set explicitly (OTLP_GRPC_PORT): failing to listen is then an error
  // rather than a warning.
  bool from_env = false;
};

// OTLP_GRPC_PORT: unset → 4317, 0 → disabled, otherwise 1..65535.
absl::StatusOr<OtlpGrpcPortSetting> OtlpGrpcPortFromEnv();

struct OtlpGrpcOptions {
  std::string bind_address = "0.0.0.0";
  int port = kDefaultOtlpGrpcPort;  // 0 picks a free port (tests)
  // Matches the OTLP/HTTP body limit.
  int max_message_bytes = 64 * 1024 * 1024;
};

class OtlpGrpcReceiver {
 public:
  // Starts listening; fails (kUnavailable) when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<OtlpGrpcReceiver>> Start(const OtlpGrpcOptions& options,
                                                                 IngestSink* ingest,
                                                                 ApiKeyAuthenticator* auth);
  ~OtlpGrpcReceiver();

  int port() const { return port_; }

  // Stops accepting calls; calls in flight get up to `grace_seconds`.
  // Idempotent.
  void Shutdown(int grace_seconds);

 private:
  OtlpGrpcReceiver() = default;
  class Service;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace loupe
