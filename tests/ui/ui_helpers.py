"""Helpers of the web UI tests: a server with a user that can sign in and an
organization key (to add members with other roles), and a cookie client."""

from __future__ import annotations

import pathlib
import uuid

import requests

from integration.harness import Api, LoupeServer, basic_auth

USER_EMAIL = "owner@loupe.test"
USER_PASSWORD = "owner-password-1"
ORG_PK = "pk-lf-org-ui-test"
ORG_SK = "sk-lf-org-ui-test"

UI_ENV = {
    "LANGFUSE_INIT_USER_EMAIL": USER_EMAIL,
    "LANGFUSE_INIT_USER_NAME": "Owner",
    "LANGFUSE_INIT_USER_PASSWORD": USER_PASSWORD,
    "LOUPE_INIT_ORG_PUBLIC_KEY": ORG_PK,
    "LOUPE_INIT_ORG_SECRET_KEY": ORG_SK,
}


def ingest(url: str, batch: list, pk: str | None = None, sk: str | None = None) -> None:
    """Posts `batch` to the ingestion API (the default project key unless pk/sk)."""
    auth = basic_auth(pk, sk) if pk else basic_auth()
    r = Api(url).post("/api/public/ingestion", json={"batch": batch}, auth=auth)
    assert r.status_code in (200, 207), r.text
    assert not r.json().get("errors"), r.text


def add_member(url: str, user_id: str, role: str) -> None:
    """Makes a signed-up user a member of the organization with `role`."""
    r = requests.put(url + "/api/public/organizations/memberships",
                     json={"userId": user_id, "role": role},
                     headers={"Authorization": basic_auth(ORG_PK, ORG_SK)}, timeout=30)
    assert r.status_code == 200, r.text


def start_ui_server(tmp_root: pathlib.Path, name: str, extra: dict | None = None) -> LoupeServer:
    env = dict(UI_ENV)
    env.update(extra or {})
    srv = LoupeServer(tmp_root / f"data-{name}", tmp_root / f"loupe-{name}.log", env)
    srv.start()
    return srv


class UiClient:
    """A browser-like client: a cookie jar and the UI's JSON API."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.s = requests.Session()

    def req(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.s.request(method, self.base + path, **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return self.req("GET", path, **kw)

    def post(self, path: str, body: dict | None = None, **kw) -> requests.Response:
        return self.req("POST", path, json=body if body is not None else {}, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.req("DELETE", path, **kw)

    def sign_in(self, email: str = USER_EMAIL, password: str = USER_PASSWORD) -> requests.Response:
        r = self.post("/api/ui/auth/sign-in", {"email": email, "password": password})
        assert r.status_code == 200, r.text
        return r

    def sign_up(self, email: str | None = None, password: str = "member-password-1",
                name: str = "Member") -> dict:
        email = email or f"user-{uuid.uuid4().hex[:10]}@loupe.test"
        r = self.post("/api/ui/auth/sign-up", {"email": email, "password": password, "name": name})
        assert r.status_code == 201, r.text
        return r.json()
