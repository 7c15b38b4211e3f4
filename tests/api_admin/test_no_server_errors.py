"""Whatever a client sends to the management routes, the answer is never a
5xx: every route gets malformed bodies, wrong types in every known field and
junk query parameters, with a project key, an organization key and no key.
Everything runs in a project of its own, since some of the bodies are valid."""

from __future__ import annotations

import itertools

import pytest


ROUTES = [
    ("POST", "/api/public/score-configs"),
    ("GET", "/api/public/score-configs"),
    ("GET", "/api/public/score-configs/{id}"),
    ("PATCH", "/api/public/score-configs/{id}"),
    ("POST", "/api/public/models"),
    ("GET", "/api/public/models"),
    ("GET", "/api/public/models/{id}"),
    ("DELETE", "/api/public/models/{id}"),
    ("POST", "/api/public/comments"),
    ("GET", "/api/public/comments"),
    ("GET", "/api/public/comments/{id}"),
    ("GET", "/api/public/annotation-queues"),
    ("POST", "/api/public/annotation-queues"),
    ("GET", "/api/public/annotation-queues/{id}"),
    ("GET", "/api/public/annotation-queues/{id}/items"),
    ("POST", "/api/public/annotation-queues/{id}/items"),
    ("GET", "/api/public/annotation-queues/{id}/items/{id}"),
    ("PATCH", "/api/public/annotation-queues/{id}/items/{id}"),
    ("DELETE", "/api/public/annotation-queues/{id}/items/{id}"),
    ("POST", "/api/public/annotation-queues/{id}/assignments"),
    ("DELETE", "/api/public/annotation-queues/{id}/assignments"),
    ("PUT", "/api/public/llm-connections"),
    ("GET", "/api/public/llm-connections"),
    ("DELETE", "/api/public/llm-connections/{id}"),
    ("POST", "/api/public/projects"),
    ("PUT", "/api/public/projects/{project}"),
    ("GET", "/api/public/projects/{project}/apiKeys"),
    ("POST", "/api/public/projects/{project}/apiKeys"),
    ("DELETE", "/api/public/projects/{project}/apiKeys/{id}"),
    ("GET", "/api/public/organizations/projects"),
    ("GET", "/api/public/organizations/apiKeys"),
    ("GET", "/api/public/organizations/memberships"),
    ("PUT", "/api/public/organizations/memberships"),
    ("GET", "/api/public/projects/{project}/memberships"),
    ("PUT", "/api/public/projects/{project}/memberships"),
    ("DELETE", "/api/public/projects/{project}/memberships"),
]

FIELDS = ["name", "dataType", "categories", "minValue", "maxValue", "description", "isArchived",
          "modelName", "matchPattern", "startDate", "unit", "inputPrice", "outputPrice", "totalPrice",
          "pricingTiers", "tokenizerId", "tokenizerConfig", "projectId", "objectType", "objectId",
          "content", "authorUserId", "scoreConfigIds", "status", "userId", "role", "provider",
          "adapter", "secretKey", "baseURL", "customModels", "withDefaultModels", "extraHeaders",
          "config", "retention", "metadata", "note", "publicKey"]

WEIRD_VALUES = [None, True, 0, -1, 1.5, 1e308, -1e308, 2**70, "", "x" * 3000, "\u0000\ud7ff\u2028",
                [], [None], [{"label": None, "value": "x"}], {}, {"a": {"b": [1]}}]

RAW_BODIES = ["", "{", "null", "[]", "\"text\"", "123", "{\"a\":", "\x00\x01", "{}" * 3, "[" * 500]

QUERIES = [{}, {"page": "-1"}, {"page": "0"}, {"limit": "abc"}, {"limit": "1000000000000"},
           {"page": "1e3"}, {"status": "X"}, {"objectType": "x"}, {"filter": "["}]


def bodies():
    for raw in RAW_BODIES:
        yield {"data": raw.encode("utf-8", "surrogatepass"),
               "headers": {"Content-Type": "application/json"}}
    for value in WEIRD_VALUES:
        yield {"json": {field: value for field in FIELDS}}
    # Plausible bodies with one field broken at a time.
    base = {"name": "a valid name", "dataType": "NUMERIC", "modelName": "m", "matchPattern": "m",
            "inputPrice": 1, "projectId": "p", "objectType": "TRACE", "objectId": "x",
            "content": "c", "scoreConfigIds": ["x"], "userId": "u", "role": "MEMBER",
            "provider": "p", "adapter": "openai", "secretKey": "sk-lf-1"}
    for field, value in itertools.product(FIELDS, [None, 7, [], {}, "?"]):
        yield {"json": {**base, field: value}}


@pytest.mark.parametrize("method, template", ROUTES)
def test_route_never_answers_5xx(fresh_project, org_api, method, template):
    project, api = fresh_project
    path = template.replace("{project}", project["id"]).replace("{id}", "does-not-exist")
    for client in (api, org_api):
        for query in QUERIES:
            r = client.request(method, path, params=query)
            assert r.status_code < 500, (method, path, query, r.status_code, r.text[:300])
        for kw in bodies():
            r = client.request(method, path, **kw)
            assert r.status_code < 500, (method, path, kw, r.status_code, r.text[:300])
            if r.status_code >= 400:
                body = r.json()
                assert body.get("message") or body.get("error"), (method, path, r.text[:300])
    r = api.request(method, path, auth=False)
    assert r.status_code == 401, (method, path, r.text[:300])


ADMIN_ROUTES = [
    ("GET", "/api/admin/organizations"),
    ("POST", "/api/admin/organizations"),
    ("GET", "/api/admin/organizations/{id}"),
    ("PUT", "/api/admin/organizations/{id}"),
    ("DELETE", "/api/admin/organizations/{id}"),
    ("GET", "/api/admin/organizations/{id}/apiKeys"),
    ("POST", "/api/admin/organizations/{id}/apiKeys"),
    ("DELETE", "/api/admin/organizations/{id}/apiKeys/{id}"),
]


@pytest.mark.parametrize("method, template", ADMIN_ROUTES)
def test_admin_route_never_answers_5xx(admin_server, method, template):
    from api_admin.helpers import ADMIN_API_KEY
    from integration.harness import Api

    admin = Api(admin_server.url, auth=f"Bearer {ADMIN_API_KEY}")
    path = template.replace("{id}", "does-not-exist")
    for kw in bodies():
        r = admin.request(method, path, **kw)
        assert r.status_code < 500, (method, path, kw, r.status_code, r.text[:300])
