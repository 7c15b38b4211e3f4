"""GET /api/public/v3/scores (contract §4.4): cursor paging, comma-list filters,
value filters tied to dataType, typed `value`, field groups (details, subject,
annotation), validation, and bodies valid against the spec's GetScoresV3Response."""

from __future__ import annotations

import pytest

from conformance import openapi_spec
from integration.harness import at, event, parse_iso, uid

PATH = "/api/public/v3/scores"
BASE = parse_iso("2025-05-01T10:00:00Z")


def check_schema(body: dict) -> None:
    schema = openapi_spec.response_schema("get", PATH, 200)
    errs = openapi_spec.errors(schema, body)
    assert not errs, "\n".join(errs)


def walk(api, params: dict) -> list[dict]:
    out: list[dict] = []
    cursor = None
    for _ in range(100):
        p = dict(params)
        if cursor:
            p["cursor"] = cursor
        body = api.get_json(PATH, p)
        check_schema(body)
        assert body["meta"]["limit"] == int(params.get("limit", 50))
        out.extend(body["data"])
        cursor = body["meta"].get("cursor")
        if not cursor:
            return out
    raise AssertionError("cursor never ends")


@pytest.fixture
def data(api, env):
    p = uid("s3")
    t1, t2 = f"{p}-t1", f"{p}-t2"
    batch = [
        event("trace-create", {"id": t1, "environment": env}, timestamp=at(BASE, 0)),
        event("trace-create", {"id": t2, "environment": env}, timestamp=at(BASE, 0)),
        event("span-create", {"id": f"{p}-o1", "traceId": t1, "environment": env,
                              "startTime": at(BASE, 0)}, timestamp=at(BASE, 0)),
    ]
    # 17 numeric trace scores; pairs share a timestamp so ties must be broken.
    for i in range(17):
        batch.append(event("score-create", {"id": f"{p}-n{i:02d}", "traceId": t1 if i % 2 else t2,
                                            "name": "quality", "value": float(i), "environment": env,
                                            "comment": f"c{i}", "metadata": {"i": i}},
                           timestamp=at(BASE, (i // 2) * 1000)))
    batch += [
        event("score-create", {"id": f"{p}-b1", "traceId": t1, "observationId": f"{p}-o1", "name": "ok",
                               "value": 1, "dataType": "BOOLEAN", "environment": env}, timestamp=at(BASE, 50000)),
        event("score-create", {"id": f"{p}-b0", "traceId": t1, "name": "ok", "value": 0,
                               "dataType": "BOOLEAN", "environment": env}, timestamp=at(BASE, 50001)),
        event("score-create", {"id": f"{p}-c1", "sessionId": f"{p}-sess", "name": "tone", "value": "polite",
                               "dataType": "CATEGORICAL", "environment": env, "source": "EVAL"}, timestamp=at(BASE, 50002)),
        event("score-create", {"id": f"{p}-x1", "datasetRunId": f"{p}-run", "name": "note", "value": "fine",
                               "dataType": "TEXT", "environment": env}, timestamp=at(BASE, 50003)),
    ]
    api.ingest_ok(batch)
    return p, t1, t2, env


def test_cursor_pages_return_every_item_once(api, data):
    p, _, _, env = data
    items = walk(api, {"environment": env, "limit": 4})
    ids = [s["id"] for s in items]
    assert len(ids) == len(set(ids)) == 21
    times = [parse_iso(s["timestamp"]) for s in items]
    assert times == sorted(times, reverse=True)
    body = api.get_json(PATH, {"environment": env, "limit": 100})
    assert len(body["data"]) == 21 and "cursor" not in body["meta"]


def test_typed_values_and_core_fields(api, data):
    p, _, _, env = data
    by_id = {s["id"]: s for s in walk(api, {"environment": env, "limit": 100})}
    assert by_id[f"{p}-n03"]["value"] == 3.0 and by_id[f"{p}-n03"]["dataType"] == "NUMERIC"
    assert by_id[f"{p}-b1"]["value"] is True and by_id[f"{p}-b0"]["value"] is False
    assert by_id[f"{p}-c1"]["value"] == "polite"
    assert by_id[f"{p}-x1"]["value"] == "fine"
    s = by_id[f"{p}-n03"]
    assert s["source"] == "API" and s["environment"] == env and s["projectId"]
    for absent in ("comment", "metadata", "subject", "authorUserId", "queueId", "stringValue"):
        assert absent not in s, absent


def test_field_groups_and_subjects(api, data):
    p, t1, _, env = data
    by_id = {s["id"]: s for s in walk(api, {"environment": env, "limit": 100,
                                            "fields": "details,subject,annotation"})}
    n = by_id[f"{p}-n03"]
    assert n["comment"] == "c3" and n["metadata"] == {"i": 3} and n["configId"] is None
    assert n["authorUserId"] is None and n["queueId"] is None
    assert n["subject"] == {"kind": "trace", "id": t1}
    assert by_id[f"{p}-b1"]["subject"] == {"kind": "observation", "id": f"{p}-o1", "traceId": t1}
    assert by_id[f"{p}-c1"]["subject"] == {"kind": "session", "id": f"{p}-sess"}
    assert by_id[f"{p}-x1"]["subject"] == {"kind": "experiment", "id": f"{p}-run"}


def test_filters(api, data):
    p, t1, t2, env = data
    ids = lambda params: {s["id"] for s in walk(api, {"environment": env, "limit": 3, **params})}  # noqa: E731
    assert ids({"traceId": t2}) == {f"{p}-n{i:02d}" for i in range(0, 17, 2)}
    assert ids({"traceId": f"{t1},{t2}", "name": "ok"}) == {f"{p}-b1", f"{p}-b0"}
    assert ids({"traceId": t1, "observationId": f"{p}-o1"}) == {f"{p}-b1"}
    assert ids({"sessionId": f"{p}-sess"}) == {f"{p}-c1"}
    assert ids({"experimentId": f"{p}-run"}) == {f"{p}-x1"}
    assert ids({"source": "eval"}) == {f"{p}-c1"}
    assert ids({"dataType": "boolean,text"}) == {f"{p}-b1", f"{p}-b0", f"{p}-x1"}
    assert ids({"id": f"{p}-n01,{p}-n02"}) == {f"{p}-n01", f"{p}-n02"}
    assert ids({"dataType": "NUMERIC", "value": "3,4.0"}) == {f"{p}-n03", f"{p}-n04"}
    assert ids({"dataType": "NUMERIC", "valueMin": "14", "valueMax": "15.5"}) == {f"{p}-n14", f"{p}-n15"}
    assert ids({"dataType": "BOOLEAN", "value": "true"}) == {f"{p}-b1"}
    assert ids({"dataType": "CATEGORICAL", "value": "polite"}) == {f"{p}-c1"}
    assert ids({"fromTimestamp": at(BASE, 1000), "toTimestamp": at(BASE, 3000)}) == {
        f"{p}-n{i:02d}" for i in range(2, 6)}
    assert ids({"environment": f"{env}-none"}) == set()


@pytest.mark.parametrize("params,needle", [
    ({"limit": "0"}, "limit"),
    ({"limit": "101"}, "limit"),
    ({"cursor": "%%%"}, "cursor"),
    ({"fields": "details,everything"}, "fields"),
    ({"source": "HUMAN"}, "source"),
    ({"dataType": "FLOAT"}, "dataType"),
    ({"value": "1"}, "value"),
    ({"value": "1", "dataType": "TEXT"}, "value"),
    ({"value": "1", "dataType": "NUMERIC,BOOLEAN"}, "value"),
    ({"value": "abc", "dataType": "NUMERIC"}, "value"),
    ({"value": "yes", "dataType": "BOOLEAN"}, "value"),
    ({"valueMin": "1"}, "valueMin"),
    ({"valueMax": "1", "dataType": "BOOLEAN"}, "valueMax"),
    ({"valueMin": "nan", "dataType": "NUMERIC"}, "valueMin"),
    ({"observationId": "o"}, "observationId"),
    ({"sessionId": "s", "traceId": "t"}, "sessionId"),
    ({"experimentId": "e", "traceId": "t"}, "experimentId"),
    ({"fromTimestamp": "soon"}, "fromTimestamp"),
])
def test_invalid_parameters_are_400(api, params, needle):
    r = api.get(PATH, params=params)
    assert r.status_code == 400, r.text
    assert needle in r.json()["message"]


def test_requires_project_key(api):
    assert api.get(PATH, auth=False).status_code == 401
