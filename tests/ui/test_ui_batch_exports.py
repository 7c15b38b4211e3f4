"""Batch exports from the web UI (POST /api/ui/projects/{id}/batch-exports):
the traces (or scores) of the list's filters written as CSV or JSON Lines to
the data dir's blob directory, downloaded through the signed, expiring link
the answer carries; roles, project isolation and request validation."""

from __future__ import annotations

import csv
import io
import json

import pytest
import requests

from integration.harness import PROJECT_ID, Api, at, event, now_utc, uid
from ui.ui_helpers import UiClient, add_member, ingest, start_ui_server

TRICKY = 'a "quoted", comma\nand a second line'






def env_filter(env: str) -> str:
    return json.dumps([{"type": "string", "column": "environment", "operator": "=", "value": env}])


@pytest.fixture(scope="module")
def exported(ui_server):
    """Five traces in an environment of their own (one with a comma, quote and
    newline in its name, input and metadata, and a score), two elsewhere."""
    base = now_utc()
    env = "exp-" + uid("e")[-8:]
    ids = [uid(f"exp{i}") for i in range(5)]
    batch = []
    for i, tid in enumerate(ids):
        body = {"id": tid, "name": f"export-{i}", "timestamp": at(base, -50000 + i * 1000),
                "userId": f"user-{i}", "sessionId": f"{env}-s", "environment": env, "release": "r1",
                "version": "v2", "tags": ["b", "a"], "input": {"q": i}, "output": f"answer {i}",
                "metadata": {"k": i}}
        if i == 2:
            body.update(name=TRICKY, input=TRICKY, metadata={"note": TRICKY})
        batch.append(event("trace-create", body))
        batch.append(event("span-create", {"id": uid("sp"), "traceId": tid, "name": "s", "environment": env,
                                           "startTime": at(base, -50000 + i * 1000),
                                           "endTime": at(base, -50000 + i * 1000 + 250)}))
    batch.append(event("score-create", {"id": uid("sc"), "traceId": ids[2], "name": "quality", "value": 0.5,
                                        "environment": env}))
    for i in range(2):
        batch.append(event("trace-create", {"id": uid("other"), "name": "other", "environment": env + "-x"}))
    ingest(ui_server.url, batch)
    return {"env": env, "ids": ids}


def owner(ui_server) -> UiClient:
    c = UiClient(ui_server.url)
    c.sign_in()
    return c


def create(c: UiClient, project: str = PROJECT_ID, **body) -> requests.Response:
    return c.post(f"/api/ui/projects/{project}/batch-exports", {"table": "traces", **body})


def test_csv_export_of_the_filtered_traces_downloads_through_its_link(ui_server, exported):
    c = owner(ui_server)
    r = create(c, format="csv", filter=env_filter(exported["env"]), orderBy="timestamp", order="asc")
    assert r.status_code == 201, r.text
    e = r.json()
    assert e["status"] == "completed" and e["rows"] == 5 and e["truncated"] is False
    assert e["rowLimit"] == 1000000 and e["format"] == "csv" and e["id"]
    assert e["expiresAt"].endswith("Z") and e["url"].startswith(ui_server.url + "/api/ui/batch-exports/download/")
    # The link needs no session: it is the authorization.
    d = requests.get(e["url"], timeout=30)
    assert d.status_code == 200, d.text
    assert d.headers["Content-Type"].startswith("text/csv")
    assert e["fileName"] in d.headers["Content-Disposition"]
    assert b"\r\n" in d.content
    rows = list(csv.DictReader(io.StringIO(d.content.decode(), newline="")))
    assert list(rows[0].keys()) == ["id", "timestamp", "name", "userId", "sessionId", "release", "version",
                                    "environment", "tags", "latency", "totalCost", "input", "output", "metadata"]
    assert [x["id"] for x in rows] == exported["ids"]
    first, tricky = rows[0], rows[2]
    assert first["name"] == "export-0" and first["userId"] == "user-0"
    assert first["sessionId"] == f"{exported['env']}-s" and first["environment"] == exported["env"]
    assert first["release"] == "r1" and first["version"] == "v2"
    assert sorted(json.loads(first["tags"])) == ["a", "b"]
    assert float(first["latency"]) == pytest.approx(0.25) and float(first["totalCost"]) == 0
    assert json.loads(first["input"]) == {"q": 0} and first["output"] == "answer 0"
    assert json.loads(first["metadata"]) == {"k": 0}
    assert first["timestamp"].endswith("Z")
    assert tricky["name"] == TRICKY and tricky["input"] == TRICKY
    assert json.loads(tricky["metadata"]) == {"note": TRICKY}


def test_jsonl_export_has_the_public_api_trace_objects(ui_server, exported):
    c = owner(ui_server)
    r = create(c, format="jsonl", filter=json.loads(env_filter(exported["env"])))
    assert r.status_code == 201, r.text
    e = r.json()
    assert e["rows"] == 5 and e["fileName"].endswith(".jsonl")
    d = requests.get(e["url"], timeout=30)
    assert d.status_code == 200 and d.headers["Content-Type"].startswith("application/x-ndjson")
    lines = d.text.splitlines()
    assert len(lines) == 5 and d.text.endswith("\n")
    got = {t["id"]: t for t in map(json.loads, lines)}
    # Newest first, as the list shows them by default.
    assert [json.loads(x)["id"] for x in lines] == list(reversed(exported["ids"]))
    public = Api(ui_server.url).get("/api/public/traces", params={"environment": exported["env"], "limit": 50})
    assert public.status_code == 200, public.text
    for t in public.json()["data"]:
        assert got[t["id"]] == t
    tricky = got[exported["ids"][2]]
    assert tricky["name"] == TRICKY and tricky["input"] == TRICKY and len(tricky["scores"]) == 1
    assert len(tricky["observations"]) == 1


def test_search_and_filters_narrow_the_export(ui_server, exported):
    c = owner(ui_server)
    r = create(c, format="csv", filter=env_filter(exported["env"]), search="second line")
    assert r.status_code == 201, r.text
    rows = list(csv.DictReader(io.StringIO(requests.get(r.json()["url"], timeout=30).text, newline="")))
    assert [x["id"] for x in rows] == [exported["ids"][2]]
    nothing = json.dumps([{"type": "string", "column": "environment", "operator": "=", "value": "no-such-env"}])
    r = create(c, format="jsonl", filter=nothing)
    assert r.status_code == 201 and r.json()["rows"] == 0
    assert requests.get(r.json()["url"], timeout=30).text == ""


def test_members_export_viewers_cannot_and_other_projects_are_not_found(ui_server, exported):
    user_client = UiClient(ui_server.url)
    user = user_client.sign_up()["user"]
    assert create(user_client, format="csv").status_code == 404  # not a member
    add_member(ui_server.url, user["id"], "VIEWER")
    r = create(user_client, format="csv", filter=env_filter(exported["env"]))
    assert r.status_code == 403, r.text
    add_member(ui_server.url, user["id"], "MEMBER")
    r = create(user_client, format="csv", filter=env_filter(exported["env"]))
    assert r.status_code == 201 and r.json()["rows"] == 5

    # Another organization's project: 404, and nothing of it leaks.
    alice = UiClient(ui_server.url)
    alice.sign_up()
    org = alice.post("/api/ui/organizations", {"name": "Export Org"}).json()
    project = alice.post(f"/api/ui/organizations/{org['id']}/projects", {"name": "Private"}).json()
    key = alice.post(f"/api/ui/projects/{project['id']}/api-keys", {}).json()
    ingest(ui_server.url, [event("trace-create", {"id": uid("priv"), "name": "private-trace"})],
           key["publicKey"], key["secretKey"])
    r = create(owner(ui_server), project["id"], format="csv")
    assert r.status_code == 404 and "private-trace" not in r.text
    mine = create(alice, project["id"], format="csv")
    assert mine.status_code == 201 and mine.json()["rows"] == 1
    assert "private-trace" in requests.get(mine.json()["url"], timeout=30).text
    # Signed out: 401.
    assert create(UiClient(ui_server.url), format="csv").status_code == 401


def test_bad_requests_and_tampered_links_are_refused(ui_server, exported):
    c = owner(ui_server)
    for body, field in (({"format": "xlsx"}, "format"), ({"format": None}, "format"),
                        ({"format": "csv", "orderBy": "nope"}, "orderBy"),
                        ({"format": "csv", "filter": "not json"}, "filter")):
        r = create(c, **body)
        assert r.status_code == 400 and field in r.json()["message"], (body, r.text)
    r = c.post(f"/api/ui/projects/{PROJECT_ID}/batch-exports", {"table": "sessions", "format": "csv"})
    assert r.status_code == 400 and "table" in r.json()["message"]
    r = c.post(f"/api/ui/projects/{PROJECT_ID}/batch-exports", {"table": "traces", "format": "csv"},
               headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    url = create(c, format="csv", filter=env_filter(exported["env"])).json()["url"]
    token = url.rsplit("/", 1)[1]
    payload, expiry, mac = token.split(".")
    for bad in (f"{payload}.{int(expiry) + 1000}.{mac}", f"{payload}.{expiry}.{mac[:-2]}AA", "garbage"):
        r = requests.get(url.rsplit("/", 1)[0] + "/" + bad, timeout=30)
        assert r.status_code == 403, bad


def test_the_row_limit_truncates_the_file_and_says_so(tmp_root):
    srv = start_ui_server(tmp_root, "ui-export-limit", {"BATCH_EXPORT_ROW_LIMIT": "3"})
    try:
        ingest(srv.url, [event("trace-create", {"id": uid("lim"), "name": f"n{i}"}) for i in range(5)])
        c = UiClient(srv.url)
        c.sign_in()
        r = create(c, format="jsonl")
        assert r.status_code == 201, r.text
        e = r.json()
        assert e["rows"] == 3 and e["rowLimit"] == 3 and e["truncated"] is True
        assert len(requests.get(e["url"], timeout=30).text.splitlines()) == 3
    finally:
        assert srv.stop() == 0, srv.log_tail()


def test_scores_export_with_the_scores_list_filters(ui_server, exported):
    base = now_utc()
    name = "exp-score-" + uid("n")[-8:]
    tid = exported["ids"][0]
    ids = [uid("sc") for _ in range(4)]
    # A score's time is its event's: one second apart, so that the order is by time alone.
    batch = [event("score-create", {"id": sid, "traceId": tid, "name": name, "value": i * 0.5,
                                    "comment": TRICKY if i == 1 else "c", "metadata": {"i": i}},
                   timestamp=at(base, -10000 + i * 1000))
             for i, sid in enumerate(ids)]
    batch.append(event("score-create", {"id": uid("sc"), "traceId": tid, "name": name + "-other", "value": 1}))
    ingest(ui_server.url, batch)
    c = owner(ui_server)
    r = c.post(f"/api/ui/projects/{PROJECT_ID}/batch-exports",
               {"table": "scores", "format": "csv", "name": name, "operator": ">=", "value": 0.5})
    assert r.status_code == 201, r.text
    e = r.json()
    assert e["rows"] == 3 and e["table"] == "scores" and e["fileName"].startswith("scores-")
    rows = list(csv.DictReader(io.StringIO(requests.get(e["url"], timeout=30).content.decode(), newline="")))
    assert list(rows[0].keys()) == ["id", "timestamp", "name", "value", "stringValue", "dataType", "source",
                                    "traceId", "observationId", "sessionId", "datasetRunId", "environment",
                                    "comment", "configId", "metadata"]
    # Newest first, as the scores list shows them.
    assert [x["id"] for x in rows] == [ids[3], ids[2], ids[1]]
    by_id = {x["id"]: x for x in rows}
    assert [float(by_id[i]["value"]) for i in ids[1:]] == [0.5, 1.0, 1.5]
    assert by_id[ids[1]]["comment"] == TRICKY and json.loads(by_id[ids[1]]["metadata"]) == {"i": 1}
    assert all(x["traceId"] == tid and x["dataType"] == "NUMERIC" and x["source"] == "API" for x in rows)

    r = c.post(f"/api/ui/projects/{PROJECT_ID}/batch-exports", {"table": "scores", "format": "jsonl", "name": name})
    assert r.status_code == 201, r.text
    lines = [json.loads(x) for x in requests.get(r.json()["url"], timeout=30).text.splitlines()]
    listed = c.get(f"/api/ui/projects/{PROJECT_ID}/scores", params={"name": name}).json()["data"]
    assert lines == listed and len(lines) == 4
    r = c.post(f"/api/ui/projects/{PROJECT_ID}/batch-exports", {"table": "scores", "format": "csv", "source": "NOPE"})
    assert r.status_code == 400 and "source" in r.json()["message"]
