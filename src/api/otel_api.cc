#include "api/otel_api.h"

#include <cctype>
#include <charconv>
#include <memory>
#include <string>

#include "api/responses.h"
#include "common/log.h"
#include "common/time_util.h"
#include "otlp/otlp_converter.h"

namespace loupe {
namespace {

namespace json = boost::json;

// The newest x-langfuse-ingestion-version Langfuse accepts.
constexpr int kMaxIngestionVersion = 4;

HttpResponse OtelError(int status, std::string_view error, std::string_view message = {}) {
  json::object o;
  o["error"] = error;
  if (!message.empty()) o["message"] = message;
  return JsonResponse(status, o);
}

// Project-scoped Basic auth, as on every ingestion route. Langfuse answers an
// organization key (no project) with 403 on the OTel route.
absl::StatusOr<AuthContext> RequireProjectKey(const PublicApiDeps& d, const HttpRequest& req) {
  auto ctx = d.auth->Authenticate(req.Header("authorization"));
  if (!ctx.ok()) return ctx.status();
  if (ctx->scope == AuthContext::Scope::kOrganization) {
    return absl::PermissionDeniedError(
        "Project ID not found for API token. Are you using an organization key?");
  }
  if (ctx->scope == AuthContext::Scope::kScores) {
    return absl::PermissionDeniedError(
        "Access denied - insufficient permissions for this endpoint");
  }
  return ctx;
}

bool ValidIngestionVersion(std::string_view v) {
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
  if (v.empty()) return true;  // an empty header is no header
  int n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  return ec == std::errc() && p == v.data() + v.size() && n <= kMaxIngestionVersion;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

HttpResponse ExportResponse(OtlpEncoding encoding, const OtlpDecoded& result) {
  if (encoding == OtlpEncoding::kProtobuf) {
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse response;
    if (result.rejected_spans > 0) {
      auto* partial = response.mutable_partial_success();
      partial->set_rejected_spans(result.rejected_spans);
      partial->set_error_message(result.error_message);
    }
    HttpResponse r;
    r.status = 200;
    r.content_type = "application/x-protobuf";
    r.body = response.SerializeAsString();
    return r;
  }
  json::object body;
  if (result.rejected_spans > 0) {
    json::object partial;
    // int64 as a decimal string, as the protobuf JSON mapping renders it.
    partial["rejectedSpans"] = std::to_string(result.rejected_spans);
    partial["errorMessage"] = result.error_message;
    body["partialSuccess"] = std::move(partial);
  }
  return JsonResponse(200, body);
}

class OtelApi {
 public:
  explicit OtelApi(PublicApiDeps deps) : d_(deps) {}

  HttpResponse Traces(HttpRequest& req) {
    auto auth = RequireProjectKey(d_, req);
    if (!auth.ok()) return StatusResponse(auth.status());

    if (!ValidIngestionVersion(req.Header("x-langfuse-ingestion-version"))) {
      return OtelError(400, "Unsupported x-langfuse-ingestion-version",
                       "x-langfuse-ingestion-version must be an integer <= " +
                           std::to_string(kMaxIngestionVersion));
    }

    std::string content_type = Lower(req.Header("content-type"));
    OtlpEncoding encoding;
    if (content_type.find("application/x-protobuf") != std::string::npos) {
      encoding = OtlpEncoding::kProtobuf;
    } else if (content_type.find("application/json") != std::string::npos) {
      encoding = OtlpEncoding::kJson;
    } else {
      return OtelError(400, "Invalid content type");
    }

    auto conversion = ConvertOtlpTraces(req.body, encoding, NowMicros());
    if (!conversion.ok()) {
      return OtelError(400,
                       encoding == OtlpEncoding::kProtobuf ? "Failed to parse OTel Protobuf Trace"
                                                           : "Failed to parse OTel JSON Trace",
                       std::string(conversion.status().message()));
    }

    DecodeOptions options;
    options.sdk_name = req.Header("x-langfuse-sdk-name");
    options.sdk_version = req.Header("x-langfuse-sdk-version");
    OtlpDecoded decoded = DecodeOtlpEvents(*std::move(conversion), options);
    size_t events = decoded.events.size();
    if (!decoded.events.empty()) {
      absl::Status s = d_.ingest->Accept(auth->project_id, std::move(decoded.events));
      if (!s.ok()) return StatusResponse(s);
    }
    if (decoded.rejected_spans > 0) {
      LogInfo("otel export with rejected spans", {{"project", auth->project_id},
                                                  {"accepted", decoded.accepted_spans},
                                                  {"rejected", decoded.rejected_spans},
                                                  {"reason", decoded.error_message}});
    } else {
      LogDebug(
          "ingested otel export",
          {{"project", auth->project_id}, {"spans", decoded.accepted_spans}, {"events", events}});
    }
    return ExportResponse(encoding, decoded);
  }

 private:
  PublicApiDeps d_;
};

}  // namespace

void RegisterOtelApi(Router& router, PublicApiDeps deps) {
  auto api = std::make_shared<OtelApi>(deps);
  auto handler = [api](HttpRequest& req, const PathParams&) { return api->Traces(req); };
  router.Add("POST", "/api/public/otel/v1/traces", handler);
  router.Add("POST", "/v1/traces", handler);
}

}  // namespace loupe
