#pragma once

// The one place where outcomes become HTTP status codes and error bodies
// (Langfuse's shapes: {"message", "error"}).

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "boost/json.hpp"
#include "http/http_types.h"

namespace loupe {

HttpResponse JsonResponse(int status, const boost::json::value& body);

// {"message": message, "error": error}
HttpResponse ErrorResponse(int status, std::string_view error, std::string_view message);

// InvalidArgument→400, Unauthenticated→401, PermissionDenied→403,
// NotFound→404, AlreadyExists/FailedPrecondition→409, ResourceExhausted→503
// with Retry-After (the queue is full; SDKs retry), Unavailable→503, anything
// else→500 (a bug or a broken disk, never client input).
HttpResponse StatusResponse(const absl::Status& status);

// 400 for a query/body validation problem, Langfuse's zod-style body.
HttpResponse InvalidRequest(std::string_view message);

}  // namespace loupe
