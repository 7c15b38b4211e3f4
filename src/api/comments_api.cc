#include "api/comments_api.h"

#include <memory>

#include "api/json_views.h"
#include "api/request_util.h"
#include "api/responses.h"
#include "common/hash.h"
#include "common/status_macros.h"
#include "common/time_util.h"

namespace loupe {
namespace {

namespace json = boost::json;

constexpr size_t kMaxCommentLength = 5000;

json::object CommentJson(const CommentRecord& c) {
  json::object o;
  o["id"] = c.id;
  o["projectId"] = c.project_id;
  o["createdAt"] = FormatIsoMillis(c.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(c.updated_at_ms);
  o["objectType"] = c.object_type;
  o["objectId"] = c.object_id;
  o["content"] = c.content;
  o["authorUserId"] = OptionalJson(c.author_user_id);
  return o;
}

std::string Trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t\n\r"));
  s.erase(s.find_last_not_of(" \t\n\r") + 1);
  return s;
}

class CommentsApi {
 public:
  explicit CommentsApi(CommentsApiDeps deps) : d_(std::move(deps)) {}

  HttpResponse Create(HttpRequest& req) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req);
    if (!body.ok()) return StatusResponse(body.status());
    BodyFields f(*body);
    // The project comes from the key; the body's projectId is required by
    // the schema but, as in Langfuse, not used.
    f.String("projectId", true);
    CommentRecord c;
    c.object_type =
        f.Enum("objectType", {"TRACE", "OBSERVATION", "SESSION", "PROMPT"}, true).value_or("");
    c.object_id = f.String("objectId", true, 1).value_or("");
    c.content = Trim(f.String("content", true).value_or(""));
    if (f.ok() && c.content.empty())
      f.Fail("content", "String must contain at least 1 character(s)");
    if (c.content.size() > kMaxCommentLength) {
      f.Fail("content", "String must contain at most 5000 character(s)");
    }
    c.author_user_id = f.String("authorUserId", false);
    if (!f.ok()) return StatusResponse(f.status());

    absl::Status exists = CheckObjectExists(auth->project_id, c.object_type, c.object_id);
    if (!exists.ok()) return StatusResponse(exists);
    if (c.author_user_id) {
      auto member = d_.meta->GetOrgMembership(auth->org_id, *c.author_user_id);
      if (!member.ok()) return StatusResponse(member.status());
      if (!*member) {
        return InvalidRequest("authorUserId: User " + *c.author_user_id +
                              " is not a member of the organization of this project");
      }
    }
    c.id = NewUuid();
    c.project_id = auth->project_id;
    c.created_at_ms = c.updated_at_ms = NowMillis();
    if (absl::Status s = d_.comments->Create(c); !s.ok()) return StatusResponse(s);
    json::object o;
    o["id"] = c.id;
    return JsonResponse(200, o);
  }

  HttpResponse List(HttpRequest& req) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto page = ParsePageParams(req);
    if (!page.ok()) return StatusResponse(page.status());
    CommentQuery q;
    q.page = {page->page, page->limit};
    auto param = [&](const char* key) -> std::optional<std::string> {
      const std::string* v = req.Query(key);
      return v && !v->empty() ? std::optional<std::string>(*v) : std::nullopt;
    };
    q.object_type = param("objectType");
    q.object_id = param("objectId");
    q.author_user_id = param("authorUserId");
    if (q.object_type && *q.object_type != "TRACE" && *q.object_type != "OBSERVATION" &&
        *q.object_type != "SESSION" && *q.object_type != "PROMPT") {
      return InvalidRequestData(
          "objectType: Invalid enum value. Expected 'TRACE' | 'OBSERVATION' | 'SESSION' | "
          "'PROMPT', received '" +
          *q.object_type + "'");
    }
    auto result = d_.comments->List(auth->project_id, q);
    if (!result.ok()) return StatusResponse(result.status());
    json::array data;
    for (const CommentRecord& c : result->items) data.push_back(CommentJson(c));
    json::object out;
    out["data"] = std::move(data);
    out["meta"] = MetaJson(page->page, page->limit, result->total_items);
    return JsonResponse(200, out);
  }

  HttpResponse Get(HttpRequest& req, const PathParams& p) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto comment = d_.comments->Get(auth->project_id, p.at("commentId"));
    if (!comment.ok()) return StatusResponse(comment.status());
    if (!*comment) {
      return ErrorResponse(404, "LangfuseNotFoundError",
                           "Comment not found within authorized project");
    }
    return JsonResponse(200, CommentJson(**comment));
  }

 private:
  // kNotFound with Langfuse's message when the commented object is missing.
  absl::Status CheckObjectExists(const std::string& project_id, const std::string& type,
                                 const std::string& id) {
    bool found = false;
    if (type == "TRACE") {
      ASSIGN_OR_RETURN(auto t, d_.events->GetTrace(project_id, id));
      found = t.has_value();
    } else if (type == "OBSERVATION") {
      ASSIGN_OR_RETURN(auto o, d_.events->GetObservation(project_id, id));
      found = o.has_value();
    } else if (type == "SESSION") {
      ASSIGN_OR_RETURN(auto s, d_.events->GetSession(project_id, id));
      found = s.has_value();
    } else if (type == "PROMPT" && d_.prompt_exists) {
      ASSIGN_OR_RETURN(found, d_.prompt_exists(project_id, id));
    }
    if (found) return absl::OkStatus();
    if (type == "TRACE" || type == "OBSERVATION") {
      return absl::NotFoundError("Reference object, " + type + ": " + id +
                                 " not found. Skipping creating comment.");
    }
    const char* model = type == "SESSION" ? "traceSession" : "prompt";
    return absl::NotFoundError(std::string("No ") + model + " with id " + id + " in project " +
                               project_id);
  }

  CommentsApiDeps d_;
};

}  // namespace

void RegisterCommentsApi(Router& r, CommentsApiDeps deps) {
  auto api = std::make_shared<CommentsApi>(std::move(deps));
  r.Add("POST", "/api/public/comments",
        [api](HttpRequest& req, const PathParams&) { return api->Create(req); });
  r.Add("GET", "/api/public/comments",
        [api](HttpRequest& req, const PathParams&) { return api->List(req); });
  r.Add("GET", "/api/public/comments/{commentId}",
        [api](HttpRequest& req, const PathParams& p) { return api->Get(req, p); });
}

}  // namespace loupe
