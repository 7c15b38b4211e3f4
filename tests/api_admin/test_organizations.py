"""The organization-key API: projects, their API keys (with lastUsedAt recorded and
expiresAt enforced), the organization's keys and memberships (contract §1.2 org-key
rules, §5)."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from api_admin.helpers import ORG_PUBLIC_KEY, USER_EMAIL, USER_NAME, assert_error
from integration.harness import AUTH_HINT, PROJECT_ID, Api, basic_auth, iso, now_utc, parse_iso, uid

ORG_ONLY = "Organization-scoped API key required"


def new_project(org_api, **body):
    body.setdefault("name", uid("project"))
    r = org_api.post("/api/public/projects", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def new_key(org_api, project_id, **body):
    r = org_api.post(f"/api/public/projects/{project_id}/apiKeys", json=body)
    assert r.status_code == 201, r.text
    return r.json()


# --------------------------------------------------------------------------- scoping


@pytest.mark.parametrize("method, path", [
    ("POST", "/api/public/projects"),
    ("PUT", f"/api/public/projects/{PROJECT_ID}"),
    ("DELETE", f"/api/public/projects/{PROJECT_ID}"),
    ("GET", f"/api/public/projects/{PROJECT_ID}/apiKeys"),
    ("POST", f"/api/public/projects/{PROJECT_ID}/apiKeys"),
    ("DELETE", f"/api/public/projects/{PROJECT_ID}/apiKeys/some-key"),
    ("GET", "/api/public/organizations/projects"),
    ("GET", "/api/public/organizations/apiKeys"),
    ("GET", "/api/public/organizations/memberships"),
    ("PUT", "/api/public/organizations/memberships"),
    ("DELETE", "/api/public/organizations/memberships"),
    ("GET", f"/api/public/projects/{PROJECT_ID}/memberships"),
    ("PUT", f"/api/public/projects/{PROJECT_ID}/memberships"),
    ("DELETE", f"/api/public/projects/{PROJECT_ID}/memberships"),
])
def test_org_routes_refuse_project_keys(api, method, path):
    assert_error(api.request(method, path, json={"name": "x", "userId": "u", "role": "MEMBER"}),
                 403, ORG_ONLY)
    assert_error(api.request(method, path, auth=False, json={}), 401)
    assert_error(api.request(method, path, auth=basic_auth(ORG_PUBLIC_KEY, "sk-lf-wrong"), json={}),
                 401)


def test_project_routes_refuse_org_keys(org_api):
    assert_error(org_api.get("/api/public/projects"), 403)
    assert_error(org_api.get("/api/public/traces"), 403, "organization key")
    r = org_api.ingest([])
    assert r.status_code in (401, 403), r.text


# --------------------------------------------------------------------------- projects


def test_create_update_list_and_delete_a_project(org_api, admin_server):
    p = new_project(org_api, name="  Alpha project  ", retention=30, metadata={"team": "search"})
    assert p["name"] == "Alpha project"
    assert p["retentionDays"] == 30 and p["metadata"] == {"team": "search"}
    assert p["organization"]["id"] == "org-loupe-test"

    listed = {x["id"]: x for x in org_api.get_json("/api/public/organizations/projects")["projects"]}
    assert PROJECT_ID in listed
    entry = listed[p["id"]]
    assert entry["name"] == "Alpha project" and entry["metadata"] == {"team": "search"}
    assert entry["createdAt"].endswith("Z") and entry["updatedAt"].endswith("Z")

    r = org_api.request("PUT", f"/api/public/projects/{p['id']}",
                        json={"name": "Alpha renamed", "retention": 0})
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["name"] == "Alpha renamed" and "retentionDays" not in updated
    assert updated["metadata"] == {"team": "search"}  # kept when omitted

    key = new_key(org_api, p["id"])
    papi = Api(admin_server.url, auth=basic_auth(key["publicKey"], key["secretKey"]))
    [own] = papi.get_json("/api/public/projects")["data"]
    assert own["id"] == p["id"] and own["name"] == "Alpha renamed"

    r = org_api.delete(f"/api/public/projects/{p['id']}")
    assert r.status_code == 202, r.text
    assert r.json()["success"] is True
    assert_error(papi.get("/api/public/projects"), 401)  # its keys are revoked at once
    listed = {x["id"] for x in org_api.get_json("/api/public/organizations/projects")["projects"]}
    assert p["id"] not in listed
    assert_error(org_api.delete(f"/api/public/projects/{p['id']}"), 404)
    assert_error(org_api.request("PUT", f"/api/public/projects/{p['id']}", json={"name": "again"}), 404)
    # The name is free again.
    new_project(org_api, name="Alpha renamed")


def test_project_metadata_may_be_a_json_string(org_api):
    p = new_project(org_api, metadata='{"a": 1}')
    assert p["metadata"] == {"a": 1}
    assert new_project(org_api)["metadata"] == {}


@pytest.mark.parametrize("body, fragment", [
    ({}, "project name"),
    ({"name": "ab"}, "project name"),
    ({"name": "x" * 61}, "project name"),
    ({"name": 123}, "project name"),
    ({"name": "valid name", "retention": 2}, "retention"),
    ({"name": "valid name", "retention": -1}, "retention"),
    ({"name": "valid name", "retention": 3.5}, "retention"),
    ({"name": "valid name", "retention": "30"}, "retention"),
    ({"name": "valid name", "metadata": "not json"}, "metadata"),
    ({"name": "valid name", "metadata": [1]}, "metadata"),
])
def test_create_project_rejects_bad_input(org_api, body, fragment):
    assert_error(org_api.post("/api/public/projects", json=body), 400, fragment)


def test_duplicate_project_name_conflicts(org_api):
    p = new_project(org_api)
    assert_error(org_api.post("/api/public/projects", json={"name": p["name"]}), 409, "already exists")
    other = new_project(org_api)
    assert_error(org_api.request("PUT", f"/api/public/projects/{other['id']}", json={"name": p["name"]}),
                 409)


def test_unknown_projects_are_404(org_api):
    for method, path in [("PUT", "/api/public/projects/nope"), ("DELETE", "/api/public/projects/nope"),
                         ("GET", "/api/public/projects/nope/apiKeys"),
                         ("POST", "/api/public/projects/nope/apiKeys"),
                         ("DELETE", "/api/public/projects/nope/apiKeys/k"),
                         ("GET", "/api/public/projects/nope/memberships")]:
        assert_error(org_api.request(method, path, json={"name": "some name"}), 404)


# --------------------------------------------------------------------------- API keys


def test_project_api_keys_lifecycle(org_api, admin_server):
    p = new_project(org_api)
    key = new_key(org_api, p["id"], note="ci")
    assert key["publicKey"].startswith("pk-lf-") and key["secretKey"].startswith("sk-lf-")
    assert key["displaySecretKey"] == key["secretKey"][:6] + "..." + key["secretKey"][-4:]
    assert key["note"] == "ci" and key["createdAt"].endswith("Z")

    own = new_key(org_api, p["id"], publicKey="pk-lf-" + uid("own"), secretKey="sk-lf-" + uid("own"))
    keys = org_api.get_json(f"/api/public/projects/{p['id']}/apiKeys")["apiKeys"]
    assert [k["id"] for k in keys] == [key["id"], own["id"]]
    assert keys[0] == {"id": key["id"], "createdAt": key["createdAt"], "expiresAt": None,
                       "lastUsedAt": None, "note": "ci", "publicKey": key["publicKey"],
                       "displaySecretKey": key["displaySecretKey"]}
    assert all("secretKey" not in k for k in keys)

    papi = Api(admin_server.url, auth=basic_auth(own["publicKey"], own["secretKey"]))
    assert papi.get_json("/api/public/projects")["data"][0]["id"] == p["id"]
    # The new project starts empty.
    assert papi.get_json("/api/public/traces")["meta"]["totalItems"] == 0

    assert_error(org_api.post(f"/api/public/projects/{p['id']}/apiKeys",
                              json={"publicKey": own["publicKey"], "secretKey": "sk-lf-" + uid("x")}),
                 409, "already exists")

    r = org_api.delete(f"/api/public/projects/{p['id']}/apiKeys/{own['id']}")
    assert r.status_code == 200 and r.json() == {"success": True}
    assert_error(papi.get("/api/public/projects"), 401)
    assert_error(org_api.delete(f"/api/public/projects/{p['id']}/apiKeys/{own['id']}"), 404)
    # Keys of one project cannot be deleted through another.
    assert_error(org_api.delete(f"/api/public/projects/{PROJECT_ID}/apiKeys/{key['id']}"), 404)


def test_create_key_with_an_empty_body(org_api):
    p = new_project(org_api)
    r = org_api.post(f"/api/public/projects/{p['id']}/apiKeys")
    assert r.status_code == 201, r.text
    assert r.json()["note"] is None


@pytest.mark.parametrize("body, fragment", [
    ({"publicKey": "pk-lf-only"}, "together"),
    ({"secretKey": "sk-lf-only"}, "together"),
    ({"publicKey": "pk-x", "secretKey": "sk-lf-y"}, "pk-lf-"),
    ({"publicKey": "pk-lf-x", "secretKey": "sk-y"}, "sk-lf-"),
    ({"note": 5}, "note"),
])
def test_create_key_rejects_bad_input(org_api, body, fragment):
    assert_error(org_api.post(f"/api/public/projects/{PROJECT_ID}/apiKeys", json=body), 400, fragment)


def test_last_use_of_a_key_is_recorded_at_most_once_a_minute(org_api, admin_server):
    p = new_project(org_api)
    key = new_key(org_api, p["id"])
    listed = lambda: next(k for k in org_api.get_json(f"/api/public/projects/{p['id']}/apiKeys")["apiKeys"]
                          if k["id"] == key["id"])
    assert listed()["lastUsedAt"] is None
    papi = Api(admin_server.url, auth=basic_auth(key["publicKey"], key["secretKey"]))
    before = now_utc() - dt.timedelta(milliseconds=5)
    assert papi.get("/api/public/projects").status_code == 200
    after = now_utc() + dt.timedelta(milliseconds=5)
    first = listed()["lastUsedAt"]
    assert first is not None and before <= parse_iso(first) <= after
    # Further uses within the minute are not written again.
    time.sleep(0.05)
    for _ in range(5):
        assert papi.get("/api/public/projects").status_code == 200
    assert papi.post("/api/public/scores", json={"traceId": uid("t"), "name": "n", "value": 1},
                     auth=f"Bearer {key['publicKey']}").status_code == 200
    assert listed()["lastUsedAt"] == first
    # Organization keys are recorded the same way.
    [org_key] = [k for k in org_api.get_json("/api/public/organizations/apiKeys")["apiKeys"]
                 if k["publicKey"] == ORG_PUBLIC_KEY]
    assert org_key["lastUsedAt"] is not None


def test_expired_keys_are_refused(org_api, admin_server):
    p = new_project(org_api)
    expires = now_utc() + dt.timedelta(seconds=2)
    key = new_key(org_api, p["id"], note="short-lived", expiresAt=iso(expires))
    assert abs(parse_iso(key["expiresAt"]) - expires) < dt.timedelta(milliseconds=1)
    [listed] = [k for k in org_api.get_json(f"/api/public/projects/{p['id']}/apiKeys")["apiKeys"]
                if k["id"] == key["id"]]
    assert listed["expiresAt"] == key["expiresAt"]
    papi = Api(admin_server.url, auth=basic_auth(key["publicKey"], key["secretKey"]))
    assert papi.get("/api/public/projects").status_code == 200  # cached from here on
    time.sleep(max(0.0, (expires - now_utc()).total_seconds()) + 0.2)
    r = papi.get("/api/public/projects")
    body = assert_error(r, 401)
    assert body == {"message": f"API key {key['publicKey']} expired at {key['expiresAt']}. {AUTH_HINT}"}
    r = papi.post("/api/public/scores", json={"traceId": uid("t"), "name": "n", "value": 1},
                  auth=f"Bearer {key['publicKey']}")
    assert_error(r, 401, "expired")
    # Other keys of the project are unaffected.
    other = new_key(org_api, p["id"])
    assert Api(admin_server.url, auth=basic_auth(other["publicKey"], other["secretKey"])) \
        .get("/api/public/projects").status_code == 200


@pytest.mark.parametrize("expires_at, fragment", [
    ("2020-01-01T00:00:00Z", "Must be in the future"),
    ("tomorrow", "expiresAt"),
    (5, "expiresAt"),
])
def test_create_key_rejects_a_bad_expiry(org_api, expires_at, fragment):
    r = org_api.post(f"/api/public/projects/{PROJECT_ID}/apiKeys", json={"expiresAt": expires_at})
    assert_error(r, 400, fragment)


def test_organization_api_keys(org_api):
    keys = org_api.get_json("/api/public/organizations/apiKeys")["apiKeys"]
    [org_key] = [k for k in keys if k["publicKey"] == ORG_PUBLIC_KEY]
    assert org_key["displaySecretKey"] == "sk-lf-...test"
    assert "pk-lf-test" not in {k["publicKey"] for k in keys}  # project keys are not listed


# --------------------------------------------------------------------------- memberships


def test_organization_memberships(org_api, owner_id):
    members = org_api.get_json("/api/public/organizations/memberships")["memberships"]
    assert {"userId": owner_id, "role": "OWNER", "email": USER_EMAIL, "name": USER_NAME} in members

    r = org_api.request("PUT", "/api/public/organizations/memberships",
                        json={"userId": owner_id, "role": "ADMIN"})
    assert r.status_code == 200, r.text
    assert r.json() == {"userId": owner_id, "role": "ADMIN", "email": USER_EMAIL, "name": USER_NAME}
    try:
        assert_error(org_api.request("PUT", "/api/public/organizations/memberships",
                                     json={"userId": "no-such-user", "role": "MEMBER"}), 404, "User")
        assert_error(org_api.request("PUT", "/api/public/organizations/memberships",
                                     json={"userId": owner_id, "role": "KING"}), 400, "role")
        assert_error(org_api.request("PUT", "/api/public/organizations/memberships",
                                     json={"role": "MEMBER"}), 400, "userId")
        assert_error(org_api.request("DELETE", "/api/public/organizations/memberships", json={}), 400,
                     "userId")
    finally:
        r = org_api.request("PUT", "/api/public/organizations/memberships",
                            json={"userId": owner_id, "role": "OWNER"})
        assert r.status_code == 200


def test_project_memberships(org_api, owner_id):
    p = new_project(org_api)
    path = f"/api/public/projects/{p['id']}/memberships"
    assert org_api.get_json(path) == {"memberships": []}
    r = org_api.request("PUT", path, json={"userId": owner_id, "role": "VIEWER"})
    assert r.status_code == 200, r.text
    assert r.json() == {"userId": owner_id, "role": "VIEWER", "email": USER_EMAIL, "name": USER_NAME}
    assert org_api.get_json(path)["memberships"] == [r.json()]
    assert_error(org_api.request("PUT", path, json={"userId": "stranger", "role": "VIEWER"}), 404,
                 "not a member")
    assert_error(org_api.request("PUT", path, json={"userId": owner_id}), 400, "role")

    r = org_api.request("DELETE", path, json={"userId": owner_id})
    assert r.status_code == 200 and r.json()["userId"] == owner_id
    assert_error(org_api.request("DELETE", path, json={"userId": owner_id}), 404, "not found")


def test_removing_an_org_member_removes_their_project_roles(org_api, owner_id):
    p = new_project(org_api)
    path = f"/api/public/projects/{p['id']}/memberships"
    assert org_api.request("PUT", path, json={"userId": owner_id, "role": "ADMIN"}).status_code == 200
    try:
        r = org_api.request("DELETE", "/api/public/organizations/memberships", json={"userId": owner_id})
        assert r.status_code == 200, r.text
        assert r.json() == {"message": "Membership deleted successfully", "userId": owner_id}
        assert org_api.get_json(path) == {"memberships": []}
        assert_error(org_api.request("PUT", path, json={"userId": owner_id, "role": "ADMIN"}), 404)
    finally:
        r = org_api.request("PUT", "/api/public/organizations/memberships",
                            json={"userId": owner_id, "role": "OWNER"})
        assert r.status_code == 200, r.text
