"""Annotation queues, their items and assignments (/api/public/annotation-queues)."""

from __future__ import annotations

import pytest

from api_admin.helpers import assert_error
from integration.harness import uid

BASE = "/api/public/annotation-queues"


def config_id(api) -> str:
    r = api.post("/api/public/score-configs", json={"name": uid("c")[:30], "dataType": "NUMERIC"})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def new_queue(api, **body):
    body.setdefault("name", uid("queue"))
    body.setdefault("scoreConfigIds", [config_id(api)])
    r = api.post(BASE, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def new_item(api, queue_id, **body):
    body.setdefault("objectId", uid("t"))
    body.setdefault("objectType", "TRACE")
    r = api.post(f"{BASE}/{queue_id}/items", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_create_get_and_list_queues(fresh_project):
    _, papi = fresh_project
    c1, c2 = config_id(papi), config_id(papi)
    q = new_queue(papi, name="Review", description="weekly review", scoreConfigIds=[c1, c2])
    assert set(q) == {"id", "name", "description", "scoreConfigIds", "createdAt", "updatedAt"}
    assert q["name"] == "Review" and q["description"] == "weekly review"
    assert q["scoreConfigIds"] == [c1, c2]
    assert papi.get_json(f"{BASE}/{q['id']}") == q
    second = new_queue(papi)
    assert second["description"] is None
    body = papi.get_json(BASE, {"limit": 1})
    assert body["meta"] == {"page": 1, "limit": 1, "totalItems": 2, "totalPages": 2}
    assert body["data"][0]["id"] == second["id"]  # newest first
    assert_error(papi.post(BASE, json={"name": "Review", "scoreConfigIds": [c1]}), 409, "already exists")


@pytest.mark.parametrize("body, fragment", [
    ({"scoreConfigIds": ["x"]}, "name"),
    ({"name": "q"}, "scoreConfigIds"),
    ({"name": "q", "scoreConfigIds": []}, "scoreConfigIds"),
    ({"name": "q", "scoreConfigIds": [1]}, "scoreConfigIds"),
    ({"name": "q", "scoreConfigIds": ["no-such-config"]}, "score config"),
    ({"name": "q", "scoreConfigIds": "abc"}, "scoreConfigIds"),
    ({"name": "q", "description": 3, "scoreConfigIds": ["x"]}, "description"),
])
def test_create_queue_rejects_bad_input(api, body, fragment):
    assert_error(api.post(BASE, json=body), 400, fragment)


def test_items_lifecycle(api):
    q = new_queue(api)
    item = new_item(api, q["id"], objectType="OBSERVATION")
    assert set(item) == {"id", "queueId", "objectId", "objectType", "status", "completedAt",
                         "createdAt", "updatedAt"}
    assert item["status"] == "PENDING" and item["completedAt"] is None
    assert item["queueId"] == q["id"] and item["objectType"] == "OBSERVATION"
    done = new_item(api, q["id"], status="COMPLETED", objectType="SESSION")
    assert done["completedAt"] is not None

    path = f"{BASE}/{q['id']}/items"
    assert api.get_json(f"{path}/{item['id']}") == item
    assert [i["id"] for i in api.get_json(path, {"status": "PENDING"})["data"]] == [item["id"]]
    assert [i["id"] for i in api.get_json(path, {"status": "COMPLETED"})["data"]] == [done["id"]]
    assert api.get_json(path)["meta"]["totalItems"] == 2
    assert_error(api.get(path, params={"status": "DONE"}), 400, "status")

    r = api.patch(f"{path}/{item['id']}", json={"status": "COMPLETED"})
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["status"] == "COMPLETED" and patched["completedAt"] is not None
    assert patched["createdAt"] == item["createdAt"]
    assert_error(api.patch(f"{path}/{item['id']}", json={"status": "STARTED"}), 400, "status")

    r = api.delete(f"{path}/{item['id']}")
    assert r.status_code == 200 and r.json() == {"success": True,
                                                 "message": "Annotation queue item deleted successfully"}
    assert_error(api.get(f"{path}/{item['id']}"), 404)
    assert_error(api.delete(f"{path}/{item['id']}"), 404)
    assert_error(api.patch(f"{path}/{item['id']}", json={"status": "PENDING"}), 404)


def test_items_belong_to_their_queue(api):
    q1, q2 = new_queue(api), new_queue(api)
    item = new_item(api, q1["id"])
    assert_error(api.get(f"{BASE}/{q2['id']}/items/{item['id']}"), 404)
    assert_error(api.get(f"{BASE}/nope/items"), 404, "queue")
    assert_error(api.post(f"{BASE}/nope/items", json={"objectId": "x", "objectType": "TRACE"}), 404)
    assert_error(api.get(f"{BASE}/nope"), 404)


@pytest.mark.parametrize("body, fragment", [
    ({"objectType": "TRACE"}, "objectId"),
    ({"objectId": "x"}, "objectType"),
    ({"objectId": "x", "objectType": "PROMPT"}, "objectType"),
    ({"objectId": "x", "objectType": "TRACE", "status": "NEW"}, "status"),
])
def test_create_item_rejects_bad_input(api, body, fragment):
    q = new_queue(api)
    assert_error(api.post(f"{BASE}/{q['id']}/items", json=body), 400, fragment)


def test_assignments(api, owner_id):
    q = new_queue(api)
    path = f"{BASE}/{q['id']}/assignments"
    r = api.post(path, json={"userId": owner_id})
    assert r.status_code == 200, r.text
    assert r.json() == {"userId": owner_id, "projectId": "proj-loupe-test", "queueId": q["id"]}
    assert api.post(path, json={"userId": owner_id}).status_code == 200  # idempotent
    assert_error(api.post(path, json={"userId": "stranger"}), 404, "User")
    assert_error(api.post(path, json={}), 400, "userId")
    assert_error(api.post(f"{BASE}/nope/assignments", json={"userId": owner_id}), 404)
    r = api.delete(path, json={"userId": owner_id})
    assert r.status_code == 200 and r.json() == {"success": True}
    assert api.delete(path, json={"userId": owner_id}).json() == {"success": True}


def test_auth(api, org_api):
    assert_error(org_api.get(BASE), 403)
    assert_error(api.get(BASE, auth=False), 401)
