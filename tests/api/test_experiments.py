"""The experiments read API over HTTP against the real binary: GET /api/public/experiments
and /api/public/experiment-items (contract §4.11, shapes of the OpenAPI spec). An
experiment is a dataset run; its items are the run items, timed by the trace or
observation they link to. Time windows, field groups, id/name/dataset filters, the JSON
filter, cursor paging and bad input."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from integration.harness import at, basic_auth, event, iso, now_utc, parse_iso, uid

EXPERIMENT_CORE = ["id", "name", "description", "startTime", "endTime", "itemCount", "datasetId"]
ITEM_CORE = ["id", "traceId", "startTime", "endTime", "level", "environment", "experimentId",
             "experimentName", "experimentItemId"]


def post_ok(api, path, body):
    r = api.post(path, json=body)
    assert r.status_code in (200, 201), f"{path}: {r.status_code} {r.text}"
    return r.json()


def ms(iso_text: str) -> int:
    return int(parse_iso(iso_text).timestamp() * 1000)


@pytest.fixture(scope="module")
def world(loupe):
    """A dataset with three items and two runs over them:

    run-a: item 0 → span s0 of trace t0 (base+0..100 ms, WARNING, its own environment),
           item 1 → span s1 of trace t1 (base+1000..1100 ms);
    run-b: item 2 → trace t2 as a whole (base+2000 ms, no observations),
           item 0 → a trace that was never ingested (timed by the run item: now).
    Scores: one on s0, one on trace t0, one on run-a itself."""
    from integration.harness import Api
    api = Api(loupe.url)
    base = (now_utc() - dt.timedelta(hours=3)).replace(microsecond=0)
    env = "exp-" + uuid.uuid4().hex[:8]
    ds_name = uid("exp-ds")
    ds = post_ok(api, "/api/public/v2/datasets", {"name": ds_name})
    items = [post_ok(api, "/api/public/dataset-items", {
        "datasetName": ds_name, "id": uid(f"exp-item{i}"), "input": {"country": c},
        "expectedOutput": capital, "metadata": {"i": i}})
        for i, (c, capital) in enumerate([("France", "Paris"), ("Italy", "Rome"), ("Spain", "Madrid")])]
    t0, t1, t2, missing = (str(uuid.uuid4()) for _ in range(4))
    s0, s1 = str(uuid.uuid4()), str(uuid.uuid4())
    api.ingest_ok([
        event("trace-create", {"id": t0, "name": "task", "timestamp": at(base, 0), "environment": env}),
        event("span-create", {"id": s0, "traceId": t0, "name": "experiment-item-run", "startTime": at(base, 0),
                              "endTime": at(base, 100), "level": "WARNING", "environment": env,
                              "input": {"country": "France"}, "output": "Paris", "metadata": {"k": 0}}),
        event("trace-create", {"id": t1, "name": "task", "timestamp": at(base, 1000)}),
        event("span-create", {"id": s1, "traceId": t1, "name": "experiment-item-run",
                              "startTime": at(base, 1000), "endTime": at(base, 1100), "output": "Roma"}),
        event("trace-create", {"id": t2, "name": "task", "timestamp": at(base, 2000),
                               "input": "Spain?", "output": "Lisbon", "metadata": {"trace": True}}),
    ])
    run_a = [post_ok(api, "/api/public/dataset-run-items", {
        "runName": "run-a", "runDescription": "baseline", "metadata": {"model": "lookup"},
        "datasetItemId": items[i]["id"], "traceId": t, "observationId": o})
        for i, t, o in ((0, t0, s0), (1, t1, s1))]
    run_b = [post_ok(api, "/api/public/dataset-run-items", {"runName": "run-b", "datasetItemId": items[2]["id"],
                                                           "traceId": t2}),
             post_ok(api, "/api/public/dataset-run-items", {"runName": "run-b", "datasetItemId": items[0]["id"],
                                                           "traceId": missing})]
    # The item changes after the run: the run keeps the version it ran on.
    post_ok(api, "/api/public/dataset-items", {"datasetName": ds_name, "id": items[1]["id"],
                                               "expectedOutput": "Roma"})
    score_ids = {k: str(uuid.uuid4()) for k in ("obs", "trace", "run")}
    api.ingest_ok([
        event("score-create", {"id": score_ids["obs"], "traceId": t0, "observationId": s0, "name": "exact_match",
                               "value": 1}),
        event("score-create", {"id": score_ids["trace"], "traceId": t0, "name": "is_capital", "value": 1,
                               "dataType": "BOOLEAN"}),
    ])
    post_ok(api, "/api/public/scores", {"id": score_ids["run"], "datasetRunId": run_a[0]["datasetRunId"],
                                       "name": "accuracy", "value": 0.5})
    return {"api": api, "base": base, "env": env, "ds": ds, "items": items, "t": [t0, t1, t2, missing],
            "s": [s0, s1], "run_a": run_a, "run_b": run_b, "scores": score_ids,
            "from": iso(base - dt.timedelta(seconds=1))}


def experiments(w, status=200, **params):
    params = {"fromStartTime": w["from"], "datasetId": w["ds"]["id"], **params}
    r = w["api"].get("/api/public/experiments", params=params)
    assert r.status_code == status, r.text
    return r.json()


def experiment_items(w, status=200, **params):
    params = {"fromStartTime": w["from"], "datasetId": w["ds"]["id"], **params}
    r = w["api"].get("/api/public/experiment-items", params=params)
    assert r.status_code == status, r.text
    return r.json()


# --------------------------------------------------------------------------- experiments


def test_experiments_are_the_dataset_runs_in_the_window(world):
    w = world
    body = experiments(w)
    assert body["meta"] == {}
    run_a_id, run_b_id = w["run_a"][0]["datasetRunId"], w["run_b"][0]["datasetRunId"]
    b, a = body["data"]  # latest start first: run-b starts at base+2000 ms
    assert list(a) == EXPERIMENT_CORE
    assert (a["id"], a["name"], a["description"], a["datasetId"], a["itemCount"]) == \
        (run_a_id, "run-a", "baseline", w["ds"]["id"], 2)
    assert a["startTime"] == at(w["base"], 0)[:23] + "Z" and a["endTime"] == at(w["base"], 1100)[:23] + "Z"
    assert (b["id"], b["name"], b["description"], b["itemCount"]) == (run_b_id, "run-b", None, 2)
    assert b["startTime"] == at(w["base"], 2000)[:23] + "Z"
    # The item whose trace was never ingested counts at the time it was linked.
    assert ms(b["endTime"]) == ms(w["run_b"][1]["createdAt"])


def test_time_window_counts_only_items_inside_it(world):
    w = world
    # From base+500 ms: run-a keeps one item, and starts (clipped) at it.
    body = experiments(w, fromStartTime=at(w["base"], 500))
    a = next(x for x in body["data"] if x["name"] == "run-a")
    assert a["itemCount"] == 1 and a["startTime"] == at(w["base"], 1000)[:23] + "Z"
    # Before base+1500 ms: run-b has nothing in the window and is not listed.
    body = experiments(w, toStartTime=at(w["base"], 1500))
    assert [x["name"] for x in body["data"]] == ["run-a"]
    assert experiments(w, fromStartTime=iso(now_utc() + dt.timedelta(hours=1)))["data"] == []


def test_selection_by_id_name_and_filter(world):
    w = world
    run_b_id = w["run_b"][0]["datasetRunId"]
    assert [x["id"] for x in experiments(w, id=run_b_id)["data"]] == [run_b_id]
    assert [x["name"] for x in experiments(w, name="run-a, nope")["data"]] == ["run-a"]
    flt = [{"type": "string", "column": "name", "operator": "starts with", "value": "run-"},
           {"type": "stringOptions", "column": "id", "operator": "none of", "value": [run_b_id]}]
    assert [x["name"] for x in experiments(w, filter=json.dumps(flt))["data"]] == ["run-a"]
    assert experiments(w, datasetId=str(uuid.uuid4()))["data"] == []


def test_metadata_and_scores_field_groups(world):
    w = world
    body = experiments(w, fields="core,metadata,scores", name="run-a")
    [a] = body["data"]
    assert list(a) == EXPERIMENT_CORE + ["metadata", "scores"]
    assert a["metadata"] == {"model": "lookup"}
    [score] = a["scores"]
    assert (score["id"], score["name"], score["value"], score["dataType"]) == \
        (w["scores"]["run"], "accuracy", 0.5, "NUMERIC")
    assert score["subject"] == {"kind": "experiment", "id": a["id"]}
    assert "comment" not in score  # core and subject only
    [b] = experiments(w, fields="scores", name="run-b")["data"]
    assert b["scores"] == [] and "metadata" not in b


def test_experiments_cursor_pages(world):
    w = world
    first = experiments(w, limit=1)
    assert [x["name"] for x in first["data"]] == ["run-b"] and first["meta"]["cursor"]
    second = experiments(w, limit=1, cursor=first["meta"]["cursor"])
    assert [x["name"] for x in second["data"]] == ["run-a"] and second["meta"] == {}


@pytest.mark.parametrize("params, fragment", [
    ({"fromStartTime": None}, "fromStartTime"),
    ({"fromStartTime": "yesterday"}, "fromStartTime"),
    ({"toStartTime": "2025-13-01T00:00:00Z"}, "toStartTime"),
    ({"fields": "core,io"}, "fields"),
    ({"limit": 101}, "limit"),
    ({"limit": 0}, "limit"),
    ({"scoreLimit": 51}, "scoreLimit"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"filter": "[{"}, "filter"),
    ({"filter": json.dumps([{"type": "string", "column": "traceId", "operator": "=", "value": "x"}])}, "filter"),
])
def test_experiments_bad_input_is_400(world, params, fragment):
    w = world
    query = {"fromStartTime": w["from"], **params}
    query = {k: v for k, v in query.items() if v is not None}
    r = w["api"].get("/api/public/experiments", params=query)
    assert r.status_code == 400, r.text
    assert fragment in r.json()["message"] and r.json()["error"] == "InvalidRequestError"


def test_auth(world):
    w = world
    for path in ("/api/public/experiments", "/api/public/experiment-items"):
        r = w["api"].get(path, params={"fromStartTime": w["from"]}, auth=False)
        assert r.status_code == 401, r.text
        r = w["api"].get(path, params={"fromStartTime": w["from"]}, auth=basic_auth("pk-lf-x", "sk-lf-y"))
        assert r.status_code == 401, r.text


# --------------------------------------------------------------------------- experiment items


def test_items_default_fields_and_order(world):
    w = world
    body = experiment_items(w)
    assert body["meta"] == {}
    rows = body["data"]
    t0, t1, t2, missing = w["t"]
    s0, s1 = w["s"]
    assert [r["id"] for r in rows] == [missing, t2, s1, s0]  # latest start first
    for r in rows:
        assert list(r) == ITEM_CORE + ["experimentDatasetId", "experimentItemVersion"]
        assert r["experimentDatasetId"] == w["ds"]["id"]
    first = rows[3]
    assert (first["traceId"], first["level"], first["environment"], first["experimentName"]) == \
        (t0, "WARNING", w["env"], "run-a")
    assert first["startTime"] == at(w["base"], 0)[:23] + "Z" and first["endTime"] == at(w["base"], 100)[:23] + "Z"
    assert first["experimentItemId"] == w["items"][0]["id"]
    assert first["experimentItemVersion"] == w["items"][0]["updatedAt"]
    whole_trace = rows[1]
    assert (whole_trace["traceId"], whole_trace["endTime"], whole_trace["level"], whole_trace["environment"]) == \
        (t2, None, "DEFAULT", "default")
    assert ms(rows[0]["startTime"]) == ms(w["run_b"][1]["createdAt"]) and rows[0]["endTime"] is None


def test_items_io_metadata_and_scores(world):
    w = world
    body = experiment_items(w, fields="io,metadata,itemMetadata,experimentMetadata,scores")
    rows = {r["id"]: r for r in body["data"]}
    s0, s1 = w["s"]
    t2 = w["t"][2]
    r0 = rows[s0]
    assert list(r0) == ITEM_CORE + ["input", "output", "expectedOutput", "metadata", "experimentItemMetadata",
                                    "experimentMetadata", "experimentDescription", "scores"]
    assert (r0["input"], r0["output"], r0["expectedOutput"]) == ({"country": "France"}, "Paris", "Paris")
    assert r0["metadata"] == {"k": 0} and r0["experimentItemMetadata"] == {"i": 0}
    assert (r0["experimentMetadata"], r0["experimentDescription"]) == ({"model": "lookup"}, "baseline")
    assert sorted((s["name"], s["subject"]["kind"]) for s in r0["scores"]) == \
        [("exact_match", "observation"), ("is_capital", "trace")]
    # The run used the item before its expected output changed.
    assert (rows[s1]["output"], rows[s1]["expectedOutput"], rows[s1]["scores"]) == ("Roma", "Rome", [])
    assert (rows[t2]["input"], rows[t2]["output"], rows[t2]["metadata"]) == ("Spain?", "Lisbon", {"trace": True})
    assert rows[t2]["experimentMetadata"] == {} and rows[t2]["experimentDescription"] is None
    # scoreLimit caps the scores of each item.
    capped = experiment_items(w, fields="scores", experimentItemId=w["items"][0]["id"], scoreLimit=1)
    assert [len(r["scores"]) for r in capped["data"]] == [0, 1]


def test_items_selection(world):
    w = world
    run_a_id = w["run_a"][0]["datasetRunId"]
    s0, s1 = w["s"]
    assert [r["id"] for r in experiment_items(w, experimentId=run_a_id)["data"]] == [s1, s0]
    assert {r["experimentName"] for r in experiment_items(w, experimentName="run-b")["data"]} == {"run-b"}
    by_item = experiment_items(w, experimentItemId=w["items"][0]["id"])["data"]
    assert [(r["experimentName"], r["id"]) for r in by_item] == [("run-b", w["t"][3]), ("run-a", s0)]
    flt = [{"type": "stringOptions", "column": "experimentItemId", "operator": "any of",
            "value": [w["items"][1]["id"]]},
           {"type": "string", "column": "experimentName", "operator": "=", "value": "run-a"}]
    assert [r["id"] for r in experiment_items(w, filter=json.dumps(flt))["data"]] == [s1]
    window = experiment_items(w, fromStartTime=at(w["base"], 500), toStartTime=at(w["base"], 2000))
    assert [r["id"] for r in window["data"]] == [s1]


def test_items_cursor_walks_every_row_once(world):
    w = world
    expected = [r["id"] for r in experiment_items(w)["data"]]
    seen, cursor = [], None
    for _ in range(10):
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        body = experiment_items(w, **params)
        seen += [r["id"] for r in body["data"]]
        cursor = body["meta"].get("cursor")
        if not cursor:
            break
    assert seen == expected


@pytest.mark.parametrize("params, fragment", [
    ({"fromStartTime": None}, "fromStartTime"),
    ({"fields": "core,bogus"}, "fields"),
    ({"limit": 500}, "limit"),
    ({"cursor": "eyJ2IjoyfQ"}, "cursor"),  # {"v":2}
    ({"filter": json.dumps([{"type": "string", "column": "name", "operator": "=", "value": "x"}])}, "filter"),
])
def test_items_bad_input_is_400(world, params, fragment):
    w = world
    query = {"fromStartTime": w["from"], **params}
    query = {k: v for k, v in query.items() if v is not None}
    r = w["api"].get("/api/public/experiment-items", params=query)
    assert r.status_code == 400, r.text
    assert fragment in r.json()["message"]
