"""Third-party instrumentations that speak OTLP, against Loupe, with the real
packages from PyPI: LiteLLM's `langfuse_otel` callback (mock_response, no LLM
is called) and the OpenAI Python SDK instrumented by
openinference-instrumentation-openai and by opentelemetry-instrumentation-openai
(OpenLLMetry), calling a local OpenAI-compatible test server. Everything is
read back through the public API and checked field by field; costs are checked
against the price of the matched model in Loupe's default price table."""

from __future__ import annotations

import os

import pytest

from integration.harness import Api, parse_iso, uid

from otel.fake_openai import CONTENT, MISSING_MODEL, MODEL, USAGE, FakeOpenAI
from otel.otel_clients import client_env, run_python_client

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is 2+2?"},
]
ASSISTANT = {"role": "assistant", "content": CONTENT}


def _prices(api: Api, obs: dict, model_name: str) -> dict[str, float]:
    """The per-token prices of a priced generation's matched model, as
    GET /api/public/models/{id} lists them (a Langfuse-managed default)."""
    assert obs["modelId"], f"{obs['name']}: no model matched"
    m = api.get_json(f"/api/public/models/{obs['modelId']}")
    assert m["modelName"] == model_name
    assert m["isLangfuseManaged"] is True
    assert obs["inputPrice"] == pytest.approx(m["inputPrice"])
    assert obs["outputPrice"] == pytest.approx(m["outputPrice"])
    return {k: v["price"] for k, v in m["prices"].items()}


def _check_cost(obs: dict, prices: dict[str, float]) -> float:
    """Cost from the price table: each usage type that has a price, priced."""
    parts = {k: n * prices[k] for k, n in obs["usageDetails"].items() if k in prices}
    total = sum(parts.values())
    assert obs["costDetails"] == {**{k: pytest.approx(v) for k, v in parts.items()},
                                  "total": pytest.approx(total)}
    assert obs["calculatedInputCost"] == pytest.approx(
        sum(v for k, v in parts.items() if k.startswith("input")))
    assert obs["calculatedOutputCost"] == pytest.approx(
        sum(v for k, v in parts.items() if k.startswith("output")))
    assert obs["calculatedTotalCost"] == pytest.approx(total)
    return total


def _within(obs: dict, parent: dict) -> None:
    assert parse_iso(parent["startTime"]) <= parse_iso(obs["startTime"]), obs["name"]
    assert parse_iso(obs["endTime"]) <= parse_iso(parent["endTime"]), obs["name"]


def _tokens(obs: dict, n_in: int, n_out: int) -> None:
    assert obs["usageDetails"] == {"input": n_in, "output": n_out, "total": n_in + n_out}
    assert obs["promptTokens"] == n_in and obs["completionTokens"] == n_out
    assert obs["totalTokens"] == n_in + n_out


# --------------------------------------------------------------------------- LiteLLM


def _litellm_children(t: dict) -> tuple[dict, dict]:
    """A successful LiteLLM call's trace: the LLM span (root) and LiteLLM's
    raw-request child span."""
    assert len(t["observations"]) == 2, [o["name"] for o in t["observations"]]
    (g,) = [o for o in t["observations"] if o["parentObservationId"] is None]
    (raw,) = [o for o in t["observations"] if o["parentObservationId"] is not None]
    assert g["type"] == "GENERATION"
    assert raw["parentObservationId"] == g["id"] and raw["type"] == "SPAN"
    assert raw["model"] is None and raw["usageDetails"] == {} and raw["input"] is None
    # The raw-request span carries no langfuse.environment attribute: its
    # environment is the resource's deployment.environment, LiteLLM's default.
    assert raw["environment"] == "production"
    _within(raw, g)
    return g, raw


def test_litellm_langfuse_otel_callback(loupe, api, env):
    if os.environ.get("LOUPE_SKIP_LITELLM") == "1":
        pytest.skip("LOUPE_SKIP_LITELLM=1: .venv-test/litellm-otel not installed")
    session = uid("sess-litellm")
    ids = run_python_client(
        "py_litellm_otel.py", venv="litellm-otel",
        env=client_env(
            loupe.url, env, session,
            # The callback exports to LANGFUSE_OTEL_HOST, else LANGFUSE_HOST; the
            # latter points at nothing here, so a wrong choice fails the export.
            LANGFUSE_OTEL_HOST=loupe.url,
            LANGFUSE_HOST="http://127.0.0.1:9",
            LANGFUSE_TRACING_ENVIRONMENT=env,
            # Use the price map shipped in the package; do not try the network.
            LITELLM_LOCAL_MODEL_COST_MAP="True",
        ))

    listed = api.get_json("/api/public/traces", {"sessionId": session})
    traces = {t["name"]: t for t in listed["data"]}
    # Each call is its own trace, named by metadata.trace_name.
    assert set(traces) == {"litellm-otel-trace", "litellm-otel-stream", "litellm-otel-failure"}
    assert listed["meta"]["totalItems"] == 3
    # Observation ids in the list; a failed call has no raw-request span.
    for t in listed["data"]:
        assert all(isinstance(o, str) for o in t["observations"])
        assert len(t["observations"]) == (1 if t["name"] == "litellm-otel-failure" else 2)
    only = api.get_json("/api/public/traces", {"userId": "user-litellm", "environment": env})
    assert [t["id"] for t in only["data"]] == [traces["litellm-otel-trace"]["id"]]

    # ---- the plain call
    t = api.trace(traces["litellm-otel-trace"]["id"])
    assert t["name"] == "litellm-otel-trace"
    assert t["userId"] == "user-litellm"
    assert t["sessionId"] == session
    assert sorted(t["tags"]) == ["litellm", "otel"]
    assert t["environment"] == env
    assert t["version"] == "v3"
    assert t["input"] == MESSAGES
    assert t["output"] == ASSISTANT
    assert t["metadata"]["team"] == "core"  # langfuse.trace.metadata (a JSON string)
    assert t["metadata"]["scope"] == {"name": "litellm", "attributes": {}}
    assert t["metadata"]["resourceAttributes"]["service.name"] == "litellm"

    g, raw = _litellm_children(t)
    assert g["name"] == "answer-llm" and raw["name"] == "answer-llm"  # metadata.generation_name
    assert g["traceId"] == t["id"]
    assert g["model"] == "gpt-4o"
    assert g["modelParameters"] == {"temperature": 0.2, "max_tokens": 64}
    assert g["input"] == MESSAGES
    assert g["output"] == ASSISTANT
    assert g["environment"] == env
    assert g["version"] == "v3"
    assert g["level"] == "DEFAULT" and g["statusMessage"] is None
    # LiteLLM's mock response reports 10 prompt and 20 completion tokens.
    _tokens(g, 10, 20)
    prices = _prices(api, g, "gpt-4o")
    expected = 10 * prices["input"] + 20 * prices["output"]
    assert expected == pytest.approx(0.000225)  # $2.50 and $10 per million tokens
    # LiteLLM sends its own cost (llm.cost.total): Loupe keeps it as the
    # provided cost, and it agrees with the price table.
    assert g["costDetails"] == {"total": pytest.approx(expected)}
    assert g["calculatedTotalCost"] == pytest.approx(expected)
    assert t["totalCost"] == pytest.approx(expected)
    assert g["startTime"] <= g["completionStartTime"] <= g["endTime"]
    assert t["timestamp"] == g["startTime"]
    attrs = g["metadata"]["attributes"]
    assert attrs["openinference.span.kind"] == "LLM"
    assert attrs["llm.provider"] == "openai"
    assert attrs["llm.request.type"] == "completion"
    assert attrs["llm.response.id"] == ids["plain"]
    assert attrs["langfuse.generation.name"] == "answer-llm"  # not read by the server: kept
    assert "langfuse.observation.input" not in attrs and "llm.output_messages.0.message.role" not in attrs
    assert g["metadata"]["scope"] == {"name": "litellm", "attributes": {}}
    assert g["metadata"]["resourceAttributes"]["deployment.environment"] == "production"
    assert "llm.openai.stringified_raw_response" in raw["metadata"]["attributes"]

    o = api.observation(g["id"])
    assert o["usageDetails"] == g["usageDetails"] and o["costDetails"] == g["costDetails"]
    assert o["input"] == MESSAGES and o["model"] == "gpt-4o"

    # ---- the streaming call
    t = api.trace(traces["litellm-otel-stream"]["id"])
    assert t["sessionId"] == session and t["environment"] == env
    assert t["userId"] is None and t["tags"] == []
    g, _ = _litellm_children(t)
    assert g["name"] == "litellm_request"
    assert g["model"] == "gpt-4o"
    assert g["input"] == MESSAGES and g["output"] == ASSISTANT
    assert t["input"] == MESSAGES and t["output"] == ASSISTANT
    # Non-scalar invocation parameters are kept as their JSON text.
    assert g["modelParameters"] == {"stream": "true", "stream_options": '{"include_usage":true}'}
    assert g["metadata"]["attributes"]["llm.is_streaming"] == "True"
    assert g["metadata"]["attributes"]["llm.response.id"] == ids["stream"]
    n_in, n_out = g["usageDetails"]["input"], g["usageDetails"]["output"]
    assert n_in > 0 and n_out > 0
    _tokens(g, n_in, n_out)
    prices = _prices(api, g, "gpt-4o")
    assert g["calculatedTotalCost"] == pytest.approx(n_in * prices["input"] + n_out * prices["output"])
    assert g["startTime"] <= g["completionStartTime"] <= g["endTime"]

    # ---- the failing call
    t = api.trace(traces["litellm-otel-failure"]["id"])
    assert t["input"] == MESSAGES and t["output"] is None
    assert t["sessionId"] == session and t["environment"] == env
    (g,) = t["observations"]
    assert g["type"] == "GENERATION" and g["parentObservationId"] is None
    assert g["name"] == "litellm_request" and g["environment"] == env
    assert g["level"] == "ERROR"
    assert "upstream exploded" in g["statusMessage"]
    assert g["model"] == "gpt-4o"
    assert g["input"] == MESSAGES and g["output"] is None
    assert g["usageDetails"] == {} and g["costDetails"] == {}
    assert not g["calculatedTotalCost"]
    assert g["metadata"]["attributes"]["error.type"] == "InternalServerError"


# --------------------------------------------------------------------------- OpenAI SDK


@pytest.fixture(scope="module")
def fake_openai():
    server = FakeOpenAI().start()
    yield server
    server.stop()


def _openai_request(stream: bool) -> dict:
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 100, "temperature": 0.2}
    if stream:
        body.update({"stream": True, "stream_options": {"include_usage": True}})
    return body


@pytest.mark.parametrize("flavour", ["openinference", "openllmetry"])
def test_openai_sdk_instrumented(loupe, api, env, fake_openai, flavour):
    session = uid(f"sess-{flavour}")
    sent_before = len(fake_openai.requests)
    ids = run_python_client(
        "py_openai_instrumented.py", flavour, venv="openai-otel",
        env=client_env(loupe.url, env, session, OPENAI_BASE_URL=fake_openai.base_url))
    sent = fake_openai.requests[sent_before:]
    assert [r["body"]["model"] for r in sent] == ["gpt-4o-mini", "gpt-4o-mini", MISSING_MODEL]
    assert sent[0]["headers"]["authorization"] == "Bearer sk-fake"

    t = api.trace(ids["trace_id"])
    assert t["name"] == f"qa-{flavour}"  # langfuse.trace.name on the root span
    assert t["userId"] == f"user-{flavour}"
    assert t["sessionId"] == session
    assert t["environment"] == env  # resource deployment.environment.name
    assert t["version"] == "2.0.1"  # resource service.version
    assert t["input"] == "What is 2+2?" and t["output"] == CONTENT  # root input.value/output.value
    assert t["metadata"]["scope"]["name"] == "qa-app"
    assert t["metadata"]["resourceAttributes"]["service.name"] == f"qa-{flavour}"

    assert len(t["observations"]) == 4, [o["name"] for o in t["observations"]]
    (root,) = [o for o in t["observations"] if o["id"] == ids["root_id"]]
    assert root["type"] == "SPAN" and root["name"] == "qa-pipeline"
    assert root["parentObservationId"] is None
    assert root["model"] is None and root["usageDetails"] == {}
    children = sorted((o for o in t["observations"] if o is not root), key=lambda o: o["startTime"])
    chat, stream, missing = children
    for o in children:
        assert o["type"] == "GENERATION", o["name"]
        assert o["traceId"] == t["id"]
        assert o["parentObservationId"] == root["id"]
        assert o["environment"] == env and o["version"] == "2.0.1"
        _within(o, root)

    # The test server reports 12 prompt tokens (4 of them cached) and 3
    # completion tokens (1 of them reasoning), as api.openai.com details them.
    if flavour == "openinference":
        # llm.token_count.{prompt,completion,total} and .prompt_details.cache_read,
        # .prompt_details.audio, .completion_details.reasoning, .completion_details.audio
        usage = {"input": 8, "input_cached_tokens": 4, "output": 2, "output_reasoning_tokens": 1,
                 "output_audio_tokens": 0, "prompt_details.audio": 0, "total": 15}
        expected_usage = [usage, usage]
        expected_cost = 8 * 0.15e-6 + 4 * 0.075e-6 + 2 * 0.6e-6
    else:
        # gen_ai.usage.{input,output,total}_tokens, .cache_read.input_tokens and
        # (not in the streaming span) .reasoning_tokens, which no rule reads:
        # kept under its own name, and output is not reduced by it.
        usage = {"input": 8, "input_cached_tokens": 4, "output": 3, "total": 15}
        expected_usage = [{**usage, "reasoning_tokens": 1}, usage]
        expected_cost = 8 * 0.15e-6 + 4 * 0.075e-6 + 3 * 0.6e-6
    for o, want in zip((chat, stream), expected_usage):
        assert o["model"] == MODEL  # the response model wins over the requested one
        assert o["level"] == "DEFAULT" and o["statusMessage"] is None
        assert o["usageDetails"] == want, o["name"]
        assert (o["promptTokens"], o["completionTokens"], o["totalTokens"]) == (12, 3, 15)
        prices = _prices(api, o, MODEL)  # the dated default entry
        assert prices["input"] == pytest.approx(0.15e-6) and prices["output"] == pytest.approx(0.6e-6)
        assert prices["input_cached_tokens"] == pytest.approx(0.075e-6)
        # No cost was sent: it comes from the price table.
        assert _check_cost(o, prices) == pytest.approx(expected_cost)
    assert t["totalCost"] == pytest.approx(2 * expected_cost)

    assert missing["level"] == "ERROR"
    assert f"The model `{MISSING_MODEL}` does not exist" in missing["statusMessage"]
    assert missing["output"] is None
    assert missing["usageDetails"] == {} and missing["costDetails"] == {}
    assert missing["modelId"] is None and not missing["calculatedTotalCost"]

    attrs = [o["metadata"]["attributes"] for o in children]
    if flavour == "openinference":
        assert [o["name"] for o in children] == ["ChatCompletion"] * 3
        for o in children:
            assert o["metadata"]["scope"]["name"] == "openinference.instrumentation.openai"
        # input.value / output.value (the whole request and response) win over
        # the flattened llm.input_messages / llm.output_messages.
        assert chat["input"] == _openai_request(stream=False)
        assert stream["input"] == _openai_request(stream=True)
        assert missing["input"] == {"model": MISSING_MODEL, "messages": MESSAGES}
        assert chat["output"]["id"] == ids["chat_response_id"]
        assert chat["output"]["choices"][0]["message"] == {"role": "assistant", "content": CONTENT,
                                                           "refusal": None}
        assert chat["output"]["usage"] == USAGE and stream["output"]["usage"] == USAGE
        assert stream["output"]["object"] == "chat.completion.chunk"
        assert stream["output"]["choices"][0]["message"] == ASSISTANT
        # llm.invocation_parameters
        assert chat["modelParameters"] == {"model": "gpt-4o-mini", "max_tokens": 100, "temperature": 0.2}
        assert stream["modelParameters"] == {"model": "gpt-4o-mini", "max_tokens": 100, "temperature": 0.2,
                                             "stream": "true", "stream_options": '{"include_usage":true}'}
        # The failed call has no response: no model name on the span.
        assert missing["model"] is None
        assert missing["modelParameters"] == {"model": MISSING_MODEL}
        for a in attrs:
            assert a["openinference.span.kind"] == "LLM" and a["llm.system"] == "openai"
            assert a["input.mime_type"] == "application/json"
            assert "input.value" not in a and not any(k.startswith("llm.input_messages") for k in a)
        assert attrs[0]["llm.token_count.prompt"] == "12"
    else:
        assert [o["name"] for o in children] == ["openai.chat"] * 3
        for o in children:
            assert o["metadata"]["scope"]["name"] == "opentelemetry.instrumentation.openai.v1"
        # gen_ai.input.messages / gen_ai.output.messages (GenAI semconv parts).
        parts_in = [{"role": m["role"], "parts": [{"content": m["content"], "type": "text"}]}
                    for m in MESSAGES]
        parts_out = [{"role": "assistant", "parts": [{"content": CONTENT, "type": "text"}],
                      "finish_reason": "stop"}]
        for o in children:
            assert o["input"] == parts_in
        assert chat["output"] == parts_out and stream["output"] == parts_out
        # gen_ai.request.* except the model
        for o in children[:2]:
            assert o["modelParameters"] == {"max_tokens": 100, "temperature": 0.2}
        assert missing["model"] == MISSING_MODEL  # gen_ai.request.model: no price matches
        assert missing["modelParameters"] == {}
        assert attrs[0]["gen_ai.response.id"] == ids["chat_response_id"]
        assert [a["gen_ai.is_streaming"] for a in attrs] == ["false", "true", "false"]
        assert attrs[2]["error.type"] == "NotFoundError"
        for a in attrs:
            assert a["gen_ai.provider.name"] == "openai" and a["gen_ai.operation.name"] == "chat"
            assert "gen_ai.input.messages" not in a and "gen_ai.output.messages" not in a

    # The same observations through GET /observations.
    listed = api.get_json("/api/public/observations", {"traceId": t["id"], "type": "GENERATION"})
    assert sorted(o["id"] for o in listed["data"]) == sorted(o["id"] for o in children)
    o = api.observation(chat["id"])
    assert o["usageDetails"] == chat["usageDetails"] and o["input"] == chat["input"]
