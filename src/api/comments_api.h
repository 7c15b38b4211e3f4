#pragma once

// /api/public/comments: comments on the traces, observations, sessions and
// prompts of the caller's project (project keys only). A comment can only
// be attached to an object that exists (404 otherwise), and its author, when
// given, must be a member of the project's organization (400 otherwise).

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "api/router.h"
#include "auth/api_key_auth.h"
#include "storage/comment_store.h"
#include "storage/event_store.h"
#include "storage/meta_store.h"

namespace loupe {

struct CommentsApiDeps {
  ApiKeyAuthenticator* auth = nullptr;
  CommentStore* comments = nullptr;
  EventStore* events = nullptr;
  MetaStore* meta = nullptr;
  // Whether the project has a prompt (version) with this id; comments on
  // prompts are refused as "not found" while this is unset.
  std::function<absl::StatusOr<bool>(const std::string& project_id, const std::string& prompt_id)>
      prompt_exists;
};

void RegisterCommentsApi(Router& router, CommentsApiDeps deps);

}  // namespace loupe
