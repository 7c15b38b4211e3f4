"""The instance admin API (/api/admin/organizations, Bearer $ADMIN_API_KEY):
organizations and their organization keys, which open the organization API."""

from __future__ import annotations

import pytest

from api_admin.helpers import ADMIN_API_KEY, assert_error
from integration.harness import Api, basic_auth, uid

BASE = "/api/admin/organizations"


@pytest.fixture
def admin(admin_server) -> Api:
    return Api(admin_server.url, auth=f"Bearer {ADMIN_API_KEY}")


def new_org(admin, **body):
    body.setdefault("name", uid("org"))
    r = admin.post(BASE, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_auth(admin, api, org_api, server_factory):
    assert_error(admin.get(BASE, auth=False), 401, "No authorization header")
    assert_error(admin.get(BASE, auth="Bearer wrong-key"), 401, "Invalid token")
    assert_error(admin.get(BASE, auth=f"Basic {ADMIN_API_KEY}"), 401)
    assert_error(api.get(BASE), 401)
    assert_error(org_api.get(BASE), 401)
    srv = server_factory()  # no ADMIN_API_KEY: the admin API is closed
    assert_error(Api(srv.url, auth=f"Bearer {ADMIN_API_KEY}").get(BASE), 403, "ADMIN_API_KEY")


def test_organization_lifecycle_with_its_own_org_key(admin, admin_server):
    org = new_org(admin, name="  Acme Research  ", metadata={"plan": "team"})
    assert org["name"] == "Acme Research" and org["metadata"] == {"plan": "team"}
    assert org["projects"] == [] and org["createdAt"].endswith("Z")
    assert admin.get_json(f"{BASE}/{org['id']}") == org
    listed = {o["id"]: o for o in admin.get_json(BASE)["organizations"]}
    assert org["id"] in listed
    assert [p["id"] for p in listed["org-loupe-test"]["projects"]][0] == "proj-loupe-test"

    r = admin.request("PUT", f"{BASE}/{org['id']}", json={"name": "Acme Labs"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Acme Labs" and r.json()["metadata"] == {"plan": "team"}

    key = admin.post(f"{BASE}/{org['id']}/apiKeys", json={"note": "automation"})
    assert key.status_code == 201, key.text
    key = key.json()
    assert key["note"] == "automation" and key["secretKey"].startswith("sk-lf-")
    keys = admin.get_json(f"{BASE}/{org['id']}/apiKeys")["apiKeys"]
    assert [k["id"] for k in keys] == [key["id"]] and "secretKey" not in keys[0]

    acme = Api(admin_server.url, auth=basic_auth(key["publicKey"], key["secretKey"]))
    project = acme.post("/api/public/projects", json={"name": "acme-app"})
    assert project.status_code == 201, project.text
    project = project.json()
    assert project["organization"] == {"id": org["id"], "name": "Acme Labs"}
    assert [p["id"] for p in acme.get_json("/api/public/organizations/projects")["projects"]] == \
        [project["id"]]
    assert [p["id"] for p in admin.get_json(f"{BASE}/{org['id']}")["projects"]] == [project["id"]]
    # Organizations cannot reach each other's projects.
    assert_error(acme.get("/api/public/projects/proj-loupe-test/apiKeys"), 404)

    assert_error(admin.delete(f"{BASE}/{org['id']}"), 400, "existing projects")
    assert acme.delete(f"/api/public/projects/{project['id']}").status_code == 202
    r = admin.delete(f"{BASE}/{org['id']}")
    assert r.status_code == 200 and r.json() == {"success": True}
    assert_error(acme.get("/api/public/organizations/projects"), 401)
    assert_error(admin.get(f"{BASE}/{org['id']}"), 404)
    assert_error(admin.delete(f"{BASE}/{org['id']}"), 404)


def test_deleting_an_org_key_revokes_it(admin, admin_server):
    org = new_org(admin)
    key = admin.post(f"{BASE}/{org['id']}/apiKeys").json()
    client = Api(admin_server.url, auth=basic_auth(key["publicKey"], key["secretKey"]))
    assert client.get("/api/public/organizations/apiKeys").status_code == 200
    r = admin.delete(f"{BASE}/{org['id']}/apiKeys/{key['id']}")
    assert r.status_code == 200 and r.json() == {"success": True}
    assert_error(client.get("/api/public/organizations/apiKeys"), 401)
    assert_error(admin.delete(f"{BASE}/{org['id']}/apiKeys/{key['id']}"), 404)


@pytest.mark.parametrize("body, fragment", [
    ({}, "organization name"),
    ({"name": "ab"}, "organization name"),
    ({"name": 42}, "organization name"),
    ({"name": "valid name", "metadata": "{oops"}, "metadata"),
    ({"name": "valid name", "metadata": 5}, "metadata"),
])
def test_bad_input(admin, body, fragment):
    assert_error(admin.post(BASE, json=body), 400, fragment)
    org = new_org(admin)
    assert_error(admin.request("PUT", f"{BASE}/{org['id']}", json=body), 400, fragment)


def test_unknown_organizations_are_404(admin):
    for method, path in [("GET", f"{BASE}/nope"), ("PUT", f"{BASE}/nope"),
                         ("DELETE", f"{BASE}/nope"), ("GET", f"{BASE}/nope/apiKeys"),
                         ("POST", f"{BASE}/nope/apiKeys"), ("DELETE", f"{BASE}/nope/apiKeys/k")]:
        assert_error(admin.request(method, path, json={"name": "a valid name"}), 404)
