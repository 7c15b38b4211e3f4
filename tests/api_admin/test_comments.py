"""Comments (/api/public/comments) on traces, observations, sessions and prompts."""

from __future__ import annotations

import pytest

from api_admin.helpers import assert_error
from integration.harness import PROJECT_ID, event, iso, now_utc, uid


@pytest.fixture
def trace(api):
    """A trace with one span, in a session: (trace id, observation id, session id)."""
    trace_id, span_id, session_id = uid("t"), uid("s"), uid("session")
    ts = iso(now_utc())
    api.ingest_ok([
        event("trace-create", {"id": trace_id, "sessionId": session_id}, timestamp=ts),
        event("span-create", {"id": span_id, "traceId": trace_id, "startTime": ts}, timestamp=ts),
    ])
    return trace_id, span_id, session_id


def comment(api, object_type, object_id, content="looks good", **extra):
    body = {"projectId": PROJECT_ID, "objectType": object_type, "objectId": object_id,
            "content": content, **extra}
    r = api.post("/api/public/comments", json=body)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"id"}
    return r.json()["id"]


def test_comment_on_each_kind_of_object(api, trace, owner_id):
    trace_id, span_id, session_id = trace
    cid = comment(api, "TRACE", trace_id, "  **markdown** works  ", authorUserId=owner_id)
    got = api.get_json(f"/api/public/comments/{cid}")
    assert got["id"] == cid and got["projectId"] == PROJECT_ID
    assert got["objectType"] == "TRACE" and got["objectId"] == trace_id
    assert got["content"] == "**markdown** works"
    assert got["authorUserId"] == owner_id
    assert got["createdAt"].endswith("Z") and got["updatedAt"].endswith("Z")

    obs = comment(api, "OBSERVATION", span_id)
    ses = comment(api, "SESSION", session_id)
    assert api.get_json(f"/api/public/comments/{obs}")["authorUserId"] is None

    on_trace = api.get_json("/api/public/comments", {"objectType": "TRACE", "objectId": trace_id})
    assert [c["id"] for c in on_trace["data"]] == [cid]
    assert on_trace["meta"] == {"page": 1, "limit": 50, "totalItems": 1, "totalPages": 1}
    on_session = api.get_json("/api/public/comments", {"objectType": "SESSION", "objectId": session_id})
    assert [c["id"] for c in on_session["data"]] == [ses]
    by_author = api.list_all("/api/public/comments", {"authorUserId": owner_id})
    assert cid in {c["id"] for c in by_author} and obs not in {c["id"] for c in by_author}


def test_comment_on_a_prompt_version(api, fresh_project):
    name = uid("commented-prompt")
    versions = []
    for text in ("v1 {{x}}", "v2 {{x}}"):
        r = api.post("/api/public/v2/prompts", json={"type": "text", "name": name, "prompt": text})
        assert r.status_code == 201, r.text
        versions.append(r.json())
    first = versions[0]["id"]
    cid = comment(api, "PROMPT", first, "wording is off")
    got = api.get_json(f"/api/public/comments/{cid}")
    assert (got["objectType"], got["objectId"], got["content"]) == ("PROMPT", first, "wording is off")
    listed = api.get_json("/api/public/comments", {"objectType": "PROMPT", "objectId": first})
    assert [c["id"] for c in listed["data"]] == [cid]
    assert api.get_json("/api/public/comments",
                        {"objectType": "PROMPT", "objectId": versions[1]["id"]})["data"] == []

    # A prompt is found by the id of a version, not by its name, and only in its own project.
    r = api.post("/api/public/comments", json={"projectId": PROJECT_ID, "objectType": "PROMPT",
                                               "objectId": name, "content": "x"})
    body = assert_error(r, 404)
    assert body["message"] == f"No prompt with id {name} in project {PROJECT_ID}"
    _, papi = fresh_project
    r = papi.post("/api/public/comments", json={"projectId": "x", "objectType": "PROMPT",
                                                "objectId": first, "content": "x"})
    assert_error(r, 404)
    # A deleted prompt can no longer be commented on.
    assert api.delete(f"/api/public/v2/prompts/{name}", params={"version": 1}).status_code == 204
    r = api.post("/api/public/comments", json={"projectId": PROJECT_ID, "objectType": "PROMPT",
                                               "objectId": first, "content": "x"})
    assert_error(r, 404)


def test_missing_objects_are_404(api):
    for object_type in ("TRACE", "OBSERVATION", "SESSION", "PROMPT"):
        r = api.post("/api/public/comments", json={"projectId": PROJECT_ID, "objectType": object_type,
                                                   "objectId": uid("missing"), "content": "x"})
        assert_error(r, 404)


def test_objects_of_other_projects_are_not_visible(api, trace, fresh_project):
    _, papi = fresh_project
    r = papi.post("/api/public/comments", json={"projectId": "x", "objectType": "TRACE",
                                                "objectId": trace[0], "content": "x"})
    assert_error(r, 404)
    cid = comment(api, "TRACE", trace[0])
    assert_error(papi.get(f"/api/public/comments/{cid}"), 404)


def test_author_must_belong_to_the_organization(api, trace):
    r = api.post("/api/public/comments", json={"projectId": PROJECT_ID, "objectType": "TRACE",
                                               "objectId": trace[0], "content": "x",
                                               "authorUserId": "not-a-member"})
    assert_error(r, 400, "authorUserId")


@pytest.mark.parametrize("change, fragment", [
    ({"projectId": None}, "projectId"),
    ({"objectType": "DATASET"}, "objectType"),
    ({"objectType": None}, "objectType"),
    ({"objectId": None}, "objectId"),
    ({"content": None}, "content"),
    ({"content": "   "}, "content"),
    ({"content": "x" * 5001}, "content"),
    ({"content": 5}, "content"),
    ({"authorUserId": 5}, "authorUserId"),
])
def test_create_rejects_bad_input(api, trace, change, fragment):
    body = {"projectId": PROJECT_ID, "objectType": "TRACE", "objectId": trace[0], "content": "x"}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(api.post("/api/public/comments", json=body), 400, fragment)


def test_list_pagination_and_bad_queries(fresh_project):
    _, papi = fresh_project
    trace_id = uid("t")
    papi.ingest_ok([event("trace-create", {"id": trace_id}, timestamp=iso(now_utc()))])
    ids = [comment(papi, "TRACE", trace_id, f"c{i}") for i in range(3)]
    body = papi.get_json("/api/public/comments", {"limit": 2, "page": 2})
    assert body["meta"] == {"page": 2, "limit": 2, "totalItems": 3, "totalPages": 2}
    assert [c["id"] for c in body["data"]] == ids[2:]
    assert_error(papi.get("/api/public/comments", params={"objectType": "trace"}), 400, "objectType")
    assert_error(papi.get("/api/public/comments", params={"limit": 0}), 400, "limit")
    assert papi.get_json("/api/public/comments", {"unknownParam": "x"})["meta"]["totalItems"] == 3


def test_unknown_comment_and_auth(api, org_api):
    assert_error(api.get("/api/public/comments/nope"), 404)
    assert_error(org_api.get("/api/public/comments"), 403)
    assert_error(api.get("/api/public/comments", auth=False), 401)
