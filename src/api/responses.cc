#include "api/responses.h"

#include "common/log.h"

namespace loupe {

namespace json = boost::json;

HttpResponse JsonResponse(int status, const json::value& body) {
  return HttpResponse::Json(status, json::serialize(body));
}

HttpResponse ErrorResponse(int status, std::string_view error, std::string_view message) {
  json::object o;
  o["message"] = message;
  o["error"] = error;
  return JsonResponse(status, o);
}

HttpResponse InvalidRequest(std::string_view message) {
  return ErrorResponse(400, "InvalidRequestError", message);
}

HttpResponse StatusResponse(const absl::Status& status) {
  std::string msg(status.message());
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return JsonResponse(200, json::object());
    case absl::StatusCode::kInvalidArgument:
      return ErrorResponse(400, "InvalidRequestError", msg);
    case absl::StatusCode::kUnauthenticated: {
      json::object o;
      o["message"] = msg;
      return JsonResponse(401, o);
    }
    case absl::StatusCode::kPermissionDenied: {
      json::object o;
      o["message"] = msg;
      return JsonResponse(403, o);
    }
    case absl::StatusCode::kNotFound:
      return ErrorResponse(404, "LangfuseNotFoundError", msg);
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
      return ErrorResponse(409, "LangfuseConflictError", msg);
    // Busy, or a storage service down: SDKs retry a 503 after Retry-After.
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable: {
      HttpResponse r = ErrorResponse(503, "ServiceUnavailableError", msg);
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    default:
      LogError("internal error", {{"status", status.ToString()}});
      return ErrorResponse(500, "InternalServerError", "Internal Server Error");
  }
}

}  // namespace loupe
