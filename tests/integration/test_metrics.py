"""Metrics API: GET /api/public/metrics (v1), /api/public/v2/metrics and the legacy
/api/public/metrics/daily, checked against values computed by hand from the ingested data."""

from __future__ import annotations

import json

import pytest

from integration.harness import at, event, parse_iso, uid

BASE = parse_iso("2025-04-01T10:00:00Z")
RANGE = {"fromTimestamp": "2025-04-01T00:00:00Z", "toTimestamp": "2025-04-03T00:00:00Z"}


@pytest.fixture
def data(api, env):
    p = uid("m")
    batch = []
    # Day 1: two traces for alice, one for bob; generations on gpt-4o and claude.
    for i, (user, name) in enumerate([("alice", "chat"), ("alice", "chat"), ("bob", "search")]):
        tid = f"{p}-t{i}"
        batch.append(event("trace-create", {"id": tid, "name": name, "userId": f"{p}-{user}", "environment": env},
                           timestamp=at(BASE, i * 1000)))
        batch.append(event("generation-create", {
            "id": f"{p}-g{i}", "traceId": tid, "name": "llm", "environment": env,
            "model": "gpt-4o" if i < 2 else "claude-3-5-sonnet-20241022",
            "startTime": at(BASE, i * 1000), "endTime": at(BASE, i * 1000 + 100 * (i + 1)),
            "usage": {"input": 100 * (i + 1), "output": 10 * (i + 1)}}, timestamp=at(BASE, i * 1000)))
    # Day 2: one trace for bob.
    tid = f"{p}-t3"
    batch.append(event("trace-create", {"id": tid, "name": "search", "userId": f"{p}-bob", "environment": env},
                       timestamp=at(BASE, 86_400_000)))
    batch.append(event("span-create", {"id": f"{p}-s3", "traceId": tid, "name": "retrieve", "environment": env,
                                       "startTime": at(BASE, 86_400_000), "endTime": at(BASE, 86_400_500)},
                       timestamp=at(BASE, 86_400_000)))
    batch.append(event("score-create", {"id": f"{p}-sc1", "traceId": f"{p}-t0", "name": "quality", "value": 0.5,
                                        "environment": env}, timestamp=at(BASE, 10)))
    batch.append(event("score-create", {"id": f"{p}-sc2", "traceId": f"{p}-t1", "name": "quality", "value": 1.0,
                                        "environment": env}, timestamp=at(BASE, 20)))
    api.ingest_ok(batch)
    return p, env


def query(api, q, v2=False, status=200):
    path = "/api/public/v2/metrics" if v2 else "/api/public/metrics"
    return api.get_json(path, {"query": json.dumps(q)}, status=status)


def env_filter(env):
    return [{"type": "stringOptions", "column": "environment", "operator": "any of", "value": [env]}]


def test_traces_count_by_name(api, data):
    p, env = data
    body = query(api, {"view": "traces", "dimensions": [{"field": "name"}],
                       "metrics": [{"measure": "count", "aggregation": "count"}],
                       "filters": env_filter(env), **RANGE})
    assert {r["name"]: r["count_count"] for r in body["data"]} == {"chat": 2, "search": 2}


def test_observation_tokens_cost_and_percentiles_by_model(api, data):
    p, env = data
    body = query(api, {"view": "observations", "dimensions": [{"field": "providedModelName"}],
                       "metrics": [{"measure": "totalTokens", "aggregation": "sum"},
                                   {"measure": "totalCost", "aggregation": "sum"},
                                   {"measure": "latency", "aggregation": "p50"},
                                   {"measure": "count", "aggregation": "count"}],
                       "filters": env_filter(env) + [{"type": "string", "column": "type", "operator": "=",
                                                      "value": "GENERATION"}], **RANGE}, v2=True)
    rows = {r["providedModelName"]: r for r in body["data"]}
    assert set(rows) == {"gpt-4o", "claude-3-5-sonnet-20241022"}
    assert rows["gpt-4o"]["sum_totalTokens"] == 110 + 220
    assert rows["gpt-4o"]["count_count"] == 2
    # gpt-4o: input 2.5e-6, output 1e-5 per token -> (100+200)*2.5e-6 + (10+20)*1e-5
    assert rows["gpt-4o"]["sum_totalCost"] == pytest.approx(300 * 2.5e-6 + 30 * 1e-5)
    # latencies 100 ms and 200 ms: median 150 ms
    assert rows["gpt-4o"]["p50_latency"] == pytest.approx(150)


def test_time_dimension_and_unique_users(api, data):
    p, env = data
    body = query(api, {"view": "traces", "metrics": [{"measure": "uniqueUserIds", "aggregation": "uniq"},
                                                     {"measure": "count", "aggregation": "count"}],
                       "timeDimension": {"granularity": "day"}, "filters": env_filter(env), **RANGE})
    rows = [(r["time_dimension"], r["uniq_uniqueUserIds"], r["count_count"]) for r in body["data"]]
    assert rows == [("2025-04-01T00:00:00.000Z", 2, 3), ("2025-04-02T00:00:00.000Z", 1, 1)]


def test_scores_numeric_avg(api, data):
    p, env = data
    body = query(api, {"view": "scores-numeric", "dimensions": [{"field": "name"}],
                       "metrics": [{"measure": "value", "aggregation": "avg"}],
                       "filters": env_filter(env), **RANGE})
    assert body["data"] == [{"name": "quality", "avg_value": pytest.approx(0.75)}]


def test_daily_metrics(api, data):
    p, env = data
    body = api.get_json("/api/public/metrics/daily", {"environment": env})
    days = body["data"]
    assert [d["date"] for d in days] == ["2025-04-02", "2025-04-01"]
    day1 = days[1]
    assert day1["countTraces"] == 3 and day1["countObservations"] == 3
    usage = {u["model"]: u for u in day1["usage"]}
    assert usage["gpt-4o"]["inputUsage"] == 300 and usage["gpt-4o"]["outputUsage"] == 30
    assert usage["gpt-4o"]["countTraces"] == 2 and usage["gpt-4o"]["countObservations"] == 2
    assert days[0]["countTraces"] == 1 and days[0]["usage"] == []
    assert body["meta"]["totalItems"] == 2
    only_bob = api.get_json("/api/public/metrics/daily", {"environment": env, "userId": f"{p}-bob"})
    assert [d["countTraces"] for d in only_bob["data"]] == [1, 1]


@pytest.mark.parametrize("q,reason", [
    ({"view": "nope", "metrics": [{"measure": "count", "aggregation": "count"}], **RANGE}, "view"),
    ({"view": "traces", "metrics": [], **RANGE}, "metrics"),
    ({"view": "traces", "metrics": [{"measure": "bogus", "aggregation": "sum"}], **RANGE}, "unknown measure"),
    ({"view": "traces", "metrics": [{"measure": "count", "aggregation": "median"}], **RANGE}, "aggregation"),
    ({"view": "traces", "dimensions": [{"field": "input"}], "metrics": [{"measure": "count", "aggregation": "count"}],
      **RANGE}, "dimensions"),
    ({"view": "traces", "metrics": [{"measure": "count", "aggregation": "count"}],
      "fromTimestamp": "2025-04-03T00:00:00Z", "toTimestamp": "2025-04-01T00:00:00Z"}, "before"),
])
def test_bad_queries_are_400(api, q, reason):
    r = api.get("/api/public/metrics", params={"query": json.dumps(q)})
    assert r.status_code == 400, r.text
    assert reason in r.json()["message"]


def test_v2_has_no_traces_view(api):
    r = api.get("/api/public/v2/metrics", params={"query": json.dumps(
        {"view": "traces", "metrics": [{"measure": "count", "aggregation": "count"}], **RANGE})})
    assert r.status_code == 400


def test_rollup_backed_sums_match_rows_and_follow_deletes(api, data):
    """Sums and counts by model are served from the hourly rollups for whole hours and from
    rows for the partial hours at the edges; both must add up to the same figures, also after
    a trace is deleted."""
    p, env = data
    q = {"view": "observations", "dimensions": [{"field": "providedModelName"}],
         "metrics": [{"measure": "totalTokens", "aggregation": "sum"},
                     {"measure": "count", "aggregation": "count"},
                     {"measure": "totalCost", "aggregation": "sum"}],
         "filters": env_filter(env),
         # not hour-aligned on either side: 09:30 on day 1 to 10:30 on day 2
         "fromTimestamp": "2025-04-01T09:30:00Z", "toTimestamp": "2025-04-02T10:30:00Z"}
    rows = {r["providedModelName"]: r for r in query(api, q)["data"]}
    assert rows["gpt-4o"]["sum_totalTokens"] == 330 and rows["gpt-4o"]["count_count"] == 2
    assert rows["gpt-4o"]["sum_totalCost"] == pytest.approx(300 * 2.5e-6 + 30 * 1e-5)
    assert rows["claude-3-5-sonnet-20241022"]["count_count"] == 1
    assert rows["claude-3-5-sonnet-20241022"]["sum_totalTokens"] == 330
    assert rows[None]["count_count"] == 1  # the day-2 span, read from rows (partial hour)
    traces = query(api, {"view": "traces", "metrics": [{"measure": "count", "aggregation": "count"}],
                         "filters": env_filter(env), "timeDimension": {"granularity": "day"},
                         "fromTimestamp": "2025-04-01T09:30:00Z", "toTimestamp": "2025-04-02T10:30:00Z"})
    assert [r["count_count"] for r in traces["data"]] == [3, 1]

    assert api.delete(f"/api/public/traces/{p}-t0").status_code == 200
    rows = {r["providedModelName"]: r for r in query(api, q)["data"]}
    assert rows["gpt-4o"]["count_count"] == 1 and rows["gpt-4o"]["sum_totalTokens"] == 220
    traces = query(api, {"view": "traces", "metrics": [{"measure": "count", "aggregation": "count"}],
                         "filters": env_filter(env), "timeDimension": {"granularity": "day"},
                         "fromTimestamp": "2025-04-01T09:30:00Z", "toTimestamp": "2025-04-02T10:30:00Z"})
    assert [r["count_count"] for r in traces["data"]] == [2, 1]
