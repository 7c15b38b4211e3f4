"""Deeply nested JSON: the server accepts JSON nested up to 256 levels in every
request body (Langfuse, on Node's JSON.parse, has no practical limit), stores it
and reads it back intact. Deeper JSON is a 400 naming the limit; in an ingestion
batch only the too-deep event fails, the rest of its batch is stored."""

from __future__ import annotations

import json

import pytest

from integration.harness import event, uid

LIMIT = 256
TOO_DEEP = f"JSON nested deeper than {LIMIT} levels"


def nested(depth: int, leaf=None) -> object:
    """A value `depth` containers deep, alternating objects and arrays: {"l0": [{"l2": ...}]}."""
    v = {"leaf": True, "n": 1.5} if leaf is None else leaf
    for level in reversed(range(depth - 1)):
        v = {f"l{level}": v, "n": level} if level % 2 == 0 else [v, level]
    return v


def depth_of(v) -> int:
    if isinstance(v, dict):
        return 1 + max((depth_of(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((depth_of(x) for x in v), default=0)
    return 0


def nested_arrays_text(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def test_nested_helper_builds_the_requested_depth():
    assert depth_of(nested(100)) == 100
    assert depth_of(nested(300)) == 300


# ----------------------------------------------------------------------------- ingestion


def test_trace_input_and_metadata_nested_100_levels_round_trip(api, env):
    trace_id = uid("trace")
    deep = nested(100)
    api.ingest_ok([event("trace-create", {"id": trace_id, "name": "deep", "environment": env,
                                          "input": deep, "metadata": {"deep": deep}})])
    t = api.trace(trace_id)
    assert t["input"] == deep
    assert t["metadata"]["deep"] == deep


def test_observation_values_nested_close_to_the_limit_round_trip(api, env):
    # The event object and its body are two of the 256 levels an event may use.
    trace_id, span_id = uid("trace"), uid("span")
    deep = nested(LIMIT - 4)
    api.ingest_ok([
        event("trace-create", {"id": trace_id, "environment": env}),
        event("span-create", {"id": span_id, "traceId": trace_id, "environment": env, "output": deep,
                              "metadata": {"deep": deep}}),
    ])
    # A later update deep-merges into the stored metadata.
    api.ingest_ok([event("span-update", {"id": span_id, "traceId": trace_id, "metadata": {"more": deep}})])
    o = api.observation(span_id)
    assert o["output"] == deep
    assert o["metadata"]["deep"] == deep
    assert o["metadata"]["more"] == deep


def test_event_nested_past_the_limit_fails_alone(api, env):
    good_trace, bad_trace = uid("trace"), uid("trace")
    good = event("trace-create", {"id": good_trace, "name": "survivor", "environment": env, "input": nested(100)})
    bad = event("trace-create", {"id": bad_trace, "name": "too-deep", "environment": env, "input": nested(300)})
    r = api.ingest([good, bad])
    assert r.status_code == 207, r.text
    body = r.json()
    assert [s["id"] for s in body["successes"]] == [good["id"]], body
    assert len(body["errors"]) == 1, body
    err = body["errors"][0]
    assert (err["id"], err["status"], err["message"]) == (bad["id"], 400, "Invalid request data")
    assert TOO_DEEP in err["error"], err
    assert api.trace(good_trace)["input"] == nested(100)
    assert api.get(f"/api/public/traces/{bad_trace}").status_code == 404


def test_event_thousands_of_levels_deep_fails_alone(api, env):
    # Deeper than any client library writes, still within what a batch may hold.
    good_trace = uid("trace")
    good = event("trace-create", {"id": good_trace, "name": "survivor", "environment": env})
    bad = event("trace-create", {"id": uid("trace"), "environment": env, "input": "INPUT"})
    text = json.dumps({"batch": [good, bad]}).replace('"INPUT"', nested_arrays_text(4000))
    r = api.post("/api/public/ingestion", data=text, headers={"content-type": "application/json"})
    assert r.status_code == 207, r.text
    body = r.json()
    assert [s["id"] for s in body["successes"]] == [good["id"]], body
    assert [(e["id"], e["status"]) for e in body["errors"]] == [(bad["id"], 400)], body
    assert TOO_DEEP in body["errors"][0]["error"], body
    assert api.trace(good_trace)["name"] == "survivor"


def test_ingestion_body_past_the_batch_limit_is_a_clear_400(api):
    # Far deeper than any event may be: the whole body is refused, naming the limit.
    body = '{"batch": [' + nested_arrays_text(5000) + "]}"
    r = api.post("/api/public/ingestion", data=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["errors"] == ["Invalid JSON in request body: JSON nested deeper than 4096 levels"], r.text


# ----------------------------------------------------------------------------- other request bodies


def test_prompt_config_nested_100_levels_round_trips(api):
    name = uid("deep-prompt")
    config = {"deep": nested(100)}
    r = api.post("/api/public/v2/prompts", json={"name": name, "prompt": "hi", "config": config,
                                                     "labels": ["production"]})
    assert r.status_code == 201, r.text
    assert r.json()["config"] == config
    r = api.get(f"/api/public/v2/prompts/{name}")
    assert r.status_code == 200, r.text
    assert r.json()["config"] == config


@pytest.mark.parametrize("path,body", [
    ("/api/public/v2/prompts", lambda: {"name": uid("p"), "prompt": "hi", "config": nested(300)}),
    ("/api/public/scores", lambda: {"traceId": uid("t"), "name": "s", "value": 1, "metadata": nested(300)}),
    ("/api/public/v2/datasets", lambda: {"name": uid("d"), "metadata": nested(300)}),
])
def test_request_body_nested_300_levels_is_a_clear_400(api, path, body):
    r = api.post(path, json=body())
    assert r.status_code == 400, r.text
    assert TOO_DEEP in r.json()["message"], r.text


def test_dataset_item_validated_against_a_deep_schema(api):
    # Schema validation walks schema and value level by level: 250 levels of
    # nested arrays, each checked against its own `items` schema.
    levels = 250
    schema: dict = {"type": "integer"}
    for _ in range(levels):
        schema = {"type": "array", "items": schema}
    name = uid("deep-ds")
    r = api.post("/api/public/v2/datasets", json={"name": name, "inputSchema": schema})
    assert r.status_code == 200, r.text
    good = nested_arrays_text(levels)
    r = api.post("/api/public/dataset-items", data='{"datasetName": "%s", "input": %s}' % (name, good),
                 headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    item = api.get_json(f"/api/public/dataset-items/{r.json()['id']}")
    assert depth_of(item["input"]) == levels
    bad = "[" * levels + '"x"' + "]" * levels
    r = api.post("/api/public/dataset-items", data='{"datasetName": "%s", "input": %s}' % (name, bad),
                 headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text


def test_dataset_item_nested_100_levels_round_trips(api):
    name = uid("deep-items")
    r = api.post("/api/public/v2/datasets", json={"name": name})
    assert r.status_code == 200, r.text
    deep = nested(100)
    r = api.post("/api/public/dataset-items", json={"datasetName": name, "input": deep, "expectedOutput": deep,
                                                     "metadata": {"deep": deep}})
    assert r.status_code == 200, r.text
    item = api.get_json(f"/api/public/dataset-items/{r.json()['id']}")
    assert item["input"] == deep
    assert item["expectedOutput"] == deep
    assert item["metadata"] == {"deep": deep}


def test_filter_parameter_nested_past_the_limit_is_a_clear_400(api):
    r = api.get("/api/public/traces", params={"filter": nested_arrays_text(300)})
    assert r.status_code == 400, r.text
    assert TOO_DEEP in r.json()["message"], r.text
