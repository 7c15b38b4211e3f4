"""The real npm `langfuse` v3 SDK (batch ingestion, JS) against Loupe.

tests/compat/node/scenario.mjs writes a trace with a span, a generation with
usage, an event, scores and a trace update, flushes, and fetches it back with
the SDK's helpers; this test checks the stored data field by field through the
public API and the helpers' results."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess

import pytest

from integration.harness import by_id, env_name, uid

NODE_DIR = pathlib.Path(__file__).resolve().parent / "node"


def T(n):
    """Milliseconds after the scenario's T0 (2025-07-02T12:00:00.000Z), as the server renders it."""
    return f"2025-07-02T12:00:00.{n:03d}Z"


def test_js_sdk_v3_full_scenario(loupe, api):
    if os.environ.get("LOUPE_SKIP_NODE") == "1":
        pytest.skip("LOUPE_SKIP_NODE=1")
    assert shutil.which("node"), "node is not installed"
    assert (NODE_DIR / "node_modules" / "langfuse").exists(), \
        "npm langfuse v3 missing: run scripts/setup-test-env.sh"
    env = env_name()
    prefix = uid("js")
    proc = subprocess.run(["node", "scenario.mjs"], cwd=NODE_DIR, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "LF_HOST": loupe.url, "LF_PREFIX": prefix, "LF_ENV": env})
    assert proc.returncode == 0, f"node failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["errors"] == [], out["errors"]
    ids = out["ids"]

    t = api.trace(ids["trace"])
    assert (t["name"], t["userId"], t["sessionId"], t["release"], t["version"], t["environment"]) == \
        ("js-sdk-v3", "js-user", ids["session"], "rel-js-1", "ver-js", env)
    # trace.update() is a second trace-create with body.timestamp = now, sent in the later request:
    # the first trace-create (by envelope timestamp) fixes the timestamp
    assert t["timestamp"] == T(0)
    assert t["tags"] == ["done", "js", "sdk"]
    assert t["input"] == {"question": "what is loupe?"}
    assert t["output"] == {"answer": "an observability server"}
    assert t["metadata"] == {"tenant": "acme", "nested": {"a": 1}, "extra": "x"}
    assert t["latency"] == pytest.approx(0.59)
    assert t["totalCost"] == pytest.approx(100 * 2.5e-6 + 20 * 1e-5)

    obs = by_id(t["observations"])
    assert set(obs) == {ids["span"], ids["gen"], ids["event"]}
    s = obs[ids["span"]]
    assert (s["type"], s["name"], s["parentObservationId"], s["environment"]) == ("SPAN", "retrieve", None, env)
    assert s["input"] == {"query": "loupe"} and s["output"] == ["doc-1", "doc-2"] and s["metadata"] == {"k": 3}
    assert (s["startTime"], s["endTime"]) == (T(10), T(600))
    g = obs[ids["gen"]]
    assert (g["type"], g["name"], g["parentObservationId"], g["model"]) == \
        ("GENERATION", "llm-call", ids["span"], "gpt-4o")
    assert g["modelParameters"] == {"temperature": 0.1, "maxTokens": 256}
    assert g["input"] == [{"role": "user", "content": "what is loupe?"}]
    assert g["output"] == {"role": "assistant", "content": "an observability server"}
    assert (g["startTime"], g["endTime"], g["completionStartTime"]) == (T(20), T(520), T(120))
    assert g["usageDetails"] == {"input": 100, "output": 20, "total": 120}
    assert g["calculatedTotalCost"] == pytest.approx(4.5e-4)
    assert g["timeToFirstToken"] == pytest.approx(0.1) and g["latency"] == pytest.approx(0.5)
    e = obs[ids["event"]]
    assert (e["type"], e["name"], e["level"], e["statusMessage"], e["parentObservationId"], e["startTime"]) == \
        ("EVENT", "cache-miss", "WARNING", "miss", ids["span"], T(15))

    scores = by_id(t["scores"])
    assert set(scores) == {ids["scoreTrace"], ids["scoreObs"]}
    st = scores[ids["scoreTrace"]]
    assert (st["name"], st["value"], st["comment"], st["dataType"], st["environment"]) == \
        ("quality", 0.8, "looks right", "NUMERIC", env)
    so = scores[ids["scoreObs"]]
    assert (so["stringValue"], so["dataType"], so["observationId"]) == ("good", "CATEGORICAL", ids["gen"])

    # what the SDK's own fetch helpers got back
    f = out["fetched"]
    assert f["trace"]["id"] == ids["trace"]
    assert sorted(o["id"] for o in f["trace"]["observations"]) == sorted([ids["span"], ids["gen"], ids["event"]])
    assert [x["id"] for x in f["traces"]["data"]] == [ids["trace"]]
    assert f["traces"]["meta"]["totalItems"] == 1
    assert [x["id"] for x in f["observations"]["data"]] == [ids["gen"]]
    assert f["observation"]["model"] == "gpt-4o"
    assert ids["session"] in {x["id"] for x in f["sessions"]["data"]}
