#include "otlp/grpc_receiver.h"

#include <grpcpp/grpcpp.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <string_view>

#include "common/log.h"
#include "common/time_util.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "otlp/otlp_converter.h"

namespace loupe {
namespace {

namespace collector = opentelemetry::proto::collector::trace::v1;

constexpr int kMaxIngestionVersion = 4;

std::string Metadata(const grpc::ServerContext& context, std::string_view key) {
  const auto& md = context.client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

bool ValidIngestionVersion(std::string_view v) {
  if (v.empty()) return true;
  int n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  return ec == std::errc() && p == v.data() + v.size() && n <= kMaxIngestionVersion;
}

grpc::Status ToGrpc(const absl::Status& s) {
  std::string message(s.message());
  switch (s.code()) {
    case absl::StatusCode::kUnauthenticated:
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, message);
    case absl::StatusCode::kPermissionDenied:
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, message);
    case absl::StatusCode::kInvalidArgument:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
      // The write queue is full or the store is briefly unavailable: OTLP
      // exporters retry UNAVAILABLE with backoff.
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, message);
    default:
      LogError("otlp grpc export failed", {{"status", s.ToString()}});
      return grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
  }
}

}  // namespace

class OtlpGrpcReceiver::Service final : public collector::TraceService::Service {
 public:
  Service(IngestSink* ingest, ApiKeyAuthenticator* auth) : ingest_(ingest), auth_(auth) {}

  grpc::Status Export(grpc::ServerContext* context,
                      const collector::ExportTraceServiceRequest* request,
                      collector::ExportTraceServiceResponse* response) override {
    auto ctx = auth_->Authenticate(Metadata(*context, "authorization"));
    if (!ctx.ok()) return ToGrpc(ctx.status());
    if (ctx->scope != AuthContext::Scope::kProject) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "a project API key (Basic auth) is required");
    }
    if (!ValidIngestionVersion(Metadata(*context, "x-langfuse-ingestion-version"))) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "Unsupported x-langfuse-ingestion-version");
    }
    DecodeOptions options;
    options.sdk_name = Metadata(*context, "x-langfuse-sdk-name");
    options.sdk_version = Metadata(*context, "x-langfuse-sdk-version");
    OtlpDecoded decoded = DecodeOtlpEvents(ConvertOtlpTraces(*request, NowMicros()), options);
    if (!decoded.events.empty()) {
      absl::Status s = ingest_->Accept(ctx->project_id, std::move(decoded.events));
      if (!s.ok()) return ToGrpc(s);
    }
    if (decoded.rejected_spans > 0) {
      auto* partial = response->mutable_partial_success();
      partial->set_rejected_spans(decoded.rejected_spans);
      partial->set_error_message(decoded.error_message);
      LogInfo("otel grpc export with rejected spans", {{"project", ctx->project_id},
                                                       {"accepted", decoded.accepted_spans},
                                                       {"rejected", decoded.rejected_spans},
                                                       {"reason", decoded.error_message}});
    }
    return grpc::Status::OK;
  }

 private:
  IngestSink* ingest_;
  ApiKeyAuthenticator* auth_;
};

absl::StatusOr<OtlpGrpcPortSetting> OtlpGrpcPortFromEnv() {
  const char* v = std::getenv("OTLP_GRPC_PORT");
  if (v == nullptr || *v == '\0') return OtlpGrpcPortSetting{};
  std::string_view s(v);
  int port = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
  if (ec != std::errc() || p != s.data() + s.size() || port < 0 || port > 65535) {
    return absl::InvalidArgumentError("OTLP_GRPC_PORT must be a port number (0 disables), got '" +
                                      std::string(s) + "'");
  }
  return OtlpGrpcPortSetting{port, true};
}

absl::StatusOr<std::unique_ptr<OtlpGrpcReceiver>> OtlpGrpcReceiver::Start(
    const OtlpGrpcOptions& options, IngestSink* ingest, ApiKeyAuthenticator* auth) {
  std::unique_ptr<OtlpGrpcReceiver> r(new OtlpGrpcReceiver());
  r->service_ = std::make_unique<Service>(ingest, auth);
  std::string host = options.bind_address;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  grpc::ServerBuilder builder;
  builder.AddListeningPort(host + ":" + std::to_string(options.port),
                           grpc::InsecureServerCredentials(), &r->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.RegisterService(r->service_.get());
  r->server_ = builder.BuildAndStart();
  if (r->server_ == nullptr || r->port_ == 0) {
    return absl::UnavailableError("cannot listen for OTLP/gRPC on " + host + ":" +
                                  std::to_string(options.port));
  }
  return r;
}

OtlpGrpcReceiver::~OtlpGrpcReceiver() { Shutdown(0); }

void OtlpGrpcReceiver::Shutdown(int grace_seconds) {
  if (stopped_ || server_ == nullptr) return;
  stopped_ = true;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(grace_seconds));
  server_->Wait();
}

}  // namespace loupe
