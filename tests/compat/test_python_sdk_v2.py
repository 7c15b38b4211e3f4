"""The real Python SDK v2 (`langfuse>=2,<3`, batch ingestion) against Loupe.

The SDK writes through POST /api/public/ingestion (underscore x_langfuse_*
headers, 207 handling, retries on any per-event error); the result is read
back through the public API with plain requests, and once more through the
SDK's own fetch_* helpers (which parse responses with its pydantic models)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from integration.harness import PUBLIC_KEY, SECRET_KEY, by_id, env_name, ms_iso, uid

langfuse = pytest.importorskip("langfuse", reason="run scripts/setup-test-env.sh (langfuse v2 in .venv-test/sdk)")

T0 = dt.datetime(2025, 7, 1, 12, 0, 0, 123000, tzinfo=dt.timezone.utc)


def ms(n):
    return T0 + dt.timedelta(milliseconds=n)


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(self.format(record))


@pytest.fixture
def sdk_errors():
    h = _Capture()
    log = logging.getLogger("langfuse")
    log.addHandler(h)
    yield h.records
    log.removeHandler(h)


@pytest.fixture
def client(loupe):
    from langfuse import Langfuse
    env = env_name()
    lf = Langfuse(host=loupe.url, public_key=PUBLIC_KEY, secret_key=SECRET_KEY, release="rel-py-1",
                  environment=env, flush_at=50, flush_interval=0.2, max_retries=1, timeout=10)
    lf._test_env = env
    yield lf
    lf.shutdown()


def test_python_sdk_v2_full_scenario(client, api, sdk_errors):
    lf = client
    env = lf._test_env
    assert lf.auth_check() is True

    p = uid("py")
    trace_id, span_id, gen_id, ev_id = f"{p}-trace", f"{p}-span", f"{p}-gen", f"{p}-ev"
    score_ids = {k: f"{p}-{k}" for k in ("trace", "obs", "bool")}
    session_id = f"{p}-session"

    trace = lf.trace(id=trace_id, name="py-sdk-v2", user_id="py-user", session_id=session_id,
                     input={"question": "what is loupe?"}, metadata={"tenant": "acme", "nested": {"a": 1}},
                     tags=["sdk", "python"], version="ver-1", timestamp=ms(0))
    span = trace.span(id=span_id, name="retrieve", input={"query": "loupe"}, metadata={"k": 3},
                      start_time=ms(10), level="DEBUG")
    gen = span.generation(id=gen_id, name="llm-call", model="gpt-4o",
                          model_parameters={"temperature": 0.1, "max_tokens": 256},
                          input=[{"role": "user", "content": "what is loupe?"}], start_time=ms(20),
                          completion_start_time=ms(120), version="gen-v")
    gen.end(output={"role": "assistant", "content": "an observability server"},
            usage={"input": 100, "output": 20, "unit": "TOKENS"}, end_time=ms(520))
    span.event(id=ev_id, name="cache-miss", level="WARNING", status_message="miss", input={"key": "k1"},
               start_time=ms(15))
    span.end(output=["doc-1", "doc-2"], end_time=ms(600))
    trace.score(id=score_ids["trace"], name="quality", value=0.8, comment="looks right")
    lf.score(id=score_ids["obs"], trace_id=trace_id, observation_id=gen_id, name="label", value="good",
             data_type="CATEGORICAL")
    lf.score(id=score_ids["bool"], trace_id=trace_id, name="thumbs", value=1, data_type="BOOLEAN")
    trace.update(output={"answer": "an observability server"}, metadata={"extra": "x"}, tags=["done"])
    lf.flush()
    assert not [r for r in sdk_errors if "error" in r.lower()], sdk_errors

    # ---- read back with plain HTTP
    t = api.trace(trace_id)
    assert t["name"] == "py-sdk-v2"
    assert t["userId"] == "py-user"
    assert t["sessionId"] == session_id
    assert t["release"] == "rel-py-1"
    assert t["version"] == "ver-1"
    assert t["environment"] == env
    assert t["timestamp"] == ms_iso(ms(0))
    assert t["tags"] == ["done", "python", "sdk"]
    assert t["input"] == {"question": "what is loupe?"}
    assert t["output"] == {"answer": "an observability server"}
    assert t["metadata"] == {"tenant": "acme", "nested": {"a": 1}, "extra": "x"}
    assert t["public"] is False
    assert t["latency"] == pytest.approx(0.59)         # 10 ms .. 600 ms
    assert t["totalCost"] == pytest.approx(100 * 2.5e-6 + 20 * 1e-5)

    obs = by_id(t["observations"])
    assert set(obs) == {span_id, gen_id, ev_id}
    s = obs[span_id]
    assert (s["type"], s["name"], s["parentObservationId"], s["level"]) == ("SPAN", "retrieve", None, "DEBUG")
    assert s["input"] == {"query": "loupe"} and s["output"] == ["doc-1", "doc-2"]
    assert s["metadata"] == {"k": 3}
    assert (s["startTime"], s["endTime"]) == (ms_iso(ms(10)), ms_iso(ms(600)))
    assert s["environment"] == env

    g = obs[gen_id]
    assert (g["type"], g["name"], g["parentObservationId"], g["model"], g["version"]) == \
        ("GENERATION", "llm-call", span_id, "gpt-4o", "gen-v")
    # the v2 SDK's MapValue (str | int | bool | list[str]) turns the float 0.1 into the string "0.1"
    assert g["modelParameters"] == {"temperature": "0.1", "max_tokens": 256}
    assert g["input"] == [{"role": "user", "content": "what is loupe?"}]
    assert g["output"] == {"role": "assistant", "content": "an observability server"}
    assert (g["startTime"], g["endTime"], g["completionStartTime"]) == \
        (ms_iso(ms(20)), ms_iso(ms(520)), ms_iso(ms(120)))
    assert g["usageDetails"] == {"input": 100, "output": 20, "total": 120}
    assert (g["promptTokens"], g["completionTokens"], g["totalTokens"]) == (100, 20, 120)
    assert g["costDetails"] == {"input": pytest.approx(2.5e-4), "output": pytest.approx(2e-4),
                                "total": pytest.approx(4.5e-4)}
    assert g["calculatedTotalCost"] == pytest.approx(4.5e-4)
    assert g["modelId"] == "b9854a5c92dc496b997d99d20"
    assert g["latency"] == pytest.approx(0.5)
    assert g["timeToFirstToken"] == pytest.approx(0.1)
    assert g["level"] == "DEFAULT"

    e = obs[ev_id]
    assert (e["type"], e["name"], e["level"], e["statusMessage"], e["parentObservationId"]) == \
        ("EVENT", "cache-miss", "WARNING", "miss", span_id)
    assert e["input"] == {"key": "k1"} and e["startTime"] == ms_iso(ms(15))

    scores = by_id(t["scores"])
    assert set(scores) == set(score_ids.values())
    st = scores[score_ids["trace"]]
    assert (st["name"], st["value"], st["comment"], st["dataType"], st["source"], st["observationId"]) == \
        ("quality", 0.8, "looks right", "NUMERIC", "API", None)
    so = scores[score_ids["obs"]]
    assert (so["name"], so["stringValue"], so["dataType"], so["observationId"]) == \
        ("label", "good", "CATEGORICAL", gen_id)
    sb = scores[score_ids["bool"]]
    assert (sb["value"], sb["stringValue"], sb["dataType"]) == (1, "True", "BOOLEAN")
    for sc in scores.values():
        assert sc["environment"] == env

    sess = api.get_json(f"/api/public/sessions/{session_id}")
    assert [x["id"] for x in sess["traces"]] == [trace_id]

    # ---- read back through the SDK's own fetch helpers (pydantic parsing of our responses)
    ft = lf.fetch_trace(trace_id).data
    assert ft.id == trace_id and ft.name == "py-sdk-v2" and ft.user_id == "py-user"
    assert sorted(o.id for o in ft.observations) == sorted([span_id, gen_id, ev_id])
    assert sorted(s.id for s in ft.scores) == sorted(score_ids.values())
    fts = lf.fetch_traces(name="py-sdk-v2", user_id="py-user", session_id=session_id)
    assert [x.id for x in fts.data] == [trace_id]
    assert fts.meta.total_items == 1 and fts.meta.page == 1
    fo = lf.fetch_observations(trace_id=trace_id, type="GENERATION")
    assert [o.id for o in fo.data] == [gen_id]
    assert fo.data[0].usage_details == {"input": 100, "output": 20, "total": 120}
    fg = lf.fetch_observation(gen_id).data
    assert fg.model == "gpt-4o" and fg.parent_observation_id == span_id
    assert fg.calculated_total_cost == pytest.approx(4.5e-4)
    fs = lf.fetch_sessions(limit=100)
    assert session_id in {x.id for x in fs.data}


def test_python_sdk_v2_auth_check_fails_with_wrong_key(loupe):
    from langfuse import Langfuse
    lf = Langfuse(host=loupe.url, public_key=PUBLIC_KEY, secret_key="sk-lf-wrong", max_retries=0)
    try:
        with pytest.raises(Exception):
            lf.auth_check()
    finally:
        lf.shutdown()


def test_python_sdk_v2_many_events_in_several_batches(client, api):
    """flush_at=50 splits 120 events into several requests; all must arrive."""
    lf = client
    p = uid("pymany")
    trace = lf.trace(id=f"{p}-trace", name="many")
    for i in range(119):
        trace.span(id=f"{p}-s{i:03d}", name=f"s{i}", input={"i": i})
    lf.flush()
    obs = api.list_all("/api/public/observations", {"traceId": f"{p}-trace"})
    assert sorted(o["id"] for o in obs) == [f"{p}-s{i:03d}" for i in range(119)]
    assert {o["input"]["i"] for o in obs} == set(range(119))
