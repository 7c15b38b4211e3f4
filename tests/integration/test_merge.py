"""Merge / upsert semantics of ingestion (contract §3): the final row must not
depend on the order in which events arrive, and re-sending is idempotent."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from integration.harness import at, by_id, dumps, event, ms_iso, uid

BASE = dt.datetime(2025, 3, 4, 10, 0, 0, tzinfo=dt.timezone.utc)

VOLATILE = {"createdAt", "updatedAt"}


def strip(o, extra=()):
    """Removes server-clock fields (createdAt/updatedAt) and the given keys, recursively."""
    drop = VOLATILE | set(extra)
    if isinstance(o, dict):
        return {k: strip(v, extra) for k, v in o.items() if k not in drop}
    if isinstance(o, list):
        return [strip(v, extra) for v in o]
    return o


def _generation_events(trace_id: str, gen_id: str, env: str):
    create = event("generation-create", {
        "id": gen_id, "traceId": trace_id, "name": "answer", "startTime": at(BASE, 100),
        "model": "loupe-test-unpriced-model", "modelParameters": {"temperature": 0.1, "max_tokens": 64},
        "input": [{"role": "user", "content": "q"}], "metadata": {"stage": "create", "keep": "yes"},
        "version": "v1", "environment": env,
    }, timestamp=at(BASE, 100))
    update = event("generation-update", {
        "id": gen_id, "traceId": trace_id, "endTime": at(BASE, 900), "completionStartTime": at(BASE, 300),
        "output": {"role": "assistant", "content": "a"}, "metadata": {"stage": "update"},
        "usageDetails": {"input": 11, "output": 7}, "costDetails": {"input": 0.011, "output": 0.007},
        "level": "WARNING", "statusMessage": "slow",
    }, timestamp=at(BASE, 900))
    trace = event("trace-create", {"id": trace_id, "name": "merge", "environment": env}, timestamp=at(BASE, 0))
    return trace, create, update


EXPECTED_GEN = {
    "type": "GENERATION", "name": "answer", "model": "loupe-test-unpriced-model",
    "modelParameters": {"temperature": 0.1, "max_tokens": 64},
    "input": [{"role": "user", "content": "q"}], "output": {"role": "assistant", "content": "a"},
    "metadata": {"stage": "update", "keep": "yes"}, "version": "v1",
    "level": "WARNING", "statusMessage": "slow",
    "usageDetails": {"input": 11, "output": 7, "total": 18},
    "costDetails": {"input": 0.011, "output": 0.007, "total": 0.018},
}


def _check_gen(g, trace_id, gen_id, env):
    for k, v in EXPECTED_GEN.items():
        if k == "costDetails":
            assert set(g[k]) == set(v), g[k]
            for ck, cv in v.items():
                assert g[k][ck] == pytest.approx(cv), (ck, g[k])
        else:
            assert g[k] == v, f"{k}: {g[k]!r} != {v!r}"
    assert g["id"] == gen_id and g["traceId"] == trace_id and g["environment"] == env
    assert g["startTime"] == ms_iso(at(BASE, 100)), "startTime must come from the create event"
    assert g["endTime"] == ms_iso(at(BASE, 900))
    assert g["completionStartTime"] == ms_iso(at(BASE, 300))
    assert g["latency"] == pytest.approx(0.8)
    assert g["timeToFirstToken"] == pytest.approx(0.2)


def test_update_before_create_converges_to_the_same_row(api, env):
    in_order, same_batch, cross_batch = ([uid("t"), uid("g")] for _ in range(3))

    t, c, u = _generation_events(*in_order, env)
    api.ingest_ok([t, c, u])

    t, c, u = _generation_events(*same_batch, env)
    api.ingest_ok([u, t, c])            # update listed first in the batch

    t, c, u = _generation_events(*cross_batch, env)
    api.ingest_ok([u])                  # update arrives in an earlier request
    api.ingest_ok([t, c])

    rows = []
    for trace_id, gen_id in (in_order, same_batch, cross_batch):
        g = api.observation(gen_id)
        _check_gen(g, trace_id, gen_id, env)
        rows.append(strip(g, extra=("id", "traceId")))
    assert rows[0] == rows[1], dumps(rows)
    assert rows[0] == rows[2], dumps(rows)


def test_span_update_before_create_across_batches(api, env):
    trace_id, span_id = uid("t"), uid("s")
    api.ingest_ok([event("span-update", {"id": span_id, "traceId": trace_id, "endTime": at(BASE, 500),
                                         "output": "late"}, timestamp=at(BASE, 500))])
    api.ingest_ok([event("span-create", {"id": span_id, "traceId": trace_id, "name": "early",
                                         "startTime": at(BASE, 10), "input": "in", "environment": env},
                         timestamp=at(BASE, 10))])
    s = api.observation(span_id)
    assert (s["name"], s["input"], s["output"]) == ("early", "in", "late")
    assert s["startTime"] == ms_iso(at(BASE, 10))
    assert s["endTime"] == ms_iso(at(BASE, 500))
    obs = api.get_json("/api/public/observations", {"traceId": trace_id})
    assert obs["meta"]["totalItems"] == 1, "update + create must give one row, not two"


def _full_batch(env):
    trace_id = uid("t")
    ids = {"trace": trace_id, "span": uid("s"), "gen": uid("g"), "event": uid("e"), "score": uid("sc")}
    batch = [
        event("trace-create", {"id": trace_id, "name": "idem", "userId": "u", "sessionId": uid("sess"),
                               "tags": ["b", "a"], "metadata": {"m": 1}, "input": "in", "environment": env},
              timestamp=at(BASE, 0)),
        event("span-create", {"id": ids["span"], "traceId": trace_id, "name": "s", "startTime": at(BASE, 1),
                              "environment": env}, timestamp=at(BASE, 1)),
        event("span-update", {"id": ids["span"], "traceId": trace_id, "endTime": at(BASE, 50)},
              timestamp=at(BASE, 50)),
        event("generation-create", {"id": ids["gen"], "traceId": trace_id, "parentObservationId": ids["span"],
                                    "startTime": at(BASE, 2), "model": "gpt-4o", "environment": env,
                                    "usage": {"input": 100, "output": 10}}, timestamp=at(BASE, 2)),
        event("generation-update", {"id": ids["gen"], "traceId": trace_id, "endTime": at(BASE, 40),
                                    "output": "out"}, timestamp=at(BASE, 40)),
        event("event-create", {"id": ids["event"], "traceId": trace_id, "startTime": at(BASE, 3),
                               "environment": env}, timestamp=at(BASE, 3)),
        event("score-create", {"id": ids["score"], "traceId": trace_id, "name": "q", "value": 1,
                               "environment": env}, timestamp=at(BASE, 60)),
        event("trace-create", {"id": trace_id, "output": "out", "tags": ["a"]}, timestamp=at(BASE, 70)),
    ]
    return ids, batch


def _snapshot(api, ids):
    t = api.trace(ids["trace"])
    t = strip(t)
    t["observations"] = sorted(t["observations"], key=lambda o: o["id"])
    t["scores"] = sorted(t["scores"], key=lambda s: s["id"])
    return t


def test_resent_batch_is_idempotent(api, env):
    ids, batch = _full_batch(env)
    api.ingest_ok(batch)
    first = _snapshot(api, ids)
    assert first["tags"] == ["a", "b"]
    assert len(first["observations"]) == 3 and len(first["scores"]) == 1
    api.ingest_ok(copy.deepcopy(batch))          # SDK retry: same envelope ids, same bodies
    second = _snapshot(api, ids)
    assert first == second, dumps([first, second])
    # the list API must not see duplicates either
    assert api.get_json("/api/public/observations", {"traceId": ids["trace"]})["meta"]["totalItems"] == 3
    assert api.get_json("/api/public/v2/scores", {"traceId": ids["trace"]})["meta"]["totalItems"] == 1
    assert api.get_json("/api/public/traces", {"environment": env})["meta"]["totalItems"] == 1


def test_resent_batch_in_reverse_order_gives_same_result(api, env):
    ids, batch = _full_batch(env)
    api.ingest_ok(batch)
    first = _snapshot(api, ids)
    api.ingest_ok(list(reversed(copy.deepcopy(batch))))
    assert _snapshot(api, ids) == first


def test_tags_are_unioned_sorted_and_deduplicated(api, env):
    trace_id = uid("t")
    api.ingest_ok([
        event("trace-create", {"id": trace_id, "tags": ["b", "a"], "environment": env}, timestamp=at(BASE, 0)),
        event("trace-create", {"id": trace_id, "tags": ["c", "a"]}, timestamp=at(BASE, 1)),
    ])
    assert api.trace(trace_id)["tags"] == ["a", "b", "c"]
    api.ingest_ok([event("trace-create", {"id": trace_id, "tags": ["d", "b"]}, timestamp=at(BASE, 2))])
    assert api.trace(trace_id)["tags"] == ["a", "b", "c", "d"]
    api.ingest_ok([event("trace-create", {"id": trace_id, "name": "no-tags-here"}, timestamp=at(BASE, 3))])
    t = api.trace(trace_id)
    assert t["tags"] == ["a", "b", "c", "d"]
    assert t["name"] == "no-tags-here"


def test_metadata_is_deep_merged(api, env):
    trace_id, span_id = uid("t"), uid("s")
    api.ingest_ok([
        event("trace-create", {"id": trace_id, "environment": env,
                               "metadata": {"a": "1", "nested": {"x": 1}, "over": "old"}}, timestamp=at(BASE, 0)),
        event("trace-create", {"id": trace_id, "metadata": {"b": "2", "nested": {"y": 2}, "over": "new"}},
              timestamp=at(BASE, 1)),
        event("span-create", {"id": span_id, "traceId": trace_id, "metadata": {"k": "v", "deep": {"p": 1}},
                              "environment": env}, timestamp=at(BASE, 2)),
    ])
    assert api.trace(trace_id)["metadata"] == {"a": "1", "b": "2", "nested": {"x": 1, "y": 2}, "over": "new"}
    # across requests
    api.ingest_ok([
        event("trace-create", {"id": trace_id, "metadata": {"nested": {"z": 3}, "c": "3"}}, timestamp=at(BASE, 3)),
        event("span-update", {"id": span_id, "traceId": trace_id, "metadata": {"deep": {"q": 2}}},
              timestamp=at(BASE, 4)),
    ])
    assert api.trace(trace_id)["metadata"] == {"a": "1", "b": "2", "c": "3", "nested": {"x": 1, "y": 2, "z": 3},
                                               "over": "new"}
    assert api.observation(span_id)["metadata"] == {"k": "v", "deep": {"p": 1, "q": 2}}


def test_explicit_null_overwrites_but_absent_does_not(api, env):
    trace_id = uid("t")
    api.ingest_ok([
        event("trace-create", {"id": trace_id, "name": "n", "userId": "u1", "release": "r1", "version": "v1",
                               "sessionId": "s1", "environment": env}, timestamp=at(BASE, 0)),
    ])
    api.ingest_ok([
        event("trace-create", {"id": trace_id, "userId": None, "release": None}, timestamp=at(BASE, 2)),
    ])
    t = api.trace(trace_id)
    assert t["userId"] is None and t["release"] is None
    assert (t["name"], t["version"], t["sessionId"]) == ("n", "v1", "s1"), "absent keys must not overwrite"


def test_input_output_keep_last_truthy_value(api, env):
    trace_id = uid("t")
    api.ingest_ok([
        event("trace-create", {"id": trace_id, "input": {"q": 1}, "output": "first", "environment": env},
              timestamp=at(BASE, 0)),
        event("trace-create", {"id": trace_id, "output": "second"}, timestamp=at(BASE, 1)),
        event("trace-create", {"id": trace_id, "input": None, "output": None}, timestamp=at(BASE, 2)),
    ])
    t = api.trace(trace_id)
    assert t["input"] == {"q": 1}
    assert t["output"] == "second"


def test_first_start_time_and_trace_timestamp_are_kept(api, env):
    trace_id, span_id = uid("t"), uid("s")
    api.ingest_ok([
        event("trace-create", {"id": trace_id, "timestamp": at(BASE, 5), "environment": env},
              timestamp=at(BASE, 5)),
        event("span-create", {"id": span_id, "traceId": trace_id, "startTime": at(BASE, 10), "environment": env},
              timestamp=at(BASE, 10)),
    ])
    api.ingest_ok([
        event("trace-create", {"id": trace_id, "timestamp": at(BASE, 5000)}, timestamp=at(BASE, 5000)),
        event("span-create", {"id": span_id, "traceId": trace_id, "startTime": at(BASE, 4000),
                              "name": "renamed"}, timestamp=at(BASE, 4000)),
    ])
    assert api.trace(trace_id)["timestamp"] == ms_iso(at(BASE, 5))
    s = api.observation(span_id)
    assert s["startTime"] == ms_iso(at(BASE, 10))
    assert s["name"] == "renamed"


def test_environment_is_immutable_after_first_write(api):
    trace_id = uid("t")
    api.ingest_ok([event("trace-create", {"id": trace_id, "environment": "first-env"}, timestamp=at(BASE, 0))])
    api.ingest_ok([event("trace-create", {"id": trace_id, "environment": "second-env"}, timestamp=at(BASE, 1))])
    assert api.trace(trace_id)["environment"] == "first-env"


def test_timestamps_default_to_the_envelope_timestamp(api, env):
    trace_id, span_id, score_id = uid("t"), uid("s"), uid("sc")
    api.ingest_ok([
        event("trace-create", {"id": trace_id, "environment": env}, timestamp="2025-03-04T12:00:00.250+02:00"),
        event("span-create", {"id": span_id, "traceId": trace_id, "environment": env},
              timestamp="2025-03-04T10:00:01.5Z"),
        event("score-create", {"id": score_id, "traceId": trace_id, "name": "x", "value": 1, "environment": env},
              timestamp="2025-03-04T10:00:02.123456Z"),
    ])
    assert api.trace(trace_id)["timestamp"] == "2025-03-04T10:00:00.250Z"
    assert api.observation(span_id)["startTime"] == "2025-03-04T10:00:01.500Z"
    assert api.score(score_id)["timestamp"] == "2025-03-04T10:00:02.123Z"


def test_end_time_before_start_time_is_clamped(api, env):
    span_id = uid("s")
    api.ingest_ok([event("span-create", {"id": span_id, "traceId": uid("t"), "startTime": at(BASE, 1000),
                                         "endTime": at(BASE, 500), "environment": env}, timestamp=at(BASE, 1000))])
    s = api.observation(span_id)
    assert s["endTime"] == s["startTime"] == ms_iso(at(BASE, 1000))


def test_observation_defaults(api, env):
    span_id = uid("s")
    api.ingest_ok([event("span-create", {"id": span_id, "traceId": uid("t"), "environment": env})])
    s = api.observation(span_id)
    assert s["level"] == "DEFAULT"
    assert s["endTime"] is None
    assert s["parentObservationId"] is None
    assert s["statusMessage"] is None
    assert s["version"] is None
    assert s["input"] is None and s["output"] is None


def test_trace_defaults(api, env):
    trace_id = uid("t")
    api.ingest_ok([event("trace-create", {"id": trace_id, "environment": env})])
    t = api.trace(trace_id)
    assert t["public"] is False
    assert t["bookmarked"] is False
    assert t["tags"] == []
    for k in ("userId", "sessionId", "release", "version", "input", "output"):
        assert t[k] is None, k


ENV_CASES = [
    ("production", "production"),
    ("Production", "production"),
    ("STAGING-eu_1", "staging-eu_1"),
    ("langfuse-prod", "prod"),
    ("langfuse_dev", "dev"),
    ("LANGFUSE-Canary", "canary"),
    ("a" * 45, "a" * 40),
    ("has space", "default"),
    ("semi;colon", "default"),
    ("ümlaut", "default"),
    ("", "default"),
    (None, "default"),
]


@pytest.mark.parametrize("given,expected", ENV_CASES)
def test_environment_normalization(api, given, expected):
    trace_id, span_id, score_id = uid("t"), uid("s"), uid("sc")
    tb = {"id": trace_id}
    sb = {"id": span_id, "traceId": trace_id}
    scb = {"id": score_id, "traceId": trace_id, "name": "n", "value": 1}
    if given is not None:
        tb["environment"] = sb["environment"] = scb["environment"] = given
    api.ingest_ok([event("trace-create", tb), event("span-create", sb), event("score-create", scb)])
    assert api.trace(trace_id)["environment"] == expected
    assert api.observation(span_id)["environment"] == expected
    assert api.score(score_id)["environment"] == expected


def test_missing_environment_is_default_and_filterable(api):
    trace_id = uid("t")
    api.ingest_ok([event("trace-create", {"id": trace_id, "name": "env-less"})])
    assert api.trace(trace_id)["environment"] == "default"
    listed = api.get_json("/api/public/traces", {"environment": "default", "name": "env-less", "limit": 100})
    assert trace_id in by_id(listed["data"])
