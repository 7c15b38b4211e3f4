"""Replays requests captured from real clients (tests/fixtures) byte-for-byte
(same headers, same JSON body) and checks the status and the stored entities.

legacy-langfuse-v3/: the npm `langfuse` 3.39.2 SDK (headers x-langfuse-sdk-*,
Basic pk-lf-test:sk-lf-test, events out of causal order).
examples/02: a Python SDK v2 style batch composed from the SDK source."""

from __future__ import annotations

import json
import pathlib

import pytest

from integration.harness import by_id, ms_iso

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures"
LEGACY = sorted((FIXTURES / "legacy-langfuse-v3").glob("*.json"))

DROP_HEADERS = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding"}


def _replay(api, fx):
    headers = {k: v for k, v in fx["headers"].items() if k.lower() not in DROP_HEADERS}
    body = json.dumps(fx["body"]).encode() if "body" in fx else None
    return api.request(fx["method"], fx["path"], params=fx.get("query") or None, data=body, headers=headers,
                       auth=False)


@pytest.mark.parametrize("path", LEGACY, ids=[p.name for p in LEGACY])
def test_replay_legacy_langfuse_v3(api, path):
    fx = json.loads(path.read_text())
    if fx["path"] != "/api/public/ingestion":
        _check_prompt_call(api, fx)
        return
    r = _replay(api, fx)
    assert r.status_code == fx["response"]["status"], r.text
    got = r.json()
    want = fx["response"]["body"]
    assert sorted(got["successes"], key=lambda s: s["id"]) == sorted(want["successes"], key=lambda s: s["id"])
    assert got["errors"] == want["errors"]
    if path.name.startswith("001-"):
        _check_legacy_001(api)


def _check_prompt_call(api, fx):
    """The SDK's prompt calls, in capture order: a missing prompt, a create, a get."""
    r = _replay(api, fx)
    assert r.status_code == fx["response"]["status"], r.text
    got, want = r.json(), fx["response"]["body"]
    if r.status_code == 404:
        assert got["error"] == "LangfuseNotFoundError"
        assert "missing-prompt" in got["message"]
        return
    for key in ("name", "type", "prompt", "config"):
        assert got[key] == want[key], key
    assert "latest" in got["labels"] and got["version"] >= 1
    assert set(want["labels"]) <= set(got["labels"])


def _check_legacy_001(api):
    t = api.trace("trace-legacy-0001")
    # two trace-creates: the original (body.timestamp …251Z, envelope …268Z) and trace.update()
    # (body.timestamp …252Z, envelope …269Z): the first one by envelope time fixes the timestamp
    assert t["timestamp"] == "2026-11-26T23:13:44.251Z"
    assert (t["name"], t["userId"], t["sessionId"], t["release"], t["version"], t["environment"]) == \
        ("legacy-trace", "user-42", "session-7", "rel-1.2.3", "v1", "staging")
    assert t["tags"] == ["tagA", "tagB"]
    assert t["public"] is False
    assert t["input"] == {"question": "What is 2+2?"}
    assert t["output"] == {"answer": "4"}
    assert t["metadata"] == {"source": "capture", "updated": True}

    obs = by_id(t["observations"])
    assert set(obs) == {"span-legacy-0001", "gen-legacy-0001", "event-legacy-0001"}
    span = obs["span-legacy-0001"]
    assert (span["type"], span["name"], span["parentObservationId"], span["environment"]) == \
        ("SPAN", "retrieve", None, "staging")
    assert span["startTime"] == "2025-01-01T00:00:00.000Z"
    assert span["endTime"] == "2026-11-26T23:13:44.252Z"
    assert span["input"] == {"q": "2+2"} and span["output"] == {"docs": 3}
    assert span["metadata"] == {"k": 3, "late": "update"}

    # generation-update is listed before generation-create with the same envelope timestamp
    gen = obs["gen-legacy-0001"]
    assert (gen["type"], gen["name"], gen["model"], gen["parentObservationId"]) == \
        ("GENERATION", "llm-call", "gpt-4o-mini", "span-legacy-0001")
    assert gen["startTime"] == "2025-01-01T00:00:00.100Z"
    assert gen["completionStartTime"] == "2025-01-01T00:00:00.300Z"
    assert gen["endTime"] == "2026-11-26T23:13:44.252Z"
    assert gen["modelParameters"] == {"temperature": 0.2, "maxTokens": 100}
    assert gen["input"] == [{"role": "user", "content": "What is 2+2?"}]
    assert gen["output"] == {"role": "assistant", "content": "4"}
    assert gen["usageDetails"] == {"input": 12, "output": 1, "total": 13, "cache_read_input_tokens": 2}
    assert gen["costDetails"] == {"input": pytest.approx(1e-4), "output": pytest.approx(2e-5),
                                  "total": pytest.approx(1.2e-4)}
    assert gen["calculatedTotalCost"] == pytest.approx(1.2e-4)
    assert gen["modelId"] == "clyrjp56f0000t0mzapoocd7u"   # gpt-4o-mini in the default price table
    assert gen["environment"] == "staging"

    ev = obs["event-legacy-0001"]
    assert (ev["type"], ev["name"], ev["level"], ev["statusMessage"], ev["parentObservationId"]) == \
        ("EVENT", "cache-miss", "WARNING", "miss", "span-legacy-0001")
    assert ev["input"] == {"key": "x"}
    assert ev["startTime"] == "2026-11-26T23:13:44.252Z"

    scores = by_id(t["scores"])
    assert set(scores) == {"score-legacy-0001", "9a75f27a-5d20-4eb2-b14b-f681d1dd7fbb"}
    s1 = scores["score-legacy-0001"]
    assert (s1["name"], s1["value"], s1["comment"], s1["dataType"], s1["observationId"], s1["environment"]) == \
        ("correctness", 1, "right", "NUMERIC", None, "staging")
    assert s1["timestamp"] == "2026-11-26T23:13:44.258Z"
    s2 = scores["9a75f27a-5d20-4eb2-b14b-f681d1dd7fbb"]
    assert (s2["name"], s2["stringValue"], s2["dataType"], s2["observationId"]) == \
        ("quality", "good", "CATEGORICAL", "gen-legacy-0001")

    sess = api.get_json("/api/public/sessions/session-7")
    assert "trace-legacy-0001" in [x["id"] for x in sess["traces"]]


def test_replay_python_v2_example_batch(api):
    fx = json.loads((FIXTURES / "examples" / "02_python_v2_ingestion_create_update.json").read_text())
    body = {k: v for k, v in fx.items() if k != "_comment"}
    r = api.post("/api/public/ingestion", json=body, headers={"x_langfuse_sdk_name": "python",
                                                              "x_langfuse_sdk_version": "2.60.10",
                                                              "x_langfuse_public_key": "pk-lf-test"})
    assert r.status_code == 207
    got = r.json()
    assert got["errors"] == []
    # e9 is the sdk-log: in neither list
    assert sorted(s["id"] for s in got["successes"]) == [f"e{i}" for i in range(1, 9)]

    trace_id = "c0a80101-7e57-4c1d-9a3b-2f4e6d8c0b1a"
    t = api.trace(trace_id)
    assert t["timestamp"] == "2025-06-01T08:00:00.000Z"
    assert (t["name"], t["userId"], t["sessionId"], t["release"], t["version"], t["environment"]) == \
        ("rag-pipeline", "user-1234", "sess-1", "v1.4.2", "3", "staging")
    assert t["tags"] == ["beta", "rag"]
    assert t["metadata"] == {"tenant": "acme"}
    assert t["input"] == {"question": "How do refunds work?"}
    assert t["output"] == "Refunds are processed within 5 business days."
    # Langfuse: date_diff(least(min(start_time), min(end_time)), greatest(max(start_time), max(end_time))):
    # from the span's start 08:00:00.001 to the event's start 08:00:01.901
    assert t["latency"] == pytest.approx(1.9)
    assert t["totalCost"] == pytest.approx(0.002136)

    obs = by_id(t["observations"])
    assert set(obs) == {"span-7b2e", "gen-9f41", "evt-1"}
    span = obs["span-7b2e"]
    assert span["output"] == [{"doc_id": "kb-12", "score": 0.83}]
    assert (span["startTime"], span["endTime"]) == ("2025-06-01T08:00:00.001Z", "2025-06-01T08:00:00.209Z")
    gen = obs["gen-9f41"]
    assert gen["model"] == "claude-3-5-sonnet-20241022"
    assert gen["modelParameters"] == {"temperature": "0.1", "max_tokens": 1024}
    assert gen["usageDetails"] == {"input": 512, "output": 40, "cache_read_input_tokens": 128, "total": 680}
    assert gen["costDetails"] == {"input": pytest.approx(0.001536), "output": pytest.approx(0.0006),
                                  "total": pytest.approx(0.002136)}
    assert gen["completionStartTime"] == "2025-06-01T08:00:00.640Z"
    assert gen["endTime"] == "2025-06-01T08:00:01.899Z"
    assert gen["timeToFirstToken"] == pytest.approx(0.429)
    assert gen["output"] == {"role": "assistant", "content": "Refunds are processed within 5 business days."}
    ev = obs["evt-1"]
    assert (ev["level"], ev["statusMessage"], ev["parentObservationId"]) == ("WARNING", "semantic cache miss",
                                                                            "gen-9f41")
    s = api.score("score-1")
    assert (s["traceId"], s["observationId"], s["value"], s["comment"], s["environment"]) == \
        (trace_id, "gen-9f41", 0.9, "auto-eval", "staging")
    assert ms_iso(s["timestamp"]) == "2025-06-01T08:00:02.000Z"
