#include "api/annotation_queues_api.h"

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

constexpr const char* kQueueNotFound = "Annotation queue not found";
constexpr const char* kItemNotFound = "Annotation queue item not found";

json::object QueueJson(const AnnotationQueueRecord& q) {
  json::object o;
  o["id"] = q.id;
  o["name"] = q.name;
  o["description"] = OptionalJson(q.description);
  json::array ids;
  for (const std::string& id : q.score_config_ids) ids.emplace_back(id);
  o["scoreConfigIds"] = std::move(ids);
  o["createdAt"] = FormatIsoMillis(q.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(q.updated_at_ms);
  return o;
}

json::object ItemJson(const AnnotationQueueItemRecord& i) {
  json::object o;
  o["id"] = i.id;
  o["queueId"] = i.queue_id;
  o["objectId"] = i.object_id;
  o["objectType"] = i.object_type;
  o["status"] = i.status;
  o["completedAt"] =
      i.completed_at_ms ? json::value(FormatIsoMillis(*i.completed_at_ms)) : json::value(nullptr);
  o["createdAt"] = FormatIsoMillis(i.created_at_ms);
  o["updatedAt"] = FormatIsoMillis(i.updated_at_ms);
  return o;
}

class AnnotationQueuesApi {
 public:
  explicit AnnotationQueuesApi(AnnotationQueuesApiDeps deps) : d_(deps) {}

  // ------------------------------------------------------------- queues

  HttpResponse CreateQueue(HttpRequest& req) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req);
    if (!body.ok()) return StatusResponse(body.status());
    BodyFields f(*body);
    AnnotationQueueRecord q;
    q.name = f.String("name", true, 1).value_or("");
    q.description = f.String("description", false);
    q.score_config_ids =
        f.StringArray("scoreConfigIds", true, 1).value_or(std::vector<std::string>());
    if (!f.ok()) return StatusResponse(f.status());
    for (const std::string& id : q.score_config_ids) {
      auto config = d_.score_configs->Get(auth->project_id, id);
      if (!config.ok()) return StatusResponse(config.status());
      if (!*config) {
        return InvalidRequest(
            "At least one of the score config IDs cannot be found for the given project.");
      }
    }
    q.id = NewUuid();
    q.project_id = auth->project_id;
    q.created_at_ms = q.updated_at_ms = NowMillis();
    if (absl::Status s = d_.queues->CreateQueue(q); !s.ok()) return StatusResponse(s);
    return JsonResponse(200, QueueJson(q));
  }

  HttpResponse ListQueues(HttpRequest& req) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto page = ParsePageParams(req);
    if (!page.ok()) return StatusResponse(page.status());
    auto result = d_.queues->ListQueues(auth->project_id, {page->page, page->limit});
    if (!result.ok()) return StatusResponse(result.status());
    json::array data;
    for (const AnnotationQueueRecord& q : result->items) data.push_back(QueueJson(q));
    json::object out;
    out["data"] = std::move(data);
    out["meta"] = MetaJson(page->page, page->limit, result->total_items);
    return JsonResponse(200, out);
  }

  HttpResponse GetQueue(HttpRequest& req, const PathParams& p) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto queue = FindQueue(*auth, p);
    if (!queue.ok()) return StatusResponse(queue.status());
    return JsonResponse(200, QueueJson(*queue));
  }

  // ------------------------------------------------------------- items

  HttpResponse CreateItem(HttpRequest& req, const PathParams& p) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req);
    if (!body.ok()) return StatusResponse(body.status());
    BodyFields f(*body);
    AnnotationQueueItemRecord i;
    i.object_id = f.String("objectId", true, 1).value_or("");
    i.object_type = f.Enum("objectType", {"TRACE", "OBSERVATION", "SESSION"}, true).value_or("");
    i.status = f.Enum("status", {"PENDING", "COMPLETED"}, false).value_or("PENDING");
    if (!f.ok()) return StatusResponse(f.status());
    auto queue = FindQueue(*auth, p);
    if (!queue.ok()) return StatusResponse(queue.status());
    i.id = NewUuid();
    i.project_id = auth->project_id;
    i.queue_id = queue->id;
    i.created_at_ms = i.updated_at_ms = NowMillis();
    if (i.status == "COMPLETED") i.completed_at_ms = i.created_at_ms;
    if (absl::Status s = d_.queues->CreateItem(i); !s.ok()) return StatusResponse(s);
    return JsonResponse(200, ItemJson(i));
  }

  HttpResponse ListItems(HttpRequest& req, const PathParams& p) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto page = ParsePageParams(req);
    if (!page.ok()) return StatusResponse(page.status());
    std::optional<std::string> status;
    if (const std::string* s = req.Query("status"); s && !s->empty()) {
      if (*s != "PENDING" && *s != "COMPLETED") {
        return InvalidRequestData(
            "status: Invalid enum value. Expected 'PENDING' | "
            "'COMPLETED', received '" +
            *s + "'");
      }
      status = *s;
    }
    auto queue = FindQueue(*auth, p);
    if (!queue.ok()) return StatusResponse(queue.status());
    auto result =
        d_.queues->ListItems(auth->project_id, queue->id, status, {page->page, page->limit});
    if (!result.ok()) return StatusResponse(result.status());
    json::array data;
    for (const AnnotationQueueItemRecord& i : result->items) data.push_back(ItemJson(i));
    json::object out;
    out["data"] = std::move(data);
    out["meta"] = MetaJson(page->page, page->limit, result->total_items);
    return JsonResponse(200, out);
  }

  HttpResponse GetItem(HttpRequest& req, const PathParams& p) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto item = FindItem(*auth, p);
    if (!item.ok()) return StatusResponse(item.status());
    return JsonResponse(200, ItemJson(*item));
  }

  HttpResponse UpdateItem(HttpRequest& req, const PathParams& p) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto body = ParseJsonObjectBody(req);
    if (!body.ok()) return StatusResponse(body.status());
    BodyFields f(*body);
    std::optional<std::string> status = f.Enum("status", {"PENDING", "COMPLETED"}, false);
    if (!f.ok()) return StatusResponse(f.status());
    auto item = FindItem(*auth, p);
    if (!item.ok()) return StatusResponse(item.status());
    item->updated_at_ms = NowMillis();
    if (status) {
      item->status = *status;
      // Langfuse stamps completion on every update to COMPLETED and keeps
      // the old stamp when an item goes back to PENDING.
      if (*status == "COMPLETED") item->completed_at_ms = item->updated_at_ms;
    }
    if (absl::Status s = d_.queues->UpdateItem(*item); !s.ok()) return StatusResponse(s);
    return JsonResponse(200, ItemJson(*item));
  }

  HttpResponse DeleteItem(HttpRequest& req, const PathParams& p) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto queue = FindQueue(*auth, p);
    if (!queue.ok()) return StatusResponse(queue.status());
    auto deleted = d_.queues->DeleteItem(auth->project_id, queue->id, p.at("itemId"));
    if (!deleted.ok()) return StatusResponse(deleted.status());
    if (!*deleted) return ErrorResponse(404, "LangfuseNotFoundError", kItemNotFound);
    json::object o;
    o["success"] = true;
    o["message"] = "Annotation queue item deleted successfully";
    return JsonResponse(200, o);
  }

  // ------------------------------------------------------------- assignments

  HttpResponse Assign(HttpRequest& req, const PathParams& p) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto user_id = ParseUserId(req);
    if (!user_id.ok()) return StatusResponse(user_id.status());
    auto queue = FindQueue(*auth, p);
    if (!queue.ok()) return StatusResponse(queue.status());
    auto access = HasProjectAccess(*auth, *user_id);
    if (!access.ok()) return StatusResponse(access.status());
    if (!*access) {
      return ErrorResponse(404, "LangfuseNotFoundError",
                           "User not found or not authorized for this project");
    }
    absl::Status s = d_.queues->Assign(auth->project_id, queue->id, *user_id);
    if (!s.ok()) return StatusResponse(s);
    json::object o;
    o["userId"] = *user_id;
    o["projectId"] = auth->project_id;
    o["queueId"] = queue->id;
    return JsonResponse(200, o);
  }

  HttpResponse Unassign(HttpRequest& req, const PathParams& p) {
    auto auth = AuthenticateProjectKey(*d_.auth, req);
    if (!auth.ok()) return StatusResponse(auth.status());
    auto user_id = ParseUserId(req);
    if (!user_id.ok()) return StatusResponse(user_id.status());
    auto queue = FindQueue(*auth, p);
    if (!queue.ok()) return StatusResponse(queue.status());
    // Removing an assignment that does not exist succeeds, as in Langfuse.
    absl::Status s = d_.queues->Unassign(auth->project_id, queue->id, *user_id);
    if (!s.ok()) return StatusResponse(s);
    json::object o;
    o["success"] = true;
    return JsonResponse(200, o);
  }

 private:
  absl::StatusOr<AnnotationQueueRecord> FindQueue(const AuthContext& auth, const PathParams& p) {
    ASSIGN_OR_RETURN(std::optional<AnnotationQueueRecord> q,
                     d_.queues->GetQueue(auth.project_id, p.at("queueId")));
    if (!q) return absl::NotFoundError(kQueueNotFound);
    return *q;
  }

  absl::StatusOr<AnnotationQueueItemRecord> FindItem(const AuthContext& auth, const PathParams& p) {
    ASSIGN_OR_RETURN(AnnotationQueueRecord queue, FindQueue(auth, p));
    ASSIGN_OR_RETURN(std::optional<AnnotationQueueItemRecord> item,
                     d_.queues->GetItem(auth.project_id, queue.id, p.at("itemId")));
    if (!item) return absl::NotFoundError(kItemNotFound);
    return *item;
  }

  static absl::StatusOr<std::string> ParseUserId(const HttpRequest& req) {
    ASSIGN_OR_RETURN(json::object body, ParseJsonObjectBody(req));
    BodyFields f(body);
    std::optional<std::string> user_id = f.String("userId", true, 1);
    RETURN_IF_ERROR(f.status());
    return *user_id;
  }

  // A project role decides when there is one; else the organization role.
  // NONE means no access.
  absl::StatusOr<bool> HasProjectAccess(const AuthContext& auth, const std::string& user_id) {
    ASSIGN_OR_RETURN(auto project_role, d_.meta->GetProjectMembership(auth.project_id, user_id));
    if (project_role) return project_role->role != "NONE";
    ASSIGN_OR_RETURN(auto org_role, d_.meta->GetOrgMembership(auth.org_id, user_id));
    return org_role.has_value() && org_role->role != "NONE";
  }

  AnnotationQueuesApiDeps d_;
};

}  // namespace

void RegisterAnnotationQueuesApi(Router& r, AnnotationQueuesApiDeps deps) {
  auto api = std::make_shared<AnnotationQueuesApi>(deps);
  auto simple = [api](HttpResponse (AnnotationQueuesApi::*fn)(HttpRequest&)) {
    return [api, fn](HttpRequest& req, const PathParams&) { return ((*api).*fn)(req); };
  };
  auto with_params =
      [api](HttpResponse (AnnotationQueuesApi::*fn)(HttpRequest&, const PathParams&)) {
        return [api, fn](HttpRequest& req, const PathParams& p) { return ((*api).*fn)(req, p); };
      };
  const std::string base = "/api/public/annotation-queues";
  r.Add("GET", base, simple(&AnnotationQueuesApi::ListQueues));
  r.Add("POST", base, simple(&AnnotationQueuesApi::CreateQueue));
  r.Add("GET", base + "/{queueId}", with_params(&AnnotationQueuesApi::GetQueue));
  r.Add("GET", base + "/{queueId}/items", with_params(&AnnotationQueuesApi::ListItems));
  r.Add("POST", base + "/{queueId}/items", with_params(&AnnotationQueuesApi::CreateItem));
  r.Add("GET", base + "/{queueId}/items/{itemId}", with_params(&AnnotationQueuesApi::GetItem));
  r.Add("PATCH", base + "/{queueId}/items/{itemId}", with_params(&AnnotationQueuesApi::UpdateItem));
  r.Add("DELETE", base + "/{queueId}/items/{itemId}",
        with_params(&AnnotationQueuesApi::DeleteItem));
  r.Add("POST", base + "/{queueId}/assignments", with_params(&AnnotationQueuesApi::Assign));
  r.Add("DELETE", base + "/{queueId}/assignments", with_params(&AnnotationQueuesApi::Unassign));
}

}  // namespace loupe
