"""Fixtures for the management API tests (score configs, models, comments,
annotation queues, LLM connections, organizations, projects, API keys).

One server for the whole module set, started with an organization key
(LOUPE_INIT_ORG_PUBLIC_KEY / LOUPE_INIT_ORG_SECRET_KEY) and an ENCRYPTION_KEY
besides the usual project key. Tests that need counts to be exact create a
project of their own through the organization API (`fresh_project`).
"""

from __future__ import annotations

import pytest

from api_admin.helpers import ADMIN_ENV, ORG_PUBLIC_KEY, ORG_SECRET_KEY
from integration.harness import Api, LoupeServer, basic_auth, uid


@pytest.fixture(scope="session")
def admin_server(tmp_root):
    srv = LoupeServer(tmp_root / "data-admin", tmp_root / "loupe-admin.log", ADMIN_ENV)
    srv.start()
    yield srv
    rc = srv.stop()
    assert rc == 0, f"loupe exited with {rc} on SIGTERM:\n{srv.log_tail()}"


@pytest.fixture
def api(admin_server) -> Api:
    """Project key of the initial project."""
    return Api(admin_server.url)


@pytest.fixture
def org_api(admin_server) -> Api:
    """Organization key of the initial organization."""
    return Api(admin_server.url, auth=basic_auth(ORG_PUBLIC_KEY, ORG_SECRET_KEY))


@pytest.fixture
def owner_id(org_api) -> str:
    """Id of the initial user (LANGFUSE_INIT_USER_*), owner of the organization."""
    from api_admin.helpers import USER_EMAIL

    members = org_api.get_json("/api/public/organizations/memberships")["memberships"]
    [owner] = [m for m in members if m["email"] == USER_EMAIL]
    return owner["userId"]


@pytest.fixture
def fresh_project(admin_server, org_api):
    """A new, empty project with its own key pair: (project dict, Api with its key)."""
    r = org_api.post("/api/public/projects", json={"name": uid("proj"), "retention": 0})
    assert r.status_code in (200, 201), r.text
    project = r.json()
    r = org_api.post(f"/api/public/projects/{project['id']}/apiKeys", json={"note": "test"})
    assert r.status_code in (200, 201), r.text
    key = r.json()
    return project, Api(admin_server.url, auth=basic_auth(key["publicKey"], key["secretKey"]))
