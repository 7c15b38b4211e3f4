"""Health, auth (contract §1.2, §2.6, §2.7, §2.8) and HTTP transport behaviour."""

from __future__ import annotations

import base64
import http.client
import socket

import pytest

from integration.harness import (AUTH_HINT, ORG_ID, ORG_NAME, PROJECT_ID, PROJECT_NAME, PUBLIC_KEY,
                                 SECRET_KEY, Api, basic_auth, event, uid)

# ----------------------------------------------------------------------------- health


def test_health_needs_no_auth(api):
    r = api.get("/api/public/health", auth=False)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "OK"
    assert isinstance(body["version"], str) and body["version"]
    assert r.headers["Content-Type"].startswith("application/json")


def test_health_with_database_check(api):
    r = api.get("/api/public/health", params={"failIfDatabaseUnavailable": "true"}, auth=False)
    assert r.status_code == 200
    assert r.json()["status"] == "OK"


def test_ready_needs_no_auth(api):
    r = api.get("/api/public/ready", auth=False)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "OK"
    assert isinstance(body["version"], str) and body["version"]


# ----------------------------------------------------------------------------- auth failures

PROTECTED = [
    ("GET", "/api/public/traces"),
    ("GET", "/api/public/observations"),
    ("GET", "/api/public/sessions"),
    ("GET", "/api/public/v2/scores"),
    ("GET", "/api/public/projects"),
    ("POST", "/api/public/ingestion"),
]


def _assert_401(r, hint=True):
    assert r.status_code == 401, f"{r.status_code}: {r.text[:300]}"
    body = r.json()
    assert isinstance(body.get("message"), str) and body["message"], body
    if hint:
        # apiAuth.ts: a credential check that fails inside the verification gives
        # "<error>. Confirm that you've configured the correct host."
        assert body["message"].endswith(AUTH_HINT), body["message"]


@pytest.mark.parametrize("method,path", PROTECTED)
def test_no_authorization_header_is_401(api, method, path):
    kw = {"json": {"batch": []}} if method == "POST" else {}
    # Langfuse answers "No authorization header" here (no host hint)
    _assert_401(api.request(method, path, auth=False, **kw), hint=False)


@pytest.mark.parametrize("auth", [
    "Basic " + base64.b64encode(f"{PUBLIC_KEY}:sk-lf-wrong".encode()).decode(),   # wrong secret
    "Basic " + base64.b64encode(b"pk-lf-unknown:sk-lf-unknown").decode(),         # unknown key pair
    "Basic !!!not-base64!!!",                                                     # garbage
    "Basic " + base64.b64encode(b"no-colon-here").decode(),                       # no separator
    "Basic " + base64.b64encode(f"{PUBLIC_KEY}:".encode()).decode(),              # empty password
    "Basic " + base64.b64encode(f":{SECRET_KEY}".encode()).decode(),              # empty username
])
@pytest.mark.parametrize("method,path", [("GET", "/api/public/traces"), ("POST", "/api/public/ingestion")])
def test_bad_credentials_are_401(api, auth, method, path):
    kw = {"json": {"batch": []}} if method == "POST" else {}
    _assert_401(api.request(method, path, auth=auth, **kw))


@pytest.mark.parametrize("auth", ["Basic", "Token abc", "basic-ish"])
def test_unusable_authorization_header_is_401(api, auth):
    # Langfuse: "Invalid authorization header" (no host hint)
    _assert_401(api.get("/api/public/traces", auth=auth), hint=False)


def test_valid_basic_auth_is_accepted(api):
    assert api.get("/api/public/traces").status_code == 200


def test_bearer_with_secret_or_unknown_key_is_401(api):
    _assert_401(api.post("/api/public/scores", auth=f"Bearer {SECRET_KEY}",
                         json={"traceId": uid("t"), "name": "x", "value": 1}))
    _assert_401(api.post("/api/public/scores", auth="Bearer pk-lf-nope",
                         json={"traceId": uid("t"), "name": "x", "value": 1}))


@pytest.mark.parametrize("method,path", [
    ("GET", "/api/public/traces"),
    ("GET", "/api/public/observations"),
    ("GET", "/api/public/v2/scores"),
    ("GET", "/api/public/projects"),
])
def test_bearer_public_key_is_denied_on_read_routes(api, method, path):
    """contract §1.2: Bearer gives accessLevel "scores": only POST /scores and score-create.
    Wrong access level -> 403 "Access denied - insufficient permissions for this endpoint"."""
    r = api.request(method, path, auth=f"Bearer {PUBLIC_KEY}")
    assert r.status_code == 403, f"{r.status_code}: {r.text[:300]}"
    assert r.json()["message"] == "Access denied - insufficient permissions for this endpoint"


def test_bearer_public_key_can_post_scores(api):
    trace_id = uid("trace")
    r = api.post("/api/public/scores", auth=f"Bearer {PUBLIC_KEY}",
                 json={"traceId": trace_id, "name": "bearer-score", "value": 0.25})
    assert r.status_code == 200, r.text
    score_id = r.json()["id"]
    assert isinstance(score_id, str) and score_id
    s = api.score(score_id)
    assert s["traceId"] == trace_id
    assert s["name"] == "bearer-score"
    assert s["value"] == 0.25
    assert s["dataType"] == "NUMERIC"
    assert s["source"] == "API"


def test_bearer_ingestion_only_score_create_is_allowed(api, env):
    """contract §2.1: with Bearer auth, score-create succeeds, every other type gets a
    per-event 401 {message: "Authentication error", error: "Access Scope Denied"}."""
    trace_id, score_id = uid("trace"), uid("score")
    e_trace = event("trace-create", {"id": trace_id, "name": "x", "environment": env})
    e_span = event("span-create", {"id": uid("span"), "traceId": trace_id, "environment": env})
    e_score = event("score-create", {"id": score_id, "traceId": trace_id, "name": "s", "value": 1,
                                     "environment": env})
    r = api.ingest([e_trace, e_span, e_score], auth=f"Bearer {PUBLIC_KEY}")
    assert r.status_code == 207, r.text
    body = r.json()
    assert [s["id"] for s in body["successes"]] == [e_score["id"]]
    assert body["successes"][0]["status"] == 201
    errs = {e["id"]: e for e in body["errors"]}
    assert set(errs) == {e_trace["id"], e_span["id"]}
    for e in errs.values():
        assert e["status"] == 401
        assert e["message"] == "Authentication error"
        assert e["error"] == "Access Scope Denied"
    assert api.score(score_id)["traceId"] == trace_id
    assert api.get(f"/api/public/traces/{trace_id}").status_code == 404


def test_post_scores_with_basic_auth_and_given_id(api):
    trace_id, score_id = uid("trace"), uid("score")
    r = api.post("/api/public/scores", json={"id": score_id, "traceId": trace_id, "name": "acc",
                                             "value": "good", "comment": "ok"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": score_id}
    s = api.score(score_id)
    assert s["dataType"] == "CATEGORICAL"
    assert s["stringValue"] == "good"
    assert s["comment"] == "ok"


def test_post_scores_invalid_body_is_400(api):
    r = api.post("/api/public/scores", json={"traceId": uid("t"), "value": 1})  # no name
    assert r.status_code == 400, r.text
    assert "message" in r.json()


# ----------------------------------------------------------------------------- projects


def test_get_projects_shape(api):
    r = api.get("/api/public/projects")
    assert r.status_code == 200
    body = r.json()
    assert body == {"data": [{
        "id": PROJECT_ID,
        "name": PROJECT_NAME,
        "organization": {"id": ORG_ID, "name": ORG_NAME},
        "metadata": {},
    }]}, body  # retentionDays omitted when not configured (contract §2.6)


# ----------------------------------------------------------------------------- transport


def test_cors_preflight_reflects_origin(api):
    origin = "http://app.example.test:5173"
    r = api.request("OPTIONS", "/api/public/ingestion", auth=False, headers={
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-langfuse-sdk-name",
    })
    assert r.status_code in (200, 204), f"{r.status_code}: {r.text[:200]}"
    assert r.headers.get("Access-Control-Allow-Origin") == origin
    methods = r.headers.get("Access-Control-Allow-Methods", "").upper()
    assert "POST" in methods, r.headers
    allowed = r.headers.get("Access-Control-Allow-Headers", "").lower()
    for h in ("authorization", "content-type", "x-langfuse-sdk-name"):
        assert h in allowed or allowed == "*", r.headers
    # credentials: false
    assert r.headers.get("Access-Control-Allow-Credentials", "false").lower() != "true"


def test_cors_actual_request_reflects_origin(api):
    origin = "https://ui.example.test"
    r = api.get("/api/public/traces", headers={"Origin": origin})
    assert r.status_code == 200
    assert r.headers.get("Access-Control-Allow-Origin") == origin


def test_underscore_sdk_headers_are_accepted(api, env):
    """Python SDK v2 sends x_langfuse_sdk_name etc. with underscores (contract §1.2)."""
    trace_id = uid("trace")
    batch = [event("trace-create", {"id": trace_id, "name": "underscored", "environment": env})]
    api.ingest_ok(batch, headers={"x_langfuse_sdk_name": "python", "x_langfuse_sdk_version": "2.60.10",
                                  "x_langfuse_public_key": PUBLIC_KEY})
    assert api.trace(trace_id)["name"] == "underscored"


def test_keep_alive_serves_many_requests_on_one_connection(loupe):
    conn = http.client.HTTPConnection("127.0.0.1", loupe.port, timeout=10)
    conn.connect()
    sock_before = conn.sock
    local = conn.sock.getsockname()
    for i in range(5):
        conn.request("GET", "/api/public/traces?limit=1", headers={"Authorization": basic_auth()})
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, body[:200]
        assert (resp.getheader("Connection") or "").lower() != "close"
        assert not resp.will_close
        # a POST with a body in the middle
        conn.request("POST", "/api/public/ingestion", body=b'{"batch":[]}',
                     headers={"Authorization": basic_auth(), "Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 207
    assert conn.sock is sock_before and conn.sock.getsockname() == local
    conn.close()


def test_pipelined_requests_get_answers_in_order(loupe):
    """Two requests written back-to-back before reading (HTTP/1.1 pipelining)."""
    auth = basic_auth()
    req = (f"GET /api/public/health HTTP/1.1\r\nHost: x\r\n\r\n"
           f"GET /api/public/projects HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", loupe.port), timeout=10) as s:
        s.sendall(req)
        f = s.makefile("rb")
        statuses = []
        bodies = []
        for _ in range(2):
            status = f.readline().split()[1]
            headers = {}
            while True:
                line = f.readline()
                if line in (b"\r\n", b""):
                    break
                k, v = line.decode().split(":", 1)
                headers[k.strip().lower()] = v.strip()
            if "content-length" in headers:
                bodies.append(f.read(int(headers["content-length"])))
            else:  # chunked
                assert headers.get("transfer-encoding", "").lower() == "chunked", headers
                data = b""
                while True:
                    n = int(f.readline().strip().split(b";")[0], 16)
                    if n == 0:
                        f.readline()
                        break
                    data += f.read(n)
                    f.readline()
                bodies.append(data)
            statuses.append(int(status))
    assert statuses == [200, 200]
    assert b'"status"' in bodies[0]
    assert PROJECT_ID.encode() in bodies[1]


def test_unknown_route_is_404(api):
    r = api.get("/api/public/definitely-not-a-route")
    assert r.status_code == 404


def test_other_client_sees_no_data_with_wrong_key(loupe):
    """A wrong key must never read data (no fallback to a default project)."""
    bad = Api(loupe.url, auth=basic_auth("pk-lf-test", "sk-lf-wrong"))
    assert bad.get("/api/public/traces").status_code == 401


def _read_response(f) -> tuple[int, bytes]:
    status = int(f.readline().split()[1])
    length = 0
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        k, v = line.decode().split(":", 1)
        if k.strip().lower() == "content-length":
            length = int(v)
    return status, f.read(length)


def _large_batch(trace_ids: list[str]) -> bytes:
    """An ingestion body of ~300 KB (large bodies are read on their own path)."""
    import json
    padding = "x" * 1000
    batch = [event("trace-create", {"id": t, "name": "large-body", "metadata": {"pad": padding}})
             for t in trace_ids]
    batch += [event("event-create", {"id": uid("ev"), "traceId": trace_ids[0],
                                     "input": padding * 3}) for _ in range(90)]
    return json.dumps({"batch": batch}).encode()


def test_large_body_sent_in_slow_pieces_is_read_whole(loupe, api):
    """A body of known length that arrives in pieces with pauses in between."""
    traces = [uid("slow") for _ in range(5)]
    body = _large_batch(traces)
    assert len(body) > 256 * 1024
    head = (f"POST /api/public/ingestion HTTP/1.1\r\nHost: x\r\nAuthorization: {basic_auth()}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", loupe.port), timeout=20) as s:
        s.sendall(head + body[:1000])
        import time
        for start in range(1000, len(body), 70_000):
            time.sleep(0.15)
            s.sendall(body[start:start + 70_000])
        status, answer = _read_response(s.makefile("rb"))
    assert status == 207, answer
    for t in traces:
        assert api.get(f"/api/public/traces/{t}").status_code == 200


def test_request_pipelined_after_a_large_body_is_answered(loupe):
    """The bytes after a large body belong to the next request, not the body."""
    body = _large_batch([uid("pipe")])
    auth = basic_auth()
    req = (f"POST /api/public/ingestion HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    req += body + b"GET /api/public/health HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", loupe.port), timeout=20) as s:
        s.sendall(req)
        f = s.makefile("rb")
        first, _ = _read_response(f)
        second, health = _read_response(f)
    assert (first, second) == (207, 200)
    assert b'"status"' in health


def test_large_body_cut_short_stores_nothing_and_server_keeps_serving(loupe, api):
    """A client that declares a large body and disconnects half way."""
    trace = uid("cut")
    body = _large_batch([trace])
    head = (f"POST /api/public/ingestion HTTP/1.1\r\nHost: x\r\nAuthorization: {basic_auth()}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", loupe.port), timeout=10) as s:
        s.sendall(head + body[: len(body) // 2])
    assert api.get("/api/public/health").status_code == 200
    assert api.get(f"/api/public/traces/{trace}").status_code == 404
