"""POST /api/public/ingestion (contract §2.1) and the legacy pre-batch routes (§5)."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest

from integration.harness import at, by_id, event, iso, ms_iso, now_utc, uid

BASE = dt.datetime(2025, 6, 1, 8, 0, 0, tzinfo=dt.timezone.utc)

# ----------------------------------------------------------------------------- response shape


def test_207_body_shape_uses_envelope_ids(api, env):
    trace_id = uid("trace")
    e1 = event("trace-create", {"id": trace_id, "name": "shape", "environment": env}, eid="evt-" + uid())
    e2 = event("span-create", {"id": uid("span"), "traceId": trace_id, "environment": env})
    r = api.ingest([e1, e2], metadata={"batch_size": 2, "sdk_name": "python"})
    assert r.status_code == 207
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"successes", "errors"}
    assert body["errors"] == []
    assert sorted(body["successes"], key=lambda s: s["id"]) == sorted(
        [{"id": e1["id"], "status": 201}, {"id": e2["id"], "status": 201}], key=lambda s: s["id"])


def test_empty_batch_is_207(api):
    r = api.ingest([])
    assert r.status_code == 207
    assert r.json() == {"successes": [], "errors": []}


def test_metadata_null_is_accepted(api):
    r = api.post("/api/public/ingestion", json={"batch": [], "metadata": None})
    assert r.status_code == 207


# ----------------------------------------------------------------------------- every event type

OBS_TYPES = {
    "span-create": "SPAN",
    "generation-create": "GENERATION",
    "event-create": "EVENT",
    "agent-create": "AGENT",
    "tool-create": "TOOL",
    "chain-create": "CHAIN",
    "retriever-create": "RETRIEVER",
    "evaluator-create": "EVALUATOR",
    "embedding-create": "EMBEDDING",
    "guardrail-create": "GUARDRAIL",
}


def test_every_observation_create_type(api, env):
    trace_id = uid("trace")
    batch = [event("trace-create", {"id": trace_id, "name": "all-types", "environment": env},
                   timestamp=at(BASE, 0))]
    ids = {}
    for i, (etype, otype) in enumerate(OBS_TYPES.items()):
        oid = uid(otype.lower())
        ids[oid] = otype
        body = {"id": oid, "traceId": trace_id, "name": f"n-{etype}", "startTime": at(BASE, 10 + i),
                "environment": env, "input": {"i": i}}
        if etype != "event-create":
            body["endTime"] = at(BASE, 100 + i)
        batch.append(event(etype, body, timestamp=at(BASE, 10 + i)))
    api.ingest_ok(batch)
    for oid, otype in ids.items():
        o = api.observation(oid)
        assert o["type"] == otype, (oid, o["type"])
        assert o["traceId"] == trace_id
        assert o["input"] == {"i": list(OBS_TYPES.values()).index(otype)}
    obs = api.get_json("/api/public/observations", {"traceId": trace_id, "limit": 100})
    assert obs["meta"]["totalItems"] == len(OBS_TYPES)
    assert sorted(o["type"] for o in obs["data"]) == sorted(OBS_TYPES.values())


def test_span_and_generation_update_events(api, env):
    trace_id, span_id, gen_id = uid("trace"), uid("span"), uid("gen")
    api.ingest_ok([
        event("span-create", {"id": span_id, "traceId": trace_id, "name": "s", "startTime": at(BASE, 0),
                              "environment": env}, timestamp=at(BASE, 0)),
        event("generation-create", {"id": gen_id, "traceId": trace_id, "name": "g", "startTime": at(BASE, 1),
                                    "model": "my-private-model", "environment": env}, timestamp=at(BASE, 1)),
        event("span-update", {"id": span_id, "traceId": trace_id, "endTime": at(BASE, 50),
                              "output": "span-out", "level": "WARNING", "statusMessage": "slow"},
              timestamp=at(BASE, 50)),
        event("generation-update", {"id": gen_id, "traceId": trace_id, "endTime": at(BASE, 60),
                                    "output": {"text": "gen-out"}, "completionStartTime": at(BASE, 20)},
              timestamp=at(BASE, 60)),
    ])
    s = api.observation(span_id)
    assert (s["type"], s["name"], s["output"], s["level"], s["statusMessage"]) == \
        ("SPAN", "s", "span-out", "WARNING", "slow")
    assert s["endTime"] == ms_iso(at(BASE, 50))
    g = api.observation(gen_id)
    assert (g["type"], g["name"], g["model"], g["output"]) == ("GENERATION", "g", "my-private-model",
                                                              {"text": "gen-out"})
    assert g["endTime"] == ms_iso(at(BASE, 60))
    assert g["completionStartTime"] == ms_iso(at(BASE, 20))


@pytest.mark.parametrize("otype", ["GENERATION", "SPAN", "EVENT"])
def test_legacy_observation_create_and_update(api, env, otype):
    trace_id, oid = uid("trace"), uid("obs")
    api.ingest_ok([
        event("observation-create", {"id": oid, "traceId": trace_id, "type": otype, "name": "legacy",
                                     "startTime": at(BASE, 0), "input": "in", "environment": env},
              timestamp=at(BASE, 0)),
        event("observation-update", {"id": oid, "traceId": trace_id, "type": otype, "output": "out",
                                     "version": "v9"}, timestamp=at(BASE, 5)),
    ])
    o = api.observation(oid)
    assert (o["type"], o["name"], o["input"], o["output"], o["version"]) == (otype, "legacy", "in", "out", "v9")


def test_score_create_types(api, env):
    trace_id = uid("trace")
    ids = {k: uid("score") for k in ("num", "cat", "bool", "text", "inferred_num", "inferred_cat")}
    ts = at(BASE, 0)
    api.ingest_ok([
        event("trace-create", {"id": trace_id, "environment": env}, timestamp=ts),
        event("score-create", {"id": ids["num"], "traceId": trace_id, "name": "n", "value": 0.5,
                               "dataType": "NUMERIC", "environment": env}, timestamp=ts),
        event("score-create", {"id": ids["cat"], "traceId": trace_id, "name": "c", "value": "good",
                               "dataType": "CATEGORICAL", "environment": env}, timestamp=ts),
        event("score-create", {"id": ids["bool"], "traceId": trace_id, "name": "b", "value": 1,
                               "dataType": "BOOLEAN", "environment": env}, timestamp=ts),
        event("score-create", {"id": ids["text"], "traceId": trace_id, "name": "t", "value": "free text",
                               "dataType": "TEXT", "environment": env}, timestamp=ts),
        event("score-create", {"id": ids["inferred_num"], "traceId": trace_id, "name": "in", "value": 3,
                               "environment": env}, timestamp=ts),
        event("score-create", {"id": ids["inferred_cat"], "traceId": trace_id, "name": "ic", "value": "x",
                               "environment": env}, timestamp=ts),
    ])
    num = api.score(ids["num"])
    assert (num["dataType"], num["value"]) == ("NUMERIC", 0.5)
    cat = api.score(ids["cat"])
    assert (cat["dataType"], cat["stringValue"]) == ("CATEGORICAL", "good")
    b = api.score(ids["bool"])
    assert (b["dataType"], b["value"], b["stringValue"]) == ("BOOLEAN", 1, "True")
    t = api.score(ids["text"])
    assert (t["dataType"], t["stringValue"]) == ("TEXT", "free text")
    assert api.score(ids["inferred_num"])["dataType"] == "NUMERIC"
    ic = api.score(ids["inferred_cat"])
    assert (ic["dataType"], ic["stringValue"]) == ("CATEGORICAL", "x")


def test_sdk_log_is_dropped_from_both_lists(api):
    good = event("trace-create", {"id": uid("trace")})
    log = event("sdk-log", {"log": {"msg": "hello from the sdk"}})
    r = api.ingest([log, good])
    assert r.status_code == 207
    body = r.json()
    assert [s["id"] for s in body["successes"]] == [good["id"]]
    assert body["errors"] == []


def test_dataset_run_item_create_is_rejected(api):
    ev = event("dataset-run-item-create", {"id": uid("dri"), "runName": "r", "datasetItemId": uid("di"),
                                           "traceId": uid("trace")})
    ok = event("trace-create", {"id": uid("trace")})
    r = api.ingest([ev, ok])
    assert r.status_code == 207
    body = r.json()
    assert [s["id"] for s in body["successes"]] == [ok["id"]]
    assert len(body["errors"]) == 1
    err = body["errors"][0]
    assert err["id"] == ev["id"]
    assert 400 <= err["status"] < 500
    assert "internal" in json.dumps(err).lower(), err  # "only allowed for internal usage"


def test_event_without_body_id_is_success_but_not_stored(api, env):
    """contract §2.1: events whose body.id is missing are reported 201 but not stored."""
    e = event("trace-create", {"name": "no-id", "environment": env})
    api.ingest_ok([e])
    assert api.get_json("/api/public/traces", {"environment": env})["meta"]["totalItems"] == 0


# ----------------------------------------------------------------------------- per-event validation


def _bad_cases():
    t = uid("trace")
    long_id = "x" * 801
    return {
        "missing_timestamp": {"id": "e-no-ts", "type": "trace-create", "body": {"id": t}},
        "bad_timestamp": {"id": "e-bad-ts", "type": "trace-create", "timestamp": "yesterday", "body": {"id": t}},
        "naive_timestamp": {"id": "e-naive-ts", "type": "trace-create", "timestamp": "2025-06-01T08:00:00",
                            "body": {"id": t}},
        "month_13": {"id": "e-month13", "type": "span-create", "timestamp": iso(now_utc()),
                            "body": {"id": uid("s"), "traceId": t, "startTime": "2025-13-01T10:00:00Z"}},
        "bad_end_time": {"id": "e-bad-end", "type": "span-update", "timestamp": iso(now_utc()),
                         "body": {"id": uid("s"), "endTime": "not-a-date"}},
        "unknown_type": {"id": "e-unknown", "type": "trace-explode", "timestamp": iso(now_utc()), "body": {"id": t}},
        "missing_type": {"id": "e-no-type", "timestamp": iso(now_utc()), "body": {"id": t}},
        "missing_body": {"id": "e-no-body", "type": "trace-create", "timestamp": iso(now_utc())},
        "tags_not_array": {"id": "e-tags", "type": "trace-create", "timestamp": iso(now_utc()),
                           "body": {"id": t, "tags": "a,b"}},
        "public_not_bool": {"id": "e-public", "type": "trace-create", "timestamp": iso(now_utc()),
                            "body": {"id": t, "public": "yes"}},
        "name_not_string": {"id": "e-name", "type": "trace-create", "timestamp": iso(now_utc()),
                            "body": {"id": t, "name": 42}},
        "trace_name_too_long": {"id": "e-longname", "type": "trace-create", "timestamp": iso(now_utc()),
                                "body": {"id": t, "name": "n" * 1001}},
        "span_without_id": {"id": "e-span-noid", "type": "span-create", "timestamp": iso(now_utc()),
                            "body": {"traceId": t, "name": "s"}},
        "body_id_too_long": {"id": "e-long-body-id", "type": "span-create", "timestamp": iso(now_utc()),
                             "body": {"id": long_id, "traceId": t}},
        "body_id_with_cr": {"id": "e-cr", "type": "span-create", "timestamp": iso(now_utc()),
                            "body": {"id": "a\rb", "traceId": t}},
        "bad_level": {"id": "e-level", "type": "span-create", "timestamp": iso(now_utc()),
                      "body": {"id": uid("s"), "traceId": t, "level": "INFO"}},
        "prompt_name_without_version": {"id": "e-prompt", "type": "generation-create", "timestamp": iso(now_utc()),
                                        "body": {"id": uid("g"), "traceId": t, "promptName": "p"}},
        "prompt_version_not_int": {"id": "e-prompt-v", "type": "generation-create", "timestamp": iso(now_utc()),
                                   "body": {"id": uid("g"), "traceId": t, "promptName": "p", "promptVersion": "1"}},
        "boolean_score_value_2": {"id": "e-bool", "type": "score-create", "timestamp": iso(now_utc()),
                                  "body": {"id": uid("sc"), "traceId": t, "name": "b", "value": 2,
                                           "dataType": "BOOLEAN"}},
        "numeric_score_string_value": {"id": "e-num", "type": "score-create", "timestamp": iso(now_utc()),
                                       "body": {"id": uid("sc"), "traceId": t, "name": "n", "value": "high",
                                                "dataType": "NUMERIC"}},
        "categorical_score_number_value": {"id": "e-cat", "type": "score-create", "timestamp": iso(now_utc()),
                                           "body": {"id": uid("sc"), "traceId": t, "name": "c", "value": 1,
                                                    "dataType": "CATEGORICAL"}},
        "score_empty_name": {"id": "e-sc-name", "type": "score-create", "timestamp": iso(now_utc()),
                             "body": {"id": uid("sc"), "traceId": t, "name": "", "value": 1}},
        "score_without_value": {"id": "e-sc-noval", "type": "score-create", "timestamp": iso(now_utc()),
                                "body": {"id": uid("sc"), "traceId": t, "name": "x"}},
        "text_score_too_long": {"id": "e-text", "type": "score-create", "timestamp": iso(now_utc()),
                                "body": {"id": uid("sc"), "traceId": t, "name": "t", "value": "x" * 501,
                                         "dataType": "TEXT"}},
        "score_bad_source": {"id": "e-src", "type": "score-create", "timestamp": iso(now_utc()),
                             "body": {"id": uid("sc"), "traceId": t, "name": "x", "value": 1, "source": "HUMAN"}},
        "envelope_id_too_long": {"id": "e" * 801, "type": "trace-create", "timestamp": iso(now_utc()),
                                 "body": {"id": t}},
    }


BAD = _bad_cases()


@pytest.mark.parametrize("case", sorted(BAD))
def test_invalid_event_gets_its_own_400(api, env, case):
    bad = json.loads(json.dumps(BAD[case]))
    good_trace = uid("trace")
    good = event("trace-create", {"id": good_trace, "name": "survivor", "environment": env})
    r = api.ingest([good, bad])
    assert r.status_code == 207, r.text
    body = r.json()
    assert [s["id"] for s in body["successes"]] == [good["id"]], body
    assert len(body["errors"]) == 1, body
    err = body["errors"][0]
    assert err["id"] == bad["id"]
    assert err["status"] == 400
    assert err["message"] == "Invalid request data"
    assert "error" in err and err["error"], err
    # the good event in the same batch was stored
    assert api.trace(good_trace)["name"] == "survivor"


def test_invalid_event_without_envelope_id_is_reported_as_unknown(api):
    bad = {"type": "trace-create", "timestamp": iso(now_utc()), "body": {"id": uid("trace")}}
    good = event("trace-create", {"id": uid("trace")})
    r = api.ingest([bad, good])
    assert r.status_code == 207
    body = r.json()
    assert [s["id"] for s in body["successes"]] == [good["id"]]
    assert [(e["id"], e["status"]) for e in body["errors"]] == [("unknown", 400)]


def test_many_bad_events_do_not_cost_the_good_ones(api, env):
    trace_id = uid("trace")
    good = [event("trace-create", {"id": trace_id, "name": "mixed", "environment": env})]
    good += [event("span-create", {"id": f"{trace_id}-s{i}", "traceId": trace_id, "environment": env})
             for i in range(5)]
    bad = [event("span-create", {"traceId": trace_id}) for _ in range(3)]            # no body id
    bad += [event("trace-create", {"id": trace_id, "tags": "x"}) for _ in range(2)]   # wrong type
    batch = [good[0], bad[0], good[1], bad[1], good[2], bad[2], good[3], bad[3], good[4], bad[4], good[5]]
    r = api.ingest(batch)
    assert r.status_code == 207
    body = r.json()
    assert sorted(s["id"] for s in body["successes"]) == sorted(e["id"] for e in good)
    assert sorted(e["id"] for e in body["errors"]) == sorted(e["id"] for e in bad)
    t = api.trace(trace_id)
    assert t["name"] == "mixed"
    assert sorted(o["id"] for o in t["observations"]) == sorted(f"{trace_id}-s{i}" for i in range(5))


def test_all_events_invalid_is_still_207(api):
    r = api.ingest([{"id": "x1", "type": "nope"}, {"id": "x2", "type": "trace-create"}])
    assert r.status_code == 207
    body = r.json()
    assert body["successes"] == []
    assert sorted(e["id"] for e in body["errors"]) == ["x1", "x2"]


# ----------------------------------------------------------------------------- envelope errors


@pytest.mark.parametrize("payload", [
    b'{"batch": [',                 # truncated
    b"not json at all",
    b'{"batch": [}]}',
])
def test_malformed_json_is_400(api, payload):
    r = api.post("/api/public/ingestion", data=payload, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, f"{r.status_code}: {r.text[:300]}"
    assert isinstance(r.json().get("message"), str)


@pytest.mark.parametrize("payload", [
    {},
    {"events": []},
    {"batch": {"id": "x"}},
    {"batch": "nope"},
    [],
    "batch",
])
def test_missing_or_wrong_batch_is_400(api, payload):
    r = api.post("/api/public/ingestion", json=payload)
    assert r.status_code == 400, f"{r.status_code}: {r.text[:300]}"
    body = r.json()
    assert body["message"] == "Invalid request data"
    assert isinstance(body.get("errors"), list), body


def test_body_over_4_5_mb_is_413(api):
    big = "x" * (5 * 1024 * 1024)
    payload = json.dumps({"batch": [event("trace-create", {"id": uid("trace"), "input": big})]})
    r = api.post("/api/public/ingestion", data=payload, headers={"Content-Type": "application/json"})
    assert r.status_code == 413, f"{r.status_code}: {r.text[:300]}"


def test_body_just_under_4_5_mb_is_accepted(api):
    trace_id = uid("trace")
    big = "y" * 4_400_000  # 4.5 MB = 4,718,592 bytes (bytes-lib "4.5mb")
    r = api.ingest([event("trace-create", {"id": trace_id, "input": big})])
    assert r.status_code == 207, f"{r.status_code}: {r.text[:300]}"
    assert r.json()["errors"] == []
    assert api.trace(trace_id)["input"] == big


def test_gzip_request_body(api, env):
    trace_id = uid("trace")
    payload = json.dumps({"batch": [event("trace-create", {"id": trace_id, "name": "gz", "environment": env})]})
    r = api.post("/api/public/ingestion", data=gzip.compress(payload.encode()),
                 headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 207, f"{r.status_code}: {r.text[:300]}"
    assert r.json()["errors"] == []
    assert api.trace(trace_id)["name"] == "gz"


def test_chunked_request_body(api, env):
    trace_id = uid("trace")
    payload = json.dumps({"batch": [event("trace-create", {"id": trace_id, "name": "chunky", "environment": env,
                                                           "input": "z" * 50_000})]}).encode()

    def chunks():
        for i in range(0, len(payload), 7_000):
            yield payload[i:i + 7_000]

    r = api.post("/api/public/ingestion", data=chunks(), headers={"Content-Type": "application/json"})
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == 207, f"{r.status_code}: {r.text[:300]}"
    assert r.json()["errors"] == []
    t = api.trace(trace_id)
    assert t["name"] == "chunky" and t["input"] == "z" * 50_000


def test_chunked_body_over_limit_is_413(api):
    def chunks():
        yield b'{"batch":[{"id":"x","type":"trace-create","timestamp":"2025-01-01T00:00:00Z","body":{"id":"big","input":"'
        for _ in range(6):
            yield b"q" * (1024 * 1024)
        yield b'"}}]}'

    r = api.post("/api/public/ingestion", data=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413, f"{r.status_code}: {r.text[:300]}"


def test_utf8_payload_round_trips(api):
    trace_id = uid("trace")
    text = "héllo wörld — 日本語 🚀 \"quoted\" \\ back\nslash"
    api.ingest_ok([event("trace-create", {"id": trace_id, "name": "ünïcode ✓", "input": {"q": text},
                                          "metadata": {"emoji": "🙂"}})])
    t = api.trace(trace_id)
    assert t["name"] == "ünïcode ✓"
    assert t["input"] == {"q": text}
    assert t["metadata"] == {"emoji": "🙂"}


def test_ids_of_any_shape(api):
    """ids are any string of 1..800 chars without \\r (LiteLLM uses time-…_chatcmpl-… ids)."""
    trace_id = "trace with spaces/and/slashes?&=#%"
    gen_id = "time-10-35-32-316778_chatcmpl-ABCdef123"
    long_id = "L" * 800
    api.ingest_ok([
        event("trace-create", {"id": trace_id, "name": "odd-ids"}),
        event("generation-create", {"id": gen_id, "traceId": trace_id}),
        event("span-create", {"id": long_id, "traceId": trace_id}),
    ])
    assert api.trace(trace_id)["name"] == "odd-ids"
    assert api.observation(gen_id)["traceId"] == trace_id
    assert api.observation(long_id)["traceId"] == trace_id


def test_observation_without_trace_id_gets_one(api, env):
    """contract §3: a missing traceId gets a random uuid."""
    oid = uid("orphan")
    api.ingest_ok([event("span-create", {"id": oid, "name": "orphan", "environment": env})])
    o = api.observation(oid)
    assert isinstance(o["traceId"], str) and len(o["traceId"]) > 0


# ----------------------------------------------------------------------------- legacy routes


def test_legacy_post_traces(api):
    trace_id = uid("trace")
    r = api.post("/api/public/traces", json={"id": trace_id, "name": "legacy-trace", "userId": "u-legacy",
                                             "metadata": {"a": "b"}})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == trace_id
    t = api.trace(trace_id)
    assert (t["name"], t["userId"], t["metadata"]) == ("legacy-trace", "u-legacy", {"a": "b"})


def test_legacy_generations_post_and_patch(api):
    trace_id, gen_id = uid("trace"), uid("gen")
    r = api.post("/api/public/generations", json={
        "id": gen_id, "traceId": trace_id, "name": "legacy-gen", "startTime": at(BASE, 0),
        "model": "my-legacy-model", "prompt": [{"role": "user", "content": "hi"}],
        "modelParameters": {"temperature": 0.5}})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == gen_id
    r = api.patch("/api/public/generations", json={
        "generationId": gen_id, "traceId": trace_id, "completion": "hello", "endTime": at(BASE, 500)})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == gen_id
    g = api.observation(gen_id)
    assert g["type"] == "GENERATION"
    assert g["name"] == "legacy-gen"
    assert g["model"] == "my-legacy-model"
    assert g["input"] == [{"role": "user", "content": "hi"}]
    assert g["output"] == "hello"
    assert g["modelParameters"] == {"temperature": 0.5}
    assert g["startTime"] == ms_iso(at(BASE, 0))
    assert g["endTime"] == ms_iso(at(BASE, 500))


def test_legacy_spans_post_and_patch(api):
    trace_id, span_id = uid("trace"), uid("span")
    r = api.post("/api/public/spans", json={"id": span_id, "traceId": trace_id, "name": "legacy-span",
                                            "startTime": at(BASE, 0), "input": {"q": 1}})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == span_id
    r = api.patch("/api/public/spans", json={"spanId": span_id, "traceId": trace_id, "output": {"a": 2},
                                             "endTime": at(BASE, 200)})
    assert r.status_code == 200, r.text
    s = api.observation(span_id)
    assert (s["type"], s["name"], s["input"], s["output"]) == ("SPAN", "legacy-span", {"q": 1}, {"a": 2})
    assert s["endTime"] == ms_iso(at(BASE, 200))


def test_legacy_events_post(api):
    trace_id, ev_id = uid("trace"), uid("ev")
    r = api.post("/api/public/events", json={"id": ev_id, "traceId": trace_id, "name": "legacy-event",
                                             "startTime": at(BASE, 0), "level": "ERROR",
                                             "statusMessage": "boom"})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == ev_id
    e = api.observation(ev_id)
    assert (e["type"], e["name"], e["level"], e["statusMessage"]) == ("EVENT", "legacy-event", "ERROR", "boom")


def test_legacy_routes_need_auth(api):
    for path in ("/api/public/traces", "/api/public/generations", "/api/public/spans", "/api/public/events"):
        r = api.post(path, auth=False, json={"id": uid("x")})
        assert r.status_code == 401, (path, r.status_code)
