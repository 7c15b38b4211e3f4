"""The web UI's JSON API (/api/ui) and page serving, over HTTP against the
real binary: sign-in and sessions, role checks, project isolation, rate
limiting, security headers, and the data endpoints the pages use."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest
import requests

from integration.harness import PROJECT_ID, Api, at, basic_auth, event, now_utc, uid
from ui.ui_helpers import (ORG_PK, ORG_SK, USER_EMAIL, USER_PASSWORD, UiClient, add_member, ingest,
                           start_ui_server)

ORG_AUTH = {"Authorization": basic_auth(ORG_PK, ORG_SK)}






def filter_param(*conds: dict) -> str:
    return urllib.parse.quote(json.dumps(list(conds)))


# --------------------------------------------------------------------------- pages


def test_any_page_path_serves_the_app_with_security_headers(ui_server):
    for path in ("/", f"/project/{PROJECT_ID}/traces", f"/project/{PROJECT_ID}/traces/abc",
                 "/auth/sign-in", "/some/unknown/page"):
        r = requests.get(ui_server.url + path, timeout=10)
        assert r.status_code == 200, path
        assert r.headers["Content-Type"].startswith("text/html")
        assert '<div id="app">' in r.text
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Cache-Control"] == "no-cache"


def test_assets_are_embedded_cached_and_compressed(ui_server):
    html = requests.get(ui_server.url + "/", timeout=10).text
    scripts = [s.split('"')[0] for s in html.split('src="')[1:]]
    assert scripts and scripts[0].startswith("/assets/"), "the UI was not built into the binary"
    r = requests.get(ui_server.url + scripts[0], headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/javascript")
    assert "immutable" in r.headers["Cache-Control"]
    assert r.headers.get("Content-Encoding") == "gzip"
    assert len(r.content) > 1000
    assert requests.get(ui_server.url + "/assets/missing-123.js", timeout=10).status_code == 404


def test_api_paths_are_not_swallowed_by_the_app(ui_server):
    r = requests.get(ui_server.url + "/api/public/does-not-exist", timeout=10)
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/json"
    r = requests.get(ui_server.url + "/api/ui/nope", timeout=10)
    assert r.status_code == 404 and "Content-Security-Policy" in r.headers
    # The public API is untouched: project keys still work.
    assert Api(ui_server.url).get("/api/public/traces").status_code == 200


# --------------------------------------------------------------------------- sign-in


def test_auth_is_required(ui_server):
    c = UiClient(ui_server.url)
    for path in ("/api/ui/auth/session", f"/api/ui/projects/{PROJECT_ID}/traces",
                 f"/api/ui/projects/{PROJECT_ID}/api-keys", f"/api/ui/projects/{PROJECT_ID}/metrics"):
        r = c.get(path)
        assert r.status_code == 401, path
        assert r.headers["Cache-Control"] == "no-store"
        assert "Content-Security-Policy" in r.headers
    # API keys are no credentials for the UI API.
    r = c.get(f"/api/ui/projects/{PROJECT_ID}/traces", headers={"Authorization": basic_auth()})
    assert r.status_code == 401
    # A forged cookie is not a session.
    c.s.cookies.set("loupe-session", "a" * 64 + "." + "b" * 64)
    assert c.get("/api/ui/auth/session").status_code == 401


def test_init_user_signs_in_and_out(ui_client):
    r = ui_client.sign_in()
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("loupe-session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # NEXTAUTH_URL is not https here
    s = ui_client.get("/api/ui/auth/session").json()
    assert s["user"]["email"] == USER_EMAIL
    org = s["organizations"][0]
    assert org["role"] == "OWNER"
    assert [p["id"] for p in org["projects"]] == [PROJECT_ID]
    # Email is case-insensitive.
    UiClient(ui_client.base).sign_in(email=USER_EMAIL.upper())
    stolen = dict(ui_client.s.cookies)
    r = ui_client.post("/api/ui/auth/sign-out")
    assert r.status_code == 200 and "Max-Age=0" in r.headers["Set-Cookie"]
    assert ui_client.get("/api/ui/auth/session").status_code == 401
    # The server forgot the session: a copy of the old cookie is useless.
    other = UiClient(ui_client.base)
    other.s.cookies.update(stolen)
    assert other.get("/api/ui/auth/session").status_code == 401


def test_wrong_password_is_refused_without_saying_which_part(ui_server):
    c = UiClient(ui_server.url)
    a = c.post("/api/ui/auth/sign-in", {"email": USER_EMAIL, "password": "nope-nope"})
    b = c.post("/api/ui/auth/sign-in", {"email": "nobody@loupe.test", "password": "nope-nope"})
    assert a.status_code == b.status_code == 401
    assert a.json()["message"] == b.json()["message"] == "Invalid email or password."
    assert c.post("/api/ui/auth/sign-in", {"email": USER_EMAIL}).status_code == 400
    assert c.req("POST", "/api/ui/auth/sign-in", data="not json").status_code == 400


def test_cross_site_writes_are_refused(ui_client):
    r = ui_client.post("/api/ui/auth/sign-in", {"email": USER_EMAIL, "password": USER_PASSWORD},
                       headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    ui_client.sign_in()
    r = ui_client.post(f"/api/ui/projects/{PROJECT_ID}/api-keys", {},
                       headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    # The same origin is fine.
    r = ui_client.post(f"/api/ui/projects/{PROJECT_ID}/api-keys", {"note": "same-origin"},
                       headers={"Origin": ui_client.base})
    assert r.status_code == 201


def test_sign_in_is_rate_limited(tmp_root):
    srv = start_ui_server(tmp_root, "ui-ratelimit", {"LOUPE_SIGNIN_MAX_FAILURES": "3"})
    try:
        c = UiClient(srv.url)
        for _ in range(3):
            assert c.post("/api/ui/auth/sign-in",
                          {"email": USER_EMAIL, "password": "wrong-1"}).status_code == 401
        r = c.post("/api/ui/auth/sign-in", {"email": USER_EMAIL, "password": USER_PASSWORD})
        assert r.status_code == 429, r.text
        assert int(r.headers["Retry-After"]) > 0
        assert "Too many sign-in attempts" in r.json()["message"]
        # Another account is not locked by these failures (only after 4x from one address).
        other = c.sign_up()
        assert other["user"]["email"]
    finally:
        assert srv.stop() == 0


def test_sessions_expire(tmp_root):
    srv = start_ui_server(tmp_root, "ui-expiry", {"LOUPE_UI_SESSION_SECONDS": "2"})
    try:
        c = UiClient(srv.url)
        r = c.sign_in()
        assert "Max-Age=2" in r.headers["Set-Cookie"]
        assert c.get("/api/ui/auth/session").status_code == 200
        time.sleep(2.5)
        assert c.get("/api/ui/auth/session").status_code == 401
    finally:
        assert srv.stop() == 0


def test_secure_cookies_when_the_public_url_is_https(tmp_root):
    srv = start_ui_server(tmp_root, "ui-https", {"NEXTAUTH_URL": "https://loupe.example.com",
                                                 "NEXTAUTH_SECRET": "a-configured-secret"})
    try:
        r = requests.post(srv.url + "/api/ui/auth/sign-in",
                          json={"email": USER_EMAIL, "password": USER_PASSWORD}, timeout=30)
        assert r.status_code == 200
        cookie = r.headers["Set-Cookie"]
        assert cookie.startswith("__Host-loupe-session=") and "; Secure" in cookie
        # A configured NEXTAUTH_SECRET is used as is: nothing generated.
        assert not (srv.data_dir / "nextauth_secret").exists()
    finally:
        assert srv.stop() == 0


def test_sign_up_can_be_disabled(tmp_root):
    srv = start_ui_server(tmp_root, "ui-nosignup", {"AUTH_DISABLE_SIGNUP": "true"})
    try:
        c = UiClient(srv.url)
        assert c.get("/api/ui/auth/config").json() == {"signUpDisabled": True}
        r = c.post("/api/ui/auth/sign-up", {"email": "x@loupe.test", "password": "12345678", "name": "X"})
        assert r.status_code == 403
    finally:
        assert srv.stop() == 0


# --------------------------------------------------------------------------- accounts


def test_sign_up_validation_and_duplicates(ui_server):
    c = UiClient(ui_server.url)
    bad = [({"email": "not-an-email", "password": "12345678", "name": "A"}, "valid email"),
           ({"email": "a@x.io", "password": "short", "name": "A"}, "8 characters"),
           ({"email": "a@x.io", "password": "12345678", "name": " "}, "name")]
    for body, msg in bad:
        r = c.post("/api/ui/auth/sign-up", body)
        assert r.status_code == 400 and msg in r.json()["message"], r.text
    email = f"dup-{uid()}@loupe.test"
    c.sign_up(email=email)
    r = UiClient(ui_server.url).post("/api/ui/auth/sign-up",
                                     {"email": email.upper(), "password": "12345678", "name": "B"})
    assert r.status_code == 409


def test_new_user_creates_org_project_and_key_that_works(ui_server):
    c = UiClient(ui_server.url)
    s = c.sign_up()
    assert s["organizations"] == []
    org = c.post("/api/ui/organizations", {"name": "Acme"}).json()
    assert org["role"] == "OWNER"
    r = c.post(f"/api/ui/organizations/{org['id']}/projects", {"name": "Chatbot"})
    assert r.status_code == 201, r.text
    project = r.json()
    assert c.post(f"/api/ui/organizations/{org['id']}/projects", {"name": "Chatbot"}).status_code == 409
    key = c.post(f"/api/ui/projects/{project['id']}/api-keys", {"note": "ci"}).json()
    assert key["secretKey"].startswith("sk-lf-") and key["publicKey"].startswith("pk-lf-")
    listed = c.get(f"/api/ui/projects/{project['id']}/api-keys").json()["data"]
    assert [k["publicKey"] for k in listed] == [key["publicKey"]]
    assert "secretKey" not in listed[0] and listed[0]["displaySecretKey"].startswith("sk-lf-")
    # The key ingests into the new project, and the UI lists the trace.
    tid = uid("t")
    ingest(ui_server.url, [event("trace-create", {"id": tid, "name": "hello"})],
           key["publicKey"], key["secretKey"])
    rows = c.get(f"/api/ui/projects/{project['id']}/traces").json()["data"]
    assert [t["id"] for t in rows] == [tid]
    # Revoked: the key stops working at once.
    assert c.delete(f"/api/ui/projects/{project['id']}/api-keys/{key['id']}").status_code == 200
    r = Api(ui_server.url).get("/api/public/traces", auth=basic_auth(key["publicKey"], key["secretKey"]))
    assert r.status_code == 401
    assert c.delete(f"/api/ui/projects/{project['id']}/api-keys/{key['id']}").status_code == 404


# --------------------------------------------------------------------------- roles


def test_viewer_reads_but_cannot_change_anything(ui_server):
    owner = UiClient(ui_server.url)
    owner.sign_in()
    org_id = owner.get("/api/ui/auth/session").json()["organizations"][0]["id"]
    viewer = UiClient(ui_server.url)
    user = viewer.sign_up()["user"]
    assert viewer.get(f"/api/ui/projects/{PROJECT_ID}/traces").status_code == 404  # not a member yet
    add_member(ui_server.url, user["id"], "VIEWER")
    s = viewer.get("/api/ui/auth/session").json()
    assert s["organizations"][0]["projects"][0]["role"] == "VIEWER"
    assert viewer.get(f"/api/ui/projects/{PROJECT_ID}/traces").status_code == 200
    assert viewer.get(f"/api/ui/projects/{PROJECT_ID}/sessions").status_code == 200
    for method, path, body in (
        ("POST", f"/api/ui/projects/{PROJECT_ID}/api-keys", {}),
        ("GET", f"/api/ui/projects/{PROJECT_ID}/api-keys", None),
        ("DELETE", f"/api/ui/projects/{PROJECT_ID}/api-keys/whatever", None),
        ("POST", f"/api/ui/organizations/{org_id}/projects", {"name": "Nope"}),
    ):
        r = viewer.req(method, path, json=body)
        assert r.status_code == 403, (method, path, r.text)
    # Members cannot manage keys either; admins can.
    add_member(ui_server.url, user["id"], "MEMBER")
    assert viewer.post(f"/api/ui/projects/{PROJECT_ID}/api-keys", {}).status_code == 403
    add_member(ui_server.url, user["id"], "ADMIN")
    assert viewer.post(f"/api/ui/projects/{PROJECT_ID}/api-keys", {}).status_code == 201


def test_one_projects_data_is_never_shown_to_another_projects_member(ui_server):
    # Alice owns her own organization and project with a trace in it.
    alice = UiClient(ui_server.url)
    alice.sign_up()
    org = alice.post("/api/ui/organizations", {"name": "Alice Org"}).json()
    project = alice.post(f"/api/ui/organizations/{org['id']}/projects", {"name": "Secret"}).json()
    key = alice.post(f"/api/ui/projects/{project['id']}/api-keys", {}).json()
    tid, oid, sid = uid("t"), uid("o"), uid("s")
    ingest(ui_server.url, [
        event("trace-create", {"id": tid, "name": "private", "sessionId": sid, "userId": "alice-user"}),
        event("span-create", {"id": oid, "traceId": tid, "name": "private-span"}),
    ], key["publicKey"], key["secretKey"])
    assert alice.get(f"/api/ui/projects/{project['id']}/traces/{tid}").status_code == 200

    # The owner of the init organization sees none of it.
    owner = UiClient(ui_server.url)
    owner.sign_in()
    p = project["id"]
    for path in (f"/api/ui/projects/{p}/traces", f"/api/ui/projects/{p}/traces/{tid}",
                 f"/api/ui/projects/{p}/observations/{oid}", f"/api/ui/projects/{p}/sessions",
                 f"/api/ui/projects/{p}/sessions/{sid}", f"/api/ui/projects/{p}/users",
                 f"/api/ui/projects/{p}/api-keys"):
        r = owner.get(path)
        assert r.status_code == 404, (path, r.text)
        assert "private" not in r.text
    # Nor through a project the owner does belong to.
    assert owner.get(f"/api/ui/projects/{PROJECT_ID}/traces/{tid}").status_code == 404
    assert owner.get(f"/api/ui/projects/{PROJECT_ID}/observations/{oid}").status_code == 404
    listed = owner.get(f"/api/ui/projects/{PROJECT_ID}/traces?filter=" + filter_param(
        {"type": "string", "column": "id", "operator": "=", "value": tid})).json()
    assert listed["data"] == []
    assert all(o["id"] != org["id"] for o in owner.get("/api/ui/auth/session").json()["organizations"])
    assert owner.post(f"/api/ui/organizations/{org['id']}/projects", {"name": "X"}).status_code == 404


# --------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def seeded(ui_server):
    """Traces with observations of known levels, models, costs and latencies."""
    base = now_utc()
    env = "ui-" + uid("e")[-8:]
    names = {}
    batch = []
    for i in range(6):
        tid = uid(f"trace{i}")
        names[i] = tid
        t0 = at(base, -60000 + i * 1000)
        batch.append(event("trace-create", {"id": tid, "name": f"ui-trace-{i % 2}", "timestamp": t0,
                                            "userId": f"ui-user-{i % 3}", "sessionId": f"{env}-s{i % 2}",
                                            "environment": env, "tags": ["ui", f"t{i}"],
                                            "input": {"messages": [{"role": "user", "content": f"hi {i}"}]},
                                            "output": "x" * 1000}))
        root = uid("root")
        batch.append(event("span-create", {"id": root, "traceId": tid, "name": "root", "startTime": t0,
                                           "endTime": at(base, -60000 + i * 1000 + 100 * (i + 1)),
                                           "environment": env}))
        batch.append(event("generation-create", {
            "id": uid("gen"), "traceId": tid, "parentObservationId": root, "name": "llm",
            "startTime": t0, "endTime": at(base, -60000 + i * 1000 + 50),
            "model": "gpt-4o" if i < 3 else "claude-x", "usage": {"input": 10 * (i + 1), "output": 5},
            "costDetails": {"total": 0.01 * (i + 1)}, "level": "ERROR" if i == 4 else "DEFAULT",
            "environment": env}))
    ingest(ui_server.url, batch)
    return {"env": env, "ids": names}


def traces(c: UiClient, *conds: dict, **params) -> dict:
    q = "&".join(f"{k}={v}" for k, v in params.items())
    r = c.get(f"/api/ui/projects/{PROJECT_ID}/traces?filter={filter_param(*conds)}&{q}")
    assert r.status_code == 200, r.text
    return r.json()


def test_trace_list_filters_sorting_and_paging(ui_client, seeded):
    ui_client.sign_in()
    env = {"type": "stringOptions", "column": "environment", "operator": "any of", "value": [seeded["env"]]}
    ids = seeded["ids"]
    all_rows = traces(ui_client, env)
    assert [t["id"] for t in all_rows["data"]] == [ids[i] for i in range(5, -1, -1)]
    row = all_rows["data"][0]
    assert row["observationCount"] == 2 and row["totalCost"] == pytest.approx(0.06)
    assert row["latency"] == pytest.approx(0.6)
    assert row["input"].startswith('{"messages"') and len(row["output"]) < 300  # previews only
    level = {"type": "stringOptions", "column": "level", "operator": "any of", "value": ["ERROR"]}
    assert [t["id"] for t in traces(ui_client, env, level)["data"]] == [ids[4]]
    model = {"type": "string", "column": "model", "operator": "=", "value": "claude-x"}
    assert {t["id"] for t in traces(ui_client, env, model)["data"]} == {ids[3], ids[4], ids[5]}
    cost = {"type": "number", "column": "totalCost", "operator": ">=", "value": 0.035}
    lat = {"type": "number", "column": "latency", "operator": "<", "value": 0.55}
    assert {t["id"] for t in traces(ui_client, env, cost, lat)["data"]} == {ids[3], ids[4]}
    user = {"type": "string", "column": "userId", "operator": "=", "value": "ui-user-1"}
    assert {t["id"] for t in traces(ui_client, env, user)["data"]} == {ids[1], ids[4]}
    tags = {"type": "arrayOptions", "column": "tags", "operator": "any of", "value": ["t2"]}
    assert [t["id"] for t in traces(ui_client, env, tags)["data"]] == [ids[2]]
    by_cost = traces(ui_client, env, orderBy="totalCost", order="asc")["data"]
    assert [t["id"] for t in by_cost] == [ids[i] for i in range(6)]
    page2 = traces(ui_client, env, page=2, limit=4)
    assert page2["meta"]["totalItems"] == 6 and page2["meta"]["totalPages"] == 2
    assert [t["id"] for t in page2["data"]] == [ids[1], ids[0]]
    bad = ui_client.get(f"/api/ui/projects/{PROJECT_ID}/traces?filter=" + filter_param(
        {"type": "string", "column": "nope", "operator": "=", "value": "x"}))
    assert bad.status_code == 400
    assert ui_client.get(f"/api/ui/projects/{PROJECT_ID}/traces?orderBy=bogus").status_code == 400


def test_trace_detail_is_compact_and_observation_detail_has_io(ui_client, seeded):
    ui_client.sign_in()
    tid = seeded["ids"][4]
    d = ui_client.get(f"/api/ui/projects/{PROJECT_ID}/traces/{tid}").json()
    assert d["trace"]["id"] == tid and d["trace"]["output"] == "x" * 1000
    o = d["observations"]
    assert o["count"] == 2
    gen = o["type"].index("GENERATION")
    root = o["type"].index("SPAN")
    assert o["parent"][gen] == root and o["parent"][root] == -1
    assert o["level"][gen] == "ERROR" and o["model"][gen] == "claude-x"
    assert o["usage"][gen] == [50, 5, 55] and o["cost"][gen] == pytest.approx(0.05)
    assert "input" not in o  # input/output load per observation
    full = ui_client.get(f"/api/ui/projects/{PROJECT_ID}/observations/{o['id'][gen]}").json()
    assert full["model"] == "claude-x" and full["usageDetails"]["input"] == 50
    assert ui_client.get(f"/api/ui/projects/{PROJECT_ID}/traces/nope").status_code == 404


def test_deeply_nested_values_show_and_too_deep_requests_are_refused(ui_client, ui_server):
    ui_client.sign_in()
    deep: object = {"leaf": 1}
    for i in range(200):
        deep = [deep] if i % 2 else {"k": deep}
    tid, sid = uid("deep-trace"), uid("deep-span")
    ingest(ui_server.url, [event("trace-create", {"id": tid, "input": deep, "metadata": {"deep": deep}}),
                           event("span-create", {"id": sid, "traceId": tid, "output": deep})])
    d = ui_client.get(f"/api/ui/projects/{PROJECT_ID}/traces/{tid}")
    assert d.status_code == 200, d.text
    assert d.json()["trace"]["input"] == deep
    o = ui_client.get(f"/api/ui/projects/{PROJECT_ID}/observations/{sid}")
    assert o.status_code == 200, o.text
    assert o.json()["output"] == deep
    too_deep = "[" * 300 + "]" * 300
    r = ui_client.get(f"/api/ui/projects/{PROJECT_ID}/traces?filter={urllib.parse.quote(too_deep)}")
    assert r.status_code == 400 and "JSON nested deeper than 256 levels" in r.json()["message"], r.text
    r = UiClient(ui_server.url).post("/api/ui/auth/sign-up", {"email": "deep@x.io", "password": "12345678",
                                                                "name": json.loads(too_deep)})
    assert r.status_code == 400 and "JSON nested deeper than 256 levels" in r.json()["message"], r.text


def test_sessions_users_and_metrics(ui_client, seeded):
    ui_client.sign_in()
    env = seeded["env"]
    rows = ui_client.get(f"/api/ui/projects/{PROJECT_ID}/sessions?limit=100").json()["data"]
    mine = {r["id"]: r for r in rows if r["id"].startswith(env)}
    assert set(mine) == {f"{env}-s0", f"{env}-s1"}
    assert mine[f"{env}-s0"]["traceCount"] == 3
    assert mine[f"{env}-s0"]["totalCost"] == pytest.approx(0.01 + 0.03 + 0.05)
    s = ui_client.get(f"/api/ui/projects/{PROJECT_ID}/sessions/{env}-s1").json()
    assert [t["id"] for t in s["traces"]] == [seeded["ids"][i] for i in (1, 3, 5)]
    assert s["traces"][0]["input"]["messages"][0]["content"] == "hi 1"
    users = ui_client.get(f"/api/ui/projects/{PROJECT_ID}/users").json()["data"]
    u0 = next(u for u in users if u["userId"] == "ui-user-0")
    assert u0["traceCount"] >= 2
    q = {"view": "observations", "dimensions": [{"field": "providedModelName"}],
         "metrics": [{"measure": "totalCost", "aggregation": "sum"}],
         "filters": [{"type": "string", "column": "environment", "operator": "=", "value": env}],
         "fromTimestamp": "2000-01-01T00:00:00.000Z", "toTimestamp": "2100-01-01T00:00:00.000Z"}
    r = ui_client.get(f"/api/ui/projects/{PROJECT_ID}/metrics?query=" + urllib.parse.quote(json.dumps(q)))
    assert r.status_code == 200, r.text
    by_model = {x["providedModelName"]: x["sum_totalCost"] for x in r.json()["data"]}
    assert by_model["gpt-4o"] == pytest.approx(0.06) and by_model["claude-x"] == pytest.approx(0.15)
    assert ui_client.get(f"/api/ui/projects/{PROJECT_ID}/metrics?query=%7B%7D").status_code == 400


def test_admins_manage_members_by_email_within_their_own_role(ui_server):
    owner = UiClient(ui_server.url)
    owner.sign_in()
    base = f"/api/ui/projects/{PROJECT_ID}/members"
    alice, bob = UiClient(ui_server.url), UiClient(ui_server.url)
    a = alice.sign_up()["user"]
    b = bob.sign_up()["user"]
    # An email without an account gets an invitation (test_ui_search_scores_accounts.py).
    invited = owner.post(base, {"email": "nobody-" + uid() + "@loupe.test", "role": "VIEWER"})
    assert invited.status_code == 201 and invited.json()["invited"] is True, invited.text
    assert owner.post(base, {"email": a["email"], "role": "KING"}).status_code == 400
    r = owner.post(base, {"email": a["email"].upper(), "role": "VIEWER"})
    assert r.status_code == 200 and r.json()["orgRole"] == "VIEWER", r.text
    assert alice.get(f"/api/ui/projects/{PROJECT_ID}/traces").status_code == 200
    assert alice.get(base).status_code == 403  # viewers do not see the member list
    assert alice.post(base, {"email": b["email"], "role": "VIEWER"}).status_code == 403
    # An admin cannot make anyone owner, nor touch the owner.
    owner.post(base, {"email": a["email"], "role": "ADMIN"})
    assert alice.post(base, {"email": b["email"], "role": "OWNER"}).status_code == 403
    assert alice.post(base, {"email": b["email"], "role": "MEMBER"}).status_code == 200
    owner_id = owner.get("/api/ui/auth/session").json()["user"]["id"]
    assert alice.delete(f"{base}/{owner_id}").status_code == 403
    assert alice.delete(f"{base}/{a['id']}").status_code == 400  # not yourself
    members = {m["email"]: m["orgRole"] for m in owner.get(base).json()["data"]}
    assert members[a["email"]] == "ADMIN" and members[b["email"]] == "MEMBER"
    assert alice.delete(f"{base}/{b['id']}").status_code == 200
    assert bob.get(f"/api/ui/projects/{PROJECT_ID}/traces").status_code == 404
    assert owner.delete(f"{base}/{a['id']}").status_code == 200
    assert alice.get(f"/api/ui/projects/{PROJECT_ID}/traces").status_code == 404


def test_first_account_owns_the_zero_config_organization(tmp_root):
    blank = {k: "" for k in ("LANGFUSE_INIT_ORG_ID", "LANGFUSE_INIT_ORG_NAME", "LANGFUSE_INIT_PROJECT_ID",
                             "LANGFUSE_INIT_PROJECT_NAME", "LANGFUSE_INIT_PROJECT_PUBLIC_KEY",
                             "LANGFUSE_INIT_PROJECT_SECRET_KEY", "LANGFUSE_INIT_USER_EMAIL",
                             "LANGFUSE_INIT_USER_PASSWORD", "LOUPE_INIT_ORG_PUBLIC_KEY",
                             "LOUPE_INIT_ORG_SECRET_KEY")}
    srv = start_ui_server(tmp_root, "ui-zeroconfig", blank)
    try:
        first = UiClient(srv.url).sign_up()
        orgs = first["organizations"]
        assert len(orgs) == 1 and orgs[0]["role"] == "OWNER" and len(orgs[0]["projects"]) == 1
        second = UiClient(srv.url).sign_up()
        assert second["organizations"] == []
    finally:
        assert srv.stop() == 0
