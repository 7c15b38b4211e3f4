"""The advanced `filter` query parameter of GET /traces, /observations and /v2/scores
(contract §1.5): a JSON array of {type, column, operator, value} conditions that must all hold."""

from __future__ import annotations

import json

import pytest

from integration.harness import at, event, parse_iso, uid

BASE = parse_iso("2025-03-01T10:00:00Z")


@pytest.fixture
def data(api, env):
    p = uid("f")
    t = [f"{p}-t{i}" for i in range(4)]
    api.ingest_ok([
        event("trace-create", {"id": t[0], "name": "alpha", "userId": f"{p}-alice", "tags": ["a", "b"],
                               "environment": env}, timestamp=at(BASE, 0)),
        event("trace-create", {"id": t[1], "name": "beta", "userId": f"{p}-bob", "tags": ["b"],
                               "sessionId": f"{p}-s", "environment": env}, timestamp=at(BASE, 1000)),
        event("trace-create", {"id": t[2], "name": "alphabet", "tags": [], "environment": env},
              timestamp=at(BASE, 2000)),
        event("trace-create", {"id": t[3], "name": "gamma", "userId": f"{p}-alice", "tags": ["c"],
                               "environment": env}, timestamp=at(BASE, 3000)),
        event("generation-create", {"id": f"{p}-g1", "traceId": t[0], "name": "llm", "model": "gpt-4o",
                                    "usage": {"input": 1000, "output": 100}, "environment": env,
                                    "startTime": at(BASE, 0), "endTime": at(BASE, 1500)}, timestamp=at(BASE, 0)),
        event("span-create", {"id": f"{p}-s1", "traceId": t[1], "name": "retrieve", "environment": env,
                              "startTime": at(BASE, 1000), "endTime": at(BASE, 1100)}, timestamp=at(BASE, 1000)),
        event("score-create", {"id": f"{p}-sc1", "traceId": t[0], "name": "quality", "value": 0.9,
                               "environment": env}, timestamp=at(BASE, 10)),
        event("score-create", {"id": f"{p}-sc2", "traceId": t[1], "name": "quality", "value": 0.2,
                               "environment": env}, timestamp=at(BASE, 20)),
    ])
    return p, t, env


def ids(api, path, env, filt, key="id"):
    body = api.get_json(path, {"environment": env, "filter": json.dumps(filt), "limit": 100})
    return sorted(item[key] for item in body["data"])


def test_trace_string_and_options_filters(api, data):
    p, t, env = data
    assert ids(api, "/api/public/traces", env,
               [{"type": "string", "column": "name", "operator": "starts with", "value": "alpha"}]) == [t[0], t[2]]
    assert ids(api, "/api/public/traces", env,
               [{"type": "string", "column": "name", "operator": "contains", "value": "am"}]) == [t[3]]
    assert ids(api, "/api/public/traces", env,
               [{"type": "string", "column": "name", "operator": "does not contain", "value": "alpha"}]) == [t[1], t[3]]
    assert ids(api, "/api/public/traces", env,
               [{"type": "string", "column": "name", "operator": "ends with", "value": "bet"}]) == [t[2]]
    assert ids(api, "/api/public/traces", env,
               [{"type": "stringOptions", "column": "userId", "operator": "any of", "value": [f"{p}-alice"]}]) == [t[0], t[3]]
    assert ids(api, "/api/public/traces", env,
               [{"type": "null", "column": "userId", "operator": "is null", "value": ""}]) == [t[2]]


def test_trace_tag_filters(api, data):
    p, t, env = data
    tags = lambda op, v: ids(api, "/api/public/traces", env,  # noqa: E731
                             [{"type": "arrayOptions", "column": "tags", "operator": op, "value": v}])
    assert tags("any of", ["a", "c"]) == [t[0], t[3]]
    assert tags("all of", ["a", "b"]) == [t[0]]
    assert tags("none of", ["b"]) == [t[2], t[3]]


def test_trace_datetime_and_number_filters(api, data):
    p, t, env = data
    assert ids(api, "/api/public/traces", env,
               [{"type": "datetime", "column": "timestamp", "operator": ">=", "value": "2025-03-01T10:00:01Z"},
                {"type": "datetime", "column": "timestamp", "operator": "<", "value": "2025-03-01T10:00:03Z"}]) == [t[1], t[2]]
    # gpt-4o: 1000 * 2.5e-6 + 100 * 1e-5 = 0.0035 on t0 only
    assert ids(api, "/api/public/traces", env,
               [{"type": "number", "column": "totalCost", "operator": ">", "value": 0.003}]) == [t[0]]
    assert ids(api, "/api/public/traces", env,
               [{"type": "number", "column": "latency", "operator": ">=", "value": 1.5}]) == [t[0]]


def test_observation_and_score_filters(api, data):
    p, t, env = data
    assert ids(api, "/api/public/observations", env,
               [{"type": "stringOptions", "column": "type", "operator": "any of", "value": ["GENERATION"]}]) == [f"{p}-g1"]
    assert ids(api, "/api/public/observations", env,
               [{"type": "number", "column": "totalTokens", "operator": "=", "value": 1100}]) == [f"{p}-g1"]
    assert ids(api, "/api/public/v2/scores", env,
               [{"type": "number", "column": "value", "operator": ">", "value": 0.5}]) == [f"{p}-sc1"]


@pytest.mark.parametrize("filt,reason", [
    ("not json", "Invalid JSON in filter parameter"),
    (json.dumps({"type": "string"}), "array"),
    (json.dumps([{"type": "string", "column": "input", "operator": "=", "value": "x"}]), "cannot be filtered"),
    (json.dumps([{"type": "string", "column": "name", "operator": "~", "value": "x"}]), "not valid"),
    (json.dumps([{"type": "number", "column": "totalCost", "operator": ">", "value": "x"}]), "number"),
])
def test_bad_filters_are_400_with_reason(api, filt, reason):
    r = api.get("/api/public/traces", params={"filter": filt})
    assert r.status_code == 400, r.text
    assert reason in r.json()["message"]
