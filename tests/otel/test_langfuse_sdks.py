"""The Langfuse SDKs that speak OTLP (Python v4, @langfuse/tracing +
@langfuse/otel v5) against Loupe: each builds a nested trace with propagated
user/session/tags/metadata, a generation with usage and cost, a failing tool
and an event; everything is read back through the public API and checked
field by field."""

from __future__ import annotations

from datetime import datetime

import pytest

from integration.harness import ms_iso, uid

from otel.otel_clients import by_name, client_env, run_node_client, run_python_client


def _check_sdk_trace(api, ids, *, environment, session, lang, release, version, trace_name, tags,
                     generation_params):
    t = api.trace(ids["trace_id"])
    assert t["id"] == ids["trace_id"]
    assert t["name"] == trace_name
    assert t["userId"] == f"user-{lang}"
    assert t["sessionId"] == session
    assert sorted(t["tags"]) == sorted(tags)
    assert t["environment"] == environment
    assert t["release"] == release
    assert t["version"] == version
    assert t["input"] == {"question": "2+2?"}
    assert t["output"] == {"answer": "4"}
    assert t["metadata"]["team"] == "core"
    assert t["metadata"]["step"] == "root"
    assert t["metadata"]["scope"]["name"] == "langfuse-sdk"
    # The Langfuse SDK's own spans carry no raw attribute dump.
    assert "attributes" not in t["metadata"]
    assert t["totalCost"] == pytest.approx(0.0002)

    obs = by_name(t["observations"])
    assert set(obs) == {f"{lang}-pipeline", "retrieve", "llm", "calc", "cache-miss"}
    root = obs[f"{lang}-pipeline"]
    assert root["id"] == ids["root_id"] and root["type"] == "SPAN"
    assert root["parentObservationId"] is None
    assert root["input"] == {"question": "2+2?"} and root["output"] == {"answer": "4"}
    assert root["metadata"]["step"] == "root"
    for name, o in obs.items():
        assert o["traceId"] == ids["trace_id"]
        assert o["environment"] == environment, name
        assert o["version"] == version, name
        assert o["startTime"] and o["endTime"] and o["endTime"] >= o["startTime"], name
        if o is not root:
            assert o["parentObservationId"] == ids["root_id"], name
            assert root["startTime"] <= o["startTime"], name

    r = obs["retrieve"]
    assert r["id"] == ids["retriever_id"] and r["type"] == "RETRIEVER"
    assert r["input"] == {"q": "2+2"} and r["output"] == {"docs": 2}
    assert r["level"] == "DEFAULT"

    g = obs["llm"]
    assert g["id"] == ids["generation_id"] and g["type"] == "GENERATION"
    assert g["model"] == "gpt-4o-mini"
    assert g["modelParameters"] == generation_params
    assert g["input"] == [{"role": "user", "content": "What is 2+2?"}]
    assert g["output"] == {"role": "assistant", "content": "4"}
    assert g["usageDetails"] == {"input": 12, "output": 3, "total": 15}
    assert g["promptTokens"] == 12 and g["completionTokens"] == 3 and g["totalTokens"] == 15
    assert g["costDetails"] == {"total": pytest.approx(0.0002)}  # user-provided cost wins
    assert g["calculatedTotalCost"] == pytest.approx(0.0002)
    assert g["metadata"]["provider"] == "openai"

    tool = obs["calc"]
    assert tool["id"] == ids["tool_id"] and tool["type"] == "TOOL"
    assert tool["level"] == "ERROR"
    assert tool["statusMessage"] == "division by zero"
    assert tool["input"] == {"expr": "1/0"}

    ev = obs["cache-miss"]
    assert ev["id"] == ids["event_id"] and ev["type"] == "EVENT"
    assert ev["level"] == "WARNING"
    assert ev["input"] == {"key": "x"}
    # An event is a point in time. The JS SDK starts its span on the
    # high-resolution clock and ends it at a millisecond `new Date()` taken
    # just after, so the two can straddle a millisecond boundary.
    start, end = (datetime.fromisoformat(ev[k].replace("Z", "+00:00")) for k in ("startTime", "endTime"))
    assert abs((end - start).total_seconds()) <= 0.002, (ev["startTime"], ev["endTime"])

    # The same trace through the list and session endpoints.
    listed = api.get_json("/api/public/traces", {"userId": f"user-{lang}", "environment": environment})
    assert [x["id"] for x in listed["data"]] == [ids["trace_id"]]
    s = api.get_json(f"/api/public/sessions/{session}")
    assert [x["id"] for x in s["traces"]] == [ids["trace_id"]]
    o = api.observation(ids["generation_id"])
    assert o["usageDetails"] == g["usageDetails"] and o["startTime"] == g["startTime"]
    assert ms_iso(o["startTime"]) == o["startTime"]


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_langfuse_python_sdk_v4(loupe, api, env, compression):
    session = uid("sess-py")
    ids = run_python_client("py_langfuse_sdk.py",
                            env=client_env(loupe.url, env, session, OTEL_COMPRESSION=compression))
    _check_sdk_trace(api, ids, environment=env, session=session, lang="py", release="rel-py-1",
                     version="v7", trace_name="py-sdk-trace", tags=["py", "otel"],
                     generation_params={"temperature": 0.1, "max_tokens": 64})


def test_langfuse_js_sdk_v5(loupe, api, env):
    session = uid("sess-js")
    ids = run_node_client("langfuse_sdk.mjs", env=client_env(loupe.url, env, session))
    _check_sdk_trace(api, ids, environment=env, session=session, lang="js", release="rel-js-1",
                     version="v5", trace_name="js-sdk-trace", tags=["js", "otel"],
                     generation_params={"temperature": 0.2, "maxTokens": 100})
