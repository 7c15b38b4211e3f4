"""Deletes (contract §4.1, §4.4): trace delete cascades to its observations and scores."""

from __future__ import annotations

import pytest

from integration.harness import event, uid


def _trace_with_children(api, env):
    trace_id = uid("del")
    span_id, gen_id, score_id, obs_score_id = f"{trace_id}-s", f"{trace_id}-g", f"{trace_id}-sc", f"{trace_id}-osc"
    api.ingest_ok([
        event("trace-create", {"id": trace_id, "name": "to-delete", "sessionId": f"{trace_id}-sess",
                               "environment": env}),
        event("span-create", {"id": span_id, "traceId": trace_id, "environment": env}),
        event("generation-create", {"id": gen_id, "traceId": trace_id, "parentObservationId": span_id,
                                    "environment": env}),
        event("score-create", {"id": score_id, "traceId": trace_id, "name": "s", "value": 1, "environment": env}),
        event("score-create", {"id": obs_score_id, "traceId": trace_id, "observationId": gen_id, "name": "o",
                               "value": 0.5, "environment": env}),
    ])
    return trace_id, [span_id, gen_id], [score_id, obs_score_id]


def _assert_gone(api, trace_id, obs_ids, score_ids):
    assert api.get(f"/api/public/traces/{trace_id}").status_code == 404
    for o in obs_ids:
        assert api.get(f"/api/public/observations/{o}").status_code == 404, o
    for s in score_ids:
        assert api.get(f"/api/public/v2/scores/{s}").status_code == 404, s
    assert api.get_json("/api/public/observations", {"traceId": trace_id})["meta"]["totalItems"] == 0
    assert api.get_json("/api/public/v2/scores", {"traceId": trace_id})["meta"]["totalItems"] == 0


def test_delete_one_trace_cascades(api, env):
    keep_id, keep_obs, keep_scores = _trace_with_children(api, env)
    trace_id, obs_ids, score_ids = _trace_with_children(api, env)
    r = api.delete(f"/api/public/traces/{trace_id}")
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "Trace deleted successfully"}
    _assert_gone(api, trace_id, obs_ids, score_ids)
    listed = api.get_json("/api/public/traces", {"environment": env})
    assert [t["id"] for t in listed["data"]] == [keep_id]
    assert listed["meta"]["totalItems"] == 1
    # the other trace is untouched
    t = api.trace(keep_id)
    assert sorted(o["id"] for o in t["observations"]) == sorted(keep_obs)
    assert sorted(s["id"] for s in t["scores"]) == sorted(keep_scores)


def test_delete_many_traces(api, env):
    a = _trace_with_children(api, env)
    b = _trace_with_children(api, env)
    c = _trace_with_children(api, env)
    r = api.delete("/api/public/traces", json={"traceIds": [a[0], b[0]]})
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "Traces deleted successfully"}
    _assert_gone(api, *a)
    _assert_gone(api, *b)
    assert api.trace(c[0])["name"] == "to-delete"
    assert api.get_json("/api/public/traces", {"environment": env})["meta"]["totalItems"] == 1


@pytest.mark.parametrize("body", [
    {},
    {"traceIds": []},
    {"traceIds": "abc"},
    {"traceIds": [1, 2]},
    {"traceIds": ["a"], "extra": True},          # strict object
    {"traceIds": [f"t{i}" for i in range(1001)]},
])
def test_delete_many_validation(api, body):
    r = api.delete("/api/public/traces", json=body)
    assert r.status_code == 400, f"{r.status_code}: {r.text[:200]}"


def test_deleted_trace_can_be_ingested_again(api, env):
    trace_id, obs_ids, score_ids = _trace_with_children(api, env)
    assert api.delete(f"/api/public/traces/{trace_id}").status_code == 200
    api.ingest_ok([event("trace-create", {"id": trace_id, "name": "reborn", "environment": env})])
    t = api.trace(trace_id)
    assert t["name"] == "reborn"
    assert t["observations"] == [] and t["scores"] == []


def test_delete_score(api, env):
    trace_id, _, (score_id, other_score) = _trace_with_children(api, env)
    r = api.delete(f"/api/public/scores/{score_id}")
    assert r.status_code == 202, f"{r.status_code}: {r.text[:200]}"   # contract §6: 202 (spec says 204)
    assert api.get(f"/api/public/v2/scores/{score_id}").status_code == 404
    assert [s["id"] for s in api.trace(trace_id)["scores"]] == [other_score]
    assert api.get_json("/api/public/v2/scores", {"traceId": trace_id})["meta"]["totalItems"] == 1


def test_delete_requires_auth(api):
    assert api.delete(f"/api/public/traces/{uid('x')}", auth=False).status_code == 401
    assert api.delete("/api/public/traces", auth=False, json={"traceIds": ["x"]}).status_code == 401
    assert api.delete(f"/api/public/scores/{uid('x')}", auth=False).status_code == 401
