"""Plain OpenTelemetry SDKs and OTLP exporters (Python and JS) sending gen_ai.*
spans over every transport Loupe serves: OTLP/HTTP protobuf (with and without
gzip, on /api/public/otel/v1/traces and the bare /v1/traces), OTLP/HTTP JSON
and OTLP/gRPC. Each run is read back through the public API."""

from __future__ import annotations

import pytest

from integration.harness import Api, LoupeServer, env_name, free_port, uid

from otel.otel_clients import by_name, client_env, run_node_client, run_python_client


@pytest.fixture(scope="module")
def grpc_loupe(tmp_root):
    """A server with the OTLP/gRPC receiver on (the shared one runs without it)."""
    port = free_port()
    srv = LoupeServer(tmp_root / "data-otel-grpc", tmp_root / "loupe-otel-grpc.log",
                      {"OTLP_GRPC_PORT": str(port)})
    srv.grpc = f"127.0.0.1:{port}"
    srv.start()
    yield srv
    assert srv.stop() == 0, srv.log_tail()


def _check(api, ids, *, environment, session, trace_name, user, tags, version, scope, chat_input,
           chat_output):
    t = api.trace(ids["trace_id"])
    assert t["name"] == trace_name
    assert t["userId"] == user
    assert t["sessionId"] == session
    assert sorted(t["tags"]) == sorted(tags)
    assert t["environment"] == environment
    assert t["version"] == version
    assert t["metadata"]["team"] == "core"
    assert t["metadata"]["scope"]["name"] == scope
    obs = by_name(t["observations"])
    assert set(obs) == {"invoke_agent helper", "chat gpt-4o-mini", "calc"}

    root = obs["invoke_agent helper"]
    assert root["id"] == ids["root_id"] and root["type"] == "AGENT"
    assert root["parentObservationId"] is None
    # Agent invocation spans never carry model, usage or cost.
    assert root["model"] is None and root["usageDetails"] == {}

    chat = obs["chat gpt-4o-mini"]
    assert chat["id"] == ids["chat_id"] and chat["type"] == "GENERATION"
    assert chat["parentObservationId"] == ids["root_id"]
    assert chat["model"] == "gpt-4o-mini-2024-07-18"
    assert chat["modelParameters"] == {"temperature": 0.2, "max_tokens": 100}
    assert chat["usageDetails"] == {"input": 12, "output": 3, "total": 15}
    # No cost was sent: it comes from the price table of the model.
    assert chat["calculatedTotalCost"] and chat["calculatedTotalCost"] > 0
    assert chat["input"] == chat_input
    assert chat["output"] == chat_output
    assert chat["environment"] == environment and chat["version"] == version
    # Everything not mapped stays visible in metadata.attributes, as strings.
    assert chat["metadata"]["attributes"]["gen_ai.system"] == "openai"
    assert chat["metadata"]["attributes"]["gen_ai.request.temperature"] == "0.2"
    assert chat["metadata"]["resourceAttributes"]["service.version"] == version

    tool = obs["calc"]
    assert tool["id"] == ids["tool_id"] and tool["type"] == "TOOL"
    assert tool["parentObservationId"] == ids["root_id"]
    assert tool["level"] == "ERROR"
    assert tool["statusMessage"] == "division by zero"
    assert tool["input"] == {"expr": "1/0"}


PY_MESSAGES_IN = [
    {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
    {"role": "user", "parts": [{"type": "text", "content": "What is 2+2?"}]},
]
PY_MESSAGES_OUT = [{"role": "assistant", "parts": [{"type": "text", "content": "4"}],
                    "finish_reason": "stop"}]


@pytest.mark.parametrize("mode", ["http-protobuf", "http-protobuf-gzip", "http-json",
                                  "http-protojson", "grpc"])
def test_python_otel_exporter(grpc_loupe, mode):
    api = Api(grpc_loupe.url)
    environment, session = env_name(), uid("sess")
    ids = run_python_client("py_plain_otel.py", mode,
                            env=client_env(grpc_loupe.url, environment, session, grpc_loupe.grpc))
    _check(api, ids, environment=environment, session=session, trace_name=f"py-plain-{mode}",
           user="user-plain", tags=["plain", mode], version="2.0.0", scope="py-genai-app",
           chat_input=PY_MESSAGES_IN, chat_output=PY_MESSAGES_OUT)


@pytest.mark.parametrize("mode", ["proto", "proto-gzip", "json", "grpc"])
def test_js_otel_exporter(grpc_loupe, mode):
    api = Api(grpc_loupe.url)
    environment, session = env_name(), uid("sess")
    ids = run_node_client("plain_otel.mjs", mode,
                          env=client_env(grpc_loupe.url, environment, session, grpc_loupe.grpc))
    _check(api, ids, environment=environment, session=session, trace_name=f"js-plain-{mode}",
           user="user-plain-js", tags=["plain-js", mode], version="3.0.0", scope="js-genai-app",
           chat_input=[{"role": "user", "content": "What is 2+2?"}],
           chat_output=[{"role": "assistant", "content": "4"}])


def test_grpc_exporter_with_bad_credentials_stores_nothing(grpc_loupe):
    # The exporter reports the failure; nothing is stored.
    environment, session = env_name(), uid("sess")
    env = client_env(grpc_loupe.url, environment, session, grpc_loupe.grpc,
                     LANGFUSE_SECRET_KEY="sk-lf-wrong")
    ids = run_python_client("py_plain_otel.py", "grpc", env=env)
    r = Api(grpc_loupe.url).get(f"/api/public/traces/{ids['trace_id']}")
    assert r.status_code == 404


def test_grpc_partial_success_and_errors(grpc_loupe):
    import uuid
    trace_id = uuid.uuid4().hex
    env = client_env(grpc_loupe.url, env_name(), uid("sess"), grpc_loupe.grpc, TRACE_ID=trace_id)
    out = run_python_client("py_grpc_raw.py", env=env)
    assert out["partial"]["rejected_spans"] == 2, out
    assert "traceId is absent" in out["partial"]["error_message"]
    assert "00000000000000a3" in out["partial"]["error_message"]
    assert out["no_auth"] == "UNAUTHENTICATED"
    assert out["bad_auth"] == "UNAUTHENTICATED"
    assert out["bad_version"] == "INVALID_ARGUMENT"
    t = Api(grpc_loupe.url).trace(trace_id)
    assert t["name"] == "raw-grpc"
    assert [o["id"] for o in t["observations"]] == ["00000000000000a1"]
